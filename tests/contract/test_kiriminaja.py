"""The tracking contract suite for kiriminaja (see tests/contract/tracking_suite.py)."""

from typing import Any

from tests.contract.tracking_suite import make_tracking_contract_tests


def corrupt(reply: dict[str, Any]) -> None:
    """A scan whose status code is not a number: the mapping must refuse the whole reply."""
    reply["histories"] = [dict(entry) for entry in reply["histories"]]
    reply["histories"][0]["status_code"] = "selesai"


globals().update(make_tracking_contract_tests("kiriminaja", corrupt=corrupt))
