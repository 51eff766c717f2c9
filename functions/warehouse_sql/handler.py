"""Runs the warehouse's SQL (schemas and current-state views) through the Redshift Data API.

The program invokes this function once per source whenever that source's SQL changes (an
``aws.lambda_.Invocation``), so the SQL lives in the program and nothing about it sits in
the stack state that expires: Data API statement records disappear after a day, which
would make a resource per statement look deleted at every later refresh. Every statement
is idempotent (``IF NOT EXISTS``, ``OR REPLACE``), so running it again is harmless.

Statements run in order, each awaited; the first that does not finish raises with its
position, its first line and Redshift's error, which fails the invocation and so the
deploy. Redshift replaces a view only by one with the same column names and types, so when
a ``CREATE OR REPLACE VIEW`` fails (a column added or removed by schema evolution), the
view is dropped and created again through BatchExecuteStatement, whose statements run as
one transaction (all or nothing: readers never see it missing); only if that fails too
does the deploy fail. Replacing first keeps the view's owner and grants when it can (a
recreated view loses its grants: grant through the schema's default privileges).

The SQL goes to Redshift as the workgroup's admin user through the admin secret Redshift
keeps in Secrets Manager; no credential passes through here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import boto3

STATEMENT_NAME = "cloudbridge-warehouse"
POLL_SECONDS = 1.0
STATEMENT_TIMEOUT_SECONDS = 300  # DDL on views takes seconds; a stuck statement fails the deploy
DONE = ("FINISHED", "FAILED", "ABORTED")


class StatementError(RuntimeError):
    """A statement did not finish: the deploy fails with Redshift's reason."""


def run(
    client: Any,
    workgroup: str,
    database: str,
    secret_arn: str,
    statements: list[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Run ``statements`` one after another; returns their Data API ids."""
    target = {"WorkgroupName": workgroup, "Database": database, "SecretArn": secret_arn}
    ids = []
    for position, sql in enumerate(statements, start=1):
        statement = client.execute_statement(**target, Sql=sql, StatementName=STATEMENT_NAME)
        ids.append(statement["Id"])
        described = _await(client, statement["Id"], sleep, clock)
        recreate = recreate_view(sql)
        if described["Status"] == "FAILED" and recreate:
            batch = client.batch_execute_statement(**target, Sqls=recreate, StatementName=STATEMENT_NAME)
            ids.append(batch["Id"])
            first = described.get("Error", "no reason given")
            described = _await(client, batch["Id"], sleep, clock)
            if described["Status"] != "FINISHED":
                described["Error"] = f"{described.get('Error', 'no reason given')} (replacing it first: {first})"
        if described["Status"] != "FINISHED":
            first_line = sql.strip().splitlines()[0][:120]
            raise StatementError(
                f"statement {position} of {len(statements)} ({first_line}) {described['Status']}: "
                f"{described.get('Error', 'no reason given')}"
            )
    return ids


_REPLACE_VIEW = re.compile(r'^CREATE OR REPLACE VIEW ((?:"(?:[^"]|"")*"\.)?"(?:[^"]|"")*") AS ', re.S)


def recreate_view(sql: str) -> list[str]:
    """DROP and CREATE for a ``CREATE OR REPLACE VIEW`` statement; [] for any other."""
    match = _REPLACE_VIEW.match(sql)
    if not match:
        return []
    return [f"DROP VIEW IF EXISTS {match.group(1)}", "CREATE VIEW " + sql.removeprefix("CREATE OR REPLACE VIEW ")]


def _await(client: Any, statement_id: str, sleep: Callable[[float], None], clock: Callable[[], float]) -> dict:
    """Poll a statement until it is done or times out (then cancel it); its last description."""
    deadline = clock() + STATEMENT_TIMEOUT_SECONDS
    while True:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in DONE:
            return described
        if clock() >= deadline:
            client.cancel_statement(Id=statement_id)
            return {"Status": "TIMED OUT", "Error": f"not finished after {STATEMENT_TIMEOUT_SECONDS} s"}
        sleep(POLL_SECONDS)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: one source's statements."""
    ids = run(
        boto3.client("redshift-data"), event["workgroup"], event["database"], event["secretArn"], event["statements"]
    )
    print(json.dumps({"event": "cloudbridge.warehouse_sql", "source": event.get("source"), "statements": len(ids)}))
    return {"statements": len(ids), "ids": ids}
