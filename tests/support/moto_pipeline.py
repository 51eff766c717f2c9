"""A moto AWS with the buckets, topic and queues of one pipeline, and helpers to drop
DMS-shaped files into landing and hand the validator the events S3 would send."""

import json
import uuid
from urllib.parse import quote_plus

import boto3

from components import catalog_tables
from functions.common.layout import DAY, Layout
from functions.common.metadata import Column, TableMetadata
from functions.common.runtime import ALERT_MARKERS, glue_table_name
from functions.validator.handler import Settings, Validator
from functions.validator.metadata_store import MetadataStore
from functions.validator.routing import REASONS as REASONS_METADATA

REGION = "eu-west-2"
LANDING, RAW, FAIL, META = "landing", "raw-history", "fail", "metadata"
GLUE_DATABASE = "cb_test_sales"


def orders_metadata(schema="public", **changes) -> TableMetadata:
    fields = dict(
        source="sales",
        engine="postgres",
        schema=schema,
        table="orders",
        columns=(
            Column("order_id", "int64", nullable=False),
            Column("customer_id", "int32"),
            Column("amount", "decimal(12,2)"),
            Column("status", "string"),
            Column("paid", "bool", accept=("string",)),
            Column("ordered_on", "date"),
            Column("created_at", "timestamp(us)"),
        ),
        primary_key=("order_id",),
    )
    fields.update(changes)
    return TableMetadata(**fields)


class Pipeline:
    def __init__(self, layout: Layout = DAY):
        self.layout = layout  # the source's raw-history partitions
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        for bucket in (LANDING, RAW, FAIL, META):
            self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        for bucket in (RAW, FAIL):
            self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.topic = self.sns.create_topic(Name="alerts")["TopicArn"]
        # A queue on the topic shows what the alerts topic received.
        self.alerts_queue = self.sqs.create_queue(QueueName="alerts-tap")["QueueUrl"]
        tap_arn = self.sqs.get_queue_attributes(QueueUrl=self.alerts_queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=tap_arn)
        self.glue = boto3.client("glue", region_name=REGION)
        self.glue.create_database(DatabaseInput={"Name": GLUE_DATABASE})
        self.settings = Settings(
            source="sales",
            environment="test",
            raw_history_bucket=RAW,
            fail_bucket=FAIL,
            metadata_bucket=META,
            alerts_topic_arn=self.topic,
            glue_database=GLUE_DATABASE,
            partition=layout.name,
        )
        self.metadata_store = MetadataStore(self.s3, META)
        self.validator = Validator(self.settings, self.s3, self.sns, self.metadata_store, glue=self.glue)

    def publish_metadata(self, metadata: TableMetadata, *, catalog: bool = True):
        """The table's metadata in the metadata bucket and (as a deploy does) its Glue table."""
        self.s3.put_object(
            Bucket=META, Key=f"{metadata.schema}/{metadata.table}.json", Body=metadata.to_json().encode()
        )
        if catalog:
            name = glue_table_name(metadata.schema, metadata.table)
            try:
                self.glue.delete_table(DatabaseName=GLUE_DATABASE, Name=name)
            except self.glue.exceptions.EntityNotFoundException:
                pass
            self.glue.create_table(
                DatabaseName=GLUE_DATABASE,
                TableInput=catalog_tables.table_input(name, RAW, metadata, "postgres", self.layout),
            )

    def partitions(self, metadata: TableMetadata) -> dict[str, str]:
        """Registered partitions of a table: value -> location."""
        name = glue_table_name(metadata.schema, metadata.table)
        found = self.glue.get_partitions(DatabaseName=GLUE_DATABASE, TableName=name)["Partitions"]
        return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in found}

    def land(self, key: str, data: bytes) -> str:
        self.s3.put_object(Bucket=LANDING, Key=key, Body=data)
        return key

    @staticmethod
    def s3_record(key: str, bucket: str = LANDING) -> dict:
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/")}},
        }

    def sqs_record(self, *keys: str, body: str = None) -> dict:
        return {
            "messageId": str(uuid.uuid4()),
            "body": body if body is not None else json.dumps({"Records": [self.s3_record(k) for k in keys]}),
            "eventSource": "aws:sqs",
        }

    def run(self, *records: dict) -> dict:
        return self.validator.handle({"Records": list(records)})

    def validate(self, *keys: str) -> dict:
        """One SQS message per key, in one batch."""
        return self.run(*(self.sqs_record(k) for k in keys))

    def keys(self, bucket: str) -> list[str]:
        """The data objects of a bucket (the validator's alert markers are listed by ``alert_markers``)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        keys = (o["Key"] for page in pages for o in page.get("Contents", []))
        return sorted(k for k in keys if not k.startswith(ALERT_MARKERS))

    def reasons(self, key: str) -> dict[str, str]:
        """A quarantined file's reasons, code -> message, as its fail-bucket metadata holds them."""
        head = self.s3.head_object(Bucket=FAIL, Key=key)
        return {r["code"]: r["message"] for r in json.loads(head["Metadata"][REASONS_METADATA])}

    def alert_markers(self) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=FAIL, Prefix=ALERT_MARKERS)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def versions(self, bucket: str) -> list[str]:
        response = self.s3.list_object_versions(Bucket=bucket)
        return sorted(v["Key"] for v in response.get("Versions", []) if not v["Key"].startswith(ALERT_MARKERS))

    def alerts(self) -> list[dict]:
        messages = self.sqs.receive_message(QueueUrl=self.alerts_queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def tags(self, bucket: str, key: str) -> dict:
        return {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
