"""Fixtures: a moto AWS holding one pipeline's buckets, topic and queues."""

import pytest
from moto import mock_aws

from tests.support.moto_pipeline import REGION, Pipeline, orders_metadata


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def pipeline(aws):
    p = Pipeline()
    p.publish_metadata(orders_metadata())
    return p
