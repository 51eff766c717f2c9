"""What the deploy-role proofs share: each fixture stack's program and bootstrap plans, the
deploy role's documents, and the concrete ARNs and request context of each inventory row."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache

from bootstrap.inventory import Row
from cloudbridge.plan import BOOTSTRAP_ROOT, Declared, Plan, evaluate, read_stack_config
from components.naming import permissions_boundary_arn
from functions.common.runtime import TAG_ENVIRONMENT, TAG_MANAGED_BY, TAG_PROJECT

REGION_KEY = "aws:RequestedRegion"
TAG = TAG_ENVIRONMENT


@dataclass(frozen=True)
class Stack:
    """One fixture stack: its plans, account, region, environment and the deploy role's documents."""

    name: str
    program: Plan
    bootstrap: Plan
    account: str
    region: str
    environment: str

    @property
    def deploy(self) -> list[dict]:
        """The deploy role's inline policies: its grants and its guardrails."""
        names = ("deploy-role-policy", "deploy-role-guardrails")
        return [json.loads(self.bootstrap.named(n, "aws:iam/rolePolicy:RolePolicy").given["policy"]) for n in names]

    @property
    def boundary(self) -> dict:
        """The permissions boundary policy document."""
        return json.loads(self.bootstrap.named("boundary", "aws:iam/policy:Policy").given["policy"])

    @property
    def boundary_arn(self) -> str:
        return permissions_boundary_arn(self.account, self.environment)

    @property
    def state_key_arn(self) -> str:
        return self.bootstrap.named("state-key", "aws:kms/key:Key").inputs["arn"]

    @property
    def state_bucket(self) -> str:
        return self.bootstrap.named("state", "aws:s3/bucket:Bucket").inputs["bucket"]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


@cache
def stack(name: str) -> Stack:
    """A fixture stack, evaluated once per session."""
    config = read_stack_config(name, BOOTSTRAP_ROOT)
    return Stack(
        name=name,
        program=evaluate(name),
        bootstrap=evaluate(name, program=BOOTSTRAP_ROOT),
        account=str(config["cloudbridge-bootstrap:account"]),
        region=str(config["aws:region"]),
        environment=str(config["cloudbridge-bootstrap:environment"]),
    )


def _fake_id(prefix: str, seed: str) -> str:
    return f"{prefix}{hashlib.sha256(seed.encode()).hexdigest()[:17]}"


