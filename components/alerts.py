"""SlackAlerts: the alerts SNS topic and the notifier Lambda that posts to Slack.

The webhook URL lives in Secrets Manager and is read by the function at run time, by
ARN: it is never an SNS subscription endpoint, a config value or part of the state.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.function import LambdaFunction, LambdaFunctionArgs
from components.monitoring import queue_not_empty
from components.naming import Naming
from components.packaging import LambdaBundle
from functions.common.runtime import NotifierEnv, alarm_description

# Services allowed to publish to the topic; the validator publishes through its role.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


@dataclass(frozen=True)
class SlackAlertsArgs:
    """Inputs of the alerts topic and the Slack notifier."""

    naming: Naming
    kms_key_arn: pulumi.Input[str]
    webhook_secret_arn: str
    bundle: LambdaBundle
    log_retention_days: int
    # Another instance in the same stack (the DR region's): prefixes its logical and physical names,
    # ``<prefix>-alerts-topic`` and ``cb-<env>-<prefix>-alerts``. Empty: the primary's, unchanged.
    prefix: str = ""

    def logical(self, name: str) -> str:
        """A child's logical name."""
        return f"{self.prefix}-{name}" if self.prefix else name

    def physical(self, *parts: str) -> str:
        """A child's physical name, ``cb-<env>-[<prefix>-]<parts>``."""
        return self.naming.name(*((self.prefix,) if self.prefix else ()), *parts)


class SlackAlerts(pulumi.ComponentResource):
    """The account's alerts topic, its dead-letter queue and the Slack notifier."""

    topic: aws.sns.Topic
    dead_letter_queue: aws.sqs.Queue
    notifier: LambdaFunction

    def __init__(self, name: str, args: SlackAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:alerts:SlackAlerts", name, None, opts)
        self._args = args
        self.topic = self._topic()
        self.dead_letter_queue = self._dead_letter_queue()
        self.notifier = self._notifier()
        self._subscribe()
        self._dead_letter_alarm()
        self.register_outputs({"topic_arn": self.topic.arn, "dead_letter_queue_arn": self.dead_letter_queue.arn})

    def _topic(self) -> aws.sns.Topic:
        """The alerts topic: encrypted; alarms and events of this account publish, over TLS only."""
        naming, child = self._args.naming, pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            self._args.logical("alerts-topic"),
            name=self._args.physical("alerts"),
            kms_master_key_id=self._args.kms_key_arn,
            tags=naming.tags(),
            opts=child,
        )
        aws.sns.TopicPolicy(
            self._args.logical("alerts-topic-policy"),
            arn=topic.arn,
            policy=iam.document(
                [
                    iam.statement(
                        "AllowAlarmsAndEvents",
                        ["sns:Publish"],
                        [topic.arn],
                        principal={"Service": list(PUBLISHING_SERVICES)},
                        condition={"StringEquals": {"aws:SourceAccount": naming.account_id}},
                    ),
                    iam.deny_insecure_transport("DenyInsecureTransport", ["sns:*"], [topic.arn]),
                ]
            ),
            opts=child,
        )
        return topic

    def _dead_letter_queue(self) -> aws.sqs.Queue:
        """Alerts that could not be delivered: SNS redrive, the notifier's failed async
        invocations, DMS events EventBridge could not put on the topic."""
        naming, child = self._args.naming, pulumi.ResourceOptions(parent=self)
        account = naming.account_id
        queue = aws.sqs.Queue(
            self._args.logical("notifier-dlq"),
            name=self._args.physical("notifier-dlq"),
            kms_master_key_id=self._args.kms_key_arn,
            message_retention_seconds=14 * 24 * 3600,
            tags=naming.tags(),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            self._args.logical("notifier-dlq-policy"),
            queue_url=queue.url,
            policy=iam.document(
                [
                    iam.statement(
                        "AllowAlertsTopicRedrive",
                        ["sqs:SendMessage"],
                        [queue.arn],
                        principal={"Service": "sns.amazonaws.com"},
                        condition={"ArnEquals": {"aws:SourceArn": self.topic.arn}},
                    ),
                    # DMS event rules park events they could not deliver to the topic here.
                    iam.statement(
                        "AllowEventRuleDeadLetters",
                        ["sqs:SendMessage"],
                        [queue.arn],
                        principal={"Service": "events.amazonaws.com"},
                        condition={
                            "ArnLike": {
                                "aws:SourceArn": f"arn:aws:events:{naming.region}:{account}:rule/{naming.name('*')}"
                            }
                        },
                    ),
                    iam.deny_insecure_transport("DenyInsecureTransport", ["sqs:*"], [queue.arn]),
                ]
            ),
            opts=child,
        )
        return queue

    def _notifier(self) -> LambdaFunction:
        """The function posting to Slack; it reads the webhook secret by ARN at run time."""
        args, naming = self._args, self._args.naming
        account = naming.account_id
        function_name = args.physical("slack-notifier")
        return LambdaFunction(
            args.logical("slack-notifier"),
            LambdaFunctionArgs(
                function_name=function_name,
                description="Posts CloudBridge alerts from SNS to Slack",
                bundle=args.bundle,
                handler="functions.slack_alerts.handler.handler",
                account_id=account,
                kms_key_arn=args.kms_key_arn,
                log_group_name=naming.lambda_log_group(function_name),
                log_retention_days=args.log_retention_days,
                statements=[
                    iam.statement("ReadSlackWebhook", ["secretsmanager:GetSecretValue"], [args.webhook_secret_arn]),
                    iam.statement("DeadLetter", ["sqs:SendMessage"], [self.dead_letter_queue.arn]),
                    iam.statement("DeadLetterEncryption", ["kms:Decrypt", "kms:GenerateDataKey"], [args.kms_key_arn]),
                ],
                environment={
                    NotifierEnv.SLACK_WEBHOOK_SECRET_ARN: args.webhook_secret_arn,
                    NotifierEnv.ENVIRONMENT: naming.environment,
                    NotifierEnv.ACCOUNT_ID: account,
                },
                timeout_seconds=60,
                memory_mb=256,
                dead_letter_queue_arn=self.dead_letter_queue.arn,
                tags=naming.tags(),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _subscribe(self) -> None:
        """The notifier subscribed to the topic, undeliverable alerts redriven to the queue."""
        child = pulumi.ResourceOptions(parent=self)
        permission = aws.lambda_.Permission(
            self._args.logical("slack-notifier-invoke"),
            action="lambda:InvokeFunction",
            function=self.notifier.function.name,
            principal="sns.amazonaws.com",
            source_arn=self.topic.arn,
            opts=child,
        )
        aws.sns.TopicSubscription(
            self._args.logical("slack-notifier-subscription"),
            topic=self.topic.arn,
            protocol="lambda",
            endpoint=self.notifier.function.arn,
            redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": self.dead_letter_queue.arn}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

    def _dead_letter_alarm(self) -> None:
        """Alerts that could not be delivered must themselves be seen (this alarm may not
        reach Slack if Slack is what fails, but it stays red in CloudWatch)."""
        naming, child = self._args.naming, pulumi.ResourceOptions(parent=self)
        aws.cloudwatch.MetricAlarm(
            self._args.logical("notifier-dlq-alarm"),
            name=self._args.physical("notifier-dlq"),
            alarm_description=alarm_description(
                "platform", "alerts that could not be delivered are in the notifier dead-letter queue"
            ),
            **queue_not_empty(self.dead_letter_queue.name),
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=naming.tags(),
            opts=child,
        )
