"""SecureBucket: an S3 bucket that is encrypted, private and TLS-only by construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import iam


@dataclass(frozen=True)
class SecureBucketArgs:
    """Inputs of one bucket."""

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
    """A bucket with encryption, TLS-only policy, public access blocked and lifecycle rules."""

    bucket: aws.s3.Bucket
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:storage:SecureBucket", name, None, opts)
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_on_delete)
        self.bucket = aws.s3.Bucket(name, bucket=args.bucket_name, tags=dict(args.tags), opts=self._child)
        self._owner_enforced()
        public_access = self._public_access_blocked()
        self._encrypted()
        self._tls_only(public_access)
        if args.versioning:
            self._versioned()
        self._lifecycle()
        self.arn = self.bucket.arn
        self.name = self.bucket.bucket
        self.register_outputs({"arn": self.arn, "name": self.name})

    def _owner_enforced(self) -> None:
        """No ACLs: the bucket owner owns every object."""
        aws.s3.BucketOwnershipControls(
            f"{self._prefix}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._child,
        )

    def _public_access_blocked(self) -> aws.s3.BucketPublicAccessBlock:
        return aws.s3.BucketPublicAccessBlock(
            f"{self._prefix}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child,
        )

    def _encrypted(self) -> None:
        """SSE-KMS with the stack's key by default."""
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._prefix}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=self._args.kms_key_arn,
                    ),
                    bucket_key_enabled=True,  # fewer KMS calls per object
                )
            ],
            opts=self._child,
        )

    def _tls_only(self, public_access: aws.s3.BucketPublicAccessBlock) -> None:
        """Every request over TLS 1.2 or later."""
        objects = self.bucket.arn.apply(lambda arn: f"{arn}/*")
        aws.s3.BucketPolicy(
            f"{self._prefix}-policy",
            bucket=self.bucket.id,
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

    def _versioned(self) -> None:
        aws.s3.BucketVersioning(
            f"{self._prefix}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self._child,
        )

    def _lifecycle(self) -> None:
        """Abandoned multipart uploads go; objects and old versions expire where configured."""
        args = self._args
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
        aws.s3.BucketLifecycleConfiguration(
            f"{self._prefix}-lifecycle", bucket=self.bucket.id, rules=rules, opts=self._child
        )
