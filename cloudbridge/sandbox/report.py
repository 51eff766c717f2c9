"""The sandbox's report: what it gathers after a run, its verdict and its text.

``build_report`` turns what the run observed (files landed and validated, quarantine,
alerts posted to the webhook, the Lambda log, the current-state comparisons) into one
JSON-able dict whose ``ok`` says whether the pipeline did its job; ``render`` prints it.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from cloudbridge.sandbox.aws import Resources
from functions.common import generations
from functions.common.runtime import ALERT_MARKERS, REASONS_TAG, glue_table_name
from functions.validator.partitions import Partitions


def data_objects(s3: Any, bucket: str):
    """A bucket's files (not the validator's alert markers, nor generation markers: neither landed)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            name = obj["Key"].rsplit("/", 1)[-1]
            if not obj["Key"].startswith(ALERT_MARKERS) and not name.startswith(generations.MARKER_PREFIX):
                yield obj


def count_objects(s3: Any, bucket: str) -> int:
    """Data objects in a bucket (table metadata and markers not counted)."""
    return sum(1 for _ in data_objects(s3, bucket))


def quarantine_state(s3: Any, bucket: str) -> tuple[Counter, Counter]:
    """Quarantined files by table, and their reason codes."""
    reasons: Counter = Counter()
    by_table: Counter = Counter()
    for obj in data_objects(s3, bucket):
        tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=obj["Key"])["TagSet"]}
        reasons.update(tags.get(REASONS_TAG, "?").split())
        by_table[".".join(obj["Key"].split("/")[:2])] += 1
    return by_table, reasons


def unregistered_days(glue: Any, s3: Any, res: Resources) -> list[str]:
    """Raw-history date folders (``<schema>/<table>/YYYY/MM/DD``) with no Glue partition."""
    days = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=res.raw_history):
        days.update(Partitions.of(item["Key"]) for item in page.get("Contents", []))
    missing = []
    for schema, table, day in sorted(days):
        name = glue_table_name(schema, table)
        try:
            glue.get_partition(DatabaseName=res.glue_database, TableName=name, PartitionValues=[day])
        except glue.exceptions.EntityNotFoundException:
            missing.append(f"{name} {day}")
    return missing


def build_report(**k: Any) -> dict[str, Any]:
    """The sandbox report: traffic, files, routing, alerts, lag, replay, partitions and the source comparison."""
    res, s3, dms, sink = k["res"], k["s3"], k["dms"], k["sink"]
    failed_tables, reasons = k["quarantine"]
    still_quarantined = count_objects(s3, res.fail)
    replayed = k["replayed"]
    landed = list(dms.files)  # a reload lands LOAD files under keys an earlier load used
    kinds = Counter(_alert_kind(post) for post in sink.posts)
    by_source: dict[str, Counter] = {}
    for post in sink.posts:  # the sources share the environment's alerts topic
        by_source.setdefault(_alert_source(post), Counter())[_alert_kind(post)] += 1
    tables, ok = _table_verdicts(k["comparisons"], k["expected_differences"])
    ok = ok and k["drained"]
    quarantined_as_expected = failed_tables.keys() <= {"public.products"} and reasons.keys() <= {"UNEXPECTED_COLUMNS"}
    own_failures = by_source.get(k["source"], Counter())["validation failures"]  # this source's, not another's
    ok = ok and quarantined_as_expected and failed_tables["public.products"] >= 1 and own_failures >= 1
    ok = ok and replayed.replayed == sum(failed_tables.values()) and still_quarantined == 0
    return {
        "ok": ok,
        "seconds": round(k["seconds"], 1),
        "transactions": k["transactions"],
        "changes": {
            "inserts": k["workload"].counts.inserts,
            "updates": k["workload"].counts.updates,
            "deletes": k["workload"].counts.deletes,
            "schemaChanges": k["workload"].counts.schema_changes,
            "captured": dms.changes_captured,
        },
        "files": {
            "landed": len(landed),
            "passed": count_objects(s3, res.raw_history) - replayed.replayed,  # on arrival
            "failed": sum(failed_tables.values()),  # quarantined on arrival, before the replay
            "failedByTable": dict(failed_tables),
            "failedReasons": dict(reasons),
            "replayed": replayed.replayed,
            "stillQuarantined": still_quarantined,
            "drained": k["drained"],
        },
        "rowsValidated": sum(f.rows for f in landed if f.key in k["validated_at"]),
        "lagSeconds": _lags(landed, k["validated_at"]),
        "alerts": {
            "sent": len(sink.posts),
            "kinds": dict(kinds),
            "bySource": {source: dict(n) for source, n in sorted(by_source.items())},
        },
        "handlerErrors": {name: errors[:5] for name, errors in k["runners"].items() if errors},
        "lambdaLog": _lambda_log(k["lambda_log"]),
        "glueTables": sorted(k["glue_tables"]),
        "tables": tables,
    }


