"""Reading a stack's config: the only reader of ``pulumi.Config``.

``parse_stack_config`` is pure (a dict in, a ``StackConfig`` out) so it is tested without
Pulumi; ``load_stack_config`` feeds it from the running stack. Every problem is reported
at once, in one ``ConfigError`` naming the stack file and the full config key, before
any resource is declared; checks that span sections (regions of ARNs, files in the
repository, the warehouse's subnets) run after the models validate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from components.config import (
    DMS_CERTIFICATE_ARN,
    ENVIRONMENT_NAME,
    KMS_KEY_ARN,
    LAYER_ARN,
    NAMESPACE,
    REDSHIFT_LARGE_BASE_REGIONS,
    REGION,
    SECRET_ARN,
    ConfigError,
    StackConfig,
)
from components.naming import Naming
from components.workspace import stacks_dir

# --- turning pydantic's locations into stack-file keys -------------------------------

_TOP_LEVEL = {"region": "aws:region", "environment": "stack name"}


def _key(loc: tuple[Any, ...]) -> str:
    if not loc:
        return f"{NAMESPACE}"
    head, *rest = loc
    key = _TOP_LEVEL.get(str(head), f"{NAMESPACE}:{head}")
    for part in rest:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part in ("serverless", "instance", "dms", "dynamodb"):
            continue  # pydantic's tag of a union branch (replication mode, source kind), not a config key
        else:
            key += f".{part}"
    return key


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error["msg"])
    msg = msg.removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid":
        return f"must be one of {error.get('ctx', {}).get('expected_tags', '')}"
    value = error.get("input")
    if isinstance(value, str) and value and value in msg:  # never repeat what was given
        msg = msg.replace(value, "<the value given>")
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    # The offending value is never repeated: a password pasted into the wrong key would
    # otherwise end up in CI logs. The key names where to look.
    return msg


def parse_stack_config(stack: str, raw: Mapping[str, Any], stack_file: str | None = None) -> StackConfig:
    """Validate ``raw`` (top-level keys without the namespace, plus ``region``)."""
    stack_file = stack_file or f"Pulumi.{stack}.yaml"
    problems: list[tuple[str, str]] = []
    if not ENVIRONMENT_NAME.match(stack):
        problems.append(("stack name", f"{stack!r} must be 1-10 lower-case letters or digits"))
    if raw.get("region") is not None and not _known_region(raw.get("region")):
        problems.append(("aws:region", "not an AWS region (like eu-west-2)"))
    try:
        config = StackConfig.model_validate({**raw, "environment": stack})
    except ValidationError as exc:
        for error in exc.errors():
            problems.append((_key(error["loc"]), _message(error)))
        raise ConfigError(stack_file, problems) from None
    problems += _cross_checks(config)
    if problems:
        raise ConfigError(stack_file, problems)
    return config


def _known_region(region: Any) -> bool:
    """A region AWS has (botocore's endpoint data), not just one shaped like a region."""
    if not isinstance(region, str) or not REGION.match(region):
        return False
    import botocore.session

    session = botocore.session.get_session()
    known = {
        r for partition in session.get_available_partitions() for r in session.get_available_regions("ec2", partition)
    }
    return region in known


def _warehouse_checks(config: StackConfig) -> list[tuple[str, str]]:
    redshift, problems = config.analytics.redshift, []
    if not redshift.enabled:
        return problems
    if len(set(config.network.subnet_ids)) < 3:
        problems.append(
            (
                "cloudbridge:network.subnetIds",
                "Redshift Serverless (cloudbridge:analytics.redshift.enabled) needs subnets in at least three "
                "availability zones",
            )
        )
    for field_name, value in (("baseCapacity", redshift.base_capacity), ("maxCapacity", redshift.max_capacity)):
        if value and value > 512 and config.region not in REDSHIFT_LARGE_BASE_REGIONS:
            problems.append(
                (f"cloudbridge:analytics.redshift.{field_name}", f"above 512 RPUs is not offered in {config.region}")
            )
    return problems


def _cross_checks(config: StackConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = _warehouse_checks(config)
    if not _known_region(config.region):
        return problems  # already reported; comparing regions with it would repeat it
    secrets = [("cloudbridge:alerts.slackWebhookSecretArn", config.alerts.slack_webhook_secret_arn)]
    secrets += [
        (f"cloudbridge:sources[{i}].credentialsSecretArn", s.credentials_secret_arn)
        for i, s in enumerate(config.sources)
        if s.credentials_secret_arn  # a provisioned database's secret is the program's own
    ]
    for key, arn in secrets:
        region = SECRET_ARN.match(arn).group(1)
        if region != config.region:
            problems.append((key, f"secret is in {region}, the stack deploys to {config.region}"))
    root = stacks_dir()
    for i, source in enumerate(config.sources):
        if source.ca_bundle_file:
            path = (root / source.ca_bundle_file).resolve()
            key = f"cloudbridge:sources[{i}].caBundleFile"
            if root not in path.parents or not path.is_file():
                problems.append((key, "no such file in the repository (give a path relative to its root)"))
            elif "-----BEGIN CERTIFICATE-----" not in path.read_text(errors="replace"):
                problems.append((key, "not a PEM certificate bundle"))
        for key, pattern, value, noun in (
            ("caCertificateArn", DMS_CERTIFICATE_ARN, source.ca_certificate_arn, "certificate"),
            ("credentialsKmsKeyArn", KMS_KEY_ARN, source.credentials_kms_key_arn, "key"),
        ):
            region = pattern.match(value).group(1) if value else config.region
            if region != config.region:
                problems.append(
                    (f"cloudbridge:sources[{i}].{key}", f"{noun} is in {region}, the stack deploys to {config.region}")
                )
    problems += _replication_ids(config)
    problems += _database_checks(config)
    problems += _dr_checks(config)
    layer_region = LAYER_ARN.match(config.lambdas.validator_layer_arn).group(1)
    if layer_region != config.region:
        problems.append(
            (
                "cloudbridge:lambda.validatorLayerArn",
                f"layer is in {layer_region}, the stack deploys to {config.region}",
            )
        )
    return problems


def _dr_checks(config: StackConfig) -> list[tuple[str, str]]:
    """The deletion guard only with retained data; the DR region is another known region, and its
    notifier's secret is in it."""
    problems = []
    if config.data_protection.deletion_guard and not config.retains_data:
        problems.append(
            (
                "cloudbridge:dataProtection.deletionGuard",
                "needs retainData: with retainData off the program would delete the buckets the guard keeps "
                "everyone but the break-glass role from deleting",
            )
        )
    dr = config.dr
    if not dr.enabled:
        return problems
    if not _known_region(dr.region):
        return [*problems, ("cloudbridge:dr.region", "not an AWS region (like eu-west-1)")]
    if dr.region == config.region:
        problems.append(("cloudbridge:dr.region", "is the stack's own region: replicas must be in another region"))
    secret_region = SECRET_ARN.match(dr.slack_webhook_secret_arn).group(1)
    if secret_region != dr.region:
        problems.append(
            (
                "cloudbridge:dr.slackWebhookSecretArn",
                f"secret is in {secret_region}, the DR region is {dr.region}: the DR notifier must read it "
                "there (replicate the secret to the DR region)",
            )
        )
    return problems


# Environments whose provisioned databases run Multi-AZ, and the fewest days of backups prod keeps.
MULTI_AZ_ENVIRONMENTS = ("preprod", "prod")
PROD_BACKUP_DAYS = 7


def _database_checks(config: StackConfig) -> list[tuple[str, str]]:
    """A provisioned database is Multi-AZ in preprod and prod, and prod keeps at least a week of backups."""
    problems = []
    for i, source in enumerate(config.sources):
        provision, key = getattr(source, "provision", None), f"cloudbridge:sources[{i}].provision"  # DMS sources
        if provision is None:
            continue
        if provision.multi_az is False and config.environment in MULTI_AZ_ENVIRONMENTS:
            problems.append((f"{key}.multiAz", f"{config.environment} runs its databases Multi-AZ: remove the key"))
        if config.environment == "prod" and provision.backup_retention_days < PROD_BACKUP_DAYS:
            problems.append((f"{key}.backupRetentionDays", f"prod keeps at least {PROD_BACKUP_DAYS} days of backups"))
    return problems


def _replication_ids(config: StackConfig) -> list[tuple[str, str]]:
    """A source named like another's added table set ("sales-set2") would share its DMS name."""
    naming = Naming(config.environment, config.account.id, config.region)
    owner: dict[str, str] = {}
    problems = []
    for i, source in enumerate(config.sources):
        for table_set in range(len(source.table_sets)):
            identifier = naming.replication_id(source.name, table_set)
            if identifier in owner:
                problems.append(
                    (
                        f"cloudbridge:sources[{i}].name",
                        f"its replication {identifier} collides with {owner[identifier]}'s: rename the source",
                    )
                )
            owner[identifier] = source.name
    return problems


TOP_LEVEL_KEYS = (
    "account", "network", "alerts", "lambda", "sources", "analytics", "retainData", "dr", "dataProtection",
)  # fmt: skip


def load_stack_config() -> StackConfig:
    """Read the running stack's config (``cloudbridge:*`` and ``aws:region``)."""
    import pulumi
    from pulumi.runtime.config import CONFIG

    stack = pulumi.get_stack()
    cfg = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS:
        try:
            value = cfg.get_object(key)
        except Exception as exc:  # malformed JSON from the engine
            raise ConfigError(f"Pulumi.{stack}.yaml", [(f"{NAMESPACE}:{key}", str(exc))]) from None
        if value is not None:
            raw[key] = value
    region = pulumi.Config("aws").get("region")
    if region is not None:
        raw["region"] = region
    # Keys the program does not know are typos; say so instead of ignoring them.
    known = {f"{NAMESPACE}:{k}" for k in TOP_LEVEL_KEYS}
    all_keys = CONFIG.get() if hasattr(CONFIG, "get") else CONFIG
    unknown = sorted(k for k in all_keys if k.startswith(f"{NAMESPACE}:") and k not in known)
    config_error: ConfigError | None = None
    try:
        config = parse_stack_config(stack, raw)
    except ConfigError as exc:
        config_error = exc
    problems = [(k, "unknown key (check the spelling)") for k in unknown]
    if config_error or problems:
        raise ConfigError(f"Pulumi.{stack}.yaml", problems + (config_error.problems if config_error else []))
    return config
