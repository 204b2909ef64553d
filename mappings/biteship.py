"""Biteship tracking reply -> canonical ``ParcelTracking`` (pure, no I/O).

Input: one reply of ``GET /v1/trackings/:waybill_id/couriers/:courier_code`` (public
tracking) or ``GET /v1/trackings/:id``, exactly as Biteship returns it
(shared/reference/storefronts_couriers.md §3; biteship.com/en/docs/api/trackings/retrieve
and /retrieve_public): ``success, message, object, id, waybill_id, courier{company,
driver_*}, origin{contact_name, address}, destination{contact_name, address},
history[{note, service_type?, updated_at, status}], link, order_id, status``.

The status vocabulary and its assumptions live in ``mappings.couriers`` (module
docstring, items 1-4). Decisions here, where the sources are silent:

- External id is ``waybill_id`` (the airway bill); ``courier.company`` is Biteship's
  courier code, translated by ``couriers.BITESHIP_COURIERS``. A code missing from that
  table leaves ``courier`` None and keeps the code in ``raw_courier``.
- Times: ``history[].updated_at`` is read as ISO 8601. Its offset is **not confirmed**
  (§3, §15, §17); the documented order sample shows ``+07:00``. A time without an offset
  is assumed to be Asia/Jakarta (WIB), the zone of every documented Biteship sample.
- The parcel's status is the newest history entry's; several at the newest time are
  settled by the top-level ``status``; with no history at all the top-level ``status``
  decides. ``last_event_at`` is the newest entry's time; ``delivered_at`` the first
  ``delivered`` entry's, when the parcel's status is delivered.
- ``service`` comes from ``history[].service_type`` (only ``GET /v1/trackings/:id`` has
  it; "-" means none). Public tracking carries no service and no COD amount, so
  ``cod_amount`` is None.
- ``scrub`` drops the driver (name, phone, photo, plate, the deprecated name/phone) and
  the origin and destination contact names and addresses; a contact name that appears in
  a note is masked first. The mapping masks the same names in event messages, so the
  scrubbed copy maps to the same canonical tracking (quarantine replay).
- A reply with ``success: false`` is an error envelope, not a tracking: refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings import couriers as c
from mappings._common import list_field, text_or_none, utc_from_iso
from simpul.canonical import MappingError, ParcelTracking, TrackingEvent
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "biteship-tracking-1"
ASSUMED_ZONE = "Asia/Jakarta"  # for a time without an offset (see the docstring)
DRIVER_FIELDS = ("name", "phone", "driver_name", "driver_phone", "driver_photo_url", "driver_plate_number")
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email", "address", "note", "coordinate")


def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("waybill_id") if isinstance(raw, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def map_tracking(raw: Mapping[str, Any]) -> ParcelTracking:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    if raw.get("success") is False:
        raise MappingError("success: false (an error reply, not a tracking)")
    waybill = external_id(raw)
    if waybill is None:
        raise MappingError("waybill_id: missing")
    courier = raw.get("courier")
    if not isinstance(courier, Mapping):
        raise MappingError("courier: expected an object")
    company = text_or_none(courier.get("company"))
    if company is None:
        raise MappingError("courier.company: missing")
    document_code = c.biteship_code(raw.get("status"))
    if document_code is None:
        raise MappingError("status: missing")

    names = _contact_names(raw)
    history = []
    for i, entry in enumerate(list_field(raw, "history")):
        where = f"history[{i}]"
        if not isinstance(entry, Mapping):
            raise MappingError(f"{where}: expected an object")
        code = c.biteship_code(entry.get("status"))
        if code is None:
            raise MappingError(f"{where}.status: missing")
        moment = utc_from_iso(entry.get("updated_at"), field=f"{where}.updated_at", assume_zone=ASSUMED_ZONE)
        if moment is None:
            raise MappingError(f"{where}.updated_at: missing")
        service = text_or_none(entry.get("service_type"))
        history.append(
            c.RawEvent(
                occurred_at=moment,
                code=code,
                row=c.status_row(c.BITESHIP_STATUS, code),
                message=c.mask_names_in(text_or_none(entry.get("note")), names),
                service=None if service == "-" else service,
            )
        )
    events = c.sort_and_dedupe(history)
    deciding = c.newest(events, document_code)
    if deciding is None:  # no history, or a tie the top-level status settles
        raw_status, row = document_code, c.status_row(c.BITESHIP_STATUS, document_code)
    else:
        raw_status, row = deciding.code, deciding.row
    delivered = [e.occurred_at for e in events if e.row.status is c.T.DELIVERED]
    services = [e.service for e in events if e.service]
    return ParcelTracking(
        courier=c.simpul_courier("biteship", company),
        tracking_number=waybill,
        status=row.status,
        sub_status=row.sub_status,
        raw_status=raw_status,
        last_event_at=events[-1].occurred_at if events else None,
        delivered_at=delivered[0] if delivered and row.status is c.T.DELIVERED else None,
        returning=row.returning,
        service=services[-1] if services else None,
        cod_amount=None,
        events=tuple(
            TrackingEvent(package_ref=waybill, occurred_at=e.occurred_at, status=e.row.status, raw_code=e.code, message=e.message, location=None)
            for e in events
        ),
        unknown_codes=c.unknown_codes([e.code for e in events] + [document_code], c.BITESHIP_STATUS.__contains__),
        raw_courier=company,
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: no driver, no contact names or addresses; names in notes masked.

    Keeps what tracking needs: ids, waybill, courier company, statuses, notes, times, link.
    Scrubbing a scrubbed copy changes nothing; the input is not modified.
    """
    out = dict(raw)
    names = _contact_names(raw)
    courier = out.get("courier")
    if isinstance(courier, Mapping):
        out["courier"] = {k: v for k, v in courier.items() if k not in DRIVER_FIELDS}
    for side in ("origin", "destination"):
        if isinstance(out.get(side), Mapping):
            out[side] = {k: v for k, v in out[side].items() if k not in CONTACT_FIELDS}
    history = out.get("history")
    if isinstance(history, list) and names:
        out["history"] = [
            {**entry, "note": c.mask_names_in(entry.get("note"), names)} if isinstance(entry, Mapping) and isinstance(entry.get("note"), str) else entry
            for entry in history
        ]
    return out


def _contact_names(raw: Mapping[str, Any]) -> list[object]:
    names: list[object] = []
    for side in ("origin", "destination"):
        part = raw.get(side)
        if isinstance(part, Mapping):
            names.append(part.get("contact_name"))
    courier = raw.get("courier")
    if isinstance(courier, Mapping):
        names += [courier.get("driver_name"), courier.get("name")]
    return names
