"""``python -m cloudbridge preflight --source NAME [--stack S]``: is the source ready for CDC?

Connects as the DMS user (password from the environment or the source's own secret —
never the command line, see ``cloudbridge metadata``) and reports, per check, pass or fail
with the fix, before DMS finds out hours after a deploy. Exit status 1 when any blocking
check fails, 2 on bad input or when the source cannot be reached or checked (see
``cloudbridge.cli``). PostgreSQL is checked for real, and whether it is RDS/Aurora is
asked of the server, not guessed from its host name; other engines exit 2 as not checked
unless ``--skip-unchecked`` (docs/source-prerequisites.md lists what they need).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloudbridge import cli
from functions.common.dms import locator_matches
from functions.common.metadata import DmsColumns, name_clashes
from functions.common.typemap import SourceType, UnsupportedTypeError, map_type

LOB_LIMIT_KB = 64  # the task's LobMaxSize (components/dms_settings.py)


from cloudbridge.checks import Check  # noqa: E402  (re-exported: callers import it from here)


def _setting(connection: Any, name: str) -> str | None:
    from sqlalchemy import text

    row = connection.execute(text("select setting from pg_settings where name = :n"), {"n": name}).first()
    return row[0] if row else None


def check_postgres(connection: Any, patterns: list[str], exclude: Sequence[str] = ()) -> list[Check]:
    """Every check, server first, then each table the patterns select; the columns ``exclude``
    (``excludeColumns``) names are not carried, so neither their types nor their sizes matter."""
    checks = _server_checks(connection) + [_heartbeat_check(connection)]
    return checks + _pattern_checks(connection, patterns, list(exclude))


# The endpoint sends WAL heartbeats (HeartbeatEnable); DMS creates their artifacts in the
# endpoint's HeartbeatSchema, left at DMS's default, public. PostgreSQL 15 and later no longer
# grant CREATE on public to every user, so the DMS user needs it explicitly.
HEARTBEAT_SCHEMA = "public"


def _heartbeat_check(connection: Any) -> Check:
    """The DMS user may create DMS's heartbeat artifacts in the heartbeat schema."""
    from sqlalchemy import text

    may_create = connection.execute(
        text(
            "select case when exists (select 1 from pg_namespace where nspname = :s) "
            "then has_schema_privilege(current_user, :s, 'CREATE') else false end"
        ),
        {"s": HEARTBEAT_SCHEMA},
    ).scalar()
    return Check(
        f"heartbeat schema {HEARTBEAT_SCHEMA}",
        bool(may_create),
        "CREATE granted" if may_create else "no CREATE privilege (PostgreSQL 15+ grants none on public by default)",
        f"GRANT CREATE ON SCHEMA {HEARTBEAT_SCHEMA} TO <dms user>",
    )


def is_rds(connection: Any) -> bool:
    """Whether the server is RDS or Aurora, by what it says (its rds_superuser role, its
    rds.* settings): a host name can be a CNAME, a proxy or a tunnel's."""
    from sqlalchemy import text

    return bool(
        connection.execute(
            text(
                "select exists (select 1 from pg_roles where rolname = 'rds_superuser') "
                "or exists (select 1 from pg_settings where name like 'rds.%')"
            )
        ).scalar()
    )


def _server_checks(connection: Any) -> list[Check]:
    """Logical replication, slot and sender headroom, sender timeout, replication grant."""
    from sqlalchemy import text

    def scalar(sql: str, **params: Any) -> Any:
        return connection.execute(text(sql), params).scalar()

    rds = is_rds(connection)
    checks = []
    wal_level = _setting(connection, "wal_level")
    fix = (
        "set rds.logical_replication = 1 in the DB parameter group (Aurora: the cluster parameter group) and reboot"
        if rds
        else "set wal_level = logical in postgresql.conf and restart"
    )
    checks.append(Check("logical replication", wal_level == "logical", f"wal_level is {wal_level}", fix))
    slots, used_slots = (
        int(_setting(connection, "max_replication_slots") or 0),
        scalar("select count(*) from pg_replication_slots"),
    )
    checks.append(
        Check(
            "replication slot headroom",
            slots - used_slots >= 1,
            f"{used_slots} of max_replication_slots {slots} in use",
            "raise max_replication_slots above the number of tasks (and other consumers); restart",
        )
    )
    senders, used_senders = (
        int(_setting(connection, "max_wal_senders") or 0),
        scalar("select count(*) from pg_stat_replication"),
    )
    checks.append(
        Check("WAL sender headroom", senders - used_senders >= 1, f"{used_senders} of max_wal_senders {senders} in use",
              "raise max_wal_senders above the number of tasks; restart")
    )  # fmt: skip
    timeout_ms = int(_setting(connection, "wal_sender_timeout") or 0)
    checks.append(
        Check("wal_sender_timeout", timeout_ms == 0 or timeout_ms >= 10000, f"{timeout_ms} ms",
              "set wal_sender_timeout to 0 or at least 10000 ms")
    )  # fmt: skip
    may_replicate = scalar(
        "select rolreplication or rolsuper or exists (select 1 from pg_roles r where r.rolname = 'rds_replication' "
        "and pg_has_role(current_user, r.oid, 'member')) from pg_roles where rolname = current_user"
    )
    checks.append(
        Check("replication privilege", bool(may_replicate), f"user {scalar('select current_user')} "
              f"{'may' if may_replicate else 'may not'} replicate",
              "GRANT rds_replication TO <user>" if rds else "ALTER ROLE <user> REPLICATION")
    )  # fmt: skip
    return checks


