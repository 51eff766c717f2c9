"""``python -m cloudbridge source-init --stack S --source NAME``: the DMS user of a database
CloudBridge provisioned (``provision:``), created once, from inside the VPC.

The master user RDS keeps in Secrets Manager is not fit for DMS, and creating a user needs SQL
on the database, which only the VPC reaches (CI does not). This command, run from a host the
database's security group admits (``provision.adminSecurityGroupId``): finds the instance
(``cb-<env>-<source>-db``) and its master secret, connects as the master user over TLS, creates
or updates the DMS user with exactly the privileges docs/source-prerequisites.md lists — the
replication grant (``rds_replication`` on RDS), USAGE and SELECT on the selected tables' schemas
(and SELECT on the tables the master user creates there later), USAGE and CREATE on the
heartbeat schema ``public`` — and stores its credentials in the secret the program created
(``cb-<env>-<source>-dms-user``), as DMS reads them. Then set ``provision.dmsUserReady: true``
and deploy: the replication starts.

Running it again changes nothing (the stored password is kept unless ``--rotate-password``);
after tables appear in a schema that did not exist yet, run it again. Exit 0 when the user is
ready, 1 when a selected schema does not exist yet (the user has every grant that can be given
now), 2 on bad input or when AWS or the database cannot be reached (``cloudbridge.cli``).
The password is generated here, never printed, never on the command line.
"""

from __future__ import annotations

import json
import secrets as random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cloudbridge import cli
from functions.common.dms import locator_matches

HEARTBEAT_SCHEMA = "public"  # the endpoint's HeartbeatSchema, left at DMS's default (preflight checks it)
PASSWORD_BYTES = 32


@dataclass(frozen=True)
class Target:
    """Where the DMS user goes: the stack's names for the source's database and secret."""

    stack: str
    source: str
    database: str
    username: str
    patterns: tuple[str, ...]  # schema.table patterns the source selects
    instance_identifier: str
    secret_name: str


@dataclass
class Outcome:
    """What source-init did and what it could not do yet."""

    actions: list[str] = field(default_factory=list)
    missing_schemas: list[str] = field(default_factory=list)


def target(stack: str, source: str) -> Target:
    """The provisioned source's names from its stack file; CommandError when it is not provisioned."""
    from cloudbridge import stackfile
    from components.database import dms_secret_name, instance_identifier
    from components.naming import Naming

    entry = stackfile.source_entry(stack, source)
    provision = entry.get("provision")
    if not isinstance(provision, dict):
        raise cli.CommandError(
            f"source {source!r} has no provision: in Pulumi.{stack}.yaml; source-init creates the DMS user of a "
            "database CloudBridge provisions (for your own database: docs/source-prerequisites.md)"
        )
    if entry.get("engine") != "postgres":
        raise cli.CommandError(f"source {source!r}: provision creates PostgreSQL; set engine: postgres")
    config = stackfile.load(stack)
    account = config.get("cloudbridge:account")
    account_id = str(account.get("id", "")) if isinstance(account, dict) else ""
    naming = Naming(environment=stack, account_id=account_id, region=stackfile.region(stack))
    added = [table for batch in entry.get("addedTables") or [] for table in batch]
    return Target(
        stack=stack,
        source=source,
        database=str(entry.get("database")),
        username=str(provision.get("dmsUsername") or "cloudbridge_dms"),
        patterns=(*(entry.get("tables") or []), *added),
        instance_identifier=instance_identifier(naming, source),
        secret_name=dms_secret_name(naming, source),
    )


# --- AWS: the instance, its master secret, the DMS user's secret ---------------------------------


def instance(rds: Any, identifier: str) -> dict[str, Any]:
    """The DB instance (available, its password kept by RDS in Secrets Manager)."""
    from botocore.exceptions import ClientError

    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "DBInstanceNotFound":
            raise
        found = []
    if not found:
        raise cli.CommandError(f"no DB instance {identifier}: deploy the stack first (pulumi up)")
    db = found[0]
    if db.get("DBInstanceStatus") != "available":
        raise cli.CommandError(f"DB instance {identifier} is {db.get('DBInstanceStatus')}: run again once available")
    if not (db.get("MasterUserSecret") or {}).get("SecretArn"):
        raise cli.CommandError(
            f"DB instance {identifier} has no master secret in Secrets Manager (ManageMasterUserPassword)"
        )
    return db


