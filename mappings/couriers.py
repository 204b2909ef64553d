"""One courier vocabulary: Simpul courier codes, each aggregator's codes, carrier strings.

Everything here is data (DESIGN.md: "mapping tables from channel statuses are data"),
read by ``mappings.biteship``, ``mappings.kiriminaja`` and, later, the marketplace
mappings. Nothing is guessed: a code or a carrier string that is not in a table maps to
``None`` (couriers) or ``TrackingStatus.UNKNOWN`` (statuses), and the caller reports it.

Sources (shared/reference/storefronts_couriers.md unless noted) and how sure each row is.
Every row carries its evidence in the tables below; the short version:

- Simpul codes are our own names. They follow the lower-case codes the Indonesian
  aggregators share (RajaOngkir/Komerce §5, Biteship §3, KiriminAja §4): ``jne``, ``jnt``,
  ``sicepat``, ``anteraja``, ``ninja``, ``pos``, ``tiki``, ``wahana``, ``lion``, ``sap``.
  Where the aggregators disagree we chose one spelling: ``idexpress`` (Biteship
  ``idexpress``, KiriminAja ``idx``, Komerce ``ide``), ``pos`` (KiriminAja
  ``posindonesia``), ``gojek`` (KiriminAja ``gosend``), ``grab`` (KiriminAja
  ``grab_express``), ``jnt_cargo`` (KiriminAja ``jtcargo``).
- Biteship courier codes (``courier.company``; the public tracking path's
  ``:courier_code``). **Documented**: ``jne`` (the public tracking sample, §3), ``grab``
  (the ``GET /v1/trackings/:id`` and order samples on biteship.com), ``tiki`` (the rates
  request sample ``"couriers": "grab,jne,tiki"``, biteship.com/docs/api/rates/retrieve).
  **Inferred** (client code found by code search; the Courier API list itself was not
  captured, §17): ``jnt, sicepat, anteraja, ninja, idexpress, sap, lion, pos, wahana,
  rpx, paxel, gojek, lalamove, borzo, sentralcargo``. The rates page names Gojek, Grab,
  Paxel, Lalamove and Borzo as instant couriers, but not their codes.
- KiriminAja courier codes (``details.service`` in pull tracking). **Documented**: ``jne``
  (the tracking sample, §4). **Documented (secondary)**: the courier catalogue in
  KiriminAja's own WooCommerce plugin (``KiriminAjaOfficial\\Services\\CourierServiceCatalog``,
  found by code search): ``anteraja, jne, jnt, ncs, sap, sicepat, ninja, sentral, lion,
  idx, jtcargo, rpx, paxel, tiki, posindonesia, spx`` and the instant ``gosend,
  grab_express, borzo`` (the instant names also in KiriminAja's Node SDK
  ``InstantService``).
- Marketplace carrier strings: see ``CARRIER_STRINGS``. Four spellings are in the
  references: Shopee ``"5-Day Delivery (SPX)"`` in its official (VN) example,
  marketplaces.md §1.10 (documented); TikTok Shop ``"J&T Express"`` §2.12 and Tokopedia
  ``"SiCepat"`` §3 (inferred sample shapes); Shopify/WooCommerce ``"JNE REG"``
  storefronts_couriers.md §1.8/§2.7 (real field, illustrative value). The rest are the
  names the marketplaces show sellers in Indonesia, written from common knowledge:
  **assumed**; check them against real payloads before trusting a row. A string not in
  the table is ``None``: "SiCepat" alone gives the courier with no service, and an
  unlisted service ("JNE SUPERSPEED") gives ``None``, not "JNE".

Status tables (``BITESHIP_STATUS``, ``KIRIMINAJA_STATUS``) follow the proposed
normalisation of §13 onto AfterShip tags and subtags (§12.1/§12.2). Assumptions, each
with its reason:

1. Biteship (§3; biteship.com/docs/api/orders/overview, help-centre article
   39545043724057, both list the same 14 snake_case codes). The wire spelling is
   snake_case; the Tracking Status page's camelCase spellings are accepted through
   ``BITESHIP_CAMEL_CASE`` (§3 "accept camelCase on input"). ``picked`` stays InTransit
   until ``dropping_off`` ("Last Mile"): Biteship has no line-haul status.
2. Biteship has **no failed-attempt status** (§3, inferred). §13 suggests ``AttemptFail``
   when an ``on_hold`` note says "gagal antar", but no source documents the note texts,
   so there is no note rule: ``on_hold`` is ``Exception_005`` (delayed, external
   factors) whatever its note says, and a failed attempt reported under another status
   keeps that status. A failed attempt therefore never shows as ``attempt_fail`` from
   Biteship until a documented rule exists.
3. Biteship ``delivered`` is ``Delivered_001``. §13's ``Delivered_004`` (COD collected)
   needs a COD amount, and the tracking replies carry none (§3, §14: COD fields
   inferred), so it is never set from Biteship.
4. Biteship ``courier_not_found`` and ``cancelled`` are ``Exception_020`` (shipment
   cancelled: the status page says "your shipment is canceled because there's no courier
   available"); ``rejected`` ``Exception_009``; ``disposed`` ``Exception_021``;
   ``return_in_transit``/``returned`` ``Exception_010``/``Exception_011`` (RTS, §12.3).
5. KiriminAja ``status_code``: only ``100`` ("in process") and ``200`` (delivered) have a
   documented meaning (§4, §17). ``105`` and ``106`` appear in webhook samples with no
   meaning given, so they are **not** in the table and map to ``UNKNOWN`` (reported).
   ``100`` is InTransit without a subtag (§13 gives none, and "in process" covers
   everything from pickup to the last mile). ``200`` is ``Delivered_001``, or
   ``Delivered_004`` when ``details.costs.cod`` > 0 (AfterShip documents 004 as
   "delivered and received cash on delivery"; a delivered COD parcel is one whose cash
   was handed over).
6. KiriminAja ``details.refunded`` means **returned to sender**, not a money refund (§4,
   §16.5: inferred, not documented). ``refunded`` with ``refunded_at`` filled is
   ``Exception_011`` (back at the sender), without it ``Exception_010`` (on its way
   back), after §13's ``returned_packages`` rule. Both set ``returning``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple

from mappings._common import mask_name
from simpul.canonical import TrackingStatus

T = TrackingStatus

# Evidence labels, as storefronts_couriers.md "How to read this file" uses them.
DOCUMENTED = "documented"
SECONDARY = "documented (secondary)"
INFERRED = "inferred"
ASSUMED = "assumed"  # our own reading; no source seen


class Courier(NamedTuple):
    name: str
    kind: str  # "express" (parcel network), "instant" (same-hour ride), "cargo"


# -- (a) Simpul courier codes ------------------------------------------------------------
COURIERS: dict[str, Courier] = {
    "jne": Courier("JNE", "express"),  # §6
    "jnt": Courier("J&T Express", "express"),  # §8
    "jnt_cargo": Courier("J&T Cargo", "cargo"),
    "sicepat": Courier("SiCepat Ekspres", "express"),  # §7
    "anteraja": Courier("AnterAja", "express"),  # §9
    "ninja": Courier("Ninja Xpress", "express"),  # §10
    "pos": Courier("POS Indonesia", "express"),  # §11
    "lion": Courier("Lion Parcel", "express"),  # §11a
    "rpx": Courier("RPX", "express"),  # §11a
    "spx": Courier("SPX Express (Shopee Express)", "express"),
    "idexpress": Courier("ID Express", "express"),
    "sap": Courier("SAP Express", "express"),
    "tiki": Courier("TIKI", "express"),
    "wahana": Courier("Wahana Prestasi Logistik", "express"),  # §5 sample
    "ncs": Courier("NCS Kurir", "express"),
    "paxel": Courier("Paxel", "express"),
    "sentral": Courier("Sentral Cargo", "cargo"),
    "grab": Courier("GrabExpress", "instant"),
    "gojek": Courier("GoSend", "instant"),
    "lalamove": Courier("Lalamove", "instant"),
    "borzo": Courier("Borzo", "instant"),
}

# -- aggregator code <-> Simpul code (one table per aggregator) -----------------------------
# code as the aggregator spells it -> (Simpul code, evidence)
BITESHIP_COURIER_ROWS: dict[str, tuple[str, str]] = {
    "jne": ("jne", DOCUMENTED),  # public tracking sample (§3)
    "grab": ("grab", DOCUMENTED),  # GET /v1/trackings/:id and order samples
    "tiki": ("tiki", DOCUMENTED),  # rates request sample
    "jnt": ("jnt", INFERRED),
    "sicepat": ("sicepat", INFERRED),
    "anteraja": ("anteraja", INFERRED),
    "ninja": ("ninja", INFERRED),
    "idexpress": ("idexpress", INFERRED),
    "sap": ("sap", INFERRED),
    "lion": ("lion", INFERRED),
    "pos": ("pos", INFERRED),
    "wahana": ("wahana", INFERRED),
    "rpx": ("rpx", INFERRED),
    "paxel": ("paxel", INFERRED),
    "gojek": ("gojek", INFERRED),
    "lalamove": ("lalamove", INFERRED),
    "borzo": ("borzo", INFERRED),
    "sentralcargo": ("sentral", INFERRED),
}
KIRIMINAJA_COURIER_ROWS: dict[str, tuple[str, str]] = {
    "jne": ("jne", DOCUMENTED),  # tracking sample details.service (§4)
    "jnt": ("jnt", SECONDARY),
    "jtcargo": ("jnt_cargo", SECONDARY),
    "sicepat": ("sicepat", SECONDARY),
    "anteraja": ("anteraja", SECONDARY),
    "ninja": ("ninja", SECONDARY),
    "idx": ("idexpress", SECONDARY),
    "sap": ("sap", SECONDARY),
    "lion": ("lion", SECONDARY),
    "posindonesia": ("pos", SECONDARY),
    "tiki": ("tiki", SECONDARY),
    "ncs": ("ncs", SECONDARY),
    "rpx": ("rpx", SECONDARY),
    "paxel": ("paxel", SECONDARY),
    "sentral": ("sentral", SECONDARY),
    "spx": ("spx", SECONDARY),
    "gosend": ("gojek", SECONDARY),
    "grab_express": ("grab", SECONDARY),
    "borzo": ("borzo", SECONDARY),
}
BITESHIP_COURIERS: dict[str, str] = {code: simpul for code, (simpul, _) in BITESHIP_COURIER_ROWS.items()}
KIRIMINAJA_COURIERS: dict[str, str] = {code: simpul for code, (simpul, _) in KIRIMINAJA_COURIER_ROWS.items()}
AGGREGATOR_COURIERS: dict[str, dict[str, str]] = {"biteship": BITESHIP_COURIERS, "kiriminaja": KIRIMINAJA_COURIERS}


def simpul_courier(aggregator: str, code: object) -> str | None:
    """The Simpul code for an aggregator's courier code; None when the table lacks it."""
    if not isinstance(code, str):
        return None
    return AGGREGATOR_COURIERS[aggregator].get(code.strip().lower())


