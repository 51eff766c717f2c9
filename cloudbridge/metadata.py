"""``python -m cloudbridge metadata {extract,diff}``: table metadata from the live source.

extract  inspects the selected ``schema.table`` patterns (``tables`` and ``addedTables``) with
         SQLAlchemy's inspector and writes ``metadata/<source>/<schema>/<table>.json`` (stable
         order and text, so an unchanged database gives no diff), reporting tables without a
         primary key and LOB columns at risk of truncation. Columns the source's
         ``excludeColumns`` names are left out of ``columns`` and listed under ``excluded``.
diff     compares the live schema with the committed files and exits 1 listing every
         change: the scheduled drift check.

A DynamoDB source has no schema to inspect: its attributes are read from a sample of each
table's items (``cloudbridge.dynamodb_metadata``, ``--sample``).

Credentials come from the environment (``CLOUDBRIDGE_DSN``, or ``CLOUDBRIDGE_DB_USER`` with
``CLOUDBRIDGE_DB_PASSWORD``/``PGPASSWORD`` and host, port and database from the stack file)
or the source's credentials secret (``--from-secret``) — never from the command line — and
are never written anywhere. A ``postgres://`` or ``postgresql://`` DSN is read as
``postgresql+psycopg://``. Exit status 1 when ``diff`` finds drift (see ``cloudbridge.cli``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cloudbridge import cli
from cloudbridge import dynamodb_metadata as ddbm
from cloudbridge.dynamodb_metadata import DYNAMODB_SAMPLE
from cloudbridge.extraction_report import Report
from cloudbridge.stackfile import source_entry
from components.workspace import metadata_root
from functions.common.dms import locator_matches
from functions.common.metadata import Column, DmsColumns, TableMetadata, name_clashes
from functions.common.typemap import SourceType, UnsupportedTypeError, cast_by_the_task, map_type

DRIVERS = {
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "sqlserver": "mssql+pymssql",
    "oracle": "oracle+oracledb",
}
# Schemes a DSN is commonly written with (libpq, Heroku, RDS consoles) for the driver installed.
DSN_ALIASES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
CONNECT_TIMEOUT_S = 10
CLASHES = (
    "column names Athena cannot tell apart (it lower-cases them; the DMS columns and the partition key "
    "share the table): leave one out with excludeColumns or rename it at the source"
)


class ExclusionError(ValueError):
    """An ``excludeColumns`` entry the pipeline cannot honour (a primary-key or DMS column)."""


def exclusions_for(exclude: Sequence[str], schema: str, table: str) -> list[str]:
    """The column patterns of the ``schema.table.column`` exclusions that apply to one table."""
    out = []
    for entry in exclude:
        s, t, column = entry.split(".")
        if locator_matches(s, schema) and locator_matches(t, table) and column not in out:
            out.append(column)
    return out


# --- inspection -----------------------------------------------------------------------------


def select_tables(inspector: Any, patterns: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The (schema, table) pairs the ``schema.table`` glob patterns select, and the patterns that selected nothing."""
    selected: set[tuple[str, str]] = set()
    unmatched = []
    schemas = inspector.get_schema_names()
    for pattern in patterns:
        schema_pattern, table_pattern = pattern.split(".", 1)
        matched = {
            (s, t)
            for s in schemas
            if locator_matches(schema_pattern, s)
            for t in inspector.get_table_names(schema=s)
            if locator_matches(table_pattern, t)
        }
        if not matched:
            unmatched.append(pattern)
        selected |= matched
    return sorted(selected), unmatched


def source_type(sa_type: Any, fallback_name: str | None = None) -> SourceType:
    """SQLAlchemy's view of a column type, reduced to what the type mapping needs."""
    from sqlalchemy import types as sqltypes

    if isinstance(sa_type, sqltypes.ARRAY):
        return SourceType("ARRAY", is_array=True)
    name = type(sa_type).__name__.upper()
    if isinstance(sa_type, sqltypes.NullType):
        name = (fallback_name or "UNKNOWN").upper()
    elif isinstance(sa_type, sqltypes.Enum):
        name = "ENUM"
    aliases = {"DOUBLE_PRECISION": "DOUBLE PRECISION", "TIMESTAMP": "TIMESTAMP", "DATETIME": "DATETIME"}
    name = aliases.get(name, name)
    length = getattr(sa_type, "length", None)
    return SourceType(
        name=name,
        precision=getattr(sa_type, "precision", None),
        scale=getattr(sa_type, "scale", None),
        length=length if isinstance(length, int) else None,
        unsigned=bool(getattr(sa_type, "unsigned", False)),
        timezone=bool(getattr(sa_type, "timezone", False)),
    )


