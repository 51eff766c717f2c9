"""What a deploy or preview role is scoped to, and the shape of one policy statement."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from functions.common.runtime import NAME_PREFIX, TAG_ENVIRONMENT

TAG = TAG_ENVIRONMENT  # the program's default tag on everything it creates


@dataclass(frozen=True)
class Scope:
    """The account, region, environment and state location a deploy or preview role is scoped to."""

    account: str
    region: str
    environment: str
    state_bucket: str
    state_key_arn: str
    # The DR region the program replicates to (bootstrap drRegion), if any.
    dr_region: str | None = None

    @property
    def regions(self) -> list[str]:
        """Every region the program deploys to: its own, then the DR region."""
        return [self.region, *([self.dr_region] if self.dr_region else [])]

    def in_region(self, region: str) -> Scope:
        """The same scope in another of its regions (ARNs built there)."""
        return replace(self, region=region)

    @property
    def prefix(self) -> str:
        """The name prefix of everything this environment's program creates (``cb-<env>-``)."""
        return f"{NAME_PREFIX}-{self.environment}-"

    @property
    def tagged(self) -> dict[str, Any]:
        """Condition: the resource carries this environment's tag."""
        return {"StringEquals": {f"aws:ResourceTag/{TAG}": self.environment}}

    @property
    def requested(self) -> dict[str, Any]:
        """Condition: the request tags what it creates with this environment."""
        return {"StringEquals": {f"aws:RequestTag/{TAG}": self.environment}}

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        """An ARN in this scope's region and account (either left empty where the service's ARNs have none)."""
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


def statement(sid: str, actions: list[str], resources: list[str], condition: dict | None = None) -> dict[str, Any]:
    """One Allow statement, its actions sorted."""
    out: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        out["Condition"] = condition
    return out
