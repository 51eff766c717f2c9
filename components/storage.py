"""SecureBucket: an S3 bucket that is encrypted, private and TLS-only by construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import iam


@dataclass(frozen=True)
class SecureBucketArgs:
    bucket_name: str
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)
    # Off for the DMS landing bucket: a DMS S3 target must not be versioned (docs/dms.md).
    versioning: bool = False
    # Delete current objects after this many days (the fail bucket's quarantine window).
    expire_after_days: int | None = None
    # With versioning: how long superseded versions are kept.
    noncurrent_expire_after_days: int = 30
    # Leave the bucket (and what keeps it private and encrypted) in the account when it
    # leaves the program: removing a source must never delete its data.
    retain_on_delete: bool = False


class SecureBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_on_delete)

        self.bucket = aws.s3.Bucket(name, bucket=args.bucket_name, tags=dict(args.tags), opts=child)
        bucket_id = self.bucket.id

        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=args.kms_key_arn,
                    ),
                    bucket_key_enabled=True,  # fewer KMS calls per object
                )
            ],
            opts=child,
        )
        objects = self.bucket.arn.apply(lambda arn: f"{arn}/*")
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=iam.document(
                [
                    iam.deny_insecure_transport("DenyInsecureTransport", ["s3:*"], [self.bucket.arn, objects]),
                    iam.statement(
                        "DenyOutdatedTls",
                        ["s3:*"],
                        [self.bucket.arn, objects],
                        effect="Deny",
                        principal={"AWS": "*"},
                        condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}},
                    ),
                ]
            ),
            # A policy put before the public access block races with it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        if args.versioning:
            aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=bucket_id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child,
            )

        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-multipart-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ]
        if args.expire_after_days is not None:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-objects",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expire_after_days),
                )
            )
        if args.versioning:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_expire_after_days
                    ),
                )
            )
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket_id, rules=rules, opts=child)

        self.arn = self.bucket.arn
        self.name = self.bucket.bucket
        self.register_outputs({"arn": self.arn, "name": self.name})