def _declared_type(connection: Any, schema: str, table: str, column: str) -> str | None:
    """The database's own name for a type SQLAlchemy does not know."""
    from sqlalchemy import text

    try:
        row = connection.execute(
            text(
                "select data_type from information_schema.columns "
                "where table_schema = :s and table_name = :t and column_name = :c"
            ),
            {"s": schema, "t": table, "c": column},
        ).first()
    except Exception:
        return None
    return row[0] if row else None


def inspect_source(
    url: str,
    source: str,
    engine_kind: str,
    patterns: Sequence[str],
    timestamp_unit: str = "ms",
    connect_timeout: int = CONNECT_TIMEOUT_S,
    *,
    exclude: Sequence[str] = (),
) -> Report:
    """Read the selected tables' columns, types and keys from a live source database into table
    metadata, leaving out the columns ``exclude`` (``schema.table.column`` patterns) names."""
    import warnings

    from sqlalchemy import exc as sa_exc
    from sqlalchemy import inspect

    engine = source_engine(url, connect_timeout)
    report = Report()
    try:
        with engine.connect() as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore", sa_exc.SAWarning)  # unknown types are reported below
            inspector = inspect(connection)
            selected, report.unmatched_patterns = select_tables(inspector, patterns)
            extraction = _Extraction(connection, inspector, source, engine_kind, timestamp_unit, list(exclude), report)
            report.tables += [extraction.table(schema, table) for schema, table in selected]
            report.unmatched_exclusions = [e for e in exclude if e not in extraction.used]
            findings = [("unsupported column types", extraction.problems), (CLASHES, extraction.clashes)]
            if extraction.problems or extraction.clashes:
                text = (f"{what}:\n  " + "\n  ".join(found) for what, found in findings if found)
                raise UnsupportedTypeError("\n".join(text))
    finally:
        engine.dispose()
    return report


@dataclass
class _Extraction:
    """One inspection of a source: what every table's metadata is read with, and what it found."""

    connection: Any
    inspector: Any
    source: str
    engine_kind: str
    timestamp_unit: str
    exclude: list[str]
    report: Report
    problems: list[str] = field(default_factory=list)  # unsupported column types
    clashes: list[str] = field(default_factory=list)  # names Athena cannot tell apart
    used: set[str] = field(default_factory=set)  # exclusions that matched a column

    def table(self, schema: str, table: str) -> TableMetadata:
        """One table's metadata; its excluded columns are neither mapped nor listed in ``columns``
        (a type the mapping does not support is no obstacle to excluding its column)."""
        excluded = tuple(sorted(exclusions_for(self.exclude, schema, table)))
        kept = [n for n in sorted(DmsColumns().names()) for p in excluded if locator_matches(p, n)]
        if kept:
            raise ExclusionError(
                f"excludeColumns would remove {kept} from {schema}.{table}: every file must carry them"
            )
        primary_key = tuple(self.inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or ())
        columns = []
        for raw in self.inspector.get_columns(table, schema=schema):
            hits = [e for e in self.exclude if column_excluded(e, schema, table, raw["name"])]
            if not hits:
                column = _column(
                    self.connection,
                    self.engine_kind,
                    (schema, table),
                    raw,
                    self.timestamp_unit,
                    self.report,
                    self.problems,
                )
                columns += [column] if column else []
                continue
            if raw["name"] in primary_key:
                raise ExclusionError(
                    f"excludeColumns {', '.join(hits)} names {schema}.{table}.{raw['name']}, a primary-key column: "
                    "the current-state views and DMS's updates and deletes need it"
                )
            self.used.update(hits)
            self.report.excluded_columns.append(f"{schema}.{table}.{raw['name']}")
            if self._cast_by_the_task(schema, table, raw):
                self.report.excluded_and_cast.append(f"{schema}.{table}.{raw['name']}")
        if not primary_key:
            self.report.without_primary_key.append(f"{schema}.{table}")
        self.clashes += [f"{schema}.{table}: {c}" for c in name_clashes([c.name for c in columns], DmsColumns())]
        return TableMetadata(
            source=self.source,
            engine=self.engine_kind,
            schema=schema,
            table=table,
            columns=tuple(columns),
            primary_key=primary_key,
            excluded=excluded,
        )

    def _cast_by_the_task(self, schema: str, table: str, raw: dict[str, Any]) -> bool:
        """Whether the task's TIME-to-text rule also transforms this (excluded) column."""
        declared = _declared_type(self.connection, schema, table, raw["name"])
        try:
            mapped = map_type(self.engine_kind, source_type(raw["type"], declared), f"{schema}.{table}", "ms")
        except UnsupportedTypeError:
            return False
        return cast_by_the_task(mapped)


