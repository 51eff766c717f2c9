"""Invalid stack config fails before any resource is declared, naming file and key."""

import pytest

from cloudbridge.plan import Plan, evaluate, read_stack_config, stacks
from components.config import ConfigError
from components.stack_config import parse_stack_config


def raw(config):
    """A stack file's config as ``parse_stack_config`` takes it."""
    out = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("cloudbridge:")}
    if "aws:region" in config:
        out["region"] = config["aws:region"]
    return out


def fails(stack, config):
    """Evaluate the program; return the error after checking nothing was declared."""
    plan = Plan(stack)
    with pytest.raises(ConfigError) as info:
        evaluate(stack, config, plan=plan)
    assert [r for r in plan.resources if r.custom] == [], "resources declared before the config error"
    return info.value


@pytest.mark.parametrize("stack", stacks())
def test_stack_files_are_valid(stack, stack_config):
    config = parse_stack_config(stack, raw(stack_config(stack)))
    assert config.environment == stack and config.sources


def edit(path, value):
    """An edit of the dev config: set (or, with ..., delete) the value at ``path``."""

    def apply(config):
        *parents, last = path
        node = config
        for part in parents:
            node = node[part]
        if value is ...:
            del node[last]
        else:
            node[last] = value

    return apply


CASES = [
    # (what, edit, key the error must name, words the message must contain)
    ("missing key", edit(("cloudbridge:network",), ...), "cloudbridge:network", "required"),
    (
        "missing nested key",
        edit(("cloudbridge:sources", 0, "database"), ...),
        "cloudbridge:sources[0].database",
        "required",
    ),
    ("missing region", edit(("aws:region",), ...), "aws:region", "required"),
    ("wrong type", edit(("cloudbridge:sources", 0, "port"), "5432"), "cloudbridge:sources[0].port", "integer"),
    ("wrong type (bool)", edit(("cloudbridge:sources", 1, "cdc"), "yes"), "cloudbridge:sources[1].cdc", "boolean"),
    ("unknown engine", edit(("cloudbridge:sources", 1, "engine"), "db2"), "cloudbridge:sources[1].engine", "postgres"),
    (
        "bad secret ARN",
        edit(("cloudbridge:sources", 0, "credentialsSecretArn"), "sales-password"),
        "cloudbridge:sources[0].credentialsSecretArn",
        "secret ARN",
    ),
    (
        "a deploy role in the stack (now the workflow's)",
        edit(("cloudbridge:account", "deployRoleArn"), "arn:aws:iam::111111111111:role/cloudbridge-deploy"),
        "cloudbridge:account",
        "AWS_DEPLOY_ROLE_ARN",
    ),
    (
        "bad webhook secret ARN",
        edit(("cloudbridge:alerts", "slackWebhookSecretArn"), "https://hooks.example/T000"),
        "cloudbridge:alerts.slackWebhookSecretArn",
        "secret ARN",
    ),
    (
        "one subnet",
        edit(("cloudbridge:network", "subnetIds"), ["subnet-0a1b2c3d4e5f60001"]),
        "cloudbridge:network.subnetIds",
        "two",
    ),
    (
        "same subnet twice",
        edit(("cloudbridge:network", "subnetIds"), ["subnet-0a1b2c3d4e5f60001"] * 2),
        "cloudbridge:network.subnetIds",
        "two",
    ),
    (
        "bad table pattern",
        edit(("cloudbridge:sources", 0, "tables"), ["orders"]),
        "cloudbridge:sources[0].tables",
        "schema.table",
    ),
    ("no tables", edit(("cloudbridge:sources", 0, "tables"), []), "cloudbridge:sources[0].tables", "at least 1"),
    (
        "unknown replication mode",
        edit(("cloudbridge:sources", 0, "replication"), {"mode": "cluster"}),
        "cloudbridge:sources[0].replication",
        "serverless",
    ),
    (
        "capacity out of range",
        edit(("cloudbridge:sources", 0, "replication", "maxCapacityUnits"), 500),
        "cloudbridge:sources[0].replication.maxCapacityUnits",
        "384",
    ),
    (
        "capacity DMS Serverless does not offer",
        edit(("cloudbridge:sources", 0, "replication", "maxCapacityUnits"), 3),
        "cloudbridge:sources[0].replication.maxCapacityUnits",
        "1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384",
    ),
    (
        "misspelt key",
        edit(("cloudbridge:sources", 0, "tabels"), ["public.x"]),
        "cloudbridge:sources[0].tabels",
        "unknown key",
    ),
    (
        "bad source name",
        edit(("cloudbridge:sources", 0, "name"), "Sales_DB"),
        "cloudbridge:sources[0].name",
        "lower-case",
    ),
    (
        "secret in another region",
        edit(
            ("cloudbridge:sources", 0, "credentialsSecretArn"),
            "arn:aws:secretsmanager:us-east-1:111111111111:secret:x-AbCdEf",
        ),
        "cloudbridge:sources[0].credentialsSecretArn",
        "us-east-1",
    ),
    ("bad account id", edit(("cloudbridge:account", "id"), "1111"), "cloudbridge:account.id", "pattern"),
]