def secret_json(client: Any, secret_id: str) -> dict[str, Any] | None:
    """A secret's current JSON value; None when the secret has no value yet."""
    from botocore.exceptions import ClientError

    try:
        text = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        if _exists(client, secret_id):
            return None  # created by the program, no value yet
        raise cli.CommandError(f"no secret {secret_id}: deploy the stack first (pulumi up)") from None
    try:
        value = json.loads(text)
    except ValueError:
        raise cli.CommandError(f"secret {secret_id} does not hold JSON") from None
    return value if isinstance(value, dict) else None


def _exists(client: Any, secret_id: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True


# --- SQL: the user and exactly its grants ---------------------------------------------------------


def role_exists(connection: Any, username: str) -> bool:
    """Whether the role exists already."""
    return connection.execute("select 1 from pg_roles where rolname = %s", (username,)).fetchone() is not None


def create_dms_user(connection: Any, username: str, password: str | None, patterns: Sequence[str]) -> Outcome:
    """The DMS user with exactly the privileges docs/source-prerequisites.md lists; idempotent.

    ``connection`` is a psycopg connection as the master user (autocommit off: one transaction);
    ``password`` None keeps an existing user's password (a new one would change nothing but its salt)."""
    from psycopg import sql

    outcome = Outcome()
    user = sql.Identifier(username)
    exists = role_exists(connection, username)
    statement = sql.SQL("{} {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
        sql.SQL("ALTER ROLE" if exists else "CREATE ROLE"), user
    )
    if password is not None or not exists:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    connection.execute(statement)
    said = "created" if not exists else ("set a new password for" if password is not None else "kept")
    outcome.actions.append(f"{said} role {username} (LOGIN)")
    if _is_rds(connection):
        connection.execute(sql.SQL("GRANT rds_replication TO {}").format(user))
        outcome.actions.append(f"granted rds_replication to {username}")
    else:  # self-managed PostgreSQL (the tests' server): the role attribute is the replication grant
        connection.execute(sql.SQL("ALTER ROLE {} WITH REPLICATION").format(user))
        outcome.actions.append(f"{username} may replicate (REPLICATION)")
    for schema in _schemas(connection, patterns, outcome):
        name = sql.Identifier(schema)
        connection.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, user))
        connection.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(name, user))
        # Tables the master user creates here later are readable too (others': run source-init again).
        connection.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(name, user)
        )
        outcome.actions.append(f"USAGE and SELECT (now and on later tables) in schema {schema}")
    connection.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(sql.Identifier(HEARTBEAT_SCHEMA), user))
    outcome.actions.append(f"USAGE and CREATE on the heartbeat schema {HEARTBEAT_SCHEMA}")
    return outcome


def _is_rds(connection: Any) -> bool:
    """RDS by what the server says (its rds_superuser role, its rds.* settings), as preflight asks."""
    return bool(
        connection.execute(
            "select exists (select 1 from pg_roles where rolname = 'rds_superuser') "
            "or exists (select 1 from pg_settings where name like 'rds.%')"
        ).fetchone()[0]
    )


def _schemas(connection: Any, patterns: Sequence[str], outcome: Outcome) -> list[str]:
    """The existing schemas the selected tables' patterns name; a pattern naming none is reported."""
    existing = [row[0] for row in connection.execute(
        "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'"
    )]  # fmt: skip
    chosen: list[str] = []
    for pattern in dict.fromkeys(p.split(".", 1)[0] for p in patterns):
        matched = [s for s in existing if locator_matches(pattern, s)]
        if not matched:
            outcome.missing_schemas.append(pattern)
        chosen += [s for s in matched if s not in chosen]
    return sorted(chosen)


def resolved(entry: dict[str, Any], stack: str) -> dict[str, Any]:
    """A stack entry as the CLI's database commands need it (preflight, metadata): a provisioned
    source's host and port from its DB instance, its credentials from the secret source-init filled."""
    import os

    if not isinstance(entry.get("provision"), dict) or os.environ.get("CLOUDBRIDGE_DSN"):
        return entry  # not provisioned, or the DSN says where to connect
    where = target(stack, str(entry.get("name")))
    db = instance(cli.aws_client("rds", stack), where.instance_identifier)
    endpoint = db["Endpoint"]
    return {
        **entry,
        "host": endpoint["Address"],
        "port": int(endpoint["Port"]),
        "credentialsSecretArn": where.secret_name,
    }


# --- the command ----------------------------------------------------------------------------------