def column_excluded(entry: str, schema: str, table: str, column: str) -> bool:
    """Whether the ``schema.table.column`` exclusion names this column."""
    s, t, c = entry.split(".")
    return locator_matches(s, schema) and locator_matches(t, table) and locator_matches(c, column)


def _column(
    connection: Any,
    engine_kind: str,
    table: tuple[str, str],
    raw: dict[str, Any],
    timestamp_unit: str,
    report: Report,
    problems: list[str],
) -> Column | None:
    """One column's metadata; None (and a problem noted) when its type is not supported."""
    schema, name = table
    where = f"{schema}.{name}.{raw['name']}"
    declared = _declared_type(connection, schema, name, raw["name"])
    try:
        mapped = map_type(engine_kind, source_type(raw["type"], declared), where, timestamp_unit)
    except UnsupportedTypeError as exc:
        problems.append(str(exc))
        return None
    try:
        compiled = raw["type"].compile(dialect=connection.dialect)
    except Exception:
        compiled = declared or str(raw["type"])
    if mapped.lob:
        report.lob_columns.append(where)
    report.notes += [f"{where}: {n}" for n in mapped.notes if not mapped.lob]
    return Column(
        name=raw["name"],
        type=mapped.type,
        nullable=bool(raw.get("nullable", True)),
        accept=mapped.accept,
        source_type=str(compiled).lower(),
    )


# --- files ----------------------------------------------------------------------------------


def table_path(root: Path, source: str, schema: str, table: str) -> Path:
    """Where a table's committed metadata file lives."""
    return root / source / schema / f"{table}.json"


def committed(root: Path, source: str) -> dict[str, TableMetadata]:
    """The committed metadata of a source's tables, by ``schema.table``."""
    out = {}
    for path in sorted((root / source).glob("*/*.json")):
        meta = TableMetadata.from_json(path.read_text(), str(path))
        out[meta.table_id] = meta
    return out


def write(root: Path, tables: Iterable[TableMetadata], prune: bool = False) -> tuple[list[Path], list[Path]]:
    """Write each table's file (only when its text changed); optionally remove the others."""
    written, removed = [], []
    tables = list(tables)
    keep = set()
    for meta in tables:
        path = table_path(root, meta.source, meta.schema, meta.table)
        keep.add(path)
        text = meta.to_json()
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    if prune and tables:
        for path in sorted((root / tables[0].source).glob("*/*.json")):
            if path not in keep:
                path.unlink()
                removed.append(path)
    return written, removed


def diff(old: dict[str, TableMetadata], new: dict[str, TableMetadata]) -> list[str]:
    """Every difference between committed (old) and live (new) metadata, stable order."""
    changes = []
    for table_id in sorted(set(old) | set(new)):
        if table_id not in new:
            changes.append(f"{table_id}: table no longer in the source (or no longer selected)")
            continue
        if table_id not in old:
            changes.append(f"{table_id}: new table, no committed metadata")
            continue
        a, b = old[table_id], new[table_id]
        a_cols, b_cols = {c.name: c for c in a.columns}, {c.name: c for c in b.columns}
        for name in [c.name for c in b.columns if c.name not in a_cols]:
            changes.append(f"{table_id}.{name}: column added ({b_cols[name].type})")
        for name in [c.name for c in a.columns if c.name not in b_cols]:
            changes.append(f"{table_id}.{name}: column dropped")
        for name in [c.name for c in a.columns if c.name in b_cols]:
            x, y = a_cols[name], b_cols[name]
            if (x.type, x.accept) != (y.type, y.accept):
                changes.append(
                    f"{table_id}.{name}: type {x.type} -> {y.type} (source {x.source_type} -> {y.source_type})"
                )
            elif x.source_type != y.source_type:
                changes.append(f"{table_id}.{name}: source type {x.source_type} -> {y.source_type}")
            if x.nullable != y.nullable:
                changes.append(f"{table_id}.{name}: nullable {x.nullable} -> {y.nullable}")
        if a.primary_key != b.primary_key:
            changes.append(f"{table_id}: primary key {list(a.primary_key)} -> {list(b.primary_key)}")
        if a.excluded != b.excluded:
            changes.append(f"{table_id}: excluded {list(a.excluded)} -> {list(b.excluded)}")
        if [c.name for c in a.columns if c.name in b_cols] != [c.name for c in b.columns if c.name in a_cols]:
            changes.append(f"{table_id}: column order changed")
    return changes


