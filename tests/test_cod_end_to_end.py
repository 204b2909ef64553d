"""COD money end to end on the sandboxes (issue 12, done-when): COD orders from the Shopee
sandbox, their parcels tracked through the Biteship sandbox (some delivered, some refused
at the door and sent back); Shopee pays the completed ones out through its escrow (the
settlements stream; one of them adjusted afterwards), and a courier's payout CSV pays
some of the others, skips one and pays one twice; the COD report shows exactly those
numbers, to the rupiah, and the monthly reports the same COD counts.

The expected numbers come from the sandboxes' own data and a table of documented Shopee
statuses (marketplaces.md §1.4), never from the code under test:

- ``COMPLETED`` (the buyer confirmed), ``TO_CONFIRM_RECEIVE`` (delivered, waiting for the
  buyer to confirm) and ``TO_RETURN`` (delivered, the buyer asks to return it): the
  courier delivered, so it collected the cash;
- ``CANCELLED`` with a package whose ``logistics_status`` is ``LOGISTICS_DELIVERY_FAILED``:
  the delivery failed and the parcel goes back (refused); other cancellations never shipped;
- ``SHIPPED``: with the courier; the Biteship story decides (``delivered`` or
  ``cod_refused``); without a story it is still in transit;
- ``READY_TO_SHIP``, ``PROCESSED``, ``UNPAID``: not handed over yet.

A completed order's escrow is released when it completes (the sandbox's rule), so its payout
comes from Shopee, with the figures the sandbox itself gives (``dump_settlements``).

A refusal costs both legs (the confirmed ``actual_shipping_fee``, else the
``estimated_shipping_fee``; the return leg assumed equal: ``simpul.cod``) and the packing
cost setting.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connectors._sandbox import SandboxServer
from mappings import couriers
from simpul import cod, monthly_report
from simpul.channels import CHANNELS
from simpul.engine import TRACK, SyncRequest
from tests.faults.harness import admin

UTC = timezone.utc
PACKING = Decimal("2500")
DELIVERED = ("COMPLETED", "TO_CONFIRM_RECEIVE", "TO_RETURN")
CARRIER_CODES = {"JNE Reguler": ("jne", "reg"), "J&T Express": ("jnt", "ez"), "SiCepat REG": ("sicepat", "reg")}  # the Shopee sandbox's carriers Biteship tracks


def awb(raw: dict) -> str | None:
    return next((p.get("tracking_number") for p in raw.get("package_list") or [] if p.get("tracking_number")), None)


def expected(raws: list[dict], stories: dict[str, str]) -> dict[str, dict]:
    """Per COD order number: state, amount, refusal cost, from the raw payloads and stories."""
    out = {}
    for raw in raws:
        if raw.get("cod") is not True:
            continue
        status, number = raw["order_status"], awb(raw)
        if status in DELIVERED:
            state = "delivered"
        elif status == "CANCELLED":
            failed = any(p.get("logistics_status") == "LOGISTICS_DELIVERY_FAILED" for p in raw.get("package_list") or [])
            state = "refused" if failed else "cancelled"
        elif status == "SHIPPED":
            state = {"delivered": "delivered", "cod_refused": "refused"}.get(stories.get(number or ""), "in_transit")
        else:
            state = "unshipped"
        forward = Decimal(str(raw["actual_shipping_fee"] if raw.get("actual_shipping_fee_confirmed") else raw.get("estimated_shipping_fee", 0)))
        out[raw["order_sn"]] = {"state": state, "amount": Decimal(str(raw["total_amount"])), "awb": number, "refusal_cost": 2 * forward + PACKING}
    return out


@pytest.fixture
def sandboxes():  # noqa: ANN201
    shop = CHANNELS["shopee"].sandbox_class()(orders=150, seed=3)
    shop.clock.freeze(shop.clock.now())
    tracker = CHANNELS["biteship"].sandbox_class()(orders=0, seed=3)
    tracker.clock.freeze(shop.clock.now())
    with SandboxServer(shop, seed=3) as shop_server, SandboxServer(tracker, seed=3) as tracker_server:
        yield shop_server, tracker_server


def test_cod_shipped_delivered_refused_and_remitted_add_up_to_the_rupiah(hub, sandboxes) -> None:  # noqa: ANN001
    shop, tracker = sandboxes
    cod_orders = {r["order_sn"] for r in shop.app.dump_orders() if r.get("cod") is True}
    adjusted = sorted(t["order"] for t in shop.app.dump_settlements() if t["order"] in cod_orders)[0]
    admin(shop, "escrow", {"adjust": adjusted, "amount": -1500})  # Shopee takes 1,500 more off one COD payout
    hub.accounts.add("toko", "shopee", "Toko", shop.url, shop.app.demo_credentials(), history_days=60)
    assert hub.engine.run(SyncRequest("toko")).status == "completed"

    # The couriers' word: every SHIPPED COD parcel Biteship can track gets a story.
    raws = shop.app.dump_orders()
    stories: dict[str, str] = {}
    shipped_at = datetime.fromtimestamp(shop.app.clock.now(), UTC) - timedelta(days=12)  # every story has played out
    for raw in sorted(raws, key=lambda r: r["order_sn"]):
        carrier = raw.get("shipping_carrier") or next((p.get("shipping_carrier") for p in raw.get("package_list") or []), None)
        if raw.get("cod") is True and raw["order_status"] == "SHIPPED" and awb(raw) and carrier in CARRIER_CODES:
            story = "cod_refused" if len(stories) % 3 == 2 else "delivered"
            tracker.app.add_parcel(couriers.aggregator_courier("biteship", CARRIER_CODES[carrier][0]), awb(raw), shipped_at, story=story)
            stories[awb(raw)] = story
    hub.accounts.add("kurir", "biteship", "Kurir", tracker.url, {"api_key": tracker.app.add_live_key()})
    assert hub.engine.run(SyncRequest("kurir", job=TRACK)).status == "completed"
    want = expected(raws, stories)
    assert "cod_refused" in stories.values() and "delivered" in stories.values()  # both stories were told

    # Shopee's escrow pays the completed ones; a courier's payout file pays every other
    # delivered parcel, except one skipped and one paid twice.
    settled = {t["order"]: t for t in shop.app.dump_settlements() if t["order"] in want}
    delivered = sorted(n for n, w in want.items() if w["state"] == "delivered")
    assert set(settled) <= set(delivered) and adjusted in settled
    assert settled[adjusted]["expected"] - settled[adjusted]["payout"] == 1500
    skipped, doubled, *paid = [n for n in delivered if n not in settled]
    assert paid and len(settled) > 1  # both payers pay more than the odd ones out
    lines = [(want[n]["awb"] or "", n, want[n]["amount"]) for n in [doubled, doubled, *paid]]
    data = io.StringIO()
    writer = csv.writer(data)
    writer.writerow(["awb", "order", "amount", "paid_at", "reference"])
    for i, (number, order, amount) in enumerate(lines):
        writer.writerow([number if i % 2 else "", order if not i % 2 or not number else "", f"{amount}", "2026-11-20", f"TRF-{i}"])  # by airway bill or by order number
    now = datetime.now(UTC)
    with hub.db.begin() as conn:
        cod.set_setting(conn, "packing_cost", str(PACKING), actor="test", now=now)
        imported = cod.import_remittance(conn, data.getvalue().encode(), remitter="biteship", actor="test", now=now)
    assert (imported.lines, imported.new, imported.bad) == (len(lines), len(lines), [])
    assert imported.matched == {"paid": len(paid), "paid_twice": 2}

    with hub.db.connect() as conn:
        report = cod.report(conn, account="toko")
    total = report["total"]
    refused = [n for n, w in want.items() if w["state"] == "refused"]
    shipped = [n for n, w in want.items() if w["state"] in ("in_transit", "delivered", "refused")]
    assert {k: total[k] for k in ("orders", "shipped", "delivered", "refused", "paid", "missing", "paid_twice", "amount_differs", "settled")} == {
        "orders": len(want), "shipped": len(shipped), "delivered": len(delivered), "refused": len(refused),
        "paid": len(paid) + len(settled) - 1, "missing": 1, "paid_twice": 1, "amount_differs": 1, "settled": len(settled),
    }  # fmt: skip
    amount = lambda names: sum((want[n]["amount"] for n in names), Decimal(0))  # noqa: E731
    payouts = sum((Decimal(str(t["payout"])) for t in settled.values()), Decimal(0))
    assert total["shipped_amount"] == amount(shipped) and total["delivered_amount"] == amount(delivered)
    assert total["remitted"] == amount(paid) + 2 * want[doubled]["amount"] + payouts
    assert total["settled_amount"] == payouts and total["kept"] == amount(settled) - payouts
    assert total["pending"] == want[skipped]["amount"]
    assert total["disputed"] == want[doubled]["amount"] + 1500
    assert total["refusal_cost"] == sum((want[n]["refusal_cost"] for n in refused), Decimal(0))
    assert sorted((a["match"], a["order"]) for a in report["attention"]) == sorted([("missing", skipped), ("paid_twice", doubled), ("amount_differs", adjusted)])
    assert sum(r["delivered_amount"] for r in report["rows"]) == total["delivered_amount"]  # the groups add up to the total

    # The monthly reports of the months these orders were created in tell the same COD story.
    months = sorted({cod.current_month(datetime.fromtimestamp(r["create_time"], UTC)) for r in raws if r["order_sn"] in want})
    with hub.db.connect() as conn:
        monthly = [monthly_report.build(conn, month=m, account="toko", now=now).total for m in months]
    assert sum(m.cod_orders for m in monthly) == len(want)
    assert sum(m.cod_shipped for m in monthly) == len(shipped)
    assert sum(m.cod_refused for m in monthly) == len(refused)
    assert sum(m.returned_to_sender for m in monthly) >= len(refused)  # a refused COD parcel is a return to sender

    with hub.db.begin() as conn:  # the same file again: nothing new, the same report
        again = cod.import_remittance(conn, data.getvalue().encode(), remitter="biteship", actor="test", now=now)
        assert again.new == 0
    with hub.db.connect() as conn:
        assert cod.report(conn, account="toko")["total"] == total
