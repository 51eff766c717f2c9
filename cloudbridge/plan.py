"""Evaluate the Pulumi program offline, exactly as a stack would, under Pulumi's mocks.

No Pulumi CLI, plugin or AWS credentials are involved: every resource the program
declares is recorded with its inputs, its parent and its dependencies. The tests and
``python -m cloudbridge plan`` both use this.
"""

from __future__ import annotations

import json
import runpy
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "cloudbridge"


@dataclass(frozen=True)
class Declared:
    """One resource the program declared: its URN, type, name, parent, provider and inputs."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: Mapping[str, Any]  # what the program gave, plus the computed attributes the mock adds
    dependencies: tuple[str, ...]
    given: Mapping[str, Any] = field(default_factory=dict)  # exactly the inputs the program gave
    protect: bool = False
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()  # URNs this resource was known by before (own and inherited)
    identity: str = ""  # the URN the Pulumi engine gives it (full parent type chain)
    read: bool = False  # an existing resource the program only references (Resource.get)

    def json(self, key: str) -> Any:
        """An input that holds a JSON document (policies, mappings, settings)."""
        return json.loads(self.inputs[key])


@dataclass
class Plan:
    """Everything a stack's program declared when evaluated offline, and its outputs."""

    stack: str
    resources: list[Declared] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Declared]:
        """The declared resources of one Pulumi type."""
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str, type_: str | None = None) -> Declared:
        """The one resource with this name (and type); KeyError unless exactly one matches."""
        matches = [r for r in self.resources if r.name == name and (type_ is None or r.type == type_)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def descendants(self, urn: str) -> Iterator[Declared]:
        """Every resource below ``urn`` in the parent tree, depth first."""
        for r in self.resources:
            if r.parent == urn:
                yield r
                yield from self.descendants(r.urn)

    @property
    def home_region(self) -> str:
        """The stack's own region (``aws:region``): its first provider's."""
        providers = self.of_type("pulumi:providers:aws")
        return str(providers[0].inputs.get("region", "")) if providers else ""

    def region_of(self, resource: Declared) -> str:
        """The region a resource is declared in: its provider's (the DR region's provider, say)."""
        urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        regions = {p.urn: p.inputs.get("region") for p in self.of_type("pulumi:providers:aws")}
        return str(regions.get(urn) or self.home_region)

    def counts(self) -> dict[str, int]:
        """How many AWS resources of each type, sorted by type (components not counted)."""
        out: dict[str, int] = {}
        for r in self.resources:
            if r.custom:
                out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))


BOOTSTRAP_ROOT = PROJECT_ROOT / "bootstrap"


def stack_files_dir(program: Path | None = None) -> Path:
    """Where a program's stack files are: for CloudBridge and its bootstrap, the workspace's
    (``components.workspace``: the repository, or the folder ``CLOUDBRIDGE_STACKS_DIR`` names)."""
    from components.workspace import stacks_dir

    program = program or PROJECT_ROOT
    if program == PROJECT_ROOT:
        return stacks_dir()
    if program == BOOTSTRAP_ROOT:
        return stacks_dir() / "bootstrap"
    return program


def stack_file(stack: str, program: Path | None = None) -> Path:
    """The ``Pulumi.<stack>.yaml`` of a program (this project's by default)."""
    return stack_files_dir(program) / f"Pulumi.{stack}.yaml"


def stacks(program: Path | None = None) -> list[str]:
    """The stacks a program has a stack file for, sorted."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stack_files_dir(program).glob("Pulumi.*.yaml"))


def read_stack_config(stack: str, program: Path | None = None) -> dict[str, Any]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml`` as plain values."""
    with open(stack_file(stack, program)) as fh:
        return dict((yaml.safe_load(fh) or {}).get("config") or {})


def project_name(program: Path) -> str:
    """The project name in the program's ``Pulumi.yaml`` (part of every URN)."""
    with open(program / "Pulumi.yaml") as fh:
        return str(yaml.safe_load(fh)["name"])


