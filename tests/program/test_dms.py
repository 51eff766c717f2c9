"""DMS endpoints, replication, mappings and the validator wiring, as declared."""

import json

import pytest

from cloudbridge.plan import read_stack_config
from functions.common import dms, layout
from functions.common.runtime import ValidatorEnv

S3_ENDPOINT = "aws:dms/s3Endpoint:S3Endpoint"


def sources(stack):
    return {s["name"]: s for s in read_stack_config(stack)["cloudbridge:sources"]}


def one(plan, name, type_):
    return plan.named(name, type_)


def replication_documents(plan, name):
    """(table mappings, settings) of a source, whichever replication mode it uses."""
    for type_, settings_key in [
        ("aws:dms/replicationConfig:ReplicationConfig", "replicationSettings"),
        ("aws:dms/replicationTask:ReplicationTask", "replicationTaskSettings"),
    ]:
        found = [r for r in plan.of_type(type_) if r.name.startswith(f"{name}-replication-")]
        if found:
            return found[0], found[0].json("tableMappings"), found[0].json(settings_key)
    raise AssertionError(f"no replication for {name}")


def test_s3_target_writes_parquet_as_documented(plan, stack):
    key_arn = plan.named("key").inputs["arn"]
    for name, source in sources(stack).items():
        target = one(plan, f"{name}-replication-target", S3_ENDPOINT).inputs
        assert target["dataFormat"] == "parquet"
        assert target["parquetVersion"] == "parquet-2-0"
        assert target["enableStatistics"] is True
        assert target["includeOpForFullLoad"] is True
        assert target["timestampColumnName"] == dms.TIMESTAMP_COLUMN
        assert target["encryptionMode"] == "SSE_KMS" and target["serverSideEncryptionKmsKeyId"] == key_arn
        assert target["datePartitionEnabled"] is True
        sequence = layout.by_name(source.get("rawHistoryPartition", "day")).dms_sequence  # YYYYMMDD[HH]
        assert target["datePartitionSequence"] == sequence and target["datePartitionDelimiter"] == "SLASH"
        # CSV-only features that would break parquet output are off.
        assert not target.get("cdcPath") and not target.get("preserveTransactions")
        assert (
            target["bucketName"]
            == f"cb-{stack}-{name}-landing-{plan.outputs['alertsTopicArn'].split(':')[4]}-eu-west-2"
        )


def test_source_endpoint_uses_secret_and_verifies_the_server(plan, stack):
    for name, source in sources(stack).items():
        endpoint = one(plan, f"{name}-replication-source", "aws:dms/endpoint:Endpoint").inputs
        assert endpoint["engineName"] == source["engine"]
        # RDS hosts (a provisioned database is one): verify-full against the CA the stack names.
        assert source.get("host", ".rds.amazonaws.com").endswith(".rds.amazonaws.com")
        assert endpoint["sslMode"] == "verify-full" and endpoint["certificateArn"] == source["caCertificateArn"]
        # A provisioned database's DMS user secret is the program's own (tests/program/test_database.py).
        secret = source.get("credentialsSecretArn") or plan.named(f"{name}-database-dms-user").inputs["arn"]
        assert endpoint["secretsManagerArn"] == secret
        role = one(plan, f"{name}-replication-secrets-role", "aws:iam/role:Role")
        assert endpoint["secretsManagerAccessRoleArn"] == role.inputs["arn"]
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "dms.eu-west-2.amazonaws.com"}
        if source["engine"] == "postgres":
            pg = endpoint["postgresSettings"]
            assert pg["failTasksOnLobTruncation"] is True and pg["heartbeatEnable"] is True
        else:
            assert "postgresSettings" not in endpoint