# --- CLI ------------------------------------------------------------------------------------


def source_engine(url: str, connect_timeout: int = CONNECT_TIMEOUT_S) -> Any:
    """A SQLAlchemy engine for the source that gives up connecting after ``connect_timeout`` seconds
    (a port that accepts TCP and never answers would otherwise hang the command)."""
    from sqlalchemy import create_engine

    timeout = {"connect_timeout": connect_timeout} if url.startswith("postgresql+psycopg://") else {}
    return create_engine(url, connect_args=timeout)


def database_problem(exc: BaseException) -> str:
    """A database error in one line, with the driver's reason (which never holds the password)."""
    orig = getattr(exc, "orig", None) or exc
    reason = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {reason}; check the host, port, network path and credentials"


def _dsn(dsn: str, engine: str | None) -> str:
    """``CLOUDBRIDGE_DSN`` with its scheme normalised to the installed driver; CommandError (never
    quoting the DSN: it holds a password) when the scheme is not one for the source's engine."""
    scheme, sep, rest = dsn.partition("://")
    scheme = DSN_ALIASES.get(scheme.lower(), scheme.lower())
    accepted = [DRIVERS[engine]] if engine in DRIVERS else list(DRIVERS.values())
    if not sep or scheme not in accepted:
        form = " | ".join(accepted)
        also = " (postgres:// and postgresql:// are read as postgresql+psycopg://)" if engine == "postgres" else ""
        raise cli.CommandError(
            f"CLOUDBRIDGE_DSN must look like {form}://user:password@host:port/database "
            f"for this {engine or 'source'} source{also}; its value is not shown"
        )
    url = f"{scheme}://{rest}"
    # An unescaped @ would send part of the password to DNS, and into the driver's error message.
    if rest.split("/", 1)[0].count("@") > 1 or not _parses(url):
        raise cli.CommandError(
            "CLOUDBRIDGE_DSN is not a valid URL: user:password@host:port/database, with @ : / % in the "
            "password escaped as %40 %3A %2F %25; its value is not shown"
        )
    return url


def _parses(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError):
        return False
    return True


def connection_url(entry: dict[str, Any], from_secret: bool = False, secrets: Any = None) -> str:
    """How to reach the source, never from the command line (argv is visible to every
    process on the machine and lands in shell history): ``CLOUDBRIDGE_DSN``; or the stack
    file's host, port and database with ``CLOUDBRIDGE_DB_USER`` and ``CLOUDBRIDGE_DB_PASSWORD``
    (or ``PGPASSWORD``); or, with ``from_secret``, the source's own credentials secret read
    through ``secrets`` (a Secrets Manager client in the stack's region)."""
    dsn = os.environ.get("CLOUDBRIDGE_DSN")
    if dsn:
        return _dsn(dsn, entry.get("engine"))
    user = os.environ.get("CLOUDBRIDGE_DB_USER")
    password = os.environ.get("CLOUDBRIDGE_DB_PASSWORD") or os.environ.get("PGPASSWORD")
    if from_secret:
        arn = entry["credentialsSecretArn"]
        try:
            value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
            user, password = value.get("username"), value.get("password")
        except (ValueError, AttributeError):
            raise cli.CommandError(f"secret {arn} does not hold JSON with username and password") from None
    if not user:
        raise cli.CommandError(
            "no credentials: set CLOUDBRIDGE_DSN, or CLOUDBRIDGE_DB_USER with CLOUDBRIDGE_DB_PASSWORD "
            "(or PGPASSWORD), or pass --from-secret to read the source's credentials secret"
        )
    secret = f":{quote(password, safe='')}" if password else ""
    where = f"{entry['host']}:{entry['port']}/{entry['database']}"
    return f"{DRIVERS[entry['engine']]}://{quote(user, safe='')}{secret}@{where}"


def source_url(entry: dict[str, Any], stack: str, from_secret: bool) -> str:
    """``connection_url`` for a command's ``--stack`` and ``--from-secret`` (the secret read in the stack's region)."""
    return connection_url(entry, from_secret, cli.aws_client("secretsmanager", stack) if from_secret else None)


def add_credential_options(parser: Any) -> None:
    """``--from-secret`` and ``--connect-timeout``, as every command reaching a source has them."""
    parser.add_argument(
        "--from-secret",
        action="store_true",
        help="read user and password from the source's credentialsSecretArn (AWS credentials needed); "
        "otherwise CLOUDBRIDGE_DSN, or CLOUDBRIDGE_DB_USER with CLOUDBRIDGE_DB_PASSWORD or PGPASSWORD",
    )
    parser.add_argument(
        "--connect-timeout",
        type=int,
        default=CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"give up connecting to the source after this long (default {CONNECT_TIMEOUT_S}, at least 2)",
    )


