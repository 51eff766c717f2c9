"""The argument paths AWS's API models leave open, and what checks each of them instead.

For every path whose model member is a bare string, integer or number (no enum, range,
pattern or length), one of:

* ``DOCUMENTED``: a list, range, set or format AWS documents elsewhere (``documented``),
* ``REFERENCES``: the path names another resource (``rules.Reference``),
* ``TYPE_ONLY``: nothing more can be checked, with the reason.

Booleans need no entry: AWS takes either value. ``contracts.CONTRACTS`` merges these tables
into each resource type's contract; the coverage report fails on an open path with none.
"""

from __future__ import annotations

from cloudbridge.contract import documented as doc
from cloudbridge.contract.rules import Reference

D = "aws:dms/endpoint:Endpoint"
S3E = "aws:dms/s3Endpoint:S3Endpoint"
RC = "aws:dms/replicationConfig:ReplicationConfig"
RI = "aws:dms/replicationInstance:ReplicationInstance"
RT = "aws:dms/replicationTask:ReplicationTask"
RSG = "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup"
CERT = "aws:dms/certificate:Certificate"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
SG = "aws:ec2/securityGroup:SecurityGroup"
BUCKET = "aws:s3/bucket:Bucket"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
FUNCTION = "aws:lambda/function:Function"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"

_PARTITION = r"arn:aws(?:-cn|-us-gov)?"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
ARN_FORMATS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"


def arn(service: str, resource: str, label: str) -> doc.Documented:
    """An ARN of ``service`` whose resource part matches ``resource`` (IAM user guide, ARN formats)."""
    account_region = r"::\d{12}" if service == "iam" else rf":{_REGION}:\d{{12}}"
    return doc.matching(rf"{_PARTITION}:{service}{account_region}:{resource}", label, ARN_FORMATS)


SECRET_ARN = arn("secretsmanager", r"secret:[\w/+=.@-]{1,512}", "a Secrets Manager secret ARN")
DMS_CERT_ARN = arn("dms", r"cert:[A-Za-z0-9-]{1,255}", "a DMS certificate ARN")
LAYER_ARN = arn("lambda", r"layer:[\w-]{1,140}:\d+", "a Lambda layer version ARN")
MANAGED_POLICY_ARN = doc.matching(
    rf"{_PARTITION}:iam::aws:policy/[\w+=,.@/-]+", "an AWS managed policy ARN", ARN_FORMATS
)

