"""The call inventory of a provisioned source's database (components/database.py): the RDS DB
instance, its parameter group and DB subnet group, the cross-Region automated-backup replication,
and the DMS user's Secrets Manager secret. Rows as in ``bootstrap.inventory`` (which lists them in
its ``_ALL``); each cites the terraform-provider-aws file and function it was read from.

RDS authorises CreateDBInstance and ModifyDBInstance on every resource the request names (the
instance, its parameter group and subnet group: the Service Authorization Reference lists db, pg
and subgrp for both), uses the stack's KMS key as the caller (storage, Performance Insights and
the master secret: kms:CreateGrant and kms:DescribeKey through RDS), and creates the master user's
secret (``rds!db-...``) in Secrets Manager as the caller (RDS user guide, "Password management
with Amazon RDS and AWS Secrets Manager", permissions required for Secrets Manager integration).
"""

from __future__ import annotations

from bootstrap.inventory_base import _AUTH, RT, TAGS, _seen, _Type

_INSTANCE = "rds/instance.go"
_KEY_VIA_RDS = {
    "note": f"{_AUTH}: RDS uses the stack's key for storage, Performance Insights and the master secret "
    "(RDS user guide, 'Encrypting Amazon RDS resources': kms:CreateGrant and kms:DescribeKey)"
}
_MASTER_SECRET = {
    "note": f"{_AUTH}: ManageMasterUserPassword: RDS creates and tags the master user's secret rds!db-... as the "
    "caller (RDS user guide, 'Password management with Amazon RDS and AWS Secrets Manager')"
}
_TAGGED = _seen("Tags in the input")
_WAIT = _seen("waitDBInstanceAvailableSDKv1: polls findDBInstanceByIDSDKv1 (DescribeDBInstances)")
_READ = _seen("findDBInstanceByIDSDKv1: DescribeDBInstances by identifier; tags come in TagList (setTagsOut)")


def _rds_tags(function: str = "tags_gen.go updateTags") -> list[tuple]:
    """RDS tags: added and removed on update (transparent tagging, @Tags(identifierAttribute=arn))."""
    return [
        ("tag", "rds:AddTagsToResource", "self", function, RT, TAGS, _seen("tags_all changed")),
        ("tag", "rds:RemoveTagsFromResource", "self", function, RT, {"seen": True}),
    ]


def _instance_create() -> list[tuple]:
    fn = "resourceInstanceCreate"
    return [
        *[
            ("create", "rds:CreateDBInstance", on, fn, TAGS, _seen(f"CreateDBInstanceWithContext names the {on}"))
            for on in ("self", "parameter-group", "db-subnet-group")
        ],
        ("create", "rds:AddTagsToResource", "self", fn, TAGS, _seen("Tags in CreateDBInstance (getTagsIn)")),
        ("create", "kms:CreateGrant", "key", fn, RT, "via:rds", _KEY_VIA_RDS),
        ("create", "kms:DescribeKey", "key", fn, RT, "via:rds", _KEY_VIA_RDS),
        ("create", "secretsmanager:CreateSecret", "rds-managed-secret", fn, _MASTER_SECRET),
        ("create", "secretsmanager:TagResource", "rds-managed-secret", fn, _MASTER_SECRET),
        ("create", "kms:GenerateDataKey", "key", fn, RT, "via:secretsmanager", _MASTER_SECRET),
        ("create", "kms:Decrypt", "key", fn, RT, "via:secretsmanager", _MASTER_SECRET),
        (
            "create",
            "iam:CreateServiceLinkedRole",
            "rds-role",
            fn,
            "service-name:rds.amazonaws.com",
            {
                "note": f"{_AUTH}: RDS creates AWSServiceRoleForRDS on first use (RDS user guide, "
                "'Using service-linked roles for Amazon RDS')"
            },
        ),  # fmt: skip
        ("create", "rds:DescribeDBInstances", "self", "waitDBInstanceAvailableSDKv1", _WAIT),
        ("create", "rds:DescribeDBInstances", "self", "resourceInstanceRead findDBInstanceByIDSDKv1", _READ),
    ]


