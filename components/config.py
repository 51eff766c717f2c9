"""What a stack file may say: one typed, validated model per section of ``Pulumi.<stack>.yaml``.

Field comments are the config reference (``docs/config.md`` is generated from them).
Reading a stack's config and the checks across sections are in ``stack_config.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from functions.common.dms import locator_matches

NAMESPACE = "cloudbridge"
Engine = Literal["postgres", "oracle", "sqlserver", "mysql"]
ENGINES: tuple[str, ...] = get_args(Engine)

_PARTITION = r"arn:aws(?:-cn|-us-gov)?"
SECRET_ARN = re.compile(_PARTITION + r":secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):secret:[\w/+=.@-]{1,512}$")
LAYER_ARN = re.compile(_PARTITION + r":lambda:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:layer:[\w-]{1,140}:\d+$")
KMS_KEY_ARN = re.compile(_PARTITION + r":kms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):key/[0-9a-f-]{1,64}$")
DMS_CERTIFICATE_ARN = re.compile(_PARTITION + r":dms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):cert:[A-Za-z0-9-]{1,255}$")
CIDR = r"^(?:\d{1,3}\.){3}\d{1,3}/(?:[89]|[12]\d|3[0-2])$"
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
# Source names become bucket names, DMS identifiers and Glue database names:
# lower case, a letter first, no double or trailing hyphen, short enough that
# "cb-<env>-<source>-landing-<account>-<region>" stays within S3's 63 characters.
SOURCE_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,15}$")
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
# Aurora cluster endpoints: <name>.cluster-[ro-|custom-]<id>.<region>.rds.amazonaws.com (RDS instances
# have <name>.<id>.<region>.rds.amazonaws.com).
AURORA_WRITER_HOST = re.compile(r"^([^.]+)\.cluster-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com$", re.IGNORECASE)
AURORA_HOST = re.compile(r"\.cluster-(?:ro-|custom-)?[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com$", re.IGNORECASE)
# schema.table with DMS '%' wildcards; names are case-sensitive in DMS.
TABLE_PATTERN = re.compile(r"^[A-Za-z0-9_$%]+\.[A-Za-z0-9_$%]+$")

Str = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ConfigError(ValueError):
    """Invalid stack configuration. ``problems`` holds ``(key, message)`` pairs."""

    def __init__(self, stack_file: str, problems: list[tuple[str, str]]):
        self.stack_file = stack_file
        self.problems = problems
        lines = "\n".join(f"  - {key}: {message}" for key, message in problems)
        super().__init__(f"invalid stack config in {stack_file}:\n{lines}")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
    )


class Account(_Model):
    """The AWS account a stack deploys to."""

    # The AWS account this stack deploys to, quoted (the provider refuses any other).
    id: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    # dms-vpc-role / dms-cloudwatch-logs-role are account-wide with fixed names: a stack
    # in an account where they already exist sets this to false.
    manage_dms_service_roles: bool = True

    @model_validator(mode="before")
    @classmethod
    def _quoted_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            raise ValueError(
                'id must be quoted, like id: "011111111111": YAML reads an unquoted number (and drops its '
                "leading zeros, or reads it as octal)"
            )
        return data

    @model_validator(mode="before")
    @classmethod
    def _no_deploy_role(cls, data: Any) -> Any:
        if isinstance(data, dict) and "deployRoleArn" in data:
            raise ValueError(
                "deployRoleArn is no longer read: the program uses the credentials the workflow obtained "
                "(preview role in pull requests, deploy role in the gated deploy job); remove the key "
                "and set the role as the GitHub environment's AWS_DEPLOY_ROLE_ARN"
            )
        return data


VpcEndpointId = Annotated[str, StringConstraints(pattern=r"^vpce-[0-9a-f]{8,17}$")]


class ExistingEndpoints(_Model):
    """VPC endpoints the VPC already has; CloudBridge then creates none."""

    # A Gateway endpoint for S3 on the subnets' route tables.
    s3: VpcEndpointId
    # An Interface endpoint for Secrets Manager with private DNS.
    secrets_manager: VpcEndpointId


class Network(_Model):
    """Where DMS runs, and how it reaches S3 and Secrets Manager privately."""

    # The VPC DMS runs in.
    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    # Private subnets in at least two availability zones (one per zone): the DMS subnet group
    # and the Secrets Manager endpoint.
    subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]]
    # DMS runs in these private subnets and reaches S3 and Secrets Manager only through
    # VPC endpoints: either CloudBridge creates them (S3 gateway on these route tables,
    # Secrets Manager interface in the subnets) or existingEndpoints names them.
    route_table_ids: list[Annotated[str, StringConstraints(pattern=r"^rtb-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list
    )
    existing_endpoints: ExistingEndpoints | None = None

    @field_validator("subnet_ids")
    @classmethod
    def _two_subnets(cls, value: list[str]) -> list[str]:
        if len(set(value)) < 2:
            raise ValueError("DMS needs at least two distinct subnets (in two availability zones)")
        return value

    @model_validator(mode="after")
    def _endpoints(self) -> Network:
        if self.existing_endpoints is None and not self.route_table_ids:
            raise ValueError(
                "set routeTableIds (the private subnets' route tables, for the S3 gateway endpoint "
                "CloudBridge creates) or existingEndpoints {s3, secretsManager} if the VPC has them"
            )
        if self.existing_endpoints is not None and self.route_table_ids:
            raise ValueError("routeTableIds is used only to create endpoints; drop it when existingEndpoints is set")
        return self


class Alerts(_Model):
    """Where alerts go."""

    # Secrets Manager secret holding the Slack incoming-webhook URL (plain, or {"url": ...}).
    slack_webhook_secret_arn: str

    _arn = field_validator("slack_webhook_secret_arn")(lambda cls, v: _secret_arn(v))


class Lambdas(_Model):
    """Settings of the validator and notifier functions."""

    # The validator needs pyarrow: the AWS SDK for pandas managed layer carries it.
    validator_layer_arn: str
    # Days CloudWatch keeps the functions' and DMS logs (one of the values CloudWatch accepts).
    log_retention_days: int = 90

    @field_validator("validator_layer_arn")
    @classmethod
    def _layer(cls, value: str) -> str:
        if not LAYER_ARN.match(value):
            raise ValueError(
                "not a Lambda layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        allowed = (
            1,
            3,
            5,
            7,
            14,
            30,
            60,
            90,
            120,
            150,
            180,
            365,
            400,
            545,
            731,
            1096,
            1827,
            2192,
            2557,
            2922,
            3288,
            3653,
        )
        if value not in allowed:
            raise ValueError(f"CloudWatch Logs accepts only {allowed}")
        return value


# The oldest DMS engine that writes Op into full-load parquet files (S3Settings.IncludeOpForFullLoad:
# "DMS supports the use of the .parquet files with the IncludeOpForFullLoad parameter in versions 3.4.7
# and later"); docs/dms.md, "Columns DMS adds".
MIN_DMS_ENGINE_VERSION = (3, 4, 7)
# DMS Serverless accepts only these capacities (DCU; 1 DCU = 2 GB of memory).
CAPACITY_UNITS = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)


class Serverless(_Model):
    """DMS Serverless replication: capacity in DCUs."""

    mode: Literal["serverless"]
    # Upper bound of DMS capacity units: 1, 2, 4, 8, 16, 32, 64, 128, 192, 256 or 384.
    max_capacity_units: int
    # Lower bound (same values); DMS chooses when unset.
    min_capacity_units: int | None = None
    multi_az: bool = False

    @field_validator("max_capacity_units", "min_capacity_units")
    @classmethod
    def _dcu(cls, value: int | None) -> int | None:
        if value is not None and value not in CAPACITY_UNITS:
            raise ValueError(f"DMS Serverless accepts only {', '.join(map(str, CAPACITY_UNITS))} capacity units")
        return value

    @model_validator(mode="after")
    def _min_below_max(self) -> Serverless:
        if self.min_capacity_units is not None and self.min_capacity_units > self.max_capacity_units:
            raise ValueError("minCapacityUnits must not exceed maxCapacityUnits")
        return self


class Instance(_Model):
    """DMS replication instance with a task."""

    mode: Literal["instance"]
    # The replication instance class, like dms.t3.medium.
    instance_class: Annotated[str, StringConstraints(pattern=r"^dms\.[a-z0-9]+\.[a-z0-9]+$")]
    # Storage of the instance (cached changes, logs).
    allocated_storage_gb: int = Field(default=50, ge=5, le=6144)
    multi_az: bool = False
    # Pin the DMS engine version (n.n.n, 3.4.7 or later: the S3 target writes Op into full-load
    # parquet files, IncludeOpForFullLoad, which DMS supports from 3.4.7). Unset: the version DMS
    # gives a new instance, which is DMS's choice (the API reference says the latest available;
    # DescribeEngineVersions marks one version DEFAULT_VERSION); minor versions then follow
    # autoMinorVersionUpgrade. Pin it to know which engine runs.
    engine_version: Str | None = None

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not re.fullmatch(r"\d+\.\d+\.\d+", value):
            raise ValueError("a DMS engine version is n.n.n, like 3.5.4")
        if tuple(int(part) for part in value.split(".")) < MIN_DMS_ENGINE_VERSION:
            raise ValueError(
                "below 3.4.7: the S3 target writes Op into full-load parquet files (IncludeOpForFullLoad), "
                "which DMS supports from 3.4.7"
            )
        return value


Replication = Annotated[Serverless | Instance, Field(discriminator="mode")]

# An ISO 8601 UTC time, to the second: what DMS's CdcStartTime takes as a timestamp.
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# schema.table.column with DMS '%' wildcards.
COLUMN_PATTERN = re.compile(r"^[A-Za-z0-9_$%]+\.[A-Za-z0-9_$%]+\.[A-Za-z0-9_$%]+$")


class CdcStart(_Model):
    """Where a CDC-only replication starts: a native position or a commit time, not both."""

    # A DMS CDC start position: a checkpoint ("checkpoint:V1#...") or a native position
    # (a PostgreSQL LSN like 0/3A0001C8, an Oracle SCN, a SQL Server LSN, a MySQL binlog position).
    position: Str | None = None
    # A UTC time, YYYY-MM-DDTHH:MM:SSZ: DMS starts from the changes committed after it (not for
    # PostgreSQL, which DMS cannot start from a time).
    time: Str | None = None
    # PostgreSQL with a position: the logical replication slot (test_decoding) created at that
    # position beforehand; DMS checks it exists and reads from it (PostgreSQLSettings.SlotName).
    slot_name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,63}$")] | None = None

    @field_validator("time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not UTC_TIME.match(value):
            raise ValueError("a UTC time to the second, like 2026-01-31T22:30:00Z")
        return value

    @model_validator(mode="after")
    def _one(self) -> CdcStart:
        if (self.position is None) == (self.time is None):
            raise ValueError("set exactly one of position or time")
        return self


# EventBridge Scheduler expressions: rate(<n> minute(s)|hour(s)|day(s)) or cron(<6 fields>).
SCHEDULE_EXPRESSION = re.compile(r"^(?:rate\(\d{1,4} (?:minutes?|hours?|days?)\)|cron\((?:\S+ ){5}\S+\))$")


class Compaction(_Model):
    """Iceberg state tables kept by scheduled Athena MERGEs (docs/analytics.md, "Compaction")."""

    # On: each table gets an Iceberg state table, merged on a schedule by a Step Functions state
    # machine (Athena), and its current-state view reads that table plus the changes since the
    # last run, a bounded amount instead of the whole history. Off: the view reads the history.
    enabled: bool = True
    # EventBridge Scheduler expression of the merge runs (each reads the changes since the last).
    schedule: str = "rate(1 hour)"
    # The sweep: re-merges the last lateArrivalDays days of raw history (files validated late).
    sweep_schedule: str = "cron(30 2 * * ? *)"
    # OPTIMIZE (small files and delete files rewritten) then VACUUM (old snapshots and orphan files).
    maintenance_schedule: str = "cron(0 4 ? * SUN *)"
    # The view's tail starts this long before the last run: a file validated within this long of
    # its changes' commit time is seen at once, later ones after the next sweep.
    overlap_minutes: int = Field(default=60, ge=5, le=1440)
    # Days of raw history the sweep re-merges: how late a file may be validated (a replayed
    # quarantine, a redriven dead-letter queue) and still reach the state without a rebuild.
    late_arrival_days: int = Field(default=3, ge=1, le=90)
    # A load not yet marked, started less than this long ago, holds the tail back to its start
    # (its marker then switches the view at once); set it above the longest full load.
    reload_hours: int = Field(default=24, ge=1, le=168)
    # Days VACUUM keeps a state table's snapshots (vacuum_max_snapshot_age_seconds).
    snapshot_retention_days: int = Field(default=5, ge=1, le=90)

    @field_validator("schedule", "sweep_schedule", "maintenance_schedule")
    @classmethod
    def _expression(cls, value: str) -> str:
        if not SCHEDULE_EXPRESSION.match(value):
            raise ValueError(
                "not an EventBridge Scheduler expression: rate(<n> <minutes|hours|days>) or cron(<6 fields>)"
            )
        return value


# PostgreSQL major versions CloudBridge provisions, each with the oldest DMS engine that reads it
# as a source (DMS user guide, "Using a PostgreSQL database as an AWS DMS source": 14.x needs 3.4.7,
# 15.x 3.5.1, 16.x 3.5.3, 17.x 3.6.1).
POSTGRES_DMS_MINIMUM = {"14": (3, 4, 7), "15": (3, 5, 1), "16": (3, 5, 3), "17": (3, 6, 1)}
# RDS DB instance classes: db.<family>.<size> (RDS user guide, "DB instance classes").
DB_INSTANCE_CLASS = r"^db\.[a-z0-9]+\.(?:micro|small|medium|large|\d*xlarge)$"
# Performance Insights retention: 7, 31 x months (1-23), or 731 days (RDS API reference,
# CreateDBInstance PerformanceInsightsRetentionPeriod).
PERFORMANCE_INSIGHTS_DAYS = (7, *(31 * m for m in range(1, 24)), 731)
# A PostgreSQL role name CloudBridge creates (lower case: no quoting needed anywhere).
ROLE_NAME = r"^[a-z][a-z0-9_]{0,62}$"


class ProvisionedPostgres(_Model):
    """An RDS for PostgreSQL instance CloudBridge creates, ready for CDC (docs/provisioned-postgres.md)."""

    # The DB instance class, like db.t4g.medium or db.r6g.large.
    instance_class: Annotated[str, StringConstraints(pattern=DB_INSTANCE_CLASS)]
    # The PostgreSQL major version (14, 15, 16 or 17; RDS keeps the minor version current).
    engine_version: Literal["14", "15", "16", "17"] = "16"
    # Storage in GiB (gp3: 20 to 65536).
    allocated_storage_gb: int = Field(default=100, ge=20, le=65536)
    # Storage autoscaling up to this many GiB; unset: no autoscaling.
    max_allocated_storage_gb: int | None = Field(default=None, ge=21, le=65536)
    # A standby in a second availability zone. Default: on, except in dev; preprod and prod cannot turn it off.
    multi_az: bool | None = None
    # Days automated backups (and point-in-time recovery) are kept: 1 to 35; at least 7 in prod.
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    # The daily backup window, hh24:mi-hh24:mi in UTC (at least 30 minutes); unset: RDS chooses.
    backup_window: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")] | None = None
    # The weekly maintenance window, ddd:hh24:mi-ddd:hh24:mi in UTC; unset: RDS chooses.
    maintenance_window: (
        Annotated[
            str,
            StringConstraints(
                pattern=r"^(?:mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}-(?:mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}$"
            ),
        ]
        | None
    ) = None
    # Days Performance Insights keeps its data: 7 (free), 31 x 1-23 months, or 731.
    performance_insights_retention_days: int = 7
    # max_replication_slots and max_wal_senders: DMS uses one slot and one sender per replication, plus
    # headroom for a reload or a second consumer. At least the source's replications plus one.
    replication_slots: int = Field(default=10, ge=2, le=100)
    # The PostgreSQL role source-init creates for DMS (never the master user).
    dms_username: Annotated[str, StringConstraints(pattern=ROLE_NAME)] = "cloudbridge_dms"
    # A security group (a bastion's, an admin VPN's) also admitted on the database port; unset: DMS only.
    admin_security_group_id: Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")] | None = None
    # Set to true once `python -m cloudbridge source-init` has created the DMS user and stored its
    # secret: until then the source's replication is created but not started (docs/provisioned-postgres.md).
    dms_user_ready: bool = False

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _insights(cls, value: int) -> int:
        if value not in PERFORMANCE_INSIGHTS_DAYS:
            raise ValueError("Performance Insights keeps data 7 days, 31 x 1-23 months (31, 62, ... 713) or 731 days")
        return value

    @field_validator("dms_username")
    @classmethod
    def _dms_username(cls, value: str) -> str:
        if value.startswith(("pg_", "rds")) or value in ("postgres", MASTER_USERNAME):
            raise ValueError("a name PostgreSQL or RDS reserves (pg_*, rds*, postgres) or the master user's")
        return value

    @model_validator(mode="after")
    def _storage(self) -> ProvisionedPostgres:
        if self.max_allocated_storage_gb is not None and self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise ValueError("maxAllocatedStorageGb must exceed allocatedStorageGb (it is the autoscaling ceiling)")
        return self

    @property
    def parameter_group_family(self) -> str:
        """The DB parameter group family of the engine version (postgres16, ...)."""
        return f"postgres{self.engine_version}"


# The master user RDS creates and keeps in Secrets Manager (1-16 letters, digits or underscores).
MASTER_USERNAME = "cbadmin"


class Source(_Model):
    """One source database: one extraction pipeline."""

    # 1-16 of a-z, 0-9, single hyphens: becomes bucket, DMS and Glue names.
    name: str
    # The source database engine.
    engine: Engine
    # Host name of the source database (an RDS/Aurora endpoint, or any host DMS can reach); not with provision.
    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]{1,253}$")] | None = None
    # Its port.
    port: int = Field(ge=1, le=65535)
    # The database to replicate.
    database: Str
    # Secrets Manager secret with the DMS user's {"username", "password", "host", "port"}; not with
    # provision (the program creates the secret, source-init fills it).
    credentials_secret_arn: str | None = None
    # A CDC-ready RDS for PostgreSQL that CloudBridge creates for this source, with its instance
    # settings (docs/provisioned-postgres.md); host, credentials and network then come from it.
    provision: ProvisionedPostgres | None = None
    # Where DMS may connect: the source's network (CIDR) or its security group; nothing else.
    source_cidr: Annotated[str, StringConstraints(pattern=CIDR)] | None = None
    source_security_group_id: Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")] | None = None
    # TLS to the source: verify-full (the default for RDS/Aurora hosts) checks the server's
    # certificate and name against a CA — an existing DMS certificate, or a PEM bundle
    # committed in this repository that the program imports. Nothing is downloaded.
    ssl_mode: Literal["none", "require", "verify-ca", "verify-full"] | None = None
    ca_certificate_arn: str | None = None
    ca_bundle_file: Str | None = None
    # The customer-managed KMS key the credentials secret is encrypted with, if any: DMS
    # then needs kms:Decrypt on it (through Secrets Manager only).
    credentials_kms_key_arn: str | None = None
    # schema.table entries to replicate; % is a wildcard (DMS object-locator rules).
    tables: list[str] = Field(min_length=1)
    # Serverless only: tables added after the replication first started, one list per deploy that
    # adds some. DMS refuses to change a started serverless replication's tables, so each list is a
    # replication of its own that full-loads only its tables; the first one is never touched
    # (docs/replacement.md, "Adding a table"). Instance tasks add tables in place: list them in tables.
    added_tables: list[list[str]] = Field(default_factory=list)
    # Columns kept out of the lake, as schema.table.column (% wildcards): DMS drops them at the
    # source (remove-column rules), metadata marks them excluded and the validator refuses a file
    # that still carries one (docs/validation.md, "Excluded columns").
    exclude_columns: list[str] = Field(default_factory=list)
    # CDC only, from a position or a time instead of a full load (a source loaded elsewhere, a
    # restart from a checkpoint): {position: <DMS CDC start position>} or {time: <ISO 8601 UTC>}.
    cdc_start: CdcStart | None = None
    # Unit of the parquet TIMESTAMP columns DMS writes (ParquetTimestampInMillisecond):
    # ms is what Athena and Glue read best; the metadata and the validator follow it.
    timestamp_unit: Literal["ms", "us"] = "ms"
    # {mode: serverless, maxCapacityUnits, ...} or {mode: instance, instanceClass, ...}.
    replication: Replication
    # Ongoing change capture after the full load; false: full load only.
    cdc: bool = True
    # Parquet page compression DMS writes (S3 CompressionType): gzip reads and stores about a
    # third of none (benchmarks/RESULTS.md). Changing it on a running replication modifies its S3
    # endpoint, which DMS refuses while the replication runs (docs/replacement.md).
    compression: Literal["gzip", "none"] = "gzip"
    # DMS writes a CDC file when this many seconds passed (CdcMaxBatchInterval) or the next size is
    # reached, whichever first. Per source (one S3 endpoint): raise both for a quiet source to get
    # fewer, larger files; the freshness of the views follows the interval.
    cdc_max_batch_interval_seconds: int = Field(default=60, ge=1, le=86400)
    # ... or this many kilobytes (CdcMinFileSize; DMS's default is 32000 KB).
    cdc_min_file_size_kb: int = Field(default=32000, ge=1, le=1048576)
    # Iceberg state tables and bounded current-state views (on by default).
    compaction: Compaction = Field(default_factory=Compaction)
    # Raw history's partitions (DMS DatePartitionSequence, the Glue projection): day, or hour, which
    # lets a compacted view read the last hours of history instead of whole days (docs/analytics.md).
    # Fixed once the source has history: plan --against refuses a change (docs/replacement.md).
    raw_history_partition: Literal["day", "hour"] = "day"
    # Alarm when source + target CDC latency stays above this (or is not reported).
    cdc_lag_alarm_seconds: int = Field(default=900, ge=60)
    # Alarm when no file passed validation for this long (CDC sources only).
    freshness_alarm_minutes: int = Field(default=1440, ge=15, le=10080)
    # statistics: schema from the footer, values from statistics (and the pages they cannot
    # vouch for); full: also decode every page of every column. See docs/validation.md.
    validation: Literal["statistics", "full"] = "statistics"
    # Postgres on RDS or Aurora: the DB instance whose replication slot's retained WAL, transaction logs
    # and (RDS only) free storage are watched (docs/source-prerequisites.md, "Watching the source's disk").
    # On Aurora prefer rdsClusterIdentifier for the transaction logs: an instance's role changes on failover.
    rds_instance_identifier: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")] | None = None
    # With rdsInstanceIdentifier: alarm when the slot retains more WAL than this.
    replication_slot_lag_alarm_mb: int = Field(default=10240, ge=100)
    # Aurora PostgreSQL (a host like sales.cluster-c1a2b3c4d5e6.eu-west-2.rds.amazonaws.com): the DB cluster
    # whose writer's transaction logs are watched (TransactionLogsDiskUsage by role WRITER: follows a failover).
    rds_cluster_identifier: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")] | None = None
    # With rdsInstanceIdentifier or rdsClusterIdentifier: alarm when transaction logs (WAL) take more disk
    # than this (TransactionLogsDiskUsage), or when the metric is not reported at all.
    transaction_logs_alarm_mb: int = Field(default=10240, ge=100)
    # RDS instances only (not Aurora, whose storage is the cluster volume), with rdsInstanceIdentifier:
    # alarm when the instance's free storage (FreeStorageSpace) falls below this; lower it on small instances.
    free_storage_alarm_mb: int = Field(default=10240, ge=1024)

    _name = field_validator("name")(lambda cls, v: _source_name(v))

    _arn = field_validator("credentials_secret_arn")(lambda cls, v: None if v is None else _secret_arn(v))

    @field_validator("credentials_kms_key_arn")
    @classmethod
    def _kms_key(cls, value: str | None) -> str | None:
        if value is not None and not KMS_KEY_ARN.match(value):
            raise ValueError("not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)")
        return value

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: list[str]) -> list[str]:
        bad = [i for i, t in enumerate(value) if not TABLE_PATTERN.match(t)]
        if bad:
            raise ValueError(f"entries at positions {bad} must be schema.table (with % wildcards)")
        dupes = _repeated(value)
        if dupes:
            raise ValueError(f"entries at positions {dupes} repeat earlier entries")
        return value

    @field_validator("added_tables")
    @classmethod
    def _added_tables(cls, value: list[list[str]]) -> list[list[str]]:
        for i, batch in enumerate(value):
            if not batch:
                raise ValueError(f"entry {i} is empty: each entry lists the tables one deploy adds")
            bad = [t for t in batch if not TABLE_PATTERN.match(t)]
            if bad:
                raise ValueError(f"entry {i}: {', '.join(bad)} must be schema.table (with % wildcards)")
        return value

    @field_validator("exclude_columns")
    @classmethod
    def _exclude_columns(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not COLUMN_PATTERN.match(c)]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be schema.table.column (with % wildcards)")
        dupes = sorted({value[i] for i in _repeated(value)})
        if dupes:
            raise ValueError(f"{', '.join(dupes)} listed more than once")
        return value

    @model_validator(mode="after")
    def _table_sets(self) -> Source:
        if self.added_tables and not isinstance(self.replication, Serverless):
            raise ValueError(
                "addedTables is for serverless replications (DMS refuses to change a started one's tables); "
                "an instance task adds tables in place: list them in tables"
            )
        sets = self.table_sets
        for i, batch in enumerate(sets):
            for table in batch:
                for j, other in enumerate(sets[i + 1 :], start=i + 1):
                    clash = [p for p in other if _overlap(p, table)]
                    if clash:
                        where = "tables" if j == 0 else f"addedTables[{j - 1}]"
                        raise ValueError(
                            f"{table} is also selected by {where} ({', '.join(clash)}): two replications "
                            "would capture it twice"
                        )
        flat = [t for batch in sets for t in batch]
        dupes = sorted({flat[i] for i in _repeated(flat)})
        if dupes:
            raise ValueError(f"{', '.join(dupes)} listed more than once in tables and addedTables")
        unmatched = [c for c in self.exclude_columns if not any(_overlap(t, c.rsplit(".", 1)[0]) for t in flat)]
        if unmatched:
            raise ValueError(f"excludeColumns {', '.join(unmatched)} name no table in tables or addedTables")
        return self

    @model_validator(mode="after")
    def _cdc_start(self) -> Source:
        start = self.cdc_start
        if start is None:
            return self
        if not self.cdc:
            raise ValueError("cdcStart starts change capture: it needs cdc: true")
        if self.engine == "postgres" and start.time is not None:
            raise ValueError(
                "DMS cannot start a PostgreSQL source from a time: give cdcStart.position (an LSN) and "
                "cdcStart.slotName, the slot created at that position (docs/operating.md)"
            )
        if self.engine == "postgres" and start.slot_name is None:
            raise ValueError(
                "a PostgreSQL start from a position reads an existing logical replication slot: set "
                "cdcStart.slotName (DMS checks the slot exists, PostgreSQLSettings.SlotName)"
            )
        if self.engine != "postgres" and start.slot_name is not None:
            raise ValueError("cdcStart.slotName is for PostgreSQL sources only")
        return self

    @property
    def table_sets(self) -> list[list[str]]:
        """The tables of each replication: ``tables`` first, then each ``addedTables`` entry."""
        return [list(self.tables), *(list(b) for b in self.added_tables)]

    @property
    def all_tables(self) -> list[str]:
        """Every selected table pattern, over all replications."""
        return [t for batch in self.table_sets for t in batch]

    @field_validator("ca_certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        if value is not None and not DMS_CERTIFICATE_ARN.match(value):
            raise ValueError("not a DMS certificate ARN (arn:aws:dms:<region>:<account>:cert:<id>)")
        return value

    @model_validator(mode="after")
    def _provisioned(self) -> Source:
        """A provisioned source's host, secret, network and RDS identifiers are the program's own."""
        if self.provision is None:
            needed = (("host", self.host), ("credentialsSecretArn", self.credentials_secret_arn))
            missing = [key for key, value in needed if value is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} required (or provision: a database CloudBridge creates)")
            return self
        if self.engine != "postgres":
            raise ValueError("provision creates RDS for PostgreSQL: engine must be postgres")
        given = [
            key
            for key, field in (
                ("host", "host"), ("credentialsSecretArn", "credentials_secret_arn"),
                ("credentialsKmsKeyArn", "credentials_kms_key_arn"), ("sourceCidr", "source_cidr"),
                ("sourceSecurityGroupId", "source_security_group_id"),
                ("rdsInstanceIdentifier", "rds_instance_identifier"),
                ("rdsClusterIdentifier", "rds_cluster_identifier"),
            )
            if getattr(self, field) is not None
        ]  # fmt: skip
        if given:
            raise ValueError(
                f"{', '.join(given)}: not with provision (the program knows them for the database it creates)"
            )
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", self.database):
            raise ValueError("database: RDS creates it: 1-63 letters, digits or underscores, starting with a letter")
        if len(self.table_sets) + 1 > self.provision.replication_slots:
            raise ValueError(
                "provision.replicationSlots must exceed the number of replications (tables and addedTables)"
            )
        pinned = getattr(self.replication, "engine_version", None)
        needed = POSTGRES_DMS_MINIMUM[self.provision.engine_version]
        if pinned and tuple(int(part) for part in pinned.split(".")) < needed:
            raise ValueError(
                f"replication.engineVersion: DMS reads PostgreSQL {self.provision.engine_version} from "
                f"{'.'.join(map(str, needed))} on (DMS user guide, PostgreSQL source versions)"
            )
        return self

    @property
    def provisioned(self) -> bool:
        """Whether CloudBridge creates this source's database (``provision``)."""
        return self.provision is not None

    @model_validator(mode="after")
    def _network_and_tls(self) -> Source:
        if self.provision is None and (self.source_cidr is None) == (self.source_security_group_id is None):
            raise ValueError(
                "set exactly one of sourceCidr or sourceSecurityGroupId: DMS may connect to the source database only"
            )
        if self.tls_mode in ("verify-ca", "verify-full") and not (self.ca_certificate_arn or self.ca_bundle_file):
            raise ValueError(
                f"sslMode {self.tls_mode} needs the CA that signed the server's certificate: set caCertificateArn "
                "(an existing DMS certificate) or caBundleFile (a PEM file committed with the stack)"
            )
        if self.ca_certificate_arn and self.ca_bundle_file:
            raise ValueError("set caCertificateArn or caBundleFile, not both")
        return self

    @property
    def is_rds(self) -> bool:
        """Whether the host is an RDS or Aurora endpoint (a provisioned database is RDS)."""
        return self.provision is not None or (self.host or "").endswith(".rds.amazonaws.com")

    @property
    def tls_mode(self) -> str:
        """sslMode, defaulting to verify-full for RDS/Aurora hosts and require elsewhere."""
        return self.ssl_mode or ("verify-full" if self.is_rds else "require")

    @property
    def is_aurora(self) -> bool:
        """Whether the host is an Aurora cluster endpoint (writer, reader or custom)."""
        return bool(AURORA_HOST.search(self.host or ""))

    @model_validator(mode="after")
    def _rds_only_for_postgres(self) -> Source:
        if self.rds_instance_identifier and self.engine != "postgres":
            raise ValueError("rdsInstanceIdentifier applies to postgres sources only (replication slot lag)")
        if self.rds_cluster_identifier and self.engine != "postgres":
            raise ValueError("rdsClusterIdentifier applies to postgres sources only (transaction logs disk usage)")
        return self

    @model_validator(mode="after")
    def _disk_alarms(self) -> Source:
        given = self.model_fields_set
        if self.rds_cluster_identifier and not self.is_aurora:
            raise ValueError(
                "rdsClusterIdentifier is for Aurora PostgreSQL clusters (host <name>.cluster-<id>.<region>."
                "rds.amazonaws.com); an RDS instance is watched with rdsInstanceIdentifier"
            )
        writer = AURORA_WRITER_HOST.match(self.host or "")
        if self.rds_cluster_identifier and writer and writer.group(1).lower() != self.rds_cluster_identifier:
            raise ValueError(
                "rdsClusterIdentifier is not the cluster the host names (a cluster endpoint starts with the "
                "cluster's identifier)"
            )
        if "free_storage_alarm_mb" in given and self.is_aurora:
            raise ValueError(
                "freeStorageAlarmMb applies to RDS instances only: Aurora keeps its data in the cluster volume, "
                "which grows on its own; AWS's Aurora metrics list no FreeStorageSpace, and FreeLocalStorage is "
                "each instance's temporary storage, not the volume"
            )
        watched = self.provision is not None  # the program names its own instance
        if "transaction_logs_alarm_mb" in given and not (
            watched or self.rds_instance_identifier or self.rds_cluster_identifier
        ):
            raise ValueError(
                "transactionLogsAlarmMb needs rdsInstanceIdentifier or rdsClusterIdentifier: without one no alarm "
                "watches the transaction logs"
            )
        if "free_storage_alarm_mb" in given and not (watched or self.rds_instance_identifier):
            raise ValueError("freeStorageAlarmMb needs rdsInstanceIdentifier: without it no alarm watches free storage")
        return self

    @property
    def table_patterns(self) -> list[tuple[str, str]]:
        """The selected tables as (schema, table) DMS patterns."""
        return [tuple(t.split(".", 1)) for t in self.all_tables]  # type: ignore[misc]

    def excluded_columns(self, schema: str, table: str) -> list[str]:
        """The exclusion patterns (column part) that apply to one concrete table."""
        name = f"{schema}.{table}"
        return [c.rsplit(".", 1)[1] for c in self.exclude_columns if _like(c.rsplit(".", 1)[0], name)]