def aggregator_courier(aggregator: str, simpul: str) -> str | None:
    """The aggregator's own code for a Simpul courier (e.g. to build a tracking request)."""
    for code, ours in AGGREGATOR_COURIERS[aggregator].items():
        if ours == simpul:
            return code
    return None


# -- (b) marketplace carrier strings -> (courier, service) ----------------------------------
# As Shopee, TikTok Shop/Tokopedia, Lazada, WooCommerce and Shopify print them. Matching
# ignores case and whitespace only ("J & T  express" == "J&T Express"); punctuation counts.
CARRIER_STRING_ROWS: dict[str, tuple[str, str | None, str]] = {
    # documented in shared/reference (see the module docstring)
    "5-Day Delivery (SPX)": ("spx", None, DOCUMENTED),  # Shopee VN example, marketplaces.md §1.10
    "J&T Express": ("jnt", None, INFERRED),  # TikTok Shop sample (inferred shape), marketplaces.md §2.12
    "SiCepat": ("sicepat", None, INFERRED),  # Tokopedia legacy sample, marketplaces.md §3
    "JNE REG": ("jne", "REG", INFERRED),  # Shopify shipping_lines, WooCommerce method_title samples (§1.8, §2.7; values illustrative)
    # assumed: how Indonesian marketplaces name these services (check against real payloads)
    "SPX Standard": ("spx", "Standard", ASSUMED),
    "SPX Hemat": ("spx", "Hemat", ASSUMED),
    "SPX Instant": ("spx", "Instant", ASSUMED),
    "SPX Sameday": ("spx", "Sameday", ASSUMED),
    "Shopee Express": ("spx", None, ASSUMED),
    "Shopee Xpress": ("spx", None, ASSUMED),
    "J&T": ("jnt", None, ASSUMED),
    "J&T Economy": ("jnt", "Economy", ASSUMED),
    "J&T Cargo": ("jnt_cargo", None, ASSUMED),
    "JNE": ("jne", None, ASSUMED),
    "JNE Express": ("jne", None, ASSUMED),  # the company's own name, as WooCommerce shipping plugins print it
    "JNE Reguler": ("jne", "REG", ASSUMED),
    "JNE Reguler (Cashless)": ("jne", "REG", ASSUMED),
    "JNE OKE": ("jne", "OKE", ASSUMED),
    "JNE YES": ("jne", "YES", ASSUMED),
    "JNE JTR": ("jne", "JTR", ASSUMED),
    "JNE Trucking": ("jne", "JTR", ASSUMED),
    "SiCepat REG": ("sicepat", "REG", ASSUMED),
    "SiCepat Reguler": ("sicepat", "REG", ASSUMED),
    "SiCepat HALU": ("sicepat", "HALU", ASSUMED),
    "SiCepat BEST": ("sicepat", "BEST", ASSUMED),
    "SiCepat GOKIL": ("sicepat", "GOKIL", ASSUMED),
    "AnterAja": ("anteraja", None, ASSUMED),
    "AnterAja Reguler": ("anteraja", "REG", ASSUMED),
    "AnterAja Next Day": ("anteraja", "ND", ASSUMED),
    "AnterAja Same Day": ("anteraja", "SD", ASSUMED),
    "Ninja Xpress": ("ninja", None, ASSUMED),
    "Ninja Express": ("ninja", None, ASSUMED),
    "Ninja Van": ("ninja", None, ASSUMED),
    "ID Express": ("idexpress", None, ASSUMED),
    "Pos Indonesia": ("pos", None, ASSUMED),
    "Pos Kilat Khusus": ("pos", "Kilat Khusus", ASSUMED),
    "Lion Parcel": ("lion", None, ASSUMED),
    "SAP Express": ("sap", None, ASSUMED),
    "TIKI": ("tiki", None, ASSUMED),
    "TIKI REG": ("tiki", "REG", ASSUMED),
    "Wahana": ("wahana", None, ASSUMED),
    "GoSend Instant": ("gojek", "Instant", ASSUMED),
    "GoSend Same Day": ("gojek", "Same Day", ASSUMED),
    "GrabExpress Instant": ("grab", "Instant", ASSUMED),
    "GrabExpress Sameday": ("grab", "Sameday", ASSUMED),
    "Paxel": ("paxel", None, ASSUMED),
}


