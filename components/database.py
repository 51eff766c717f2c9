"""CdcReadyPostgres: an RDS for PostgreSQL instance CloudBridge creates for a source, ready for CDC.

Per ``provision:`` source: the instance in the account's private subnets (its own DB subnet group),
encrypted with the stack's key, Multi-AZ outside dev, automated backups (and, with the stack's
``dr`` on, replicated to the DR region under a key there), deletion protection and a final
snapshot wherever data is retained (always in prod), the master password kept by RDS in Secrets
Manager, Performance Insights, a parameter group with logical replication, TLS only and WAL
sender limits sized for DMS, and a security group that admits DMS (the replication adds that
rule) and, if configured, one named admin group. The DMS user's secret is created here, empty,
under a name the program knows; ``python -m cloudbridge source-init`` creates the user inside the
VPC and stores its credentials there. Decisions and AWS sources: docs/provisioned-postgres.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from components import iam
from components.config import MASTER_USERNAME, ProvisionedPostgres, Source
from components.naming import Naming
from components.platform import KEY_ADMIN_ACTIONS

ENGINE = "postgres"
STORAGE_TYPE = "gp3"
# DMS gives up on a sender it has not heard from in wal_sender_timeout; 0 or at least 10000 ms works
# with DMS (DMS user guide, "Using a PostgreSQL database as an AWS DMS source": "a DMS task with CDC
# requires a minimum of 10000 milliseconds"). A minute still ends a dead connection's sender.
WAL_SENDER_TIMEOUT_MS = 60000
PENDING_REBOOT, IMMEDIATE = "pending-reboot", "immediate"
# Days the DMS user's secret can still be restored after it is deleted (Secrets Manager: 7 to 30).
SECRET_RECOVERY_DAYS = 7


def instance_identifier(naming: Naming, source: str) -> str:
    """``cb-<env>-<source>-db``: the DB instance (and its alarms' DBInstanceIdentifier)."""
    return naming.name(source, "db")


def dms_secret_name(naming: Naming, source: str) -> str:
    """``cb-<env>-<source>-dms-user``: the secret source-init fills and DMS reads."""
    return naming.name(source, "dms-user")


def parameters(provision: ProvisionedPostgres) -> list[tuple[str, str, str]]:
    """(name, value, apply method) of the parameter group: logical replication, TLS only, and slots,
    senders and a sender timeout sized for DMS. Static parameters apply at the next reboot (a new
    instance starts with them)."""
    slots = str(provision.replication_slots)
    return [
        ("rds.logical_replication", "1", PENDING_REBOOT),
        ("rds.force_ssl", "1", IMMEDIATE),
        ("max_replication_slots", slots, PENDING_REBOOT),
        ("max_wal_senders", slots, PENDING_REBOOT),
        ("wal_sender_timeout", str(WAL_SENDER_TIMEOUT_MS), IMMEDIATE),
    ]


@dataclass(frozen=True)
class SourceDatabase:
    """What a source's replication needs of the database CloudBridge created for it."""

    identifier: str
    security_group_id: pulumi.Input[str]
    credentials_secret_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]  # the DMS user's secret is encrypted with it
    port: int
    # source-init has run (dmsUserReady): the replication may start.
    ready: bool


@dataclass(frozen=True)
class CdcReadyPostgresArgs:
    """Inputs of one provisioned database."""

    naming: Naming
    source: Source  # its ``provision`` is set
    vpc_id: str
    subnet_ids: Sequence[str]
    kms_key_arn: pulumi.Input[str]
    retain_data: bool = False
    # The stack's DR region when its ``dr`` is on: automated backups are replicated there.
    dr_region: str | None = None

    @property
    def provision(self) -> ProvisionedPostgres:
        """The source's ``provision`` settings."""
        assert self.source.provision is not None
        return self.source.provision

    @property
    def protected(self) -> bool:
        """Deletion protection and a final snapshot: wherever data is retained, and always in prod."""
        return self.retain_data or self.naming.environment == "prod"

    @property
    def multi_az(self) -> bool:
        """A standby in a second zone: as configured, else everywhere but dev."""
        configured = self.provision.multi_az
        return configured if configured is not None else self.naming.environment != "dev"


