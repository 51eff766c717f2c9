"""Code shared by the Lambda functions, the Pulumi program and the CLI."""
