"""Each source gets its DMS event rule and alarms, with the right dimensions and thresholds."""

import json

import pytest

from cloudbridge.plan import read_stack_config
from components.monitoring import DMS_SERVERLESS_DIMENSION

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def sources(stack):
    return read_stack_config(stack)["cloudbridge:sources"]


def alarms(plan, source):
    """A source's alarms in the stack's own region (its replication's, dr-*: tests/program/test_dr.py)."""
    prefix = f"cb-{plan.stack}-{source}-"
    return {
        r.inputs["name"].removeprefix(prefix): r.inputs
        for r in plan.of_type(ALARM)
        if r.inputs["name"].startswith(prefix)
        and plan.region_of(r) == plan.home_region
        and not r.inputs["name"].removeprefix(prefix).startswith("dr-")
    }


def topic_arn(plan):
    return plan.named("alerts-topic", "aws:sns/topic:Topic").inputs["arn"]


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(plan):
    """An alarm's actions name the alerts topic of its own region (a DR region has its own)."""
    topics = {plan.region_of(t): t.inputs["arn"] for t in plan.of_type("aws:sns/topic:Topic")}
    assert topics[plan.home_region] == topic_arn(plan)
    declared = plan.of_type(ALARM)
    assert declared
    for alarm in declared:
        topic = topics[plan.region_of(alarm)]
        assert alarm.inputs["alarmActions"] == [topic] and alarm.inputs["okActions"] == [topic], alarm.name
        assert alarm.inputs["alarmDescription"].startswith("[cloudbridge:source=")


def test_each_source_has_its_alarms(plan, stack):
    for source in sources(stack):
        expected = {"validator-errors", "validator-throttles", "validator-dlq", "generations-errors"}
        if source.get("cdc", True):
            expected |= {"cdc-lag", "freshness"}
        instance = source.get("rdsInstanceIdentifier") or source.get("provision")  # provisioned: its own
        if instance:
            expected.add("slot-lag")
        if instance or source.get("rdsClusterIdentifier"):
            expected.add("transaction-logs")  # the source's disk: test_source_disk_alarms.py
            if instance and ".cluster-" not in source.get("host", ""):
                expected.add("free-storage")
        if compaction_of(plan, source["name"]) is not None:
            expected.add("compaction-failed")
        assert set(alarms(plan, source["name"])) == expected, source["name"]


def compaction_of(plan, source):
    machines = [
        m
        for m in plan.of_type("aws:sfn/stateMachine:StateMachine")
        if m.inputs["name"] == f"cb-{plan.stack}-{source}-compaction"
    ]
    return machines[0] if machines else None


def test_a_source_compacts_unless_its_config_turns_compaction_off(plan, stack):
    """Compaction is on by default; its failed runs alarm on the state machine's own metrics."""
    for source in sources(stack):
        machine = compaction_of(plan, source["name"])
        enabled = source.get("compaction", {}).get("enabled", True)
        if not enabled:
            assert machine is None, source["name"]
            continue
        if machine is None:  # no table with a current-state view: nothing to compact
            continue
        alarm = alarms(plan, source["name"])["compaction-failed"]
        queries = {q["id"]: q for q in alarm["metricQueries"]}
        assert "FILL(failed, 0)" in queries["ended_badly"]["expression"]
        for query_id in ("failed", "timedout", "aborted"):
            metric = queries[query_id]["metric"]
            assert metric["namespace"] == "AWS/States"
            assert metric["dimensions"] == {"StateMachineArn": machine.inputs["arn"]}
        assert alarm["threshold"] == 0 and alarm["comparisonOperator"] == "GreaterThanThreshold"
    machines = plan.of_type("aws:sfn/stateMachine:StateMachine")
    state = [b for b in plan.of_type("aws:s3/bucket:Bucket") if b.name == "analytics-state"]
    assert bool(state) == bool(machines)  # the state bucket exists exactly when some source compacts


def test_cdc_lag_sums_source_and_target_latency_over_the_threshold(plan, stack):
    for source in sources(stack):
        lag = alarms(plan, source["name"])["cdc-lag"]
        assert lag["threshold"] == source["cdcLagAlarmSeconds"]
        assert lag["comparisonOperator"] == "GreaterThanThreshold"
        queries = {q["id"]: q for q in lag["metricQueries"]}
        assert queries["lag"]["expression"] == "source + target" and queries["lag"]["returnData"] is True
        assert {queries[i]["metric"]["metricName"] for i in ("source", "target")} == {
            "CDCLatencySource",
            "CDCLatencyTarget",
        }
        identifier = f"cb-{stack}-{source['name']}"
        for query_id in ("source", "target"):
            metric = queries[query_id]["metric"]
            assert metric["namespace"] == "AWS/DMS"
            if source["replication"]["mode"] == "serverless":
                assert metric["dimensions"] == {DMS_SERVERLESS_DIMENSION: identifier}
            else:
                assert metric["dimensions"] == {
                    "ReplicationInstanceIdentifier": identifier,
                    "ReplicationTaskIdentifier": identifier,
                }


