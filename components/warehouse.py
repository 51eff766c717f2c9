"""Warehouse: optional Redshift Serverless over every source's validated change tables.

A namespace (data encrypted with the stack's KMS key, admin password generated and kept
by Secrets Manager, never in config or state) and a workgroup in the private subnets,
not publicly accessible, TLS required. Redshift Spectrum reads the raw-history parquet
through the Glue catalog with one IAM role, scoped to the sources' raw-history buckets
and Glue databases. Per source, an external schema over its Glue database and, per
table, the current-state view as a late-binding view (``components/views.py``), run
through the Redshift Data API: each statement is idempotent (``IF NOT EXISTS``, ``OR
REPLACE``, or DROP and CREATE in one transaction when a view's columns change) and is run
again when its SQL changes.

Enhanced VPC routing stays off: with it on, Spectrum would need Glue and STS interface
endpoints in the VPC as well; off, Spectrum reaches S3 and Glue on AWS's network under
the role's permissions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam, views
from components.function import LambdaFunction, LambdaFunctionArgs
from components.naming import Naming
from components.packaging import build_bundle
from functions.common.metadata import TableMetadata

PORT = 5439
ADMIN_USER = "cbadmin"
SPECTRUM_SERVICES = ("redshift.amazonaws.com", "redshift-serverless.amazonaws.com")
LOG_EXPORTS = ("connectionlog", "useractivitylog", "userlog")
# TLS only; user activity logged (the useractivitylog export needs it).
CONFIG_PARAMETERS = {"require_ssl": "true", "enable_user_activity_logging": "true"}
SQL_TIMEOUT_SECONDS = 900  # one source's DDL, statement after statement


@dataclass(frozen=True)
class WarehouseSource:
    """One source as the warehouse sees it."""

    name: str
    glue_database: str
    raw_history_arn: pulumi.Input[str]
    tables: Sequence[TableMetadata]


@dataclass(frozen=True)
class WarehouseArgs:
    """Inputs of the Redshift Serverless warehouse."""

    naming: Naming
    kms_key_arn: pulumi.Input[str]
    vpc_id: str
    subnet_ids: Sequence[str]
    base_capacity: int
    max_capacity: int | None
    client_cidrs: Sequence[str]
    database: str
    sources: Sequence[WarehouseSource]
    log_retention_days: int
    retain_data: bool = False


class Warehouse(pulumi.ComponentResource):
    """Redshift Serverless with a schema of current-state views per source."""

    spectrum_role: aws.iam.Role
    security_group: aws.ec2.SecurityGroup
    namespace: aws.redshiftserverless.Namespace
    workgroup: aws.redshiftserverless.Workgroup
    sql_runner: LambdaFunction
    invocations: dict[str, aws.lambda_.Invocation]

    def __init__(self, name: str, args: WarehouseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:warehouse:Warehouse", name, None, opts)
        self._prefix, self._args = name, args
        self.spectrum_role, spectrum_policy = self._spectrum_role()
        self.security_group = self._security_group()
        self.namespace = self._namespace(spectrum_policy)
        self.workgroup = self._workgroup()
        self.sql_runner = self._sql_runner()
        self.sql: dict[str, list[str]] = {}
        self.invocations = {source.name: self._source_sql(source) for source in args.sources}
        self.register_outputs(
            {
                "namespace": self.namespace.namespace_name,
                "workgroup": self.workgroup.workgroup_name,
                "endpoint": self.workgroup.endpoints,
                "adminSecretArn": self.namespace.admin_password_secret_arn,
            }
        )

    # --- children ------------------------------------------------------------------

    def _spectrum_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        args, naming = self._args, self._args.naming
        glue = f"arn:aws:glue:{naming.region}:{naming.account_id}"
        databases = [s.glue_database for s in args.sources]
        statements = [
            iam.statement(
                "ReadSourceCatalogs",
                [
                    "glue:BatchGetPartition",
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:GetTable",
                    "glue:GetTables",
                ],
                [f"{glue}:catalog"]
                + [f"{glue}:database/{d}" for d in databases]
                + [f"{glue}:table/{d}/*" for d in databases],
            ),
            iam.statement(
                "ListRawHistory",
                ["s3:GetBucketLocation", "s3:ListBucket"],
                [s.raw_history_arn for s in args.sources],
            ),
            iam.statement(
                "ReadRawHistory",
                ["s3:GetObject"],
                [pulumi.Output.concat(s.raw_history_arn, "/*") for s in args.sources],
            ),
            iam.statement(
                "DecryptRawHistory",
                ["kms:Decrypt"],
                [args.kms_key_arn],
                condition={"StringEquals": {"kms:ViaService": f"s3.{naming.region}.amazonaws.com"}},
            ),
        ]
        return iam.service_role(
            f"{self._prefix}-spectrum-role",
            role_name=naming.name("warehouse", "spectrum"),
            service=list(SPECTRUM_SERVICES),
            statements=statements,
            account_id=naming.account_id,
            parent=self,
            tags=naming.tags(),
            description="Redshift Spectrum: read the validated raw history of every source through Glue",
        )

    def _security_group(self) -> aws.ec2.SecurityGroup:
        args, naming = self._args, self._args.naming
        group = aws.ec2.SecurityGroup(
            f"{self._prefix}-sg",
            name=naming.name("warehouse"),
            description="Redshift Serverless: SQL clients from the configured networks only",
            vpc_id=args.vpc_id,
            egress=[],  # Spectrum does not route through the VPC (enhanced VPC routing off)
            tags=naming.tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for i, cidr in enumerate(args.client_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{self._prefix}-client-{i}",
                security_group_id=group.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                description=f"SQL clients in {cidr}",
                opts=pulumi.ResourceOptions(parent=group),
            )
        return group

    def _namespace(self, spectrum_policy: aws.iam.RolePolicy) -> aws.redshiftserverless.Namespace:
        args, naming = self._args, self._args.naming
        return aws.redshiftserverless.Namespace(
            f"{self._prefix}-namespace",
            namespace_name=naming.name("warehouse"),
            db_name=args.database,
            admin_username=ADMIN_USER,
            manage_admin_password=True,  # generated and rotated by Secrets Manager
            admin_password_secret_kms_key_id=args.kms_key_arn,
            kms_key_id=args.kms_key_arn,
            iam_roles=[self.spectrum_role.arn],
            default_iam_role_arn=self.spectrum_role.arn,
            log_exports=list(LOG_EXPORTS),
            tags=naming.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[spectrum_policy], retain_on_delete=args.retain_data),
        )

    def _workgroup(self) -> aws.redshiftserverless.Workgroup:
        args, naming = self._args, self._args.naming
        return aws.redshiftserverless.Workgroup(
            f"{self._prefix}-workgroup",
            workgroup_name=naming.name("warehouse"),
            namespace_name=self.namespace.namespace_name,
            base_capacity=args.base_capacity,
            max_capacity=args.max_capacity,
            subnet_ids=list(args.subnet_ids),
            security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            enhanced_vpc_routing=False,
            port=PORT,
            config_parameters=[
                aws.redshiftserverless.WorkgroupConfigParameterArgs(parameter_key=k, parameter_value=v)
                for k, v in CONFIG_PARAMETERS.items()
            ],
            tags=naming.tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _sql_runner(self) -> LambdaFunction:
        """The function that runs each source's SQL through the Data API (see its module)."""
        args, naming = self._args, self._args.naming
        function_name = naming.name("warehouse", "sql")
        return LambdaFunction(
            f"{self._prefix}-sql",
            LambdaFunctionArgs(
                function_name=function_name,
                description="Runs the warehouse's schemas and current-state views through the Redshift Data API",
                bundle=build_bundle("warehouse_sql", ("common", "warehouse_sql")),
                handler="functions.warehouse_sql.handler.handler",
                account_id=naming.account_id,
                kms_key_arn=args.kms_key_arn,
                log_group_name=naming.lambda_log_group(function_name),
                log_retention_days=args.log_retention_days,
                statements=[
                    iam.statement(
                        "RunStatements",
                        ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
                        [self.workgroup.arn],
                    ),
                    # The Data API authorises these on * only: limited to the statements this role ran.
                    iam.statement(
                        "FollowOwnStatements",
                        ["redshift-data:CancelStatement", "redshift-data:DescribeStatement"],
                        ["*"],
                        condition={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
                    ),
                    iam.statement(
                        "UseAdminSecret", ["secretsmanager:GetSecretValue"], [self.namespace.admin_password_secret_arn]
                    ),
                    iam.statement(
                        "DecryptAdminSecret",
                        ["kms:Decrypt"],
                        [args.kms_key_arn],
                        condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{naming.region}.amazonaws.com"}},
                    ),
                ],
                timeout_seconds=SQL_TIMEOUT_SECONDS,
                tags=naming.tags(),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _source_sql(self, source: WarehouseSource) -> aws.lambda_.Invocation:
        """The source's external schema, its view schema and one late-binding view per table,
        run again whenever any of it (or the namespace or workgroup) changes."""
        naming = self._args.naming
        statements = [
            views.redshift_external_schema_sql(source.name, source.glue_database, naming.region),
            views.redshift_schema_sql(source.name),
        ]
        for meta in source.tables:
            try:
                statements.append(
                    views.redshift_view_sql(meta, source.name, naming.glue_table(meta.schema, meta.table))
                )
            except views.NoOrderingColumnError as exc:
                pulumi.log.warn(f"{source.name}: no Redshift view: {exc}", resource=self)
        self.sql[source.name] = statements
        return aws.lambda_.Invocation(
            f"{self._prefix}-{source.name}-sql",
            function_name=self.sql_runner.function.name,
            input=pulumi.Output.json_dumps(
                {
                    "source": source.name,
                    "workgroup": self.workgroup.workgroup_name,
                    "database": self._args.database,
                    "secretArn": self.namespace.admin_password_secret_arn,
                    "statements": statements,
                }
            ),
            # Documented to re-invoke when changed: the SQL itself, and a replaced namespace or workgroup.
            triggers={
                "sql": hashlib.sha256(json.dumps(statements).encode()).hexdigest(),
                "namespace": self.namespace.id,
                "workgroup": self.workgroup.id,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.workgroup, self.sql_runner]),
        )
