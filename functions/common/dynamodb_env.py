"""Names the program and the DynamoDB converters must agree on: their environment.

The shared names are the validator's (``functions/common/runtime.py``); the two the converters
add are spelled here only (tests/lambdas/test_dynamodb_stream.py checks it).
"""

from functions.common.runtime import ValidatorEnv


class DynamoDbEnv:
    """The environment of a DynamoDB source's stream and export converters."""

    ENVIRONMENT = ValidatorEnv.ENVIRONMENT
    SOURCE = ValidatorEnv.SOURCE
    RAW_HISTORY_BUCKET = ValidatorEnv.RAW_HISTORY_BUCKET
    METADATA_BUCKET = ValidatorEnv.METADATA_BUCKET
    GLUE_DATABASE = ValidatorEnv.GLUE_DATABASE
    PARTITION = ValidatorEnv.PARTITION
    LANDING_BUCKET = "LANDING_BUCKET"  # where the converted parquet files go
    EXPORT_BUCKET = "DYNAMODB_EXPORT_BUCKET"  # where DynamoDB writes its table exports