@pytest.mark.parametrize("what,change,key,words", CASES, ids=[c[0] for c in CASES])
def test_invalid_config_is_rejected_naming_file_and_key(what, change, key, words, stack_config):
    config = stack_config("dev")
    change(config)
    error = fails("dev", config)
    assert "Pulumi.dev.yaml" in str(error)
    matching = [message for k, message in error.problems if k == key]
    assert matching, f"no problem reported for {key}: {error.problems}"
    assert any(words.lower() in m.lower() for m in matching), matching


def test_duplicate_source_names(stack_config):
    config = stack_config("dev")
    config["cloudbridge:sources"][1]["name"] = "sales"
    error = fails("dev", config)
    assert any(k == "cloudbridge:sources" and "positions [1]" in m for k, m in error.problems), error.problems


def test_unknown_top_level_key_is_named(stack_config):
    config = stack_config("dev")
    config["cloudbridge:sorces"] = []
    error = fails("dev", config)
    assert ("cloudbridge:sorces", "unknown key (check the spelling)") in error.problems


def test_every_problem_is_reported_at_once(stack_config):
    config = stack_config("dev")
    config["cloudbridge:sources"][0]["engine"] = "db2"
    config["cloudbridge:sources"][1]["port"] = 0
    error = fails("dev", config)
    keys = {k for k, _ in error.problems}
    assert {"cloudbridge:sources[0].engine", "cloudbridge:sources[1].port"} <= keys
    assert str(error).count("\n  - ") == len(error.problems)


def test_error_names_the_stack_being_deployed(stack_config):
    config = stack_config("prod")
    del config["cloudbridge:alerts"]
    error = fails("prod", config)
    assert "Pulumi.prod.yaml" in str(error) and "cloudbridge:alerts" in str(error)


SENTINEL = "S3NT1NEL-p@ss:w0rd/!"


def _string_fields(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _string_fields(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _string_fields(value, (*path, i))
    elif isinstance(node, str):
        yield path


DEV_STRING_FIELDS = list(_string_fields(read_stack_config("dev")))


def test_every_string_field_is_covered():
    assert len(DEV_STRING_FIELDS) > 20 and ("cloudbridge:sources", 0, "credentialsSecretArn") in DEV_STRING_FIELDS


@pytest.mark.parametrize("path", DEV_STRING_FIELDS, ids=lambda p: ".".join(map(str, p)))
def test_no_error_repeats_a_config_value(stack_config, path, capsys):
    """A secret pasted into any field must not reach CI logs through the error."""
    config = stack_config("dev")
    edit(path, SENTINEL)(config)
    plan = Plan("dev")
    try:
        evaluate("dev", config, plan=plan)
    except ConfigError as exc:
        assert SENTINEL not in str(exc) and "p@ss" not in str(exc)
        assert any(key.startswith(str(path[0]).split(":")[0]) or key == "aws:region" for key, _ in exc.problems)
    out = capsys.readouterr()
    assert SENTINEL not in out.out + out.err


def test_an_unquoted_account_id_says_to_quote_it(stack_config):
    config = stack_config("dev")
    config["cloudbridge:account"]["id"] = 11111111111  # YAML: id: 011111111111 unquoted
    error = fails("dev", config)
    assert any(k == "cloudbridge:account" and "must be quoted" in m for k, m in error.problems), error.problems


@pytest.mark.parametrize("region", ["eu-west-9", "eu-wset-2", "EU-WEST-2"])
def test_a_region_typo_is_named_as_such(stack_config, region):
    config = stack_config("dev")
    config["aws:region"] = region
    error = fails("dev", config)
    assert ("aws:region", "not an AWS region (like eu-west-2)") in error.problems


def test_the_config_reference_is_current_and_covers_every_key_in_use():
    from cloudbridge import configdoc

    text = configdoc.render()
    assert configdoc.DOC.read_text() == text, "docs/config.md is out of date: run python -m cloudbridge config-doc"
    for stack in stacks():
        for path in _string_fields(read_stack_config(stack)):
            for part in path:
                if isinstance(part, str) and ":" not in part:
                    assert f"`{part}`" in text, f"{part} (Pulumi.{stack}.yaml) is not in docs/config.md"
