"""Compaction: one source's Iceberg state tables, kept by scheduled Athena MERGEs.

EventBridge Scheduler starts a Step Functions state machine (``cb-<env>-<source>-compaction``)
with a mode: ``run`` on ``compaction.schedule``, ``sweep`` daily, ``maintain`` weekly. For
each table it runs the statements of ``components/compaction_sql.py`` through Athena's
optimized integration (``startQueryExecution.sync`` waits for each query; ``getQueryResults``
reads the watermark and the plan), fills each next statement's literals from the previous
answer (JSONata), and rewrites the table's current-state view (Glue ``UpdateTable``) with
the new watermark: the view reads the state plus the changes since the tail start. A rebuild
(first run, new generation, new layout) points the view at the full history first, then
drops, recreates and refills the state. ``maintain`` runs OPTIMIZE and VACUUM.

The queries run in the account's analytics workgroup (enforced results location and
encryption, its scan limit: sized for a rebuild, docs/analytics.md). The state tables live in
the account's state bucket under ``<source>/``; the state machine's role may read raw history,
write its source's prefix of the state bucket and the query results, and change only the
source's ``*_state`` tables and ``*_current`` views. No dead-letter queue: a schedule tick
carries nothing the next tick does not redo; a failed execution is seen in Step Functions'
ExecutionsFailed metric, which the source's compaction-failed alarm watches (components/monitoring.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import analytics, iam, views
from components import compaction_sql as csql
from components.naming import Naming
from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata

# The source's ``compaction`` config section (components/config.py, ``Compaction``): its
# schedules, overlapMinutes, lateArrivalDays, reloadHours and snapshotRetentionDays.
CompactionConfig = Any

ATHENA = "arn:aws:states:::athena:"
GLUE_UPDATE_TABLE = "arn:aws:states:::aws-sdk:glue:updateTable"
MAX_CONCURRENCY = 4  # tables compacted at once per source
MAX_DEFINITION = 1_000_000  # Step Functions' largest definition is 1 MiB (about 50 tables)
MODES = {"run": "schedule", "sweep": "sweep_schedule", "maintain": "maintenance_schedule"}
# Athena's own retryable answers, and an Iceberg commit that lost a race (another run, OPTIMIZE).
RETRY = [
    {
        "ErrorEquals": ["Athena.TooManyRequestsException", "Athena.InternalServerException", "States.TaskFailed"],
        "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 4,
    }
]  # fmt: skip


@dataclass(frozen=True)
class CompactionArgs:
    """Inputs of one source's compaction."""

    naming: Naming
    source_name: str
    config: CompactionConfig
    cdc_only: bool
    tables: Sequence[TableMetadata]
    kms_key_arn: pulumi.Input[str]
    raw_history_bucket_arn: pulumi.Input[str]
    # The source's raw-history partitions and how long one file's changes can span (its CDC batch
    # interval): where each window starts (components/compaction_sql.py, Settings).
    layout: Layout = DAY
    file_span_seconds: int = 60


def settings(
    config: CompactionConfig, cdc_only: bool, layout: Layout = DAY, file_span_seconds: int = 60
) -> csql.Settings:
    """The SQL's settings from the source's config."""
    return csql.Settings(
        overlap_seconds=config.overlap_minutes * 60,
        late_days=config.late_arrival_days,
        reload_hours=config.reload_hours,
        cdc_only=cdc_only,
        layout=layout,
        file_span_seconds=file_span_seconds,
    )


def _owned(meta: TableMetadata) -> tuple[str, str]:
    """The Glue tables a run changes: the table's state table and its view."""
    names = csql.Names("", Naming.glue_table(meta.schema, meta.table))
    return names.state, names.view


def compactable(tables: Sequence[TableMetadata]) -> list[TableMetadata]:
    """The tables that get a state table: those with a current-state view (an order and a key)."""
    return [t for t in tables if t.dms.change_sequence and t.primary_key]


