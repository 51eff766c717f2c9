"""Analytics: the account's Athena workgroup over the current-state views.

Enforced configuration (clients cannot point results elsewhere or turn encryption off),
results in their own encrypted bucket that forgets them after a while, a per-query limit
on the bytes scanned (a runaway query is cancelled, not billed in full), the engine
version pinned so a view's SQL does not change meaning under it. With compaction, the state
bucket that holds every source's Iceberg state tables (components/compaction.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import Naming
from components.storage import SecureBucket, SecureBucketArgs
from functions.common.runtime import TAG_PURPOSE

ENGINE_VERSION = "Athena engine version 3"
GIB = 1024**3
# Iceberg writes new files and deletes old ones itself (VACUUM); a version superseded or deleted
# is kept one day so that an accidental delete outside the runs can be undone by the morning.
STATE_NONCURRENT_DAYS = 1


def workgroup_name(naming: Naming) -> str:
    """The environment's Athena workgroup, where analysts and the compaction runs query."""
    return naming.name("analytics")


def results_bucket_name(naming: Naming) -> str:
    """The workgroup's enforced query-results location."""
    return naming.bucket("athena", "results")


def state_bucket_name(naming: Naming) -> str:
    """The bucket of every source's Iceberg state tables, one prefix per source."""
    return naming.bucket("athena", "state")


@dataclass(frozen=True)
class AnalyticsArgs:
    """Inputs of the Athena workgroup and its results bucket."""

    naming: Naming
    kms_key_arn: pulumi.Input[str]
    bytes_scanned_cutoff_gb: int
    results_expire_days: int
    # Some source compacts its tables: the state bucket is created (never in the DR region,
    # whose views read the replicated history).
    state_tables: bool = False


class Analytics(pulumi.ComponentResource):
    """The environment's Athena workgroup (enforced, encrypted, limited) and its results bucket."""

    results: SecureBucket
    state: SecureBucket | None
    workgroup: aws.athena.Workgroup

    def __init__(self, name: str, args: AnalyticsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:analytics:Analytics", name, None, opts)
        naming = args.naming
        self.results = SecureBucket(
            f"{name}-results",
            SecureBucketArgs(
                bucket_name=results_bucket_name(naming),
                kms_key_arn=args.kms_key_arn,
                tags=naming.tags(**{TAG_PURPOSE: "athena-results"}),
                expire_after_days=args.results_expire_days,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.state = (
            SecureBucket(
                f"{name}-state",
                SecureBucketArgs(
                    bucket_name=state_bucket_name(naming),
                    kms_key_arn=args.kms_key_arn,
                    tags=naming.tags(**{TAG_PURPOSE: "iceberg-state"}),
                    versioning=True,
                    noncurrent_expire_after_days=STATE_NONCURRENT_DAYS,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if args.state_tables
            else None
        )
        self.workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=workgroup_name(naming),
            description=f"CloudBridge {naming.environment}: current-state views of every source",
            state="ENABLED",
            configuration=aws.athena.WorkgroupConfigurationArgs(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=args.bytes_scanned_cutoff_gb * GIB,
                engine_version=aws.athena.WorkgroupConfigurationEngineVersionArgs(
                    selected_engine_version=ENGINE_VERSION
                ),
                result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                    output_location=pulumi.Output.concat("s3://", self.results.name, "/"),
                    expected_bucket_owner=naming.account_id,
                    encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                        encryption_option="SSE_KMS", kms_key_arn=args.kms_key_arn
                    ),
                ),
            ),
            tags=naming.tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {
                "workgroup": self.workgroup.name,
                "results_bucket": self.results.name,
                "state_bucket": self.state.name if self.state else None,
            }
        )
