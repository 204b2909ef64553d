"""The canonical values and the tables must not drift apart; money must stay exact."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import sqlalchemy as sa

from simpul import canonical
from simpul.model import Order, OrderLine, Return, Shipment, TrackingEvent

KEYS = {"id", "account_id", "channel", "order_external_id", "payload_hash", "mapping_version", "written_at", "source"}  # source: which of order, stream, parcel wrote a return
SEALED_BUYER = {"buyer_contact", "buyer_key_id", "buyer_phone_token", "buyer_email_token", "pii_purged_at"}  # simpul.pii


def test_every_canonical_field_has_a_column_and_back() -> None:
    for value_cls, table in (
        (canonical.Order, Order.__table__),
        (canonical.OrderLine, OrderLine.__table__),
        (canonical.Shipment, Shipment.__table__),
        (canonical.TrackingEvent, TrackingEvent.__table__),
        (canonical.Return, Return.__table__),
    ):
        names = {f.name for f in fields(value_cls)}
        columns = set(table.columns.keys()) - KEYS - SEALED_BUYER
        assert names == columns, f"{value_cls.__name__} vs {table.name}: {names ^ columns}"


def test_money_round_trips_exactly(db) -> None:  # noqa: ANN001
    amounts = [Decimal("0.10"), Decimal("199000.00"), Decimal("12345678901234.5678"), Decimal("-10.00")]
    table = sa.Table("money_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("amount", Order.__table__.c.total.type))
    with db.begin() as conn:
        table.create(conn)
        conn.execute(sa.insert(table), [{"id": i, "amount": a} for i, a in enumerate(amounts)])
    with db.connect() as conn:
        back = [r.amount for r in conn.execute(sa.select(table).order_by(table.c.id))]
    assert back == amounts and all(isinstance(v, Decimal) for v in back)
    assert str(back[1]) == "199000"
