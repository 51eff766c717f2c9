"""Moved to cloudbridge/contract/contracts.py (plan runs the same check); re-exported for the tests."""

from cloudbridge.contract.contracts import *  # noqa: F403
from cloudbridge.contract.contracts import CONTRACTS, POLICY_INPUTS, Contract, _sg_rules  # noqa: F401
