"""The connector contract suites for woocommerce (tests/contract/suite.py, returns_suite.py).

Known gap in the shared orders suite: ``test_full_sync_equals_the_source_and_a_rerun_writes_nothing``
asserts ``run.counts.new == ORDERS``, but a run of a channel with a returns stream also
counts the returns it creates (the engine adds every stream's counts to the run). Until the
suite counts orders alone, that test is expected to fail here (strict: it turns red once
the suite is fixed, so this mark goes). Both suites also name their fixtures ``sandbox``
and ``account``: the returns suite's (seed 7) are the ones this module ends up with.
"""

import pytest

from tests.contract.returns_suite import make_returns_contract_tests
from tests.contract.suite import make_contract_tests

_orders = make_contract_tests("woocommerce")
_COUNTS_ORDERS_ONLY = "test_full_sync_equals_the_source_and_a_rerun_writes_nothing"
_orders[_COUNTS_ORDERS_ONLY] = pytest.mark.xfail(
    strict=True, reason="shared orders suite counts every stream's new rows as orders (run.counts.new == ORDERS)"
)(_orders[_COUNTS_ORDERS_ONLY])

globals().update(_orders)
globals().update(make_returns_contract_tests("woocommerce"))
