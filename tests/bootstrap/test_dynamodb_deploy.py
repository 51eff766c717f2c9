"""A DynamoDB source (issue #28) is deployable by the deploy role, its functions stay within the
permissions boundary, and what the new grants could be turned to is refused: the call inventory's
rows for the table export and the table read by name (bootstrap/inventory.py), on the dev stack with
a DynamoDB source added, like test_deploy_inventory.py on the fixture stacks (which have none)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from bootstrap.inventory import rows_of
from cloudbridge.plan import evaluate
from components.workspace import metadata_root
from tests.bootstrap.deploy_support import REGION_KEY, TAG, Arns, arn_matches_format, context, stack
from tests.program.test_dynamodb import NAME, with_source, write_metadata
from tests.support.iam_eval import decide, decide_all

EXPORT = "aws:dynamodb/tableExport:TableExport"
GET_TABLE = "aws:dynamodb/getTable:getTable"
EXPORT_ID = "01700000000000-a1b2c3d4"


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metadata") / "metadata"
    shutil.copytree(metadata_root(), folder)
    write_metadata(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLOUDBRIDGE_METADATA_DIR", str(folder))
        return dataclasses.replace(stack("dev"), program=evaluate("dev", with_source()))


class DynamoDbArns(Arns):
    """The inventory's DynamoDB kinds: the table a call names, the export's objects, its key."""

    def self_arn(self, r):
        if r.type == EXPORT:
            return f"{r.inputs['tableArn']}/export/{EXPORT_ID}"
        return super().self_arn(r)

    def of(self, row, r):
        i = r.inputs
        if row.on == "table":
            return [i["tableArn"]]
        if row.on == "export-objects":
            return [f"arn:aws:s3:::{i['s3Bucket']}/{i['s3Prefix']}/AWSDynamoDB/{EXPORT_ID}/data/part.json.gz"]
        if row.on == "key" and r.type == EXPORT:
            return [i["s3SseKmsKeyId"]]
        return super().of(row, r)


def source_resources(s):
    return [r for r in s.program.resources if r.custom and not r.read and r.name.startswith(f"{NAME}-")]


def test_the_deploy_role_may_make_every_call_of_the_dynamodb_source(s):
    arns, denied, shapes, checked = DynamoDbArns(s), [], [], 0
    from bootstrap.inventory import resource_arn_formats

    for r in source_resources(s):
        for row in rows_of(r.type):
            for arn in arns.of(row, r):
                if arn != "*" and not arn_matches_format(arn, resource_arn_formats(row.action)):
                    shapes.append(f"{r.name} {row.action} on {arn}")
                checked += 1
                if decide_all(s.deploy, row.action, arn, context(s, arns, row, r)) != "allow":
                    denied.append(f"{r.name}: {row.action} on {arn} ({row.source})")
    assert shapes == [] and denied == [], "\n".join(shapes + sorted(set(denied)))
    assert {r.type for r in source_resources(s)} >= {EXPORT, "aws:lambda/eventSourceMapping:EventSourceMapping"}
    assert checked > 100


@pytest.mark.parametrize("role", ["deploy", "preview"])
def test_both_roles_may_read_the_tables_by_name(s, role):
    """The table is read at every preview and deploy (aws.dynamodb.getTable)."""
    policies = (
        s.deploy
        if role == "deploy"
        else [json.loads(s.bootstrap.named("preview-role-policy", "aws:iam/rolePolicy:RolePolicy").given["policy"])]
    )
    table = s.arn("dynamodb", "table/cart-items")
    for row in rows_of(GET_TABLE):
        assert decide_all(policies, row.action, table, {REGION_KEY: s.region}) == "allow", (role, row.action)


def test_the_dynamodb_functions_stay_within_the_boundary(s):
    outside = []
    for policy in s.program.of_type("aws:iam/rolePolicy:RolePolicy"):
        if not policy.name.startswith(f"{NAME}-dynamodb-"):
            continue
        for st in json.loads(policy.inputs["policy"])["Statement"]:
            for action in st["Action"]:
                for resource in st["Resource"]:
                    if decide(s.boundary, {}, action, resource, {REGION_KEY: s.region}) != "allow":
                        outside.append(f"{policy.name}: {action} on {resource}")
    assert outside == []


def deploy_attacks(s):
    acct, env, region = s.account, s.environment, {REGION_KEY: s.region}
    table = s.arn("dynamodb", "table/payroll")
    tagged = {**region, f"aws:ResourceTag/{TAG}": env}
    return [
        ("export a table not tagged for this environment", "dynamodb:ExportTableToPointInTime", table, region),
        ("export a table tagged for another environment", "dynamodb:ExportTableToPointInTime", table,
         {**region, f"aws:ResourceTag/{TAG}": "prod" if env != "prod" else "dev"}),
        ("write an export into a bucket outside the program", "s3:PutObject",
         "arn:aws:s3:::attacker-exports/AWSDynamoDB/x/data/a.json.gz", region),
        ("write an export into another of the program's buckets", "s3:PutObject",
         f"arn:aws:s3:::cb-{env}-{NAME}-raw-{acct}-{s.region}/dynamodb/orders/forged.parquet", region),
        ("read an export's files", "s3:GetObject",
         f"arn:aws:s3:::cb-{env}-{NAME}-export-{acct}-{s.region}/orders/AWSDynamoDB/x/data/a.json.gz", region),
        ("read a table's items", "dynamodb:Scan", table, tagged),
        ("write a table's items", "dynamodb:PutItem", table, tagged),
        ("turn a table's stream off", "dynamodb:UpdateTable", table, tagged),
        ("turn point-in-time recovery off", "dynamodb:UpdateContinuousBackups", table, tagged),
        ("restore a table elsewhere", "dynamodb:RestoreTableToPointInTime", table, tagged),
        ("delete a table", "dynamodb:DeleteTable", table, tagged),
        ("tag a table for this environment", "dynamodb:TagResource", table,
         {**region, f"aws:RequestTag/{TAG}": env}),
        ("read a table's stream itself", "dynamodb:GetRecords", f"{table}/stream/2024-01-01T00:00:00.000", region),
    ]  # fmt: skip


@pytest.mark.parametrize("name", [a[0] for a in deploy_attacks(stack("dev"))])
def test_the_deploy_role_cannot_turn_the_new_grants_against_the_account(s, name):
    (_, action, resource, ctx) = next(a for a in deploy_attacks(s) if a[0] == name)
    assert decide_all(s.deploy, action, resource, ctx) != "allow", name


def boundary_attacks(s):
    table = s.arn("dynamodb", "table/payroll")
    region = {REGION_KEY: s.region}
    return [
        ("read a table's items", "dynamodb:Scan", table),
        ("read one item", "dynamodb:GetItem", table),
        ("write an item", "dynamodb:PutItem", table),
        ("export a table", "dynamodb:ExportTableToPointInTime", table),
        ("change a table", "dynamodb:UpdateTable", table),
        ("list streams in another region", "dynamodb:ListStreams", "*", {REGION_KEY: "us-east-1"}),
        ("read a stream of another region", "dynamodb:GetRecords",
         f"arn:aws:dynamodb:us-east-1:{s.account}:table/payroll/stream/2024-01-01T00:00:00.000"),
        ("invoke a function outside the program", "lambda:InvokeFunction", s.arn("lambda", "function:payroll-export")),
        ("invoke another environment's function", "lambda:InvokeFunction",
         s.arn("lambda", f"function:cb-{'prod' if s.environment != 'prod' else 'dev'}-basket-dynamodb-export")),
        ("invoke a function in another region", "lambda:InvokeFunction",
         f"arn:aws:lambda:us-east-1:{s.account}:function:cb-{s.environment}-basket-dynamodb-export"),
        ("change a function's code", "lambda:UpdateFunctionCode", s.arn("lambda", f"function:cb-{s.environment}-x")),
    ], region  # fmt: skip


def test_a_function_role_under_the_boundary_can_read_streams_only(s):
    """Whatever the deploy role writes into a converter's policy: streams of this account and region, read,
    and the environment's own functions invoked (nothing else of Lambda)."""
    attacks, region = boundary_attacks(s)
    for name, action, resource, *ctx in attacks:
        assert decide(s.boundary, {}, action, resource, ctx[0] if ctx else region) != "allow", name
    stream = s.arn("dynamodb", "table/orders/stream/2024-01-01T00:00:00.000")
    assert decide(s.boundary, {}, "dynamodb:GetRecords", stream, region) == "allow"
    own = s.arn("lambda", f"function:cb-{s.environment}-basket-dynamodb-export")  # a large export's next link
    assert decide(s.boundary, {}, "lambda:InvokeFunction", own, region) == "allow"
