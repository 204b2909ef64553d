"""Set-up owns the key ring and the hub secrets; a wrong or missing ring writes nothing.

- With the ring file moved away, commands refuse (naming the file) instead of quietly
  creating a new ``k1`` that nothing else can read.
- A ``SIMPUL_MASTER_KEY`` that opens none of the database's sealed values is refused
  before any write: no hub secret under the wrong key, no half-done rotation.
- Hub secrets are created by set-up only; files Simpul creates are owner-only.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul.cli import main



@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIMPUL_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SIMPUL_KEYRING", str(tmp_path / "secrets" / "keyring.json"))
    monkeypatch.delenv("SIMPUL_DATABASE_URL", raising=False)
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    return tmp_path


def ring_path(home: Path) -> Path:
    return home / "secrets" / "keyring.json"


def set_up(home: Path) -> None:
    assert main(["keys", "init"]) == 0
    (home / "c.json").write_text(json.dumps({"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}))
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(home / "c.json"), "--no-verify"]) == 0


def snapshot(home: Path) -> dict[str, list]:
    engine = sa.create_engine(f"sqlite:///{home / 'data' / 'simpul.db'}")
    with engine.connect() as conn:
        found = {t: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}"))] for t in ("vault_secret", "credential", "audit_log", "account")}
    engine.dispose()
    return found


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_no_command_creates_a_missing_key_ring(home: Path, capsys: pytest.CaptureFixture) -> None:
    for argv in (["accounts", "list"], ["orders"], ["sync", "--direct"], ["keys", "status"], ["audit", "verify"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err == f"simpul: no key ring at {ring_path(home)}: restore it, point SIMPUL_KEYRING or SIMPUL_MASTER_KEY at it, or create one with `simpul keys init`\n"
    assert not ring_path(home).exists() and not (home / "data").exists()


def test_keys_init_creates_a_private_ring_once_and_never_replaces_it(home: Path, capsys: pytest.CaptureFixture) -> None:
    from simpul.vault import KeyRing, VaultError

    assert main(["keys", "init"]) == 0
    assert "created" in capsys.readouterr().out
    first = ring_path(home).read_bytes()
    assert stat.S_IMODE(ring_path(home).stat().st_mode) == 0o600
    assert main(["keys", "init"]) == 0
    assert "(kept)" in capsys.readouterr().out and ring_path(home).read_bytes() == first
    with pytest.raises(VaultError, match="never overwritten"):
        KeyRing.create(ring_path(home))
    assert ring_path(home).read_bytes() == first


def test_a_moved_ring_is_not_replaced_by_keys_init_or_the_demo(home: Path, capsys: pytest.CaptureFixture) -> None:
    set_up(home)
    ring_path(home).rename(home / "moved.json")
    capsys.readouterr()
    assert main(["keys", "init"]) == 2
    assert "holds 3 values sealed under another ring: restore that ring" in capsys.readouterr().err
    assert main(["demo", "--direct", "--orders", "1"]) == 2
    assert "restore that ring" in capsys.readouterr().err
    assert not ring_path(home).exists()


def test_a_wrong_master_key_writes_nothing(home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    set_up(home)
    before = snapshot(home)
    ring_before = ring_path(home).read_bytes()
    monkeypatch.setenv("SIMPUL_MASTER_KEY", f"k1:{random_key()}")
    capsys.readouterr()
    for argv in (["audit", "anchor"], ["keys", "rotate"], ["accounts", "add", "woocommerce", "toko-b", "--base-url", "http://x", "--credentials-file", str(home / "c.json"), "--no-verify"],
                 ["sync", "--direct"], ["pii", "purge"], ["keys", "init"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("simpul: the key ring (SIMPUL_MASTER_KEY) opens none of the 3 sealed values in this database") and err.count("\n") == 1, (argv, err)
        assert "wrong SIMPUL_MASTER_KEY" in err
    assert main(["keys", "status"]) == 1
    assert "opens none of the 3 sealed values" in capsys.readouterr().err
    assert snapshot(home) == before, "something was written under the wrong key"

    monkeypatch.delenv("SIMPUL_MASTER_KEY")  # the real ring is back: everything opens, nothing half-done
    assert ring_path(home).read_bytes() == ring_before and not json.loads(ring_before)["rotating"]
    assert main(["keys", "rotate", "--retire"]) == 0
    assert main(["audit", "anchor", "--out", str(home / "anchor.json")]) == 0
    assert main(["keys", "status"]) == 0


def test_hub_secrets_are_created_by_set_up_only(home: Path, capsys: pytest.CaptureFixture) -> None:
    set_up(home)
    engine = sa.create_engine(f"sqlite:///{home / 'data' / 'simpul.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM vault_secret WHERE name = 'audit-anchor-key'"))
    capsys.readouterr()
    assert main(["audit", "anchor"]) == 2
    assert "hub secret 'audit-anchor-key' is missing from this database: run `simpul keys init`" in capsys.readouterr().err
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM vault_secret")).scalar_one() == 1
    assert main(["keys", "init"]) == 0
    assert "hub secrets: created audit-anchor-key" in capsys.readouterr().out
    assert main(["audit", "anchor"]) == 0
    engine.dispose()


def test_rotation_is_refused_before_it_starts_when_a_key_is_missing(home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from simpul.vault import KeyRing

    set_up(home)
    real = KeyRing.load()
    engine = sa.create_engine(f"sqlite:///{home / 'data' / 'simpul.db'}")
    with engine.begin() as conn:  # one value under a key this ring does not hold
        conn.execute(sa.text("UPDATE vault_secret SET key_id = 'k7' WHERE name = 'pii-pepper'"))
    engine.dispose()
    capsys.readouterr()
    assert main(["keys", "rotate"]) == 2
    assert "need key(s) k7, which the key ring" in capsys.readouterr().err
    after = KeyRing.load()
    assert dict(after.keys) == dict(real.keys) and not after.rotating, "the ring changed before the refusal"


def test_the_database_and_its_directory_are_owner_only(home: Path) -> None:
    from simpul.db import Database

    old = os.umask(0o022)  # what a default shell gives a library user
    try:
        db = Database(f"sqlite:///{home / 'fresh' / 'simpul.db'}")
        db.migrate()
        with db.begin() as conn:
            conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, 'x')"))
            wal = home / "fresh" / "simpul.db-wal"
            assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
        db.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE((home / "fresh").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "fresh" / "simpul.db").stat().st_mode) == 0o600


def test_a_ring_others_can_read_is_used_with_a_warning(home: Path, capsys: pytest.CaptureFixture) -> None:
    import logging

    set_up(home)
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("simpul.vault").addHandler(handler)
    try:
        ring_path(home).chmod(0o644)
        assert main(["accounts", "list"]) == 0 and "toko-a" in capsys.readouterr().out
        assert seen == [f"key ring {ring_path(home)} can be read by other users (mode 0644): run `chmod 600 {ring_path(home)}`"]
        ring_path(home).chmod(0o600)
        assert main(["accounts", "list"]) == 0
        assert len(seen) == 1
    finally:
        logging.getLogger("simpul.vault").removeHandler(handler)