def test_table_mappings_are_generated_from_config(plan, stack):
    for name, source in sources(stack).items():
        _, mappings, _ = replication_documents(plan, name)
        rules = mappings["rules"]
        ids = [r["rule-id"] for r in rules]
        assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
        assert len({r["rule-name"] for r in rules}) == len(rules)
        selections = [r for r in rules if r["rule-type"] == "selection"]
        assert [
            f"{r['object-locator']['schema-name']}.{r['object-locator']['table-name']}" for r in selections
        ] == source["tables"]
        assert all(r["rule-action"] == "include" for r in selections)
        # Ordering: $AR_H_CHANGE_SEQ ($AR_H_STREAM_POSITION is empty during full load and
        # is not comparable across a task's tables).
        [sequence] = [r for r in rules if r["rule-action"] == "add-column"]
        assert sequence["value"] == dms.CHANGE_SEQUENCE_COLUMN == "dms_change_seq"
        assert sequence["expression"] == "$AR_H_CHANGE_SEQ"
        assert sequence["object-locator"] == {"schema-name": "%", "table-name": "%"}
        assert sequence["data-type"] == {"type": "string", "length": 50}
        # TIME columns reach the files, metadata and Glue as text.
        [time_rule] = [r for r in rules if r["rule-action"] == "change-data-type"]
        assert time_rule["rule-target"] == "column" and time_rule["object-locator"]["data-type"] == "time"
        assert time_rule["data-type"]["type"] == "string"


def test_timestamp_unit_reaches_the_s3_settings(plan, stack):
    for name, source in sources(stack).items():
        target = one(plan, f"{name}-replication-target", S3_ENDPOINT).inputs
        assert target["parquetTimestampInMillisecond"] is (source.get("timestampUnit", "ms") == "ms")


def test_microsecond_source_needs_microsecond_metadata(stack_config, tmp_path, monkeypatch):
    """The metadata must carry the unit DMS will write; otherwise every file would fail."""
    from tests.program.test_config import fails

    config = stack_config("dev")
    config["cloudbridge:sources"][0]["timestampUnit"] = "us"
    error = fails("dev", config)
    [(key, message)] = [p for p in error.problems if "timestampUnit" in p[0]][:1]
    assert key == "cloudbridge:sources[0].timestampUnit" and "metadata extract" in message


def test_task_settings_keep_data_safe(plan, stack):
    for name in sources(stack):
        replication, _, settings = replication_documents(plan, name)
        target = settings["TargetMetadata"]
        assert target["LimitedSizeLobMode"] is True and target["FullLobMode"] is False
        assert target["BatchApplyEnabled"] is False
        assert settings["Logging"]["EnableLogging"] is True
        assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
        assert settings["ChangeProcessingDdlHandlingPolicy"]["HandleSourceTableTruncated"] is False
        kind = replication.inputs.get("replicationType") or replication.inputs.get("migrationType")
        assert kind == "full-load-and-cdc"


def test_replication_mode_follows_config(plan, stack):
    for name, source in sources(stack).items():
        mode = source["replication"]
        if mode["mode"] == "serverless":
            config = one(plan, f"{name}-replication-config", "aws:dms/replicationConfig:ReplicationConfig").inputs
            assert config["computeConfig"]["maxCapacityUnits"] == mode["maxCapacityUnits"]
            assert config["computeConfig"]["replicationSubnetGroupId"] == f"cb-{stack}-dms"
            assert config["resourceIdentifier"] == f"cb-{stack}-{name}"
            logs = one(plan, f"{name}-replication-logs", "aws:cloudwatch/logGroup:LogGroup")
            assert logs.inputs["name"] == f"dms-serverless-replication-cb-{stack}-{name}"
        else:
            instance = one(
                plan, f"{name}-replication-instance", "aws:dms/replicationInstance:ReplicationInstance"
            ).inputs
            assert instance["replicationInstanceClass"] == mode["instanceClass"]
            assert instance["multiAz"] is mode.get("multiAz", False)
            assert instance["publiclyAccessible"] is False
            logs = one(plan, f"{name}-replication-logs", "aws:cloudwatch/logGroup:LogGroup")
            assert logs.inputs["name"] == f"dms-tasks-cb-{stack}-{name}"


def test_dms_service_roles_have_exact_names_and_gate_the_subnet_group(plan):
    vpc_role = one(plan, "dms-vpc-role", "aws:iam/role:Role")
    assert vpc_role.inputs["name"] == "dms-vpc-role"
    assert one(plan, "dms-cloudwatch-logs-role", "aws:iam/role:Role").inputs["name"] == "dms-cloudwatch-logs-role"
    attachment = one(plan, "dms-vpc-role-policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"].endswith("/AmazonDMSVPCManagementRole")
    subnet_group = one(plan, "dms-subnets", "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup")
    assert attachment.urn in subnet_group.dependencies
    assert len(subnet_group.inputs["subnetIds"]) >= 2


