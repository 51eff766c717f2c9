"""SecureBucket: an S3 bucket that is encrypted, private and TLS-only by construction.

A bucket holding the system of record (raw history, metadata, their DR replicas) can carry the
deletion guard: its policy denies deleting the bucket or an object version, suspending
versioning, and changing the lifecycle or the policy itself to every principal but one, the
environment's break-glass role (docs/disaster-recovery.md, "The deletion guard"). The policy is
put last, after the versioning and lifecycle it protects, and it is retained with its bucket.
"""

from __future__ import annotations

import hashlib
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
    # The deletion guard: the one principal (the break-glass role's ARN) the bucket policy lets
    # delete the bucket or object versions, suspend versioning, or change the lifecycle or policy.
    guard_principal_arn: str | None = None


# What the deletion guard denies to everyone but the break-glass role: the bucket, then its objects.
GUARDED_BUCKET_ACTIONS = (
    "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
)  # fmt: skip
GUARDED_OBJECT_ACTIONS = ("s3:DeleteObjectVersion",)
GUARD_SID_PREFIX = "DenyDeleting"  # every guard statement's Sid starts so (the runbook lifts them by it)


class SecureBucket(pulumi.ComponentResource):
    """A bucket with encryption, TLS-only policy, public access blocked and lifecycle rules."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning | None
    policy: aws.s3.BucketPolicy
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
        self.versioning = self._versioned() if args.versioning else None
        lifecycle = self._lifecycle()
        # Put after what it guards: with the deletion guard, a later lifecycle put is refused.
        self.policy = self._policy([public_access, lifecycle, *([self.versioning] if self.versioning else [])])
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

    def _policy(self, before: list[pulumi.Resource]) -> aws.s3.BucketPolicy:
        """Every request over TLS 1.2 or later, and the deletion guard where configured."""
        objects = self.bucket.arn.apply(lambda arn: f"{arn}/*")
        statements = [
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
        if self._args.guard_principal_arn:
            statements += self._deletion_guard(objects)
        return aws.s3.BucketPolicy(
            f"{self._prefix}-policy",
            bucket=self.bucket.id,
            policy=iam.document(statements),
            # A policy put before the public access block races with it; the guard refuses a
            # versioning or lifecycle put after it. Kept with the bucket: a retained bucket
            # stays TLS-only and guarded.
            opts=pulumi.ResourceOptions(parent=self, depends_on=before, retain_on_delete=self._args.retain_on_delete),
        )

    def _deletion_guard(self, objects: pulumi.Input[str]) -> list[dict]:
        """Deny deleting, unversioning and unguarding to all but the break-glass role. The Sid carries
        a fingerprint of the lifecycle arguments: a lifecycle change (put once the break-glass role
        has lifted the guard) changes the policy too, so the same deploy puts the guard back."""
        args = self._args
        lifecycle = repr((args.versioning, args.expire_after_days, args.noncurrent_expire_after_days))
        fingerprint = hashlib.sha256(lifecycle.encode()).hexdigest()[:8]
        others = {"ArnNotEquals": {"aws:PrincipalArn": args.guard_principal_arn}}
        deny = dict(effect="Deny", principal={"AWS": "*"}, condition=others)
        return [
            iam.statement(
                f"{GUARD_SID_PREFIX}BucketOrGuard{fingerprint}", GUARDED_BUCKET_ACTIONS, [self.bucket.arn], **deny
            ),
            iam.statement(f"{GUARD_SID_PREFIX}ObjectVersions", GUARDED_OBJECT_ACTIONS, [objects], **deny),
        ]

    def _versioned(self) -> aws.s3.BucketVersioning:
        return aws.s3.BucketVersioning(
            f"{self._prefix}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self._child,
        )

    def _lifecycle(self) -> aws.s3.BucketLifecycleConfiguration:
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
        return aws.s3.BucketLifecycleConfiguration(
            f"{self._prefix}-lifecycle", bucket=self.bucket.id, rules=rules, opts=self._child
        )
