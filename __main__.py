"""CloudBridge: one extraction pipeline per source database, per stack (= AWS account).

Reads the typed config, builds the account's provider and stamps out the components;
nothing else happens here.
"""

import pulumi
import pulumi_aws as aws

from components.database import CdcReadyPostgres, CdcReadyPostgresArgs
from components.dr import DisasterRecovery, DisasterRecoveryArgs, DrSource, ReplicatedBucket
from components.metadata_files import load_tables
from components.naming import Naming
from components.pipeline import FAIL_RETENTION_DAYS, ExtractionPipeline, PipelineArgs, compacts
from components.platform import Platform, PlatformArgs
from components.replication import SourceScope
from components.stack_config import load_stack_config
from components.warehouse import Warehouse, WarehouseArgs, WarehouseSource
from functions.common import layout

config = load_stack_config()
tables = load_tables(config)  # committed metadata of every selected table, or a config error
naming = Naming(environment=config.environment, account_id=config.account.id, region=config.region)

# Every resource goes through this provider. It uses the ambient credentials the workflow
# obtained through OIDC — the read-only preview role in pull requests, the deploy role only
# in the gated deploy job — and assumes nothing itself, so code from a pull request never
# runs with deploy rights. allowed_account_ids: a stack can never touch another account.
provider = aws.Provider(
    "aws",
    region=config.region,
    allowed_account_ids=[config.account.id],
    default_tags=aws.ProviderDefaultTagsArgs(tags=naming.default_tags()),
)
in_account = pulumi.ResourceOptions(providers=[provider])

platform = Platform(
    "platform",
    PlatformArgs(
        naming=naming,
        vpc_id=config.network.vpc_id,
        subnet_ids=config.network.subnet_ids,
        route_table_ids=config.network.route_table_ids,
        existing_endpoints=config.network.existing_endpoints,
        manage_dms_service_roles=config.account.manage_dms_service_roles,
        slack_webhook_secret_arn=config.alerts.slack_webhook_secret_arn,
        log_retention_days=config.lambdas.log_retention_days,
        retain_data=config.retains_data,
        bytes_scanned_cutoff_gb=config.analytics.bytes_scanned_cutoff_per_query_gb,
        results_expire_days=config.analytics.results_expire_days,
        state_tables=any(compacts(source, tables[source.name]) for source in config.sources),
    ),
    opts=in_account,
)
# The compaction runs query in the workgroup and write the state bucket.
analytics_resources = tuple(r for r in (platform.analytics.workgroup, platform.analytics.state) if r is not None)

# A CDC-ready RDS for PostgreSQL for each source that asks for one (provision:, docs/provisioned-postgres.md).
databases = {
    source.name: CdcReadyPostgres(
        f"{source.name}-database",
        CdcReadyPostgresArgs(
            naming=naming,
            source=source,
            vpc_id=config.network.vpc_id,
            subnet_ids=config.network.subnet_ids,
            kms_key_arn=platform.key.arn,
            retain_data=config.retains_data,
            dr_region=config.dr.region if config.dr.enabled else None,
        ),
        opts=in_account,
    )
    for source in config.sources
    if getattr(source, "provision", None) is not None  # a DMS source with provision:
}

pipelines = {
    source.name: ExtractionPipeline(
        source.name,
        PipelineArgs(
            scope=SourceScope(
                naming=naming,
                # A provisioned source's disk alarms watch its database, its replication connects to it.
                source=databases[source.name].monitored(source) if source.name in databases else source,
                vpc_id=config.network.vpc_id,
                subnet_group_id=platform.subnet_group.replication_subnet_group_id,
                endpoints=platform.endpoints,
                kms_key_arn=platform.key.arn,
                database=databases[source.name].link if source.name in databases else None,
            ),
            alerts_topic_arn=platform.alerts.topic.arn,
            alerts_dead_letter_arn=platform.alerts.dead_letter_queue.arn,
            validator_bundle=platform.validator_bundle,
            validator_layers=(config.lambdas.validator_layer_arn,),
            tables=tables[source.name],
            log_retention_days=config.lambdas.log_retention_days,
            retain_data=config.retains_data,
            deletion_guard_arn=naming.break_glass_role_arn if config.guards_deletion else None,
            noncurrent_version_days=config.noncurrent_version_days,
            analytics_resources=analytics_resources,
        ),
        opts=in_account,
    )
    for source in config.sources
}

