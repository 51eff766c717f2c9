"""Replication: DMS endpoints and either a serverless replication config or a
replication instance with a task, for one source database."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import dms_settings, iam
from components.config import Instance, Serverless, Source
from components.database import SourceDatabase
from components.naming import Naming
from components.network import VpcEndpoints
from components.workspace import stacks_dir


@dataclass(frozen=True)
class SourceScope:
    """What every part of one source's pipeline is built in: its names and config, the VPC,
    subnet group and endpoints DMS uses, and the stack's KMS key."""

    naming: Naming
    source: Source
    vpc_id: str
    subnet_group_id: pulumi.Input[str]
    endpoints: VpcEndpoints
    kms_key_arn: pulumi.Input[str]
    # The database CloudBridge created for a ``provision:`` source (components/database.py), else None.
    database: SourceDatabase | None = None

    @property
    def credentials_secret_arn(self) -> pulumi.Input[str]:
        """The DMS user's secret: the configured one, or the provisioned database's."""
        return self.database.credentials_secret_arn if self.database else str(self.source.credentials_secret_arn)

    @property
    def credentials_kms_key_arn(self) -> pulumi.Input[str] | None:
        """The customer-managed key that secret is encrypted with, if any."""
        return self.database.kms_key_arn if self.database else self.source.credentials_kms_key_arn

    @property
    def may_start(self) -> bool:
        """Whether the replication may run: always, except on a provisioned database before source-init."""
        return self.database.ready if self.database else True


@dataclass(frozen=True)
class ReplicationArgs:
    """Inputs of one source's DMS replication."""

    scope: SourceScope
    landing_bucket_name: pulumi.Input[str]
    landing_bucket_arn: pulumi.Input[str]
    log_retention_days: int


