"""KiriminAja express tracking reply -> canonical ``ParcelTracking`` (pure, no I/O).

Input: one reply of ``POST /api/mitra/tracking`` exactly as KiriminAja returns it
(shared/reference/storefronts_couriers.md §4; developer.kiriminaja.com/docs/express/tracking;
the field types agree with KiriminAja's Node SDK ``ExpressTrackingResponse``):
``status (bool), text, method, status_code, details{awb, order_id, status_code, service,
service_name, shipped_at, delivered, delivered_at, refunded, refunded_at, images{…},
costs{cod, currency, …}, origin{name, address, phone, city, zip_code}, destination{…}},
histories[{created_at, status (free text), status_code, driver, receiver}]``.

The status vocabulary and its assumptions live in ``mappings.couriers`` (module
docstring, items 5 and 6). Decisions here, where the sources are silent:

- External id is ``details.awb`` (the airway bill). A reply without one (the SDK types it
  nullable: no AWB issued yet) is refused rather than keyed on ``order_id``: tracking rows
  are keyed by airway bill everywhere else. ``details.service`` is KiriminAja's courier
  code (``couriers.KIRIMINAJA_COURIERS``), ``details.service_name`` the service ("REG").
- Times: ``histories[].created_at``, ``delivered_at``, ``refunded_at`` are
  ``"YYYY-MM-DD HH:MM:SS"`` **without a zone** (documented format). We assume
  **Asia/Jakarta (WIB, +07:00)** (§4, §15: inferred; a courier in WITA/WIT may report
  its own local time, which this reads an hour or two late). ``""`` means unset.
- The parcel's status is the newest history entry's ``status_code``. Several entries at
  the newest time are settled by the document's code (``details.status_code`` when set,
  else the top-level ``status_code``); if none of them carries it, the document's code
  decides. No history at all: ``pending`` (AfterShip "no tracking information yet").
- The document's booleans are KiriminAja's own summary of the parcel *now*, so they
  override the newest scan: ``refunded`` (returned to sender, assumption 6) first, then
  ``delivered``. The return leg's scans carry no code of their own in what is documented,
  so without the flag an RTS parcel would read as in transit. ``raw_status`` is then
  ``"refunded"``, or ``"delivered"`` when the newest scan is not a delivery itself.
- ``delivered_at`` is ``details.delivered_at`` when ``delivered`` is true (the documented
  sample's value is three months after its delivery scan; we keep the field as sent).
  ``cod_amount`` is ``details.costs.cod`` when above 0 (0 means not COD, §4, §14).
- Messages keep the courier's text with the entry's ``receiver`` (and ``driver``)
  masked: "Delivered to B***S | …". ``scrub`` drops names, addresses and phones of origin
  and destination (city and postcode stay), the proof-of-delivery images, the
  ``signature_code``, and each entry's ``driver``/``receiver`` after masking them in the
  texts; mapping the scrubbed copy gives the same canonical tracking.
- ``status: false`` is KiriminAja's error/not-found envelope, not a tracking: refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mappings import couriers as c
from mappings._common import list_field, money_or_none, text_or_none, utc_from_iso
from simpul.canonical import MappingError, ParcelTracking, TrackingEvent
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "kiriminaja-tracking-1"
ASSUMED_ZONE = "Asia/Jakarta"  # WIB: the pull API's times carry no zone (see the docstring)
PARTY_FIELDS = ("name", "address", "phone")  # dropped from details.origin / details.destination
DETAIL_FIELDS_DROPPED = ("images", "signature_code")
PEOPLE_IN_HISTORY = ("driver", "receiver")


def external_id(raw: Mapping[str, Any]) -> str | None:
    details = raw.get("details") if isinstance(raw, Mapping) else None
    value = details.get("awb") if isinstance(details, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def map_tracking(raw: Mapping[str, Any]) -> ParcelTracking:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    if raw.get("status") is False:
        raise MappingError("status: false (not found or an error reply, not a tracking)")
    details = raw.get("details")
    if not isinstance(details, Mapping):
        raise MappingError("details: expected an object")
    awb = external_id(raw)
    if awb is None:
        raise MappingError("details.awb: missing (no airway bill yet)")
    delivered_flag = _flag(details, "delivered")
    refunded_flag = _flag(details, "refunded")
    document_code = _code(details.get("status_code"), "details.status_code")
    if document_code is None:
        document_code = _code(raw.get("status_code"), "status_code")

    history = []
    for i, entry in enumerate(list_field(raw, "histories")):
        where = f"histories[{i}]"
        if not isinstance(entry, Mapping):
            raise MappingError(f"{where}: expected an object")
        code = _code(entry.get("status_code"), f"{where}.status_code")
        if code is None:
            raise MappingError(f"{where}.status_code: missing")
        moment = utc_from_iso(entry.get("created_at"), field=f"{where}.created_at", assume_zone=ASSUMED_ZONE)
        if moment is None:
            raise MappingError(f"{where}.created_at: missing")
        history.append(
            c.RawEvent(
                occurred_at=moment,
                code=str(code),
                row=c.status_row(c.KIRIMINAJA_STATUS, code),
                message=c.mask_names_in(text_or_none(entry.get("status")), [entry.get(k) for k in PEOPLE_IN_HISTORY]),
            )
        )
    events = c.sort_and_dedupe(history)
    costs = details.get("costs") or {}
    if not isinstance(costs, Mapping):
        raise MappingError("details.costs: expected an object")
    cod = money_or_none(costs.get("cod"), field="details.costs.cod")
    cod_amount = cod if cod is not None and cod > 0 else None
    delivered_at = utc_from_iso(details.get("delivered_at"), field="details.delivered_at", assume_zone=ASSUMED_ZONE)
    refunded_at = utc_from_iso(details.get("refunded_at"), field="details.refunded_at", assume_zone=ASSUMED_ZONE)

    deciding = c.newest(events, None if document_code is None else str(document_code))
    if refunded_flag:
        raw_status, row = "refunded", c.KIRIMINAJA_RETURNED if refunded_at else c.KIRIMINAJA_RETURNING
    elif delivered_flag and not (deciding is not None and deciding.row.status is c.T.DELIVERED):
        raw_status, row = "delivered", c.KIRIMINAJA_STATUS[c.KIRIMINAJA_DELIVERED]
    elif deciding is not None:
        raw_status, row = deciding.code, deciding.row
    elif events:  # a tie the document's code settles
        raw_status, row = str(document_code), c.status_row(c.KIRIMINAJA_STATUS, document_code)
    else:
        raw_status, row = None, c.NO_EVENTS_YET
    if row.status is c.T.DELIVERED and cod_amount is not None:
        row = c.KIRIMINAJA_DELIVERED_COD
    return ParcelTracking(
        courier=c.simpul_courier("kiriminaja", details.get("service")),
        tracking_number=awb,
        status=row.status,
        sub_status=row.sub_status,
        raw_status=raw_status,
        last_event_at=events[-1].occurred_at if events else None,
        delivered_at=delivered_at if delivered_flag else None,
        returning=row.returning,
        service=text_or_none(details.get("service_name")),
        cod_amount=cod_amount,
        events=tuple(
            TrackingEvent(package_ref=awb, occurred_at=e.occurred_at, status=e.row.status, raw_code=e.code, message=e.message, location=None)
            for e in events
        ),
        unknown_codes=c.unknown_codes([e.code for e in events], lambda code: int(code) in c.KIRIMINAJA_STATUS),
        raw_courier=text_or_none(details.get("service")),
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: no names, addresses, phones, photos; receivers masked in texts.

    Keeps what tracking needs: awb, order id, courier and service, flags and times, costs,
    origin/destination city and postcode, each entry's time, code and (masked) text.
    Scrubbing a scrubbed copy changes nothing; the input is not modified.
    """
    out = dict(raw)
    histories = out.get("histories")
    people: list[object] = []
    if isinstance(histories, list):
        cleaned = []
        for entry in histories:
            if isinstance(entry, Mapping):
                names = [entry.get(k) for k in PEOPLE_IN_HISTORY]
                people += names
                entry = {k: v for k, v in entry.items() if k not in PEOPLE_IN_HISTORY}
                if isinstance(entry.get("status"), str):
                    entry["status"] = c.mask_names_in(entry["status"], names)
            cleaned.append(entry)
        out["histories"] = cleaned
    if isinstance(out.get("text"), str):  # the top-level text repeats the newest entry's
        out["text"] = c.mask_names_in(out["text"], people)
    details = out.get("details")
    if isinstance(details, Mapping):
        details = out["details"] = {k: v for k, v in details.items() if k not in DETAIL_FIELDS_DROPPED}
        for side in ("origin", "destination"):
            if isinstance(details.get(side), Mapping):
                details[side] = {k: v for k, v in details[side].items() if k not in PARTY_FIELDS}
    return out


def _flag(details: Mapping[str, Any], field: str) -> bool:
    value = details.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MappingError(f"details.{field}: expected true or false")
    return value


def _code(value: Any, field: str) -> int | None:
    """A status code: a JSON integer, or its digits as text; null means none."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MappingError(f"{field}: expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise MappingError(f"{field}: expected a whole number")
