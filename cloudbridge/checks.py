"""A preflight check's outcome: shared by the database and DynamoDB preflights."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One preflight check's outcome, with the fix to apply when it fails."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = True

    def line(self) -> str:
        """The check as a terminal line: PASS, FAIL (blocking) or WARN, and the fix when it failed."""
        mark = "PASS" if self.ok else ("FAIL" if self.blocking else "WARN")
        text = f"{mark}  {self.name}: {self.detail}"
        return text + (f"\n      fix: {self.fix}" if not self.ok and self.fix else "")