def test_instance_tasks_report_under_their_identifier(plan, stack):
    for task in plan.of_type("aws:dms/replicationTask:ReplicationTask"):
        assert task.inputs["resourceIdentifier"] == task.inputs["replicationTaskId"]


def test_validator_alarms_watch_the_sources_function_and_dlq(plan, stack):
    for source in sources(stack):
        name = source["name"]
        found = alarms(plan, name)
        function = plan.named(f"{name}-validator", "aws:lambda/function:Function").inputs["name"]
        dlq = plan.named(f"{name}-validator-dlq", "aws:sqs/queue:Queue").inputs["name"]
        assert found["validator-errors"]["dimensions"] == {"FunctionName": function}
        assert (found["validator-errors"]["metricName"], found["validator-errors"]["threshold"]) == ("Errors", 0)
        assert found["validator-throttles"]["metricName"] == "Throttles"
        assert found["validator-dlq"]["dimensions"] == {"QueueName": dlq}
        assert found["validator-dlq"]["metricName"] == "ApproximateNumberOfMessagesVisible"
        assert (
            found["validator-dlq"]["comparisonOperator"] == "GreaterThanThreshold"
            and found["validator-dlq"]["threshold"] == 0
        )


def test_freshness_alarm_breaches_when_nothing_is_validated(plan, stack):
    for source in sources(stack):
        fresh = alarms(plan, source["name"]).get("freshness")
        if fresh is None:
            continue
        minutes = source.get("freshnessAlarmMinutes", 1440)
        assert fresh["namespace"] == "CloudBridge/Validator" and fresh["metricName"] == "FilesPassed"
        assert fresh["dimensions"] == {"Environment": stack, "Source": source["name"]}
        assert fresh["treatMissingData"] == "breaching" and fresh["comparisonOperator"] == "LessThanThreshold"
        assert fresh["period"] * fresh["evaluationPeriods"] == pytest.approx(minutes * 60, abs=fresh["period"])
        assert fresh["period"] * fresh["evaluationPeriods"] <= 7 * 24 * 3600


def test_postgres_slot_lag_on_rds(plans):
    plan = plans("dev")
    sales = next(s for s in sources("dev") if s["name"] == "sales")
    slot = alarms(plan, "sales")["slot-lag"]
    assert slot["namespace"] == "AWS/RDS" and slot["metricName"] == "OldestReplicationSlotLag"
    assert slot["dimensions"] == {"DBInstanceIdentifier": sales["rdsInstanceIdentifier"]}
    assert slot["threshold"] == sales["replicationSlotLagAlarmMb"] * 1024 * 1024
    assert "slot-lag" not in alarms(plan, "billing")  # SQL Server


def test_dms_events_reach_the_topic_with_a_dead_letter_queue(plan, stack):
    topic = topic_arn(plan)
    dlq = plan.named("notifier-dlq", "aws:sqs/queue:Queue").inputs["arn"]
    for source in sources(stack):
        name = source["name"]
        rule = plan.named(f"{name}-monitoring-dms-events", "aws:cloudwatch/eventRule:EventRule")
        pattern = json.loads(rule.inputs["eventPattern"])
        assert pattern["source"] == ["aws.dms"]
        if source["replication"]["mode"] == "serverless":
            config = plan.named(f"{name}-replication-config", "aws:dms/replicationConfig:ReplicationConfig")
            assert pattern["resources"] == [config.inputs["arn"]]
        else:
            task = plan.named(f"{name}-replication-task", "aws:dms/replicationTask:ReplicationTask")
            instance = plan.named(f"{name}-replication-instance", "aws:dms/replicationInstance:ReplicationInstance")
            assert pattern["resources"] == [
                task.inputs["replicationTaskArn"],
                instance.inputs["replicationInstanceArn"],
            ]
        target = plan.named(f"{name}-monitoring-dms-events-to-alerts", "aws:cloudwatch/eventTarget:EventTarget").inputs
        assert target["arn"] == topic and target["deadLetterConfig"]["arn"] == dlq