def _table_verdicts(comparisons: dict, expected_differences: dict) -> tuple[dict[str, Any], bool]:
    """Per table, its comparison and whether it matches the source; and whether all do."""
    tables, ok = {}, True
    for table, comparison in comparisons.items():
        expected = expected_differences.get(table, set())
        unexpected = comparison.differing_keys - expected
        tables[table] = {
            **comparison.to_dict(),
            "expectedDifferences": sorted(list(x) for x in expected),
            "matchesSource": not unexpected,
        }
        ok = ok and not unexpected
    return tables, ok


def _lags(landed: list, validated_at: dict[str, float]) -> dict[str, Any]:
    """Per CDC file, from its earliest commit (the change that waited longest) to the moment
    the validator had moved the file: the end-to-end lag the analytics side sees."""
    lags = [
        validated_at[f.key] - f.first_commit.timestamp()
        for f in landed
        if f.kind == "cdc" and f.first_commit and f.key in validated_at
    ]
    return {
        "files": len(lags),
        "p50": round(statistics.median(lags), 2) if lags else None,
        "max": round(max(lags), 2) if lags else None,
    }


def _lambda_log(path: Path) -> dict[str, int]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    validations = [line for line in lines if line.get("event") == "cloudbridge.validated"]
    return {
        "lines": len(lines),
        "validations": len(validations),
        "bytesRead": sum(line.get("bytesRead", 0) for line in validations),
        "bytes": sum(line.get("bytes", 0) for line in validations),
    }


def _alert_source(post: dict) -> str:
    """The source a Slack message names in its context line (every message names one)."""
    for block in post.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "context" else []:
            found = re.search(r"source \*([^*]+)\*", element.get("text", ""))
            if found:
                return found.group(1)
    return "n/a"


def _alert_kind(post: dict) -> str:
    header = next((b["text"]["text"] for b in post.get("blocks", []) if b.get("type") == "header"), "")
    if "failed validation" in header:
        return "validation failures"
    if "DMS" in header:
        return "dms event"
    if "ALARM" in header or "OK:" in header:
        return "alarm"
    return "other"


def render(report: dict[str, Any]) -> str:
    """The report as text for the terminal."""
    files, lag, alerts = report["files"], report["lagSeconds"], report["alerts"]
    lines = [
        "",
        "CloudBridge sandbox report",
        "==========================",
        f"transactions      {report['transactions']} ({report['changes']['inserts']} inserts, "
        f"{report['changes']['updates']} updates, {report['changes']['deletes']} deletes, "
        f"{report['changes']['schemaChanges']} schema change); {report['changes']['captured']} changes captured by CDC",
        f"files             {files['landed']} landed · {files['passed']} passed · {files['failed']} quarantined "
        f"{dict(files['failedReasons']) or ''}",
        f"schema evolution  metadata regenerated and published; {files['replayed']} replayed from the quarantine, "
        f"{files['stillQuarantined']} still quarantined",
        f"rows validated    {report['rowsValidated']}",
        f"end-to-end lag    commit → validated file: p50 {lag['p50']}s, max {lag['max']}s "
        f"over {lag['files']} CDC files",
        f"alerts to Slack   {alerts['sent']} {alerts['kinds']}"
        + "".join(f"; {source} {sum(n.values())} {n}" for source, n in alerts.get("bySource", {}).items()),
        *_preflight_lines(report),
        *_slot_loss_lines(report),
        *_reload_lines(report),
        *_exclusion_lines(report),
        *_dms_api_lines(report),
        *_dynamodb_lines(report),
        "current state vs source (DuckDB over the validated parquet; the source minus excluded columns):",
    ]
    excluded = (report.get("exclusion") or {}).get("inSource", {})
    dynamodb = report.get("dynamodb") or {}
    for table, t in report["tables"].items():
        differing = len(t["missing"]) + len(t["extra"]) + len(t["different"])
        note = "identical" if differing == 0 else f"{differing} row(s) differ"
        if excluded.get(table):
            note += f" (without {', '.join(excluded[table])})"
        if table == dynamodb.get("lakeTable"):
            note += f" (to a scan of DynamoDB table {dynamodb['table']})"
        lines.append(f"  {table:22} {t['sourceRows']:6} source rows · {t['currentRows']:6} current rows · {note}")
    lines += _compaction_lines(report)
    lines.append(f"result            {'OK' if report['ok'] else 'NOT OK'} in {report['seconds']}s")
    return "\n".join(lines)