class CdcReadyPostgres(pulumi.ComponentResource):
    """An RDS for PostgreSQL instance that DMS can capture changes from from its first hour."""

    identifier: str
    subnet_group: aws.rds.SubnetGroup
    parameter_group: aws.rds.ParameterGroup
    security_group: aws.ec2.SecurityGroup
    dms_secret: aws.secretsmanager.Secret
    instance: aws.rds.Instance
    backups_key: aws.kms.Key | None = None
    backups_replication: aws.rds.InstanceAutomatedBackupsReplication | None = None

    def __init__(self, name: str, args: CdcReadyPostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:database:CdcReadyPostgres", name, None, opts)
        self._prefix, self._args = name, args
        source = args.source.name
        self._tags = args.naming.tags(source)
        # What holds data (the instance, the DMS user's secret, the backups' key and replica) stays
        # in the account when it leaves the program, like the buckets.
        self._child = pulumi.ResourceOptions(parent=self)
        self._kept = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_data)
        self.identifier = instance_identifier(args.naming, source)
        self.subnet_group = self._subnet_group()
        self.parameter_group = self._parameter_group()
        self.security_group = self._security_group()
        self.dms_secret = self._dms_secret()
        self.instance = self._instance()
        if args.dr_region:
            self._replicate_backups(args.dr_region)
        self.register_outputs(
            {
                "identifier": self.identifier,
                "address": self.instance.address,
                "port": self.instance.port,
                "dms_secret_arn": self.dms_secret.arn,
                "security_group_id": self.security_group.id,
            }
        )

    @property
    def link(self) -> SourceDatabase:
        """What the source's replication needs: the group to be admitted to, the secret, the port."""
        return SourceDatabase(
            identifier=self.identifier,
            security_group_id=self.security_group.id,
            credentials_secret_arn=self.dms_secret.arn,
            kms_key_arn=self._args.kms_key_arn,
            port=self._args.source.port,
            ready=self._args.provision.dms_user_ready,
        )

    def monitored(self, source: Source) -> Source:
        """The source as its alarms see it: slot lag, transaction logs and free storage of this instance."""
        return source.model_copy(update={"rds_instance_identifier": self.identifier})

    # --- network and settings --------------------------------------------------------------

    def _subnet_group(self) -> aws.rds.SubnetGroup:
        """The account's private subnets (at least two zones: what Multi-AZ needs)."""
        args = self._args
        return aws.rds.SubnetGroup(
            f"{self._prefix}-subnets",
            name=self.identifier,
            description=f"CloudBridge {args.naming.environment}: private subnets of {args.source.name}'s database",
            subnet_ids=list(args.subnet_ids),
            tags=self._tags,
            opts=self._child,
        )

    def _parameter_group(self) -> aws.rds.ParameterGroup:
        """Logical replication, TLS only, slots and senders for DMS. The family is in the name: a major
        upgrade creates the next group beside this one (name and family force a replacement)."""
        args, family = self._args, self._args.provision.parameter_group_family
        return aws.rds.ParameterGroup(
            f"{self._prefix}-{family}",
            name=f"{self.identifier}-{family}",
            family=family,
            description=f"CloudBridge {args.naming.environment}: CDC-ready {family} for {args.source.name}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=method)
                for n, v, method in parameters(args.provision)
            ],
            tags=self._tags,
            opts=self._child,
        )

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """No egress; ingress only from DMS (the replication's rule) and the configured admin group."""
        args, source = self._args, self._args.source
        group = aws.ec2.SecurityGroup(
            f"{self._prefix}-sg",
            name=self.identifier,
            description=f"{source.name} database: PostgreSQL from CloudBridge DMS (and its admin group) only",
            vpc_id=args.vpc_id,
            egress=[],
            tags=self._tags,
            opts=self._child,
        )
        admin = args.provision.admin_security_group_id
        if admin:
            aws.vpc.SecurityGroupIngressRule(
                f"{self._prefix}-admin-ingress",
                security_group_id=group.id,
                referenced_security_group_id=admin,
                ip_protocol="tcp",
                from_port=source.port,
                to_port=source.port,
                description=f"admin path to {source.name}'s database (source-init, migrations)",
                tags=self._tags,
                opts=self._child,
            )
        return group

    def _dms_secret(self) -> aws.secretsmanager.Secret:
        """Empty until source-init stores the DMS user's credentials: its name is known before it has a value."""
        args = self._args
        return aws.secretsmanager.Secret(
            f"{self._prefix}-dms-user",
            name=dms_secret_name(args.naming, args.source.name),
            description=f"CloudBridge DMS user of {args.source.name}'s database (written by source-init)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=SECRET_RECOVERY_DAYS,
            tags=self._tags,
            opts=self._kept,
        )

    # --- the instance --------------------------------------------------------------------

    def _instance(self) -> aws.rds.Instance:
        args, provision, source = self._args, self._args.provision, self._args.source
        protected = args.protected
        return aws.rds.Instance(
            f"{self._prefix}-instance",
            identifier=self.identifier,
            engine=ENGINE,
            engine_version=provision.engine_version,
            instance_class=provision.instance_class,
            allocated_storage=provision.allocated_storage_gb,
            max_allocated_storage=provision.max_allocated_storage_gb,
            storage_type=STORAGE_TYPE,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=source.database,
            port=source.port,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            multi_az=args.multi_az,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            parameter_group_name=self.parameter_group.name,
            backup_retention_period=provision.backup_retention_days,
            backup_window=provision.backup_window,
            maintenance_window=provision.maintenance_window,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            deletion_protection=protected,
            skip_final_snapshot=not protected,
            final_snapshot_identifier=f"{self.identifier}-final" if protected else None,
            # Kept automated backups outlive the instance for their retention period.
            delete_automated_backups=not protected,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=provision.performance_insights_retention_days,
            tags=self._tags,
            opts=self._kept,
        )

    # --- automated backups in the DR region -------------------------------------------------

    def _replicate_backups(self, region: str) -> None:
        """Cross-Region automated backups: the replica lives in the DR region, under a key there.

        The stack's DR component (components/dr.py) is created after the pipelines, which need this
        database first, so this component declares its own provider and key for the DR region."""
        args = self._args
        dr = replace(args.naming, region=region)
        provider = aws.Provider(
            f"{self._prefix}-dr",
            region=region,
            allowed_account_ids=[dr.account_id],
            default_tags=aws.ProviderDefaultTagsArgs(tags=dr.default_tags()),
            opts=self._child,
        )
        in_dr = pulumi.ResourceOptions(parent=self, provider=provider, retain_on_delete=args.retain_data)
        self.backups_key = aws.kms.Key(
            f"{self._prefix}-backups-key",
            description=f"CloudBridge {dr.environment}: {args.source.name}'s database backups in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=iam.document(
                [
                    iam.statement(
                        "AccountAdministersKeyThroughIam",
                        KEY_ADMIN_ACTIONS,
                        ["*"],
                        principal={"AWS": f"arn:aws:iam::{dr.account_id}:root"},
                    )
                ]
            ),
            tags=self._tags,
            opts=in_dr,
        )
        aws.kms.Alias(
            f"{self._prefix}-backups-key-alias",
            name=f"alias/{dr.name(args.source.name, 'db-backups')}",
            target_key_id=self.backups_key.key_id,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.backups_replication = aws.rds.InstanceAutomatedBackupsReplication(
            f"{self._prefix}-backups-{region}",
            source_db_instance_arn=self.instance.arn,
            kms_key_id=self.backups_key.arn,
            retention_period=args.provision.backup_retention_days,
            opts=in_dr,
        )
