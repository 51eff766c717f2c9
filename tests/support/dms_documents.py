"""Moved to cloudbridge/contract/dms_documents.py; re-exported for the tests."""

from cloudbridge.contract.dms_documents import *  # noqa: F403
