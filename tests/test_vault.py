"""Credential envelopes: round trip, account binding, missing keys, key file permissions."""

from __future__ import annotations

import os
import stat

import pytest

from simpul.vault import KeyRing, Vault, VaultError


def test_round_trip_and_no_plaintext_in_the_envelope(keyring) -> None:  # noqa: ANN001
    vault = Vault(keyring)
    envelope = vault.encrypt("shop-a", {"partner_key": "canary-partner-key-123"})
    assert "canary-partner-key-123" not in envelope
    assert vault.decrypt("shop-a", envelope) == {"partner_key": "canary-partner-key-123"}


def test_a_ciphertext_moved_to_another_account_does_not_open(keyring) -> None:  # noqa: ANN001
    vault = Vault(keyring)
    envelope = vault.encrypt("shop-a", {"k": "v"})
    with pytest.raises(VaultError, match="does not decrypt"):
        vault.decrypt("shop-b", envelope)


def test_missing_key_is_named(keyring) -> None:  # noqa: ANN001
    envelope = Vault(keyring).encrypt("shop-a", {"k": "v"})
    other = Vault(KeyRing(active="k2", keys={"k2": os.urandom(32)}))
    with pytest.raises(VaultError, match="needs key 'test'"):
        other.decrypt("shop-a", envelope)


def test_key_ring_file_is_created_private(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    path = tmp_path / "secrets" / "keyring.json"
    ring = KeyRing.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyRing.load(path).keys == ring.keys


def test_master_key_from_environment_is_validated(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SIMPUL_MASTER_KEY", "dG9vIHNob3J0")
    with pytest.raises(VaultError, match="32 bytes"):
        KeyRing.load()