def _compaction_lines(report: dict[str, Any]) -> list[str]:
    """Each compacted view (state + tail) against the source, with what it read."""
    compaction = report.get("compaction")
    if not compaction:
        return []
    lines = [
        f"compacted current state vs source (the deployed MERGE on DuckDB: a run every "
        f"{compaction['runPeriodSeconds']:g}s, a {compaction['overlapSeconds']}s tail, a sweep after the replay):"
    ]
    for table, t in compaction["tables"].items():
        differing = len(t["missing"]) + len(t["extra"]) + len(t["different"])
        note = "identical" if differing == 0 else f"{differing} row(s) differ"
        runs = ", ".join(f"{n} {mode}" for mode, n in sorted(t["runs"].items()))
        read = (
            f"state {t['stateRows']} rows + tail {t['tailRows']} of {t['historyRows']} change rows"
            if t["compacted"]
            else "NEVER COMPACTED"
        )
        lines.append(
            f"  {table:22} {t['sourceRows']:6} source rows · {t['currentRows']:6} current rows · {note} · {read} "
            f"({runs or 'no run'})" + (f" · failed runs: {t['errors']}" if t["errors"] else "")
        )
    if compaction["scheduleErrors"]:
        lines.append(f"  schedule errors: {compaction['scheduleErrors']}")
    return lines


def _reload_lines(report: dict[str, Any]) -> list[str]:
    reload, missing = report.get("reload"), report.get("unregisteredPartitions", [])
    lines = [f"partitions        every raw-history day registered in Glue ({len(missing)} missing)"]
    if reload:
        lines.append(
            f"reload            {reload['table']}: {reload['truncatedRows']} rows truncated (not captured), "
            f"reloaded with {reload['reloadedRows']}; a union of both loads would differ on "
            f"{reload['unionOfLoadsDiffers']} keys"
        )
        lines += _command_lines(reload.get("command"), reload.get("error"))
        if reload.get("windowOrder") is not None:
            lines.append(
                f"                  order {reload['windowOrder']} committed after the reload read the table and "
                f"before its first row was written: {reload['windowLines']} lines in no snapshot, "
                f"{reload['windowRowsOlderThanFirstLoadRow']} changes older than every load row (kept: the "
                "generation starts at FullLoadStartTime)"
            )
    return lines


def _slot_loss_lines(report: dict[str, Any]) -> list[str]:
    loss = report.get("slotLoss")
    if not loss:
        return []
    union = ", ".join(f"{n} keys of {table}" for table, n in sorted(loss["unionOfLoadsDiffers"].items()) if n)
    lines = [
        f"slot loss         slot {loss['slot']} dropped mid-traffic → DMS failed: {loss['failure']} "
        f"({loss['changesLostWithTheTask']} changes read, not yet written, lost with the task; "
        f"{loss['changesWithoutSlot']} changes committed without a slot)",
        f"                  recovered with reload-target: a new slot, then {len(loss['reloadedTables'] or {})} "
        f"tables loaded again (a new generation each; the task {loss['statusAfter']}); "
        f"order {loss['deletedOrder']} deleted without a slot {_shown(not loss['deletedOrderInView'], 'gone from')}, "
        f"order {loss['newOrder']} created without a slot {_shown(loss['newOrderInView'], 'in')}; "
        f"a union of all loads would differ on {union or 'no keys'}",
    ]
    lines += _command_lines(loss.get("command"), loss.get("recoveryError"))
    return lines


def _command_lines(command: dict[str, Any] | None, error: str | None) -> list[str]:
    """How an operation went through the reload command's code: its command line, exit code,
    DMS calls and markers."""
    if not command:
        return [f"                  NOT through the reload command: {error}"] if error else []
    calls = ", ".join(f"{name} ×{n}" for name, n in command["dmsCalls"].items())
    lines = [
        f"                  through the reload command's code: {command['command']} → exit {command['exitCode']} "
        f"in {command['seconds']}s; DMS calls (checked against botocore's model): {calls or 'none'}; "
        f"{len(command['markers'])} table(s) followed until their generation marker was in raw history"
    ]
    if error:
        lines.append(f"                  failed: {error}")
    return lines


