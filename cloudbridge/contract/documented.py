"""What AWS documents for argument paths its API model leaves open (a bare string or integer).

Each ``Documented`` names what AWS accepts (shown in findings) and where AWS says so:
botocore's member documentation (offline, exact text in the installed model), the AWS user
guides, the provider's own validation (terraform-provider-aws, which the pinned pulumi-aws
bridges), or cfn-lint's bundled resource schemas (``cfn-lint`` 1.58.0, read, not a dependency).
``contracts.CONTRACTS`` attaches them to argument paths; ``rules`` holds what spans fields.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Documented:
    """A documented constraint on one argument: ``label`` is what AWS accepts, ``source`` where it says so."""

    label: str
    ok: Callable[[Any], bool]
    source: str
    kind: str = "documented list"  # documented list | documented range | documented pattern | documented set

    def problem(self, value: Any) -> str | None:
        """Why AWS would refuse ``value`` (None when it accepts it)."""
        if value is None or self.ok(value):
            return None
        return f"AWS accepts only {self.label} ({self.source})"


def botocore_doc(service: str, shape: str, member: str) -> str:
    """A citation of a member's documentation in the installed botocore model."""
    return f"botocore {service} {shape}.{member} documentation"


def one_of(values: Iterable[Any], source: str) -> Documented:
    """A documented list of values."""
    values = tuple(values)
    return Documented(f"one of {list(values)}", lambda v: v in values, source, "documented list")


def between(low: int, high: int | None, source: str) -> Documented:
    """A documented integer range (``high`` None: no upper bound)."""
    label = f"an integer from {low}" + (f" to {high}" if high is not None else " up")
    return Documented(
        label,
        lambda v: _is_int(v) and v >= low and (high is None or v <= high),
        source,
        "documented range",
    )


def matching(pattern: str, label: str, source: str) -> Documented:
    """A documented format, written as a regular expression."""
    compiled = re.compile(pattern)
    return Documented(label, lambda v: isinstance(v, str) and bool(compiled.fullmatch(v)), source, "documented pattern")


def integers(test: Callable[[int], bool], label: str, source: str) -> Documented:
    """A documented set of integers that no range describes (periods, capacities)."""
    return Documented(label, lambda v: _is_int(v) and test(v), source, "documented set")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- DMS ----------------------------------------------------------------------------------

DMS_GUIDE = "https://docs.aws.amazon.com/dms/latest/userguide/"
# DMS Serverless capacity: ComputeConfig.MaxCapacityUnits lists the only DCU values accepted.
DMS_CAPACITY_UNITS = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
DCU = one_of(DMS_CAPACITY_UNITS, botocore_doc("dms", "ComputeConfig", "MaxCapacityUnits"))

_DMS_NAME = r"[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*"  # letter first, no trailing or double hyphen


def dms_identifier(most: int, shape: str, member: str) -> Documented:
    """DMS's identifier rule: a letter first, ASCII letters, digits and single hyphens, no trailing hyphen."""
    return matching(
        rf"(?={_DMS_NAME}$).{{1,{most}}}",
        f"1-{most} ASCII letters, digits and single hyphens, starting with a letter, not ending with a hyphen",
        botocore_doc("dms", shape, member),
    )


SUBNET_GROUP_ID = Documented(
    "at most 255 letters, digits, periods, underscores or hyphens, and not 'default'",
    lambda v: isinstance(v, str) and bool(re.fullmatch(r"[A-Za-z0-9._-]{1,255}", v)) and v.lower() != "default",
    botocore_doc("dms", "CreateReplicationSubnetGroupMessage", "ReplicationSubnetGroupIdentifier"),
    "documented pattern",
)