def test_undeliverable_alerts_are_alarmed(plan):
    alarm = plan.named("notifier-dlq-alarm", ALARM).inputs
    assert alarm["dimensions"] == {"QueueName": f"cb-{plan.stack}-notifier-dlq"}
    assert alarm["threshold"] == 0


def test_rds_instance_identifier_only_for_postgres(stack_config):
    from tests.program.test_config import fails

    config = stack_config("dev")
    config["cloudbridge:sources"][1]["rdsInstanceIdentifier"] = "billing-db"
    error = fails("dev", config)
    assert any(k == "cloudbridge:sources[1]" and "postgres" in m for k, m in error.problems), error.problems


def test_notifier_dlq_accepts_only_its_topic_and_the_stacks_event_rules(plan):
    policy = json.loads(plan.named("notifier-dlq-policy", "aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    allows = {s["Principal"]["Service"]: s["Condition"] for s in policy["Statement"] if s["Effect"] == "Allow"}
    assert set(allows) == {"sns.amazonaws.com", "events.amazonaws.com"}
    assert allows["sns.amazonaws.com"] == {"ArnEquals": {"aws:SourceArn": topic_arn(plan)}}
    assert allows["events.amazonaws.com"]["ArnLike"]["aws:SourceArn"].endswith(f":rule/cb-{plan.stack}-*")


def test_lag_alarms_fire_when_their_datapoints_stop(plan, stack):
    """A stopped replication (or a dimension DMS does not publish) sends no datapoints:
    the lag alarms must treat that silence as breaching."""
    for source in sources(stack):
        declared = alarms(plan, source["name"])
        assert declared["cdc-lag"]["treatMissingData"] == "breaching"
        assert "no lag reported" in declared["cdc-lag"]["alarmDescription"]
        if "slot-lag" in declared:
            assert declared["slot-lag"]["treatMissingData"] == "breaching"


def _recorded_event(detail_type, arn, detail):
    """An EventBridge event as DMS sends it (envelope per the EventBridge event reference)."""
    account, region = arn.split(":")[4], arn.split(":")[3]
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "aws.dms",
        "account": account,
        "time": "2026-11-24T09:12:53Z",
        "region": region,
        "resources": [arn],
        "detail": detail,
    }


def _matches(plan, source, event):
    from moto.events.models import EventPattern

    rule = plan.named(f"{source}-monitoring-dms-events", "aws:cloudwatch/eventRule:EventRule")
    return EventPattern.load(rule.inputs["eventPattern"]).matches_event(event)


def test_a_serverless_replication_failure_reaches_the_alerts_topic(plans):
    """A recorded serverless state change, addressed by the ARN format DMS uses
    (arn:aws:dms:<region>:<account>:replication-config:<ResourceIdentifier>)."""
    plan = plans("dev")
    [config] = [r for r in plan.of_type("aws:dms/replicationConfig:ReplicationConfig") if r.name.startswith("sales-")]
    arn = f"arn:aws:dms:eu-west-2:111111111111:replication-config:{config.given['resourceIdentifier']}"
    failed = _recorded_event(
        "DMS Replication State Change",
        arn,
        {
            "type": "REPLICATION_STATE_CHANGE",
            "category": "StateChange",
            "eventType": "REPLICATION_FAILED",
            "description": "Replication failed.",
            "resourceLink": f"https://console.aws.amazon.com/dms/v2/home?region=eu-west-2#replicationDetails/{config.given['resourceIdentifier']}",
        },
    )
    assert _matches(plan, "sales", failed)
    # The same event from another source's replication goes to that source's rule only.
    other = dict(failed, resources=[arn.replace(":cb-dev-sales", ":cb-dev-other")])
    assert not _matches(plan, "sales", other)
    assert not _matches(plan, "billing", failed)
    target = plan.named("sales-monitoring-dms-events-to-alerts", "aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == topic_arn(plan)


def test_a_task_failure_matches_the_instance_sources_rule(plans):
    plan = plans("dev")
    [task] = plan.of_type("aws:dms/replicationTask:ReplicationTask")
    arn = f"arn:aws:dms:eu-west-2:111111111111:task:{task.given['resourceIdentifier']}"
    event = _recorded_event(
        "DMS Replication Task State Change",
        arn,
        {"category": "Failure", "eventType": "REPLICATION_TASK_FAILED", "eventId": "DMS-EVENT-0078"},
    )
    assert _matches(plan, "billing", event) and not _matches(plan, "sales", event)
