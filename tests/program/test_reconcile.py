"""reconcile: a source table against its current state, key by key, in checksummed ranges;
the Athena path (the deployed view) through botocore's Stubber."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from cloudbridge import cli, reconcile
from functions.common.metadata import TableMetadata

META = TableMetadata.from_dict(
    {
        "formatVersion": 2, "source": "s", "engine": "postgres", "schema": "public", "table": "t",
        "primaryKey": ["k"], "columns": [{"name": "k", "type": "int32"}, {"name": "v", "type": "string"},
                                         {"name": "on", "type": "bool"}],
    }
)  # fmt: skip


def test_missing_extra_and_different_keys_in_the_ranges_that_differ():
    source = [(k, f"v{k}", True) for k in range(100)]
    current = [r for r in source if r[0] != 7] + [(1000, "updated away", True)]
    current = [(k, "changed", on) if k == 42 else (k, v, on) for k, v, on in current]
    result = reconcile.reconcile(META, source, current, range_size=10)
    assert (result.missing, result.extra, result.different) == ([(7,)], [(1000,)], [(42,)])
    assert result.ranges == 11 and len(result.differing_ranges) == 3 and not result.ok
    lines = result.lines(show=5)
    assert "3 of 11 key ranges differ" in lines[0] and any("key updated away" in line for line in lines)
    assert reconcile.reconcile(META, source, source, range_size=10).ok


def _athena(states, rows):
    client = boto3.client("athena", region_name="eu-west-2")
    stub = Stubber(client)
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q1"},
        {
            "QueryString": 'SELECT * FROM "cb_dev_s"."public__t_current"',
            "QueryExecutionContext": {"Database": "cb_dev_s", "Catalog": "AwsDataCatalog"},
            "WorkGroup": "cb-dev-analytics",
        },
    )
    for state in states:
        status = {"State": state, **({"StateChangeReason": "SYNTAX_ERROR"} if state == "FAILED" else {})}
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": status}}, {"QueryExecutionId": "q1"})
    if rows is not None:
        header = {"Data": [{"VarCharValue": c.name} for c in META.columns]}
        body = [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in rows]
        stub.add_response("get_query_results", {"ResultSet": {"Rows": [header, *body]}}, {"QueryExecutionId": "q1"})
    return client, stub


def test_the_athena_path_reads_the_deployed_view_in_the_stacks_workgroup():
    client, stub = _athena(["RUNNING", "SUCCEEDED"], [("1", "a", "true"), ("2", None, "false")])
    with stub:
        text = reconcile.athena_current(
            client, "cb-dev-analytics", "cb_dev_s", "public__t_current", sleep=lambda s: None
        )
    stub.assert_no_pending_responses()
    assert reconcile.from_text(META, text) == [(1, "a", True), (2, None, False)]


def test_a_failed_athena_query_is_one_line():
    client, stub = _athena(["FAILED"], None)
    with stub, pytest.raises(cli.CommandError, match="FAILED: SYNTAX_ERROR"):
        reconcile.athena_current(client, "cb-dev-analytics", "cb_dev_s", "public__t_current", sleep=lambda s: None)


def test_an_unknown_table_is_a_usage_error(capsys):
    assert reconcile.main(["--stack", "dev", "--source", "sales", "--table", "public.nope"]) == cli.USAGE
    err = capsys.readouterr().err
    assert err.startswith("cloudbridge reconcile: --table public.nope: not a table of 'sales'") and err.count("\n") == 1
