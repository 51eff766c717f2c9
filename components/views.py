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
# The raw-history key keeps that name (plus the file's ETag, so loads never collide): each
# LOAD00000001 file opens a load generation, whose start is the earliest DMS timestamp in it.
GENERATION_FILE = "%/LOAD00000001-%"
PATH_COLUMN = "$path"  # the object a row came from (Athena, Redshift Spectrum; the sandbox adds it)


def current_state_sql(meta: TableMetadata, database: str, changes_table: str, *, generations: bool = True) -> str:
    """The view's SQL (Trino). Raises NoOrderingColumnError for a table without ordering.

    Rows older than the newest load generation are ignored: the newest full load is the
    table as it was when that load began, and only changes committed since then apply on
    top of it (``docs/analytics.md``). ``generations=False`` drops that rule: only to show
    what a plain union of loads would get wrong."""
    if not meta.dms.change_sequence:
        raise NoOrderingColumnError(
            f"{meta.table_id}: its metadata names no change-sequence column (dmsColumns.changeSequence), "
            "so changes cannot be ordered; no current-state view"
        )
    if not meta.primary_key:
        raise NoOrderingColumnError(f"{meta.table_id}: no primary key, so rows cannot be matched to their changes")
    columns = ", ".join(_q(c.name) for c in meta.columns)
    keys = ", ".join(_q(k) for k in meta.primary_key)
    stamp = _q(meta.dms.timestamp)
    changes = f"{_q(database)}.{_q(changes_table)}"
    # Full-load rows have no sequence and sort first; ties (none expected) go to the newer row.
    order = f"COALESCE({_q(meta.dms.change_sequence)}, '') DESC, {stamp} DESC"
    newest = ""
    if generations:
        newest = (
            f" WHERE {stamp} >= COALESCE((SELECT max(_cb_start) FROM ("
            f"SELECT min({stamp}) AS _cb_start FROM {changes} WHERE {_q(PATH_COLUMN)} LIKE '{GENERATION_FILE}' "
            f"GROUP BY {_q(PATH_COLUMN)}) AS _cb_loads), '')"
        )
    return (
        f"SELECT {columns} FROM ("
        f"SELECT {columns}, {_q(meta.dms.op)} AS _cb_op, "
        f"row_number() OVER (PARTITION BY {keys} ORDER BY {order}) AS _cb_rank "
        f"FROM {changes}{newest}"
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


def view_table_input(meta: TableMetadata, database: str, changes_table: str) -> dict[str, Any]:
    """The view as a Glue table (API shape): what Athena itself writes for CREATE VIEW."""
    sql = current_state_sql(meta, database, changes_table)
    encoded = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": c.name, "type": presto_type(c.type)} for c in meta.columns],
    }
    return {
        "Name": view_name(changes_table),
        "Description": f"{meta.table_id} as it is now: latest change per key, deletes removed",
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": "/* Presto View: " + base64.b64encode(json.dumps(encoded).encode()).decode() + " */",
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
    """``CREATE OR REPLACE VIEW … WITH NO SCHEMA BINDING`` for one table (idempotent)."""
    import sqlglot

    select = current_state_sql(meta, redshift_external_schema(source), changes_table)
    body = sqlglot.transpile(select, read="trino", write="redshift")[0]
    name = f"{_q(redshift_schema(source))}.{_q(view_name(changes_table))}"
    return f"CREATE OR REPLACE VIEW {name} AS {body} WITH NO SCHEMA BINDING"
