"""Disaster recovery (components/dr.py) on the fixture stacks: prod turns it on, the others do not.

Every expectation is derived from the parsed stack config (account, regions, sources), never from
literal ARNs, so a fork with other accounts and regions stays green. The replication role's policy is
evaluated against the calls S3 replication makes as AWS documents them (S3 User Guide, "Setting up
permissions for live replication" and "Replicating encrypted objects"; with S3 Bucket Keys the KMS
encryption context is the bucket's ARN: "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from cloudbridge.plan import Plan, read_stack_config, stacks
from components.naming import Naming
from components.storage import GUARD_SID_PREFIX, GUARDED_BUCKET_ACTIONS, GUARDED_OBJECT_ACTIONS
from components.workspace import metadata_root
from functions.common.metadata import TableMetadata
from tests.support.iam_eval import decide

REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BUCKET = "aws:s3/bucket:Bucket"
DR_STACKS = [s for s in stacks() if (read_stack_config(s).get("cloudbridge:dr") or {}).get("enabled")]


@dataclass(frozen=True)
class Dr:
    """What a stack file says about its DR, and the names the program must derive from it."""

    stack: str
    naming: Naming
    region: str
    secret: str
    sources: list[dict]

    @property
    def dr(self) -> Naming:
        return self.naming.in_region(self.region)

    def purposes(self) -> tuple[str, ...]:
        replicate_fail = (read_stack_config(self.stack)["cloudbridge:dr"]).get("replicateFail")
        return ("raw", "meta", "fail") if replicate_fail else ("raw", "meta")


def dr_of(stack: str) -> Dr:
    config = read_stack_config(stack)
    naming = Naming(stack, config["cloudbridge:account"]["id"], config["aws:region"])
    dr = config["cloudbridge:dr"]
    return Dr(stack, naming, dr["region"], dr["slackWebhookSecretArn"], config["cloudbridge:sources"])


def key_of(plan: Plan, region: str) -> str:
    [key] = [k.inputs["arn"] for k in plan.of_type("aws:kms/key:Key") if plan.region_of(k) == region]
    return key


def tables_of(source: str) -> list[TableMetadata]:
    from cloudbridge.metadata import committed

    return list(committed(metadata_root(), source).values())


def test_the_fixtures_exercise_dr_on_and_off():
    assert "prod" in DR_STACKS and set(stacks()) - set(DR_STACKS)


@pytest.mark.parametrize("stack", sorted(set(stacks()) - set(DR_STACKS)))
def test_without_dr_nothing_is_declared_in_another_region(plans, stack):
    plan = plans(stack)
    assert "aws-dr" not in [p.name for p in plan.of_type("pulumi:providers:aws")]
    assert not plan.of_type(REPLICATION) and not plan.of_type("cloudbridge:dr:DisasterRecovery")
    assert "dr" not in plan.outputs


# --- replication ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", DR_STACKS)
def test_every_source_replicates_raw_history_and_metadata_into_the_dr_region(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    [provider] = [p for p in plan.of_type("pulumi:providers:aws") if p.name == "aws-dr"]
    assert provider.inputs["region"] == d.region != plan.home_region
    buckets = {b.inputs["bucket"]: b for b in plan.of_type(BUCKET)}
    configs = {c.name: c for c in plan.of_type(REPLICATION)}
    assert len(configs) == len(d.sources) * len(d.purposes())
    for source in d.sources:
        for purpose in d.purposes():
            config = configs[f"{source['name']}-{purpose}-replication"]
            source_bucket = buckets[d.naming.bucket(source["name"], purpose)]
            replica = buckets[d.dr.bucket(source["name"], purpose)]
            assert plan.region_of(config) == plan.region_of(source_bucket) == plan.home_region
            assert plan.region_of(replica) == d.region
            given = config.given
            assert given["bucket"] == f"{source_bucket.name}-id"  # the source bucket's own id
            assert given["role"] == f"arn:aws:iam::{d.naming.account_id}:role/{d.naming.name('dr', 'replication')}"
            [rule] = given["rules"]
            assert rule["id"] == d.naming.replication_rule_id(purpose, d.region)
            assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}  # V2 schema: the whole bucket
            assert rule["deleteMarkerReplication"] == {"status": "Disabled"}  # docs/disaster-recovery.md
            assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
            destination = rule["destination"]
            assert destination["bucket"] == f"arn:aws:s3:::{d.dr.bucket(source['name'], purpose)}"
            assert destination["encryptionConfiguration"] == {"replicaKmsKeyId": key_of(plan, d.region)}
            assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
            assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}


@pytest.mark.parametrize("stack", DR_STACKS)
def test_replication_waits_for_versioning_on_both_sides_and_for_the_roles_policy(plans, stack):
    plan = plans(stack)
    by_urn = {r.urn: r for r in plan.resources}
    policy = plan.named("dr-replication-role-policy")
    for config in plan.of_type(REPLICATION):
        depends = [by_urn[u] for u in config.dependencies if u in by_urn]
        versionings = [r for r in depends if r.type == "aws:s3/bucketVersioning:BucketVersioning"]
        regions = sorted(plan.region_of(v) for v in versionings)
        assert len(versionings) == 2 and regions == sorted({plan.home_region, dr_of(stack).region}), config.name
        assert all(v.inputs["versioningConfiguration"]["status"] == "Enabled" for v in versionings)
        assert policy.urn in config.dependencies


@pytest.mark.parametrize("stack", DR_STACKS)
def test_replicas_are_encrypted_under_the_dr_key_guarded_kept_and_expire_old_versions_like_the_source(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    key = plan.named("dr-key", "aws:kms/key:Key")
    assert plan.region_of(key) == d.region and key.inputs["enableKeyRotation"] is True
    assert key.retain_on_delete is True  # retainData (on outside dev)
    for source in d.sources:
        for purpose in d.purposes():
            name = f"{source['name']}-dr-{purpose}"
            bucket = plan.named(name, BUCKET)
            assert bucket.retain_on_delete is True
            sse = plan.named(f"{name}-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
            assert sse == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.inputs["arn"]}
            rules = {r["id"]: r for r in plan.named(f"{name}-lifecycle").inputs["rules"]}
            source_rules = {r["id"]: r for r in plan.named(f"{source['name']}-{purpose}-lifecycle").inputs["rules"]}
            assert rules == source_rules  # lifecycle is not replicated: the replica carries its own
            sids = [s["Sid"] for s in json.loads(plan.named(f"{name}-policy").inputs["policy"])["Statement"]]
            assert any(s.startswith(GUARD_SID_PREFIX) for s in sids) is (purpose in ("raw", "meta"))


# --- the replication role against the calls S3 replication makes -----------------------------------------


def replication_calls(plan: Plan, d: Dr) -> list[tuple[str, str, dict]]:
    """(action, resource, request context) of every call S3 replication makes as the role, per rule."""
    calls = []
    source_key, replica_key = key_of(plan, plan.home_region), key_of(plan, d.region)
    for source in d.sources:
        for purpose in d.purposes():
            src = f"arn:aws:s3:::{d.naming.bucket(source['name'], purpose)}"
            dst = f"arn:aws:s3:::{d.dr.bucket(source['name'], purpose)}"
            obj = "public/orders/2026/12/01/20261201-120000000-0123456789abcdef.parquet"
            calls += [
                ("s3:GetReplicationConfiguration", src, {}),
                ("s3:ListBucket", src, {}),
                ("s3:GetObjectVersionForReplication", f"{src}/{obj}", {}),
                ("s3:GetObjectVersionAcl", f"{src}/{obj}", {}),
                ("s3:GetObjectVersionTagging", f"{src}/{obj}", {}),
                ("s3:ReplicateObject", f"{dst}/{obj}", {}),
                ("s3:ReplicateTags", f"{dst}/{obj}", {}),
                # With S3 Bucket Keys (components/storage.py) the encryption context is the bucket's ARN.
                ("kms:Decrypt", source_key, via(plan.home_region, src)),
                ("kms:Encrypt", replica_key, via(d.region, dst)),
                ("kms:GenerateDataKey", replica_key, via(d.region, dst)),
            ]
    return calls


def via(region: str, context: str) -> dict:
    return {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": context}


@pytest.mark.parametrize("stack", DR_STACKS)
def test_the_replication_role_may_make_every_call_s3_replication_makes(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    role = plan.named("dr-replication-role", "aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "s3.amazonaws.com"}]
    assert role.inputs["permissionsBoundary"] == d.naming.permissions_boundary_arn
    policy = plan.named("dr-replication-role-policy").json("policy")
    refused = [(a, r) for a, r, ctx in replication_calls(plan, d) if decide(policy, {}, a, r, ctx) != "allow"]
    assert refused == []


@pytest.mark.parametrize("stack", DR_STACKS)
def test_the_replication_role_may_do_nothing_else(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    policy = plan.named("dr-replication-role-policy").json("policy")
    source = d.sources[0]["name"]
    src, dst = f"arn:aws:s3:::{d.naming.bucket(source, 'raw')}", f"arn:aws:s3:::{d.dr.bucket(source, 'raw')}"
    landing = f"arn:aws:s3:::{d.naming.bucket(source, 'landing')}"
    source_key, replica_key = key_of(plan, plan.home_region), key_of(plan, d.region)
    for action, resource, context in [
        ("s3:ReplicateDelete", f"{dst}/x.parquet", {}),  # delete markers are not replicated
        ("s3:ReplicateObject", "arn:aws:s3:::someone-elses-bucket/x", {}),  # no exfiltration
        ("s3:ReplicateObject", f"{src}/x", {}),  # never into the primary
        ("s3:GetObjectVersionForReplication", f"{landing}/x", {}),
        ("s3:GetObject", f"{src}/x", {}),
        ("s3:DeleteObjectVersion", f"{dst}/x", {}),
        ("kms:Decrypt", source_key, {"kms:EncryptionContext:aws:s3:arn": src}),  # not through S3
        ("kms:Decrypt", source_key, via(plan.home_region, landing)),  # another bucket's objects
        ("kms:Encrypt", replica_key, via(plan.home_region, dst)),  # S3 of the wrong region
        ("kms:Encrypt", source_key, via(plan.home_region, src)),
        ("kms:Decrypt", replica_key, via(d.region, dst)),
    ]:
        assert decide(policy, {}, action, resource, context) != "allow", (action, resource, context)


@pytest.mark.parametrize("stack", DR_STACKS)
def test_the_backfill_role_is_what_batch_replication_needs(plans, stack):
    """S3 User Guide, "Configuring an IAM role for S3 Batch Replication" (S3-generated manifest)."""
    plan, d = plans(stack), dr_of(stack)
    role = plan.named("dr-backfill-role", "aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "batchoperations.s3.amazonaws.com"}]
    policy = plan.named("dr-backfill-role-policy").json("policy")
    reports = f"arn:aws:s3:::{d.naming.bucket('dr', 'reports')}"
    src = f"arn:aws:s3:::{d.naming.bucket(d.sources[0]['name'], 'raw')}"
    for action, resource in [
        ("s3:InitiateReplication", f"{src}/a.parquet"),
        ("s3:GetReplicationConfiguration", src),
        ("s3:PutInventoryConfiguration", src),
        ("s3:GetObject", f"{reports}/batch-replication/manifest.json"),
        ("s3:GetObjectVersion", f"{reports}/batch-replication/manifest.json"),
        ("s3:PutObject", f"{reports}/batch-replication/report.csv"),
    ]:
        assert decide(policy, {}, action, resource) == "allow", (action, resource)
    assert decide(policy, {}, "s3:PutObject", f"{src}/a.parquet") != "allow"
    assert decide(policy, {}, "s3:InitiateReplication", "arn:aws:s3:::someone-elses-bucket/a") != "allow"


# --- alerts from the DR region ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", DR_STACKS)
def test_the_dr_region_has_its_own_topic_key_and_notifier(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    topic = plan.named("dr-alerts-topic", "aws:sns/topic:Topic")
    assert plan.region_of(topic) == d.region and topic.inputs["arn"].split(":")[3] == d.region
    assert topic.inputs["kmsMasterKeyId"] == key_of(plan, d.region)
    notifier = plan.named("dr-slack-notifier", "aws:lambda/function:Function")
    assert plan.region_of(notifier) == d.region
    env = notifier.inputs["environment"]["variables"]
    assert d.secret in env.values()  # the secret in the DR region, not the primary's
    policy = plan.named("dr-slack-notifier-role-policy").json("policy")
    assert decide(policy, {}, "secretsmanager:GetSecretValue", d.secret) == "allow"
    subscription = plan.named("dr-slack-notifier-subscription")
    assert subscription.inputs["topic"] == topic.inputs["arn"] and plan.region_of(subscription) == d.region
    assert plan.outputs["dr"]["alertsTopicArn"] == topic.inputs["arn"]


@pytest.mark.parametrize("stack", DR_STACKS)
def test_each_rule_alarms_on_failed_operations_and_latency_in_the_dr_region(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    config = read_stack_config(stack)["cloudbridge:dr"]
    topic = plan.named("dr-alerts-topic", "aws:sns/topic:Topic").inputs["arn"]
    home_topic = plan.named("alerts-topic", "aws:sns/topic:Topic").inputs["arn"]
    alarms = {(plan.region_of(a), a.inputs["name"]): a for a in plan.of_type(ALARM)}
    for source in d.sources:
        for purpose in d.purposes():
            dimensions = {
                "SourceBucket": d.naming.bucket(source["name"], purpose),
                "DestinationBucket": d.dr.bucket(source["name"], purpose),
                "RuleId": d.naming.replication_rule_id(purpose, d.region),
            }
            for region, key, metric, statistic, threshold, notified in (
                (d.region, "failed", "OperationsFailedReplication", "Sum", 0, topic),
                (d.region, "latency", "ReplicationLatency", "Maximum", config.get("latencyAlarmSeconds", 900), topic),
                # Failed operations are watched in the source's region too, to its own topic.
                (plan.home_region, "failed", "OperationsFailedReplication", "Sum", 0, home_topic),
            ):
                alarm = alarms[(region, d.dr.name(source["name"], "dr", purpose, key))]
                i = alarm.inputs
                assert (i["namespace"], i["metricName"], i["statistic"]) == ("AWS/S3", metric, statistic)
                assert i["dimensions"] == dimensions and i["threshold"] == threshold
                assert i["alarmActions"] == [notified] and i["okActions"] == [notified]
                assert i["alarmDescription"].startswith(f"[cloudbridge:source={source['name']}]")


# --- queryable after a failover ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", DR_STACKS)
def test_the_dr_catalog_reads_the_replicas(plans, stack):
    plan, d = plans(stack), dr_of(stack)
    databases = [r for r in plan.of_type("aws:glue/catalogDatabase:CatalogDatabase") if plan.region_of(r) == d.region]
    tables = [r for r in plan.of_type("aws:glue/catalogTable:CatalogTable") if plan.region_of(r) == d.region]
    assert sorted(db.inputs["name"] for db in databases) == sorted(d.naming.glue_database(s["name"]) for s in d.sources)
    for source in d.sources:
        replica = d.dr.bucket(source["name"], "raw")
        [database] = [db for db in databases if db.inputs["name"] == d.naming.glue_database(source["name"])]
        assert database.inputs["locationUri"] == f"s3://{replica}/" and database.retain_on_delete is True
        expected = {d.naming.glue_table(m.schema, m.table): m for m in tables_of(source["name"])}
        changes = {t.inputs["name"]: t for t in tables if t.inputs.get("tableType") == "EXTERNAL_TABLE"}
        views = {t.inputs["name"] for t in tables if t.inputs.get("tableType") == "VIRTUAL_VIEW"}
        assert set(changes) >= set(expected)
        for name, meta in expected.items():
            location = f"s3://{replica}/{meta.schema}/{meta.table}/"
            assert changes[name].inputs["storageDescriptor"]["location"] == location
            assert changes[name].inputs["parameters"]["storage.location.template"] == location + "${dt}/"
            assert f"{name}_current" in views
    [workgroup] = [w for w in plan.of_type("aws:athena/workgroup:Workgroup") if plan.region_of(w) == d.region]
    results = workgroup.inputs["configuration"]["resultConfiguration"]
    assert results["outputLocation"] == f"s3://{d.dr.bucket('athena', 'results')}/"
    assert results["encryptionConfiguration"]["kmsKeyArn"] == key_of(plan, d.region)


# --- config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dr", "key", "words"),
    [
        ({"enabled": True}, "cloudbridge:dr", "enabled needs region and slackWebhookSecretArn"),
        ({"enabled": True, "region": "PRIMARY", "slackWebhookSecretArn": "SECRET"}, "cloudbridge:dr.region",
         "is the stack's own region"),
        ({"enabled": True, "region": "eu-north-9", "slackWebhookSecretArn": "SECRET"}, "cloudbridge:dr.region",
         "not an AWS region"),
        ({"enabled": True, "region": "OTHER", "slackWebhookSecretArn": "PRIMARY_SECRET"},
         "cloudbridge:dr.slackWebhookSecretArn", "the DR notifier must read it there"),
        ({"enabled": True, "region": "OTHER", "slackWebhookSecretArn": "SECRET", "latencyAlarmSeconds": 5},
         "cloudbridge:dr.latencyAlarmSeconds", "greater than or equal to 60"),
    ],
)  # fmt: skip
def test_a_wrong_dr_config_is_named(stack_config, dr, key, words):
    from components.config import ConfigError
    from components.stack_config import parse_stack_config

    config = stack_config("prod")
    primary, account = config["aws:region"], config["cloudbridge:account"]["id"]
    other = dr_of("prod").region
    secret = f"arn:aws:secretsmanager:{other}:{account}:secret:cloudbridge/slack-webhook-Ab12Cd"
    values = {"PRIMARY": primary, "OTHER": other, "SECRET": secret, "PRIMARY_SECRET": secret.replace(other, primary)}
    config["cloudbridge:dr"] = {k: values.get(v, v) if isinstance(v, str) else v for k, v in dr.items()}
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("cloudbridge:")}
    with pytest.raises(ConfigError) as raised:
        parse_stack_config("prod", {**raw, "region": primary})
    assert any(k == key and words in m for k, m in raised.value.problems), raised.value.problems


def test_fail_buckets_are_replicated_when_asked_and_rtc_can_be_left_off(stack_config):
    from cloudbridge.plan import evaluate

    config = stack_config("prod")
    config["cloudbridge:dr"] = {**config["cloudbridge:dr"], "replicateFail": True, "replicationTimeControl": False}
    plan = evaluate("prod", config)
    d = dr_of("prod")
    fail = plan.named(f"{d.sources[0]['name']}-fail-replication")
    [rule] = fail.given["rules"]
    assert "replicationTime" not in rule["destination"]
    assert rule["destination"]["metrics"] == {"status": "Enabled"}  # the metrics (and the alarms) stay
    rules = {r["id"]: r for r in plan.named(f"{d.sources[0]['name']}-dr-fail-lifecycle").inputs["rules"]}
    assert rules["expire-objects"]["expiration"]["days"] > 0  # like the primary's quarantine
    policy = plan.named("dr-replication-role-policy").json("policy")
    replica = f"arn:aws:s3:::{d.dr.bucket(d.sources[0]['name'], 'fail')}/x"
    assert decide(policy, {}, "s3:ReplicateObject", replica) == "allow"


# --- the deletion guard -------------------------------------------------------------------------------


def guarded_buckets(plan: Plan) -> list:
    """Buckets whose policy carries the deletion guard."""
    out = []
    for policy in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        if any(s["Sid"].startswith(GUARD_SID_PREFIX) for s in statements):
            out.append(policy)
    return out


@pytest.mark.parametrize("stack", ["preprod", "prod"])
def test_raw_history_and_metadata_deny_deletion_to_all_but_break_glass(plans, stack):
    plan = plans(stack)
    config = read_stack_config(stack)
    account = config["cloudbridge:account"]["id"]
    naming = Naming(stack, account, config["aws:region"])
    guarded = guarded_buckets(plan)
    sources = [s["name"] for s in config["cloudbridge:sources"]]
    replicas = len(sources) * 2 if stack in DR_STACKS else 0
    assert len(guarded) == len(sources) * 2 + replicas  # raw and meta (and their replicas)
    deploy = f"arn:aws:iam::{account}:role/cloudbridge-deploy-{stack}"
    validator = f"arn:aws:iam::{account}:role/{naming.name(sources[0], 'validator')}"
    for policy in guarded:
        document = json.loads(policy.inputs["policy"])
        bucket = next(s["Resource"][0] for s in document["Statement"] if s["Sid"] == "DenyInsecureTransport")
        calls = [(a, bucket) for a in GUARDED_BUCKET_ACTIONS] + [(a, f"{bucket}/x") for a in GUARDED_OBJECT_ACTIONS]
        for who in (deploy, validator, f"arn:aws:iam::{account}:root"):
            for action, resource in calls:
                context = {"aws:PrincipalArn": who, "aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
                assert decide(document, {"AWS": who}, action, resource, context) == "deny", (who, action)
        for action, resource in calls:  # the break-glass role is not denied (its own policy allows it)
            context = {"aws:PrincipalArn": naming.break_glass_role_arn, "aws:SecureTransport": "true",
                       "s3:TlsVersion": "1.3"}  # fmt: skip
            assert decide(document, {"AWS": naming.break_glass_role_arn}, action, resource, context) != "deny"
        # Putting objects (the validator, the replication) and deleting into a delete marker stay allowed.
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:ReplicateObject"):
            context = {"aws:PrincipalArn": validator, "aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
            assert decide(document, {"AWS": validator}, action, f"{bucket}/x", context) != "deny"


def test_dev_carries_no_guard_and_keeps_old_versions_thirty_days(plans):
    plan = plans("dev")
    assert guarded_buckets(plan) == []
    assert plan.outputs["dataProtection"]["deletionGuard"] is False
    raw = plan.named(f"{read_stack_config('dev')['cloudbridge:sources'][0]['name']}-raw-lifecycle")
    rules = {r["id"]: r for r in raw.inputs["rules"]}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 30


@pytest.mark.parametrize("stack", ["preprod", "prod"])
def test_old_versions_are_kept_ninety_days_and_metadata_objects_are_never_deleted(plans, stack):
    plan = plans(stack)
    source = read_stack_config(stack)["cloudbridge:sources"][0]["name"]
    for purpose in ("raw", "meta"):
        rules = {r["id"]: r for r in plan.named(f"{source}-{purpose}-lifecycle").inputs["rules"]}
        assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] >= 90
    objects = plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert objects and all(o.retain_on_delete for o in objects)  # deleting one would delete its versions


@pytest.mark.parametrize("stack", ["preprod", "prod"])
def test_the_guard_is_put_last_and_kept_with_its_bucket(plans, stack):
    plan = plans(stack)
    by_urn = {r.urn: r for r in plan.resources}
    for policy in guarded_buckets(plan):
        before = {by_urn[u].type for u in policy.dependencies if u in by_urn}
        assert {
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketVersioning:BucketVersioning",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        } <= before, policy.name
        assert policy.retain_on_delete is True


def test_a_lifecycle_change_changes_the_guard_so_a_deploy_puts_it_back(stack_config):
    """After the break-glass role lifts the guard for a lifecycle change, the deploy that puts the new
    lifecycle puts the policy too (its guard Sid carries the lifecycle's fingerprint)."""
    from cloudbridge.plan import evaluate

    config = stack_config("preprod")
    before = evaluate("preprod", config)
    config["cloudbridge:dataProtection"] = {"noncurrentVersionDays": 120}
    after = evaluate("preprod", config)
    source = config["cloudbridge:sources"][0]["name"]
    for name in (f"{source}-raw-policy", f"{source}-meta-policy"):
        assert before.named(name).inputs["policy"] != after.named(name).inputs["policy"]
    assert (
        before.named(f"{source}-fail-policy").inputs["policy"] == after.named(f"{source}-fail-policy").inputs["policy"]
    )


def test_the_guard_needs_retained_data(stack_config):
    from components.config import ConfigError
    from components.stack_config import parse_stack_config

    config = stack_config("prod")
    config["cloudbridge:retainData"] = False
    config["cloudbridge:dataProtection"] = {"deletionGuard": True}
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("cloudbridge:")}
    with pytest.raises(ConfigError) as raised:
        parse_stack_config("prod", {**raw, "region": config["aws:region"]})
    assert [k for k, _ in raised.value.problems] == ["cloudbridge:dataProtection.deletionGuard"]


# --- the data-safety stack check (tests/support/stack_checks.py) ------------------------------------------


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ({"cloudbridge:retainData": False}, "turns cloudbridge:retainData off"),
        (
            {"cloudbridge:dataProtection": {"deletionGuard": False}},
            "turns cloudbridge:dataProtection.deletionGuard off",
        ),
    ],
)
def test_the_data_safety_check_fails_a_prod_stack_that_turns_protection_off(stack_config, edit, words):
    from cloudbridge.plan import evaluate
    from tests.support import stack_checks

    config = stack_config("prod")
    config.update(edit)
    problems = stack_checks.data_safety(evaluate("prod", config))
    assert any(words in p for p in problems), problems


def test_the_data_safety_check_passes_the_fixture_stacks(plans):
    from tests.support import stack_checks

    assert all(stack_checks.data_safety(plans(s)) == [] for s in stacks())
