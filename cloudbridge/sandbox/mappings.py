"""The sandbox's source config and the DMS table-mappings document its stand-in obeys.

``sandbox_source`` is the ``sales`` source as a stack would configure it (components/config.py
``Source``), with ``excludeColumns``; ``table_mappings`` is the table-mappings document the
program builds for it (``components.dms_settings.table_mappings``), plus the standard
``remove-column`` rules for the exclusions when that document does not carry them yet.
``TableMappings`` interprets such a document as DMS does, generically: which tables the
selection rules select, and which columns ``remove-column`` transformation rules drop — from
the full load and from every change. A test and demo tool: nothing of it is deployed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from components import dms_settings
from components.config import Source
from functions.common.dms import locator_matches
from functions.common.metadata import TableMetadata

SOURCE = "sales"
# A personal-data column of the sample schema (schema.sql): kept out of the lake.
EXCLUDED_COLUMNS = ("public.customers.email",)
SECRET_ARN = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:cloudbridge/sandbox/sales-AbCdEf"
_LOCATOR_KEYS = {"schema-name", "table-name", "column-name"}


def sandbox_source(
    tables: Sequence[str], exclude_columns: Sequence[str] = EXCLUDED_COLUMNS, timestamp_unit: str = "ms"
) -> Source:
    """The sandbox's source as a stack's ``cloudbridge:sources`` entry (validated like one)."""
    return Source.model_validate(
        {
            "name": SOURCE,
            "engine": "postgres",
            "host": "localhost",
            "port": 5432,
            "database": SOURCE,
            "credentialsSecretArn": SECRET_ARN,
            "sourceCidr": "127.0.0.1/32",
            "sslMode": "none",
            "tables": list(tables),
            "excludeColumns": list(exclude_columns),
            "timestampUnit": timestamp_unit,
            "replication": {"mode": "serverless", "maxCapacityUnits": 1},
            # By hour, as a busy source with compaction would choose: the sandbox runs one source in
            # each layout (the DynamoDB source keeps the default, by day).
            "rawHistoryPartition": "hour",
        }
    )


def remove_column_rule(rule_id: int, pattern: str) -> dict[str, Any]:
    """The standard DMS rule dropping the columns ``schema.table.column`` names (% wildcards)."""
    schema, table, column = pattern.split(".")
    return {
        "rule-type": "transformation",
        "rule-id": str(rule_id),
        "rule-name": f"exclude-column-{rule_id}",
        "rule-target": "column",
        "object-locator": {"schema-name": schema, "table-name": table, "column-name": column},
        "rule-action": "remove-column",
    }


def table_mappings(source: Source, table_set: int = 0) -> dict[str, Any]:
    """The document the program gives DMS for this source; if it does not drop the source's
    ``excludeColumns`` itself, the standard ``remove-column`` rules for them are appended."""
    document = dms_settings.table_mappings(source, table_set)
    rules = list(document.get("rules", []))
    if source.exclude_columns and not any(_is_remove_column(r) for r in rules):
        next_id = max((int(r["rule-id"]) for r in rules if str(r.get("rule-id", "")).isdigit()), default=0) + 1
        rules += [remove_column_rule(next_id + i, p) for i, p in enumerate(source.exclude_columns)]
    return {**document, "rules": rules}


def _is_remove_column(rule: dict[str, Any]) -> bool:
    return (
        str(rule.get("rule-type", "")).lower() == "transformation"
        and str(rule.get("rule-target", "")).lower() == "column"
        and str(rule.get("rule-action", "")).lower() == "remove-column"
    )


def like(pattern: str, name: str) -> bool:
    """DMS object-locator matching: ``%`` matches any run of characters, the rest literally
    (names are case-sensitive in transformation rules)."""
    return locator_matches(pattern, name)


@dataclass(frozen=True)
class _Locator:
    schema: str
    table: str
    column: str = "%"

    def matches(self, schema: str, table: str, column: str = "%") -> bool:
        return like(self.schema, schema) and like(self.table, table) and like(self.column, column)


class TableMappings:
    """A DMS table-mappings document, read as DMS reads it: selection rules (include and
    exclude, by schema and table) and ``remove-column`` transformation rules (by schema,
    table and column name, ``%`` wildcards). Other transformation rules are the stand-in's
    fixed behaviour (the change-sequence column, TIME as text) and are not interpreted."""

    def __init__(self, document: dict[str, Any]):
        self.includes: list[_Locator] = []
        self.excludes: list[_Locator] = []
        self.removals: list[_Locator] = []
        for rule in document.get("rules", []):
            self._read(rule)

    def _read(self, rule: dict[str, Any]) -> None:
        kind, action = str(rule.get("rule-type", "")).lower(), str(rule.get("rule-action", "")).lower()
        locator = rule.get("object-locator") or {}
        if kind == "selection":
            target = {"include": self.includes, "exclude": self.excludes}.get(action)
            if target is None:
                raise ValueError(f"selection rule {rule.get('rule-id')}: unknown rule-action {action!r}")
            target.append(_Locator(locator["schema-name"], locator["table-name"]))
        elif _is_remove_column(rule):
            unknown = set(locator) - _LOCATOR_KEYS
            if unknown or "column-name" not in locator:
                raise ValueError(
                    f"remove-column rule {rule.get('rule-id')}: the stand-in reads schema-name, table-name and "
                    f"column-name only (got {sorted(locator)})"
                )
            self.removals.append(_Locator(locator["schema-name"], locator["table-name"], locator["column-name"]))

    def selects(self, schema: str, table: str) -> bool:
        """Whether the task captures this table: an include rule matches and no exclude rule does."""
        return any(r.matches(schema, table) for r in self.includes) and not any(
            r.matches(schema, table) for r in self.excludes
        )

    def removes(self, schema: str, table: str, column: str) -> bool:
        """Whether a ``remove-column`` rule drops this column of this table."""
        return any(r.matches(schema, table, column) for r in self.removals)

    def removed(self, schema: str, table: str, columns: Iterable[str]) -> list[str]:
        """The columns, of those given, that the task drops from this table's files."""
        return [c for c in columns if self.removes(schema, table, c)]


def published(meta: TableMetadata, removed: Iterable[str], patterns: Iterable[str] = ()) -> TableMetadata:
    """A table's metadata as published for the validator when the task drops the columns
    ``removed``: without them, and with the source's exclusion ``patterns`` for the table as
    its ``excluded`` list (where the metadata format has that field), as ``metadata extract``
    writes it."""
    removed, patterns = set(removed), tuple(sorted(set(patterns) | set(getattr(meta, "excluded", ()))))
    key = [k for k in meta.primary_key if k in removed]
    if key:
        raise ValueError(f"{meta.table_id}: primary-key column(s) {key} cannot be excluded")
    columns = tuple(c for c in meta.columns if c.name not in removed)
    fields = getattr(type(meta), "__dataclass_fields__", {})
    extra: dict[str, Any] = {"excluded": patterns} if "excluded" in fields and patterns else {}
    if columns == meta.columns and not extra:
        return meta
    return replace(meta, columns=columns, **extra)