# (resource type, argument path) -> what the path names.
REFERENCES: dict[tuple[str, str], Reference] = {
    (D, "certificateArn"): Reference((CERT,), DMS_CERT_ARN),
    (D, "kmsKeyArn"): Reference((KEY,)),
    (D, "secretsManagerAccessRoleArn"): Reference((ROLE,)),
    (D, "secretsManagerArn"): Reference((), SECRET_ARN),
    (S3E, "bucketName"): Reference((BUCKET,)),
    (S3E, "serverSideEncryptionKmsKeyId"): Reference((KEY,)),
    (S3E, "serviceAccessRoleArn"): Reference((ROLE,)),
    (RC, "computeConfig.kmsKeyId"): Reference((KEY,)),
    (RC, "computeConfig.replicationSubnetGroupId"): Reference((RSG,)),
    (RC, "computeConfig.vpcSecurityGroupIds"): Reference((SG,)),
    (RC, "sourceEndpointArn"): Reference((D,)),
    (RC, "targetEndpointArn"): Reference((S3E, D)),
    (RI, "kmsKeyArn"): Reference((KEY,)),
    (RI, "replicationSubnetGroupId"): Reference((RSG,)),
    (RI, "vpcSecurityGroupIds"): Reference((SG,)),
    (RT, "replicationInstanceArn"): Reference((RI,)),
    (RT, "sourceEndpointArn"): Reference((D,)),
    (RT, "targetEndpointArn"): Reference((S3E, D)),
    (RSG, "subnetIds"): Reference((), doc.ec2_id("subnet")),
    (
        "aws:athena/workgroup:Workgroup",
        "configuration.resultConfiguration.encryptionConfiguration.kmsKeyArn",
    ): Reference((KEY,)),
    (ALARM, "alarmActions"): Reference((TOPIC,)),
    (ALARM, "okActions"): Reference((TOPIC,)),
    ("aws:cloudwatch/eventTarget:EventTarget", "arn"): Reference((TOPIC, FUNCTION, QUEUE)),
    ("aws:cloudwatch/eventTarget:EventTarget", "deadLetterConfig.arn"): Reference((QUEUE,)),
    (LOGS, "kmsKeyId"): Reference((KEY,)),
    ("aws:ec2/securityGroup:SecurityGroup", "vpcId"): Reference((), doc.ec2_id("vpc")),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "routeTableIds"): Reference((), doc.ec2_id("rtb")),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "securityGroupIds"): Reference((SG,)),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "subnetIds"): Reference((), doc.ec2_id("subnet")),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "vpcId"): Reference((), doc.ec2_id("vpc")),
    ("aws:iam/rolePolicy:RolePolicy", "role"): Reference((ROLE,)),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn"): Reference((), MANAGED_POLICY_ARN),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "role"): Reference((ROLE,)),
    ("aws:kms/alias:Alias", "targetKeyId"): Reference((KEY,)),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "eventSourceArn"): Reference((QUEUE,)),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "functionName"): Reference((FUNCTION,)),
    (FUNCTION, "deadLetterConfig.targetArn"): Reference((QUEUE, TOPIC)),
    (FUNCTION, "kmsKeyArn"): Reference((KEY,)),
    (FUNCTION, "layers"): Reference((), LAYER_ARN),
    (FUNCTION, "loggingConfig.logGroup"): Reference((LOGS,)),
    (FUNCTION, "role"): Reference((ROLE,)),
    ("aws:lambda/invocation:Invocation", "functionName"): Reference((FUNCTION,)),
    ("aws:lambda/permission:Permission", "function"): Reference((FUNCTION,)),
    ("aws:lambda/permission:Permission", "sourceArn"): Reference((BUCKET, EVENT_RULE, TOPIC)),
    ("aws:redshiftserverless/namespace:Namespace", "adminPasswordSecretKmsKeyId"): Reference((KEY,)),
    ("aws:redshiftserverless/namespace:Namespace", "defaultIamRoleArn"): Reference((ROLE,)),
    ("aws:redshiftserverless/namespace:Namespace", "iamRoles"): Reference((ROLE,)),
    ("aws:redshiftserverless/namespace:Namespace", "kmsKeyId"): Reference((KEY,)),
    ("aws:redshiftserverless/workgroup:Workgroup", "namespaceName"): Reference(
        ("aws:redshiftserverless/namespace:Namespace",)
    ),
    ("aws:redshiftserverless/workgroup:Workgroup", "securityGroupIds"): Reference((SG,)),
    ("aws:redshiftserverless/workgroup:Workgroup", "subnetIds"): Reference((), doc.ec2_id("subnet")),
    (LIFECYCLE, "bucket"): Reference((BUCKET,)),
    ("aws:s3/bucketNotification:BucketNotification", "queues.queueArn"): Reference((QUEUE,)),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "bucket"): Reference((BUCKET,)),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "kmsKeyId"): Reference((KEY,)),
    ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "Bucket"): Reference((BUCKET,)),
    ("aws:s3/bucketPolicy:BucketPolicy", "bucket"): Reference((BUCKET,)),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket"): Reference((BUCKET,)),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "bucket"): Reference(
        (BUCKET,)
    ),
    (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "rules.applyServerSideEncryptionByDefault.kmsMasterKeyId",
    ): Reference((KEY,)),
    ("aws:s3/bucketVersioning:BucketVersioning", "bucket"): Reference((BUCKET,)),
    (REPLICATION, "bucket"): Reference((BUCKET,)),
    (REPLICATION, "role"): Reference((ROLE,)),
    (REPLICATION, "rules.destination.bucket"): Reference((BUCKET,)),
    (REPLICATION, "rules.destination.encryptionConfiguration.replicaKmsKeyId"): Reference((KEY,)),
    ("aws:sns/topic:Topic", "kmsMasterKeyId"): Reference((KEY,)),
    ("aws:sns/topicPolicy:TopicPolicy", "arn"): Reference((TOPIC,)),
    ("aws:sns/topicSubscription:TopicSubscription", "endpoint"): Reference((QUEUE, FUNCTION)),
    ("aws:sns/topicSubscription:TopicSubscription", "topic"): Reference((TOPIC,)),
    (QUEUE, "kmsMasterKeyId"): Reference((KEY,)),
    ("aws:sqs/queuePolicy:QueuePolicy", "queueUrl"): Reference((QUEUE,)),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "GroupId"): Reference((SG,)),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "IpPermissions.UserIdGroupPairs.GroupId"): Reference(
        (SG,)
    ),
}