# The system of record replicated into a second region and usable there (docs/disaster-recovery.md).
if config.dr.enabled:
    dr = DisasterRecovery(
        "dr",
        DisasterRecoveryArgs(
            naming=naming,
            config=config.dr,
            sources=tuple(
                DrSource(
                    name=source.name,
                    engine=source.engine,
                    tables=tables[source.name],
                    layout=layout.by_name(source.raw_history_partition),
                    buckets=(
                        ReplicatedBucket("raw", pipelines[source.name].raw_history),
                        ReplicatedBucket("meta", pipelines[source.name].metadata),
                        *(
                            (ReplicatedBucket("fail", pipelines[source.name].fail, FAIL_RETENTION_DAYS),)
                            if config.dr.replicate_fail
                            else ()
                        ),
                    ),
                )
                for source in config.sources
            ),
            primary_key_arn=platform.key.arn,
            notifier_bundle=platform.notifier_bundle,
            log_retention_days=config.lambdas.log_retention_days,
            retain_data=config.retains_data,
            deletion_guard_arn=naming.break_glass_role_arn if config.guards_deletion else None,
            noncurrent_version_days=config.noncurrent_version_days,
            bytes_scanned_cutoff_gb=config.analytics.bytes_scanned_cutoff_per_query_gb,
            results_expire_days=config.analytics.results_expire_days,
            primary_alerts_topic_arn=platform.alerts.topic.arn,
        ),
        opts=in_account,
    )
    pulumi.export(
        "dr",
        {
            "region": config.dr.region,
            "alertsTopicArn": dr.alerts.topic.arn,
            "athenaWorkgroup": dr.analytics.workgroup.name,
            "backfillRoleArn": dr.backfill_role.arn,
            "reportsBucket": dr.reports.name,
            "rules": [
                {"source": r.source, "rule": r.rule_id, "sourceBucket": r.source_bucket.name, "replica": r.replica.name}
                for r in dr.rules
            ],
        },
    )

redshift = config.analytics.redshift
if redshift.enabled:
    warehouse = Warehouse(
        "warehouse",
        WarehouseArgs(
            naming=naming,
            kms_key_arn=platform.key.arn,
            vpc_id=config.network.vpc_id,
            subnet_ids=config.network.subnet_ids,
            base_capacity=redshift.base_capacity,
            max_capacity=redshift.max_capacity,
            client_cidrs=redshift.client_cidrs,
            database=redshift.database,
            sources=[
                WarehouseSource(
                    name=name,
                    glue_database=naming.glue_database(name),
                    raw_history_arn=p.raw_history.arn,
                    tables=tables[name],
                )
                for name, p in pipelines.items()
            ],
            log_retention_days=config.lambdas.log_retention_days,
            retain_data=config.retains_data,
        ),
        opts=in_account,
    )
    pulumi.export(
        "warehouse",
        {
            "workgroup": warehouse.workgroup.workgroup_name,
            "database": redshift.database,
            "adminSecretArn": warehouse.namespace.admin_password_secret_arn,
        },
    )

pulumi.export("alertsTopicArn", platform.alerts.topic.arn)
if databases:
    pulumi.export(
        "databases",
        {
            name: {
                "identifier": db.identifier,
                "address": db.instance.address,
                "port": db.instance.port,
                "dmsSecretArn": db.dms_secret.arn,
                "dmsUserReady": db.link.ready,
            }
            for name, db in databases.items()
        },
    )
pulumi.export(
    "dataProtection",
    {
        "retainData": config.retains_data,
        "deletionGuard": config.guards_deletion,
        "breakGlassRoleArn": naming.break_glass_role_arn,
        "noncurrentVersionDays": config.noncurrent_version_days,
    },
)
pulumi.export("athenaWorkgroup", platform.analytics.workgroup.name)
pulumi.export(
    "pipelines",
    {
        name: {
            "landingBucket": p.landing.name,
            "rawHistoryBucket": p.raw_history.name,
            "failBucket": p.fail.name,
            "metadataBucket": p.metadata.name,
            "glueDatabase": p.catalog.database.name,
            "replication": p.replication.identifier,
        }
        for name, p in pipelines.items()
    },
)
