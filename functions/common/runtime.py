"""Names the deployed program and the Lambda handlers must agree on (no pulumi, no boto3)."""

# In the fail bucket: one marker per failed file whose alert was sent (claimed with a
# conditional put, so duplicate deliveries alert once).
ALERT_MARKERS = "cloudbridge-alerted/"

# Raw-history layout: <schema>/<table>/YYYY/MM/DD/<file>; the date folder is the Glue
# partition value (partition key "dt", format yyyy/MM/dd).
PARTITION_KEY = "dt"

# Hive parquet formats of the Glue tables and of the partitions the validator registers.
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def glue_table_name(schema: str, table: str) -> str:
    """``<schema>__<table>``: unique across schemas, in Athena's identifier alphabet."""
    import re

    return re.sub(r"[^a-z0-9_]", "_", f"{schema}__{table}".lower())
