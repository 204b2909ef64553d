"""The convergence oracle: does the database hold exactly what the source holds?

"Exactly" means: the same set of order numbers for the account, no duplicate natural
keys, and every stored order carrying the content hash of the source's current payload
(so every field matches), with the right number of lines.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from simpul.db import Database
from simpul.model import Order, OrderLine


def source_state(mapping: Any, payloads: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    out = {}
    for raw in payloads:
        bundle = mapping.map_order(raw)
        out[bundle.order.external_id] = (bundle.payload_hash, len(bundle.lines))
    return out


def stored_state(db: Database, account_id: str) -> dict[str, tuple[str, int]]:
    orders, lines = Order.__table__, OrderLine.__table__
    with db.connect() as conn:
        line_counts = dict(
            conn.execute(
                sa.select(lines.c.order_external_id, sa.func.count()).where(lines.c.account_id == account_id).group_by(lines.c.order_external_id)
            ).all()
        )
        rows = conn.execute(sa.select(orders.c.external_id, orders.c.payload_hash).where(orders.c.account_id == account_id)).all()
    assert len(rows) == len({r.external_id for r in rows}), "duplicate natural keys"
    return {r.external_id: (r.payload_hash, line_counts.get(r.external_id, 0)) for r in rows}


def assert_converged(db: Database, account_id: str, mapping: Any, payloads: list[dict[str, Any]]) -> None:
    want, have = source_state(mapping, payloads), stored_state(db, account_id)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    differ = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    assert not (missing or extra or differ), f"not converged: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)}), differ {differ[:5]} ({len(differ)})"


def database_text(db: Database) -> str:
    """Every row of every table as text: what a stolen backup would show."""
    with db.connect() as conn:
        return "\n".join(str(tuple(row)) for table in SQLModel.metadata.sorted_tables for row in conn.execute(sa.select(table)))
