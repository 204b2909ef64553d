"""The tracking commands: ``accounts add biteship``, ``map biteship``, ``track``,
``track-sync``, ``shipments``, against the Biteship sandbox on a port."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from connectors._sandbox import SandboxServer
from connectors.biteship.sandbox import BiteshipSandbox
from simpul.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def biteship(cli_home: Path):  # noqa: ANN201
    assert main(["keys", "init"]) == 0
    app = BiteshipSandbox(orders=0, seed=3)
    app.clock.freeze(app.clock.now())
    with SandboxServer(app, seed=3) as server:
        creds = cli_home / "biteship.json"
        creds.write_text(json.dumps(app.demo_credentials()))
        assert main(["accounts", "add", "biteship", "trk", "--base-url", server.url, "--credentials-file", str(creds)]) == 0
        yield app


def test_map_prints_the_canonical_tracking_of_a_documented_reply(capsys) -> None:  # noqa: ANN001
    assert main(["map", "biteship", str(ROOT / "tests/biteship/golden/documented_public_sample.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    # Biteship's documented sample (storefronts_couriers.md §3): last status dropping_off at 09:00 +07:00
    assert (out["courier"], out["status"], out["raw_status"], out["last_event_at"]) == ("jne", "out_for_delivery", "dropping_off", "2025-03-02T02:00:00+00:00")
    assert [e["raw_code"] for e in out["events"]] == ["confirmed", "dropping_off"]


def test_track_stores_named_parcels_and_lists_them(biteship, capsys) -> None:  # noqa: ANN001
    now = biteship.clock.now()
    biteship.add_parcel("jne", "CGK000000000001", now - timedelta(days=5).total_seconds(), story="delivered")
    biteship.add_parcel("sicepat", "000000000002", now - timedelta(days=12).total_seconds(), story="cod_refused")
    capsys.readouterr()
    code = main(["track", "trk", "--courier", "jne", "CGK000000000001", "NOTKNOWN1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["run"]["missing"] == ["jne:NOTKNOWN1"]
    assert {p["tracking_number"]: p["status"] for p in out["parcels"]} == {"CGK000000000001": "delivered", "NOTKNOWN1": "pending"}
    assert main(["track", "trk", "--courier", "sicepat", "000000000002"]) == 0
    capsys.readouterr()
    assert main(["shipments", "--attention", "--json"]) == 0
    attention = {p["tracking_number"]: p["attention"] for p in json.loads(capsys.readouterr().out)}
    assert attention == {"000000000002": "returned", "NOTKNOWN1": "unknown"}  # delivered needs nobody


def test_track_sync_needs_a_tracking_account_and_says_so(cli_home, capsys) -> None:  # noqa: ANN001
    assert main(["keys", "init"]) == 0
    capsys.readouterr()
    assert main(["track-sync"]) == 2
    err = capsys.readouterr().err
    assert "no active tracking account" in err and "Traceback" not in err


def test_track_refuses_an_order_account(cli_home, capsys) -> None:  # noqa: ANN001
    assert main(["keys", "init"]) == 0
    creds = cli_home / "c.json"
    creds.write_text(json.dumps({"consumer_key": "ck_1", "consumer_secret": "cs_1"}))
    assert main(["accounts", "add", "woocommerce", "toko", "--base-url", "http://127.0.0.1:1", "--credentials-file", str(creds), "--no-verify"]) == 0
    capsys.readouterr()
    assert main(["track", "toko", "--courier", "jne", "X1"]) == 2
    assert "tracking needs a courier account" in capsys.readouterr().err


def test_routes_name_the_tracking_account_per_courier_and_are_audited(biteship, capsys) -> None:  # noqa: ANN001
    from simpul import audit, parcels
    from simpul.runtime import open_hub

    assert main(["accounts", "route", "trk", "jne", "JNT"]) == 0
    assert main(["accounts", "route", "trk", "dhl"]) == 2  # Biteship does not list it
    assert "does not track 'dhl'" in capsys.readouterr().err
    assert main(["accounts", "route", "--unset", "jnt"]) == 0
    hub = open_hub()
    try:
        with hub.db.connect() as conn:
            assert parcels.routes(conn) == {"jne": "trk"}
            assert [(e["entity_key"], e["summary"]) for e in audit.entries(conn, action_prefix="tracking.routed")] == [
                ("jne", '{"account":"trk"}'), ("jnt", '{"account":"trk"}'), ("jnt", '{"account":null}')
            ]
    finally:
        hub.close()


def test_track_sync_names_tracking_accounts_it_skips(biteship, capsys) -> None:  # noqa: ANN001
    assert main(["accounts", "disable", "trk"]) == 0
    capsys.readouterr()
    assert main(["track-sync"]) == 2
    assert "no active tracking account: trk (disabled); see `simpul accounts list`" in capsys.readouterr().err