# "AWS DMS currently supports the T2, T3, C4, C5, C6i, R4, R5 and R6i Amazon EC2 instance classes"
# (user guide, Choosing the right AWS DMS replication instance); C7i/R7i: AWS Database Blog,
# "Replication instance sizing for optimal database migrations with AWS DMS".
DMS_INSTANCE_FAMILIES = ("t2", "t3", "c4", "c5", "c6i", "c7i", "r4", "r5", "r6i", "r7i")
DMS_INSTANCE_CLASS = matching(
    rf"dms\.(?:{'|'.join(DMS_INSTANCE_FAMILIES)})\.(?:micro|small|medium|large|\d*xlarge)",
    f"dms.<family>.<size> with a family DMS supports ({', '.join(DMS_INSTANCE_FAMILIES)})",
    DMS_GUIDE + "CHAP_ReplicationInstance.Types.html",
)
# Engine versions are n.n.n (user guide, Working with replication engine versions: --engine-version n.n.n).
DMS_ENGINE_VERSION = matching(
    r"\d+\.\d+\.\d+", "a version number n.n.n", DMS_GUIDE + "CHAP_ReplicationInstance.EngineVersions.html"
)
# S3Settings.IncludeOpForFullLoad: "DMS supports the use of the .parquet files with the
# IncludeOpForFullLoad parameter in versions 3.4.7 and later."
INCLUDE_OP_PARQUET_MIN_VERSION = (3, 4, 7)


def version_tuple(text: str) -> tuple[int, ...]:
    """``"3.5.2"`` as ``(3, 5, 2)``; an unparsable version sorts first."""
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return ()


@cache
def _area_location_zones() -> frozenset[str]:
    return frozenset(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("posix/", "right/")))


TIME_ZONE = Documented(
    "an IANA time zone in Area/Location form (like Europe/London or Etc/UTC)",
    lambda v: v in _area_location_zones(),
    botocore_doc("dms", "S3Settings", "DatePartitionTimezone") + ": 'The time zone format is Area/Location'",
    "documented list",
)
NON_BLANK = matching(r".*\S.*", "a non-blank string", botocore_doc("dms", "S3Settings", "TimestampColumnName"))
ACCOUNT_ID = matching(
    r"\d{12}", "a 12-digit account ID", "terraform-provider-aws s3_endpoint.go: expected_bucket_owner ValidAccountID"
)
# s3_endpoint.go validates cdc_max_batch_interval, cdc_min_file_size and row_group_length with IntAtLeast(0).
NOT_NEGATIVE = between(0, None, "terraform-provider-aws s3_endpoint.go: validation.IntAtLeast(0)")

# --- CloudWatch ----------------------------------------------------------------------------

