"""Names the deployed program and the Lambda handlers must agree on (no pulumi, no boto3)."""

# In the fail bucket: one marker per failed file whose alert was sent (claimed with a
# conditional put, so duplicate deliveries alert once).
ALERT_MARKERS = "cloudbridge-alerted/"
