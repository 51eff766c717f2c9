"""Current-state views: each source table as it is now, from its change history.

One SQL text per table, generated here from the table's metadata in the Trino dialect
(what Athena runs): for each primary key the latest change by the DMS change sequence
(full-load rows, whose sequence is empty, come first), deletes removed, the DMS columns
hidden. The same text is deployed as an Athena view (a Glue table of type VIRTUAL_VIEW
in the Presto view encoding) and, translated to DuckDB by sqlglot, is what the local
sandbox compares with the source. Pure data: no Pulumi.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from functions.common import generations as markers
from functions.common.metadata import TableMetadata, glue_type

VIEW_SUFFIX = "_current"


class NoOrderingColumnError(ValueError):
    """The table's files carry no change order: no current state can be built."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def view_name(changes_table: str) -> str:
    """The current-state view's name for a change table."""
    return f"{changes_table}{VIEW_SUFFIX}"


# A table reload makes DMS write a new full load whose file names restart at LOAD00000001.
# The raw-history key keeps that name (plus the file's ETag, so loads never collide). A load
# generation counts once its marker (functions/common/generations.py) says where it starts
# (the table statistics' FullLoadStartTime) and that it is complete (FullLoadEndTime).
GENERATION_FILE = "%/LOAD00000001-%"
MARKER_FILE = "%/" + markers.MARKER_PREFIX + "%"
PATH_COLUMN = "$path"  # the object a row came from (Athena, Redshift Spectrum; the sandbox adds it)
NO_END = "9999-12-31 23:59:59.999999"


def _generation_cte(meta: TableMetadata, changes: str) -> str:
    """The newest complete generation as one row (_cb_start, _cb_end): from the newest
    marker; without any marker, the first load (everything before the second
    LOAD00000001) and every change."""
    stamp, seq, path = _q(meta.dms.timestamp), _q(meta.dms.change_sequence), _q(PATH_COLUMN)
    return (
        f"_cb_marks AS (SELECT max(CASE WHEN {seq} = '{markers.START}' THEN {stamp} END) AS _cb_start, "
        f"max(CASE WHEN {seq} = '{markers.END}' THEN {stamp} END) AS _cb_end "
        f"FROM {changes} WHERE {path} LIKE '{MARKER_FILE}' GROUP BY {path}), "
        f"_cb_loads AS (SELECT min({stamp}) AS _cb_first FROM {changes} "
        f"WHERE {path} LIKE '{GENERATION_FILE}' GROUP BY {path}), "
        "_cb_generation AS (SELECT "
        "COALESCE((SELECT max(_cb_start) FROM _cb_marks), '') AS _cb_start, "
        "COALESCE((SELECT max(_cb_end) FROM _cb_marks WHERE _cb_start = (SELECT max(_cb_start) FROM _cb_marks)), "
        "(SELECT min(_cb_first) FROM _cb_loads WHERE _cb_first > (SELECT min(_cb_first) FROM _cb_loads)), "
        f"'{NO_END}') AS _cb_end)"
    )


def current_state_sql(meta: TableMetadata, database: str, changes_table: str, *, generations: bool = True) -> str:
    """The view's SQL (Trino). Raises NoOrderingColumnError for a table without ordering.

    Only the newest complete load generation counts: its full-load rows, then every change
    committed since the load began, applied by key in change order (``docs/analytics.md``).
    ``generations=False`` drops that rule: only to show what a plain union of loads would
    get wrong."""
    if not meta.dms.change_sequence:
        raise NoOrderingColumnError(
            f"{meta.table_id}: its metadata names no change-sequence column (dmsColumns.changeSequence), "
            "so changes cannot be ordered; no current-state view"
        )
    if not meta.primary_key:
        raise NoOrderingColumnError(f"{meta.table_id}: no primary key, so rows cannot be matched to their changes")
    columns = ", ".join(_q(c.name) for c in meta.columns)
    keys = ", ".join(_q(k) for k in meta.primary_key)
    stamp, seq = _q(meta.dms.timestamp), _q(meta.dms.change_sequence)
    changes = f"{_q(database)}.{_q(changes_table)}"
    # Full-load rows have an empty sequence and sort before every change.
    order = f"COALESCE({seq}, '') DESC, {stamp} DESC"
    not_marker = f"{_q(PATH_COLUMN)} NOT LIKE '{MARKER_FILE}'"
    if generations:
        source = f"{changes} CROSS JOIN _cb_generation"
        where = (
            f" WHERE {not_marker} AND {stamp} >= _cb_generation._cb_start AND "
            f"(COALESCE({seq}, '') <> '' OR {stamp} < _cb_generation._cb_end)"
        )
        prefix = f"WITH {_generation_cte(meta, changes)} "
    else:
        source, where, prefix = changes, f" WHERE {not_marker}", ""
    return (
        f"{prefix}SELECT {columns} FROM ("
        f"SELECT {columns}, {_q(meta.dms.op)} AS _cb_op, "
        f"row_number() OVER (PARTITION BY {keys} ORDER BY {order}) AS _cb_rank "
        f"FROM {source}{where}"
        f") AS _cb_latest WHERE _cb_rank = 1 AND _cb_op <> 'D'"
    )


