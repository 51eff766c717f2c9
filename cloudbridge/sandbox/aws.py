"""The local AWS: moto in server mode on loopback, set up as one pipeline's account.

Buckets, the landing → SQS notification with its dead-letter queue, the alerts topic with
a queue standing in for the notifier's subscription, the webhook secret, the published
table metadata and the Glue catalog — the same names and definitions the Pulumi program
deploys.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3

from cloudbridge.replay import replay
from components import catalog_tables
from components.naming import Naming
from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata, metadata_key
from functions.validator.partitions import Partitions

REGION = "eu-west-2"
ACCOUNT = "123456789012"  # moto's account
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": REGION}


@dataclass
class Resources:
    """The names and URLs of what the sandbox provisions for one source, as the program names them."""

    landing: str
    raw_history: str
    fail: str
    metadata: str
    validator_queue: str
    validator_dlq: str
    topic_arn: str
    notifier_queue: str
    webhook_secret_arn: str
    glue_database: str
    layout: Layout = DAY  # the source's raw-history partitions (rawHistoryPartition)


class LocalAws:
    """A local moto server standing in for AWS, with the environment pointed at it while it runs."""

    def __init__(self) -> None:
        self.server: Any = None
        self.endpoint = ""
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> LocalAws:
        """Start the server on a free loopback port and point the AWS environment variables at it."""
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        # moto's backends are process-wide: a second sandbox in one process starts empty.
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # Every boto3 client in this process — the real Lambda handlers' included — now
        # talks to the local AWS.
        for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        return self

    def stop(self) -> None:
        """Restore the environment and stop the server."""
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the local server."""
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def provision(
        self,
        naming: Naming,
        source: str,
        engine: str,
        tables: list[TableMetadata],
        webhook_url: str,
        visibility_timeout: int = 5,
        alerts: Resources | None = None,
        layout: Layout = DAY,
    ) -> Resources:
        """Create one source's buckets, queues, topic, secret and Glue tables as the program would,
        locally; with ``alerts``, another source of the same environment: its topic, notifier and
        webhook secret are the environment's, created with the first source."""
        res = Resources(
            landing=naming.bucket(source, "landing"),
            raw_history=naming.bucket(source, "raw"),
            fail=naming.bucket(source, "fail"),
            metadata=naming.bucket(source, "meta"),
            validator_queue="",
            validator_dlq="",
            topic_arn="",
            notifier_queue="",
            webhook_secret_arn="",
            glue_database=naming.glue_database(source),
            layout=layout,
        )
        self._buckets(res)
        self._validator_queue(res, naming, source, visibility_timeout)
        if alerts is None:
            self._alerts(res, naming, visibility_timeout, webhook_url)
        else:
            res.topic_arn, res.notifier_queue = alerts.topic_arn, alerts.notifier_queue
            res.webhook_secret_arn = alerts.webhook_secret_arn
        self.client("glue").create_database(
            DatabaseInput={"Name": res.glue_database, "Description": f"CloudBridge sandbox: {source}"}
        )
        self.publish_tables(res, naming, tables, engine)
        return res

    def _buckets(self, res: Resources) -> None:
        s3 = self.client("s3")
        for bucket in (res.landing, res.raw_history, res.fail, res.metadata):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        for bucket in (res.raw_history, res.fail, res.metadata):
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def _validator_queue(self, res: Resources, naming: Naming, source: str, visibility_timeout: int) -> None:
        """Landing ObjectCreated events → the validator's queue (with its dead-letter queue)."""
        s3, sqs = self.client("s3"), self.client("sqs")
        res.validator_dlq = sqs.create_queue(QueueName=naming.name(source, "validator-dlq"))["QueueUrl"]
        dlq_arn = _queue_arn(sqs, res.validator_dlq)
        res.validator_queue = sqs.create_queue(
            QueueName=naming.name(source, "validator"),
            Attributes={
                "VisibilityTimeout": str(visibility_timeout),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
            },
        )["QueueUrl"]
        s3.put_bucket_notification_configuration(
            Bucket=res.landing,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": _queue_arn(sqs, res.validator_queue), "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )

    def _alerts(self, res: Resources, naming: Naming, visibility_timeout: int, webhook_url: str) -> None:
        """The alerts topic, a queue standing in for its Lambda subscription, the webhook secret."""
        sqs, sns = self.client("sqs"), self.client("sns")
        res.topic_arn = sns.create_topic(Name=naming.name("alerts"))["TopicArn"]
        # Stands in for the topic's Lambda subscription: the runner invokes the notifier.
        res.notifier_queue = sqs.create_queue(
            QueueName=naming.name("slack-notifier-events"), Attributes={"VisibilityTimeout": str(visibility_timeout)}
        )["QueueUrl"]
        sns.subscribe(TopicArn=res.topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, res.notifier_queue))
        secrets = self.client("secretsmanager")
        res.webhook_secret_arn = secrets.create_secret(Name="cloudbridge/slack-webhook", SecretString=webhook_url)[
            "ARN"
        ]

    def queue(self, name: str, visibility_timeout: int = 5) -> tuple[str, str]:
        """A queue's URL and ARN."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility_timeout)})["QueueUrl"]
        return url, _queue_arn(sqs, url)

    def export_bucket(self, bucket: str, queue_arn: str, suffix: str) -> None:
        """A DynamoDB source's export bucket, whose objects ending in ``suffix`` are announced on a
        queue (standing in for the notification that invokes the export converter)."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        rule = {"FilterRules": [{"Name": "suffix", "Value": suffix}]}
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": rule}}
                ]
            },
        )

    def publish_tables(self, res: Resources, naming: Naming, tables: list[TableMetadata], engine: str) -> None:
        """What a deploy does with the committed metadata: publish it to the metadata bucket
        and (re)define the Glue tables."""
        s3, glue = self.client("s3"), self.client("glue")
        existing = {t["Name"] for t in glue.get_tables(DatabaseName=res.glue_database)["TableList"]}
        for meta in tables:
            s3.put_object(
                Bucket=res.metadata,
                Key=metadata_key(meta.schema, meta.table),
                Body=meta.to_json().encode(),
                ContentType="application/json",
            )
            name = naming.glue_table(meta.schema, meta.table)
            table_input = catalog_tables.table_input(name, res.raw_history, meta, engine, res.layout)
            if name in existing:
                glue.update_table(DatabaseName=res.glue_database, TableInput=table_input)
            else:
                glue.create_table(DatabaseName=res.glue_database, TableInput=table_input)

    def replay_quarantine(self, res: Resources) -> Any:
        """The operator's replay of a source's quarantine (cloudbridge replay), partitions registered."""
        return replay(
            self.client("s3"),
            fail_bucket=res.fail,
            raw_bucket=res.raw_history,
            metadata_bucket=res.metadata,
            say=lambda _: None,
            partitions=Partitions(self.client("glue"), res.glue_database, res.raw_history),
            layout=res.layout,
        )

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