def carrier_key(text: str) -> str:
    """The matching key of a carrier string: case-folded, all whitespace removed."""
    return re.sub(r"\s+", "", text).casefold()


CARRIER_STRINGS: dict[str, tuple[str, str | None]] = {carrier_key(text): (courier, service) for text, (courier, service, _) in CARRIER_STRING_ROWS.items()}


def courier_from_carrier(text: object) -> tuple[str, str | None] | None:
    """``(courier, service)`` for a marketplace's carrier string; None when it is not listed.

    >>> courier_from_carrier("  j&t   EXPRESS ")
    ('jnt', None)
    >>> courier_from_carrier("JNE REG")
    ('jne', 'REG')
    >>> courier_from_carrier("Kurir Toko Sebelah") is None
    True
    """
    if not isinstance(text, str) or not text.strip():
        return None
    return CARRIER_STRINGS.get(carrier_key(text))


def courier_of_shipment(carrier: str | None, service: str | None) -> str | None:
    """The courier code of a stored shipment (its carrier text, then with its service), or
    None: the parcel cannot be routed to a tracking account and is listed, not guessed."""
    for text in (f"{carrier or ''} {service or ''}", carrier):
        found = courier_from_carrier(text)
        if found:
            return found[0]
    return None


# -- (c) status tables: raw code -> (tag, subtag) ---------------------------------------------
class StatusRow(NamedTuple):
    status: TrackingStatus
    sub_status: str | None
    returning: bool = False  # the parcel is going back to, or is back at, the sender


