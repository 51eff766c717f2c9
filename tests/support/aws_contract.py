"""Moved to cloudbridge/contract/aws_contract.py (plan runs the same check); re-exported for the tests."""

from cloudbridge.contract.aws_contract import *  # noqa: F403
from cloudbridge.contract.aws_contract import Covered, Finding, Report, check_plan, provider_valid_values  # noqa: F401
