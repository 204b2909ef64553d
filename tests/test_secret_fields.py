"""Secrets are typed (S-4): every channel's secret fields reach its connector as SecretStr,
print as stars, and the connector still signs with them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors._sandbox import SandboxServer
from simpul.channels import CHANNELS
from simpul.runtime import Hub


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_secret_fields_are_wrapped_from_vault_to_connector(channel: str, hub: Hub) -> None:
    spec = CHANNELS[channel]
    assert spec.secret_fields and set(spec.secret_fields) <= set(spec.credential_fields)
    app = spec.sandbox_class()(orders=3, seed=1)
    with SandboxServer(app) as server:
        hub.accounts.add("acct", channel, "Acct", server.url, app.demo_credentials(), verify=True)
        values = hub.accounts.credentials("acct")
        assert all(isinstance(values[f], SecretStr) for f in spec.secret_fields)
        assert not any(isinstance(values[f], SecretStr) for f in set(values) - set(spec.secret_fields))
        shown = repr(values) + str(values)
        assert not any(str(app.demo_credentials()[f]) in shown for f in spec.secret_fields)
        spec.connector_class()(server.url, values).check()  # unwrapped only where it signs
