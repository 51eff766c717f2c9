"""The grammar of the JSON documents DMS takes: table mappings and task settings.

Written from the DMS user guide's descriptions of selection/transformation rules and of
the task-settings blocks. Only what the guide documents is accepted, so a misspelt key
or an undocumented value is a finding rather than something DMS ignores or rejects at
deploy time. Each checker returns a list of ``(path, message)`` problems.
"""

from __future__ import annotations

from typing import Any

from functions.common import dms

# --- table mappings --------------------------------------------------------------------

RULE_TYPES = {"selection", "transformation", "table-settings"}
SELECTION_ACTIONS = {"include", "exclude", "explicit"}
TRANSFORMATION_ACTIONS = {
    "add-column", "include-column", "remove-column", "rename", "convert-lowercase", "convert-uppercase",
    "add-prefix", "remove-prefix", "replace-prefix", "add-suffix", "remove-suffix", "replace-suffix",
    "define-primary-key", "change-data-type", "add-before-image-columns", "data-masking-digits-mask",
    "data-masking-digits-randomize", "data-masking-hash-mask",
}  # fmt: skip
RULE_TARGETS = {"schema", "table", "column", "table-tablespace", "index-tablespace"}
LOCATOR_KEYS = {
    "schema-name", "table-name", "column-name", "data-type", "table-tablespace-name", "index-tablespace-name",
}  # fmt: skip
# DMS's own data types, as transformation rules name them (add-column, change-data-type).
DMS_DATA_TYPES = {
    "bytes", "date", "time", "datetime", "int1", "int2", "int4", "int8", "numeric", "real4", "real8",
    "string", "uint1", "uint2", "uint4", "uint8", "wstring", "blob", "clob", "nclob", "boolean",
}  # fmt: skip
# Header columns an expression can read.
HEADERS = {
    "$AR_H_CHANGE_SEQ", "$AR_H_COMMIT_TIMESTAMP", "$AR_H_OPERATION", "$AR_H_STREAM_POSITION",
    "$AR_H_TIMESTAMP", "$AR_H_TRANSACTION_ID", "$AR_H_USER", "$AR_H_JOB_NAME", "$AR_H_PROGRAM_NAME",
    "$AR_H_XACT_ID",
}  # fmt: skip
RULE_KEYS = {
    "rule-type", "rule-id", "rule-name", "rule-action", "rule-target", "object-locator", "value", "expression",
    "data-type", "old-value", "filters", "load-order", "parallel-load", "lob-settings", "before-image-def",
    "primary-key-def",
}  # fmt: skip


