"""Moved to cloudbridge/contract/api_model.py; re-exported for the tests."""

from cloudbridge.contract.api_model import api_model, check_value, member, model_checks  # noqa: F401