ALARM_PERIOD = integers(
    lambda v: v in (10, 20, 30) or (v > 0 and v % 60 == 0),
    "10, 20, 30 or a multiple of 60 seconds",
    botocore_doc("cloudwatch", "PutMetricAlarmInput", "Period")
    + " ('Valid values are 10, 20, 30, and any multiple of 60'; cfn-lint's alarm period extension: 10, 30, 60n)",
)
METRIC_STAT_PERIOD = integers(
    lambda v: v in (1, 5, 10, 20, 30) or (v > 0 and v % 60 == 0),
    "1, 5, 10, 20, 30 or a multiple of 60 seconds",
    botocore_doc("cloudwatch", "MetricStat", "Period"),
)
# Statistics definitions (CloudWatch user guide, "CloudWatch statistics definitions").
STATISTIC = matching(
    r"SampleCount|Average|Sum|Minimum|Maximum|IQM|(?:p|tm|wm|tc|ts|pr)\d{1,2}(?:\.\d{1,2})?",
    "a CloudWatch statistic (SampleCount, Average, Sum, Minimum, Maximum, IQM, or an extended pNN/tmNN/...)",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html",
)
TREAT_MISSING_DATA = one_of(
    ("breaching", "notBreaching", "ignore", "missing"),
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html",
)
LOG_RETENTION_DAYS = one_of(
    (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
    botocore_doc("logs", "PutRetentionPolicyRequest", "retentionInDays"),
)

# --- S3 -------------------------------------------------------------------------------------

POSITIVE_DAYS = between(1, None, botocore_doc("s3", "LifecycleExpiration", "Days") + ": 'a non-zero positive integer'")
POSITIVE_NONCURRENT_DAYS = between(
    1, None, botocore_doc("s3", "NoncurrentVersionExpiration", "NoncurrentDays") + ": 'a non-zero positive integer'"
)
ABORT_DAYS = between(
    0, None, "cfn-lint 1.58.0 schema AWS::S3::Bucket AbortIncompleteMultipartUpload.DaysAfterInitiation (minimum 0)"
)
LIFECYCLE_RULE_ID = matching(r".{1,255}", "at most 255 characters", botocore_doc("s3", "LifecycleRule", "ID"))
REPLICATION_RULE_ID = matching(r".{1,255}", "at most 255 characters", botocore_doc("s3", "ReplicationRule", "ID"))
# "Valid value: 15" (S3 Replication Time Control's threshold, and the metrics' event threshold).
REPLICATION_MINUTES = one_of((15,), botocore_doc("s3", "ReplicationTimeValue", "Minutes"))
# General purpose bucket naming rules (S3 user guide, "Bucket naming rules").
BUCKET_NAME = Documented(
    "3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, no '..', "
    "not an IP address",
    lambda v: (
        isinstance(v, str)
        and bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", v))
        and ".." not in v
        and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", v)
    ),
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    "documented pattern",
)
MIME_TYPE = matching(
    r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(?:\s*;.*)?",
    "a MIME type type/subtype",
    botocore_doc("s3", "PutObjectRequest", "ContentType") + " (RFC 9110 media type)",
)

# --- names the API models leave free ---------------------------------------------------------

SNS_TOPIC_NAME = matching(
    r"[A-Za-z0-9_-]{1,256}",
    "1-256 letters, digits, underscores or hyphens",
    botocore_doc("sns", "CreateTopicInput", "Name"),
)
SQS_QUEUE_NAME = matching(
    r"[A-Za-z0-9_-]{1,80}",
    "1-80 letters, digits, hyphens or underscores",
    botocore_doc("sqs", "CreateQueueRequest", "QueueName"),
)
_EC2_TEXT = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}"
EC2_GROUP_NAME = Documented(
    "up to 255 of a-z A-Z 0-9 space ._-:/()#,@[]+=&;{}!$*, not starting with sg-",
    lambda v: isinstance(v, str) and bool(re.fullmatch(_EC2_TEXT, v)) and bool(v) and not v.startswith("sg-"),
    botocore_doc("ec2", "CreateSecurityGroupRequest", "GroupName"),
    "documented pattern",
)


def ec2_text(shape: str, member: str) -> Documented:
    """EC2's description alphabet: up to 255 of a-z A-Z 0-9 space and ._-:/()#,@[]+=&;{}!$*."""
    return matching(
        _EC2_TEXT, "up to 255 of a-z A-Z 0-9 space ._-:/()#,@[]+=&;{}!$*", botocore_doc("ec2", shape, member)
    )


IP_PROTOCOL = matching(
    r"tcp|udp|icmp|icmpv6|-1|\d{1,3}",
    "tcp, udp, icmp, icmpv6, -1 or a protocol number",
    botocore_doc("ec2", "IpPermission", "IpProtocol"),
)
PORT = between(-1, 65535, botocore_doc("ec2", "IpPermission", "FromPort") + " (a port, an ICMP type, or -1)")
CIDR_V4 = matching(
    r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)/(?:3[0-2]|[12]?\d)",
    "an IPv4 CIDR block",
    botocore_doc("ec2", "IpRange", "CidrIp"),
)
VPC_ENDPOINT_SERVICE = matching(
    r"com\.amazonaws\.[a-z]{2}(?:-[a-z]+)+-\d\.[a-z0-9.-]+",
    "com.amazonaws.<region>.<service>",
    "https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html",
)
ATHENA_OUTPUT = matching(
    r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/.*)?",
    "an s3://bucket/prefix location",
    botocore_doc("athena", "ResultConfiguration", "OutputLocation"),
)


def ec2_id(prefix: str) -> Documented:
    """An EC2 resource ID: the prefix, a hyphen and 8 or 17 hexadecimal characters."""
    return matching(
        rf"{prefix}-(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})",
        f"{prefix}- and 8 or 17 hexadecimal characters",
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html",
    )
