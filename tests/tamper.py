"""Play an attacker who can change the schema: drop the audit log's append-only triggers."""

from __future__ import annotations

from simpul.db import Database

DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_no_change ON audit_log", "DROP TRIGGER audit_log_no_truncate ON audit_log"],
}


def drop_append_only(db: Database) -> None:
    with db.begin() as conn:
        for statement in DROP_TRIGGERS[db.dialect]:
            conn.exec_driver_sql(statement)