class Replication(pulumi.ComponentResource):
    """DMS endpoints and a serverless config or an instance with a task, for one source."""

    source_endpoint: aws.dms.Endpoint
    target_endpoint: aws.dms.S3Endpoint
    security_group: aws.ec2.SecurityGroup
    log_group: aws.cloudwatch.LogGroup
    identifier: str
    # One DMS identifier per table set (serverless: a config each; instance: the one task).
    identifiers: list[str]
    config: aws.dms.ReplicationConfig | None = None
    # Serverless: the config of each table set, ``tables`` first (``config`` is configs[0]).
    configs: list[aws.dms.ReplicationConfig]
    instance: aws.dms.ReplicationInstance | None = None
    task: aws.dms.ReplicationTask | None = None

    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:replication:Replication", name, None, opts)
        self._prefix, self._args = name, args
        self._tags = args.scope.naming.tags(args.scope.source.name)
        self.identifier = args.scope.naming.replication_id(args.scope.source.name)
        self.identifiers, self.configs = [self.identifier], []
        self.security_group = self._security_group()
        secrets_role, secrets_policy = self._secrets_role()
        target_role, target_policy = self._target_role()
        self.source_endpoint = self._source_endpoint(secrets_role, secrets_policy)
        self.target_endpoint = self._target_endpoint(target_role, target_policy)
        if isinstance(args.scope.source.replication, Serverless):
            self._serverless(args.scope.source.replication)
        else:
            self._instance_and_task(args.scope.source.replication)
        # What DMS events name in "resources": the config or task ARN is fixed by its resource
        # identifier; the instance's carries a DMS-generated id, so its output is used.
        naming = args.scope.naming
        self.statistics_arns = [
            naming.dms_arn("replication-config" if self.config is not None else "task", identifier)
            for identifier in self.identifiers
        ]
        self.arns = (
            list(self.statistics_arns)
            if self.config is not None
            else [*self.statistics_arns, self.instance.replication_instance_arn]
        )
        self.register_outputs(
            {
                "identifier": self.identifier,
                "identifiers": self.identifiers,
                "source_endpoint_arn": self.source_endpoint.endpoint_arn,
                "target_endpoint_arn": self.target_endpoint.endpoint_arn,
            }
        )

    # --- network ---------------------------------------------------------------------

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """Egress to the source database and the S3 / Secrets Manager endpoints only."""
        name, args, source = self._prefix, self._args, self._args.scope.source
        database = args.scope.database
        source_groups = [database.security_group_id] if database else None
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=args.scope.naming.name(source.name, "dms"),
            description=f"DMS replication for {source.name}: egress to the source and AWS APIs only",
            vpc_id=args.scope.vpc_id,
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description=f"{source.engine} source {database.identifier if database else source.host}",
                    protocol="tcp",
                    from_port=source.port,
                    to_port=source.port,
                    cidr_blocks=[source.source_cidr] if source.source_cidr else None,
                    security_groups=[source.source_security_group_id]
                    if source.source_security_group_id
                    else source_groups,
                ),
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to S3 through the gateway endpoint",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    prefix_list_ids=[args.scope.endpoints.s3_prefix_list_id],
                ),
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to the Secrets Manager interface endpoint",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    security_groups=args.scope.endpoints.secrets_manager_security_group_ids,
                ),
            ],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.scope.endpoints.endpoint_security_group is not None:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-secretsmanager-ingress",
                security_group_id=args.scope.endpoints.endpoint_security_group.id,
                referenced_security_group_id=group.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description=f"DMS replication of {source.name}",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._admitted_by_database(group)
        return group

    def _admitted_by_database(self, group: aws.ec2.SecurityGroup) -> None:
        """A provisioned database admits this replication (and, components/database.py, its admin group) only."""
        database, source = self._args.scope.database, self._args.scope.source
        if database is None:
            return
        aws.vpc.SecurityGroupIngressRule(
            f"{self._prefix}-database-ingress",
            security_group_id=database.security_group_id,
            referenced_security_group_id=group.id,
            ip_protocol="tcp",
            from_port=database.port,
            to_port=database.port,
            description=f"DMS replication of {source.name}",
            opts=pulumi.ResourceOptions(parent=self),
        )

    # --- roles -----------------------------------------------------------------------

    def _secrets_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """Credentials stay in Secrets Manager: DMS reads the secret through this role."""
        scope, naming, source = self._args.scope, self._args.scope.naming, self._args.scope.source
        statements = [
            iam.statement(
                "ReadSourceCredentials",
                ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                [scope.credentials_secret_arn],
            )
        ]
        if scope.credentials_kms_key_arn:
            # A secret under a customer-managed key is unreadable without Decrypt on that key;
            # granted only for calls Secrets Manager makes on DMS's behalf.
            statements.append(
                iam.statement(
                    "DecryptSourceCredentials",
                    ["kms:Decrypt"],
                    [scope.credentials_kms_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{naming.region}.amazonaws.com"}},
                )
            )
        return iam.service_role(
            f"{self._prefix}-secrets-role",
            role_name=naming.name(source.name, "dms-secrets"),
            service=f"dms.{naming.region}.amazonaws.com",
            statements=statements,
            account_id=naming.account_id,
            parent=self,
            tags=self._tags,
            description=f"DMS reads the {source.name} credentials secret",
        )

    def _target_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """DMS writes the landing bucket (and only it) with the stack's key."""
        args, naming, source = self._args, self._args.scope.naming, self._args.scope.source
        return iam.service_role(
            f"{self._prefix}-target-role",
            role_name=naming.name(source.name, "dms-target"),
            service="dms.amazonaws.com",
            statements=[
                iam.statement(
                    "WriteLandingObjects",
                    ["s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging"],
                    [pulumi.Output.concat(args.landing_bucket_arn, "/*")],
                ),
                iam.statement("ListLandingBucket", ["s3:ListBucket"], [args.landing_bucket_arn]),
                iam.statement(
                    "EncryptLandingObjects",
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    [args.scope.kms_key_arn],
                ),
            ],
            account_id=naming.account_id,
            parent=self,
            tags=self._tags,
            description=f"DMS writes {source.name} parquet into the landing bucket",
        )

    # --- endpoints -------------------------------------------------------------------

    def _certificate_arn(self) -> pulumi.Input[str] | None:
        """The CA DMS verifies the source with: imported by ARN, or a committed bundle."""
        naming, source = self._args.scope.naming, self._args.scope.source
        if not source.ca_bundle_file:
            return source.ca_certificate_arn
        return aws.dms.Certificate(
            f"{self._prefix}-ca",
            certificate_id=naming.name(source.name, "ca"),
            certificate_pem=(stacks_dir() / source.ca_bundle_file).read_text(),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        ).certificate_arn

    def _source_endpoint(self, role: aws.iam.Role, policy: aws.iam.RolePolicy) -> aws.dms.Endpoint:
        args, naming, source = self._args, self._args.scope.naming, self._args.scope.source
        certificate_arn = self._certificate_arn()
        return aws.dms.Endpoint(
            f"{self._prefix}-source",
            endpoint_id=naming.name(source.name, "source"),
            endpoint_type="source",
            engine_name=dms_settings.ENGINE_NAMES[source.engine],
            database_name=source.database,
            secrets_manager_arn=args.scope.credentials_secret_arn,
            secrets_manager_access_role_arn=role.arn,
            ssl_mode=source.tls_mode,
            certificate_arn=certificate_arn if source.tls_mode != "none" else None,
            kms_key_arn=args.scope.kms_key_arn,
            postgres_settings=aws.dms.EndpointPostgresSettingsArgs(
                plugin_name=dms_settings.POSTGRES_PLUGIN,
                heartbeat_enable=True,  # idle slots otherwise retain WAL
                heartbeat_frequency=5,
                fail_tasks_on_lob_truncation=True,
                map_boolean_as_boolean=True,
                # A CDC-only start from a position reads the slot created at that position.
                slot_name=source.cdc_start.slot_name if source.cdc_start else None,
            )
            if source.engine == "postgres"
            else None,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _target_endpoint(self, role: aws.iam.Role, policy: aws.iam.RolePolicy) -> aws.dms.S3Endpoint:
        args, naming, source = self._args, self._args.scope.naming, self._args.scope.source
        return aws.dms.S3Endpoint(
            f"{self._prefix}-target",
            endpoint_id=naming.name(source.name, "landing"),
            endpoint_type="target",
            bucket_name=args.landing_bucket_name,
            service_access_role_arn=role.arn,
            server_side_encryption_kms_key_id=args.scope.kms_key_arn,
            expected_bucket_owner=naming.account_id,
            tags=self._tags,
            **dms_settings.s3_target_settings(source),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    # --- the replication ---------------------------------------------------------------

    def _documents(self, table_set: int = 0) -> tuple[str, str, str]:
        """Table mappings, task settings and migration type (JSON, sorted: stable diffs)."""
        source = self._args.scope.source
        mappings = json.dumps(dms_settings.table_mappings(source, table_set), sort_keys=True)
        settings = json.dumps(dms_settings.task_settings(source), sort_keys=True)
        return mappings, settings, dms_settings.replication_type(source)

    def _serverless(self, replication: Serverless) -> None:
        # DMS refuses to change a started config's tables, so each addedTables entry is a config
        # of its own that full-loads only its tables; the first keeps its name and its URN.
        source, naming = self._args.scope.source, self._args.scope.naming
        for table_set in range(len(source.table_sets)):
            suffix = "" if table_set == 0 else f"-set{table_set + 1}"
            identifier = naming.replication_id(source.name, table_set)
            log_group, config = self._serverless_config(replication, table_set, self._prefix + suffix, identifier)
            self.configs.append(config)
            if table_set == 0:
                self.log_group, self.config = log_group, config
            else:
                self.identifiers.append(identifier)

    def _serverless_config(
        self, replication: Serverless, table_set: int, name: str, identifier: str
    ) -> tuple[aws.cloudwatch.LogGroup, aws.dms.ReplicationConfig]:
        args = self._args
        mappings, settings, migration_type = self._documents(table_set)
        # DMS Serverless logs to dms-serverless-replication-<resource identifier>.
        log_group = self._log_group(name, f"dms-serverless-replication-{identifier}", args, self._tags)
        config = aws.dms.ReplicationConfig(
            f"{name}-config",
            replication_config_identifier=identifier,
            resource_identifier=identifier,
            replication_type=migration_type,
            source_endpoint_arn=self.source_endpoint.endpoint_arn,
            target_endpoint_arn=self.target_endpoint.endpoint_arn,
            table_mappings=mappings,
            replication_settings=settings,
            compute_config=aws.dms.ReplicationConfigComputeConfigArgs(
                replication_subnet_group_id=args.scope.subnet_group_id,
                vpc_security_group_ids=[self.security_group.id],
                max_capacity_units=replication.max_capacity_units,
                min_capacity_units=replication.min_capacity_units,
                multi_az=replication.multi_az,
                kms_key_id=args.scope.kms_key_arn,
            ),
            # A CDC-only start from a position or time: `python -m cloudbridge start` starts it
            # (the provider's ReplicationConfig has no start position).
            # A provisioned database's replication waits for its DMS user (provision.dmsUserReady).
            start_replication=args.scope.source.cdc_start is None and args.scope.may_start,
            tags=self._tags,
            # It starts as soon as it exists: its routes to S3 and Secrets Manager must too.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, args.scope.endpoints]),
        )
        return log_group, config

    def _instance_and_task(self, replication: Instance) -> None:
        args, name = self._args, self._prefix
        cdc_start = args.scope.source.cdc_start
        mappings, settings, migration_type = self._documents()
        self.log_group = self._log_group(name, f"dms-tasks-{self.identifier}", args, self._tags)
        self.instance = aws.dms.ReplicationInstance(
            f"{name}-instance",
            replication_instance_id=self.identifier,
            replication_instance_class=replication.instance_class,
            allocated_storage=replication.allocated_storage_gb,
            multi_az=replication.multi_az,
            engine_version=replication.engine_version,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            kms_key_arn=args.scope.kms_key_arn,
            replication_subnet_group_id=args.scope.subnet_group_id,
            vpc_security_group_ids=[self.security_group.id],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]),
        )
        self.task = aws.dms.ReplicationTask(
            f"{name}-task",
            replication_task_id=self.identifier,
            # Becomes the ARN suffix and the ReplicationTaskIdentifier metric dimension.
            resource_identifier=self.identifier,
            migration_type=migration_type,
            replication_instance_arn=self.instance.replication_instance_arn,
            source_endpoint_arn=self.source_endpoint.endpoint_arn,
            target_endpoint_arn=self.target_endpoint.endpoint_arn,
            table_mappings=mappings,
            replication_task_settings=settings,
            # A CDC-only task starts from the position or time cdcStart gives.
            cdc_start_position=cdc_start.position if cdc_start else None,
            cdc_start_time=cdc_start.time if cdc_start else None,
            start_replication_task=args.scope.may_start,
            tags=self._tags,
            # It starts as soon as it exists: its routes to S3 and Secrets Manager must too.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.scope.endpoints]),
        )

    def _log_group(self, name: str, group_name: str, args: ReplicationArgs, tags: dict) -> aws.cloudwatch.LogGroup:
        # Created ahead of DMS so that it has a retention and our key.
        return aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.scope.kms_key_arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
