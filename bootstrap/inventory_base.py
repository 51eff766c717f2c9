"""What every call-inventory module shares: the row shape and how a type's rows are written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

TF = "internal/service"
PROVIDER = "pulumi-aws"


@dataclass(frozen=True)
class Row:
    """One call the provider makes for one resource type."""

    type: str  # the Pulumi type token
    phase: str  # create | read | update | tag | delete
    action: str  # the IAM action the call is authorised as
    on: str  # the ARN kind the call is authorised on (see the module docstring)
    source: str  # terraform-provider-aws path and function (or pulumi-aws)
    carries: tuple[str, ...] = ()
    seen: bool = False
    note: str = ""
    deployer: str = "deploy-role"  # or "administrator" (the bootstrap's own resources)


@dataclass(frozen=True)
class _Type:
    """Rows of one type: (phase, action, on, function, carries..., {note/seen})."""

    token: str
    path: str
    calls: list[tuple] = field(default_factory=list)
    seen: bool = False
    deployer: str = "deploy-role"

    def rows(self) -> Iterable[Row]:
        for call in self.calls:
            phase, action, on, function, *rest = call
            extra = rest[-1] if rest and isinstance(rest[-1], dict) else {}
            carries = tuple(c for c in rest if isinstance(c, str))
            source = function if function.startswith(PROVIDER) else f"{TF}/{self.path} {function}"
            yield Row(
                type=self.token,
                phase=phase,
                action=action,
                on=on,
                source=source,
                carries=carries,
                seen=extra.get("seen", self.seen),
                note=extra.get("note", ""),
                deployer=self.deployer,
            )


RT, TAGS = "resource-tag", "request-tag"
_AUTH = "an authorisation AWS makes on the caller, not a provider call"


def _seen(note: str) -> dict:
    """Read in this change, with a note on what the code showed."""
    return {"seen": True, "note": note}