def _instance_update_delete() -> list[tuple]:
    modify = "resourceInstanceUpdate dbInstanceModify"
    return [
        *[
            ("update", "rds:ModifyDBInstance", on, modify, RT, _seen(f"dbInstancePopulateModify: the {on}"))
            for on in ("self", "parameter-group", "db-subnet-group")
        ],
        ("update", "kms:CreateGrant", "key", modify, RT, "via:rds", _KEY_VIA_RDS),
        ("update", "kms:DescribeKey", "key", modify, RT, "via:rds", _KEY_VIA_RDS),
        ("update", "rds:DescribeDBInstances", "self", "dbInstanceModify waitDBInstanceAvailableSDKv2", _WAIT),
        ("update", "rds:DescribeDBInstances", "self", "resourceInstanceRead", _READ),
        *_rds_tags(),
        (
            "delete",
            "rds:DeleteDBInstance",
            "self",
            "resourceInstanceDelete",
            RT,
            _seen("SkipFinalSnapshot false: FinalDBSnapshotIdentifier; DeleteAutomatedBackups as configured"),
        ),
        (
            "delete",
            "rds:CreateDBSnapshot",
            "final-snapshot",
            "resourceInstanceDelete",
            {
                "note": f"{_AUTH}: DeleteDBInstance with FinalDBSnapshotIdentifier creates that snapshot as the caller "
                "(Service Authorization Reference, rds:DeleteDBInstance)"
            },
        ),  # fmt: skip
        ("delete", "rds:DescribeDBInstances", "self", "waitDBInstanceDeleted", _seen("polls until gone")),
    ]


def _parameter_group() -> list[tuple]:
    return [
        ("create", "rds:CreateDBParameterGroup", "self", "resourceParameterGroupCreate", TAGS, _TAGGED),
        ("create", "rds:AddTagsToResource", "self", "resourceParameterGroupCreate", TAGS, _TAGGED),
        (
            "create",
            "rds:ModifyDBParameterGroup",
            "self",
            "resourceParameterGroupCreate resourceParameterGroupUpdate",
            RT,
            _seen("Create ends in Update: the parameters, 20 a call"),
        ),
        *[
            (phase, action, "self", f"resourceParameterGroupRead {what}", _seen(what))
            for phase in ("create", "read", "update")
            for action, what in (
                ("rds:DescribeDBParameterGroups", "DescribeDBParameterGroups"),
                ("rds:DescribeDBParameters", "DescribeDBParametersPages"),
                ("rds:ListTagsForResource", "ListTags"),
            )
        ],
        ("update", "rds:ModifyDBParameterGroup", "self", "resourceParameterGroupUpdate", RT, _seen("new values")),
        ("update", "rds:ResetDBParameterGroup", "self", "resourceParameterGroupUpdate", RT, _seen("removed ones")),
        *_rds_tags("resourceParameterGroupUpdate UpdateTags"),
        ("delete", "rds:DeleteDBParameterGroup", "self", "resourceParameterGroupDelete", RT, _seen("retried 3 min")),
    ]  # fmt: skip


def _subnet_group() -> list[tuple]:
    return [
        ("create", "rds:CreateDBSubnetGroup", "self", "resourceSubnetGroupCreate", TAGS, _seen("Tags in the input")),
        ("create", "rds:AddTagsToResource", "self", "resourceSubnetGroupCreate", TAGS, _seen("Tags in the input")),
        *[
            (phase, action, "self", f"resourceSubnetGroupRead {what}", _seen(what))
            for phase in ("create", "read", "update")
            for action, what in (("rds:DescribeDBSubnetGroups", "DescribeDBSubnetGroups"),
                                 ("rds:ListTagsForResource", "RdsListTags"))
        ],
        ("update", "rds:ModifyDBSubnetGroup", "self", "resourceSubnetGroupUpdate", RT, _seen("subnets, description")),
        *_rds_tags("resourceSubnetGroupUpdate RdsUpdateTags"),
        ("delete", "rds:DeleteDBSubnetGroup", "self", "resourceAwsDbSubnetGroupDeleteRefreshFunc", RT, _SEEN_DELETE),
    ]  # fmt: skip