_PRESTO = {
    "tinyint": "tinyint", "smallint": "smallint", "int": "integer", "bigint": "bigint", "float": "real",
    "double": "double", "string": "varchar", "binary": "varbinary", "boolean": "boolean", "date": "date",
    "timestamp": "timestamp(3)",
}  # fmt: skip


def presto_type(portable: str) -> str:
    """A portable type as Athena's view encoding names it."""
    hive = glue_type(portable)
    return hive if hive.startswith("decimal(") else _PRESTO[hive]


COMPACTED = " (compacted: its state table plus the changes since the last run)"


def view_columns(meta: TableMetadata) -> list[dict[str, str]]:
    """The view's columns as Athena's view encoding lists them."""
    return [{"name": c.name, "type": presto_type(c.type)} for c in meta.columns]


def encode_view(sql: str, database: str, meta: TableMetadata) -> str:
    """A Presto view's ViewOriginalText for ``sql``."""
    encoded = {"originalSql": sql, "catalog": "awsdatacatalog", "schema": database, "columns": view_columns(meta)}
    return "/* Presto View: " + base64.b64encode(json.dumps(encoded).encode()).decode() + " */"


def view_table_input(
    meta: TableMetadata, database: str, changes_table: str, *, compacted: bool = False
) -> dict[str, Any]:
    """The view as a Glue table (API shape): what Athena itself writes for CREATE VIEW. With
    compaction the deployed text is the full-history view, which each compaction run replaces
    (docs/analytics.md, "Compaction"); the description says so."""
    sql = current_state_sql(meta, database, changes_table)
    return {
        "Name": view_name(changes_table),
        "Description": f"{meta.table_id} as it is now: latest change per key, deletes removed"
        + (COMPACTED if compacted else ""),
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": encode_view(sql, database, meta),
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": glue_type(c.type)} for c in meta.columns],
            "SerdeInfo": {"Name": "-", "SerializationLibrary": "-"},
        },
    }


def decode_view(original_text: str) -> dict[str, Any]:
    """The JSON inside a Presto view's ViewOriginalText."""
    payload = original_text.removeprefix("/* Presto View: ").removesuffix(" */")
    return json.loads(base64.b64decode(payload))


def duckdb_sql(meta: TableMetadata, database: str, changes_table: str, *, generations: bool = True) -> str:
    """The same view text, translated to DuckDB by sqlglot (for the local sandbox)."""
    import sqlglot

    sql = current_state_sql(meta, database, changes_table, generations=generations)
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]


# --- Redshift ------------------------------------------------------------------------------
# Redshift cannot read Presto-encoded Glue views, so the warehouse gets its own view per
# table: the same Trino text, translated by sqlglot, over the source's external schema,
# as a late-binding view (Redshift requires one over external tables; it also means a
# changed Glue table never breaks the view).


def redshift_schema(source: str) -> str:
    """The schema holding a source's current-state views in the warehouse."""
    return source.replace("-", "_")


def redshift_external_schema(source: str) -> str:
    """The external schema over a source's Glue database (its change tables)."""
    return f"{redshift_schema(source)}_changes"


def redshift_external_schema_sql(source: str, glue_database: str, region: str) -> str:
    """CREATE EXTERNAL SCHEMA over the source's Glue database (idempotent)."""
    # IAM_ROLE default: the namespace's default role (the Spectrum role), not an ARN in SQL.
    return (
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {_q(redshift_external_schema(source))} "
        f"FROM DATA CATALOG DATABASE '{glue_database}' IAM_ROLE default REGION '{region}'"
    )


def redshift_schema_sql(source: str) -> str:
    """CREATE SCHEMA for the source's views (idempotent)."""
    return f"CREATE SCHEMA IF NOT EXISTS {_q(redshift_schema(source))}"


def redshift_view_sql(meta: TableMetadata, source: str, changes_table: str) -> str:
    """``CREATE OR REPLACE VIEW … WITH NO SCHEMA BINDING`` for one table. Redshift replaces a
    view only by one with the same column names and types; when a column was added or
    removed, the warehouse SQL runner drops and creates it in one transaction instead
    (``functions/warehouse_sql/handler.py``)."""
    return f"CREATE OR REPLACE VIEW {_redshift_view_name(source, changes_table)} AS " + _redshift_body(
        meta, source, changes_table
    )


def _redshift_view_name(source: str, changes_table: str) -> str:
    return f"{_q(redshift_schema(source))}.{_q(view_name(changes_table))}"


def _redshift_body(meta: TableMetadata, source: str, changes_table: str) -> str:
    import sqlglot

    select = current_state_sql(meta, redshift_external_schema(source), changes_table)
    return sqlglot.transpile(select, read="trino", write="redshift")[0] + " WITH NO SCHEMA BINDING"
