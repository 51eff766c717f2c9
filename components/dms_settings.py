"""DMS table mappings, task settings and S3 target settings, as plain data.

Pure functions of the typed config: no Pulumi, so the same documents can be tested,
diffed and reused by the local sandbox.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from components.config import Source
from functions.common import dms, layout

# The DMS API spells the Postgres logical-decoding plugin with a hyphen (PluginNameValue:
# no-preference | test-decoding | pglogical), unlike the server's own test_decoding.
POSTGRES_PLUGIN = "test-decoding"
ENGINE_NAMES = {"postgres": "postgres", "oracle": "oracle", "sqlserver": "sqlserver", "mysql": "mysql"}
# Largest LOB (KB) carried in limited LOB mode; larger values fail the task (Postgres) or
# are truncated and logged (other engines): docs/dms.md, "LOBs".
LOB_MAX_SIZE_KB = 64
# The time zone of the date folders and CDC file names, in the Area/Location form DMS documents.
DATE_PARTITION_TIMEZONE = "Etc/UTC"


def replication_type(source: Source) -> str:
    """The DMS migration type: full load, with or without CDC, or CDC only from cdcStart."""
    if source.cdc_start is not None:
        return "cdc"
    return "full-load-and-cdc" if source.cdc else "full-load"


def table_mappings(source: Source, table_set: int = 0) -> dict[str, Any]:
    """Selection rules for one table set (``tables``, or an ``addedTables`` entry), the
    change-sequence column on every table, TIME columns cast to text (parquet TIME is
    unreadable for Athena and Glue), then one ``remove-column`` rule per ``excludeColumns``
    entry that can match the set's tables."""
    rules: list[dict[str, Any]] = []
    for schema, table in (t.split(".", 1) for t in source.table_sets[table_set]):
        n = len(rules) + 1
        rules.append(
            {
                "rule-type": "selection",
                "rule-id": str(n),
                "rule-name": f"include-{n}",
                "object-locator": {"schema-name": schema, "table-name": table},
                "rule-action": "include",
            }
        )
    rules.append(
        {
            "rule-type": "transformation",
            "rule-id": str(len(rules) + 1),
            "rule-name": "add-change-sequence",
            "rule-target": "column",
            "object-locator": {"schema-name": "%", "table-name": "%"},
            "rule-action": "add-column",
            "value": dms.CHANGE_SEQUENCE_COLUMN,
            "expression": dms.CHANGE_SEQUENCE_EXPRESSION,
            "data-type": {"type": "string", "length": dms.CHANGE_SEQUENCE_LENGTH},
        }
    )
    rules.append(
        {
            "rule-type": "transformation",
            "rule-id": str(len(rules) + 1),
            "rule-name": "time-as-string",
            "rule-target": "column",
            "object-locator": {"schema-name": "%", "table-name": "%", "column-name": "%", "data-type": "time"},
            "rule-action": "change-data-type",
            "data-type": {"type": "string", "length": dms.TIME_AS_STRING_LENGTH},
        }
    )
    # After every other rule, so a source without exclusions keeps its document (and ids) unchanged.
    for schema, table, column in excluded_columns(source, table_set):
        n = len(rules) + 1
        rules.append(
            {
                "rule-type": "transformation",
                "rule-id": str(n),
                "rule-name": f"exclude-column-{n}",
                "rule-target": "column",
                "object-locator": {"schema-name": schema, "table-name": table, "column-name": column},
                "rule-action": "remove-column",
            }
        )
    return {"rules": rules}


def excluded_columns(source: Source, table_set: int = 0) -> list[tuple[str, str, str]]:
    """The ``excludeColumns`` entries, as (schema, table, column) patterns, that can name a column of
    a table this table set selects: its replication gets a ``remove-column`` rule for each
    (docs/validation.md, "Excluded columns"). Another set's exclusions stay out of its mappings,
    so excluding a column of an added table leaves the other replications' documents alone."""
    selected = [t.split(".", 1) for t in source.table_sets[table_set]]
    out = []
    for entry in source.exclude_columns:
        schema, table, column = entry.split(".")
        if any(patterns_overlap(schema, s) and patterns_overlap(table, t) for s, t in selected):
            out.append((schema, table, column))
    return out


