"""What ``pulumi up`` does to a running replication when a stack changes, and ``plan --against``.

The data: for each DMS resource type the program declares, the arguments whose change
replaces the resource (terraform-provider-aws ``ForceNew`` / ``CustomizeDiff`` in
``internal/service/dms/*.go``, the code pulumi-aws bridges) and what an in-place update
does (the provider's update function: stop, modify, resume). ``docs/replacement.md`` is
generated from it (``python -m cloudbridge.replacement``; ``--check`` in the tests).

``impact(before, after)`` compares two evaluated plans and says, per changed argument of a
DMS resource, what the deploy will do to the replication — flagging (``!``) whatever
replaces a replication, reloads tables, stops one, or is refused by DMS while it runs.
Under mocks no provider runs: the evidence is the provider code cited here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudbridge import cli
from cloudbridge.plan import PROJECT_ROOT, Plan
from functions.common.runtime import PARTITION_KEY

DOC = PROJECT_ROOT / "docs" / "replacement.md"
TF = "hashicorp/terraform-provider-aws internal/service/dms/"

CONFIG = "aws:dms/replicationConfig:ReplicationConfig"
TASK = "aws:dms/replicationTask:ReplicationTask"
INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"
ENDPOINT = "aws:dms/endpoint:Endpoint"
S3_ENDPOINT = "aws:dms/s3Endpoint:S3Endpoint"
SUBNET_GROUP = "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup"
CATALOG_TABLE = "aws:glue/catalogTable:CatalogTable"
# A change table's partition projection format: which layout its source's raw history has.
PROJECTION_FORMAT = f"projection.{PARTITION_KEY}.format"

# What each effect means for the data; "flag" effects are marked with ! in plan's output.
REPLACE, RESUME, REFUSED, BUSY, MODIFY, MAINTENANCE, NONE = (
    "replace",
    "stop-resume",
    "refused",
    "refused-while-running",
    "modify",
    "maintenance",
    "none",
)
DELETE, CREATE, LAYOUT = "delete", "create", "layout"
MEANING = {
    REPLACE: "REPLACES the resource (delete, create)",
    RESUME: "STOPS the running replication, modifies it, resumes it from its stop position (resume-processing)",
    REFUSED: "is REFUSED by DMS once the replication has started: the provider stops it first, so a failed update "
    "leaves it stopped",
    BUSY: "ModifyEndpoint while a replication using the endpoint runs: DMS refuses it (terraform-provider-aws "
    "issue #27661, why aws_dms_endpoint gained pause_replication_tasks in PR #34316; the program leaves that off and "
    "the S3 endpoint has none), so the deploy fails and the replication keeps running untouched: stop the "
    "replication, deploy, resume it (docs/replacement.md, 'Changing an endpoint')",
    MODIFY: "modified in place (ModifyReplicationSubnetGroup); the provider stops nothing",
    MAINTENANCE: "modified in place at the next maintenance window (the provider sends ApplyImmediately false)",
    NONE: "no API call that touches the replication (tags, provider-side switches)",
    DELETE: "DELETES the resource (its declaration is gone); the files it wrote stay in S3",
    CREATE: "creates the resource; a new replication full-loads its tables",
    LAYOUT: "changes how the source's raw history is partitioned (rawHistoryPartition): the files already written "
    "stay under the old folders, outside the new partition projection, so every view would silently lose them; "
    "REFUSED (docs/replacement.md, 'Changing the partition layout')",
}
FLAGGED = (REPLACE, RESUME, REFUSED, BUSY, DELETE, LAYOUT)
# What plan --against exits 1 for: a deploy that would fail and leave a replication stopped, or
# one that would lose history.
BLOCKING = (REFUSED, LAYOUT)


@dataclass(frozen=True)
class Source:
    """The provider file a resource type's row was read from, at which stored version."""

    file: str
    version: str
    update: str  # what the update function does, in the provider's own steps


@dataclass(frozen=True)
class Resource:
    """One DMS resource type: its provider source, what forces replacement, what the rest does."""

    source: Source
    force_new: Mapping[str, str]  # pulumi argument -> where the provider says so
    default: str  # the effect of changing any other argument
    effects: Mapping[str, str]  # pulumi argument -> effect, where it differs from the default
    replacement: str  # what replacing this resource does to the replication's data


