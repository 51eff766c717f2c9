"""The warehouse SQL function: statements in order, each awaited; the first that does not
finish fails the run (and so the deploy) naming itself; its role allows what it calls."""

import json

import boto3
import pytest

from cloudbridge.plan import evaluate
from functions.warehouse_sql import handler as sql
from tests.lambdas.test_least_privilege import Recorder
from tests.support.iam_eval import decide

WORKGROUP, DATABASE = "cb-preprod-warehouse", "analytics"
SECRET = "arn:aws:secretsmanager:eu-west-2:222222222222:secret:redshift!cb-preprod-warehouse-cbadmin-Ab12Cd"
STATEMENTS = [
    'CREATE SCHEMA IF NOT EXISTS "sales"',
    'CREATE OR REPLACE VIEW "sales"."t" AS SELECT 1 WITH NO SCHEMA BINDING',
]


class DataApi:
    """moto's Data API (which validates every call against the API model), whose statements
    then report the statuses given here one poll at a time (moto leaves them STARTED)."""

    def __init__(self, statuses, errors=()):
        self.errors, self.local_calls = list(errors), []  # calls moto cannot take, made here
        self.client = boto3.client("redshift-data", region_name="eu-west-2")
        self.statuses, self.polls, self.cancelled, self.batches = list(statuses), 0, [], []

    def execute_statement(self, **kwargs):
        return self.client.execute_statement(**kwargs)

    def describe_statement(self, **kwargs):
        batch = kwargs["Id"].startswith("batch-")
        described = {"Id": kwargs["Id"]} if batch else self.client.describe_statement(**kwargs)
        self.polls += 1
        status = self.statuses.pop(0) if self.statuses else "STARTED"
        described["Status"] = status
        if status == "FAILED":
            described["Error"] = self.errors.pop(0) if self.errors else 'ERROR: relation "x" does not exist'
        return described

    def batch_execute_statement(self, **kwargs):
        """moto lacks BatchExecuteStatement: the call is validated against the API model here."""
        from botocore.validate import validate_parameters

        validate_parameters(kwargs, self.client.meta.service_model.operation_model("BatchExecuteStatement").input_shape)
        self.batches.append(kwargs["Sqls"])
        self.local_calls.append(("redshift-data", "BatchExecuteStatement", kwargs))
        return {"Id": f"batch-{len(self.batches)}"}

    def cancel_statement(self, **kwargs):
        self.cancelled.append(kwargs["Id"])
        if kwargs["Id"].startswith("batch-"):
            self.local_calls.append(("redshift-data", "CancelStatement", kwargs))
        return {"Status": True} if kwargs["Id"].startswith("batch-") else self.client.cancel_statement(**kwargs)


def test_statements_run_in_order_each_awaited(aws):
    api = DataApi(["STARTED", "FINISHED", "SUBMITTED", "STARTED", "FINISHED"])
    slept = []
    ids = sql.run(api, WORKGROUP, DATABASE, SECRET, STATEMENTS, sleep=slept.append)
    assert len(ids) == 2 and api.polls == 5 and len(slept) == 3
    ran = [api.client.describe_statement(Id=i)["QueryString"] for i in ids]
    assert ran == STATEMENTS


def test_a_failing_statement_stops_the_run_naming_itself_and_redshifts_reason(aws):
    api = DataApi(["FAILED"])
    with pytest.raises(sql.StatementError) as info:
        sql.run(api, WORKGROUP, DATABASE, SECRET, STATEMENTS, sleep=lambda s: None)
    message = str(info.value)
    assert "statement 1 of 2" in message and 'CREATE SCHEMA IF NOT EXISTS "sales"' in message
    assert "FAILED" in message and "does not exist" in message
    assert api.polls == 1, "nothing after the failing statement runs"


def test_a_stuck_statement_is_cancelled_and_fails_the_run(aws):
    api = DataApi([])  # never finishes
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(sql.StatementError, match="TIMED OUT"):
        sql.run(api, WORKGROUP, DATABASE, SECRET, STATEMENTS, sleep=sleep, clock=lambda: now[0])
    assert len(api.cancelled) == 1 and now[0] >= sql.STATEMENT_TIMEOUT_SECONDS


def test_the_handler_takes_what_the_program_sends(aws, monkeypatch):
    plan = evaluate("preprod")
    [invocation] = plan.of_type("aws:lambda/invocation:Invocation")
    payload = json.loads(invocation.given["input"])
    api = DataApi(["FINISHED"] * len(payload["statements"]))
    monkeypatch.setattr(sql.boto3, "client", lambda service: api)
    result = sql.handler(payload, None)
    assert result["statements"] == len(payload["statements"]) > 2