class Arns:
    """The concrete ARNs an inventory row is authorised on, for one declared resource."""

    def __init__(self, s: Stack):
        self.s = s
        self.by_id = {f"{r.name}-id": r for r in s.program.resources if r.custom}

    def region_of(self, r: Declared) -> str:
        """The region a resource is declared in (its provider's: the DR region's, say)."""
        return self.s.program.region_of(r) or self.s.region

    def _arn(self, r: Declared, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region_of(r)}:{self.s.account}:{resource}"

    def _bucket(self, value: str) -> str:
        name = self.by_id[value].inputs["bucket"] if value in self.by_id else value
        return f"arn:aws:s3:::{name}"

    def _role(self, value: str) -> str:
        if value in self.by_id:
            return self.by_id[value].inputs["arn"]
        return value if value.startswith("arn:") else f"arn:aws:iam::{self.s.account}:role/{value}"

    def _function(self, value: str, r: Declared | None = None) -> str:
        if value.startswith("arn:"):
            return value
        return self._arn(r, "lambda", f"function:{value}") if r else self.s.arn("lambda", f"function:{value}")

    def self_arn(self, r: Declared) -> str:  # noqa: C901 (one branch per type)
        i, t = r.inputs, r.type
        arn = lambda service, resource: self._arn(r, service, resource)  # noqa: E731 (in the resource's region)
        service = t.split(":")[1].split("/")[0]
        if t == "aws:s3/bucketObjectv2:BucketObjectv2":
            return f"{self._bucket(i['bucket'])}/{i['key']}"
        if t.startswith("aws:s3/"):
            return self._bucket(i["bucket"])
        if t == "aws:kms/alias:Alias":
            return arn("kms", i["name"])
        if t == "aws:cloudwatch/metricAlarm:MetricAlarm":
            return arn("cloudwatch", f"alarm:{i['name']}")
        if t == "aws:cloudwatch/eventRule:EventRule":
            return arn("events", f"rule/{i['name']}")
        if t == "aws:lambda/eventSourceMapping:EventSourceMapping":
            return arn("lambda", f"event-source-mapping:{_fake_id('', r.name)}")
        if t == "aws:glue/catalogDatabase:CatalogDatabase":
            return arn("glue", f"database/{i['name']}")
        if t == "aws:glue/catalogTable:CatalogTable":
            return arn("glue", f"table/{i['databaseName']}/{i['name']}")
        if t == "aws:sfn/stateMachine:StateMachine":
            return arn("states", f"stateMachine:{i['name']}")
        if t == "aws:scheduler/schedule:Schedule":
            return arn("scheduler", f"schedule/{i.get('groupName') or 'default'}/{i['name']}")
        if t == "aws:athena/workgroup:Workgroup":
            return arn("athena", f"workgroup/{i['name']}")
        if t == "aws:ec2/securityGroup:SecurityGroup":
            return arn("ec2", f"security-group/{_fake_id('sg-', r.name)}")
        if t == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            return arn("ec2", f"security-group-rule/{_fake_id('sgr-', r.name)}")
        if service == "dms":
            return self._dms(r)
        if t == "aws:rds/instance:Instance":
            return arn("rds", f"db:{i['identifier']}")
        if t in ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"):
            return arn("rds", f"{'pg' if t.endswith('ParameterGroup') else 'subgrp'}:{i['name']}")
        return i["arn"]

    def _dms(self, r: Declared) -> str:
        """DMS ARNs: subnet groups, tasks and configs end in the identifier the program sets;
        endpoints, instances and certificates in one AWS assigns (any will do)."""
        i, kind = r.inputs, r.type.split(":")[-1]
        known = {
            "ReplicationSubnetGroup": f"subgrp:{i.get('replicationSubnetGroupId')}",
            "ReplicationTask": f"task:{i.get('replicationTaskId')}",
            "ReplicationConfig": f"replication-config:{i.get('replicationConfigIdentifier')}",
            "Endpoint": f"endpoint:{_fake_id('E', r.name).upper()}",
            "S3Endpoint": f"endpoint:{_fake_id('E', r.name).upper()}",
            "ReplicationInstance": f"rep:{_fake_id('R', r.name).upper()}",
            "Certificate": f"cert:{_fake_id('C', r.name).upper()}",
        }
        return self._arn(r, "dms", known[kind])

    def of(self, row: Row, r: Declared) -> list[str]:  # noqa: C901 (one branch per kind)
        """The ARNs ``row`` is authorised on for ``r`` (none: the row does not apply to it)."""
        s, i = self.s, r.inputs
        kind = row.on
        if kind == "*":
            return ["*"]
        if kind == "self":
            return [self.self_arn(r)]
        if kind == "program-role":
            return [i["arn"]] if i["name"].startswith(f"cb-{s.environment}-") else []
        if kind == "object":
            return [self.self_arn(r)]
        if kind == "role":
            values = [i.get(k) for k in ("role", "secretsManagerAccessRoleArn", "serviceAccessRoleArn")]
            values += list(i.get("iamRoles") or [])
            return sorted({self._role(v) for v in values if v})
        if kind == "key":
            compute = i.get("computeConfig") or {}
            keys = [i.get("kmsKeyId"), i.get("kmsKeyArn"), compute.get("kmsKeyId")]
            if r.type == "aws:kms/alias:Alias":
                keys = [self._arn(r, "kms", f"key/{i['targetKeyId']}")]
            return sorted({k for k in keys if k})
        if kind == "layer":
            return list(i.get("layers") or [])
        if kind == "function":
            return [self._function(i.get("function") or i.get("functionName"), r)]
        if kind == "queue":
            return [self._arn(r, "sqs", i["queueUrl"].rsplit("/", 1)[1])]
        if kind == "topic":
            return [i.get("topic") or i["arn"]]
        if kind == "rule":
            return [self._arn(r, "events", f"rule/{i['rule']}")]
        if kind == "catalog":
            return [self._arn(r, "glue", "catalog")]
        if kind == "database":
            return [self._arn(r, "glue", f"database/{i['databaseName']}")]
        if kind == "endpoint":
            return [i["sourceEndpointArn"], i["targetEndpointArn"]]
        if kind == "rep":
            return [i["replicationInstanceArn"]]
        if kind == "certificate":
            return [i["certificateArn"]] if i.get("certificateArn") else []
        if kind in ("vpc", "subnet", "route-table", "security-group"):
            return self._network(kind, r)
        if kind == "network-interface":  # one a service (DMS) left in the group
            return [self._arn(r, "ec2", f"network-interface/{_fake_id('eni-', r.name)}")]
        if kind == "bucket":  # the bucket an object is in
            return [self._bucket(i["bucket"])]
        if kind == "s3-managed-key":  # S3's AWS managed key (aws/s3), read for an SSE-KMS object
            return [self._arn(r, "kms", f"key/{_fake_id('', r.name)}")] if i.get("kmsKeyId") else []
        if kind == "private-dns-zone":  # the managed hosted zone of a private-DNS interface endpoint (AWS's id)
            zone = f"arn:aws:route53:::hostedzone/{_fake_id('Z', r.name).upper()}"
            return [zone] if i.get("privateDnsEnabled") else []
        if kind == "dms-serverless-role":
            return [f"arn:aws:iam::{s.account}:role/aws-service-role/dms.amazonaws.com/AWSServiceRoleForDMSServerless"]
        if kind in _DATABASE_KINDS:  # a provisioned database's (components/database.py)
            return self._database(kind, r)
        if kind == "redshift-role":
            return [f"arn:aws:iam::{s.account}:role/aws-service-role/redshift.amazonaws.com/AWSServiceRoleForRedshift"]
        raise KeyError(f"{row.type}: no ARN kind {kind!r}")

    def _database(self, kind: str, r: Declared) -> list[str]:
        """What a provisioned database's calls name besides itself: its groups, its final snapshot, the
        master secret RDS creates (an id AWS assigns), RDS's service-linked role, the source instance."""
        s, i = self.s, r.inputs
        if kind == "parameter-group":
            return [s.arn("rds", f"pg:{i['parameterGroupName']}")]
        if kind == "db-subnet-group":
            return [s.arn("rds", f"subgrp:{i['dbSubnetGroupName']}")]
        if kind == "final-snapshot":
            return (
                [s.arn("rds", f"snapshot:{i['finalSnapshotIdentifier']}")] if i.get("finalSnapshotIdentifier") else []
            )
        if kind == "rds-managed-secret":
            return [s.arn("secretsmanager", f"secret:rds!db-{_fake_id('', r.name)}-Ab12Cd")]
        if kind == "rds-role":
            return [f"arn:aws:iam::{s.account}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS"]
        return [i["sourceDbInstanceArn"]]  # source-db

    def _network(self, kind: str, r: Declared) -> list[str]:
        i = r.inputs
        if kind == "vpc":
            return [self._arn(r, "ec2", f"vpc/{i['vpcId']}")] if i.get("vpcId") else []
        key = {"subnet": "subnetIds", "route-table": "routeTableIds", "security-group": "securityGroupIds"}[kind]
        values = list(i.get(key) or [])
        if kind == "security-group" and i.get("securityGroupId"):
            values.append(i["securityGroupId"])
        return [self._arn(r, "ec2", f"{kind}/{v}") for v in values]

    def vpc_of(self, r: Declared) -> str:
        """The VPC a network resource is in (the stack's configured VPC)."""
        vpc = r.inputs.get("vpcId") or read_stack_config(self.s.name)["cloudbridge:network"]["vpcId"]
        return self.s.arn("ec2", f"vpc/{vpc}")


