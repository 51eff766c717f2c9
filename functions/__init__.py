"""Lambda function packages. Pure Python: nothing here imports pulumi."""
