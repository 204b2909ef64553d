"""The canonical JSON form is the same text whichever encoder writes it: hashes stored by
earlier versions still match (simpul.jsoncodec)."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from simpul import jsoncodec

# What loads() returns for a channel's payload: text keys, Decimals for fractions.
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text() | st.decimals(allow_nan=False, allow_infinity=False, places=2)
payloads = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=30)


def standard(obj: object) -> str:
    return json.dumps(obj, default=jsoncodec._default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(payloads)
def test_canonical_form_equals_the_standard_encoders(obj: object) -> None:
    text = standard(obj)
    assert jsoncodec.dumps(obj, canonical=True) == text
    try:
        encoded = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: never hashable, as before
        return
    assert jsoncodec.canonical_bytes(obj) == encoded


def test_decimals_stay_exact_text_and_big_integers_fall_back() -> None:
    obj = {"b": Decimal("10.50"), "a": 2**80}
    assert jsoncodec.dumps(obj, canonical=True) == '{"a":1208925819614629174706176,"b":"10.50"}'
    assert jsoncodec.loads(jsoncodec.canonical_bytes(obj)) == {"a": 2**80, "b": "10.50"}
