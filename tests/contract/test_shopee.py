"""The connector contract suites for shopee (see tests/contract/suite.py and
tests/contract/returns_suite.py)."""

from tests.contract.returns_suite import make_returns_contract_tests
from tests.contract.suite import make_contract_tests

globals().update(make_contract_tests("shopee"))
globals().update(make_returns_contract_tests("shopee"))