_SQS = doc.botocore_doc("sqs", "CreateQueueRequest", "Attributes")
_SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

# (resource type, argument path) -> what AWS documents for it.
DOCUMENTED: dict[tuple[str, str], doc.Documented] = {
    (D, "endpointId"): doc.dms_identifier(255, "CreateEndpointMessage", "EndpointIdentifier"),
    (S3E, "endpointId"): doc.dms_identifier(255, "CreateEndpointMessage", "EndpointIdentifier"),
    (S3E, "datePartitionTimezone"): doc.TIME_ZONE,
    (S3E, "timestampColumnName"): doc.NON_BLANK,
    (S3E, "expectedBucketOwner"): doc.ACCOUNT_ID,
    (S3E, "cdcMaxBatchInterval"): doc.NOT_NEGATIVE,
    (S3E, "cdcMinFileSize"): doc.NOT_NEGATIVE,
    (S3E, "rowGroupLength"): doc.NOT_NEGATIVE,
    (RC, "computeConfig.maxCapacityUnits"): doc.DCU,
    (RC, "computeConfig.minCapacityUnits"): doc.DCU,
    (RI, "replicationInstanceId"): doc.dms_identifier(
        63, "CreateReplicationInstanceMessage", "ReplicationInstanceIdentifier"
    ),
    (RI, "replicationInstanceClass"): doc.DMS_INSTANCE_CLASS,
    (RI, "engineVersion"): doc.DMS_ENGINE_VERSION,
    (RI, "allocatedStorage"): doc.between(
        5, 6144, "terraform-provider-aws replication_instance.go: IntBetween(5, 6144)"
    ),
    (RT, "replicationTaskId"): doc.dms_identifier(255, "CreateReplicationTaskMessage", "ReplicationTaskIdentifier"),
    (RT, "resourceIdentifier"): doc.dms_identifier(31, "CreateReplicationTaskMessage", "ResourceIdentifier"),
    (RSG, "replicationSubnetGroupId"): doc.SUBNET_GROUP_ID,
    (ALARM, "period"): doc.ALARM_PERIOD,
    (ALARM, "Metrics.MetricStat.Period"): doc.METRIC_STAT_PERIOD,
    (ALARM, "Metrics.MetricStat.Stat"): doc.STATISTIC,
    (ALARM, "treatMissingData"): doc.TREAT_MISSING_DATA,
    (LOGS, "retentionInDays"): doc.LOG_RETENTION_DAYS,
    (LIFECYCLE, "rules.expiration.days"): doc.POSITIVE_DAYS,
    (LIFECYCLE, "rules.noncurrentVersionExpiration.noncurrentDays"): doc.POSITIVE_NONCURRENT_DAYS,
    (LIFECYCLE, "rules.abortIncompleteMultipartUpload.daysAfterInitiation"): doc.ABORT_DAYS,
    (LIFECYCLE, "rules.id"): doc.LIFECYCLE_RULE_ID,
    (REPLICATION, "rules.id"): doc.REPLICATION_RULE_ID,
    (REPLICATION, "rules.destination.replicationTime.time.minutes"): doc.REPLICATION_MINUTES,
    (REPLICATION, "rules.destination.metrics.eventThreshold.minutes"): doc.REPLICATION_MINUTES,
    (BUCKET, "bucket"): doc.BUCKET_NAME,
    ("aws:s3/bucketObjectv2:BucketObjectv2", "contentType"): doc.MIME_TYPE,
    (TOPIC, "name"): doc.SNS_TOPIC_NAME,
    (QUEUE, "name"): doc.SQS_QUEUE_NAME,
    (QUEUE, "visibilityTimeoutSeconds"): doc.between(0, 43200, _SQS),
    (QUEUE, "messageRetentionSeconds"): doc.between(60, 1209600, _SQS),
    (QUEUE, "delaySeconds"): doc.between(0, 900, _SQS),
    (QUEUE, "receiveWaitTimeSeconds"): doc.between(0, 20, _SQS),
    (QUEUE, "maxMessageSize"): doc.between(1024, 1048576, _SQS),
    (QUEUE, "kmsDataKeyReusePeriodSeconds"): doc.between(60, 86400, _SQS),
    (SG, "name"): doc.EC2_GROUP_NAME,
    (SG, "description"): doc.ec2_text("CreateSecurityGroupRequest", "Description"),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "serviceName"): doc.VPC_ENDPOINT_SERVICE,
    (_SG_RULE, "IpPermissions.IpProtocol"): doc.IP_PROTOCOL,
    (_SG_RULE, "IpPermissions.FromPort"): doc.PORT,
    (_SG_RULE, "IpPermissions.ToPort"): doc.PORT,
    (_SG_RULE, "IpPermissions.IpRanges.CidrIp"): doc.CIDR_V4,
    (_SG_RULE, "IpPermissions.IpRanges.Description"): doc.ec2_text("IpRange", "Description"),
    (_SG_RULE, "IpPermissions.UserIdGroupPairs.Description"): doc.ec2_text("UserIdGroupPair", "Description"),
    ("aws:athena/workgroup:Workgroup", "configuration.resultConfiguration.outputLocation"): doc.ATHENA_OUTPUT,
    ("aws:athena/workgroup:Workgroup", "configuration.engineVersion.selectedEngineVersion"): doc.one_of(
        ("AUTO", "Athena engine version 2", "Athena engine version 3"),
        doc.botocore_doc("athena", "EngineVersion", "SelectedEngineVersion"),
    ),
    ("aws:glue/catalogTable:CatalogTable", "tableType"): doc.one_of(
        ("EXTERNAL_TABLE", "VIRTUAL_VIEW", "GOVERNED"), doc.botocore_doc("glue", "TableInput", "TableType")
    ),
    (KEY, "deletionWindowInDays"): doc.between(
        7, 30, doc.botocore_doc("kms", "ScheduleKeyDeletionRequest", "PendingWindowInDays")
    ),
}