def check_table_mappings(doc: Any) -> list[tuple[str, str]]:
    """Problems of a table-mappings document, as (path, message)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(doc, dict) or set(doc) != {"rules"} or not isinstance(doc["rules"], list):
        return [("", 'must be {"rules": [...]}')]
    ids: set[str] = set()
    names: set[str] = set()
    for i, rule in enumerate(doc["rules"]):
        at = f"rules[{i}]"
        if not isinstance(rule, dict):
            problems.append((at, "a rule must be an object"))
            continue
        for key in sorted(set(rule) - RULE_KEYS):
            problems.append((f"{at}.{key}", "not a documented rule key"))
        rule_id, name = rule.get("rule-id"), rule.get("rule-name")
        if not isinstance(rule_id, str) or not rule_id.isdigit():
            problems.append((f"{at}.rule-id", f"must be a numeric string, got {rule_id!r}"))
        elif rule_id in ids:
            problems.append((f"{at}.rule-id", f"duplicate rule-id {rule_id}"))
        ids.add(str(rule_id))
        if not isinstance(name, str) or not name:
            problems.append((f"{at}.rule-name", "missing"))
        elif name in names:
            problems.append((f"{at}.rule-name", f"duplicate rule-name {name!r}"))
        names.add(str(name))
        kind, action = rule.get("rule-type"), rule.get("rule-action")
        if kind not in RULE_TYPES:
            problems.append((f"{at}.rule-type", f"{kind!r} is not one of {sorted(RULE_TYPES)}"))
            continue
        locator = rule.get("object-locator")
        if not isinstance(locator, dict) or "schema-name" not in locator:
            problems.append((f"{at}.object-locator", "needs at least schema-name"))
            locator = {}
        for key in sorted(set(locator) - LOCATOR_KEYS):
            problems.append((f"{at}.object-locator.{key}", "not a documented object-locator key"))
        if "data-type" in locator and locator["data-type"] not in DMS_DATA_TYPES:
            problems.append((f"{at}.object-locator.data-type", f"{locator['data-type']!r} is not a DMS data type"))
        if kind == "selection":
            if action not in SELECTION_ACTIONS:
                problems.append((f"{at}.rule-action", f"{action!r} is not a selection action"))
            if "table-name" not in locator:
                problems.append((f"{at}.object-locator", "a selection rule needs table-name"))
        elif kind == "transformation":
            problems += _check_transformation(at, rule, action, locator)
    return problems


def _check_transformation(at: str, rule: dict, action: Any, locator: dict) -> list[tuple[str, str]]:
    problems = []
    if action not in TRANSFORMATION_ACTIONS:
        problems.append((f"{at}.rule-action", f"{action!r} is not a transformation action"))
    target = rule.get("rule-target")
    if target not in RULE_TARGETS:
        problems.append((f"{at}.rule-target", f"{target!r} is not one of {sorted(RULE_TARGETS)}"))
    column_actions = {"add-column", "remove-column", "include-column", "change-data-type"}
    if action in column_actions and target != "column":
        problems.append((f"{at}.rule-target", f"{action} applies to columns (rule-target column)"))
    if action in ("add-column", "change-data-type"):
        data_type = rule.get("data-type")
        if not isinstance(data_type, dict) or data_type.get("type") not in DMS_DATA_TYPES:
            problems.append((f"{at}.data-type", f"needs a type among the DMS data types, got {data_type!r}"))
        elif data_type["type"] in ("string", "wstring") and not isinstance(data_type.get("length"), int):
            problems.append((f"{at}.data-type.length", "a string type needs an integer length"))
        if action == "add-column" and not rule.get("value"):
            problems.append((f"{at}.value", "add-column needs the new column's name in value"))
    if action == "change-data-type" and "column-name" not in locator:
        problems.append((f"{at}.object-locator", "change-data-type needs column-name (may be %)"))
    if action == "remove-column":
        problems += _check_remove_column(at, rule, locator)
    expression = rule.get("expression")
    if isinstance(expression, str) and expression.startswith("$AR_") and expression not in HEADERS:
        problems.append((f"{at}.expression", f"{expression!r} is not a documented header column"))
    return problems


# Columns CloudBridge's files must carry (docs/dms.md, "Columns DMS adds"): no rule may remove them.
KEPT_COLUMNS = (dms.OP_COLUMN, dms.TIMESTAMP_COLUMN, dms.CHANGE_SEQUENCE_COLUMN)


def _check_remove_column(at: str, rule: dict, locator: dict) -> list[tuple[str, str]]:
    """A remove-column rule names its table and column (the user guide's example: schema-name,
    table-name and column-name, % wildcards allowed) and never a column the pipeline needs."""
    problems = []
    for key in ("table-name", "column-name"):
        if not isinstance(locator.get(key), str) or not locator.get(key):
            problems.append((f"{at}.object-locator", f"remove-column needs {key} (may hold % wildcards)"))
    for key in sorted({"value", "expression", "data-type"} & set(rule)):
        problems.append((f"{at}.{key}", "remove-column takes no value, expression or data type"))
    column = locator.get("column-name")
    if isinstance(column, str) and column:
        kept = [name for name in KEPT_COLUMNS if dms.locator_matches(column, name)]
        if kept:
            problems.append(
                (
                    f"{at}.object-locator.column-name",
                    f"{column!r} would remove {', '.join(kept)}, which every file must carry (Op, the commit "
                    "time and the change sequence order and validate the changes)",
                )
            )
    return problems


# --- task settings -----------------------------------------------------------------------

_BOOL, _INT, _STR = bool, int, str
TASK_SETTINGS: dict[str, dict[str, Any]] = {
    "TargetMetadata": {
        "TargetSchema": _STR, "SupportLobs": _BOOL, "FullLobMode": _BOOL, "LobChunkSize": _INT,
        "LimitedSizeLobMode": _BOOL, "LobMaxSize": (0, 102400), "InlineLobMaxSize": (0, 102400),
        "LoadMaxFileSize": _INT, "ParallelLoadThreads": _INT, "ParallelLoadBufferSize": _INT,
        "ParallelLoadQueuesPerThread": _INT, "ParallelApplyThreads": _INT, "ParallelApplyBufferSize": _INT,
        "ParallelApplyQueuesPerThread": _INT, "BatchApplyEnabled": _BOOL, "TaskRecoveryTableEnabled": _BOOL,
    },
    "FullLoadSettings": {
        "TargetTablePrepMode": {"DO_NOTHING", "DROP_AND_CREATE", "TRUNCATE_BEFORE_LOAD"},
        "CreatePkAfterFullLoad": _BOOL, "StopTaskCachedChangesApplied": _BOOL,
        "StopTaskCachedChangesNotApplied": _BOOL, "MaxFullLoadSubTasks": (1, 49),
        "TransactionConsistencyTimeout": _INT, "CommitRate": (1, 50000),
    },
    "Logging": {"EnableLogging": _BOOL, "EnableLogContext": _BOOL, "LogComponents": list},
    "ControlTablesSettings": {
        "ControlSchema": _STR, "HistoryTimeslotInMinutes": _INT, "HistoryTableEnabled": _BOOL,
        "SuspendedTablesTableEnabled": _BOOL, "StatusTableEnabled": _BOOL, "FullLoadExceptionTableEnabled": _BOOL,
    },
    "StreamBufferSettings": {"StreamBufferCount": _INT, "StreamBufferSizeInMB": _INT, "CtrlStreamBufferSizeInMB": _INT},
    "ChangeProcessingTuning": {
        "BatchApplyPreserveTransaction": _BOOL, "BatchApplyTimeoutMin": _INT, "BatchApplyTimeoutMax": _INT,
        "BatchApplyMemoryLimit": _INT, "BatchSplitSize": _INT, "MinTransactionSize": _INT,
        "CommitTimeout": _INT, "MemoryLimitTotal": _INT, "MemoryKeepTime": _INT, "StatementCacheSize": _INT,
    },
    "ChangeProcessingDdlHandlingPolicy": {
        "HandleSourceTableDropped": _BOOL, "HandleSourceTableTruncated": _BOOL, "HandleSourceTableAltered": _BOOL,
    },
    "ErrorBehavior": {
        "DataErrorPolicy": {"IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK"},
        "DataTruncationErrorPolicy": {"IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK"},
        "DataMaskingErrorPolicy": {"IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK"},
        "DataErrorEscalationPolicy": {"SUSPEND_TABLE", "STOP_TASK"}, "DataErrorEscalationCount": _INT,
        "TableErrorPolicy": {"SUSPEND_TABLE", "STOP_TASK"}, "TableErrorEscalationPolicy": {"STOP_TASK"},
        "TableErrorEscalationCount": _INT, "RecoverableErrorCount": _INT, "RecoverableErrorInterval": _INT,
        "RecoverableErrorThrottling": _BOOL, "RecoverableErrorThrottlingMax": _INT,
        "RecoverableErrorStopRetryAfterThrottlingMax": _BOOL,
        "ApplyErrorDeletePolicy": {"IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK"},
        "ApplyErrorInsertPolicy": {"IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK", "INSERT_RECORD"},
        "ApplyErrorUpdatePolicy": {
            "IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK", "UPDATE_RECORD",
        },
        "ApplyErrorEscalationPolicy": {"LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK"}, "ApplyErrorEscalationCount": _INT,
        "ApplyErrorFailOnTruncationDdl": _BOOL, "FullLoadIgnoreConflicts": _BOOL,
        "FailOnTransactionConsistencyBreached": _BOOL, "FailOnNoTablesCaptured": _BOOL,
        "EventErrorPolicy": {"IGNORE", "STOP_TASK"},
    },
    "ValidationSettings": {
        "EnableValidation": _BOOL, "ValidationMode": _STR, "ThreadCount": _INT, "PartitionSize": _INT,
        "FailureMaxCount": _INT, "RecordFailureDelayInMinutes": _INT, "RecordSuspendDelayInMinutes": _INT,
        "MaxKeyColumnSize": _INT, "TableFailureMaxCount": _INT, "ValidationOnly": _BOOL,
        "HandleCollationDiff": _BOOL, "SkipLobColumns": _BOOL, "ValidationPartialLobSize": _INT,
        "ValidationQueryCdcDelaySeconds": _INT,
    },
    "BeforeImageSettings": {"EnableBeforeImage": _BOOL, "FieldName": _STR, "ColumnFilter": _STR},
    "CharacterSetSettings": {"CharacterReplacements": list, "CharacterSetSupport": dict},
}  # fmt: skip
LOG_COMPONENTS = {
    "SOURCE_UNLOAD", "SOURCE_CAPTURE", "TARGET_LOAD", "TARGET_APPLY", "TASK_MANAGER", "TRANSFORMATION",
    "VALIDATOR", "VALIDATOR_EXT", "COMMON", "ADDONS", "DATA_STRUCTURE", "COMMUNICATION", "FILE_TRANSFER",
    "FILE_FACTORY", "METADATA_MANAGER", "IO", "PERFORMANCE", "SORTER", "REST_SERVER", "SERVER", "TABLES_MANAGER",
    "UTILITIES",
}  # fmt: skip
LOG_SEVERITIES = {
    "LOGGER_SEVERITY_DEFAULT", "LOGGER_SEVERITY_ERROR", "LOGGER_SEVERITY_WARNING", "LOGGER_SEVERITY_INFO",
    "LOGGER_SEVERITY_DEBUG", "LOGGER_SEVERITY_DETAILED_DEBUG",
}  # fmt: skip


def check_task_settings(doc: Any) -> list[tuple[str, str]]:
    """Problems of a task-settings document, as (path, message)."""
    if not isinstance(doc, dict):
        return [("", "task settings must be a JSON object")]
    problems: list[tuple[str, str]] = []
    for block, settings in doc.items():
        if block not in TASK_SETTINGS:
            problems.append((block, "not a documented task-settings block"))
            continue
        if not isinstance(settings, dict):
            problems.append((block, "must be an object"))
            continue
        for key, value in settings.items():
            rule = TASK_SETTINGS[block].get(key)
            at = f"{block}.{key}"
            if rule is None:
                problems.append((at, "not a documented setting of this block"))
            elif isinstance(rule, set):
                if value not in rule:
                    problems.append((at, f"{value!r} is not one of {sorted(rule)}"))
            elif isinstance(rule, tuple):
                low, high = rule
                if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                    problems.append((at, f"{value!r} is outside {low}..{high}"))
            elif rule is int and (not isinstance(value, int) or isinstance(value, bool)):
                problems.append((at, f"{value!r} is not an integer"))
            elif not isinstance(value, rule):
                problems.append((at, f"{value!r} is not a {rule.__name__}"))
    for i, component in enumerate((doc.get("Logging") or {}).get("LogComponents") or []):
        if component.get("Id") not in LOG_COMPONENTS:
            problems.append((f"Logging.LogComponents[{i}].Id", f"{component.get('Id')!r} is not a log component"))
        if component.get("Severity") not in LOG_SEVERITIES:
            problems.append(
                (f"Logging.LogComponents[{i}].Severity", f"{component.get('Severity')!r} is not a severity")
            )
    return problems