def test_the_sql_role_allows_exactly_what_its_calls_need(aws):
    """Every recorded call is allowed by the role policy the program attaches (taken from the
    program), and the policy grants nothing beyond what the calls and the Data API need."""
    plan = evaluate("preprod")
    api = DataApi(["FINISHED", "STARTED"])
    recorder = Recorder(api.client)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    # the schema finishes; the view cannot be replaced (its columns changed), so it is dropped and
    # created in one batch, which never finishes and is cancelled: every call the function makes
    api.statuses = ["FINISHED", "FAILED"]
    with pytest.raises(sql.StatementError):
        recorder.during(
            lambda: sql.run(api, WORKGROUP, DATABASE, SECRET, STATEMENTS, sleep=sleep, clock=lambda: now[0])
        )
    policy = json.loads(plan.named("warehouse-sql-role-policy", "aws:iam/rolePolicy:RolePolicy").given["policy"])
    workgroup = plan.named("warehouse-workgroup", "aws:redshiftserverless/workgroup:Workgroup").inputs["arn"]
    secret = plan.named("warehouse-namespace", "aws:redshiftserverless/namespace:Namespace").inputs[
        "adminPasswordSecretArn"
    ]
    key = plan.named("key", "aws:kms/key:Key").inputs["arn"]
    me = {"AWS": plan.named("warehouse-sql-role", "aws:iam/role:Role").inputs["arn"]}
    session = {"aws:userid": "AROAEXAMPLE:cb-preprod-warehouse-sql"}
    mine = {**session, "redshift-data:statement-owner-iam-userid": session["aws:userid"]}
    needs = {
        "ExecuteStatement": [("redshift-data:ExecuteStatement", workgroup, session)],
        "BatchExecuteStatement": [("redshift-data:BatchExecuteStatement", workgroup, session)],
        "DescribeStatement": [("redshift-data:DescribeStatement", "*", mine)],
        "CancelStatement": [("redshift-data:CancelStatement", "*", mine)],
    }
    used = set()
    for _, operation, _ in recorder.calls + api.local_calls:
        for action, resource, context in needs[operation]:
            assert decide(policy, me, action, resource, context) == "allow", (action, resource)
            used.add(action)
    assert used == {a for a, _, _ in sum(needs.values(), [])}, "every operation was exercised"
    # The Data API reads the admin secret with the caller's permissions, decrypting it with the stack key.
    assert decide(policy, me, "secretsmanager:GetSecretValue", secret, session) == "allow"
    via = {"kms:ViaService": "secretsmanager.eu-west-2.amazonaws.com"}
    assert decide(policy, me, "kms:Decrypt", key, via) == "allow"
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    needed = used | {"secretsmanager:GetSecretValue", "kms:Decrypt", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert granted == needed, f"granted but not needed: {granted - needed}"
    # ...and only on its own things: another environment's workgroup, someone else's statement.
    other = workgroup.replace(":222222222222:", ":111111111111:")
    assert decide(policy, me, "redshift-data:ExecuteStatement", other, session) == "implicit"
    theirs = {**session, "redshift-data:statement-owner-iam-userid": "AROAOTHER:someone"}
    assert decide(policy, me, "redshift-data:DescribeStatement", "*", theirs) == "implicit"


CHANGED_COLUMNS = "ERROR: cannot change number of columns in view"


def test_a_view_whose_columns_changed_is_dropped_and_created_in_one_transaction(aws):
    """Redshift replaces a view only by one with the same columns: when replacing fails, DROP
    and CREATE run as one BatchExecuteStatement (one transaction), and the run goes on."""
    api = DataApi(["FINISHED", "FAILED", "FINISHED"], errors=[CHANGED_COLUMNS])
    ids = sql.run(api, WORKGROUP, DATABASE, SECRET, STATEMENTS, sleep=lambda s: None)
    view = '"sales"."t"'
    assert api.batches == [[f"DROP VIEW IF EXISTS {view}", f"CREATE VIEW {view} AS SELECT 1 WITH NO SCHEMA BINDING"]]
    assert len(ids) == 3


def test_a_view_that_cannot_be_recreated_either_fails_the_run_with_both_reasons(aws):
    api = DataApi(["FINISHED", "FAILED", "FAILED"], errors=[CHANGED_COLUMNS, "ERROR: permission denied"])
    with pytest.raises(sql.StatementError) as info:
        sql.run(api, WORKGROUP, DATABASE, SECRET, STATEMENTS, sleep=lambda s: None)
    assert "statement 2 of 2" in str(info.value) and "permission denied" in str(info.value)
    assert CHANGED_COLUMNS in str(info.value)


@pytest.mark.parametrize(
    ("statement", "recreate"),
    [
        ('CREATE SCHEMA IF NOT EXISTS "s"', []),
        ('CREATE OR REPLACE VIEW "s"."a"" AS b" AS SELECT 1', ['DROP VIEW IF EXISTS "s"."a"" AS b"',
                                                               'CREATE VIEW "s"."a"" AS b" AS SELECT 1']),
    ],
)  # fmt: skip
def test_only_a_replaceable_view_is_recreated(statement, recreate):
    assert sql.recreate_view(statement) == recreate