def selected_patterns(entry: dict[str, Any]) -> list[str]:
    """Every ``schema.table`` pattern a stack entry selects: ``tables``, then each ``addedTables`` list."""
    return [*entry["tables"], *(t for batch in entry.get("addedTables") or [] for t in batch)]


@cli.command("metadata")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge metadata extract|diff``: write or compare a source's table metadata."""
    from sqlalchemy.exc import SQLAlchemyError

    parser = cli.parser("metadata", __doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "diff"])
    parser.add_argument("--stack", default="dev", help="stack file naming the source (default: dev)")
    parser.add_argument("--source", required=True, help="source name in cloudbridge:sources")
    add_credential_options(parser)
    parser.add_argument("--metadata-dir", type=Path, default=metadata_root())
    parser.add_argument("--prune", action="store_true", help="extract: delete files of tables no longer selected")
    parser.add_argument(
        "--sample",
        type=int,
        default=DYNAMODB_SAMPLE,
        metavar="ITEMS",
        help=f"a DynamoDB source: items scanned per table to find its attributes (default {DYNAMODB_SAMPLE})",
    )
    args = parser.parse_args(argv)

    entry = source_entry(args.stack, args.source)
    if entry.get("engine") == "dynamodb":
        return _dynamodb(args, entry)
    from cloudbridge import source_init

    entry = source_init.resolved(entry, args.stack)  # a provisioned database: its instance and secret
    url = source_url(entry, args.stack, args.from_secret)
    try:
        report = inspect_source(
            url,
            args.source,
            entry["engine"],
            selected_patterns(entry),
            entry.get("timestampUnit", "ms"),
            args.connect_timeout,
            exclude=list(entry.get("excludeColumns") or []),
        )
    except ExclusionError as exc:  # the stack file asks for what the pipeline cannot do
        raise cli.CommandError(f"source {args.source!r}: {exc}; remove it from excludeColumns") from None
    except UnsupportedTypeError as exc:  # a finding about the source (preflight reports it as a failed check)
        print(f"cloudbridge metadata: {exc}", file=sys.stderr)
        return cli.FINDINGS
    except SQLAlchemyError as exc:  # name the source, never the DSN
        raise cli.CommandError(f"cannot inspect source {args.source!r}: {database_problem(exc)}") from None
    for line in report.lines():
        print(line, file=sys.stderr)
    if args.command == "extract":
        _extract(args, report)
        return cli.OK
    live = {t.table_id: t for t in report.tables}
    changes = diff(committed(args.metadata_dir, args.source), live)
    if changes:
        print(json.dumps({"source": args.source, "drift": changes}, indent=2))
        return cli.FINDINGS
    print(f"no drift: {len(live)} table(s) of {args.source} match the committed metadata")
    return cli.OK


def _dynamodb(args: Any, entry: dict[str, Any]) -> int:
    """extract|diff for a DynamoDB source: its tables' attributes from a sample of their items."""
    from botocore.exceptions import BotoCoreError, ClientError

    if args.sample < 1:
        raise cli.CommandError(f"--sample must be at least 1, not {args.sample}")
    client = cli.aws_client("dynamodb", args.stack)
    try:
        if args.command == "diff":
            samples = [ddbm.sample_table(client, t, args.sample) for t in entry["tables"]]
            changes = ddbm.drift(committed(args.metadata_dir, args.source), samples)
            if changes:
                print(json.dumps({"source": args.source, "drift": changes}, indent=2))
                return cli.FINDINGS
            print(f"no drift: {len(samples)} table(s) of {args.source} match the committed metadata (sampled)")
            return cli.OK
        report = ddbm.inspect_dynamodb(client, args.source, entry["tables"], args.sample)
    except UnsupportedTypeError as exc:
        print(f"cloudbridge metadata: {exc}", file=sys.stderr)
        return cli.FINDINGS
    except (BotoCoreError, ClientError) as exc:
        raise cli.CommandError(f"cannot sample the tables of source {args.source!r}: {exc}") from None
    for line in report.lines():
        print(line, file=sys.stderr)
    _extract(args, report)
    return cli.OK


def _extract(args: Any, report: Report) -> None:
    written, removed = write(args.metadata_dir, report.tables, prune=args.prune)
    for path in written:
        print(f"wrote {path}")
    for path in removed:
        print(f"removed {path}")
    if not written and not removed:
        print("metadata unchanged")
