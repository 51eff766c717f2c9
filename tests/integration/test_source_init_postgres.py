"""``cloudbridge source-init`` against a real PostgreSQL started here (TLS on, like an RDS instance
with rds.force_ssl): the DMS user gets exactly the privileges docs/source-prerequisites.md lists,
a second run changes nothing, and ``cloudbridge preflight`` as that user then passes. Secrets
Manager is moto; the RDS instance is botocore's Stubber, its responses checked against the RDS
model, pointing at the local server."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pwd
import tempfile
from pathlib import Path

import boto3
import psycopg
import pytest
import yaml
from botocore.stub import Stubber
from moto import mock_aws

from cloudbridge import cli, preflight, source_init
from cloudbridge.localpg import LocalPostgres
from components.workspace import METADATA_DIR_ENV, STACKS_DIR_ENV

REGION, ACCOUNT = "eu-west-2", "111111111111"
INSTANCE = "cb-dev-shop-db"
DMS_SECRET = "cb-dev-shop-dms-user"
MASTER_SECRET = "rds!db-0f0f0f0f-0000-4000-8000-000000000000"
DMS_USER = "cloudbridge_dms"
SCHEMA = """
create schema inventory;
create schema payroll;
create table public.orders (id bigint primary key, amount numeric(12, 2));
create table public.notes (id bigint primary key, body varchar(200));
create table inventory.items (sku text primary key, qty integer);
create table payroll.salaries (id bigint primary key, amount numeric(12, 2));
"""
SELECTED = ["public.orders", "inventory.%"]


def _certificates(folder: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 (verify-full checks the address), owned as the server needs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("test RDS CA")).issuer_name(name("test RDS CA"))
        .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(2).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.crt").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(folder, 0o755)
    os.chmod(folder / "server.key", 0o600)
    if os.geteuid() == 0:  # the server runs as postgres and reads its key itself
        entry = pwd.getpwnam("postgres")
        for file in ("server.crt", "server.key"):
            os.chown(folder / file, entry.pw_uid, entry.pw_gid)
    return folder / "ca.pem"


@pytest.fixture(scope="module")
def server():
    folder = Path(tempfile.mkdtemp(prefix="cloudbridge-tls-"))
    ca = _certificates(folder)
    settings = {"ssl": "on", "ssl_cert_file": str(folder / "server.crt"), "ssl_key_file": str(folder / "server.key")}
    with LocalPostgres(database="shop", settings=settings) as pg:
        with psycopg.connect(pg.conninfo, autocommit=True) as c:
            c.execute(SCHEMA)
        pg.ca = ca
        yield pg


@pytest.fixture(autouse=True)
def no_dms_user(server):
    """Each test starts without the DMS user (DROP OWNED revokes its grants and default privileges)."""
    with psycopg.connect(server.conninfo, autocommit=True) as c:
        if c.execute("select 1 from pg_roles where rolname = %s", (DMS_USER,)).fetchone():
            c.execute(f"drop owned by {DMS_USER}; drop role {DMS_USER}")


@pytest.fixture
def stack(tmp_path, monkeypatch, server):
    """A dev stack file whose source shop is provisioned, in a stacks folder of its own."""
    entry = {
        "name": "shop", "engine": "postgres", "port": server.port, "database": server.database, "tables": SELECTED,
        "provision": {"instanceClass": "db.t4g.medium"},
        "replication": {"mode": "serverless", "maxCapacityUnits": 1},
    }  # fmt: skip
    config = {"aws:region": REGION, "cloudbridge:account": {"id": ACCOUNT}, "cloudbridge:sources": [entry]}
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    monkeypatch.setenv(STACKS_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(METADATA_DIR_ENV, raising=False)
    for key in ("CLOUDBRIDGE_DSN", "CLOUDBRIDGE_DB_USER", "CLOUDBRIDGE_DB_PASSWORD", "PGPASSWORD"):
        monkeypatch.delenv(key, raising=False)
    return entry


@pytest.fixture
def aws(monkeypatch, server):
    """moto's Secrets Manager with the master secret and the program's empty DMS secret; RDS stubbed."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        master = secrets.create_secret(
            Name=MASTER_SECRET, SecretString=json.dumps({"username": "postgres", "password": "master-pw"})
        )["ARN"]
        secrets.create_secret(Name=DMS_SECRET)  # as the program declares it: no value
        rds = boto3.client("rds", region_name=REGION)
        stub = Stubber(rds)
        stub.activate()
        clients = {"secretsmanager": secrets, "rds": rds}
        monkeypatch.setattr(cli, "aws_client", lambda service, stack: clients[service])
        yield _Aws(secrets, stub, server, master)
        stub.deactivate()