def table_item(
    meta: TableMetadata,
    database: str,
    workgroup: str,
    location: str,
    config: CompactionConfig,
    cdc_only: bool,
    layout: Layout = DAY,
    file_span_seconds: int = 60,
) -> dict:
    """What the state machine needs for one table: its statements (templates) and its view."""
    names = csql.Names(database, Naming.glue_table(meta.schema, meta.table))
    sql = settings(config, cdc_only, layout, file_span_seconds)
    view = views.view_table_input(meta, database, names.changes, compacted=True)
    full = {**view}
    compacted = {k: v for k, v in view.items() if k != "ViewOriginalText"}
    return {
        "table": meta.table_id,
        "database": database,
        "workgroup": workgroup,
        "create": csql.create_sql(meta, names, location, snapshot_age_seconds=config.snapshot_retention_days * 86400),
        "drop": csql.drop_sql(names),
        "watermark": csql.watermark_sql(meta, names, sql),
        "plan": csql.plan_sql(meta, names, sql),
        "merge": csql.merge_sql(meta, names),
        "view": csql.view_sql(meta, names),
        "optimize": csql.optimize_sql(names),
        "vacuum": csql.vacuum_sql(names),
        "fullView": full,
        "compactedView": compacted,
        "columns": views.view_columns(meta),
    }


# --- the state machine (Amazon States Language, JSONata) -------------------------------------

# Fill a template's {{name}} placeholders from an object's fields, quotes doubled.
RENDER = (
    "function($template, $values){ $reduce($keys($values), function($sql, $key){ "
    "$replace($sql, '{{' & $key & '}}', $replace($string($lookup($values, $key)), \"'\", \"''\")) }, $template) }"
)
# The first row of a getQueryResults answer as {column: value} (a NULL as '').
ROW = (
    "function($result){ $merge($map($result.ResultSet.Rows[0].Data, function($h, $i){ "
    "{ $h.VarCharValue: ($v := $result.ResultSet.Rows[1].Data[$i].VarCharValue; $exists($v) ? $v : '') } })) }"
)
# The execution's start, floored to the second, as DMS timestamp text (UTC).
CUT = "$fromMillis($toMillis($states.context.Execution.StartTime), '[Y0001]-[M01]-[D01] [H01]:[m01]:[s01]') & '.000000'"


def _query(sql: str, then: str | None, *, assign: dict | None = None, output: str | None = None) -> dict:
    """An Athena query state that waits for the query (``.sync``)."""
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": ATHENA + "startQueryExecution.sync",
        "Arguments": {
            "QueryString": sql,
            "WorkGroup": "{% $t.workgroup %}",
            "QueryExecutionContext": {"Database": "{% $t.database %}"},
        },
        "Retry": RETRY,
    }
    if assign:
        state["Assign"] = assign
    if output:
        state["Output"] = output
    return {**state, **({"Next": then} if then else {"End": True})}


def _results(into: str, then: str) -> dict:
    """Read a finished query's one row into a variable."""
    return {
        "Type": "Task",
        "Resource": ATHENA + "getQueryResults",
        "Arguments": {"QueryExecutionId": "{% $states.input.QueryExecution.QueryExecutionId %}"},
        "Assign": {into: "{% (" + ROW + ")($states.result) %}"},
        "Next": then,
    }


def _view(table_input: str, then: str | None) -> dict:
    """Replace the table's current-state view (the Glue table Athena reads it from)."""
    state = {
        "Type": "Task",
        "Resource": GLUE_UPDATE_TABLE,
        "Arguments": {"DatabaseName": "{% $t.database %}", "TableInput": table_input},
    }
    return {**state, **({"Next": then} if then else {"End": True})}