def engine_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Values as the engine hands them to the program: strings, objects as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def evaluate(
    stack: str, config: Mapping[str, Any] | None = None, plan: Plan | None = None, program: Path | None = None
) -> Plan:
    """Run ``__main__.py`` of ``program`` (the CloudBridge program, or e.g. the bootstrap)
    for ``stack`` (its stack file, or ``config``) under mocks.

    ``plan``, if given, is filled in place, so a caller still sees what was declared
    when the program raises."""
    import pulumi
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.config import set_all_config

    program = program or PROJECT_ROOT
    project = project_name(program)
    config = read_stack_config(stack, program) if config is None else config
    plan = Plan(stack) if plan is None else plan
    account_config = config.get(f"{project}:account") or {}
    account = str(account_config.get("id", "000000000000") if isinstance(account_config, dict) else account_config)
    region = str(config.get("aws:region", "eu-west-2"))

    fake = _FakeAws(account, region)
    settings.ROOT.set(None)
    mocks.set_mocks(
        fake, project=project, stack=stack, preview=False, monitor=_recorder(plan, fake, _Identities(stack, project))
    )
    set_all_config(engine_config(config))

    main = program / "__main__.py"

    def run_program() -> pulumi.Output:
        runpy.run_path(str(main), run_name="__main__")
        exports = dict(settings.get_root_resource().outputs)
        return pulumi.Output.from_input(exports).apply(plan.outputs.update)

    sys.path.insert(0, str(PROJECT_ROOT))
    try:
        pulumi.runtime.test(run_program)()
    finally:
        sys.path.remove(str(PROJECT_ROOT))
    return plan


def _recorder(plan: Plan, fake: _FakeAws, identities: _Identities) -> Any:
    """A mock monitor that records every resource the program declares (or reads) into ``plan``."""
    from pulumi.runtime import mocks

    class Recorder(mocks.MockMonitor):
        def _record(self, request, urn: str, read: bool) -> None:
            plan.resources.append(
                Declared(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=read or bool(request.custom),
                    provider=request.provider,
                    inputs=_plain(self.resources[urn].state) if read or request.custom else {},
                    dependencies=tuple(request.dependencies),
                    given={"id": request.id} if read else _plain(fake.given.pop((request.type, request.name), {})),
                    protect=False if read else bool(request.protect),
                    retain_on_delete=False if read else bool(request.retainOnDelete),
                    identity="" if read else identities.add(urn, request),
                    aliases=() if read else identities.aliases(urn, request),
                    read=read,
                )
            )

        def RegisterResource(self, request):  # noqa: N802 (gRPC name)
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                self._record(request, response.urn, read=False)
            return response

        def ReadResource(self, request):  # noqa: N802 (gRPC name)
            response = super().ReadResource(request)
            self._record(request, response.urn, read=True)
            return response

    return Recorder(fake)


class _Identities:
    """Engine URNs and aliases, which the mock monitor only approximates.

    The engine's URN carries the whole chain of parent types
    (``Pipeline$SecureBucket$Bucket``) and a child inherits its parent's aliases (with
    the parent's old name swapped into its own name) — what keeps a renamed component's
    children from being replaced. The mock keeps one parent type and no inheritance."""

    def __init__(self, stack: str, project: str = PROJECT):
        self.prefix = f"urn:pulumi:{stack}::{project}::"
        self.chain: dict[str, tuple[str, str]] = {}  # mock URN → (qualified type, name)
        self.alias_chains: dict[str, list[tuple[str, str]]] = {}

    def _parent(self, request: Any) -> tuple[str, str] | None:
        return self.chain.get(request.parent)

    def add(self, mock_urn: str, request: Any) -> str:
        parent = self._parent(request)
        qualified = f"{parent[0]}${request.type}" if parent else request.type
        self.chain[mock_urn] = (qualified, request.name)
        return f"{self.prefix}{qualified}::{request.name}"

    def aliases(self, mock_urn: str, request: Any) -> tuple[str, ...]:
        parent = self._parent(request)
        own: list[tuple[str, str]] = []
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            if spec.noParent:
                base = None
            elif spec.parentUrn:
                base = (spec.parentUrn.split("::")[-2], spec.parentUrn.split("::")[-1])
            else:
                base = parent
            type_ = spec.type or request.type
            own.append((f"{base[0]}${type_}" if base else type_, spec.name or request.name))
        # Inherited: for each former identity of the parent, the child under it.
        for parent_type, parent_name in self.alias_chains.get(request.parent, []):
            name = request.name
            if parent and name.startswith(parent[1]):
                name = parent_name + name[len(parent[1]) :]
            own.append((f"{parent_type}${request.type}", name))
        self.alias_chains[mock_urn] = own
        return tuple(urns) + tuple(f"{self.prefix}{q}::{n}" for q, n in own)


