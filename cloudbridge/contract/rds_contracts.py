"""The contract of a provisioned source's database (components/database.py): the RDS instance,
its parameter group, subnet group and cross-Region backup replication, and the DMS user's
secret, each against botocore's RDS and Secrets Manager models and what AWS documents beyond
them. The parameter group's parameters are checked by their own grammar: each name one AWS
documents for CDC with DMS, its value in the documented range, and its apply method the one RDS
takes for that parameter (a static parameter applies only at a reboot).

``contracts.CONTRACTS`` is extended by ``extend()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pulumi_aws as aws

from cloudbridge.contract import documented as doc
from cloudbridge.contract.api_model import api_model
from cloudbridge.contract.rules import Reference

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
BACKUPS = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
SECRET = "aws:secretsmanager/secret:Secret"
KEY = "aws:kms/key:Key"
SG = "aws:ec2/securityGroup:SecurityGroup"

RDS_GUIDE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/"
DMS_POSTGRES = "https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html"
TAGS = "free-form key/value pairs; the provider turns the map into the API's Tag list"
_RDS_NAME = r"[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*"  # a letter first, no double or trailing hyphen


def _rds(shape: str, member: str) -> str:
    return doc.botocore_doc("rds", shape, member)


def _name(most: int, shape: str, member: str) -> doc.Documented:
    return doc.matching(
        rf"(?={_RDS_NAME}$).{{1,{most}}}",
        f"1-{most} letters, digits and single hyphens, starting with a letter, not ending with a hyphen",
        _rds(shape, member),
    )


# The PostgreSQL major versions CloudBridge provisions: RDS for PostgreSQL versions DMS reads as a
# source (DMS user guide, PostgreSQL source versions: 14.x from 3.4.7 ... 17.x from 3.6.1).
ENGINE_VERSIONS = ("14", "15", "16", "17")
DOCUMENTED: dict[tuple[str, str], doc.Documented] = {
    (INSTANCE, "identifier"): _name(63, "CreateDBInstanceMessage", "DBInstanceIdentifier"),
    (INSTANCE, "instanceClass"): doc.matching(
        r"db\.[a-z0-9]+\.(?:micro|small|medium|large|\d*xlarge)",
        "db.<family>.<size>",
        RDS_GUIDE + "Concepts.DBInstanceClass.html",
    ),
    (INSTANCE, "engine"): doc.one_of(("postgres",), _rds("CreateDBInstanceMessage", "Engine")),
    (INSTANCE, "engineVersion"): doc.one_of(ENGINE_VERSIONS, DMS_POSTGRES + " (PostgreSQL source versions)"),
    (INSTANCE, "allocatedStorage"): doc.between(
        20, 65536, _rds("CreateDBInstanceMessage", "AllocatedStorage") + " (RDS for PostgreSQL, gp3: 20 to 65536)"
    ),
    (INSTANCE, "maxAllocatedStorage"): doc.between(
        21, 65536, RDS_GUIDE + "USER_PIOPS.Autoscaling.html (above the allocated storage, at most 65536 GiB)"
    ),
    (INSTANCE, "storageType"): doc.one_of(
        ("gp2", "gp3", "io1", "io2", "standard"), _rds("CreateDBInstanceMessage", "StorageType")
    ),
    (INSTANCE, "dbName"): doc.matching(
        r"[A-Za-z][A-Za-z0-9_]{0,62}",
        "1-63 letters, digits or underscores, starting with a letter",
        _rds("CreateDBInstanceMessage", "DBName") + " (RDS for PostgreSQL)",
    ),
    (INSTANCE, "username"): doc.matching(
        r"[A-Za-z][A-Za-z0-9_]{0,15}",
        "1-16 letters, digits or underscores, starting with a letter",
        _rds("CreateDBInstanceMessage", "MasterUsername"),
    ),
    (INSTANCE, "port"): doc.between(1150, 65535, _rds("CreateDBInstanceMessage", "Port")),
    (INSTANCE, "backupRetentionPeriod"): doc.between(0, 35, _rds("CreateDBInstanceMessage", "BackupRetentionPeriod")),
    (INSTANCE, "backupWindow"): doc.matching(
        r"(?:[01]\d|2[0-3]):[0-5]\d-(?:[01]\d|2[0-3]):[0-5]\d",
        "hh24:mi-hh24:mi (UTC)",
        _rds("CreateDBInstanceMessage", "PreferredBackupWindow"),
    ),
    (INSTANCE, "maintenanceWindow"): doc.matching(
        r"(?:mon|tue|wed|thu|fri|sat|sun):(?:[01]\d|2[0-3]):[0-5]\d-(?:mon|tue|wed|thu|fri|sat|sun):"
        r"(?:[01]\d|2[0-3]):[0-5]\d",
        "ddd:hh24:mi-ddd:hh24:mi (UTC)",
        _rds("CreateDBInstanceMessage", "PreferredMaintenanceWindow"),
    ),
    (INSTANCE, "performanceInsightsRetentionPeriod"): doc.integers(
        lambda v: v in (7, 731) or (v % 31 == 0 and 1 <= v // 31 <= 23),
        "7, 31 x 1-23 months, or 731 days",
        _rds("CreateDBInstanceMessage", "PerformanceInsightsRetentionPeriod"),
    ),
    (INSTANCE, "finalSnapshotIdentifier"): _name(255, "DeleteDBInstanceMessage", "FinalDBSnapshotIdentifier"),
    (PARAMETER_GROUP, "name"): _name(255, "CreateDBParameterGroupMessage", "DBParameterGroupName"),
    (PARAMETER_GROUP, "family"): doc.one_of(
        tuple(f"postgres{v}" for v in ENGINE_VERSIONS),
        _rds("CreateDBParameterGroupMessage", "DBParameterGroupFamily") + " (the postgres engine's families)",
    ),
    (SUBNET_GROUP, "name"): doc.Documented(
        "at most 255 letters, digits, periods, underscores, spaces or hyphens, a letter first, not 'default'",
        lambda v: isinstance(v, str) and v.lower() != "default" and bool(_SUBNET_GROUP.fullmatch(v)),
        _rds("CreateDBSubnetGroupMessage", "DBSubnetGroupName"),
        "documented pattern",
    ),
    (BACKUPS, "retentionPeriod"): doc.between(
        1, 35, RDS_GUIDE + "USER_ReplicateBackups.html (like the source's BackupRetentionPeriod: 1 to 35 days)"
    ),
    (SECRET, "name"): doc.Documented(
        "ASCII letters, digits and /_+=.@-, not ending in a hyphen and six characters",
        lambda v: isinstance(v, str) and bool(_SECRET_NAME.fullmatch(v)) and not _SECRET_SUFFIX.search(v),
        doc.botocore_doc("secretsmanager", "CreateSecretRequest", "Name"),
        "documented pattern",
    ),
    (SECRET, "recoveryWindowInDays"): doc.between(
        7, 30, doc.botocore_doc("secretsmanager", "DeleteSecretRequest", "RecoveryWindowInDays")
    ),
}

_SUBNET_GROUP = re.compile(r"[A-Za-z][A-Za-z0-9._ -]{0,254}")
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")

REFERENCES: dict[tuple[str, str], Reference] = {
    (INSTANCE, "kmsKeyId"): Reference((KEY,)),
    (INSTANCE, "masterUserSecretKmsKeyId"): Reference((KEY,)),
    (INSTANCE, "performanceInsightsKmsKeyId"): Reference((KEY,)),
    (INSTANCE, "dbSubnetGroupName"): Reference((SUBNET_GROUP,)),
    (INSTANCE, "parameterGroupName"): Reference((PARAMETER_GROUP,)),
    (INSTANCE, "vpcSecurityGroupIds"): Reference((SG,)),
    (SUBNET_GROUP, "subnetIds"): Reference((), doc.ec2_id("subnet")),
    (BACKUPS, "sourceDbInstanceArn"): Reference((INSTANCE,)),
    (BACKUPS, "kmsKeyId"): Reference((KEY,)),
    (SECRET, "kmsKeyId"): Reference((KEY,)),
}

_LABEL = "free text shown to people"
TYPE_ONLY: dict[tuple[str, str], str] = {
    (PARAMETER_GROUP, "description"): _LABEL + "; RDS documents no limit",
    (SUBNET_GROUP, "description"): _LABEL + "; RDS documents no limit",
    (SECRET, "description"): _LABEL + " (the model limits its length)",
}


# --- the parameter group's parameters ----------------------------------------------------------

_LOGICAL = RDS_GUIDE + "PostgreSQL.Concepts.General.FeatureSupport.LogicalReplication.html"
_SSL = RDS_GUIDE + "PostgreSQL.Concepts.General.SSL.html#PostgreSQL.Concepts.General.SSL.Requiring"
_STATIC = "static: it applies at a reboot, so RDS takes only pending-reboot"
_DYNAMIC = "dynamic"


def _flag(value: str) -> bool:
    return value in ("0", "1")


def _count(value: str) -> bool:
    return value.isdigit() and 1 <= int(value) <= 262143  # PostgreSQL's own bound for both settings


def _sender_timeout(value: str) -> bool:
    return value.isdigit() and (int(value) == 0 or 10000 <= int(value) <= 2147483647)


# name -> (what the value may be, its check, static or dynamic, where AWS documents it)
PARAMETERS: dict[str, tuple[str, Callable[[str], bool], str, str]] = {
    "rds.logical_replication": ("0 or 1 (1: wal_level = logical)", _flag, _STATIC, _LOGICAL),
    "rds.force_ssl": ("0 or 1 (1: only TLS connections)", _flag, _DYNAMIC, _SSL),
    "max_replication_slots": ("a count of slots", _count, _STATIC, DMS_POSTGRES + " (RDS source prerequisites)"),
    "max_wal_senders": ("a count of senders", _count, _STATIC, DMS_POSTGRES + " (RDS source prerequisites)"),
    "wal_sender_timeout": (
        "0, or at least 10000 milliseconds (a DMS task with CDC fails below)",
        _sender_timeout,
        _DYNAMIC,
        DMS_POSTGRES,
    ),
}


def check_parameters(parameters: Any) -> list[tuple[str, str]]:
    """Each parameter: a name AWS documents for CDC with DMS, a value it accepts, the apply method RDS takes."""
    methods = api_model("rds").shape_for("Parameter").members["ApplyMethod"].enum
    problems = []
    for i, parameter in enumerate(parameters or []):
        name, value = parameter.get("name"), str(parameter.get("value"))
        method = parameter.get("applyMethod", "immediate")
        if name not in PARAMETERS:
            problems.append((f"[{i}].name", f"{name!r} is not one of the documented CDC parameters {list(PARAMETERS)}"))
            continue
        label, ok, kind, source = PARAMETERS[name]
        if not ok(value):
            problems.append((f"[{i}].value", f"{name} takes {label} ({source})"))
        if method not in methods:
            problems.append((f"[{i}].applyMethod", f"not one of the API's Parameter.ApplyMethod values {methods}"))
        elif kind == _STATIC and method != "pending-reboot":
            problems.append((f"[{i}].applyMethod", f"{name} is {kind} ({RDS_GUIDE}USER_WorkingWithParamGroups.html)"))
    return problems


def _insights_days(value: Any) -> list[tuple[str, str]]:
    """The provider's text for it ("`7`, `month * 31` ..., and `731`") reads as a list it is not: the
    documented set is checked here instead, as its only check."""
    rule = DOCUMENTED[(INSTANCE, "performanceInsightsRetentionPeriod")]
    problem = rule.problem(value)
    return [("", problem)] if problem else []


def extend(contracts: dict[str, Any], contract_class: type) -> None:
    """Add the database's contracts; the DMS source endpoint may name the DMS user's secret declared here."""
    contracts.update(_contracts(contract_class))
    endpoint = contracts["aws:dms/endpoint:Endpoint"]
    secret = endpoint.references["secretsManagerArn"]
    contracts["aws:dms/endpoint:Endpoint"] = replace(
        endpoint,
        references={**endpoint.references, "secretsManagerArn": replace(secret, targets=(*secret.targets, SECRET))},
    )


def _make(contract_class: type, type_: str, service: str, shape: str, cls: type, **kwargs: Any) -> Any:
    """One contract, with this module's documented values, references and type-only reasons for ``type_``."""

    def pick(table: dict[tuple[str, str], Any]) -> dict[str, Any]:
        return {path: value for (t, path), value in table.items() if t == type_}

    return contract_class(
        service, shape, cls, documented=pick(DOCUMENTED), references=pick(REFERENCES), type_only=pick(TYPE_ONLY),
        **kwargs,
    )  # fmt: skip


