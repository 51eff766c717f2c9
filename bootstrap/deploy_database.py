"""The deploy role's grants for a provisioned source's database (components/database.py), each
scoped to this environment's names (``cb-<env>-``): the DB instance, its parameter and subnet
groups, its final snapshot, the DMS user's secret, the master secret RDS keeps (``rds!...``: created
and tagged, never read), RDS's service-linked role, and, with a DR region, the automated-backup
replication into it. ``deploy_policy.deploy_statements`` adds them; the calls they answer are in
``bootstrap/inventory_database.py``.

What the role cannot do with them is in tests/bootstrap/test_attack_paths.py: change or delete
another DB instance (or turn its deletion protection off), tag one as its own, read any secret's
value (the master's included), or create a secret outside its names.
"""

from __future__ import annotations

from typing import Any

from bootstrap.scope import Scope, statement


def database_statements(scope: Scope) -> list[dict[str, Any]]:
    """Everything ``pulumi up`` needs for provisioned databases in this environment."""
    return [*_instances(scope), *_secrets(scope), *_backups_in_dr_region(scope)]


def _instances(scope: Scope) -> list[dict[str, Any]]:
    """DB instances, parameter and subnet groups of this environment, their final snapshots, RDS's role."""
    p = scope.prefix
    own = [scope.arn("rds", f"db:{p}*"), scope.arn("rds", f"pg:{p}*"), scope.arn("rds", f"subgrp:{p}*")]
    return [
        # Created with this environment's tag (CreateDBInstance names its parameter and subnet groups).
        statement(
            "CreateTaggedDatabases",
            ["rds:CreateDBInstance", "rds:CreateDBParameterGroup", "rds:CreateDBSubnetGroup", "rds:AddTagsToResource"],
            own,
            scope.requested,
        ),
        statement(
            "ManageOwnDatabases",
            [
                "rds:ModifyDBInstance",
                "rds:DeleteDBInstance",
                "rds:ModifyDBParameterGroup",
                "rds:ResetDBParameterGroup",
                "rds:DeleteDBParameterGroup",
                "rds:ModifyDBSubnetGroup",
                "rds:DeleteDBSubnetGroup",
                "rds:AddTagsToResource",
                "rds:RemoveTagsFromResource",
            ],
            own,
            scope.tagged,
        ),  # fmt: skip
        statement(
            "ReadOwnDatabases",
            [
                "rds:DescribeDBInstances",
                "rds:DescribeDBParameterGroups",
                "rds:DescribeDBParameters",
                "rds:DescribeDBSubnetGroups",
                "rds:ListTagsForResource",
            ],
            own,
        ),  # fmt: skip
        # DeleteDBInstance's final snapshot, under the instance's own name (cb-<env>-<source>-db-final).
        statement(
            "FinalSnapshotsOfOwnDatabases",
            ["rds:CreateDBSnapshot"],
            [scope.arn("rds", f"db:{p}*"), scope.arn("rds", f"snapshot:{p}*")],
        ),
        statement(
            "RdsServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{scope.account}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS"],
            {"StringEquals": {"iam:AWSServiceName": "rds.amazonaws.com"}},
        ),
    ]


def _secrets(scope: Scope) -> list[dict[str, Any]]:
    """The DMS users' secrets (this environment's names); the master secrets RDS creates as the caller."""
    secrets = scope.arn("secretsmanager", f"secret:{scope.prefix}*")
    return [
        statement(
            "DmsUserSecrets", ["secretsmanager:CreateSecret", "secretsmanager:TagResource"], [secrets], scope.requested
        ),
        statement(
            "ManageOwnDmsUserSecrets",
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:UpdateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
            ],
            [secrets],
            scope.tagged,
        ),  # fmt: skip
        # RDS creates the master user's secret as the caller: created and tagged, its value never read.
        statement(
            "MasterSecretsRdsKeeps",
            ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
            [scope.arn("secretsmanager", "secret:rds!*")],
        ),
    ]


def _backups_in_dr_region(scope: Scope) -> list[dict[str, Any]]:
    """With a DR region: own instances' automated backups replicated there (the call names the source
    instance, and the replica is the DR region's)."""
    if not scope.dr_region:
        return []
    dr = scope.in_region(scope.dr_region)
    source = scope.arn("rds", f"db:{scope.prefix}*")
    replicas = dr.arn("rds", "auto-backup:*")
    return [
        statement(
            "ReplicateOwnDatabaseBackups",
            ["rds:StartDBInstanceAutomatedBackupsReplication", "rds:StopDBInstanceAutomatedBackupsReplication"],
            [source, replicas],
        ),
        statement("ReadOwnDatabaseBackupReplicas", ["rds:DescribeDBInstanceAutomatedBackups"], [source, replicas]),
    ]