def _overlap(a: str, b: str) -> bool:
    """Whether some name matches both DMS patterns (% = any run of characters)."""
    from functools import cache

    @cache
    def both(i: int, j: int) -> bool:
        if i == len(a) or j == len(b):  # the rest of the other must be able to match nothing
            return set(a[i:] + b[j:]) <= {"%"}
        if a[i] == "%":
            return both(i + 1, j) or both(i, j + 1)
        if b[j] == "%":
            return both(i, j + 1) or both(i + 1, j)
        return a[i] == b[j] and both(i + 1, j + 1)

    return both(0, 0)


_like = locator_matches  # DMS object-locator matching: one definition (functions/common/dms.py)


# A DynamoDB table name (DynamoDB's rule): its lake name replaces "." and "-" with "_".
DYNAMODB_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


class DynamoDbSource(_Model):
    """A DynamoDB source: existing tables read by name, a full export each plus their streams (docs/dynamodb.md)."""

    # 1-16 of a-z, 0-9, single hyphens: becomes bucket, Lambda and Glue names.
    name: str
    # dynamodb: tables read through their exports and streams, no DMS.
    engine: Literal["dynamodb"]
    # DynamoDB table names in the stack's account and region. Each needs point-in-time recovery and a
    # stream with NEW_AND_OLD_IMAGES (`python -m cloudbridge preflight` checks both); its lake name is
    # dynamodb.<name with . and - as _>, its metadata metadata/<source>/dynamodb/<lake name>.json.
    tables: list[str] = Field(min_length=1)
    # Stream changes after the export; false: the export only.
    cdc: bool = True
    # Most records the stream converter gets per invocation (one parquet file each).
    stream_batch_size: int = Field(default=500, ge=1, le=10000)
    # Seconds Lambda gathers records before it invokes the converter (larger, fewer files).
    stream_batching_window_seconds: int = Field(default=5, ge=0, le=300)
    # Retries of a failing batch (its records from the first failed one) before its description goes
    # to the on-failure queue; -1: until the records expire from the stream (24 hours).
    stream_maximum_retry_attempts: int = Field(default=10, ge=-1, le=10000)
    # Records older than this are not sent to the converter but described on the on-failure queue
    # (60-604800 s, or -1: until they expire from the stream).
    stream_maximum_record_age_seconds: int = Field(default=21600, ge=-1, le=604800)
    # Alarm when the stream converter's IteratorAge (age of the last record of a batch) exceeds this:
    # records older than 24 hours are trimmed from the stream, i.e. lost.
    iterator_age_alarm_seconds: int = Field(default=3600, ge=60, le=86400)
    # Alarm when no file passed validation for this long (CDC sources only).
    freshness_alarm_minutes: int = Field(default=1440, ge=15, le=10080)
    # statistics or full, as for every source (docs/validation.md).
    validation: Literal["statistics", "full"] = "statistics"
    # Minutes the deploy waits for each table's export to complete (ExportTableToPointInTime).
    export_timeout_minutes: int = Field(default=120, ge=10, le=1440)
    # Iceberg state tables for the current-state views, as for every source (docs/analytics.md, "Compaction").
    compaction: Compaction = Field(default_factory=Compaction)
    # Raw history's partitions, day or hour, as for every source; fixed once the source has history.
    raw_history_partition: Literal["day", "hour"] = "day"

    _name = field_validator("name")(lambda cls, v: _source_name(v))

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: list[str]) -> list[str]:
        bad = [i for i, t in enumerate(value) if not DYNAMODB_TABLE.match(t)]
        if bad:
            raise ValueError(f"entries at positions {bad} are not DynamoDB table names (3-255 of A-Z a-z 0-9 _ . -)")
        lake = [re.sub(r"[.-]", "_", t) for t in value]
        dupes = _repeated(lake)
        if dupes:
            raise ValueError(f"entries at positions {dupes} repeat an earlier table (names equal once . and - are _)")
        return value

    @field_validator("stream_maximum_record_age_seconds")
    @classmethod
    def _record_age(cls, value: int) -> int:
        if value != -1 and value < 60:
            raise ValueError("Lambda takes -1 (until the records expire) or 60 to 604800 seconds")
        return value

    # --- what the rest of the program asks of any source ---------------------------------

    @property
    def timestamp_unit(self) -> str:
        """Milliseconds: the converters write no timestamp column of their own."""
        return "ms"

    @property
    def exclude_columns(self) -> list[str]:
        """None: a DynamoDB table's metadata declares what lands."""
        return []

    @property
    def added_tables(self) -> list[list[str]]:
        """None: every table is exported and streamed on its own."""
        return []

    @property
    def cdc_start(self) -> None:
        """None: the stream is read from its trim horizon."""
        return None

    # A DMS source's connection settings: a DynamoDB source has none (checks that read them skip it).
    credentials_secret_arn = ca_bundle_file = ca_certificate_arn = credentials_kms_key_arn = property(
        lambda self: None, doc="None: DynamoDB is reached through its API, with the functions' roles."
    )
    provision = host = rds_instance_identifier = rds_cluster_identifier = property(
        lambda self: None, doc="None: the table exists already; CloudBridge reads it by name."
    )

    @property
    def lake_tables(self) -> list[str]:
        """The tables' lake names, in order."""
        return [re.sub(r"[.-]", "_", t) for t in self.tables]

    @property
    def table_sets(self) -> list[list[str]]:
        """One set: the tables, as dynamodb.<lake name>."""
        return [[f"dynamodb.{t}" for t in self.lake_tables]]

    @property
    def all_tables(self) -> list[str]:
        """Every table as dynamodb.<lake name>."""
        return self.table_sets[0]

    @property
    def table_patterns(self) -> list[tuple[str, str]]:
        """The tables as (schema, table): ("dynamodb", lake name)."""
        return [("dynamodb", t) for t in self.lake_tables]

    def excluded_columns(self, schema: str, table: str) -> list[str]:
        """None: a DynamoDB table's metadata declares what lands."""
        return []