def _pattern_checks(connection: Any, patterns: list[str], exclude: list[str]) -> list[Check]:
    """Each pattern selects at least one table; each selected table's own checks."""
    from sqlalchemy import text

    checks = []
    tables = connection.execute(
        text(
            "select n.nspname, c.relname, c.oid, c.relreplident "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')"
        )
    ).all()
    for pattern in patterns:
        schema_pattern, table_pattern = pattern.split(".", 1)
        matched = [t for t in tables if locator_matches(schema_pattern, t[0]) and locator_matches(table_pattern, t[1])]
        checks.append(Check(f"tables {pattern}", bool(matched), f"{len(matched)} table(s) match",
                            "create the table, or correct the pattern in the stack file"))  # fmt: skip
        for schema, table, oid, identity in sorted(matched):
            checks += _table_checks(connection, schema, table, oid, identity, exclude)
    return checks


def _table_checks(connection: Any, schema: str, table: str, oid: int, identity: str, exclude: list[str]) -> list[Check]:
    from sqlalchemy import text

    name = f"{schema}.{table}"
    out = []
    can_read = connection.execute(
        text("select has_table_privilege(current_user, cast(:oid as oid), 'SELECT')"), {"oid": oid}
    ).scalar()
    out.append(Check(f"{name}: SELECT", bool(can_read), "granted" if can_read else "not granted",
                     f"GRANT SELECT ON {name} TO <user>"))  # fmt: skip
    out.append(_replica_identity(connection, name, oid, identity))
    return out + _column_checks(connection, schema, table, oid, bool(can_read), exclude)


def _replica_identity(connection: Any, name: str, oid: int, identity: str) -> Check:
    """What the table's replica identity lets logical decoding carry for updates and deletes:
    default needs a primary key, index needs its index, full always works, nothing never."""
    from sqlalchemy import text

    has_key, has_index = connection.execute(
        text(
            "select coalesce(bool_or(indisprimary), false), coalesce(bool_or(indisreplident), false) "
            "from pg_index where indrelid = cast(:oid as oid)"
        ),
        {"oid": oid},
    ).one()
    lost = "updates and deletes are lost"
    if identity == "f":
        ok, detail, fix = True, "full", ""
    elif identity == "i":
        ok, detail = has_index, "index" if has_index else f"index, but the index is gone: {lost}"
        fix = f"ALTER TABLE {name} REPLICA IDENTITY DEFAULT (with a primary key) or FULL"
    elif identity == "n":
        ok, detail = False, "nothing: updates and deletes cannot be captured"
        fix = f"ALTER TABLE {name} REPLICA IDENTITY DEFAULT" + ("" if has_key else " after adding a primary key")
    else:
        ok, detail = has_key, "default (primary key)" if has_key else f"default without a primary key: {lost}"
        fix = f"add a primary key (or ALTER TABLE {name} REPLICA IDENTITY FULL)"
    return Check(f"{name}: replica identity", ok, detail, fix)


def _type_fix(source: SourceType) -> str:
    """The fix for a column whose values DMS changes (truncates, or writes as a string)."""
    if source.precision and source.precision > 38:
        return (
            f"DMS writes numeric({source.precision},{source.scale or 0}) as a string: narrow it to numeric(38,s) or "
            "less if its values fit, or keep it: the metadata already types it string"
        )
    return "give the column an explicit precision"


def _column_checks(
    connection: Any, schema: str, table: str, oid: int, can_read: bool, exclude: list[str]
) -> list[Check]:
    """Each carried column's type maps to parquet and its LOBs fit DMS's limit today; Athena can tell
    the carried columns apart. ``exclude``: the source's excludeColumns."""
    from sqlalchemy import text

    from cloudbridge.metadata import column_excluded

    name, out, kept = f"{schema}.{table}", [], []
    columns = connection.execute(
        text(
            "select a.attname, format_type(a.atttypid, a.atttypmod), t.typname, a.atttypmod, t.typcategory "
            "from pg_attribute a join pg_type t on t.oid = a.atttypid "
            "where a.attrelid = cast(:oid as oid) and a.attnum > 0 and not a.attisdropped order by a.attnum"
        ),
        {"oid": oid},
    ).all()
    for column, declared, typname, typmod, category in columns:
        where = f"{name}.{column}"
        if any(column_excluded(e, schema, table, column) for e in exclude):
            out.append(Check(f"{where}: excluded", True, "excludeColumns keeps it out: DMS does not carry it"))
            continue
        kept.append(column)
        source = _source_type(declared, typname, typmod, category)
        try:
            mapped = map_type("postgres", source, where)
        except UnsupportedTypeError as exc:
            out.append(Check(f"{where}: type", False, str(exc), "exclude the column or cast it in a view"))
            continue
        if mapped.lob:
            longest = None
            if can_read:  # reads the column once: how far today's values are from the limit
                quoted = '"' + column.replace('"', '""') + '"'
                longest = connection.execute(
                    text(f'select coalesce(max(octet_length({quoted}::text)), 0) from "{schema}"."{table}"')
                ).scalar()
            over = longest is not None and longest > LOB_LIMIT_KB * 1024
            seen = "" if longest is None else f"; longest value now {longest:,} bytes"
            out.append(
                Check(
                    f"{where}: LOB",
                    not over,
                    f"{declared} is carried as a LOB (limit {LOB_LIMIT_KB} KB, larger values fail the task){seen}",
                    "shorten the values or raise LobMaxSize before the first load",
                    blocking=over,
                )
            )
        for note in mapped.notes:
            if "truncates" in note or "string" in note:
                out.append(Check(f"{where}: type", False, note, _type_fix(source), blocking=False))
    return out + [_names_check(name, kept)]


