"""One tracking vocabulary (issue 10 §3): courier codes, carrier strings, status tables.

The tables live in ``mappings/couriers.py`` with the evidence for each row; these tests
keep the tables consistent with each other and with the references, and check the
helpers both tracking mappings share.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from mappings import couriers as c
from simpul.canonical import ParcelTracking, TrackingEvent, TrackingStatus, tracking_to_dict
from simpul.jsoncodec import dumps

T = TrackingStatus
EVIDENCE = {c.DOCUMENTED, c.SECONDARY, c.INFERRED, c.ASSUMED}
# AfterShip subtags named in storefronts_couriers.md §12.2 (documented or listed there).
KNOWN_SUBTAGS = {
    *(f"Delivered_00{i}" for i in range(1, 6)), "AvailableForPickup_001", *(f"Exception_0{i:02d}" for i in range(1, 14)),
    *(f"Exception_0{i}" for i in range(16, 22)), "AttemptFail_001", "AttemptFail_002", "AttemptFail_003",
    *(f"InTransit_00{i}" for i in range(1, 10)), "InfoReceived_001", "OutForDelivery_001", "OutForDelivery_003",
    "OutForDelivery_004", "Pending_001", "Expired_001",
}  # fmt: skip
TAG_OF_SUBTAG = {
    "Delivered": T.DELIVERED, "AvailableForPickup": T.AVAILABLE_FOR_PICKUP, "Exception": T.EXCEPTION, "AttemptFail": T.ATTEMPT_FAIL,
    "InTransit": T.IN_TRANSIT, "InfoReceived": T.INFO_RECEIVED, "OutForDelivery": T.OUT_FOR_DELIVERY, "Pending": T.PENDING, "Expired": T.EXPIRED,
}  # fmt: skip


# -- courier codes -----------------------------------------------------------------------------
def test_the_couriers_the_references_name_all_have_a_simpul_code() -> None:
    # §5-§11 and §11a of storefronts_couriers.md, plus SPX, ID Express, SAP, TIKI, Wahana,
    # Grab and Gojek that the aggregators and marketplaces carry.
    named = {"jne", "jnt", "sicepat", "anteraja", "ninja", "pos", "lion", "rpx", "spx", "idexpress", "sap", "tiki", "wahana", "grab", "gojek"}
    assert named <= set(c.COURIERS)
    assert all(code == code.lower() and " " not in code for code in c.COURIERS)


@pytest.mark.parametrize("aggregator", sorted(c.AGGREGATOR_COURIERS))
def test_every_aggregator_code_maps_to_a_known_simpul_code_once(aggregator: str) -> None:
    table = c.AGGREGATOR_COURIERS[aggregator]
    assert set(table.values()) <= set(c.COURIERS)
    assert len(set(table.values())) == len(table)  # one aggregator code per Simpul courier: the way back is unambiguous
    for code, ours in table.items():
        assert c.simpul_courier(aggregator, code) == ours and c.aggregator_courier(aggregator, ours) == code
        assert c.simpul_courier(aggregator, f"  {code.upper()} ") == ours


def test_each_aggregator_row_says_how_sure_it_is_and_the_samples_are_documented() -> None:
    for rows in (c.BITESHIP_COURIER_ROWS, c.KIRIMINAJA_COURIER_ROWS):
        assert {evidence for _, evidence in rows.values()} <= EVIDENCE
    # the codes the documented samples themselves show (§3, §4)
    assert c.BITESHIP_COURIER_ROWS["jne"][1] == c.DOCUMENTED and c.BITESHIP_COURIER_ROWS["grab"][1] == c.DOCUMENTED
    assert c.KIRIMINAJA_COURIER_ROWS["jne"][1] == c.DOCUMENTED


def test_where_the_aggregators_spell_a_courier_differently_both_reach_one_code() -> None:
    assert c.simpul_courier("biteship", "idexpress") == c.simpul_courier("kiriminaja", "idx") == "idexpress"
    assert c.simpul_courier("kiriminaja", "posindonesia") == c.simpul_courier("biteship", "pos") == "pos"
    assert c.simpul_courier("kiriminaja", "gosend") == c.simpul_courier("biteship", "gojek") == "gojek"
    assert c.simpul_courier("kiriminaja", "grab_express") == c.simpul_courier("biteship", "grab") == "grab"


@pytest.mark.parametrize("code", ["", "dhl", "jne2", None, 7, "j&t"])
def test_an_unknown_aggregator_code_is_none(code: object) -> None:
    assert c.simpul_courier("biteship", code) is None and c.simpul_courier("kiriminaja", code) is None


# -- marketplace carrier strings ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SPX Standard", ("spx", "Standard")),
    ("JNEREGULER", ("jne", "REG")),  # whitespace never counts, so this is "JNE Reguler"
    ("IDExpress", ("idexpress", None)),
        ("spx   standard", ("spx", "Standard")),
        ("5-Day Delivery (SPX)", ("spx", None)),  # Shopee's own example, marketplaces.md §1.10
        ("J&T Express", ("jnt", None)),
        ("J & T EXPRESS", ("jnt", None)),
        ("JNE REG", ("jne", "REG")),
        ("jne reg", ("jne", "REG")),
        ("JNE Reguler (Cashless)", ("jne", "REG")),
        ("JNE Express", ("jne", None)),  # the company's name, as a WooCommerce shop prints it
        ("SiCepat HALU", ("sicepat", "HALU")),
        ("SiCepat", ("sicepat", None)),
        ("AnterAja Reguler", ("anteraja", "REG")),
        ("Ninja Xpress", ("ninja", None)),
        ("ID Express", ("idexpress", None)),
        ("GoSend Instant", ("gojek", "Instant")),
    ],
)
def test_carrier_strings_map_by_table_ignoring_case_and_spaces(text: str, expected: tuple) -> None:
    assert c.courier_from_carrier(text) == expected


@pytest.mark.parametrize("text", ["", "   ", None, 42, "JNE SUPERSPEED", "Kurir Toko", "J&T Express!", "JNE-REG", "SPX"])
def test_an_unlisted_carrier_string_is_none_never_a_guess(text: object) -> None:
    assert c.courier_from_carrier(text) is None  # "JNE SUPERSPEED" is not "JNE"; punctuation counts


def test_every_carrier_row_names_a_known_courier_and_its_evidence() -> None:
    keys = [c.carrier_key(text) for text in c.CARRIER_STRING_ROWS]
    assert len(keys) == len(set(keys))  # no two rows collapse onto one key
    for text, (courier, _service, evidence) in c.CARRIER_STRING_ROWS.items():
        assert courier in c.COURIERS, text
        assert evidence in EVIDENCE, text


# -- status tables -----------------------------------------------------------------------------
@pytest.mark.parametrize("table", [c.BITESHIP_STATUS, c.KIRIMINAJA_STATUS], ids=["biteship", "kiriminaja"])
def test_status_rows_use_the_aftership_vocabulary_consistently(table: dict) -> None:
    rows = list(table.values()) + [c.KIRIMINAJA_DELIVERED_COD, c.KIRIMINAJA_RETURNING, c.KIRIMINAJA_RETURNED, c.NO_EVENTS_YET]
    for row in rows:
        assert row.status is not T.UNKNOWN  # UNKNOWN is what a *missing* row means
        if row.sub_status is not None:
            assert row.sub_status in KNOWN_SUBTAGS
            assert TAG_OF_SUBTAG[row.sub_status.split("_")[0]] is row.status  # the subtag belongs to its tag
        assert row.returning == (row.sub_status in ("Exception_010", "Exception_011"))


def test_a_missing_row_is_unknown_never_a_guess() -> None:
    assert c.status_row(c.BITESHIP_STATUS, "in_transit") == c.UNKNOWN_ROW == (T.UNKNOWN, None, False)
    assert c.status_row(c.KIRIMINAJA_STATUS, 105) == c.UNKNOWN_ROW
    assert c.biteship_code("onHold") == "on_hold" and c.biteship_code("OnHold") == "OnHold" and c.biteship_code(" ") is None


# -- shared helpers ----------------------------------------------------------------------------
def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 1, hour, minute, tzinfo=timezone.utc)


def ev(hour: int, code: str, message: str = "") -> c.RawEvent:
    return c.RawEvent(at(hour), code, c.status_row(c.BITESHIP_STATUS, code), message or code)


def test_events_are_sorted_and_a_repeated_time_and_code_is_one_event() -> None:
    events = c.sort_and_dedupe([ev(9, "dropping_off", "b"), ev(3, "confirmed"), ev(9, "dropping_off", "again"), ev(5, "picked")])
    assert [(e.occurred_at.hour, e.code, e.message) for e in events] == [(3, "confirmed", "confirmed"), (5, "picked", "picked"), (9, "dropping_off", "b")]


def test_the_newest_event_decides_and_a_tie_goes_to_the_document() -> None:
    events = c.sort_and_dedupe([ev(3, "confirmed"), ev(5, "delivered"), ev(5, "on_hold")])
    assert c.newest(events, "delivered").code == "delivered"
    assert c.newest(events, "on_hold").code == "on_hold"
    assert c.newest(events, "returned") is None  # the caller uses the document's own status
    assert c.newest(events, None).code == "on_hold"  # no document status: the last listed
    assert c.newest(c.sort_and_dedupe([ev(9, "picked"), ev(3, "delivered")]), "delivered").code == "picked"  # never an older one
    assert c.newest([], "delivered") is None


def test_names_are_masked_only_where_the_reply_gives_them() -> None:
    text = "Delivered to BAGUS | 14-07-2021 16:00 | YOGYAKARTA"
    assert c.mask_names_in(text, ["Bagus", "", None, "A"]) == "Delivered to B***s | 14-07-2021 16:00 | YOGYAKARTA"
    assert c.mask_names_in(text, []) == text and c.mask_names_in(None, ["x"]) is None


# -- the canonical value -----------------------------------------------------------------------
def test_parcel_tracking_serialises_to_plain_json() -> None:
    event = TrackingEvent("AWB1", at(9), T.DELIVERED, "delivered", "ok", None)
    tracking = ParcelTracking(
        courier="jne", tracking_number="AWB1", status=T.DELIVERED, sub_status="Delivered_004", raw_status="delivered",
        last_event_at=at(9), delivered_at=at(9), returning=False, service="REG", cod_amount=Decimal("150000.00"),
        events=(event,), unknown_codes=("x",), raw={"secret": "not serialised"},
    )  # fmt: skip
    out = tracking_to_dict(tracking)
    assert set(out) == {f.name for f in fields(ParcelTracking)} - {"raw"}
    assert out["events"] == [{"package_ref": "AWB1", "occurred_at": at(9), "status": T.DELIVERED, "raw_code": "delivered", "message": "ok", "location": None}]
    assert out["unknown_codes"] == ["x"]
    back = json.loads(dumps(out))
    assert (back["cod_amount"], back["status"], back["events"][0]["occurred_at"]) == ("150000.00", "delivered", "2025-03-01T09:00:00+00:00")
    assert "secret" not in dumps(out)
