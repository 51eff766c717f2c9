"""Adding a table to a started serverless replication: DMS refuses to modify a config once its
replication has started (ModifyReplicationConfig), so each ``addedTables`` entry becomes a
replication config of its own. The first config must not change at all (same URN, same inputs),
the new one selects only the added tables, and everything that reads a source's replications
(the marker writer, its role) covers both. Also: a CDC-only start (``cdcStart``)."""

import copy

import pytest

from cloudbridge.plan import evaluate, read_stack_config
from components.naming import Naming

CONFIG = "aws:dms/replicationConfig:ReplicationConfig"
TASK = "aws:dms/replicationTask:ReplicationTask"


def _serverless(config):
    return next(s for s in config["cloudbridge:sources"] if s["replication"]["mode"] == "serverless")


def _instance(config):
    return next(s for s in config["cloudbridge:sources"] if s["replication"]["mode"] == "instance")


@pytest.fixture(scope="module")
def before_and_after():
    """dev as it is, and dev after a deploy that adds its last serverless table as a new set:
    the last table moves out of ``tables`` in 'before' so both plans share the metadata."""
    base = copy.deepcopy(read_stack_config("dev"))
    source = _serverless(base)
    *first, added = source["tables"]
    source["tables"] = first
    after = copy.deepcopy(base)
    _serverless(after)["addedTables"] = [[added]]
    return source["name"], added, evaluate("dev", base), evaluate("dev", after)


def _configs(plan, source):
    return [r for r in plan.of_type(CONFIG) if r.given["replicationConfigIdentifier"].startswith(f"cb-dev-{source}")]


def test_adding_a_table_leaves_the_started_config_untouched(before_and_after):
    source, _, before, after = before_and_after
    (old,) = _configs(before, source)
    first = next(c for c in _configs(after, source) if c.urn == old.urn)
    assert first.given == old.given, "the started config changed: DMS would refuse the deploy"


def test_the_added_table_gets_a_config_of_its_own(before_and_after):
    source, added, _, after = before_and_after
    configs = _configs(after, source)
    assert len(configs) == 2
    new = next(c for c in configs if c.given["replicationConfigIdentifier"].endswith("-set2"))
    selected = [
        f"{r['object-locator']['schema-name']}.{r['object-locator']['table-name']}"
        for r in new.json("tableMappings")["rules"]
        if r["rule-type"] == "selection"
    ]
    assert selected == [added]
    assert new.given["resourceIdentifier"] == new.given["replicationConfigIdentifier"]
    assert new.given["startReplication"] is True
    log_groups = {r.given["name"] for r in after.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert f"dms-serverless-replication-{new.given['resourceIdentifier']}" in log_groups


def test_the_marker_writer_reads_every_table_set(before_and_after):
    source, _, _, after = before_and_after
    config = read_stack_config("dev")
    naming = Naming("dev", config["cloudbridge:account"]["id"], config["aws:region"])
    expected = [naming.dms_arn("replication-config", naming.replication_id(source, i)) for i in (0, 1)]
    function = after.named(f"{source}-generations", "aws:lambda/function:Function")
    assert function.given["environment"]["variables"]["DMS_STATISTICS_ARN"] == ",".join(expected)
    policy = after.named(f"{source}-generations-role-policy", "aws:iam/rolePolicy:RolePolicy").json("policy")
    (read,) = [s for s in policy["Statement"] if s["Sid"] == "ReadTableStatistics"]
    assert sorted(read["Resource"]) == sorted(expected)


def test_a_cdc_only_start_reaches_the_task_and_waits_for_start_when_serverless():
    config = copy.deepcopy(read_stack_config("dev"))
    _serverless(config)["cdcStart"] = {"position": "0/3A0001C8", "slotName": "cloudbridge_start"}
    _instance(config)["cdcStart"] = {"time": "2026-11-30T23:00:00Z"}
    plan = evaluate("dev", config)
    (serverless,) = _configs(plan, _serverless(config)["name"])
    assert serverless.given["replicationType"] == "cdc"
    assert serverless.given["startReplication"] is False  # `python -m cloudbridge start` starts it
    source = plan.named(f"{_serverless(config)['name']}-replication-source", "aws:dms/endpoint:Endpoint")
    if source.given["engineName"] == "postgres":  # DMS reads the position through the named slot
        assert source.given["postgresSettings"]["slotName"] == "cloudbridge_start"
    (task,) = plan.of_type(TASK)
    assert task.given["migrationType"] == "cdc"
    assert task.given["cdcStartTime"] == "2026-11-30T23:00:00Z"
    assert "cdcStartPosition" not in task.given


def test_a_source_named_like_another_sources_table_set_is_refused():
    from components.config import ConfigError
    from components.stack_config import parse_stack_config
    from tests.program.test_config import raw

    config = copy.deepcopy(read_stack_config("dev"))
    source = _serverless(config)
    source["addedTables"] = [[source["tables"].pop()]]
    twin = copy.deepcopy(source)
    twin.pop("addedTables")
    twin["name"] = f"{source['name']}-set2"
    config["cloudbridge:sources"].append(twin)
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", raw(config))
    assert any("collides" in message and key.endswith(".name") for key, message in info.value.problems)


def test_plan_flags_a_table_added_to_a_started_config_and_passes_an_added_set(before_and_after):
    from cloudbridge import replacement

    source, added, before, after = before_and_after
    into_tables = copy.deepcopy(read_stack_config("dev"))  # the same table appended to `tables`
    refused = [c for c in replacement.impact(before, evaluate("dev", into_tables)) if c.flagged]
    assert [(c.argument, c.effect) for c in refused] == [("tableMappings", replacement.REFUSED)]
    assert "addedTables" in refused[0].note and added in refused[0].note

    changes = replacement.impact(before, after)
    assert not [c for c in changes if c.flagged], [c.line() for c in changes]
    assert {(c.type, c.effect) for c in changes} == {(CONFIG, replacement.CREATE)}


def test_each_table_set_has_its_cdc_lag_alarm_and_its_dms_events(before_and_after):
    source, _, before, after = before_and_after
    alarms = {r.given["name"]: r for r in after.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    second = alarms[f"cb-dev-{source}-cdc-lag-set2"]
    dimensions = [q["metric"]["dimensions"] for q in second.given["metricQueries"] if q.get("metric")]
    assert dimensions and all(d == {"ReplicationConfigIdentifier": f"cb-dev-{source}-set2"} for d in dimensions)
    assert f"cb-dev-{source}-cdc-lag" in alarms
    rule = after.named(f"{source}-monitoring-dms-events", "aws:cloudwatch/eventRule:EventRule")
    assert any(
        arn.endswith(f":replication-config:cb-dev-{source}-set2") for arn in rule.json("eventPattern")["resources"]
    )