def source_kind(value: Any) -> str:
    """The branch of the source union an entry belongs to: ``dynamodb`` or ``dms`` (every other engine)."""
    engine = value.get("engine") if isinstance(value, dict) else getattr(value, "engine", None)
    return "dynamodb" if engine == "dynamodb" else "dms"


# A source entry: a DynamoDB source by its engine, any other engine a DMS one (whose errors then
# name the DMS engines). Error locations carry the branch's tag, which stack_config drops.
AnySource = Annotated[
    Annotated[Source, Tag("dms")] | Annotated[DynamoDbSource, Tag("dynamodb")], Discriminator(source_kind)
]


# Regions where Redshift Serverless offers a base capacity above 512 RPUs (in steps of 32).
REDSHIFT_LARGE_BASE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")


def _rpus(value: int) -> int:
    """Redshift Serverless capacities: 4, or 8 to 512 in steps of 8, or 512 to 1024 in steps of 32."""
    if value == 4 or (8 <= value <= 512 and value % 8 == 0) or (512 < value <= 1024 and value % 32 == 0):
        return value
    raise ValueError(f"{value} RPUs is not a Redshift Serverless capacity (4, 8-512 by 8, 512-1024 by 32)")


class Redshift(_Model):
    """An optional Redshift Serverless warehouse with the current-state views of every source."""

    # Off by default. On: a namespace and workgroup (KMS, private subnets, no public access,
    # admin password kept by Secrets Manager), an external schema per source over its Glue
    # database, and the current-state views as late-binding views.
    enabled: bool = False
    # Base capacity in Redshift Processing Units: 4, or 8 to 512 in steps of 8 (512 to 1024
    # in steps of 32 in the regions that offer it).
    base_capacity: int = 8
    # Most RPUs the workgroup may scale to (same steps); unset: Redshift's own default.
    max_capacity: int | None = None
    # Networks that may connect on port 5439 (BI tools, a VPN); none by default.
    client_cidrs: list[Annotated[str, StringConstraints(pattern=CIDR)]] = Field(default_factory=list)
    # The database created in the namespace (the views live there, one schema per source).
    database: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "analytics"

    @field_validator("base_capacity", "max_capacity")
    @classmethod
    def _capacity(cls, value: int | None) -> int | None:
        return None if value is None else _rpus(value)

    @model_validator(mode="after")
    def _bounds(self) -> Redshift:
        if self.max_capacity is not None and self.max_capacity < self.base_capacity:
            raise ValueError(f"maxCapacity {self.max_capacity} is below baseCapacity {self.base_capacity}")
        return self


