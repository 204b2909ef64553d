"""Returns as a lifecycle: which wait on the seller, and what the goods become.

- **Waiting on the seller** (``waiting``): a return the seller must answer (requested,
  with the platform's deadline ``respond_by`` where the API gives one: past it the
  platform decides for the seller), and goods on their way back or back that nobody has
  given a disposition yet. Soonest deadline first.
- **Disposition** (``receive``): when goods come back, each item (SKU) becomes
  ``restock``, ``refurbish``, ``write_off`` (damaged) or ``dispute`` (kept as evidence).
  A rule table the seller can edit (``disposition_rule``; ``set_rule``) suggests it by
  return type and reason, the most specific rule first; ``inspect`` means a person
  decides. Defaults (``DEFAULT_RULES``): a return to sender is an unopened parcel, so
  restock; a buyer return for ``damaged`` is inspected; anything else is inspected.
  Each decision is stored with who and when, and audited (``return.received``); the
  restock quantity is kept for stock sync, and a write-off's value (the order line's unit
  price times the quantity) is the loss the COD report counts.

A return is named ``ORDER/RETURN_ID`` or, when that is unique, ``RETURN_ID``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from simpul import audit, store
from simpul import markdown as md
from simpul.canonical import ReturnReason, ReturnStatus, ReturnType
from simpul.model import DispositionRule, OrderLine, Return, ReturnDisposition

RETURNS, LINES = Return.__table__, OrderLine.__table__
RULES, DISPOSITIONS = DispositionRule.__table__, ReturnDisposition.__table__

DISPOSITIONS_ALLOWED = ("restock", "refurbish", "write_off", "dispute")
INSPECT = "inspect"
ANY = "*"
DEFAULT_RULES: dict[tuple[str, str], str] = {
    (ReturnType.RETURN_TO_SENDER.value, ANY): "restock",  # never delivered: the parcel comes back unopened
    (ReturnType.BUYER_RETURN.value, ReturnReason.DAMAGED.value): INSPECT,
    (ANY, ANY): INSPECT,
}
ANSWER_NEEDED = (ReturnStatus.REQUESTED,)
COMING_BACK = (ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED)


class ReturnError(ValueError):
    """A return that cannot be found or received as asked: one line for the person."""


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    quantity: int
    disposition: str
    rule: str | None  # the rule that decided it; None when a person named it


# -- rules ---------------------------------------------------------------------------------
def rules(conn: Connection) -> dict[tuple[str, str], str]:
    """The rule table in force: the defaults, overridden by the seller's rows."""
    table = dict(DEFAULT_RULES)
    table.update({(r.return_type, r.reason_code): r.disposition for r in conn.execute(sa.select(RULES))})
    return table


def rule_for(table: Mapping[tuple[str, str], str], return_type: str, reason_code: str) -> tuple[str, str]:
    """``(disposition, "TYPE/REASON")`` of the most specific rule matching."""
    for key in ((return_type, reason_code), (return_type, ANY), (ANY, reason_code), (ANY, ANY)):
        if key in table:
            return table[key], "/".join(key)
    return INSPECT, f"{ANY}/{ANY}"


def set_rule(conn: Connection, return_type: str, reason_code: str, disposition: str, *, actor: str, now: datetime) -> None:
    """Set one rule (audited ``disposition_rule.set`` with the rule before and after)."""
    if return_type != ANY and return_type not in {t.value for t in ReturnType}:
        raise ReturnError(f"unknown return type {return_type!r}; known: {', '.join(t.value for t in ReturnType)} or *")
    if reason_code != ANY and reason_code not in {r.value for r in ReturnReason}:
        raise ReturnError(f"unknown reason {reason_code!r}; known: {', '.join(r.value for r in ReturnReason)} or *")
    if disposition not in (*DISPOSITIONS_ALLOWED, INSPECT):
        raise ReturnError(f"unknown disposition {disposition!r}; known: {', '.join((*DISPOSITIONS_ALLOWED, INSPECT))}")
    before = rules(conn).get((return_type, reason_code))
    ins = store.upsert_into(conn, RULES).values(return_type=return_type, reason_code=reason_code, disposition=disposition, updated_by=actor, updated_at=now)
    conn.execute(ins.on_conflict_do_update(index_elements=[RULES.c.return_type, RULES.c.reason_code], set_={"disposition": disposition, "updated_by": actor, "updated_at": now}))
    audit.append(conn, [audit.Event(action="disposition_rule.set", actor=actor, entity_type="disposition_rule", entity_key=f"{return_type}/{reason_code}", summary={"before": before, "after": disposition})], now=now)


