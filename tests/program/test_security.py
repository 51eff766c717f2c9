"""Security by default: encryption, TLS-only, no public access, least-privilege IAM."""

import json

import pytest

from tests.support.policies import (
    POLICY_INPUTS,
    documents,
    least_privilege_problems,
    parliament_problems,
    policy_problems,
)

BUCKET = "aws:s3/bucket:Bucket"


def test_every_policy_document_is_least_privilege(plan):
    found = list(documents(plan))
    assert {r.type for r, _ in found} == set(POLICY_INPUTS) - {"aws:iam/policy:Policy"}
    assert least_privilege_problems(plan) == []


@pytest.mark.parametrize(
    "type_,statement,expected",
    [
        (
            "aws:iam/rolePolicy:RolePolicy",
            {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"},
            "wildcard action",
        ),
        (
            "aws:iam/rolePolicy:RolePolicy",
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"]},
            "wildcard action",
        ),
        ("aws:iam/rolePolicy:RolePolicy", {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}, "unscoped"),
        (  # an action IAM authorises only on "*" still needs a condition narrowing it
            "aws:iam/rolePolicy:RolePolicy",
            {"Effect": "Allow", "Action": ["redshift-data:DescribeStatement"], "Resource": "*"},
            "unscoped",
        ),
        (  # ...and a condition does not excuse "*" for an action that has resource-level permissions
            "aws:iam/rolePolicy:RolePolicy",
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*", "Condition": {"Bool": {"x": "true"}}},
            "unscoped",
        ),
        (
            "aws:iam/rolePolicy:RolePolicy",
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::*/*"},
            "unscoped",
        ),
        (
            "aws:sqs/queuePolicy:QueuePolicy",
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": ["sqs:SendMessage"],
                "Resource": ["arn:aws:sqs:eu-west-2:111111111111:q"],
            },
            "confused deputy",
        ),
        (
            "aws:s3/bucketPolicy:BucketPolicy",
            {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]},
            "anonymous",
        ),
    ],
)
def test_the_policy_check_catches_broad_grants(type_, statement, expected):
    problems = policy_problems(type_, {"Statement": [statement]})
    assert any(expected in p for p in problems), problems


def buckets(plan):
    return {r.inputs["bucket"]: r for r in plan.of_type(BUCKET)}


def sibling(plan, bucket, type_):
    """The per-bucket resource of ``type_`` declared by the same SecureBucket."""
    found = [r for r in plan.of_type(type_) if r.parent == bucket.parent]
    assert len(found) == 1, (bucket.name, type_)
    return found[0]


def keys(plan):
    """The stack's key in each region it deploys to (the platform's; the DR region's)."""
    return {plan.region_of(k): k.inputs["arn"] for k in plan.of_type("aws:kms/key:Key")}


def test_buckets_are_kms_encrypted_with_the_platform_key(plan):
    key = plan.named("key")
    assert keys(plan)[plan.home_region] == key.inputs["arn"]
    for bucket in buckets(plan).values():
        sse = sibling(
            plan, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        rule = sse.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": keys(plan)[plan.region_of(sse)],
        }
        assert rule["bucketKeyEnabled"] is True


def test_buckets_block_public_access_and_deny_plain_http(plan):
    for name, bucket in buckets(plan).items():
        block = sibling(plan, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(
            block[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        policy = sibling(plan, bucket, "aws:s3/bucketPolicy:BucketPolicy")
        statements = json.loads(policy.inputs["policy"])["Statement"]
        tls = [s for s in statements if s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
        assert len(tls) == 1 and tls[0]["Effect"] == "Deny" and tls[0]["Action"] == ["s3:*"]
        assert sorted(tls[0]["Resource"]) == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        ownership = sibling(plan, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        # The policy is put after the public access block, never racing it.
        assert (
            sibling(plan, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").urn in policy.dependencies
        )


def test_landing_is_unversioned_and_fail_expires(plan):
    for name, bucket in buckets(plan).items():
        versioning = [r for r in plan.of_type("aws:s3/bucketVersioning:BucketVersioning") if r.parent == bucket.parent]
        lifecycle = sibling(plan, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
        assert "abort-incomplete-multipart-uploads" in rules
        if "-landing-" in name:
            assert versioning == [], "DMS target buckets must not be versioned"
        elif "-athena-results-" in name or "-dr-reports-" in name:
            assert versioning == [], "query results and Batch Replication reports are disposable"
        else:
            assert versioning and versioning[0].inputs["versioningConfiguration"]["status"] == "Enabled"
        if "-fail-" in name or "-athena-results-" in name or "-dr-reports-" in name:
            assert rules["expire-objects"]["expiration"]["days"] > 0
        else:
            assert "expire-objects" not in rules


def test_queues_topics_and_logs_are_encrypted(plan):
    for type_, attribute in [
        ("aws:sqs/queue:Queue", "kmsMasterKeyId"),
        ("aws:sns/topic:Topic", "kmsMasterKeyId"),
        ("aws:cloudwatch/logGroup:LogGroup", "kmsKeyId"),
    ]:
        resources = plan.of_type(type_)
        assert resources
        for r in resources:
            assert r.inputs[attribute] == keys(plan)[plan.region_of(r)], r.name


def test_log_groups_have_retention(plan, stack):
    from cloudbridge.plan import read_stack_config

    days = read_stack_config(stack)["cloudbridge:lambda"]["logRetentionDays"]
    for group in plan.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["retentionInDays"] == days, group.name


def test_kms_key_rotates(plan):
    assert plan.named("key").inputs["enableKeyRotation"] is True


def test_no_secret_values_in_state(plan, stack):
    """Credentials are referenced by ARN only: no password or user name anywhere."""
    for endpoint in plan.of_type("aws:dms/endpoint:Endpoint"):
        assert not {"password", "username", "serverName", "port"} & set(endpoint.inputs)
        assert endpoint.inputs["secretsManagerArn"].startswith("arn:aws:secretsmanager:")
    # Redshift's admin password is generated and kept by Secrets Manager: only the switch
    # that says so and the key that encrypts the secret may name a password.
    password_inputs = {"manageAdminPassword", "adminPasswordSecretKmsKeyId", "adminPasswordSecretArn"}
    # So is a provisioned database's master password (RDS keeps it in Secrets Manager).
    password_inputs |= {"manageMasterUserPassword", "masterUserSecretKmsKeyId", "masterUserSecrets"}
    for instance in plan.of_type("aws:rds/instance:Instance"):
        assert instance.inputs["manageMasterUserPassword"] is True
        assert not {"password", "passwordWo"} & set(instance.inputs)
    for namespace in plan.of_type("aws:redshiftserverless/namespace:Namespace"):
        assert namespace.inputs["manageAdminPassword"] is True
        assert not {"adminUserPassword", "adminUserPasswordWo"} & set(namespace.inputs)
    inputs = [{k: v for k, v in r.inputs.items() if k not in password_inputs} for r in plan.resources]
    text = json.dumps(inputs, default=str).lower()
    assert "password" not in text and "hooks.slack.com" not in text


def test_lambda_functions_reference_secrets_by_arn(plan):
    notifier = plan.named("slack-notifier", "aws:lambda/function:Function")
    variables = notifier.inputs["environment"]["variables"]
    assert variables["SLACK_WEBHOOK_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
    assert set(variables) == {"SLACK_WEBHOOK_SECRET_ARN", "CLOUDBRIDGE_ENVIRONMENT", "CLOUDBRIDGE_ACCOUNT_ID"}


def test_alerts_topic_allows_exactly_alarms_and_events(plan):
    policy = json.loads(plan.named("alerts-topic-policy").inputs["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert [sorted(s["Principal"]["Service"]) for s in allows] == [["cloudwatch.amazonaws.com", "events.amazonaws.com"]]
    assert allows[0]["Action"] == ["sns:Publish"]


# --- the account key's policy, evaluated ------------------------------------------------


def _key_policy(plan):
    return json.loads(plan.named("key", "aws:kms/key:Key").given["policy"])


def test_the_key_policy_allows_each_principal_what_it_needs_and_no_more(plan):
    from tests.support.iam_eval import decide

    policy = _key_policy(plan)
    account = plan.named("key", "aws:kms/key:Key").inputs["arn"].split(":")[4]
    key = f"arn:aws:kms:eu-west-2:{account}:key/x"
    logs = {"Service": "logs.eu-west-2.amazonaws.com"}
    group = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-2:{account}:log-group:/aws/lambda/x"}
    same_account = {"aws:SourceAccount": account}
    # CloudWatch Logs: DescribeKey (no encryption context) and encryption of this account's groups.
    assert decide(policy, logs, "kms:DescribeKey", key, same_account) == "allow"
    assert decide(policy, logs, "kms:DescribeKey", key, {"aws:SourceAccount": "999999999999"}) == "implicit"
    assert decide(policy, logs, "kms:GenerateDataKey", key, group) == "allow"
    other = {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-2:999999999999:log-group:x"}
    assert decide(policy, logs, "kms:GenerateDataKey", key, other) == "implicit"
    # Services delivering encrypted messages, for this account only; nothing administrative.
    for service in ("sns.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com", "cloudwatch.amazonaws.com"):
        who = {"Service": service}
        assert decide(policy, who, "kms:GenerateDataKey", key, same_account) == "allow", service
        assert decide(policy, who, "kms:GenerateDataKey", key, {"aws:SourceAccount": "999999999999"}) == "implicit"
        assert decide(policy, who, "kms:ScheduleKeyDeletion", key, same_account) == "implicit"
    # The account administers the key through IAM; nobody else does.
    root = {"AWS": f"arn:aws:iam::{account}:root"}
    assert decide(policy, root, "kms:ScheduleKeyDeletion", key) == "allow"
    assert decide(policy, {"AWS": "arn:aws:iam::999999999999:root"}, "kms:Decrypt", key) == "implicit"


def test_the_evaluator_is_not_fooled_by_string_presence():
    from tests.support.iam_eval import decide

    never = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
             "Action": ["kms:DescribeKey"], "Resource": "*",
             "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:*"}}}]}  # fmt: skip
    assert decide(never, {"Service": "logs.amazonaws.com"}, "kms:DescribeKey", "k", {}) == "implicit"


def test_every_queue_and_topic_refuses_plain_http_for_every_action(plan):
    from tests.support.iam_eval import decide

    queues = {r.inputs["url"]: r for r in plan.of_type("aws:sqs/queue:Queue")}
    policies = {
        r.given["queueUrl"]: json.loads(r.given["policy"]) for r in plan.of_type("aws:sqs/queuePolicy:QueuePolicy")
    }
    assert set(policies) == set(queues), "every queue, dead-letter queues included, has a policy"
    anyone = {"AWS": "arn:aws:iam::111111111111:root"}
    for url, policy in policies.items():
        arn = queues[url].inputs["arn"]
        for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"):
            assert decide(policy, anyone, action, arn, {"aws:SecureTransport": "false"}) == "deny", (url, action)
    for topic_policy in plan.of_type("aws:sns/topicPolicy:TopicPolicy"):
        policy, arn = json.loads(topic_policy.given["policy"]), topic_policy.given["arn"]
        for action in ("sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"):
            assert decide(policy, anyone, action, arn, {"aws:SecureTransport": "false"}) == "deny", action


# --- parliament over every document ------------------------------------------------------


def test_parliament_finds_nothing_unexplained(plan):
    assert parliament_problems(plan) == []


def test_parliament_catches_a_misspelt_action():
    from parliament import analyze_policy_string

    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"}],
    }
    assert {f.issue for f in analyze_policy_string(json.dumps(bad)).findings} & {"UNKNOWN_ACTION"}
