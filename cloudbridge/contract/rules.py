"""Rules that span two fields or two resources, checked on the whole plan.

The per-argument walk (``aws_contract``) sees one value at a time; AWS also refuses
combinations: an SQS batch size above 10 without a batching window, a queue whose
visibility timeout is shorter than its consumer's timeout, an S3 target whose KMS mode
has no key. Each ``Rule`` names the argument paths it checks (for the coverage report),
where AWS documents it, and yields ``Finding``s naming the resource and argument.

``REFERENCES`` is one rule applied to many paths: an ARN, ID or name that points at
another resource must point at a declared resource of the right type, or, when it comes
from the stack file, have that resource's documented format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cloudbridge.contract import documented as doc
from cloudbridge.contract.findings import Finding, given_values

S3_ENDPOINT = "aws:dms/s3Endpoint:S3Endpoint"
ENDPOINT = "aws:dms/endpoint:Endpoint"
CONFIG = "aws:dms/replicationConfig:ReplicationConfig"
TASK = "aws:dms/replicationTask:ReplicationTask"
INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"


@dataclass(frozen=True)
class Rule:
    """A constraint AWS documents across fields or resources."""

    name: str
    kind: str  # cross-field | cross-resource
    paths: tuple[tuple[str, str], ...]  # (resource type, argument path) it checks
    source: str
    check: Callable[[Any], Iterator[Finding]]


def _finding(resource, argument: str, value: Any, problem: str) -> Finding:
    return Finding(resource.name, resource.type, argument, value, problem)


def _declared(plan, type_: str):
    return [(r, given_values(r)) for r in plan.resources if r.type == type_ and r.custom and not r.read]


# --- Lambda and SQS --------------------------------------------------------------------------


def _sqs_batching_window(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, ESM):
        size, window = g.get("batchSize", 10), g.get("maximumBatchingWindowInSeconds", 0)
        if str(g.get("eventSourceArn", "")).startswith("arn:aws:sqs:") and size > 10 and window < 1:
            yield _finding(
                r,
                "maximumBatchingWindowInSeconds",
                window,
                f"batchSize {size} (> 10) from SQS needs a batching window of at least 1 second",
            )


def _by_identity(plan, type_: str, value: Any):
    return next((r for r, _ in _declared(plan, type_) if value in identities(r)), None)


def _queue_outlives_function(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, ESM):
        queue = _by_identity(plan, QUEUE, g.get("eventSourceArn"))
        function = _by_identity(plan, FUNCTION, g.get("functionName"))
        if queue is None or function is None:
            continue
        visibility = given_values(queue).get("visibilityTimeoutSeconds", 30)
        timeout = given_values(function).get("timeout", 3)
        if visibility < timeout:
            yield _finding(
                r,
                "eventSourceArn",
                g.get("eventSourceArn"),
                f"queue {queue.name} visibility timeout {visibility} s is shorter than function "
                f"{function.name} timeout {timeout} s",
            )


# --- CloudWatch alarms -----------------------------------------------------------------------

_SINGLE_METRIC = ("namespace", "metricName", "dimensions", "period", "statistic", "extendedStatistic", "unit")


def _alarm_shape(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, ALARM):
        queries = g.get("metricQueries")
        if queries:
            for key in _SINGLE_METRIC:
                if key in g:
                    yield _finding(r, key, g[key], "an alarm with metric queries (Metrics) cannot also set it")
            returned = [q.get("id") for q in queries if q.get("returnData")]
            if len(returned) != 1:
                yield _finding(r, "Metrics.returnData", returned, "exactly one metric query must return data")
        else:
            for key in ("namespace", "metricName", "period"):
                if key not in g:
                    yield _finding(r, key, None, "an alarm on one metric needs it")
            if "statistic" not in g and "extendedStatistic" not in g:
                yield _finding(r, "statistic", None, "an alarm on one metric needs statistic or extendedStatistic")


def _alarm_datapoints(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, ALARM):
        points, periods = g.get("datapointsToAlarm"), g.get("evaluationPeriods")
        if points is not None and periods is not None and points > periods:
            yield _finding(r, "datapointsToAlarm", points, f"M ({points}) of an M-out-of-N alarm exceeds N ({periods})")


_MATH_FUNCTION = re.compile(r"[A-Z_]+\s*\(")


def _metric_math_ids(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, ALARM):
        queries = g.get("metricQueries") or []
        ids = {q.get("id") for q in queries}
        for q in queries:
            expression = q.get("expression")
            if not expression:
                continue
            names = set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", _MATH_FUNCTION.sub(" ", expression)))
            for name in sorted(names - ids):
                yield _finding(r, "Metrics.expression", expression, f"{name!r} is not the id of a query of this alarm")


# --- DMS ---------------------------------------------------------------------------------------


def _date_partition(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, S3_ENDPOINT):
        if g.get("datePartitionEnabled"):
            continue
        for key in ("datePartitionSequence", "datePartitionDelimiter", "datePartitionTimezone"):
            if g.get(key) is not None:
                yield _finding(r, key, g[key], "applies only with datePartitionEnabled true")


def _sse_kms_key(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, S3_ENDPOINT):
        mode, key = g.get("encryptionMode"), g.get("serverSideEncryptionKmsKeyId")
        if mode == "SSE_KMS" and not key:
            yield _finding(r, "serverSideEncryptionKmsKeyId", key, "required when encryptionMode is SSE_KMS")
        if mode in (None, "SSE_S3") and key:
            yield _finding(r, "serverSideEncryptionKmsKeyId", key, "must not be set when encryptionMode is SSE_S3")


def _parquet_only(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, S3_ENDPOINT):
        if g.get("dataFormat") == "parquet":
            continue
        for key in ("parquetVersion", "rowGroupLength", "parquetTimestampInMillisecond"):
            if g.get(key) is not None:
                yield _finding(r, key, g[key], "applies only to dataFormat parquet")


def _heartbeat(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, ENDPOINT):
        settings = g.get("postgresSettings") or {}
        if settings.get("heartbeatEnable"):
            continue
        for key in ("heartbeatFrequency", "heartbeatSchema"):
            if settings.get(key) is not None:
                yield _finding(r, f"postgresSettings.{key}", settings[key], "applies only with heartbeatEnable true")


def _capacity_bounds(plan) -> Iterator[Finding]:
    for r, g in _declared(plan, CONFIG):
        compute = g.get("computeConfig") or {}
        low, high = compute.get("minCapacityUnits"), compute.get("maxCapacityUnits")
        if low is not None and high is not None and low > high:
            yield _finding(r, "computeConfig.minCapacityUnits", low, f"exceeds maxCapacityUnits {high}")


_SETTINGS = {CONFIG: "replicationSettings", TASK: "replicationTaskSettings"}


def _lob_mode(plan) -> Iterator[Finding]:
    for type_, key in _SETTINGS.items():
        for r, g in _declared(plan, type_):
            try:
                metadata = json.loads(g.get(key) or "{}").get("TargetMetadata") or {}
            except (ValueError, AttributeError):
                continue  # the document grammar check reports it
            full, limited = metadata.get("FullLobMode"), metadata.get("LimitedSizeLobMode")
            if full and limited:
                yield _finding(
                    r,
                    f"{key}:TargetMetadata.FullLobMode",
                    full,
                    "FullLobMode and LimitedSizeLobMode exclude each other",
                )
            if (full or limited) and metadata.get("SupportLobs") is False:
                yield _finding(r, f"{key}:TargetMetadata.SupportLobs", False, "a LOB mode needs SupportLobs true")
            if metadata.get("LobMaxSize") and not limited:
                yield _finding(
                    r, f"{key}:TargetMetadata.LobMaxSize", metadata["LobMaxSize"], "applies only in limited LOB mode"
                )


def _endpoint_roles(plan) -> Iterator[Finding]:
    for type_ in (CONFIG, TASK):
        for r, g in _declared(plan, type_):
            for key, role in (("sourceEndpointArn", "source"), ("targetEndpointArn", "target")):
                endpoint = _by_identity(plan, ENDPOINT, g.get(key)) or _by_identity(plan, S3_ENDPOINT, g.get(key))
                if endpoint is not None and given_values(endpoint).get("endpointType") != role:
                    yield _finding(r, key, g.get(key), f"names {endpoint.name}, which is not a {role} endpoint")


def _include_op_engine(plan) -> Iterator[Finding]:
    for _task, g in _declared(plan, TASK):
        target = _by_identity(plan, S3_ENDPOINT, g.get("targetEndpointArn"))
        instance = _by_identity(plan, INSTANCE, g.get("replicationInstanceArn"))
        if target is None or instance is None:
            continue
        t, version = given_values(target), given_values(instance).get("engineVersion")
        if t.get("includeOpForFullLoad") and t.get("dataFormat") == "parquet" and version is not None:
            if doc.version_tuple(version) < doc.INCLUDE_OP_PARQUET_MIN_VERSION:
                yield _finding(
                    instance,
                    "engineVersion",
                    version,
                    f"below 3.4.7, which {target.name}'s includeOpForFullLoad with parquet needs",
                )


_DMS_EVENT_ARN = re.compile(r"arn:aws[a-z-]*:dms:[a-z0-9-]+:\d{12}:(replication-config|task|rep):(.+)")


def _event_rule_resources(plan) -> Iterator[Finding]:
    named = {("replication-config", given_values(r).get("resourceIdentifier")) for r, _ in _declared(plan, CONFIG)}
    named |= {("task", given_values(r).get("resourceIdentifier")) for r, _ in _declared(plan, TASK)}
    instances = {v for r, _ in _declared(plan, INSTANCE) for v in identities(r)}
    for r, g in _declared(plan, RULE):
        try:
            pattern = json.loads(g.get("eventPattern") or "{}")
        except ValueError:
            continue
        if pattern.get("source") != ["aws.dms"]:
            continue
        for arn in pattern.get("resources") or []:
            match = _DMS_EVENT_ARN.fullmatch(str(arn))
            known = match and ((match.group(1), match.group(2)) in named or arn in instances)
            if not known:
                yield _finding(r, "eventPattern:resources", arn, "names no declared DMS replication, task or instance")


RULES: tuple[Rule, ...] = (
    Rule(
        "sqs-batching-window",
        "cross-field",
        ((ESM, "batchSize"), (ESM, "maximumBatchingWindowInSeconds")),
        doc.botocore_doc("lambda", "CreateEventSourceMappingRequest", "MaximumBatchingWindowInSeconds"),
        _sqs_batching_window,
    ),
    Rule(
        "queue-visibility-covers-function-timeout",
        "cross-resource",
        ((ESM, "eventSourceArn"), (QUEUE, "visibilityTimeoutSeconds"), (FUNCTION, "timeout")),
        "cfn-lint 1.58.0 extension aws_lambda_eventsourcemapping/event_source_sqs_timeout.json",
        _queue_outlives_function,
    ),
    Rule(
        "alarm-metric-or-metrics",
        "cross-field",
        tuple((ALARM, k) for k in ("namespace", "metricName", "period", "statistic", "Metrics", "Metrics.returnData")),
        doc.botocore_doc("cloudwatch", "PutMetricAlarmInput", "Metrics"),
        _alarm_shape,
    ),
    Rule(
        "alarm-m-out-of-n",
        "cross-field",
        ((ALARM, "datapointsToAlarm"), (ALARM, "evaluationPeriods")),
        doc.botocore_doc("cloudwatch", "PutMetricAlarmInput", "DatapointsToAlarm"),
        _alarm_datapoints,
    ),
    Rule(
        "metric-math-ids",
        "cross-field",
        ((ALARM, "Metrics.expression"), (ALARM, "Metrics.id")),
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html",
        _metric_math_ids,
    ),
    Rule(
        "dms-date-partition-needs-enabled",
        "cross-field",
        tuple(
            (S3_ENDPOINT, k)
            for k in (
                "datePartitionEnabled",
                "datePartitionSequence",
                "datePartitionDelimiter",
                "datePartitionTimezone",
            )
        ),
        doc.botocore_doc("dms", "S3Settings", "DatePartitionSequence")
        + " ('when DatePartitionedEnabled is set to true')",
        _date_partition,
    ),
    Rule(
        "dms-sse-kms-needs-key",
        "cross-field",
        ((S3_ENDPOINT, "encryptionMode"), (S3_ENDPOINT, "serverSideEncryptionKmsKeyId")),
        "terraform-provider-aws endpoint.go validateSSEKMSKey; "
        + doc.botocore_doc("dms", "S3Settings", "ServerSideEncryptionKmsKeyId"),
        _sse_kms_key,
    ),
    Rule(
        "dms-parquet-only-settings",
        "cross-field",
        tuple(
            (S3_ENDPOINT, k)
            for k in ("dataFormat", "parquetVersion", "rowGroupLength", "parquetTimestampInMillisecond")
        ),
        doc.botocore_doc("dms", "S3Settings", "RowGroupLength") + " ('used for .parquet file format only')",
        _parquet_only,
    ),
    Rule(
        "dms-heartbeat-settings-need-heartbeat",
        "cross-field",
        tuple((ENDPOINT, f"postgresSettings.{k}") for k in ("heartbeatEnable", "heartbeatFrequency")),
        doc.botocore_doc("dms", "PostgreSQLSettings", "HeartbeatFrequency"),
        _heartbeat,
    ),
    Rule(
        "dms-capacity-min-below-max",
        "cross-field",
        ((CONFIG, "computeConfig.minCapacityUnits"), (CONFIG, "computeConfig.maxCapacityUnits")),
        doc.botocore_doc("dms", "ComputeConfig", "MinCapacityUnits"),
        _capacity_bounds,
    ),
    Rule(
        "dms-lob-mode",
        "cross-field",
        ((CONFIG, "replicationSettings"), (TASK, "replicationTaskSettings")),
        doc.DMS_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.TargetMetadata.html",
        _lob_mode,
    ),
    Rule(
        "dms-endpoint-roles",
        "cross-resource",
        tuple((t, k) for t in (CONFIG, TASK) for k in ("sourceEndpointArn", "targetEndpointArn")),
        doc.botocore_doc("dms", "CreateReplicationTaskMessage", "SourceEndpointArn"),
        _endpoint_roles,
    ),
    Rule(
        "dms-include-op-parquet-engine",
        "cross-resource",
        ((INSTANCE, "engineVersion"), (S3_ENDPOINT, "includeOpForFullLoad"), (TASK, "replicationInstanceArn")),
        doc.botocore_doc("dms", "S3Settings", "IncludeOpForFullLoad") + " ('versions 3.4.7 and later')",
        _include_op_engine,
    ),
    Rule(
        "dms-event-rule-names-its-replication",
        "cross-resource",
        ((RULE, "eventPattern"), (CONFIG, "resourceIdentifier"), (TASK, "resourceIdentifier")),
        doc.botocore_doc("dms", "CreateReplicationTaskMessage", "ResourceIdentifier"),
        _event_rule_resources,
    ),
)


# --- references --------------------------------------------------------------------------------

# Outputs and identifiers another resource can name a resource by.
_IDENTITY_KEYS = (
    "arn", "id", "name", "url", "keyId", "bucket", "endpointArn", "replicationInstanceArn", "replicationTaskArn",
    "certificateArn", "replicationSubnetGroupId", "namespaceName",
)  # fmt: skip


# Inputs that name the resource itself (the rest of a resource's inputs are what it points at).
_OWN_NAMES = ("name", "bucket", "replicationSubnetGroupId", "namespaceName")


def identities(resource) -> set[str]:
    """Every value another resource may name ``resource`` by: its ARN, name, URL, key ID, and
    the ID the offline evaluator gives it (``cloudbridge.plan``'s mock: ``<name>-id``)."""
    found = {
        str(resource.inputs[k])
        for k in _IDENTITY_KEYS
        if isinstance(resource.inputs.get(k), str) and (k in _OWN_NAMES or k not in resource.given)
    }
    found |= {str(resource.given[k]) for k in ("id",) if isinstance(resource.given.get(k), str)}
    found.add(f"{resource.name}-id")
    return found


@dataclass(frozen=True)
class Reference:
    """An argument that names other resources: of ``targets`` when declared here, else of ``fallback``'s format."""

    targets: tuple[str, ...]
    fallback: doc.Documented | None = None

    def describe(self) -> str:
        """The coverage text."""
        names = " or ".join(t.split(":")[-1] for t in self.targets)
        extra = f", or from the stack file: {self.fallback.label} ({self.fallback.source})" if self.fallback else ""
        return f"rule: reference to a declared {names}{extra}"


def check_reference(plan, resource, path: str, value: Any, reference: Reference) -> Iterator[Finding]:
    """Findings for one reference value (lists: each item)."""
    for item in value if isinstance(value, list) else [value]:
        if item is None:
            continue
        owners = [r for r in plan.resources if r.custom and item in identities(r)]
        if any(r.type in reference.targets for r in owners):
            continue
        if owners:
            expected = " or ".join(reference.targets)
            yield _finding(resource, path, item, f"names {owners[0].type} {owners[0].name}, not a {expected}")
        elif reference.fallback is None or reference.fallback.problem(item):
            what = reference.fallback.label if reference.fallback else "nothing else"
            yield _finding(
                resource, path, item, f"names no declared {' or '.join(reference.targets)} and is not {what}"
            )


def rule_paths() -> Mapping[tuple[str, str], list[str]]:
    """(type, path) -> the rules that check it, for the coverage report."""
    out: dict[tuple[str, str], list[str]] = {}
    for rule in RULES:
        for key in rule.paths:
            out.setdefault(key, []).append(f"rule {rule.name} ({rule.kind}; {rule.source})")
    return out


def check_rules(plan) -> list[Finding]:
    """Every rule over the whole plan."""
    return [finding for rule in RULES for finding in rule.check(plan)]