@cli.command("source-init")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cloudbridge source-init``: create a provisioned database's DMS user and store its secret."""
    parser = cli.parser("source-init", __doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="a source with provision: in cloudbridge:sources")
    parser.add_argument("--stack", default="dev", help="stack file naming the source (default: dev)")
    parser.add_argument(
        "--rotate-password", action="store_true", help="give the DMS user a new password (else the stored one is kept)"
    )
    parser.add_argument(
        "--sslmode", default="verify-full", choices=["require", "verify-ca", "verify-full"],
        help="TLS to the database (default verify-full, with --sslrootcert: the region's RDS bundle)",
    )  # fmt: skip
    parser.add_argument("--sslrootcert", metavar="PEM", help="CA bundle for verify-ca/verify-full")
    parser.add_argument("--connect-timeout", type=int, default=10, metavar="SECONDS", help="give up connecting after")
    args = parser.parse_args(argv)
    where = target(args.stack, args.source)
    if args.sslmode != "require" and not args.sslrootcert:
        raise cli.CommandError(
            f"--sslmode {args.sslmode} needs --sslrootcert (the region's RDS CA bundle, "
            "https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem) or --sslmode require"
        )
    rds, secrets = cli.aws_client("rds", args.stack), cli.aws_client("secretsmanager", args.stack)
    db = instance(rds, where.instance_identifier)
    master = secret_json(secrets, db["MasterUserSecret"]["SecretArn"]) or {}
    stored = secret_json(secrets, where.secret_name)
    keep = stored and stored.get("username") == where.username and stored.get("password") and not args.rotate_password
    password = stored["password"] if keep else random.token_urlsafe(PASSWORD_BYTES)
    host, port = db["Endpoint"]["Address"], int(db["Endpoint"]["Port"])
    tls = {"sslmode": args.sslmode, **({"sslrootcert": args.sslrootcert} if args.sslrootcert else {})}
    outcome = _initialise(
        Server(host, port, where.database, tls, args.connect_timeout), where, master, password, bool(keep)
    )
    value = {"username": where.username, "password": password, "host": host, "port": port}
    if stored != value:
        secrets.put_secret_value(SecretId=where.secret_name, SecretString=json.dumps(value))
        outcome.actions.append(f"stored the DMS user's credentials in {where.secret_name}")
    else:
        outcome.actions.append(f"{where.secret_name} already holds them")
    return _report(where, outcome)


@dataclass(frozen=True)
class Server:
    """How to reach the database: its endpoint, TLS settings and patience."""

    host: str
    port: int
    database: str
    tls: dict[str, str]
    timeout: int

    def connect(self, user: str, password: str) -> Any:
        """A psycopg connection as ``user`` (TLS as given; never in autocommit: one transaction)."""
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, dbname=self.database, user=user, password=password,
            connect_timeout=self.timeout, **self.tls,
        )  # fmt: skip


def _logs_in(server: Server, user: str, password: str) -> bool:
    """Whether the stored password still opens the DMS user's session."""
    import psycopg

    try:
        with server.connect(user, password):
            return True
    except psycopg.OperationalError:
        return False


def _initialise(server: Server, where: Target, master: dict, password: str, keep: bool) -> Outcome:
    import psycopg

    if not master.get("username") or not master.get("password"):
        raise cli.CommandError(f"the master secret of {where.instance_identifier} holds no username and password")
    try:
        with server.connect(master["username"], master["password"]) as connection:
            kept = keep and role_exists(connection, where.username) and _logs_in(server, where.username, password)
            return create_dms_user(connection, where.username, None if kept else password, where.patterns)
    except psycopg.Error as exc:  # the driver's reason; never the password
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise cli.CommandError(
            f"cannot initialise {where.instance_identifier}: {type(exc).__name__}: {reason}; run it from a host "
            "the database's security group admits (provision.adminSecurityGroupId)"
        ) from None


def _report(where: Target, outcome: Outcome) -> int:
    for action in outcome.actions:
        print(f"ok    {action}")
    for schema in outcome.missing_schemas:
        print(f"WAIT  schema {schema} does not exist yet: create it and its tables, then run source-init again")
    if outcome.missing_schemas:
        return cli.FINDINGS
    print(
        f"next: set provision.dmsUserReady: true for {where.source} in Pulumi.{where.stack}.yaml and deploy; "
        f"check it first with python -m cloudbridge preflight --stack {where.stack} --source {where.source} "
        "--from-secret"
    )
    return cli.OK