BITESHIP_STATUS: dict[str, StatusRow] = {
    "confirmed": StatusRow(T.INFO_RECEIVED, "InfoReceived_001"),
    "scheduled": StatusRow(T.INFO_RECEIVED, "InfoReceived_001"),
    "allocated": StatusRow(T.INFO_RECEIVED, "InfoReceived_001"),
    "picking_up": StatusRow(T.INFO_RECEIVED, "InfoReceived_001"),  # courier on the way to pick up
    "picked": StatusRow(T.IN_TRANSIT, "InTransit_002"),  # acceptance scan
    "dropping_off": StatusRow(T.OUT_FOR_DELIVERY, "OutForDelivery_001"),  # "Last Mile"
    "on_hold": StatusRow(T.EXCEPTION, "Exception_005"),  # assumption 2: no note rule
    "delivered": StatusRow(T.DELIVERED, "Delivered_001"),  # assumption 3
    "return_in_transit": StatusRow(T.EXCEPTION, "Exception_010", returning=True),
    "returned": StatusRow(T.EXCEPTION, "Exception_011", returning=True),
    "rejected": StatusRow(T.EXCEPTION, "Exception_009"),
    "courier_not_found": StatusRow(T.EXCEPTION, "Exception_020"),
    "cancelled": StatusRow(T.EXCEPTION, "Exception_020"),
    "disposed": StatusRow(T.EXCEPTION, "Exception_021"),
}
# The Tracking Status page's spellings (biteship.com/en/docs/api/trackings/status).
BITESHIP_CAMEL_CASE: dict[str, str] = {
    "pickingUp": "picking_up",
    "droppingOff": "dropping_off",
    "returnInTransit": "return_in_transit",
    "onHold": "on_hold",
    "courierNotFound": "courier_not_found",
}

