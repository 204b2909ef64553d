"""The boundary check itself (``simpul.limits``): derived from the tables, and its fast
path never lets through what the rule refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simpul import limits, model
from simpul.canonical import MappingError
from tests.fakes import map_order

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
BOUNDARY = limits.Boundary(since=datetime(2015, 1, 1, tzinfo=timezone.utc), now=NOW)

TEXT = st.one_of(st.text(max_size=120), st.text(alphabet=st.sampled_from("a\x00\ud800é"), max_size=5), st.just("x" * 101))
MONEY = st.one_of(st.decimals(allow_nan=True, allow_infinity=True), st.decimals(places=6, min_value=-10**18, max_value=10**18), st.sampled_from([Decimal("1E+308"), Decimal("9999999999999999.9999"), Decimal("1E16"), Decimal("0E-10"), Decimal("10.00000")]))
TIMES = st.one_of(st.datetimes(timezones=st.just(timezone.utc)), st.datetimes(), st.sampled_from([NOW + timedelta(days=1), NOW + timedelta(days=1, seconds=1)]))
INTS = st.one_of(st.integers(), st.integers(min_value=2**31 - 2, max_value=2**31 + 2), st.booleans())


@settings(max_examples=300, derandomize=True, database=None)
@given(text=TEXT, money=MONEY, moment=TIMES, number=INTS)
def test_the_fast_path_never_passes_what_the_rule_refuses(text, money, moment, number) -> None:  # noqa: ANN001
    for check, value in ((limits._text(100), text), (limits._money(16, 4), money), (limits._time(False), moment), (limits._integer, number)):
        namespace = {"v": value, "e": BOUNDARY.earliest, "le": BOUNDARY.latest_event, "ld": BOUNDARY.latest_deadline, "Decimal": Decimal, "datetime": datetime, **getattr(check, "constants", {})}
        if eval(check.fits, namespace):  # noqa: S307 - our own expression
            assert check(value, BOUNDARY) is None, (check.fits, value)


def test_every_order_column_has_a_rule_taken_from_the_table() -> None:
    bundle = map_order({"id": "o1", "updated": int(NOW.timestamp()) - 60, "status": "paid", "total": "10000"})
    assert BOUNDARY.check(bundle) is bundle
    country_limit = model.Order.__table__.c.ship_country.type.length
    bad = replace(bundle, order=replace(bundle.order, ship_country="X" * (country_limit + 1), total=Decimal("1E16"), updated_at=NOW + timedelta(days=2)))
    with pytest.raises(MappingError) as info:
        BOUNDARY.check(bad)
    assert str(info.value) == (
        "updated_at: more than a day in the future; total: beyond what NUMERIC(20,4) holds (16 digits before the point); "
        f"ship_country: {country_limit + 1} characters, more than the {country_limit} stored"
    )
    early = replace(bundle, order=replace(bundle.order, created_at=datetime(2014, 12, 31, tzinfo=timezone.utc)))
    with pytest.raises(MappingError, match="created_at: before 2015-01-01, when the channel began"):
        BOUNDARY.check(early)


def test_storable_ids() -> None:
    assert limits.storable_id("2601ABC") == "2601ABC"
    assert limits.storable_id("x" * 101) is None and limits.storable_id("a\x00") is None and limits.storable_id(7) is None