def _table_states() -> dict:
    """One table's run: watermark, plan, then merge or rebuild, then the view; or maintenance."""
    render = "(" + RENDER + ")"
    plan_values = "$merge([$w, {'cut': $cut, 'mode': $mode}])"
    merge_values = (
        "{'from_dt': $p.from_dt, 'from_ts': $p.from_ts, 'gen_start': $p.gen_start, 'gen_end': $p.gen_end, "
        "'tail_ts': $p.tail_ts, 'cut': $cut}"
    )
    view_values = "{'tail_dt': $p.tail_dt, 'tail_ts': $p.tail_ts, 'gen_start': $p.gen_start, 'gen_end': $p.gen_end}"
    encoded = (
        "{% $merge([$t.compactedView, {'ViewOriginalText': '/* Presto View: ' & $base64encode($string("
        "{'originalSql': " + render + "($t.view, " + view_values + "), 'catalog': 'awsdatacatalog', "
        "'schema': $t.database, 'columns': $t.columns})) & ' */'}]) %}"
    )
    start = {"t": "{% $states.input.table %}", "mode": "{% $states.input.mode %}", "cut": "{% " + CUT + " %}"}
    return {
        "Maintain?": {
            "Type": "Choice",
            "Assign": start,
            "Choices": [{"Condition": "{% $states.input.mode = 'maintain' %}", "Next": "Optimize"}],
            "Default": "Create",
        },
        "Optimize": _query("{% $t.optimize %}", "Vacuum"),
        "Vacuum": _query("{% $t.vacuum %}", None),
        "Create": _query("{% $t.create %}", "Watermark"),
        "Watermark": _query("{% " + render + "($t.watermark, {'cut': $cut, 'mode': $mode}) %}", "ReadWatermark"),
        "ReadWatermark": _results("w", "Plan"),
        "Plan": _query("{% " + render + f"($t.plan, {plan_values}) %}}", "ReadPlan"),
        "ReadPlan": _results("p", "Decide"),
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $p.mode = 'merge' %}", "Next": "Merge"},
                {"Condition": "{% $p.mode = 'rebuild' %}", "Next": "FullView"},
            ],
            "Default": "Wait",  # no marker yet: the view stays the full one
        },
        "Wait": {"Type": "Succeed"},
        "FullView": _view("{% $t.fullView %}", "Drop"),
        "Drop": _query("{% $t.drop %}", "Recreate"),
        "Recreate": _query("{% $t.create %}", "Merge"),
        "Merge": _query("{% " + render + f"($t.merge, {merge_values}) %}}", "View"),
        "View": _view(encoded, None),
    }


def definition(items: list[dict]) -> dict:
    """The state machine: every table of the source, a few at a time, in the mode it was started
    with. No execution timeout: each query is bounded by Athena's DML query timeout."""
    return {
        "Comment": "CloudBridge compaction: Iceberg state tables by Athena MERGE, views over state + tail",
        "QueryLanguage": "JSONata",
        "StartAt": "Tables",
        "States": {
            "Tables": {
                "Type": "Map",
                "Items": items,
                "ItemSelector": {
                    "table": "{% $states.context.Map.Item.Value %}",
                    "mode": "{% $exists($states.input.mode) ? $states.input.mode : 'run' %}",
                },
                "MaxConcurrency": MAX_CONCURRENCY,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Maintain?",
                    "States": _table_states(),
                },
                "End": True,
            }
        },
    }