KIRIMINAJA_STATUS: dict[int, StatusRow] = {
    100: StatusRow(T.IN_TRANSIT, None),  # "in process" (§4)
    200: StatusRow(T.DELIVERED, "Delivered_001"),  # delivered; Delivered_004 when COD (assumption 5)
}
KIRIMINAJA_DELIVERED = 200  # the row ``details.delivered`` stands for
KIRIMINAJA_DELIVERED_COD = StatusRow(T.DELIVERED, "Delivered_004")
KIRIMINAJA_RETURNING = StatusRow(T.EXCEPTION, "Exception_010", returning=True)  # refunded, refunded_at empty
KIRIMINAJA_RETURNED = StatusRow(T.EXCEPTION, "Exception_011", returning=True)  # refunded, refunded_at set

UNKNOWN_ROW = StatusRow(T.UNKNOWN, None)
NO_EVENTS_YET = StatusRow(T.PENDING, None)  # AfterShip Pending: "no tracking information yet"


def biteship_code(raw: object) -> str | None:
    """A Biteship status as the wire spells it (snake_case); camelCase is accepted."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip()
    return BITESHIP_CAMEL_CASE.get(raw, raw)


def status_row(table: Mapping, code: object) -> StatusRow:
    """The row for ``code``; ``UNKNOWN_ROW`` when the table lacks it, never a guess."""
    return table.get(code, UNKNOWN_ROW)


# -- shared by the tracking mappings (biteship, kiriminaja) -----------------------------------
class RawEvent(NamedTuple):
    """One history entry as read from a tracking reply, before it becomes a TrackingEvent."""

    occurred_at: datetime
    code: str  # the raw status code as text
    row: StatusRow
    message: str | None
    service: str | None = None


def sort_and_dedupe(events: list[RawEvent]) -> list[RawEvent]:
    """Oldest first; the same time and raw code twice is one event (the first one kept).

    Aggregators list histories newest first (KiriminAja's sample) or oldest first
    (Biteship's), and a retried courier scan repeats itself.
    """
    seen: set[tuple[datetime, str]] = set()
    out = []
    for event in sorted(events, key=lambda e: e.occurred_at):  # stable: ties keep input order
        key = (event.occurred_at, event.code)
        if key not in seen:
            seen.add(key)
            out.append(event)
    return out


def newest(events: list[RawEvent], document_code: str | None) -> RawEvent | None:
    """The event that decides the parcel's status: the newest, never an older one.

    Several events at the newest time: the one whose code is the document's own top-level
    status wins; if none is, the caller uses the document's status (``None`` here).
    """
    if not events:
        return None
    top = events[-1].occurred_at
    tied = [e for e in events if e.occurred_at == top]
    if len(tied) == 1:
        return tied[0]
    for event in tied:
        if document_code is not None and event.code == document_code:
            return event
    return None if document_code is not None else tied[-1]


def unknown_codes(codes: list[str | None], table_has: Callable[[str], bool]) -> tuple[str, ...]:
    """The raw codes (in order, once each) that the table does not know."""
    out: list[str] = []
    for code in codes:
        if code is not None and not table_has(code) and code not in out:
            out.append(code)
    return tuple(out)


def mask_names_in(text: str | None, names: list[object]) -> str | None:
    """``text`` with each of ``names`` (a receiver, a contact) masked where it appears.

    Courier scans embed the receiver: "Delivered to BAGUS | 14-07-2021 16:00 | YOGYAKARTA"
    (KiriminAja §4), "DELIVERED TO [A YANI | …]" (JNE §6). Only names the same reply
    gives us are masked; nothing is guessed from the text itself.
    """
    if not text:
        return text
    for name in names:
        if isinstance(name, str) and len(name.strip()) >= 2 and "*" not in name:
            name = name.strip()
            text = re.sub(re.escape(name), mask_name(name) or "", text, flags=re.IGNORECASE)
    return text