# -- finding returns -------------------------------------------------------------------------
def find(conn: Connection, name: str, account_id: str | None = None) -> Mapping[str, Any]:
    """The return named ``ORDER/RETURN_ID`` or a unique ``RETURN_ID``."""
    order, _, return_id = name.rpartition("/")
    query = sa.select(RETURNS).where(RETURNS.c.external_id == return_id)
    if order:
        query = query.where(RETURNS.c.order_external_id == order)
    if account_id:
        query = query.where(RETURNS.c.account_id == account_id)
    found = conn.execute(query).mappings().all()
    if not found:
        raise ReturnError(f"no return {name!r}" + (f" in account {account_id!r}" if account_id else "") + " (see `simpul returns`)")
    if len(found) > 1:
        names = ", ".join(f"{r['account_id']}:{r['order_external_id']}/{r['external_id']}" for r in found[:5])
        raise ReturnError(f"{name!r} names {len(found)} returns ({names}): give ORDER/RETURN_ID and --account")
    return found[0]


def dispositions(conn: Connection, ret: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(
        conn.execute(
            sa.select(DISPOSITIONS)
            .where(DISPOSITIONS.c.account_id == ret["account_id"], DISPOSITIONS.c.order_external_id == ret["order_external_id"], DISPOSITIONS.c.return_external_id == ret["external_id"])
            .order_by(DISPOSITIONS.c.sku)
        ).mappings()
    )


def waiting(conn: Connection, account_id: str | None = None) -> list[dict[str, Any]]:
    """Returns waiting on the seller: an answer (soonest deadline first, none last), then
    goods coming back or back without a disposition (oldest first)."""
    decided = (
        sa.select(DISPOSITIONS.c.id)
        .where(DISPOSITIONS.c.account_id == RETURNS.c.account_id, DISPOSITIONS.c.order_external_id == RETURNS.c.order_external_id, DISPOSITIONS.c.return_external_id == RETURNS.c.external_id)
        .exists()
    )
    query = sa.select(RETURNS).where(
        sa.or_(RETURNS.c.status.in_(ANSWER_NEEDED), sa.and_(RETURNS.c.status.in_(COMING_BACK), RETURNS.c.type != ReturnType.REFUND, ~decided))
    )
    if account_id:
        query = query.where(RETURNS.c.account_id == account_id)
    rows = [dict(r, waiting_for="answer" if r["status"] in ANSWER_NEEDED else "disposition") for r in conn.execute(query).mappings()]
    far = datetime.max.replace(tzinfo=None)

    def order(r: dict[str, Any]) -> tuple:
        deadline = r["respond_by"].replace(tzinfo=None) if r["respond_by"] else far
        return (r["waiting_for"] != "answer", deadline, r["created_at"].replace(tzinfo=None) if r["created_at"] else far, r["external_id"])

    return sorted(rows, key=order)


# -- receiving goods -------------------------------------------------------------------------
def plan_receipt(conn: Connection, ret: Mapping[str, Any], named: Mapping[str, str] | None = None) -> list[Item]:
    """What each item of ``ret`` becomes: as named (``{sku: disposition[:quantity]}``),
    else by the rule table. The items are the return's own, else (a return to sender, or a
    summary without items) the order's lines. An item whose rule says ``inspect`` and that
    nobody named stops the receipt: a person decides."""
    named = dict(named or {})
    items = _items(conn, ret)
    known = {sku for sku, _ in items}
    unknown = sorted(set(named) - known)
    if unknown:
        raise ReturnError(f"return {ret['external_id']!r} has no item {unknown[0]!r}; its items: {', '.join(sorted(known)) or 'none'}")
    table = rules(conn)
    disposition, rule = rule_for(table, _value(ret["type"]), _value(ret["reason_code"]))
    out, undecided = [], []
    for sku, quantity in items:
        if sku in named:
            what, _, qty = named[sku].partition(":")
            if what not in DISPOSITIONS_ALLOWED:
                raise ReturnError(f"{sku}: disposition must be one of {', '.join(DISPOSITIONS_ALLOWED)}, not {what!r}")
            try:
                count = int(qty) if qty else quantity
            except ValueError:
                raise ReturnError(f"{sku}: quantity {qty!r} is not a whole number") from None
            if not 0 < count <= quantity:
                raise ReturnError(f"{sku}: quantity {count} is not between 1 and the {quantity} returned")
            out.append(Item(sku, count, what, None))
        elif disposition == INSPECT:
            undecided.append(sku)
        else:
            out.append(Item(sku, quantity, disposition, rule))
    if undecided:
        raise ReturnError(f"rule {rule} says inspect: decide {', '.join(undecided)} with --item SKU=restock|refurbish|write_off|dispute")
    return out


def receive(conn: Connection, ret: Mapping[str, Any], items: Sequence[Item], *, actor: str, now: datetime) -> list[dict[str, Any]]:
    """Record each item's disposition (one row per SKU: a second receipt corrects the first),
    with its restock quantity and write-off loss; audited ``return.received``."""
    prices = _unit_prices(conn, ret)
    rows = []
    for item in items:
        price, currency = prices.get(item.sku, (None, None))
        loss = price * item.quantity if item.disposition == "write_off" and price is not None else None
        rows.append(
            {
                "account_id": ret["account_id"], "order_external_id": ret["order_external_id"], "return_external_id": ret["external_id"],
                "sku": item.sku, "quantity": item.quantity, "disposition": item.disposition,
                "restock_quantity": item.quantity if item.disposition == "restock" else 0,
                "loss": loss, "currency": currency, "rule": item.rule, "decided_by": actor, "decided_at": now,
            }
        )  # fmt: skip
    keys = [DISPOSITIONS.c.account_id, DISPOSITIONS.c.order_external_id, DISPOSITIONS.c.return_external_id, DISPOSITIONS.c.sku]
    for row in rows:
        ins = store.upsert_into(conn, DISPOSITIONS).values(**row)
        conn.execute(ins.on_conflict_do_update(index_elements=keys, set_={k: ins.excluded[k] for k in ("quantity", "disposition", "restock_quantity", "loss", "currency", "rule", "decided_by", "decided_at")}))
    audit.append(
        conn,
        [
            audit.Event(
                action="return.received", actor=actor, account_id=ret["account_id"], entity_type="return",
                entity_key=f"{ret['order_external_id']}/{ret['external_id']}",
                summary={"items": [{"sku": r["sku"], "quantity": r["quantity"], "disposition": r["disposition"], "rule": r["rule"], "loss": str(r["loss"]) if r["loss"] is not None else None} for r in rows]},
            )
        ],
        now=now,
    )  # fmt: skip
    return rows


def _items(conn: Connection, ret: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(sku, quantity)`` of the return's items, else of its order's lines, one per SKU."""
    found: dict[str, int] = {}
    for item in ret["items"] or []:
        sku = item.get("sku") if isinstance(item, dict) else None
        if sku:
            found[str(sku)] = found.get(str(sku), 0) + int(item.get("quantity") or 1)
    if found:
        return sorted(found.items())
    lines = conn.execute(
        sa.select(LINES.c.sku, LINES.c.external_line_id, LINES.c.quantity).where(LINES.c.account_id == ret["account_id"], LINES.c.order_external_id == ret["order_external_id"])
    ).all()
    for sku, line_id, quantity in lines:
        key = sku or f"line:{line_id}"
        found[key] = found.get(key, 0) + int(quantity)
    return sorted(found.items())


def _unit_prices(conn: Connection, ret: Mapping[str, Any]) -> dict[str, tuple[Decimal, str]]:
    from simpul.model import Order

    orders = Order.__table__
    rows = conn.execute(
        sa.select(LINES.c.sku, LINES.c.external_line_id, LINES.c.unit_price, orders.c.currency)
        .join(orders, sa.and_(orders.c.account_id == LINES.c.account_id, orders.c.external_id == LINES.c.order_external_id))
        .where(LINES.c.account_id == ret["account_id"], LINES.c.order_external_id == ret["order_external_id"])
    ).all()
    return {(sku or f"line:{line_id}"): (price, currency) for sku, line_id, price, currency in rows}



def _value(v: Any) -> str:
    return getattr(v, "value", v)


def markdown(rows: Sequence[Mapping[str, Any]], *, shown: int = 200) -> str:
    """The ``returns-waiting`` artifact: returns waiting on the seller (``waiting``), an answer
    first by deadline, then goods without a disposition. Ids, statuses and reasons only."""
    answers = sum(r["waiting_for"] == "answer" for r in rows)
    lines = ["### Returns waiting on the seller", "", f"{answers} waiting for an answer, {len(rows) - answers} for a disposition (`simpul returns receive`).", ""]
    if not rows:
        return "\n".join(lines[:3]) + "\nNothing waits on the seller.\n"
    lines += ["| waiting for | answer by | account | order | return | type | status | reason |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows[:shown]:
        deadline = r["respond_by"].strftime("%Y-%m-%d %H:%M UTC") if r["respond_by"] else "-"
        cells = (r["waiting_for"], deadline, r["account_id"], r["order_external_id"], r["external_id"], _value(r["type"]), _value(r["status"]), _value(r["reason_code"]))
        lines.append("| " + " | ".join(md.cell(c) for c in cells) + " |")
    if len(rows) > shown:
        lines += ["", f"And {len(rows) - shown} more: `simpul returns --waiting`."]
    return "\n".join(lines) + "\n"

