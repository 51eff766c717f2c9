"""The stack-agnostic checks (tests/support/stack_checks.py) pass on the fixture stacks and fail on what they guard."""

import dataclasses
import shutil

import pytest

from cloudbridge import urns
from components.workspace import metadata_root, using
from tests.support import stack_checks


@pytest.mark.parametrize("check", sorted(stack_checks.PLAN_CHECKS))
def test_every_check_passes_on_every_fixture_stack(plan, check, tmp_path):
    urns.write(tmp_path / "urns" / f"{plan.stack}.urns", plan)
    with using(tmp_path):
        assert stack_checks.PLAN_CHECKS[check](plan) == []


def test_the_tags_check_catches_a_resource_without_its_source(plans):
    plan = plans("dev")
    [queue] = [r for r in plan.resources if r.name == "sales-validator-queue"]
    untagged = dataclasses.replace(queue, inputs={**queue.inputs, "tags": {}})
    changed = dataclasses.replace(plan, resources=[untagged if r is queue else r for r in plan.resources])
    expected = "aws:sqs/queue:Queue sales-validator-queue: tag cloudbridge:source is not sales"
    assert stack_checks.tags(changed) == [expected]


def _workspace(tmp_path, plan):
    shutil.copytree(metadata_root(), tmp_path / "metadata")
    urns.write(tmp_path / "urns" / f"{plan.stack}.urns", plan)
    return tmp_path


def test_the_urn_guard_passes_additions_and_refuses_a_removed_source(stack_config, tmp_path):
    from cloudbridge.plan import evaluate

    config = stack_config("dev")
    config["cloudbridge:retainData"] = True
    before = evaluate("dev", config)
    removed = config["cloudbridge:sources"].pop()["name"]
    workspace = _workspace(tmp_path, before)
    with using(workspace):
        after = evaluate("dev", config)
        [message] = stack_checks.urn_guard(after)
        assert urns.guard("dev", before)[1] is None
    assert "python -m cloudbridge urns accept --stack dev" in message
    assert f"retained  aws:s3/bucket:Bucket  {removed}-raw" in message
    assert f"DELETED   aws:s3/bucket:Bucket  {removed}-landing" in message
    # Accepting rewrites the record: the same plan then passes.
    urns.write(workspace / "urns" / "dev.urns", after)
    with using(workspace):
        assert stack_checks.urn_guard(after) == []
        assert stack_checks.urn_guard(before) == []  # re-adding is an addition


def test_a_stack_without_retention_says_what_is_deleted(plans, stack_config, tmp_path):
    from cloudbridge.plan import evaluate

    config = stack_config("dev")  # dev keeps no data
    removed = config["cloudbridge:sources"].pop()["name"]
    workspace = _workspace(tmp_path, plans("dev"))
    with using(workspace):
        [message] = stack_checks.urn_guard(evaluate("dev", config))
    assert f"DELETED   aws:s3/bucket:Bucket  {removed}-raw" in message and "retainData is off" in message
