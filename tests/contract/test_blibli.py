"""The connector contract suites for blibli: orders (tests/contract/suite.py) and returns
(tests/contract/returns_suite.py)."""

from tests.contract.returns_suite import make_returns_contract_tests
from tests.contract.suite import make_contract_tests

globals().update(make_contract_tests("blibli"))
globals().update(make_returns_contract_tests("blibli"))