READ_AT = (
    "Versions read through the search index (a full clone is over the fetch limit): replication_config.go at "
    "commit 5eec3474827020133473b40f45457050d797122a (header 'Copyright IBM Corp. 2014, 2026', the v6 series that "
    "pulumi-aws 7.x bridges; its arguments are exactly pulumi-aws 7.51.1's). For the other files no v6 copy was "
    "reachable: they were read at the newest versions the index returned (named per type, aws-sdk-go-v2 except "
    "the subnet group's), so a ForceNew added or dropped since then is not reflected here. A test checks that "
    "every argument named here is one of pulumi-aws 7.51.1's."
)

RESOURCES: dict[str, Resource] = {
    CONFIG: Resource(
        Source(
            "replication_config.go",
            "5eec3474827020133473b40f45457050d797122a",
            "resourceReplicationConfigUpdate: any change but tags/start_replication -> stopReplication, "
            "ModifyReplicationConfig, then startReplication, which sends StartReplicationType resume-processing "
            "(status is not 'ready' after a stop) -- but ModifyReplicationConfig (DMS API reference) 'can only modify "
            "a replication configuration before any replication that uses it has started ... even if you stop it'; "
            "provider issue hashicorp/terraform-provider-aws#35650 reports exactly that failure",
        ),
        {
            "replicationConfigIdentifier": "ForceNew",
            "resourceIdentifier": "ForceNew",
            "computeConfig.replicationSubnetGroupId": "ForceNew",
            "computeConfig.kmsKeyId": "ForceNew",
            "computeConfig.availabilityZone": "ForceNew",
        },
        REFUSED,
        {"tags": NONE, "startReplication": RESUME},
        "a new replication config starts with start-replication: the full load of EVERY table runs again "
        "(TargetTablePrepMode DO_NOTHING keeps the old files, so each table's history holds a second full load)",
    ),
    TASK: Resource(
        Source(
            "replication_task.go",
            "index id 1715034849 (aws-sdk-go-v2, with MoveReplicationTask; arguments = pulumi-aws 7.51.1's)",
            "resourceReplicationTaskUpdate: any change but tags/replication_instance_arn/start_replication_task -> "
            "stopReplicationTask, ModifyReplicationTask (migration type and table mappings always sent, settings "
            "when changed), wait, startReplicationTask with resume-processing (status 'stopped', not 'ready'); "
            "a new replication_instance_arn -> stop, MoveReplicationTask, start",
        ),
        {
            "replicationTaskId": "ForceNew",
            "resourceIdentifier": "ForceNew",
            "sourceEndpointArn": "ForceNew",
            "targetEndpointArn": "ForceNew",
        },
        RESUME,
        {"tags": NONE, "startReplicationTask": RESUME},
        "a new task starts with start-replication: the full load of EVERY table runs again",
    ),
    INSTANCE: Resource(
        Source(
            "replication_instance.go",
            "commit 437126e800b0b328e7e12e959377bb6ce6510b4a (pulumi-aws 7.51.1 also has dns_name_servers and "
            "kerberos_authentication_settings, which the program does not set)",
            "resourceReplicationInstanceUpdate: ModifyReplicationInstance with ApplyImmediately = apply_immediately "
            "(unset: false, so the change waits for the maintenance window); for an engine upgrade the user guide "
            "says DMS stops the instance's tasks itself and they must be started again if stopped by hand",
        ),
        {
            "replicationInstanceId": "ForceNew",
            "kmsKeyArn": "ForceNew",
            "publiclyAccessible": "ForceNew",
            "replicationSubnetGroupId": "ForceNew",
            "availabilityZone": "ForceNew",
        },
        MAINTENANCE,
        {"tags": NONE},
        "the task's replication_instance_arn changes: the provider moves the task (stop, MoveReplicationTask, "
        "start with resume-processing); the fixed replicationInstanceId makes create-before-delete collide",
    ),
    ENDPOINT: Resource(
        Source(
            "endpoint.go",
            "index id 1746514373 (aws-sdk-go-v2, has pause_replication_tasks; pulumi-aws 7.51.1 adds "
            "mysql_settings and oracle_settings)",
            "resourceEndpointUpdate: ModifyEndpoint; running tasks are stopped first only with "
            "pause_replication_tasks (the program leaves it false). For postgres it sends database name and "
            "secrets when they change, not postgres_settings (in the version read)",
        ),
        {"endpointId": "ForceNew", "kmsKeyArn": "ForceNew"},
        BUSY,
        {"tags": NONE},
        "the replication's sourceEndpointArn changes: a task is replaced (ForceNew), a started config refuses it",
    ),
    S3_ENDPOINT: Resource(
        Source(
            "s3_endpoint.go",
            "commit 4ca4fcddfe3b4845d46246e1f734061762e60e27 (aws-sdk-go-v2; arguments = pulumi-aws 7.51.1's)",
            "resourceS3EndpointUpdate: ModifyEndpoint with the whole S3Settings; nothing is stopped (the resource has "
            "no pause_replication_tasks)",
        ),
        {"endpointId": "ForceNew", "kmsKeyArn": "ForceNew", "ignoreHeaderRows": "ForceNew"},
        BUSY,
        {"tags": NONE},
        "the replication's targetEndpointArn changes: a task is replaced (ForceNew), a started config refuses it",
    ),
    SUBNET_GROUP: Resource(
        Source(
            "replication_subnet_group.go",
            "commit 97f5b48aaddeec58b3ff5e645ff26f391e8eae59 (arguments = pulumi-aws 7.51.1's)",
            "resourceReplicationSubnetGroupUpdate: ModifyReplicationSubnetGroup with the subnet IDs",
        ),
        {"replicationSubnetGroupId": "ForceNew"},
        MODIFY,
        {"tags": NONE},
        "the config's computeConfig.replicationSubnetGroupId (ForceNew) and the instance's (ForceNew) change: "
        "both are replaced, and with them the full load of every table",
    ),
}