class _Aws:
    def __init__(self, secrets, stub, server, master_arn):
        self.secrets, self.stub, self.server, self.master_arn = secrets, stub, server, master_arn

    def instance(self, status="available", times=1):
        """The next ``times`` DescribeDBInstances answers (the Stubber checks them against the RDS model)."""
        for _ in range(times):
            self.stub.add_response(
                "describe_db_instances",
                {
                    "DBInstances": [
                        {
                            "DBInstanceIdentifier": INSTANCE,
                            "DBInstanceStatus": status,
                            "Engine": "postgres",
                            "Endpoint": {"Address": "127.0.0.1", "Port": self.server.port},
                            "MasterUserSecret": {"SecretArn": self.master_arn, "SecretStatus": "active"},
                        }
                    ]
                },  # fmt: skip
                {"DBInstanceIdentifier": INSTANCE},
            )

    def stored(self):
        return json.loads(self.secrets.get_secret_value(SecretId=DMS_SECRET)["SecretString"])

    def versions(self):
        return len(self.secrets.list_secret_version_ids(SecretId=DMS_SECRET)["Versions"])


def init(aws, capsys, *extra):
    aws.instance()
    code = source_init.main(["--stack", "dev", "--source", "shop", "--sslrootcert", str(aws.server.ca), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def grants(server):
    """Everything granted to the DMS user, from the catalogs: role attributes, memberships, schema,
    table and default privileges."""
    with psycopg.connect(server.conninfo) as c:
        role = c.execute(
            "select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolpassword "
            "from pg_authid where rolname = %s",
            (DMS_USER,),
        ).fetchone()
        members = c.execute(
            "select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid "
            "join pg_roles u on u.oid = m.member where u.rolname = %s",
            (DMS_USER,),
        ).fetchall()
        schemas = c.execute(
            "select n.nspname, a.privilege_type from pg_namespace n, aclexplode(n.nspacl) a "
            "where a.grantee = (select oid from pg_roles where rolname = %s) order by 1, 2",
            (DMS_USER,),
        ).fetchall()
        tables = c.execute(
            "select n.nspname || '.' || c.relname, a.privilege_type from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a "
            "where a.grantee = (select oid from pg_roles where rolname = %s) order by 1, 2",
            (DMS_USER,),
        ).fetchall()
        defaults = c.execute(
            "select n.nspname, d.defaclobjtype, a.privilege_type from pg_default_acl d "
            "join pg_namespace n on n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a "
            "where a.grantee = (select oid from pg_roles where rolname = %s) order by 1, 2, 3",
            (DMS_USER,),
        ).fetchall()
    return role, members, schemas, tables, defaults


def test_the_dms_user_gets_exactly_the_listed_privileges_and_its_secret(server, stack, aws, capsys):
    code, out = init(aws, capsys)
    assert code == 0, out
    role, members, schemas, tables, defaults = grants(server)
    login, superuser, createdb, createrole, replication, bypassrls, _ = role
    # Self-managed PostgreSQL: the REPLICATION attribute (RDS: GRANT rds_replication, below).
    assert (login, superuser, createdb, createrole, replication, bypassrls) == (True, False, False, False, True, False)
    assert members == []
    # The heartbeat schema: USAGE and CREATE; the selected tables' schemas: USAGE; payroll: nothing.
    assert schemas == [("inventory", "USAGE"), ("public", "CREATE"), ("public", "USAGE")]
    # SELECT on every table of the selected schemas (the documented GRANT ... ON ALL TABLES IN SCHEMA), no more.
    assert tables == [("inventory.items", "SELECT"), ("public.notes", "SELECT"), ("public.orders", "SELECT")]
    assert defaults == [("inventory", "r", "SELECT"), ("public", "r", "SELECT")]
    stored = aws.stored()
    assert stored["username"] == DMS_USER and stored["host"] == "127.0.0.1" and stored["port"] == server.port
    assert len(stored["password"]) >= 40 and stored["password"] not in out
    assert "next: set provision.dmsUserReady: true for shop" in out


def test_a_second_run_changes_nothing(server, stack, aws, capsys):
    assert init(aws, capsys)[0] == 0
    before, versions, secret = grants(server), aws.versions(), aws.stored()
    code, out = init(aws, capsys)
    assert code == 0, out
    assert grants(server) == before  # the same grants, the same password hash
    assert aws.versions() == versions and aws.stored() == secret
    assert f"{DMS_SECRET} already holds them" in out


def test_a_rotated_password_is_stored_and_set(server, stack, aws, capsys):
    assert init(aws, capsys)[0] == 0
    hash_before, secret = grants(server)[0][-1], aws.stored()
    assert init(aws, capsys, "--rotate-password")[0] == 0
    assert grants(server)[0][-1] != hash_before and aws.stored()["password"] != secret["password"]


def test_preflight_as_the_new_user_passes(server, stack, aws, capsys):
    assert init(aws, capsys)[0] == 0
    aws.instance()  # preflight finds the instance's host and port the same way
    code = preflight.main(["--stack", "dev", "--source", "shop", "--from-secret"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS  replication privilege: user cloudbridge_dms may replicate" in out
    assert "PASS  heartbeat schema public: CREATE granted" in out
    assert "PASS  public.orders: SELECT: granted" in out and "PASS  inventory.items: SELECT: granted" in out
    assert "0 blocking failure(s)" in out


def test_on_rds_the_replication_grant_is_rds_replication(server, stack, aws, capsys):
    """Where the server says it is RDS (its rds_superuser role), the user gets rds_replication, not REPLICATION."""
    with psycopg.connect(server.conninfo, autocommit=True) as c:
        c.execute("create role rds_superuser; create role rds_replication")
    try:
        assert init(aws, capsys)[0] == 0
        role, members, *_ = grants(server)
        assert role[4] is False and members == [("rds_replication",)]
    finally:
        with psycopg.connect(server.conninfo, autocommit=True) as c:
            c.execute("drop owned by cloudbridge_dms; drop role cloudbridge_dms; drop role rds_replication")
            c.execute("drop role rds_superuser")


def test_a_schema_that_does_not_exist_yet_is_exit_1_and_the_rest_is_granted(server, stack, aws, capsys, tmp_path):
    stack["tables"] = [*SELECTED, "ledger.%"]
    config = yaml.safe_load((tmp_path / "Pulumi.dev.yaml").read_text())
    config["config"]["cloudbridge:sources"] = [stack]
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(config))
    code, out = init(aws, capsys)
    assert code == 1, out
    assert "WAIT  schema ledger does not exist yet" in out
    assert ("inventory", "USAGE") in grants(server)[2]


def test_an_instance_still_being_created_is_exit_2(stack, aws, capsys):
    aws.instance(status="creating")
    code = source_init.main(["--stack", "dev", "--source", "shop", "--sslrootcert", str(aws.server.ca)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"cloudbridge source-init: DB instance {INSTANCE} is creating: run again once available"
