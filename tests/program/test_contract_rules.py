"""The contract check catches a wrong value of each rule class, injected into the real program.

Free strings (a time zone, an instance class), integer sets (alarm periods), rules across
fields (an SQS batch without a batching window) and across resources (an engine too old for
what the S3 target writes). Each test puts the wrong value back into the program itself (not
into a hand-made resource) and expects a finding naming the resource and the argument.
"""

import copy

import pulumi_aws as aws
import pytest

from cloudbridge.contract import aws_contract, documented, rules
from cloudbridge.plan import evaluate, read_stack_config
from components import config as config_models
from components import dms_settings, monitoring
from components.config import ConfigError
from components.stack_config import parse_stack_config


@pytest.fixture(scope="module")
def findings():
    """The findings of dev evaluated once with a wrong value of every rule class put back into
    the program (each test below looks for its own): the program is evaluated once, not per test."""

    class LargerBatches(aws.lambda_.EventSourceMapping):
        def __init__(self, name, opts=None, **kwargs):
            super().__init__(name, opts=opts, **{**kwargs, "batch_size": 20, "maximum_batching_window_in_seconds": 0})

    class Swapped(aws.dms.ReplicationTask):
        def __init__(self, name, opts=None, **kwargs):
            super().__init__(name, opts=opts, **{**kwargs, "source_endpoint_arn": kwargs["target_endpoint_arn"]})

    instance_getattr, above_zero, s3_settings = (
        config_models.Instance.__getattribute__,
        monitoring.above_zero,
        dms_settings.s3_target_settings,
    )
    wrong_instance = {"instance_class": "dms.m5.large", "engine_version": "3.4.6"}

    def instance(self, name):
        return wrong_instance[name] if name in wrong_instance else instance_getattr(self, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dms_settings, "DATE_PARTITION_TIMEZONE", "UTC")  # free string
        patch.setattr(config_models.Instance, "__getattribute__", instance)  # free string; across resources
        patch.setattr(monitoring, "above_zero", lambda *a, **k: {**above_zero(*a, **k), "period": 90})  # integer set
        patch.setattr(aws.lambda_, "EventSourceMapping", LargerBatches)  # across fields
        billing = {"date_partition_enabled": False}  # across fields: date settings without date partitioning
        patch.setattr(
            dms_settings,
            "s3_target_settings",
            lambda source: {**s3_settings(source), **(billing if source.name == "billing" else {})},
        )
        patch.setattr(aws.dms, "ReplicationTask", Swapped)  # across resources
        return aws_contract.check_plan(evaluate("dev")).findings


def _named(findings, resource, argument):
    return [f for f in findings if f.resource == resource and f.argument == argument]


# --- free strings -----------------------------------------------------------------------------


def test_a_time_zone_that_is_not_area_location_is_caught(findings):
    """DMS documents DatePartitionTimezone as Area/Location; plain "UTC" (the first release's) is not."""
    named = _named(findings, "sales-replication-target", "datePartitionTimezone")
    assert named and "Area/Location" in named[0].problem and named[0].value == "UTC"


def test_an_instance_class_dms_does_not_offer_is_caught(findings):
    """dms.m5.large has the config's shape but is not a family DMS supports."""
    named = _named(findings, "billing-replication-instance", "replicationInstanceClass")
    assert named and "c6i" in named[0].problem


# --- integer sets ---------------------------------------------------------------------------------


def test_an_alarm_period_cloudwatch_refuses_is_caught(findings):
    """10, 20, 30 or a multiple of 60: 90 seconds is none of them."""
    periods = [f for f in findings if f.argument == "period"]
    assert periods and {f.value for f in periods} == {90}
    assert "multiple of 60" in periods[0].problem


# --- across fields -----------------------------------------------------------------------------------


def test_an_sqs_batch_above_ten_without_a_batching_window_is_caught(findings):
    named = _named(findings, "sales-validator-events", "maximumBatchingWindowInSeconds")
    assert named and "batchSize 20" in named[0].problem


def test_date_partition_settings_without_date_partitioning_are_caught(findings):
    named = _named(findings, "billing-replication-target", "datePartitionSequence")
    assert named and "datePartitionEnabled" in named[0].problem
    assert not _named(findings, "sales-replication-target", "datePartitionSequence")


# --- across resources ----------------------------------------------------------------------------------


def test_an_engine_too_old_for_the_s3_targets_parquet_op_column_is_caught(findings):
    """The config refuses it; the check would too if a code path bypassed the config."""
    named = _named(findings, "billing-replication-instance", "engineVersion")
    assert named and "3.4.7" in named[0].problem and "billing-replication-target" in named[0].problem


def test_a_replication_wired_to_the_wrong_endpoint_is_caught(findings):
    """A task whose source is the S3 target: the reference and the endpoint's role both say so."""
    named = _named(findings, "billing-replication-task", "sourceEndpointArn")
    assert any("not a source endpoint" in f.problem for f in named), named


# --- the config names the key -------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "words"), [("3.4.6", "below 3.4.7"), ("3.5", "n.n.n")])
def test_an_engine_version_below_what_the_settings_need_is_a_config_error_naming_the_key(version, words):
    config = copy.deepcopy(read_stack_config("dev"))
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("cloudbridge:")}
    raw["region"] = config["aws:region"]
    instance = next(i for i, s in enumerate(raw["sources"]) if s["replication"]["mode"] == "instance")
    raw["sources"][instance]["replication"]["engineVersion"] = version
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", raw)
    key = f"cloudbridge:sources[{instance}].replication.engineVersion"
    assert [(k, m) for k, m in info.value.problems if k == key and words in m], info.value.problems
    raw["sources"][instance]["replication"]["engineVersion"] = "3.5.4"
    assert parse_stack_config("dev", raw)


def test_the_config_and_the_contract_agree_on_the_oldest_engine():
    assert config_models.MIN_DMS_ENGINE_VERSION == documented.INCLUDE_OP_PARQUET_MIN_VERSION


def test_every_rule_names_its_source_and_paths():
    for rule in rules.RULES:
        assert rule.paths and rule.source and rule.kind in ("cross-field", "cross-resource"), rule.name


# --- plan runs the same check -----------------------------------------------------------------------


def test_plan_fails_on_a_value_aws_would_refuse_with_one_line_each(monkeypatch, capsys):
    from cloudbridge import plan_cli

    monkeypatch.setattr(dms_settings, "DATE_PARTITION_TIMEZONE", "UTC")
    assert plan_cli.main(["--stack", "dev"]) == 1
    err = capsys.readouterr().err.splitlines()
    refused = [line for line in err if line.startswith("refused by AWS: dev: S3Endpoint")]
    sources = read_stack_config("dev")["cloudbridge:sources"]
    assert len(refused) == len(sources) and all(
        "datePartitionTimezone" in line and "Area/Location" in line for line in refused
    )
    assert not any("'UTC'" in line for line in err)  # the value itself is not repeated


def test_plan_without_policy_sentry_says_so_in_one_line(monkeypatch, capsys):
    import sys

    from cloudbridge import plan_cli

    monkeypatch.setitem(sys.modules, "policy_sentry", None)  # import fails as if not installed
    assert plan_cli.main(["--stack", "dev"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "policy_sentry" in err[0] and "make setup" in err[0]
