"""The tracking contract suite for biteship (see tests/contract/tracking_suite.py)."""

from typing import Any

from tests.contract.tracking_suite import make_tracking_contract_tests


def corrupt(reply: dict[str, Any]) -> None:
    """A scan whose time is not a time: the mapping must refuse the whole reply."""
    reply["history"] = [dict(entry) for entry in reply["history"]]
    reply["history"][0]["updated_at"] = "kemarin sore"


globals().update(make_tracking_contract_tests("biteship", corrupt=corrupt))
