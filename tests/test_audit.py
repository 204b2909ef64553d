"""The audit chain catches every kind of tampering, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from simpul import audit
from simpul.db import Database


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
    with db.begin() as conn:
        tamper(conn)
    with db.connect() as conn:
        verdict = audit.verify(conn)
    assert not verdict.ok
    assert verdict.first_broken_seq == first_broken
    assert words in str(verdict)


def test_appends_continue_one_linear_chain(db: Database) -> None:
    _chain(db, 3)
    with db.begin() as conn:
        head = audit.append(conn, [audit.Event(action="x", actor="t", summary={}) for _ in range(4)])
    with db.connect() as conn:
        seqs = [e["seq"] for e in audit.entries(conn)]
        assert audit.verify(conn).entries == 7
    assert head == 7 and seqs == list(range(1, 8))