def _dms_api_lines(report: dict[str, Any]) -> list[str]:
    api = report.get("dmsApi")
    if not api or not api["errors"]:
        return []
    return [f"DMS stand-in      {len(api['errors'])} background load(s) failed: {'; '.join(api['errors'][:3])}"]


def _dynamodb_lines(report: dict[str, Any]) -> list[str]:
    """The DynamoDB source: its export, its stream, the undeclared attribute's loop."""
    d = report.get("dynamodb")
    if not d:
        return []
    export, stream, traffic, files = d["export"], d["stream"], d["traffic"], d["files"]
    lines = [
        f"dynamodb          source {d['source']}, table {d['table']} → {d['lakeTable']}: preflight "
        f"{sum(1 for c in d['preflight'] if c.startswith('PASS'))}/{len(d['preflight'])} checks pass (stream "
        "NEW_AND_OLD_IMAGES, point-in-time recovery, tagged for the environment)",
        f"                  full load: an export of {export['items']} items as AWS lays it out "
        f"({export['dataFiles']} data files + an empty one, manifest-files.json, manifest-summary.json) → "
        f"the export converter: {len(export['loadFiles'])} LOAD file(s) validated, then "
        + ("the generation marked" if export["marker"] else "NO generation marker")
        + (f"; errors: {export['errors']}" if export["errors"] else ""),
        f"                  changes: {traffic['puts']} puts, {traffic['updates']} updates, {traffic['deletes']} "
        f"deletes → {stream['records']} stream records through GetRecords ({stream['shards']} shard(s)) in "
        f"{stream['batches']} batches to the stream converter ({stream['retries']} retried, "
        f"{stream['onFailure']} to the on-failure queue)",
        f"                  files {files['landed']} landed · {files['passed']} passed · {files['failed']} quarantined "
        f"{files['failedReasons'] or ''} carrying {', '.join(files['quarantineNames']) or 'nothing undeclared'}; "
        f"{d['undeclared']['attribute']} declared, published, {files['replayed']} replayed, "
        f"{files['stillQuarantined']} still quarantined",
    ]
    problems = {**d["handlerErrors"], **({"stream": stream["errors"]} if stream["errors"] else {})}
    if problems or d["unregisteredPartitions"]:
        lines.append(f"                  errors {problems}; partitions missing {d['unregisteredPartitions']}")
    return lines


def _shown(good: bool | None, where: str) -> str:
    return f"is {where} the view" if good else f"is NOT {where} the view"


def _preflight_lines(report: dict[str, Any]) -> list[str]:
    """The PostgreSQL source through preflight's own checks."""
    preflight = report.get("preflight")
    if not preflight:
        return []
    checks, warned = preflight["checks"], preflight["warnings"]
    passed = len(checks) - len(preflight["blocking"]) - len(warned)
    which = f" ({', '.join(warned)})" if warned else ""
    return [
        f"preflight         source {preflight['source']}: {passed}/{len(checks)} checks pass, "
        f"{len(preflight['blocking'])} blocking, {len(warned)} warning(s){which}; "
        f"excluded, not held against their table: {', '.join(preflight['excluded']) or 'none'}"
    ]


def _exclusion_lines(report: dict[str, Any]) -> list[str]:
    exclusion = report.get("exclusion")
    if not exclusion or not exclusion["excludeColumns"]:
        return []
    by_table = "; ".join(
        f"{table}: {n['load']} full-load, {n['cdc']} CDC, {n['marker']} marker"
        for table, n in exclusion["filesByTable"].items()
    )
    carrying = exclusion["filesCarryingExcluded"]
    lines = [
        f"excluded columns  {', '.join(exclusion['excludeColumns'])} (in the source: {exclusion['inSource']}); "
        f"{exclusion['removeColumnRules']} remove-column rule(s) in the table mappings",
        f"                  {exclusion['filesScanned']} raw-history parquet files scanned ({by_table}): "
        f"{len(carrying)} carry an excluded column"
        + (f" — {', '.join(c['key'] for c in carrying[:5])}" if carrying else ""),
    ]
    if exclusion["publishedWithExcluded"]:
        lines.append(f"                  published metadata still has it: {exclusion['publishedWithExcluded']}")
    return lines