def _names_check(name: str, columns: list[str]) -> Check:
    """Athena lower-cases names and the Glue table adds the DMS columns and the partition key."""
    clashes = name_clashes(columns, DmsColumns())
    detail = "; ".join(clashes) or "Athena can tell every carried column apart"
    fix = "leave one out with excludeColumns, or rename it at the source"
    return Check(f"{name}: column names", not clashes, detail, fix)


PG_TYPE_NAMES = {
    "int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT", "float4": "REAL", "float8": "DOUBLE PRECISION",
    "bool": "BOOLEAN", "timetz": "TIMETZ", "timestamptz": "TIMESTAMPTZ", "bpchar": "CHAR",
}  # fmt: skip


def _source_type(declared: str, typname: str, typmod: int, category: str) -> SourceType:
    if category == "A":
        return SourceType(typname.lstrip("_").upper(), is_array=True)
    name = PG_TYPE_NAMES.get(typname, typname.upper())
    precision = scale = length = None
    if typname == "numeric" and typmod >= 4:
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    if typname in ("varchar", "bpchar") and typmod >= 4:
        length = typmod - 4
    if category == "E":
        name = "ENUM"
    return SourceType(name, precision=precision, scale=scale, length=length)


@cli.command("preflight")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge preflight``: check a source database is ready for DMS; exit 1 on a blocking failure."""
    from cloudbridge import metadata, source_init, stackfile

    parser = cli.parser("preflight", __doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="source name in cloudbridge:sources")
    parser.add_argument("--stack", default="dev", help="stack file naming the source (default: dev)")
    metadata.add_credential_options(parser)
    parser.add_argument(
        "--skip-unchecked", action="store_true", help="exit 0 for an engine preflight cannot check (else exit 2)"
    )
    args = parser.parse_args(argv)

    entry = stackfile.source_entry(args.stack, args.source)
    if entry.get("engine") == "dynamodb":  # its tables, through the DynamoDB API (docs/dynamodb.md)
        from cloudbridge import dynamodb_preflight

        return dynamodb_preflight.run(entry, args.stack)
    entry = source_init.resolved(entry, args.stack)  # a provisioned database: its instance and secret
    if entry.get("engine") != "postgres":
        note = (f"{args.source} is {entry.get('engine')}: preflight checks PostgreSQL sources only; "
                "check it by hand with docs/source-prerequisites.md")  # fmt: skip
        if not args.skip_unchecked:
            raise cli.CommandError(f"{note} (--skip-unchecked to exit 0)")
        print(f"NOT CHECKED  {note}")
        return cli.OK
    checks = _run_checks(
        metadata.source_url(entry, args.stack, args.from_secret), args.source, entry, args.connect_timeout
    )
    for check in checks:
        print(check.line())
    blocking = [c for c in checks if not c.ok and c.blocking]
    warnings = sum(not c.ok and not c.blocking for c in checks)
    print(f"{len(checks)} checks: {len(blocking)} blocking failure(s), {warnings} warning(s)")
    return cli.FINDINGS if blocking else cli.OK


def _run_checks(url: str, source: str, entry: dict[str, Any], timeout: int) -> list[Check]:
    from sqlalchemy.exc import SQLAlchemyError

    from cloudbridge.metadata import database_problem, selected_patterns

    try:
        return checks_of(url, selected_patterns(entry), entry.get("excludeColumns") or [], timeout)
    except SQLAlchemyError as exc:  # name the source, never the DSN
        raise cli.CommandError(f"cannot check source {source!r}: {database_problem(exc)}") from None


def checks_of(url: str, patterns: list[str], exclude: Sequence[str], timeout: int) -> list[Check]:
    """Every check of the PostgreSQL source at ``url`` (one connection, closed after)."""
    from cloudbridge.metadata import source_engine

    engine = source_engine(url, timeout)
    try:
        with engine.connect() as connection:
            return check_postgres(connection, patterns, exclude)
    finally:
        engine.dispose()
