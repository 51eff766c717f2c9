"""Names and tags for every resource, in one place.

Physical names carry the environment so that two stacks never collide, and bucket names
carry account and region because S3 names are global.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from functions.common.runtime import (
    NAME_PREFIX,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_PROJECT,
    TAG_SOURCE,
    glue_table_name,
)

PROJECT = "cloudbridge"
PREFIX = NAME_PREFIX
BOUNDARY = "boundary"  # cb-<env>-boundary: the permissions boundary every program role carries


def permissions_boundary_name(environment: str) -> str:
    """``cb-<env>-boundary``: the managed policy the bootstrap creates and every role of the
    environment carries as its permissions boundary (one place for both programs)."""
    return f"{PREFIX}-{environment}-{BOUNDARY}"


def permissions_boundary_arn(account_id: str, environment: str) -> str:
    """The ARN of the environment's permissions boundary (an IAM managed policy)."""
    return f"arn:aws:iam::{account_id}:policy/{permissions_boundary_name(environment)}"


def break_glass_role_name(environment: str) -> str:
    """``cloudbridge-breakglass-<env>``: the one role the deletion guard lets delete or unguard the
    system of record (created by the bootstrap, like the deploy role; docs/disaster-recovery.md)."""
    return f"{PROJECT}-breakglass-{environment}"


def break_glass_role_arn(account_id: str, environment: str) -> str:
    """The ARN of the environment's break-glass role."""
    return f"arn:aws:iam::{account_id}:role/{break_glass_role_name(environment)}"


def environment_of(physical_name: str) -> str:
    """The environment a ``cb-<env>-...`` physical name belongs to."""
    prefix, environment, *rest = physical_name.split("-")
    if prefix != PREFIX or not rest:
        raise ValueError(f"{physical_name!r} is not a cb-<env>-... name")
    return environment


@dataclass(frozen=True)
class Naming:
    """Names and tags of one stack's resources."""

    environment: str
    account_id: str
    region: str

    def name(self, *parts: str) -> str:
        """``cb-<env>-<parts...>``: Lambda, IAM, SQS, SNS, DMS identifiers."""
        return "-".join((PREFIX, self.environment, *parts))

    def bucket(self, source: str, purpose: str) -> str:
        """``cb-<env>-<source>-<purpose>-<account>-<region>``: globally unique bucket names."""
        name = f"{self.name(source, purpose)}-{self.account_id}-{self.region}"
        if len(name) > 63:  # guarded by the config's source-name limit; never truncate silently
            raise ValueError(f"bucket name {name!r} exceeds 63 characters")
        return name

    def glue_database(self, source: str) -> str:
        """``cb_<env>_<source>``: the source's Glue database."""
        # Glue/Athena identifiers: lower case, underscores.
        return f"{PREFIX}_{self.environment}_{source}".replace("-", "_")

    @staticmethod
    def glue_table(schema: str, table: str) -> str:
        """``<schema>__<table>``: unique across schemas, in Athena's identifier alphabet."""
        return glue_table_name(schema, table)

    def replication_id(self, source: str, table_set: int = 0) -> str:
        """The DMS identifier of a source's replication for one table set: ``cb-<env>-<source>``
        for ``tables``, ``cb-<env>-<source>-set<n>`` (n from 2) for each ``addedTables`` entry."""
        return self.name(source) if table_set == 0 else self.name(source, f"set{table_set + 1}")

    def dms_arn(self, kind: str, resource_identifier: str) -> str:
        """A DMS resource's ARN: ``replication-config`` and ``task`` ARNs end in the
        ResourceIdentifier the program sets, so they are known before the resource exists."""
        return f"arn:aws:dms:{self.region}:{self.account_id}:{kind}:{resource_identifier}"

    def in_region(self, region: str) -> Naming:
        """The same stack's names in another region (the DR region's buckets, topics, keys)."""
        return replace(self, region=region)

    @property
    def break_glass_role_arn(self) -> str:
        """The environment's break-glass role: the only principal the deletion guard lets through."""
        return break_glass_role_arn(self.account_id, self.environment)

    def replication_rule_id(self, purpose: str, destination_region: str) -> str:
        """The S3 replication rule of a bucket purpose into a region: ``<purpose>-to-<region>``."""
        return f"{purpose}-to-{destination_region}"

    @property
    def permissions_boundary_arn(self) -> str:
        """The environment's permissions boundary: every role the program creates carries it."""
        return permissions_boundary_arn(self.account_id, self.environment)

    def lambda_log_group(self, function_name: str) -> str:
        """The log group Lambda writes a function's logs to."""
        return f"/aws/lambda/{function_name}"

    def tags(self, source: str | None = None, **extra: str) -> dict[str, str]:
        """Tags for one resource; the provider's default tags carry the common ones."""
        tags = dict(extra)
        if source:
            tags[TAG_SOURCE] = source
        return tags

    def default_tags(self) -> dict[str, str]:
        """The tags the provider puts on every resource."""
        return {
            TAG_PROJECT: PROJECT,
            TAG_ENVIRONMENT: self.environment,
            TAG_MANAGED_BY: "pulumi",
        }