class Analytics(_Model):
    """The Athena workgroup and the optional Redshift warehouse."""

    # Athena cancels a query that would scan more than this. Compaction runs in this workgroup too:
    # a rebuild reads a table's whole generation (docs/analytics.md, "Sizing the scan limit").
    bytes_scanned_cutoff_per_query_gb: int = Field(default=100, ge=1, le=100_000)
    # Days Athena query results are kept.
    results_expire_days: int = Field(default=30, ge=1, le=3650)
    # Redshift Serverless over the same catalog (off by default).
    redshift: Redshift = Field(default_factory=Redshift)


class DisasterRecovery(_Model):
    """A second region holding replicas of each source's raw history and metadata, queryable there."""

    # Off by default. On: S3 Cross-Region Replication of each source's raw-history and metadata buckets
    # into buckets of this region (under a key of this region), a Glue catalog and Athena workgroup over
    # the replicas there, and the region's own alerts topic and Slack notifier (docs/disaster-recovery.md).
    enabled: bool = False
    # The DR region: another region than aws:region.
    region: str | None = None
    # Secrets Manager secret in the DR region holding the Slack webhook URL (a replica of the primary
    # secret, aws secretsmanager replicate-secret-to-regions): the DR notifier reads it there, so alerts
    # still reach Slack while the primary region is down.
    slack_webhook_secret_arn: str | None = None
    # Also replicate each source's fail bucket (the quarantine, expiring like the primary's).
    replicate_fail: bool = False
    # S3 Replication Time Control: 99.99% of new objects replicated within 15 minutes (its SLA), and the
    # replication metrics; off: the metrics only (no SLA, no RTC charge).
    replication_time_control: bool = True
    # Alarm (in the DR region) when a replication rule's ReplicationLatency exceeds this many seconds.
    latency_alarm_seconds: int = Field(default=900, ge=60, le=86400)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not REGION.match(value):
            raise ValueError("not an AWS region (like eu-west-1)")
        return value

    @field_validator("slack_webhook_secret_arn")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else _secret_arn(value)

    @model_validator(mode="after")
    def _complete(self) -> DisasterRecovery:
        if self.enabled and (self.region is None or self.slack_webhook_secret_arn is None):
            raise ValueError("enabled needs region and slackWebhookSecretArn (a secret in that region)")
        return self