INSTANCE_RENAMES = {
    "identifier": "DBInstanceIdentifier",
    "instanceClass": "DBInstanceClass",
    "dbName": "DBName",
    "username": "MasterUsername",
    "parameterGroupName": "DBParameterGroupName",
    "backupWindow": "PreferredBackupWindow",
    "maintenanceWindow": "PreferredMaintenanceWindow",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
}
INSTANCE_UNCHECKED = {
    "tags": TAGS,
    "skipFinalSnapshot": "provider-side: DeleteDBInstance's SkipFinalSnapshot when the instance is deleted",
    "deleteAutomatedBackups": "provider-side: DeleteDBInstance's DeleteAutomatedBackups",
}


def _contracts(contract_class: type) -> dict[str, Any]:
    """The RDS and Secrets Manager contracts, as ``contracts.Contract`` entries."""
    c = contract_class
    return {
        INSTANCE: _make(
            c, INSTANCE, "rds", "CreateDBInstanceMessage", aws.rds.Instance, renames=INSTANCE_RENAMES,
            unchecked=INSTANCE_UNCHECKED, documents={"performanceInsightsRetentionPeriod": _insights_days},
        ),
        PARAMETER_GROUP: _make(
            c, PARAMETER_GROUP, "rds", "CreateDBParameterGroupMessage", aws.rds.ParameterGroup,
            renames={"name": "DBParameterGroupName", "family": "DBParameterGroupFamily"}, unchecked={"tags": TAGS},
            documents={"parameters": check_parameters},
        ),
        SUBNET_GROUP: _make(
            c, SUBNET_GROUP, "rds", "CreateDBSubnetGroupMessage", aws.rds.SubnetGroup,
            renames={"name": "DBSubnetGroupName", "description": "DBSubnetGroupDescription"}, unchecked={"tags": TAGS},
        ),
        BACKUPS: _make(
            c, BACKUPS, "rds", "StartDBInstanceAutomatedBackupsReplicationMessage",
            aws.rds.InstanceAutomatedBackupsReplication,
            renames={"retentionPeriod": "BackupRetentionPeriod", "sourceDbInstanceArn": "SourceDBInstanceArn"},
        ),
        SECRET: _make(
            c, SECRET, "secretsmanager", "CreateSecretRequest", aws.secretsmanager.Secret, unchecked={"tags": TAGS}
        ),
    }  # fmt: skip