@dataclass(frozen=True)
class Change:
    """One changed argument of one DMS resource and what the deploy does about it."""

    type: str
    name: str
    argument: str
    effect: str
    note: str = ""

    @property
    def flagged(self) -> bool:
        """Whether it replaces, stops or is refused (marked ! in plan's output)."""
        return self.effect in FLAGGED

    def line(self) -> str:
        """The plan line."""
        mark = "!" if self.flagged else " "
        note = f"; {self.note}" if self.note else ""
        return f"{mark} {self.type.split(':')[-1]} {self.name}: {self.argument} {MEANING[self.effect]}{note}"


def effect(type_: str, argument: str) -> str:
    """What changing ``argument`` of a resource of ``type_`` does."""
    resource = RESOURCES[type_]
    if argument in resource.force_new:
        return REPLACE
    return resource.effects.get(argument, resource.default)


def _changed(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(before) | set(after))
    out = []
    for key in keys:
        a, b = before.get(key), after.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += _changed(a, b, f"{prefix}{key}.")
        elif _normal(a) != _normal(b):
            out.append(f"{prefix}{key}")
    return out


def _normal(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _selected_tables(mappings: Any) -> set[str]:
    rules = (_normal(mappings) or {}).get("rules", []) if mappings else []
    return {
        f"{r['object-locator'].get('schema-name')}.{r['object-locator'].get('table-name')}"
        for r in rules
        if r.get("rule-type") == "selection" and r.get("rule-action") == "include"
    }


def _table_note(before: Any, after: Any, effect_: str) -> str:
    added = sorted(_selected_tables(after) - _selected_tables(before))
    removed = sorted(_selected_tables(before) - _selected_tables(after))
    bits = []
    if added:
        bits.append(f"tables added: {', '.join(added)}")
    if removed:
        bits.append(f"tables removed: {', '.join(removed)} (their files stay; capture stops)")
    if effect_ == RESUME:
        bits.append(
            "existing tables resume from their stop position and are not reloaded (StartReplicationTaskType "
            "resume-processing); whether DMS full-loads an added table on resume is not documented: check its "
            "table statistics after the deploy and reload that table alone if needed "
            "(python -m cloudbridge reload --table)"
        )
    if effect_ == REFUSED and added:
        bits.append(
            "DMS refuses this once the replication has started: list the added tables as a new addedTables entry "
            "instead (a replication of their own; the started one is untouched)"
        )
    return "; ".join(bits)


def impact(before: Plan, after: Plan) -> list[Change]:
    """What deploying ``after`` over ``before`` does to each DMS resource (matched by type and name)."""
    old = {(r.type, r.name): r for r in before.resources if r.type in RESOURCES and r.custom}
    new = {(r.type, r.name): r for r in after.resources if r.type in RESOURCES and r.custom}
    changes = []
    for key in sorted(set(old) - set(new)):
        changes.append(Change(key[0], key[1], "(declaration)", DELETE))
    for key in sorted(set(new) - set(old)):
        changes.append(Change(key[0], key[1], "(declaration)", CREATE))
    for key in sorted(set(old) & set(new)):
        a, b = old[key].given, new[key].given
        for argument in _changed(a, b):
            kind = effect(key[0], argument)
            note = ""
            if argument == "tableMappings":
                note = _table_note(a.get(argument), b.get(argument), kind)
            elif kind == REPLACE:
                note = RESOURCES[key[0]].replacement
            changes.append(Change(key[0], key[1], argument, kind, note))
    return changes + layout_changes(before, after)


def layout_changes(before: Plan, after: Plan) -> list[Change]:
    """A source's partition layout changed: its change tables' projection format differs (one
    line per old → new format, naming the tables). Glue tables of any source, DMS or DynamoDB."""

    def formats(plan: Plan) -> dict[str, str]:
        return {
            r.name: str((r.given.get("parameters") or {}).get(PROJECTION_FORMAT))
            for r in plan.resources
            if r.type == CATALOG_TABLE and r.custom and (r.given.get("parameters") or {}).get(PROJECTION_FORMAT)
        }

    old, new = formats(before), formats(after)
    moved: dict[tuple[str, str, str], list[str]] = {}
    for name in sorted(set(old) & set(new)):
        if old[name] != new[name]:  # grouped by catalog: <source>[-dr]-catalog-<schema>-<table>
            moved.setdefault((name.split("-catalog-")[0], old[name], new[name]), []).append(name)
    changes = []
    for (catalog, a, b), names in sorted(moved.items()):
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        note = (
            f"{a} -> {b}; keep rawHistoryPartition as it is for a source with history, or add the source again "
            "under a new name with the new layout (docs/replacement.md, 'Changing the partition layout')"
        )
        changes.append(Change(CATALOG_TABLE, f"{catalog}: {shown}", f"parameters.{PROJECTION_FORMAT}", LAYOUT, note))
    return changes


def baseline_config(stack: str, against: str) -> dict[str, Any] | None:
    """The ``config:`` of the stack as it was: a stack file path, or a git ref to read the stack's file at
    (None: the ref exists but has no such stack file, so the stack is new there)."""
    import yaml

    from cloudbridge.plan import stack_file

    path = Path(against)
    if path.is_file():
        text = path.read_text()
    else:
        current = stack_file(stack).resolve()
        done = subprocess.run(
            ["git", "-C", str(current.parent), "show", f"{against}:./{current.name}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            from cloudbridge.cli import CommandError

            ref = subprocess.run(
                ["git", "-C", str(current.parent), "rev-parse", "--verify", "--quiet", f"{against}^{{commit}}"],
                capture_output=True,
                check=False,
            )
            if ref.returncode == 0:
                return None

            raise CommandError(f"--against {against}: neither a file nor a git ref with {current.name}")
        text = done.stdout
    return dict((yaml.safe_load(text) or {}).get("config") or {})


def report(before: Plan, after: Plan) -> list[str]:
    """plan's lines for the DMS changes, flagged ones first marked !."""
    changes = impact(before, after)
    if not changes:
        return ["replication impact: no DMS resource changes"]
    flagged = sum(c.flagged for c in changes)
    head = (
        f"replication impact: {len(changes)} DMS and layout changes, {flagged} replace, stop, are refused while "
        "running or lose history"
    )
    return [head] + [c.line() for c in changes] + ["  (what each does and why: docs/replacement.md)"]


# --- docs/replacement.md --------------------------------------------------------------------


def render() -> str:
    """docs/replacement.md."""
    lines = [
        "# What `pulumi up` does to a running replication",
        "",
        "Generated by `python -m cloudbridge.replacement` from `cloudbridge/replacement.py`; a test fails when it is",
        "out of date. `python -m cloudbridge plan --stack S --against <stack file or git ref>` (and `--diff A B`)",
        "lists each DMS change with these effects and marks with `!` what replaces a replication, stops it or is",
        "refused while it runs. Under mocks no provider runs: the evidence is the provider code named per row.",
        "",
        f"Source: {TF}*.go. {READ_AT}",
        "",
    ]
    for type_, resource in RESOURCES.items():
        lines += [f"## {type_.split(':')[-1]} (`{type_}`)", ""]
        lines += [f"Read: `{resource.source.file}` at {resource.source.version}.", ""]
        lines += [f"In-place update: {resource.source.update}.", ""]
        lines += ["| argument | change does | evidence |", "| --- | --- | --- |"]
        for argument, why in resource.force_new.items():
            lines.append(f"| `{argument}` | **replace** | `{why}` in `{resource.source.file}` |")
        for argument, kind in resource.effects.items():
            lines.append(f"| `{argument}` | {MEANING[kind]} | update function |")
        lines.append(f"| any other | {MEANING[resource.default]} | update function |")
        lines += ["", f"Replacing it: {resource.replacement}.", ""]
    lines += _changing_an_endpoint()
    lines += _changing_the_layout()
    lines += _adding_a_table()
    return "\n".join(lines).rstrip() + "\n"


def _changing_an_endpoint() -> list[str]:
    return [
        "## Changing an endpoint",
        "",
        "A source or landing endpoint setting (sslMode, `compression`, the CDC file interval and size, ...) is",
        "sent with ModifyEndpoint. DMS refuses to modify an endpoint that a running replication uses; the",
        "provider stops the tasks first only on `aws_dms_endpoint` with `pause_replication_tasks`, which the",
        "program leaves off (its resume skips a task whose endpoint test is still running, provider issue",
        "#46139), and `aws_dms_s3_endpoint` has no such switch. Nothing is stopped, so a refused deploy leaves",
        "the replication running as it was. To make the change: stop the replication",
        "(`aws dms stop-replication --replication-config-arn <arn>` / `aws dms stop-replication-task",
        "--replication-task-arn <arn>`), deploy, then resume it from where it stopped",
        "(`aws dms start-replication --start-replication-type resume-processing ...` /",
        "`aws dms start-replication-task --start-replication-task-type resume-processing ...`). A serverless",
        "config's own settings stay unchangeable (above); its endpoints are separate resources. New files",
        "follow the new settings; files already written keep theirs (the validator reads both compressions).",
        "",
    ]


def _changing_the_layout() -> list[str]:
    return [
        "## Changing the partition layout",
        "",
        "`rawHistoryPartition` (day or hour) decides the folders of a source's raw history: the S3 endpoint's",
        "DatePartitionSequence (YYYYMMDD or YYYYMMDDHH), the validator's dating of full-load files, the markers,",
        "the DynamoDB converters' files, and each change table's partition projection (`yyyy/MM/dd` or",
        "`yyyy/MM/dd/HH`). The projection lists one layout only: after a change, every file written before it",
        "sits outside the projection, and the change tables, the current-state views and a compaction rebuild",
        "would read as if that history never existed. So `plan --against` marks the change (`!`, the",
        "`projection.dt.format` of the change tables) and exits 1, and the validator quarantines a CDC file",
        "under the other layout's folders (UNRECOGNIZED_KEY) instead of storing it where nothing reads it.",
        "Choose the layout when a source is added. To move a source with history to the other one, add it",
        "again under a new name with the new layout (its own buckets, a full load), let both run until the new",
        "one is loaded, then remove the old source (its buckets are retained).",
        "",
    ]


def _adding_a_table() -> list[str]:
    return [
        "## Adding a table",
        "",
        "A table added to `tables` changes only the replication's `tableMappings` (one more selection rule):",
        "",
        "- **instance mode** (ReplicationTask): stop, ModifyReplicationTask, resume-processing. Existing tables keep",
        "  their CDC position and are not reloaded (StartReplicationTaskType, DMS API reference: resume-processing",
        '  "replicate[s] the changes from the last stop position"; only reload-target loads all tables again).',
        "  Whether DMS full-loads the added table on resume is not documented in the sources read: after the",
        "  deploy, check the table's statistics and reload that one table if it has no full load",
        "  (`python -m cloudbridge reload --table schema.table`; with TargetTablePrepMode DO_NOTHING nothing",
        "  else is touched).",
        "- **serverless** (ReplicationConfig): DMS refuses to modify a config whose replication has started, even",
        "  stopped (ModifyReplicationConfig, DMS API reference; provider issue #35650); the provider stops the",
        "  replication before the refused call, so such a deploy would fail and leave it stopped. So a table is",
        "  never added to a started config: list it in a new `addedTables` entry of the source",
        "  (`addedTables: [[public.refunds]]`). Each entry is a replication config of its own",
        "  (`cb-<env>-<source>-set<n>`) that full-loads only its tables into the same landing bucket, Glue",
        "  database and views; the first config's arguments stay byte-identical, so the deploy does not touch it",
        "  (tests/program/test_table_sets.py). Each config holds its own replication slot on a PostgreSQL source",
        "  (count them against `max_replication_slots`) and its own capacity. `plan --against` flags a table added",
        "  to `tables` of a serverless source and says to use `addedTables`. To fold the sets into one later,",
        "  move every table into `tables` and replace the first config on purpose (`pulumi up --replace <URN>`):",
        "  that re-runs the full load of every table, as a new generation each.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """Write docs/replacement.md, or with --check exit 1 when it is out of date."""
    parser = argparse.ArgumentParser(prog="python -m cloudbridge.replacement", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/replacement.md is out of date")
    args = parser.parse_args(argv)
    return cli.generated_file(DOC, render(), args.check, "python -m cloudbridge.replacement")


if __name__ == "__main__":
    sys.exit(main())
