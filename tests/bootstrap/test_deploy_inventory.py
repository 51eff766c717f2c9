"""Proof the deploy role can deploy everything the program declares: for every fixture
stack, every call of the call inventory (bootstrap/inventory.py) on the concrete ARN of
every declared resource, with the request context the real call carries, is allowed by the
deploy role's policies (its grants and its guardrails) as the bootstrap declares them."""

import pytest

from bootstrap.inventory import resource_arn_formats, rows, rows_of, types
from cloudbridge.plan import stacks
from tests.bootstrap.deploy_support import Arns, arn_matches_format, context, stack
from tests.support.iam_eval import decide_all

STACKS = stacks()
PHASES = {"create", "read", "update", "tag", "delete"}


def declared(plan):
    return [r for r in plan.resources if r.custom and not r.read]


@pytest.mark.parametrize("name", STACKS)
def test_the_inventory_covers_every_type_the_program_and_its_bootstrap_declare(name):
    s = stack(name)
    missing = {r.type for r in declared(s.program) + declared(s.bootstrap)} - types()
    assert missing == set(), f"no inventory rows for {sorted(missing)}: add them (README, 'Where to add')"


def test_every_row_names_a_real_action_a_phase_and_where_it_was_read():
    for row in rows():
        assert row.phase in PHASES, row
        assert row.source.startswith(("internal/service/", "pulumi-aws")), row
        assert resource_arn_formats(row.action), f"{row.action} is not an IAM action"
        if row.on == "*":
            # "*" only where IAM has nothing narrower, or the resource's ARN does not exist yet.
            assert resource_arn_formats(row.action) == ["*"] or row.phase == "create", row
    assert len({(r.type, r.phase) for r in rows() if r.phase in ("create", "read", "delete")}) >= 3 * 40


@pytest.mark.parametrize("name", STACKS)
def test_the_deploy_role_may_make_every_call_the_program_needs(name):
    s = stack(name)
    arns, deploy = Arns(s), s.deploy
    denied, shapes, checked = [], [], 0
    for r in declared(s.program):
        for row in rows_of(r.type):
            for arn in arns.of(row, r):
                formats = resource_arn_formats(row.action)
                if arn != "*" and not arn_matches_format(arn, formats):
                    shapes.append(f"{row.type} {row.action} on {arn}: IAM authorises it on {formats}")
                ctx = context(s, arns, row, r)
                decision = decide_all(deploy, row.action, arn, ctx)
                checked += 1
                if decision != "allow":
                    denied.append(f"{r.name}: {row.action} on {arn} ({decision}; {row.source})")
    assert shapes == [], "\n".join(shapes)
    assert denied == [], f"{len(denied)} of {checked} calls refused:\n" + "\n".join(sorted(set(denied)))
    assert checked > 500


@pytest.mark.parametrize("name", STACKS)
def test_the_program_roles_stay_within_the_boundary(name):
    """Every role the program declares carries the boundary, and the boundary allows all its policy grants."""
    import json

    from tests.support.iam_eval import decide

    s = stack(name)
    roles = s.program.of_type("aws:iam/role:Role")
    assert roles and all(r.inputs.get("permissionsBoundary") == s.boundary_arn for r in roles), [
        (r.name, r.inputs.get("permissionsBoundary")) for r in roles
    ]
    outside = []
    for policy in s.program.of_type("aws:iam/rolePolicy:RolePolicy"):
        for st in json.loads(policy.inputs["policy"])["Statement"]:
            for action in st["Action"]:
                for resource in st["Resource"]:
                    ctx = {"aws:RequestedRegion": s.region, "aws:ResourceTag/cloudbridge:environment": s.environment}
                    if decide(s.boundary, {}, action, resource, ctx) != "allow":
                        outside.append(f"{policy.name}: {action} on {resource}")
    assert outside == [], "the boundary cuts what a program role needs:\n" + "\n".join(outside)


def test_the_deploy_role_may_deploy_added_table_sets_and_cdc_only_starts():
    """Source options that add DMS resources or arguments (a serverless ``addedTables`` set, a
    ``cdcStart`` on either mode) are deployable by the same role: every call on the dev stack
    with them, like the test above (the fixture stacks use neither)."""
    import copy
    import dataclasses

    from cloudbridge.plan import evaluate, read_stack_config

    base = stack("dev")
    config = copy.deepcopy(read_stack_config("dev"))
    sources = config["cloudbridge:sources"]
    serverless = next(s for s in sources if s["replication"]["mode"] == "serverless")
    serverless["addedTables"] = [[serverless["tables"].pop()]]
    for source in sources:
        postgres = source["engine"] == "postgres"
        source["cdcStart"] = (
            {"position": "0/3A0001C8", "slotName": "cloudbridge_start"}
            if postgres
            else {"time": "2026-11-30T23:00:00Z"}
        )
    s = dataclasses.replace(base, program=evaluate("dev", config))
    assert len(s.program.of_type("aws:dms/replicationConfig:ReplicationConfig")) > len(
        base.program.of_type("aws:dms/replicationConfig:ReplicationConfig")
    )
    arns, denied = Arns(s), []
    for r in declared(s.program):
        if not r.type.startswith(("aws:dms/", "aws:cloudwatch/logGroup", "aws:lambda/", "aws:iam/")):
            continue
        for row in rows_of(r.type):
            for arn in arns.of(row, r):
                if decide_all(s.deploy, row.action, arn, context(s, arns, row, r)) != "allow":
                    denied.append(f"{r.name}: {row.action} on {arn}")
    assert denied == [], "\n".join(sorted(set(denied)))
