"""The contract of a source's compaction (components/compaction.py): its Step Functions state
machine and its EventBridge Scheduler schedules, against botocore's Step Functions and
Scheduler models.

``contracts.CONTRACTS`` is extended by ``extend()``.
"""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

TAGS = "free-form key/value pairs; the provider turns the map into the API's Tag list"


def extend(contracts: dict[str, Any], contract_class: type) -> None:
    """Add the state machine's and the schedules' contracts."""
    contracts["aws:sfn/stateMachine:StateMachine"] = contract_class(
        "stepfunctions",
        "CreateStateMachineInput",
        aws.sfn.StateMachine,
        unchecked={"tags": TAGS},
    )
    contracts["aws:scheduler/schedule:Schedule"] = contract_class(
        "scheduler",
        "CreateScheduleInput",
        aws.scheduler.Schedule,
        nested_args={
            "target": aws.scheduler.ScheduleTargetArgs,
            "target.retryPolicy": aws.scheduler.ScheduleTargetRetryPolicyArgs,
            "flexibleTimeWindow": aws.scheduler.ScheduleFlexibleTimeWindowArgs,
        },
    )
