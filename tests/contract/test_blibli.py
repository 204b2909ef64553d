"""The connector contract suite for blibli (see tests/contract/suite.py)."""

from tests.contract.suite import make_contract_tests

globals().update(make_contract_tests("blibli"))