_SEEN_DELETE = _seen("DeleteDBSubnetGroup, retried for 3 minutes until DBSubnetGroupNotFoundFault")
_BACKUPS = "rds/instance_automated_backups_replication.go"
_IN_DR = {
    "note": f"{_AUTH}: StartDBInstanceAutomatedBackupsReplication is sent to the DR region and names the source "
    "instance; RDS uses the DR region's key as the caller (RDS user guide, 'Replicating automated backups to "
    "another AWS Region')"
}


def _backups() -> list[tuple]:
    create, read = "resourceInstanceAutomatedBackupsReplicationCreate", "FindDBInstanceAutomatedBackupByARN"
    return [
        ("create", "rds:StartDBInstanceAutomatedBackupsReplication", "source-db", create, _seen("SourceDBInstanceArn")),
        ("create", "rds:StartDBInstanceAutomatedBackupsReplication", "self", create, _IN_DR),
        ("create", "kms:CreateGrant", "key", create, RT, "via:rds", _IN_DR),
        ("create", "kms:DescribeKey", "key", create, RT, "via:rds", _IN_DR),
        ("create", "rds:DescribeDBInstanceAutomatedBackups", "self", f"waitDBInstanceAutomatedBackupCreated {read}",
         _seen("polls until REPLICATING")),
        ("read", "rds:DescribeDBInstanceAutomatedBackups", "self", f"resourceInstanceAutomatedBackupsReplicationRead "
         f"{read}", {"seen": True}),
        ("delete", "rds:DescribeDBInstanceAutomatedBackups", "self", read, {"seen": True}),
        ("delete", "rds:StopDBInstanceAutomatedBackupsReplication", "source-db",
         "resourceInstanceAutomatedBackupsReplicationDelete", _seen("SourceDBInstanceArn")),
        ("delete", "rds:DescribeDBInstances", "source-db", "waitDBInstanceAutomatedBackupDeleted "
         "statusDBInstanceHasAutomatedBackup", _seen("in the source region, until the replication is gone")),
    ]  # fmt: skip


_SECRET = "secretsmanager/secret.go"


def _secret() -> list[tuple]:
    read = "resourceSecretRead"
    return [
        ("create", "secretsmanager:CreateSecret", "self", "resourceSecretCreate", TAGS, _seen("Tags in the input")),
        ("create", "secretsmanager:TagResource", "self", "resourceSecretCreate", TAGS, _seen("Tags in the input")),
        ("create", "kms:DescribeKey", "key", "resourceSecretCreate", RT, "via:secretsmanager",
         {"note": f"{_AUTH}: CreateSecret names the stack's key (KmsKeyId)"}),
        *[
            (phase, action, "self", f"{read} {what}", RT, _seen(what))
            for phase in ("create", "read", "update")
            for action, what in (("secretsmanager:DescribeSecret", "FindSecretByID: tags in its output"),
                                 ("secretsmanager:GetResourcePolicy", "GetResourcePolicy"))
        ],
        ("update", "secretsmanager:UpdateSecret", "self", "resourceSecretUpdate", RT, _seen("description, kms_key_id")),
        ("tag", "secretsmanager:TagResource", "self", "resourceSecretUpdate UpdateTags", RT, TAGS, {"seen": True}),
        ("tag", "secretsmanager:UntagResource", "self", "resourceSecretUpdate UpdateTags", RT, {"seen": True}),
        ("delete", "secretsmanager:DeleteSecret", "self", "resourceSecretDelete", RT,
         _seen("RecoveryWindowInDays: restorable for that long")),
        ("delete", "secretsmanager:DescribeSecret", "self", "resourceSecretDelete RetryUntilNotFound", RT,
         _seen("until marked deleted")),
    ]  # fmt: skip


DATABASE = [
    _Type("aws:rds/instance:Instance", _INSTANCE, [*_instance_create(), *_instance_update_delete()]),
    _Type("aws:rds/parameterGroup:ParameterGroup", "rds/parameter_group.go", _parameter_group()),
    _Type("aws:rds/subnetGroup:SubnetGroup", "rds/subnet_group.go", _subnet_group()),
    _Type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", _BACKUPS, _backups()),
    _Type("aws:secretsmanager/secret:Secret", _SECRET, _secret()),
]
