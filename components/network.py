"""VpcEndpoints: how DMS, running in private subnets, reaches S3 and Secrets Manager.

A DMS replication (serverless or instance) runs in the configured subnets without a
public address. It writes the landing bucket through S3 and reads the source
credentials from Secrets Manager; without a route to either, the replication never
starts. CloudBridge creates an S3 gateway endpoint on the subnets' route tables and a
Secrets Manager interface endpoint (private DNS) in the subnets — or, when the VPC
already has them (an interface endpoint with private DNS can exist only once per VPC),
references the existing ones and creates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import ExistingEndpoints
from components.naming import Naming


@dataclass(frozen=True)
class VpcEndpointsArgs:
    """Inputs of the VPC endpoints DMS needs."""

    naming: Naming
    vpc_id: str
    subnet_ids: Sequence[str]
    route_table_ids: Sequence[str]
    existing: ExistingEndpoints | None


class VpcEndpoints(pulumi.ComponentResource):
    """The S3 gateway and Secrets Manager interface endpoints: created, or existing ones referenced."""

    s3: aws.ec2.VpcEndpoint
    secrets_manager: aws.ec2.VpcEndpoint
    # What DMS security groups may send HTTPS to: S3's prefix list, the interface endpoint's groups.
    s3_prefix_list_id: pulumi.Output[str]
    secrets_manager_security_group_ids: pulumi.Output[list[str]]
    # Set when CloudBridge owns the interface endpoint's group: each replication adds its ingress rule.
    endpoint_security_group: aws.ec2.SecurityGroup | None = None
    created: bool

    def __init__(self, name: str, args: VpcEndpointsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:network:VpcEndpoints", name, None, opts)
        self.created = args.existing is None
        if args.existing is None:
            self._create(name, args)
        else:
            self._reference(name, args.existing)
        self.s3_prefix_list_id = self.s3.prefix_list_id
        self.secrets_manager_security_group_ids = self.secrets_manager.security_group_ids
        self.register_outputs(
            {
                "s3_endpoint_id": self.s3.id,
                "secrets_manager_endpoint_id": self.secrets_manager.id,
                "created": self.created,
            }
        )

    def _create(self, name: str, args: VpcEndpointsArgs) -> None:
        naming, region = args.naming, args.naming.region
        child = pulumi.ResourceOptions(parent=self)
        self.s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=args.vpc_id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=list(args.route_table_ids),
            tags={"Name": naming.name("s3")},
            opts=child,
        )
        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-secretsmanager-sg",
            name=naming.name("secretsmanager-endpoint"),
            description="Secrets Manager endpoint: HTTPS from CloudBridge DMS replications only",
            vpc_id=args.vpc_id,
            tags={"Name": naming.name("secretsmanager-endpoint")},
            opts=child,
        )
        self.secrets_manager = aws.ec2.VpcEndpoint(
            f"{name}-secretsmanager",
            vpc_id=args.vpc_id,
            service_name=f"com.amazonaws.{region}.secretsmanager",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=list(args.subnet_ids),
            security_group_ids=[self.endpoint_security_group.id],
            tags={"Name": naming.name("secretsmanager")},
            opts=child,
        )

    def _reference(self, name: str, existing: ExistingEndpoints) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.s3 = aws.ec2.VpcEndpoint.get(f"{name}-s3", existing.s3, opts=child)
        self.secrets_manager = aws.ec2.VpcEndpoint.get(f"{name}-secretsmanager", existing.secrets_manager, opts=child)