_DATABASE_KINDS = (
    "parameter-group",
    "db-subnet-group",
    "final-snapshot",
    "rds-managed-secret",
    "rds-role",
    "source-db",
)


def context(s: Stack, arns: Arns, row: Row, r: Declared) -> dict:
    """The request context the real call carries (``row.carries``), in the resource's region."""
    region = arns.region_of(r)
    out: dict = {REGION_KEY: region}
    tags = {TAG: s.environment, TAG_MANAGED_BY: "pulumi", TAG_PROJECT: "cloudbridge"}
    for carried in row.carries:
        kind, _, value = carried.partition(":")
        if carried == "request-tag":
            out.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
            out["aws:TagKeys"] = sorted(tags)
        elif carried == "resource-tag":
            out.update({f"aws:ResourceTag/{k}": v for k, v in tags.items()})
        elif carried == "boundary":
            boundary = _boundary_of(arns, r)
            if boundary:
                out["iam:PermissionsBoundary"] = boundary
        elif kind == "passed-to":
            out["iam:PassedToService"] = value
        elif carried == "vpc":
            out["ec2:Vpc"] = arns.vpc_of(r)
        elif carried == "function-arn":
            out["lambda:FunctionArn"] = arns._function(r.inputs["functionName"], r)
        elif carried == "policy-arn":
            out["iam:PolicyARN"] = r.inputs["policyArn"]
        elif carried == "route53-vpcs":  # Route 53's form: VPCId=<vpc-id>,VPCRegion=<region>
            out["route53:VPCs"] = [f"VPCId={arns.vpc_of(r).rsplit('/', 1)[1]},VPCRegion={s.region}"]
        elif kind == "request-alias":
            out["kms:RequestAlias"] = value
        elif kind == "create-action":
            out["ec2:CreateAction"] = value
        elif kind == "via":
            out["kms:ViaService"] = f"{value}.{region}.amazonaws.com"
        elif kind == "service-name":
            out["iam:AWSServiceName"] = value
    return out


def _boundary_of(arns: Arns, r: Declared) -> str | None:
    """The permissions boundary the role (or the role a policy belongs to) is declared with."""
    if r.type == "aws:iam/role:Role":
        return r.inputs.get("permissionsBoundary")
    role = r.inputs.get("role")
    if role in arns.by_id:
        return arns.by_id[role].inputs.get("permissionsBoundary")
    named = [x for x in arns.s.program.of_type("aws:iam/role:Role") if x.inputs.get("name") == role]
    return named[0].inputs.get("permissionsBoundary") if named else None


def arn_matches_format(arn: str, formats: list[str]) -> bool:
    """The ARN has the shape of one of IAM's resource ARN formats for the action."""
    if formats == ["*"]:
        return arn == "*"
    for fmt in formats:
        parts = re.split(r"(\$\{[A-Za-z]+\})", fmt)
        pattern = "".join(
            _PLACEHOLDERS.get(part, ".+") if part.startswith("${") else re.escape(part).replace(r"\*", ".+")
            for part in parts
        )
        if re.fullmatch(pattern, arn):
            return True
    return False


_PLACEHOLDERS = {"${Partition}": "aws", "${Account}": r"\d{12}", "${Region}": "[a-z0-9-]+"}