class DataProtection(_Model):
    """How the raw history and metadata (the system of record) are kept from deletion."""

    # Deny DeleteBucket, DeleteObjectVersion, PutLifecycleConfiguration, PutBucketPolicy and
    # DeleteBucketPolicy on the raw-history and metadata buckets (and their DR replicas) to every
    # principal but the environment's break-glass role, cloudbridge-breakglass-<env>, which the
    # bootstrap creates (docs/disaster-recovery.md, "The deletion guard"). Default: on wherever
    # retainData is (every stack but dev); it needs retainData, whose deletions it would refuse.
    deletion_guard: bool | None = None
    # Days a superseded (noncurrent) version of a raw-history or metadata object is kept: the window to
    # recover an overwritten or deleted file. Default: 90, except 30 in dev.
    noncurrent_version_days: int | None = Field(default=None, ge=1, le=36500)


class StackConfig(_Model):
    """A whole stack file, validated."""

    environment: str
    # aws:region: the region everything is deployed to.
    region: str
    # Which AWS account this stack is.
    account: Account
    # Where DMS runs.
    network: Network
    # Where alerts go.
    alerts: Alerts
    # The validator and notifier functions.
    lambdas: Lambdas = Field(alias="lambda")
    # One entry per source database: one extraction pipeline each.
    sources: list[AnySource] = Field(min_length=1)
    # The Athena workgroup over the current-state views.
    analytics: Analytics = Field(default_factory=Analytics)
    # Buckets holding data, KMS keys and Glue databases stay in the account when they leave
    # the program (a source removed from config, a refactor). Default: on, except in dev.
    retain_data: bool | None = None
    # A second region with replicas of the raw history and metadata, queryable there (off by default).
    dr: DisasterRecovery = Field(default_factory=DisasterRecovery)
    # The deletion guard and version retention of the raw-history and metadata buckets.
    data_protection: DataProtection = Field(default_factory=DataProtection)

    @property
    def retains_data(self) -> bool:
        """Whether data-holding resources stay in the account when they leave the program."""
        return self.retain_data if self.retain_data is not None else self.environment != "dev"

    @property
    def guards_deletion(self) -> bool:
        """Whether the raw-history and metadata buckets deny deletion to all but the break-glass role."""
        guard = self.data_protection.deletion_guard
        return guard if guard is not None else self.retains_data

    @property
    def noncurrent_version_days(self) -> int:
        """How long superseded versions of raw-history and metadata objects are kept."""
        days = self.data_protection.noncurrent_version_days
        return days if days is not None else (30 if self.environment == "dev" else 90)

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, value: list[Source]) -> list[Source]:
        names = [s.name for s in value]
        dupes = _repeated(names)
        if dupes:
            raise ValueError(f"sources at positions {dupes} repeat an earlier source's name: each needs its own")
        return value


def _source_name(value: str) -> str:
    """A source's name: it becomes bucket, DMS and Glue names (SOURCE_NAME)."""
    if not SOURCE_NAME.match(value):
        raise ValueError("must be 1-16 lower-case letters, digits or single hyphens, starting with a letter")
    return value


def _repeated(values: list) -> list[int]:
    """Positions of entries that repeat an earlier one."""
    return [i for i, v in enumerate(values) if values.index(v) != i]


def _secret_arn(value: str) -> str:
    if not SECRET_ARN.match(value):
        raise ValueError("not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
    return value
