"""The contract of a DynamoDB source's resources (components/dynamodb_source.py): the table export
against botocore's ExportTableToPointInTime model, and what a DynamoDB source adds to resource
types other sources use — an event source mapping reading a table's stream, with an on-failure
destination, and a bucket notification invoking a function.

``contracts.CONTRACTS`` is extended by ``extend()``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi_aws as aws

from cloudbridge.contract import documented as doc
from cloudbridge.contract.open_paths import BUCKET, FUNCTION, KEY, QUEUE, TOPIC, arn
from cloudbridge.contract.rules import Reference

EXPORT = "aws:dynamodb/tableExport:TableExport"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
_TABLE = r"table/[A-Za-z0-9_.-]{3,255}"
# DescribeTable's LatestStreamArn: arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
# (DynamoDB developer guide, "Change data capture for DynamoDB Streams"; IAM's ARN formats).
STREAM_ARN = arn("dynamodb", rf"{_TABLE}/stream/[0-9T:.-]+", "a DynamoDB stream ARN (the table's LatestStreamArn)")
TABLE_ARN = arn("dynamodb", _TABLE, "a DynamoDB table ARN")
S3_NOTIFICATIONS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html"


def extend(contracts: dict[str, Any], contract_class: type) -> None:
    """Add the export's contract, and a DynamoDB source's paths to the mapping's and notification's."""
    contracts[EXPORT] = contract_class(
        "dynamodb",
        "ExportTableToPointInTimeInput",
        aws.dynamodb.TableExport,
        references={
            "tableArn": Reference((), TABLE_ARN),
            "s3Bucket": Reference((BUCKET,)),
            "s3SseKmsKeyId": Reference((KEY,)),
        },
    )
    mapping = contracts[MAPPING]
    source = mapping.references["eventSourceArn"]
    contracts[MAPPING] = replace(
        mapping,
        renames={
            **_renames(mapping),
            "destinationConfig.onFailure.destinationArn": "DestinationConfig.OnFailure.Destination",
        },
        references={
            **mapping.references,
            # A queue of the program's, or a DynamoDB table's stream (read by name at deploy time).
            "eventSourceArn": replace(source, fallback=STREAM_ARN),
            "destinationConfig.onFailure.destinationArn": Reference((QUEUE, TOPIC)),
        },
    )
    notification = contracts[NOTIFICATION]
    contracts[NOTIFICATION] = replace(
        notification,
        renames={
            **_renames(notification),
            "lambdaFunctions": "LambdaFunctionConfigurations",
        },
        references={**notification.references, "lambdaFunctions.lambdaFunctionArn": Reference((FUNCTION,))},
        documented={
            **notification.documented,
            "lambdaFunctions.filterSuffix": doc.matching(
                r".{1,1024}", "a key suffix (a FilterRule named suffix)", S3_NOTIFICATIONS
            ),
        },
    )


def _renames(contract: Any) -> dict[str, str]:
    return dict(contract.renames) if isinstance(contract.renames, dict) else {}
