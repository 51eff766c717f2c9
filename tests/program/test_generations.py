"""Each source's generation-marker writer (components/generations.py): its own replication's
statistics, a schedule that can invoke it, a least-privilege role and an errors alarm."""

import json

from cloudbridge.plan import read_stack_config
from functions.common.runtime import GenerationsEnv

FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
PERMISSION = "aws:lambda/permission:Permission"
POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def sources(stack):
    return read_stack_config(stack)["cloudbridge:sources"]


def _statistics_arn(plan, stack, source):
    config = read_stack_config(stack)
    region, account = config["aws:region"], config["cloudbridge:account"]["id"]
    kind = "replication-config" if source["replication"]["mode"] == "serverless" else "task"
    return f"arn:aws:dms:{region}:{account}:{kind}:cb-{stack}-{source['name']}"


def test_each_source_polls_its_own_replication(plan, stack):
    arns = set()
    for source in sources(stack):
        name = source["name"]
        variables = plan.named(f"{name}-generations", FUNCTION).given["environment"]["variables"]
        expected = _statistics_arn(plan, stack, source)
        assert variables[GenerationsEnv.STATISTICS_ARN] == expected, name
        assert variables[GenerationsEnv.SOURCE] == name
        assert variables[GenerationsEnv.RAW_HISTORY_BUCKET] == plan.outputs["pipelines"][name]["rawHistoryBucket"]
        assert variables[GenerationsEnv.METADATA_BUCKET] == plan.outputs["pipelines"][name]["metadataBucket"]
        # The replication's own identifier: the config's or the task's resource identifier.
        identifier = plan.outputs["pipelines"][name]["replication"]
        assert expected.endswith(f":{identifier}")
        arns.add(expected)
    assert len(arns) == len(sources(stack))  # no two sources share a replication


def test_the_role_reads_only_its_replications_statistics(plan, stack):
    for source in sources(stack):
        name = source["name"]
        policy = json.loads(plan.named(f"{name}-generations-role-policy", POLICY).given["policy"])
        dms = [s for s in policy["Statement"] if any(a.startswith("dms:") for a in s["Action"])]
        action = (
            "dms:DescribeReplicationTableStatistics"
            if source["replication"]["mode"] == "serverless"
            else "dms:DescribeTableStatistics"
        )
        assert dms == [
            {
                "Sid": "ReadTableStatistics",
                "Effect": "Allow",
                "Action": [action],
                "Resource": [_statistics_arn(plan, stack, source)],
            }
        ], name
        actions = {a for s in policy["Statement"] for a in s["Action"]}
        assert "s3:DeleteObject" not in actions and not any(a.endswith("*") for a in actions)


def test_a_five_minute_schedule_invokes_the_writer(plan, stack):
    for source in sources(stack):
        name = source["name"]
        rule = plan.named(f"{name}-generations-schedule", RULE)
        assert rule.given["scheduleExpression"] == "rate(5 minutes)"
        assert rule.inputs["name"] == f"cb-{stack}-{name}-generations"
        function = plan.named(f"{name}-generations", FUNCTION)
        target = plan.named(f"{name}-generations-target", TARGET)
        assert target.inputs["arn"] == function.inputs["arn"] and target.inputs["rule"] == rule.inputs["name"]
        permission = plan.named(f"{name}-generations-invoke", PERMISSION)
        assert permission.inputs["principal"] == "events.amazonaws.com"
        assert permission.inputs["sourceArn"] == rule.inputs["arn"]
        assert permission.inputs["function"] == function.inputs["name"]


def test_the_writers_errors_alarm(plan, stack):
    for source in sources(stack):
        name = source["name"]
        alarm = plan.named(f"{name}-monitoring-generations-errors", ALARM).inputs
        assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Lambda", "Errors")
        assert alarm["dimensions"] == {"FunctionName": f"cb-{stack}-{name}-generations"}
        assert alarm["alarmActions"] == [plan.outputs["alertsTopicArn"]]
