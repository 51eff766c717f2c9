"""LambdaFunction: a Python Lambda with its own log group (retention, KMS) and its own
least-privilege role. Both Lambdas of the project are built from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.packaging import LambdaBundle

RUNTIME = "python3.12"


@dataclass(frozen=True)
class LambdaFunctionArgs:
    """Inputs of one Lambda function."""

    function_name: str
    description: str
    bundle: LambdaBundle
    handler: str
    account_id: str
    kms_key_arn: pulumi.Input[str]
    log_group_name: str
    log_retention_days: int
    # Permissions beyond writing to its own log group.
    statements: Sequence[Mapping[str, Any]]
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    layers: Sequence[str] = ()
    timeout_seconds: int = 60
    memory_mb: int = 256
    dead_letter_queue_arn: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class LambdaFunction(pulumi.ComponentResource):
    """A Lambda function with its own log group and a least-privilege role."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:compute:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=dict(args.tags),
            opts=child,
        )
        self.role, policy = iam.service_role(
            f"{name}-role",
            role_name=args.function_name,
            service="lambda.amazonaws.com",
            statements=[*iam.log_statements(self.log_group.arn), *args.statements],
            account_id=args.account_id,
            parent=self,
            tags=args.tags,
            description=f"Execution role of {args.function_name}",
        )
        self.function = aws.lambda_.Function(
            name,
            name=args.function_name,
            description=args.description,
            runtime=RUNTIME,
            architectures=["x86_64"],
            handler=args.handler,
            code=pulumi.FileArchive(str(args.bundle.path)),
            source_code_hash=args.bundle.sha256_b64,
            role=self.role.arn,
            layers=list(args.layers),
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
            if args.environment
            else None,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=self.log_group.name, application_log_level="INFO", system_log_level="WARN"
            ),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=args.dead_letter_queue_arn)
            if args.dead_letter_queue_arn is not None
            else None,
            kms_key_arn=args.kms_key_arn,  # environment variables at rest
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="PassThrough"),
            tags=dict(args.tags),
            # The inline policy must exist before the function first runs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )
        self.register_outputs({"arn": self.function.arn, "name": self.function.name, "role_arn": self.role.arn})