def patterns_overlap(a: str, b: str) -> bool:
    """Whether some name matches both DMS object-locator patterns (``%`` matches any run of
    characters, everything else itself)."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "%":
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "%":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and meet(i + 1, j + 1)

    return meet(0, 0)


def task_settings(source: Source) -> dict[str, Any]:
    """The DMS task settings document of a source."""
    log_components = ["SOURCE_UNLOAD", "SOURCE_CAPTURE", "TARGET_LOAD", "TARGET_APPLY", "TASK_MANAGER"]
    return {
        "TargetMetadata": {
            "SupportLobs": True,
            "FullLobMode": False,  # not supported for S3 targets
            "LimitedSizeLobMode": True,
            "LobMaxSize": LOB_MAX_SIZE_KB,
            # Batch apply can lose changes on S3 targets.
            "BatchApplyEnabled": False,
        },
        "FullLoadSettings": {
            # DROP_AND_CREATE would delete the table's files in the landing bucket.
            "TargetTablePrepMode": "DO_NOTHING",
            "StopTaskCachedChangesApplied": False,
            "StopTaskCachedChangesNotApplied": False,
            "MaxFullLoadSubTasks": 8,
            "CommitRate": 10000,
        },
        "Logging": {
            "EnableLogging": True,
            "LogComponents": [{"Id": c, "Severity": "LOGGER_SEVERITY_DEFAULT"} for c in log_components],
        },
        "ChangeProcessingDdlHandlingPolicy": {
            # Keep history: a dropped or truncated source table must not delete files.
            "HandleSourceTableDropped": False,
            "HandleSourceTableTruncated": False,
            "HandleSourceTableAltered": True,
        },
        "ErrorBehavior": {
            # Stop rather than skip: a skipped row is silent data loss downstream.
            "DataErrorPolicy": "STOP_TASK",
            "DataTruncationErrorPolicy": "STOP_TASK",
            "TableErrorPolicy": "SUSPEND_TABLE",
            "FailOnNoTablesCaptured": True,
        },
    }


def s3_target_settings(source: Source) -> dict[str, Any]:
    """Arguments of ``aws.dms.S3Endpoint`` that define what lands (docs/dms.md)."""
    return {
        "data_format": "parquet",
        "parquet_version": "parquet-2-0",
        "enable_statistics": True,
        "include_op_for_full_load": True,
        "timestamp_column_name": dms.TIMESTAMP_COLUMN,
        # Athena and Glue read millisecond timestamps; the metadata and validator follow the unit.
        "parquet_timestamp_in_millisecond": source.timestamp_unit == "ms",
        "row_group_length": dms.ROW_GROUP_LENGTH,
        "encoding_type": "rle-dictionary",
        "date_partition_enabled": True,
        # YYYYMMDD or YYYYMMDDHH: the folders are raw history's partitions (functions/common/layout.py).
        "date_partition_sequence": layout.by_name(source.raw_history_partition).dms_sequence,
        "date_partition_delimiter": dms.DATE_PARTITION_DELIMITER,
        # DMS wants an IANA Area/Location name here (S3Settings.DatePartitionTimezone); plain
        # "UTC" is not one. Etc/UTC keeps the folders on UTC dates.
        "date_partition_timezone": DATE_PARTITION_TIMEZONE,
        "cdc_max_batch_interval": source.cdc_max_batch_interval_seconds,
        "cdc_min_file_size": source.cdc_min_file_size_kb,
        # The provider's spelling (GZIP | NONE), sent as given: its own default "NONE" goes to
        # DMS in every create, so DMS takes the upper case (docs/dms.md, "Compression").
        "compression_type": source.compression.upper(),
        "encryption_mode": "SSE_KMS",
    }
