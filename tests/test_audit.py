"""The audit chain catches every kind of tampering, on SQLite and PostgreSQL.

The log refuses UPDATE and DELETE by trigger; the tampering tests play an attacker who
can change the schema and drops those triggers first. Anchors catch what the chain alone
cannot: a truncated tail with a fixed-up head, and a chain rebuilt from scratch.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from simpul import audit, keys
from simpul.db import Database
from simpul.vault import Vault
from tests.tamper import drop_append_only as _as_attacker


def _chain(db: Database, n: int = 6) -> None:
    for i in range(n):
        with db.begin() as conn:
            audit.append(conn, [audit.Event(action="order.created", actor="test", summary={"i": i}, entity_key=f"o{i}")])


def _sql(statement: str) -> Callable[[sa.Connection], None]:
    return lambda conn: conn.execute(sa.text(statement))


def _swap_summaries(conn: sa.Connection) -> None:
    """Reorder: entries 3 and 4 trade places (content moved, sequence numbers kept)."""
    rows = {r.seq: r for r in conn.execute(sa.text("SELECT * FROM audit_log WHERE seq IN (3, 4)"))}
    for seq, other in ((3, 4), (4, 3)):
        src = rows[other]
        conn.execute(
            sa.text("UPDATE audit_log SET summary = :s, entity_key = :k, hash = :h, prev_hash = :p WHERE seq = :seq"),
            {"s": src.summary, "k": src.entity_key, "h": src.hash, "p": src.prev_hash, "seq": seq},
        )


@pytest.mark.parametrize(
    ("tamper", "first_broken", "words"),
    [
        (_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"), 2, "edited"),
        (_sql("DELETE FROM audit_log WHERE seq = 3"), 3, "missing"),
        (_swap_summaries, 3, "does not link"),
        (_sql("DELETE FROM audit_log WHERE seq >= 5"), 5, "removed from the end"),
    ],
    ids=["edit", "delete", "reorder", "truncate-tail"],
)
def test_verify_names_the_first_broken_entry(db: Database, tamper: Callable, first_broken: int, words: str) -> None:
    _chain(db)
    with db.connect() as conn:
        assert audit.verify(conn).ok
    _as_attacker(db)
    with db.begin() as conn:
        tamper(conn)
    with db.connect() as conn:
        verdict = audit.verify(conn)
    assert not verdict.ok
    assert verdict.first_broken_seq == first_broken
    assert words in str(verdict)


# Every column an entry stores, with a forged value an attacker could write into it.
FORGERIES = {
    "ts": "2020-01-01T00:00:00.000000+00:00",
    "actor": "mallory",
    "run_id": "run-forged",
    "action": "order.deleted",
    "account_id": "shop-other",
    "entity_type": "account",
    "entity_key": "o-forged",
    "summary": '{"forged":true}',
}


def test_an_edit_of_any_stored_column_breaks_the_chain_at_that_entry(db: Database) -> None:
    """The hash covers every column as stored: an entry re-dated, re-attributed or moved to
    another account is as broken as one whose summary was changed."""
    for i in range(4):
        with db.begin() as conn:
            event = audit.Event(action="order.updated", actor="engine", summary={"i": i}, run_id="run-1", account_id="shop-1", entity_type="order", entity_key=f"o{i}")
            audit.append(conn, [event])
    _as_attacker(db)
    for column, forged in FORGERIES.items():
        with db.connect() as conn:
            assert audit.verify(conn).ok
            original = conn.execute(sa.text(f"SELECT {column} FROM audit_log WHERE seq = 2")).scalar_one()
        assert str(original) != forged
        with db.begin() as conn:
            conn.execute(sa.text(f"UPDATE audit_log SET {column} = :v WHERE seq = 2"), {"v": forged})
        with db.connect() as conn:
            verdict = audit.verify(conn)
        assert (verdict.ok, verdict.first_broken_seq, column) == (False, 2, column) and "edited" in str(verdict)
        with db.begin() as conn:  # put it back before forging the next column
            conn.execute(sa.text(f"UPDATE audit_log SET {column} = :v WHERE seq = 2"), {"v": original})


def test_appends_continue_one_linear_chain(db: Database) -> None:
    _chain(db, 3)
    with db.begin() as conn:
        head = audit.append(conn, [audit.Event(action="x", actor="t", summary={}) for _ in range(4)])
    with db.connect() as conn:
        seqs = [e["seq"] for e in audit.entries(conn)]
        assert audit.verify(conn).entries == 7
    assert head == 7 and seqs == list(range(1, 8))


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"])
def test_the_log_refuses_update_and_delete(db: Database, statement: str) -> None:
    _chain(db, 4)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.begin() as conn:
            conn.execute(sa.text(statement))
    with db.connect() as conn:
        assert audit.verify(conn).entries == 4


@pytest.mark.postgres
def test_postgres_refuses_truncate(pg_db: Database) -> None:
    _chain(pg_db, 2)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with pg_db.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_log"))


def test_concurrent_writers_form_one_linear_chain(db: Database) -> None:
    writers, per_writer = 8, 25
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for i in range(per_writer):
                with db.begin() as conn:
                    audit.append(conn, [audit.Event(action="x", actor=f"w{w}", summary={"i": i})])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.connect() as conn:
        verdict = audit.verify(conn)
        seqs = [e["seq"] for e in audit.entries(conn)]
    assert verdict.ok and verdict.entries == writers * per_writer
    assert seqs == list(range(1, writers * per_writer + 1))


# -- anchors ------------------------------------------------------------------------------
@pytest.fixture
def anchor_key(db: Database, keyring) -> bytes:  # noqa: ANN001
    return keys.hub_secret(db, Vault(keyring), keys.AUDIT_ANCHOR_KEY, create=True)  # set-up


def _anchor(db: Database, key: bytes) -> dict:
    with db.connect() as conn:
        return json.loads(json.dumps(audit.anchor(conn, key)))  # as read back from its file


def _check(db: Database, key: bytes, checkpoint: dict) -> audit.Verdict:
    with db.connect() as conn:
        return audit.verify_anchor(conn, key, checkpoint)


def test_anchor_holds_while_the_log_only_grows(db: Database, anchor_key: bytes) -> None:
    _chain(db, 5)
    checkpoint = _anchor(db, anchor_key)
    _chain(db, 3)
    verdict = _check(db, anchor_key, checkpoint)
    assert verdict.ok and verdict.anchor_seq == 5 and "passes through the anchor at seq 5" in str(verdict)


def test_anchor_catches_a_truncated_tail_with_a_fixed_up_head(db: Database, anchor_key: bytes) -> None:
    _chain(db, 6)
    checkpoint = _anchor(db, anchor_key)
    _as_attacker(db)
    with db.begin() as conn:
        new_head = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = 4")).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > 4"))
        conn.execute(sa.text("UPDATE audit_head SET seq = 4, hash = :h"), {"h": new_head})
    with db.connect() as conn:
        assert audit.verify(conn).ok, "without the anchor the cut is invisible"
    verdict = _check(db, anchor_key, checkpoint)
    assert not verdict.ok and "removed from the end" in str(verdict)


def test_anchor_catches_a_rebuilt_chain(db: Database, anchor_key: bytes) -> None:
    _chain(db, 4)
    checkpoint = _anchor(db, anchor_key)
    _as_attacker(db)
    with db.begin() as conn:  # rewrite history, then recompute every hash and the head
        conn.execute(sa.text("DELETE FROM audit_log"))
        conn.execute(sa.text("UPDATE audit_head SET seq = 0, hash = :g"), {"g": audit.GENESIS})
    for i in range(4):
        with db.begin() as conn:
            audit.append(conn, [audit.Event(action="order.created", actor="mallory", summary={"i": i}, entity_key=f"o{i}")])
    with db.connect() as conn:
        assert audit.verify(conn).ok, "a rebuilt chain verifies on its own"
    verdict = _check(db, anchor_key, checkpoint)
    assert not verdict.ok and verdict.first_broken_seq == 4 and "rebuilt" in str(verdict)


def test_a_forged_or_foreign_anchor_is_refused(db: Database, anchor_key: bytes) -> None:
    _chain(db, 3)
    checkpoint = _anchor(db, anchor_key)
    forged = {**checkpoint, "seq": 2, "hash": checkpoint["hash"]}
    assert "signature does not match" in str(_check(db, anchor_key, forged))
    assert "signature does not match" in str(_check(db, os.urandom(32), checkpoint))
    assert "not a simpul-audit-anchor/1 file" in str(_check(db, anchor_key, {"seq": 1}))