_DB_NAME = "the source's own database name: whatever the source engine allows (DMS documents no format); the "
_LABEL = "free text shown to people"

# (resource type, argument path) -> why its type is all that can be checked.
TYPE_ONLY: dict[tuple[str, str], str] = {
    (D, "databaseName"): _DB_NAME + "config requires a non-empty value",
    (D, "postgresSettings.heartbeatFrequency"): "minutes between heartbeats; DMS documents only the default (5)",
    (RSG, "replicationSubnetGroupDescription"): _LABEL + "; DMS documents no limit",
    (RC, "replicationConfigIdentifier"): "DMS documents no format for it; the program builds it from the validated "
    "source name (cb-<env>-<source>)",
    (RC, "resourceIdentifier"): "DMS documents no format for a replication config's; the program uses the "
    "replication config identifier (rule dms-event-rule-names-its-replication checks the ARN it yields)",
    (ALARM, "threshold"): "any number: it is compared with the metric",
    (ALARM, "Metrics.label"): _LABEL + " on graphs",
    (LIFECYCLE, "rules.filter.prefix"): "any object key prefix; empty selects the whole bucket",
    (REPLICATION, "rules.filter.prefix"): "any object key prefix; empty selects the whole bucket",
    (REPLICATION, "rules.priority"): "any integer: it only orders rules with the same destination "
    "(botocore s3 ReplicationRule.Priority documentation)",
    ("aws:lambda/invocation:Invocation", "input"): "the payload of the program's own function, read by its "
    "handler (tests/lambdas/test_warehouse_sql.py)",
    ("aws:redshiftserverless/namespace:Namespace", "adminUsername"): "Redshift documents no format in "
    "CreateNamespace; the program sets a fixed name",
    ("aws:redshiftserverless/namespace:Namespace", "dbName"): "Redshift documents no format in CreateNamespace; "
    "the config validates cloudbridge:analytics.redshift.database (^[a-z][a-z0-9_]{0,62}$)",
}
