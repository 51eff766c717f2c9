"""Metric names the validator publishes (EMF) and the alarms watch."""

VALIDATOR_METRICS_NAMESPACE = "CloudBridge/Validator"
FILES_PASSED = "FilesPassed"
FILES_FAILED = "FilesFailed"
ROWS_VALIDATED = "RowsValidated"
BYTES_READ = "BytesRead"
