"""The Biteship tracking mapping: golden replies, the status table, refusals, scrubbing.

Golden files: ``documented_public_sample`` is the public-tracking sample of
storefronts_couriers.md §3 (biteship.com/en/docs/api/trackings/retrieve_public, values
illustrative). The other six are replies we built in the documented shape to cover the
cases the sample does not: a delivery with ``service_type`` (``GET /v1/trackings/:id``,
with the doc's own ``"messsage"`` typo), RTS, ``on_hold`` with a failed-attempt note,
``courier_not_found``, a code Biteship does not document, and a history out of order with
a repeated entry and a camelCase status. Every ``*.expected.json`` is a snapshot of this
mapping's output; the FACTS below are what a person reads off each reply with §3, §12 and
§13 open, typed by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mappings import biteship as mapping
from mappings import couriers
from simpul.canonical import MappingError, TrackingStatus, tracking_to_dict
from simpul.jsoncodec import dumps, loads

GOLDEN = Path(__file__).with_name("golden")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))
T = TrackingStatus


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert json.loads(dumps(tracking_to_dict(mapping.map_tracking(loads(path.read_text()))))) == expected


# Per case: (courier, tag, subtag, raw status that decided, last event in UTC, delivered
# at in UTC, returning). Times: updated_at carries +07:00 (or Z), so 15:00+07:00 is 08:00Z.
FACTS = {
    # §3 sample: the newest entry is dropping_off ("Last Mile") at 2025-03-02 09:00 WIB.
    "documented_public_sample": ("jne", T.OUT_FOR_DELIVERY, "OutForDelivery_001", "dropping_off", "2025-03-02T02:00:00+00:00", None, False),
    # delivered at 14:22:05 WIB; §13: Delivered_001 (no COD amount in a tracking reply).
    "delivered_with_service_type": ("sicepat", T.DELIVERED, "Delivered_001", "delivered", "2025-04-09T07:22:05+00:00", "2025-04-09T07:22:05+00:00", False),
    # return_in_transit -> returned: AfterShip's RTS is Exception_010 -> Exception_011 (§12.3).
    "return_to_sender": ("jnt", T.EXCEPTION, "Exception_011", "returned", "2025-05-10T08:30:00+00:00", None, True),
    # on_hold stays Exception_005 whatever the note says: no documented note rule (§3).
    "on_hold_failed_attempt_note": ("anteraja", T.EXCEPTION, "Exception_005", "on_hold", "2025-06-11T10:05:00+00:00", None, False),
    # "canceled because there's no courier available" (status page): shipment cancelled.
    "courier_not_found": ("gojek", T.EXCEPTION, "Exception_020", "courier_not_found", "2025-07-01T05:30:00+00:00", None, False),
    # in_warehouse is no Biteship status: unknown, reported, never guessed as in transit.
    "unknown_status_code": ("ninja", T.UNKNOWN, None, "in_warehouse", "2025-08-02T00:40:00+00:00", None, False),
    # newest entry 2025-09-03 08:15 WIB = 01:15Z (listed twice, once as camelCase
    # droppingOff); the top-level status "picked" is older and loses.
    "events_out_of_order": ("idexpress", T.OUT_FOR_DELIVERY, "OutForDelivery_001", "dropping_off", "2025-09-03T01:15:00+00:00", None, False),
}  # fmt: skip
UNKNOWN = {"unknown_status_code": ("in_warehouse",)}
EVENT_COUNTS = {"events_out_of_order": 3}  # five entries, one repeated, one the same scan in camelCase


def test_every_golden_case_has_its_documented_facts() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked_against_the_documentation(name: str) -> None:
    courier, status, sub, raw_status, last, delivered, returning = FACTS[name]
    payload = raw(name)
    tracking = mapping.map_tracking(payload)
    assert tracking.tracking_number == payload["waybill_id"]
    assert (tracking.courier, tracking.raw_courier) == (courier, payload["courier"]["company"])
    assert (tracking.status, tracking.sub_status, tracking.raw_status) == (status, sub, raw_status)
    assert tracking.last_event_at.isoformat() == last and tracking.last_event_at.utcoffset().total_seconds() == 0
    assert (tracking.delivered_at.isoformat() if tracking.delivered_at else None) == delivered
    assert tracking.returning is returning
    assert tracking.unknown_codes == UNKNOWN.get(name, ())
    assert len(tracking.events) == EVENT_COUNTS.get(name, len(payload["history"]))
    times = [e.occurred_at for e in tracking.events]
    assert times == sorted(times) and tracking.events[-1].occurred_at == tracking.last_event_at
    assert tracking.mapping_version == mapping.MAPPING_VERSION and tracking.cod_amount is None


# The 14 codes of biteship.com/docs/api/orders/overview and help-centre article 39545043724057.
DOCUMENTED_CODES = {
    "confirmed", "scheduled", "allocated", "picking_up", "picked", "cancelled", "on_hold", "dropping_off",
    "return_in_transit", "returned", "rejected", "disposed", "courier_not_found", "delivered",
}  # fmt: skip
DOCUMENTED_CAMEL_CASE = {"pickingUp", "droppingOff", "returnInTransit", "onHold", "courierNotFound"}  # the Tracking Status page


def test_every_documented_status_has_a_row_and_nothing_else_does() -> None:
    assert set(couriers.BITESHIP_STATUS) == DOCUMENTED_CODES
    assert set(couriers.BITESHIP_CAMEL_CASE) == DOCUMENTED_CAMEL_CASE
    assert set(couriers.BITESHIP_CAMEL_CASE.values()) <= DOCUMENTED_CODES
    assert {code for code, row in couriers.BITESHIP_STATUS.items() if row.returning} == {"return_in_transit", "returned"}
    assert not any(row.status is T.ATTEMPT_FAIL for row in couriers.BITESHIP_STATUS.values())  # §3: none exists


@pytest.mark.parametrize("code", sorted(DOCUMENTED_CODES))
def test_each_documented_status_maps_through_the_whole_reply(code: str) -> None:
    payload = raw("documented_public_sample")
    payload["history"][-1]["status"] = payload["status"] = code
    tracking = mapping.map_tracking(payload)
    assert (tracking.status, tracking.sub_status) == couriers.BITESHIP_STATUS[code][:2]
    assert tracking.status is not T.UNKNOWN and tracking.unknown_codes == ()


def test_an_unknown_code_is_unknown_and_reported_wherever_it_appears() -> None:
    payload = raw("documented_public_sample")
    payload["history"].insert(0, {"note": "x", "updated_at": "2025-03-01T14:00:00+07:00", "status": "teleported"})
    payload["status"] = "vanished"
    tracking = mapping.map_tracking(payload)
    assert tracking.status is T.OUT_FOR_DELIVERY  # an unknown *older* entry does not decide
    assert tracking.events[0].status is T.UNKNOWN and tracking.events[0].raw_code == "teleported"
    assert tracking.unknown_codes == ("teleported", "vanished")


def test_no_history_means_the_top_level_status_decides() -> None:
    payload = {**raw("return_to_sender"), "history": []}
    tracking = mapping.map_tracking(payload)
    assert (tracking.status, tracking.sub_status, tracking.returning, tracking.last_event_at) == (T.EXCEPTION, "Exception_011", True, None)


def test_entries_at_the_same_newest_time_are_settled_by_the_top_level_status() -> None:
    payload = raw("documented_public_sample")
    payload["history"].append({"note": "on hold", "updated_at": "2025-03-02T09:00:00+07:00", "status": "on_hold"})
    assert mapping.map_tracking(payload).raw_status == "dropping_off"  # top-level says dropping_off
    payload["status"] = "on_hold"
    assert mapping.map_tracking(payload).raw_status == "on_hold"
    payload["status"] = "returned"  # not among the tied entries: the document's own verdict
    assert mapping.map_tracking(payload).sub_status == "Exception_011"


def test_a_time_without_an_offset_is_read_as_wib() -> None:
    payload = raw("documented_public_sample")
    payload["history"][-1]["updated_at"] = "2025-03-02T09:00:00"
    assert mapping.map_tracking(payload).last_event_at.isoformat() == "2025-03-02T02:00:00+00:00"


def test_an_unlisted_courier_company_keeps_its_code_and_has_no_simpul_code() -> None:
    payload = raw("documented_public_sample")
    payload["courier"]["company"] = "kurir_lokal"
    tracking = mapping.map_tracking(payload)
    assert (tracking.courier, tracking.raw_courier) == (None, "kurir_lokal")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.pop("waybill_id"), "waybill_id"),
        (lambda o: o.update(waybill_id="  "), "waybill_id"),
        (lambda o: o.update(courier=None), "courier"),
        (lambda o: o["courier"].pop("company"), "courier.company"),
        (lambda o: o.pop("status"), "status"),
        (lambda o: o.update(history={"a": 1}), "history"),
        (lambda o: o["history"].__setitem__(1, "delivered"), "history[1]"),
        (lambda o: o["history"][1].pop("status"), "history[1].status"),
        (lambda o: o["history"][1].update(updated_at="kemarin sore"), "history[1].updated_at"),
        (lambda o: o["history"][0].update(updated_at=None), "history[0].updated_at"),
        (lambda o: o.update(success=False), "success"),
    ],
)
def test_unmappable_replies_name_the_field_and_no_buyer_data(change, field: str) -> None:  # noqa: ANN001
    payload = raw("delivered_with_service_type")
    change(payload)
    with pytest.raises(MappingError) as info:
        mapping.map_tracking(payload)
    assert str(info.value).startswith(f"{field}: ")
    assert not any(p in str(info.value) for p in ("Siti", "Aminah", "Joko", "0812", "Kenanga"))


def test_an_error_envelope_is_refused() -> None:
    with pytest.raises(MappingError, match="^success: "):
        mapping.map_tracking({"success": False, "error": "Required parameter is missing"})
    with pytest.raises(MappingError, match="^payload: "):
        mapping.map_tracking(["not", "an", "object"])  # type: ignore[arg-type]


PII = ("Siti Aminah", "Joko Susilo", "081298765432", "B 1234 XYZ", "driver.jpg", "Kenanga", "Melati No. 5", "Toko Melati")


def test_scrub_drops_contacts_and_driver_masks_names_in_notes_and_replay_maps_the_same() -> None:
    payload = raw("delivered_with_service_type")
    scrubbed = mapping.scrub(payload)
    assert not any(p in dumps(scrubbed) for p in PII)
    assert scrubbed["courier"] == {"company": "sicepat"} and scrubbed["origin"] == {} and scrubbed["destination"] == {}
    assert scrubbed["history"][-1]["note"] == "Item has been delivered. Received by S*********h"
    assert mapping.scrub(scrubbed) == scrubbed
    assert replace(mapping.map_tracking(scrubbed), payload_hash="") == replace(mapping.map_tracking(payload), payload_hash="")
    tracking = mapping.map_tracking(payload)
    assert not any(p in dumps(tracking_to_dict(tracking)) for p in PII)  # the events carry no name either
    assert tracking.raw == scrubbed
    assert payload["destination"]["contact_name"] == "Siti Aminah"  # the input is untouched


def test_mapping_is_deterministic_and_survives_a_json_round_trip() -> None:
    for path in RAW_FILES:
        payload = loads(path.read_text())
        again = loads(dumps(payload))
        assert mapping.map_tracking(payload) == mapping.map_tracking(again)
        assert mapping.map_tracking(payload).payload_hash == mapping.map_tracking(again).payload_hash
        assert mapping.external_id(payload) == payload["waybill_id"]