class Compaction(pulumi.ComponentResource):
    """One source's state machine, its role, its schedules and theirs."""

    state_machine: aws.sfn.StateMachine
    schedules: dict[str, aws.scheduler.Schedule]

    def __init__(self, name: str, args: CompactionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:pipeline:Compaction", name, None, opts)
        self._prefix, self._args = name, args
        naming, source = args.naming, args.source_name
        self._tags = naming.tags(source)
        self._database = naming.glue_database(source)
        self._results_bucket = analytics.results_bucket_name(naming)
        self._state_bucket = analytics.state_bucket_name(naming)
        self._workgroup = analytics.workgroup_name(naming)
        self.state_machine = self._state_machine()
        self.schedules = self._schedules()
        self.register_outputs({"state_machine": self.state_machine.arn})

    @property
    def name(self) -> str:
        """``cb-<env>-<source>-compaction``: the state machine and its role."""
        return self._args.naming.name(self._args.source_name, "compaction")

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN, known before it exists."""
        naming = self._args.naming
        return f"arn:aws:states:{naming.region}:{naming.account_id}:stateMachine:{self.name}"

    def _items(self) -> list[dict]:
        args = self._args
        where = f"s3://{self._state_bucket}/{args.source_name}"
        return [
            table_item(
                meta,
                self._database,
                self._workgroup,
                f"{where}/{meta.schema}/{meta.table}/",
                args.config,
                args.cdc_only,
                args.layout,
                args.file_span_seconds,
            )
            for meta in compactable(args.tables)
        ]

    def _state_machine(self) -> aws.sfn.StateMachine:
        args, naming = self._args, self._args.naming
        role, policy = iam.service_role(
            f"{self._prefix}-role",
            role_name=self.name,
            service="states.amazonaws.com",
            statements=self._statements(),
            account_id=naming.account_id,
            parent=self,
            tags=self._tags,
            description=f"Runs the compaction of {args.source_name}'s state tables (Athena, Glue)",
        )
        body = json.dumps(definition(self._items()))
        if len(body) > MAX_DEFINITION:
            raise ValueError(
                f"{args.source_name}: the compaction state machine would be {len(body):,} characters, Step Functions "
                f"takes at most {MAX_DEFINITION:,}: split the source's tables into two sources or turn compaction off"
            )
        return aws.sfn.StateMachine(
            f"{self._prefix}-state-machine",
            name=self.name,
            role_arn=role.arn,
            type="STANDARD",
            definition=body,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _statements(self) -> list[dict]:
        """What the runs' Athena queries and view updates need (Athena runs them with this role's rights)."""
        return self._catalog_statements() + self._storage_statements()

    def _catalog_statements(self) -> list[dict]:
        naming, database = self._args.naming, self._database
        glue = f"arn:aws:glue:{naming.region}:{naming.account_id}"
        return [
            iam.statement(
                "RunQueries",
                [
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                ],
                [f"arn:aws:athena:{naming.region}:{naming.account_id}:workgroup/{self._workgroup}"],
            ),  # fmt: skip
            iam.statement(
                "UseTheCatalog",
                ["athena:GetDataCatalog"],
                [f"arn:aws:athena:{naming.region}:{naming.account_id}:datacatalog/AwsDataCatalog"],
            ),
            iam.statement(
                "ReadTheSourcesTables",
                ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable", "glue:GetTables"],
                [f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/*"],
            ),
            # Iceberg commits update the state table; a rebuild drops and recreates it; each
            # run rewrites the view. Nothing else in the catalog.
            iam.statement(
                "KeepStateTablesAndViews",
                ["glue:CreateTable", "glue:DeleteTable", "glue:UpdateTable"],
                [f"{glue}:catalog", f"{glue}:database/{database}"]
                + [
                    f"{glue}:table/{database}/{name}"
                    for meta in compactable(self._args.tables)
                    for name in _owned(meta)
                ],
            ),
        ]

    def _storage_statements(self) -> list[dict]:
        args = self._args
        results, state = f"arn:aws:s3:::{self._results_bucket}", f"arn:aws:s3:::{self._state_bucket}"
        return [
            iam.statement(
                "ReadRawHistory", ["s3:GetObject"], [pulumi.Output.concat(args.raw_history_bucket_arn, "/*")]
            ),
            iam.statement("ListRawHistory", ["s3:GetBucketLocation", "s3:ListBucket"], [args.raw_history_bucket_arn]),
            iam.statement(
                "WriteStateTables",
                [
                    "s3:AbortMultipartUpload",
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject",
                ],
                [f"{state}/{args.source_name}/*"],
            ),  # fmt: skip
            iam.statement(
                "ListStateBucket",
                ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                [state],
            ),
            iam.statement(
                "WriteQueryResults",
                ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                [f"{results}/*"],  # the workgroup's enforced result location: the bucket's root
            ),
            iam.statement(
                "ListResultsBucket",
                ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                [results],
            ),
            iam.statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [args.kms_key_arn]),
        ]

    def _schedules(self) -> dict[str, aws.scheduler.Schedule]:
        args, naming = self._args, self._args.naming
        role, policy = iam.service_role(
            f"{self._prefix}-scheduler-role",
            role_name=naming.name(args.source_name, "compaction-schedule"),
            service="scheduler.amazonaws.com",
            statements=[iam.statement("StartCompaction", ["states:StartExecution"], [self.state_machine_arn])],
            account_id=naming.account_id,
            parent=self,
            tags=self._tags,
            description=f"Starts the compaction of {args.source_name} on its schedules",
        )
        schedules = {}
        for mode, field in MODES.items():
            schedules[mode] = aws.scheduler.Schedule(
                f"{self._prefix}-{mode}",
                name=naming.name(args.source_name, "compaction", mode),
                group_name="default",
                description=f"Compaction of {args.source_name}: {mode}",
                schedule_expression=getattr(args.config, field),
                schedule_expression_timezone="UTC",
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=self.state_machine.arn,
                    role_arn=role.arn,
                    input=json.dumps({"mode": mode}),
                    # A start not made within the hour is superseded by the next tick.
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        return schedules
