"""Names the deployed program and the Lambda handlers must agree on (no pulumi, no boto3).

The program (components/), the handlers (functions/), the sandbox and the CLI import these
instead of spelling them (tests/program/test_runtime_contract.py: nothing else spells them,
and the Lambda environment the program sets is exactly what each handler reads).
"""

# Physical names: cb-<environment>-<parts>.
NAME_PREFIX = "cb"


class ValidatorEnv:
    """The validator function's environment."""

    ENVIRONMENT = "CLOUDBRIDGE_ENVIRONMENT"
    SOURCE = "CLOUDBRIDGE_SOURCE"
    RAW_HISTORY_BUCKET = "RAW_HISTORY_BUCKET"
    FAIL_BUCKET = "FAIL_BUCKET"
    METADATA_BUCKET = "METADATA_BUCKET"
    ALERTS_TOPIC_ARN = "ALERTS_TOPIC_ARN"
    VALIDATION_MODE = "VALIDATION_MODE"
    GLUE_DATABASE = "GLUE_DATABASE"
    BUCKET_FOLDER = "DMS_BUCKET_FOLDER"  # optional: the DMS target's BucketFolder, if set
    # The source's raw-history layout, day or hour (functions/common/layout.py); absent: day,
    # the layout of every source deployed before it was an option.
    PARTITION = "RAW_HISTORY_PARTITION"


class GenerationsEnv:
    """The generation-marker writer's environment."""

    ENVIRONMENT = ValidatorEnv.ENVIRONMENT
    SOURCE = ValidatorEnv.SOURCE
    RAW_HISTORY_BUCKET = ValidatorEnv.RAW_HISTORY_BUCKET
    METADATA_BUCKET = ValidatorEnv.METADATA_BUCKET
    GLUE_DATABASE = ValidatorEnv.GLUE_DATABASE
    PARTITION = ValidatorEnv.PARTITION
    # The replication task's ARN (instance mode) or the replication config's (serverless).
    STATISTICS_ARN = "DMS_STATISTICS_ARN"


class NotifierEnv:
    """The Slack notifier function's environment."""

    ENVIRONMENT = "CLOUDBRIDGE_ENVIRONMENT"
    ACCOUNT_ID = "CLOUDBRIDGE_ACCOUNT_ID"
    SLACK_WEBHOOK_SECRET_ARN = "SLACK_WEBHOOK_SECRET_ARN"


# Resource tags (the provider's default tags carry the first three on everything).
TAG_PROJECT = "cloudbridge:project"
TAG_ENVIRONMENT = "cloudbridge:environment"
TAG_MANAGED_BY = "cloudbridge:managed-by"
TAG_SOURCE = "cloudbridge:source"
TAG_PURPOSE = "cloudbridge:purpose"

# S3 object tags on validated files: the outcome and, for failures, the reason codes.
OUTCOME_TAG = "cloudbridge-outcome"
REASONS_TAG = "cloudbridge-reasons"
REPLAYED_TAG = "cloudbridge-replayed"


def alarm_description(source: str, text: str) -> str:
    """Alarm descriptions start with the source they belong to; the notifier reads it back."""
    return f"[{TAG_SOURCE}={source}] {text}"


ALARM_SOURCE_PATTERN = r"\[cloudbridge:source=([a-z0-9-]+)\]"

# In the fail bucket: one marker per failed file whose alert was sent (claimed with a
# conditional put, so duplicate deliveries alert once).
ALERT_MARKERS = "cloudbridge-alerted/"

# Raw-history layout: <schema>/<table>/YYYY/MM/DD[/HH]/<file>; the date folders are the Glue
# partition value (partition key "dt", format yyyy/MM/dd or yyyy/MM/dd/HH: functions/common/layout.py).
PARTITION_KEY = "dt"

# Hive parquet formats of the Glue tables and of the partitions the validator registers.
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def glue_table_name(schema: str, table: str) -> str:
    """``<schema>__<table>``: unique across schemas, in Athena's identifier alphabet."""
    import re

    return re.sub(r"[^a-z0-9_]", "_", f"{schema}__{table}".lower())