def test_dms_service_roles_can_be_left_to_the_account(stack_config):
    from cloudbridge.plan import evaluate

    config = stack_config("dev")
    config["cloudbridge:account"]["manageDmsServiceRoles"] = False
    plan = evaluate("dev", config)
    names = {r.inputs.get("name") for r in plan.of_type("aws:iam/role:Role")}
    assert not {"dms-vpc-role", "dms-cloudwatch-logs-role"} & names
    assert plan.of_type("aws:dms/replicationSubnetGroup:ReplicationSubnetGroup")


def test_landing_events_reach_the_validator_through_a_queue_with_a_dlq(plan, stack):
    for name in sources(stack):
        queue = one(plan, f"{name}-validator-queue", "aws:sqs/queue:Queue")
        dlq = one(plan, f"{name}-validator-dlq", "aws:sqs/queue:Queue")
        redrive = json.loads(queue.inputs["redrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq.inputs["arn"] and 1 <= redrive["maxReceiveCount"] <= 10
        function = one(plan, f"{name}-validator", "aws:lambda/function:Function")
        assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * function.inputs["timeout"]

        notification = one(plan, f"{name}-landing-events", "aws:s3/bucketNotification:BucketNotification")
        assert notification.inputs["queues"] == [{"queueArn": queue.inputs["arn"], "events": ["s3:ObjectCreated:*"]}]
        policy = one(plan, f"{name}-validator-queue-policy", "aws:sqs/queuePolicy:QueuePolicy")
        assert policy.urn in notification.dependencies

        mapping = one(plan, f"{name}-validator-events", "aws:lambda/eventSourceMapping:EventSourceMapping").inputs
        assert mapping["eventSourceArn"] == queue.inputs["arn"]
        assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["functionName"] == function.inputs["arn"]

        env = function.inputs["environment"]["variables"]
        assert env["RAW_HISTORY_BUCKET"] == f"cb-{stack}-{name}-raw-" + env["RAW_HISTORY_BUCKET"].split("-raw-")[1]
        assert {"FAIL_BUCKET", "METADATA_BUCKET", "ALERTS_TOPIC_ARN"} <= set(env)
        assert env["VALIDATION_MODE"] == sources(stack)[name].get("validation", "statistics")
        assert function.inputs["handler"] == "functions.validator.handler.handler"
        assert function.inputs["layers"] == [read_stack_config(stack)["cloudbridge:lambda"]["validatorLayerArn"]]


def test_alerts_reach_slack_through_a_notifier_with_a_dlq(plan):
    topic = plan.named("alerts-topic", "aws:sns/topic:Topic")
    subscription = plan.named("slack-notifier-subscription").inputs
    function = plan.named("slack-notifier", "aws:lambda/function:Function").inputs
    dlq = plan.named("notifier-dlq", "aws:sqs/queue:Queue").inputs
    assert subscription["topic"] == topic.inputs["arn"] and subscription["protocol"] == "lambda"
    assert subscription["endpoint"] == function["arn"]  # never the webhook URL
    assert json.loads(subscription["redrivePolicy"])["deadLetterTargetArn"] == dlq["arn"]
    assert function["deadLetterConfig"]["targetArn"] == dlq["arn"]


def test_glue_database_per_source(plan, stack):
    databases = {r.inputs["name"] for r in plan.of_type("aws:glue/catalogDatabase:CatalogDatabase")}
    assert databases == {f"cb_{stack}_{name}" for name in sources(stack)}


def test_validation_mode_reaches_the_validator(stack_config):
    from cloudbridge.plan import evaluate
    from functions.validator.checks import MODES

    config = stack_config("dev")
    config["cloudbridge:sources"][0]["validation"] = "full"
    plan = evaluate("dev", config)
    env = plan.named("sales-validator", "aws:lambda/function:Function").inputs["environment"]["variables"]
    assert env["VALIDATION_MODE"] == "full" and env["VALIDATION_MODE"] in MODES


def _pem(tmp_path):
    """A self-signed CA certificate, as a committed bundle would hold."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_committed_ca_bundle_becomes_a_dms_certificate(stack_config, tmp_path, monkeypatch):
    import shutil

    from cloudbridge.plan import evaluate
    from components.workspace import metadata_root

    workspace = tmp_path / "stacks"  # the bundle is a file of the workspace, like the stack file
    shutil.copytree(metadata_root(), workspace / "metadata")
    (workspace / "certs").mkdir()
    (workspace / "certs" / "rds-ca.pem").write_text(_pem(tmp_path))
    config = stack_config("dev")
    monkeypatch.setenv("CLOUDBRIDGE_STACKS_DIR", str(workspace))
    source = config["cloudbridge:sources"][1]
    del source["caCertificateArn"]
    source["caBundleFile"] = "certs/rds-ca.pem"
    plan = evaluate("dev", config)
    [certificate] = plan.of_type("aws:dms/certificate:Certificate")
    pem = certificate.given["certificatePem"]
    pem = pem.get("value", pem) if isinstance(pem, dict) else pem  # the provider marks it secret
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    endpoint = plan.named("billing-replication-source", "aws:dms/endpoint:Endpoint").given
    assert endpoint["sslMode"] == "verify-full" and endpoint["certificateArn"] == certificate.inputs["certificateArn"]


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda s: s.pop("caCertificateArn"), "cloudbridge:sources[0]", "needs the CA"),
        (
            lambda s: s.update(caCertificateArn=None, caBundleFile="certs/none.pem"),
            "cloudbridge:sources[0].caBundleFile",
            "no such file",
        ),
        (lambda s: s.update(caBundleFile="../../etc/passwd"), "cloudbridge:sources[0]", "not both"),
        (lambda s: s.pop("sourceCidr"), "cloudbridge:sources[0]", "sourceCidr or sourceSecurityGroupId"),
        (lambda s: s.update(sourceSecurityGroupId="sg-0a1b2c3d4e5f60718"), "cloudbridge:sources[0]", "exactly one"),
        (lambda s: s.update(sourceCidr="0.0.0.0/0"), "cloudbridge:sources[0].sourceCidr", "pattern"),
    ],
)
def test_network_and_tls_settings_are_validated(stack_config, change, key, words):
    from tests.program.test_config import fails

    config = stack_config("dev")
    source = config["cloudbridge:sources"][0]
    change(source)
    for k in [k for k, v in source.items() if v is None]:
        del source[k]
    error = fails("dev", config)
    assert any(k == key and words in m for k, m in error.problems), error.problems


def test_dms_reaches_only_the_source_and_the_endpoints(plan, stack):
    for name, source in sources(stack).items():
        group = plan.named(f"{name}-replication-sg", "aws:ec2/securityGroup:SecurityGroup").given
        to_source = [r for r in group["egress"] if r["fromPort"] == source["port"]]
        if "provision" in source:  # the database's own group (tests/program/test_database.py)
            assert [r.get("securityGroups") for r in to_source] == [[f"{name}-database-sg-id"]]
            continue
        assert [r.get("cidrBlocks") for r in to_source] == [[source["sourceCidr"]]]
        assert all("0.0.0.0/0" not in r.get("cidrBlocks", []) for r in group["egress"])


class _Recording(dict):
    """os.environ stand-in that remembers which names were read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_the_lambda_environment_is_exactly_what_the_handlers_read(plans, monkeypatch):
    """The runtime contract between program and functions: no variable set that nothing
    reads, none read that the program does not set (optional ones excepted)."""
    import os

    from functions.validator import handler as validator

    plan = plans("dev")
    env = plan.named("sales-validator", "aws:lambda/function:Function").inputs["environment"]["variables"]
    recording = _Recording(env)
    monkeypatch.setattr(os, "environ", recording)
    validator.Settings.from_env()
    optional = {ValidatorEnv.BUCKET_FOLDER}
    assert set(env) == recording.read - optional

    notifier_env = plan.named("slack-notifier", "aws:lambda/function:Function").inputs["environment"]["variables"]
    import functions.slack_alerts.handler as notifier

    recording = _Recording(notifier_env)
    monkeypatch.setattr(notifier.os, "environ", recording)
    monkeypatch.setattr(notifier, "Notifier", lambda *args, **kwargs: type("N", (), {"handle": lambda self, e: {}})())
    monkeypatch.setattr(notifier, "_notifier", None)
    monkeypatch.setattr(notifier.boto3, "client", lambda *a, **k: None)
    notifier.handler({"Records": []}, None)
    assert set(notifier_env) == recording.read