def _plain(value: Any) -> Any:
    """Inputs as comparable data: assets and archives become their path."""
    from pulumi import asset

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (asset.FileArchive, asset.FileAsset)):
        return f"{type(value).__name__}({value.path})"
    return value


_DMS_OWN_IDS = (
    "endpointId", "replicationInstanceId", "replicationTaskId", "replicationConfigIdentifier",
    "replicationSubnetGroupId", "certificateId",
)  # fmt: skip


class _FakeAws:
    """Mock provider: echoes inputs and adds the computed attributes the program reads."""

    def __init__(self, account: str, region: str):
        self.account, self.region = account, region
        self.given: dict[tuple[str, str], dict[str, Any]] = {}
        self.provider_regions: dict[str, str] = {}  # provider id -> its region (a second region's provider)

    def new_resource(self, args):
        """A resource's computed attributes, its ARNs in its provider's region (the DR region's, say)."""
        if args.typ.startswith("pulumi:providers:") and args.inputs.get("region"):
            self.provider_regions[f"{args.name}-provider-id"] = args.inputs["region"]
        home, provider_id = self.region, (args.provider or "").rsplit("::", 1)[-1]
        self.region = self.provider_regions.get(provider_id, home)
        try:
            return self._new_resource(args)
        finally:
            self.region = home

    def _new_resource(self, args):
        from pulumi.runtime.mocks import MockResourceArgs  # noqa: F401 (type of args)

        inputs = dict(args.inputs)
        self.given[(args.typ, args.name)] = dict(inputs)
        token = args.typ
        name = inputs.get("name") or args.name
        state = dict(inputs)
        if token.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", state
        service = token.split(":")[1].split("/")[0]
        arn = (
            self._database(token, inputs, state, args.name) or f"arn:aws:{service}:{self.region}:{self.account}:{name}"
        )
        if token == "aws:s3/bucket:Bucket":
            name = inputs.get("bucket") or args.name
            arn = f"arn:aws:s3:::{name}"
            state["bucket"] = name
        elif token == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{self.account}:role/{name}"
        elif token == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            arn = f"arn:aws:iam::{self.account}:oidc-provider/{inputs['url'].removeprefix('https://')}"
        elif token == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
        elif token == "aws:kms/key:Key":
            state["keyId"] = f"key-{args.name}"
            arn = f"arn:aws:kms:{self.region}:{self.account}:key/key-{args.name}"
        elif token == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        elif token == "aws:sns/topic:Topic":
            arn = f"arn:aws:sns:{self.region}:{self.account}:{name}"
        elif token == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}"
        elif token == "aws:ec2/vpcEndpoint:VpcEndpoint":
            endpoint_id = args.resource_id or f"vpce-{abs(hash(args.name)) % 16**17:017x}"
            state.setdefault("prefixListId", "pl-7ca54015")  # the S3 prefix list in eu-west-2
            if args.resource_id or inputs.get("vpcEndpointType") == "Interface":
                state.setdefault("securityGroupIds", inputs.get("securityGroupIds") or ["sg-0e0e0e0e0e0e0e0e0"])
            state.setdefault("arn", f"arn:aws:ec2:{self.region}:{self.account}:vpc-endpoint/{endpoint_id}")
            return endpoint_id, state
        elif token.startswith("aws:redshiftserverless/"):
            # Their ARNs end in an id AWS assigns; the admin secret is named by Redshift.
            kind = token.split(":")[-1].lower()
            ident = uuid.uuid5(uuid.NAMESPACE_URL, name)
            arn = f"arn:aws:redshift-serverless:{self.region}:{self.account}:{kind}/{ident}"
            if kind == "namespace" and inputs.get("manageAdminPassword"):
                secret = f"redshift!{inputs.get('namespaceName')}-{inputs.get('adminUsername')}-Ab12Cd"
                state["adminPasswordSecretArn"] = f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{secret}"
        elif token.startswith("aws:dms/"):
            # The resource's own identifier, never another resource's ID among its inputs (whose
            # order depends on which outputs resolved first, so ARNs would vary between evaluations).
            ident = next((inputs[k] for k in _DMS_OWN_IDS if isinstance(inputs.get(k), str)), name)
            state["endpointArn"] = f"arn:aws:dms:{self.region}:{self.account}:endpoint:{ident}"
            state["replicationInstanceArn"] = f"arn:aws:dms:{self.region}:{self.account}:rep:{ident}"
            state["replicationTaskArn"] = f"arn:aws:dms:{self.region}:{self.account}:task:{ident}"
            state.setdefault("certificateArn", f"arn:aws:dms:{self.region}:{self.account}:cert:{ident}")
            arn = f"arn:aws:dms:{self.region}:{self.account}:replication-config:{ident}"
        state.setdefault("arn", arn)
        return f"{args.name}-id", state

    def _database(self, token: str, inputs: dict, state: dict, name: str) -> str | None:
        """A provisioned database's ARNs: RDS's end in the identifier the program sets (an instance's endpoint
        and master secret are RDS's); a secret's in the six characters AWS adds to its name."""
        if token == "aws:secretsmanager/secret:Secret":
            return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{inputs.get('name') or name}-Ab12Cd"
        if not token.startswith("aws:rds/"):
            return None
        base = f"arn:aws:rds:{self.region}:{self.account}"
        if token == "aws:rds/instance:Instance":
            ident = inputs.get("identifier") or name
            state.setdefault("address", f"{ident}.c1a2b3c4d5e6.{self.region}.rds.amazonaws.com")
            state.setdefault("endpoint", f"{state['address']}:{inputs.get('port') or 5432}")
            secret = f"rds!db-{uuid.uuid5(uuid.NAMESPACE_URL, ident)}-Ab12Cd"
            state.setdefault(
                "masterUserSecrets",
                [{"secretArn": f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{secret}",
                  "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"), "secretStatus": "active"}],
            )  # fmt: skip
            return f"{base}:db:{ident}"
        if token == "aws:rds/parameterGroup:ParameterGroup":
            return f"{base}:pg:{inputs.get('name') or name}"
        if token == "aws:rds/subnetGroup:SubnetGroup":
            return f"{base}:subgrp:{inputs.get('name') or name}"
        if token == "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication":
            return f"{base}:auto-backup:ab-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:26]}"
        return f"{base}:{name}"

    def call(self, args):
        if args.token == "aws:dynamodb/getTable:getTable":  # a DynamoDB source's table, ready for it
            name = args.args.get("name")
            arn = f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
            return {
                "name": name, "arn": arn, "streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES",
                "streamArn": f"{arn}/stream/2024-01-01T00:00:00.000", "pointInTimeRecovery": {"enabled": True},
            }  # fmt: skip
        return {}


def whole_numbers(value: Any) -> Any:
    """Numbers reach the mock as doubles: 365.0 is the 365 the program wrote."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value
