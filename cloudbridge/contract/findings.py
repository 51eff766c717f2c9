"""What the contract check reports: findings (values AWS would refuse) and coverage (what checks each path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudbridge.plan import whole_numbers  # numbers cross the engine's wire as doubles

# How a value the provider marks secret crosses the mock monitor: {<signature>: <secret sig>, "value": v}.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


@dataclass(frozen=True)
class Finding:
    """A value AWS would refuse: the resource, its type, the argument path, the value and why."""

    resource: str
    type: str
    argument: str
    value: Any
    problem: str

    def __str__(self) -> str:
        return f"{self.type} {self.resource!r} argument {self.argument} = {self.value!r}: {self.problem}"

    def line(self) -> str:
        """One line for ``plan``: resource, argument and what AWS accepts, without the value
        (a value from a secret would otherwise reach a terminal or CI log)."""
        return f"{self.type.split(':')[-1]} {self.resource}: {self.argument}: {self.problem}"


@dataclass(frozen=True)
class Covered:
    """One check of one argument path: ``status`` checked | unchecked | unmapped, ``detail`` what checks it."""

    type: str
    argument: str
    status: str
    detail: str


@dataclass
class Report:
    """Findings and coverage of one or more plans."""

    findings: list[Finding] = field(default_factory=list)
    coverage: set[Covered] = field(default_factory=set)


def unsecret(value: Any) -> Any:
    """The plain value inside Pulumi's secret wrappers (the API receives the value itself)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value and "value" in value:
            return unsecret(value["value"])
        return {k: unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v) for v in value]
    return value


def given_values(resource) -> dict[str, Any]:
    """The inputs the program gave a resource, as the API would receive them (whole numbers, no secret wrappers)."""
    return unsecret(whole_numbers(dict(resource.given)))
