"""The connector contract suites for lazada: orders (tests/contract/suite.py) and returns
(tests/contract/returns_suite.py)."""

from tests.contract.returns_suite import make_returns_contract_tests
from tests.contract.suite import make_contract_tests

globals().update(make_contract_tests("lazada"))
globals().update(make_returns_contract_tests("lazada"))
