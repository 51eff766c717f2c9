"""Every value the program sends to AWS is one AWS accepts (see tests/support/aws_contract.py).

The checker runs over the real program, per stack; the negative tests put a wrong value
back into the program itself (not into a hand-made resource) and expect the checker to
name the resource and the argument.
"""

import os
from pathlib import Path

import pytest

from cloudbridge.plan import evaluate, stacks
from components import dms_settings
from tests.support import api_model, aws_contract, contracts

COVERAGE_FILE = Path(__file__).with_name("aws_contract_coverage.txt")


def test_every_value_is_one_aws_accepts(plan):
    report = aws_contract.check_plan(plan)
    assert not report.findings, "\n".join(map(str, report.findings))


def test_every_dms_input_is_checked_or_deliberately_unchecked(plans):
    """The coverage of aws:dms/* inputs, over all stacks, is the reviewed file."""
    coverage = set()
    for stack in stacks():
        coverage |= aws_contract.check_plan(plans(stack)).coverage
    report = aws_contract.Report(coverage=coverage)
    unmapped = sorted(f"{c.type} {c.argument}" for c in coverage if c.status == "unmapped")
    assert not unmapped, f"inputs with no API member and no reason: {unmapped}"
    table = report.coverage_table("aws:dms/")
    assert "[checked]" in table and "postgresSettings.pluginName" in table
    if os.environ.get("CLOUDBRIDGE_UPDATE_SNAPSHOTS"):
        COVERAGE_FILE.write_text(table)
    assert COVERAGE_FILE.read_text() == table, (
        f"{COVERAGE_FILE.name} is out of date: review the change, then run CLOUDBRIDGE_UPDATE_SNAPSHOTS=1 make test"
    )


def _findings_with(monkeypatch, target, name, value, stack="dev"):
    monkeypatch.setattr(target, name, value)
    return aws_contract.check_plan(evaluate(stack)).findings


def test_the_first_releases_plugin_spelling_is_caught(monkeypatch):
    findings = _findings_with(monkeypatch, dms_settings, "POSTGRES_PLUGIN", "test_decoding")
    named = [
        f for f in findings if f.resource == "sales-replication-source" and f.argument == "postgresSettings.pluginName"
    ]
    assert named, findings
    assert any("test-decoding" in f.problem for f in named)
    assert {f.value for f in named} == {"test_decoding"}


def test_api_spelling_where_the_provider_wants_its_own_is_caught(monkeypatch):
    original = dms_settings.s3_target_settings

    def api_spelling(source):
        return {**original(source), "encryption_mode": "sse-kms"}

    findings = _findings_with(monkeypatch, dms_settings, "s3_target_settings", api_spelling)
    assert any(f.argument == "encryptionMode" and "SSE_KMS" in f.problem for f in findings), findings


def test_a_misspelt_task_setting_is_caught(monkeypatch):
    original = dms_settings.task_settings

    def misspelt(source):
        settings = original(source)
        settings["FullLoadSettings"]["TargetTablePrepMode"] = "DO_NOTHNG"
        return settings

    findings = _findings_with(monkeypatch, dms_settings, "task_settings", misspelt)
    assert any(f.argument.endswith("FullLoadSettings.TargetTablePrepMode") for f in findings), findings


def test_an_invalid_capacity_is_caught_even_past_the_config(monkeypatch):
    """The config rejects 3 DCU; the checker would too if a code path bypassed it."""
    from components.config import Serverless

    monkeypatch.setattr(Serverless, "__getattribute__", _with_max_capacity(3))
    findings = aws_contract.check_plan(evaluate("dev")).findings
    assert any(f.argument == "computeConfig.maxCapacityUnits" and f.value == 3 for f in findings), findings


@pytest.mark.parametrize(
    ("name", "value", "argument"),
    [
        ("PORT", 5500, "port"),
        ("CONFIG_PARAMETERS", {"require_tls": "true"}, "configParameters:[0].parameterKey"),
        ("LOG_EXPORTS", ("auditlog",), "logExports"),
    ],
)
def test_wrong_warehouse_values_are_caught(monkeypatch, name, value, argument):
    from components import warehouse

    findings = _findings_with(monkeypatch, warehouse, name, value, stack="preprod")
    assert any(f.argument.startswith(argument) for f in findings), findings


def test_an_invalid_rpu_count_is_caught_even_past_the_config(monkeypatch):
    """The config rejects 12 RPUs; the checker would too if a code path bypassed it."""
    from components.config import Redshift

    def twelve(self, name):
        return 12 if name == "base_capacity" else object.__getattribute__(self, name)

    monkeypatch.setattr(Redshift, "__getattribute__", twelve)
    findings = aws_contract.check_plan(evaluate("preprod")).findings
    assert any(f.argument == "baseCapacity" and f.value == 12 for f in findings), findings


def _with_max_capacity(value):
    def getter(self, name):
        if name == "max_capacity_units":
            return value
        return object.__getattribute__(self, name)

    return getter


@pytest.mark.parametrize("resource_type", sorted(contracts.CONTRACTS))
def test_value_spellings_agree_with_both_authorities(resource_type):
    """Every provider spelling in the table is one the provider documents, and what it
    becomes is one the API model lists."""
    contract = contracts.CONTRACTS[resource_type]
    model = api_model.api_model(contract.service)
    root = model.shape_for(contract.shape)
    for path, table in contract.translate.items():
        documented = aws_contract.provider_valid_values(contract.resource_class, path)
        assert documented and set(table) <= documented[1], (path, documented)
        member = api_model.member(root, path) or next(
            api_model.member(api_model.member(root, s)[1], path) for s in contract.search
        )
        assert set(table.values()) <= set(member[1].enum), (path, member[1].enum)


def test_every_resource_type_either_program_declares_has_a_contract(plans):
    from cloudbridge.plan import BOOTSTRAP_ROOT

    declared = {r.type for stack in stacks() for r in plans(stack).resources if r.custom and not r.read}
    declared |= {r.type for r in evaluate("prod", program=BOOTSTRAP_ROOT).resources if r.custom}
    not_api_calls = {"pulumi:providers:aws"}  # provider configuration, not a request to AWS
    assert sorted(declared - set(contracts.CONTRACTS) - not_api_calls) == []


def test_bad_security_group_rules_are_caught():
    rules = [
        {"protocol": "tcpp", "fromPort": 443, "toPort": 70000},
        {"protocol": "tcp", "fromPort": 5432, "toPort": 5432},
    ]
    problems = dict(contracts._sg_rules(rules))
    assert "[0].protocol" in problems and "[0].toPort" in problems and problems["[1]"] == "a rule with no destination"
