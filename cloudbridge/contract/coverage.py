"""``python -m cloudbridge.contract.coverage [--check]``: every argument path the program sends
to AWS, over the test fixture stacks, with what checks it.

A path is checked by the API model (enum, range, pattern, length), by what AWS documents
where the model is open (documented list, range, set or format), by a rule (a reference to
another resource, or a rule across fields or resources), by a document grammar, by the IAM
action list, or by nothing more than its type — then with the reason. A type-only path
without a reason, or an input no contract maps, is an error. ``--check`` exits 1 when the
committed report is not what the program and the contracts say (a test runs it).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass

from cloudbridge import cli
from cloudbridge.plan import PROJECT_ROOT

REPORT = PROJECT_ROOT / "tests" / "program" / "aws_contract_coverage.txt"
BOOLEAN = "type only: a boolean, and AWS takes either value"
NO_REASON = "TYPE ONLY WITHOUT A REASON: add a documented rule, a reference or a reason (contract/open_paths.py)"
# The class a path is counted under: the first that applies.
CLASSES = (
    "unmapped", "type only, no reason", "unchecked", "document", "policy", "documented", "provider list", "rule",
    "enum", "pattern", "range", "length", "structure", "type only",
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One argument path of one resource type and everything that checks it."""

    type: str
    argument: str
    checks: tuple[str, ...]
    kind: str

    def line(self) -> str:
        """The report line."""
        return f"{self.type}  {self.argument}  [{self.kind}] " + " | ".join(self.checks)


def _kind(checks: list[str], statuses: set[str]) -> str:
    if "unmapped" in statuses:
        return "unmapped"
    if statuses == {"unchecked"}:
        return "unchecked"
    prefixes = {
        "document": ("document grammar",),
        "policy": ("policy:",),
        "documented": ("documented",),
        "provider list": ("provider",),
        "rule": ("rule",),
    }
    for kind, starts in prefixes.items():
        if any(c.startswith(starts) for c in checks):
            return kind
    model = " ".join(c for c in checks if c.startswith("model "))
    for kind in ("enum", "pattern", "range", "length", "structure"):
        if any(f"{sep}{kind}" in model for sep in (": ", ", ", "item: ", "key: ", "value: ")):
            return kind
    if any(c.startswith("type only:") for c in checks):
        return "type only"
    return "type only, no reason"


def rows(coverage) -> list[Row]:
    """The coverage of one or more plans, one row per (type, path), with rules merged in."""
    from cloudbridge.contract.rules import rule_paths

    by_path: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
    for c in coverage:
        checks, statuses = by_path.setdefault((c.type, c.argument), ([], set()))
        checks.append(c.detail)
        statuses.add(c.status)
    for key, rules in rule_paths().items():
        if key in by_path:
            by_path[key][0].extend(rules)
    out = []
    for (type_, argument), (checks, statuses) in sorted(by_path.items()):
        checks = sorted(set(checks))
        kind = _kind(checks, statuses)
        if kind == "type only, no reason" and any("type only (boolean)" in c for c in checks):
            checks, kind = [*checks, BOOLEAN], "type only"
        if kind == "type only, no reason":
            checks = [*checks, NO_REASON]
        out.append(Row(type_, argument, tuple(checks), kind))
    return out


def render(coverage) -> str:
    """The committed report."""
    from cloudbridge.contract.rules import RULES

    table = rows(coverage)
    counts = Counter(r.kind for r in table)
    summary = ", ".join(f"{kind} {counts[kind]}" for kind in CLASSES if counts[kind])
    lines = [
        "# AWS contract coverage: every argument path the program sends (all fixture stacks) and what checks it.",
        "# Regenerate: python -m cloudbridge.contract.coverage   (--check exits 1 when this file is out of date)",
        f"# {len(table)} paths: {summary}",
        "",
    ]
    lines += [r.line() for r in table]
    lines += ["", "# Rules across fields and resources (cloudbridge/contract/rules.py)", ""]
    for rule in RULES:
        paths = ", ".join(f"{t.split(':')[-1]}.{p}" for t, p in rule.paths)
        lines.append(f"{rule.name} [{rule.kind}] {paths} -- {rule.source}")
    return "\n".join(lines) + "\n"


def fixture_coverage():
    """The coverage of every fixture stack (the stacks the tests own)."""
    from cloudbridge.contract.aws_contract import check_plan
    from cloudbridge.plan import evaluate, stacks
    from components.workspace import FIXTURE_STACKS, using

    coverage = set()
    with using(FIXTURE_STACKS):
        for stack in stacks():
            coverage |= check_plan(evaluate(stack)).coverage
    return coverage


def problems(text: str) -> list[str]:
    """Report lines that are errors: unmapped inputs and type-only paths without a reason."""
    return [line for line in text.splitlines() if "[unmapped]" in line or "[type only, no reason]" in line]


def main(argv: list[str] | None = None) -> int:
    """Write the report, or with --check exit 1 when the committed one is out of date or has errors."""
    parser = argparse.ArgumentParser(
        prog="python -m cloudbridge.contract.coverage", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed report is out of date")
    args = parser.parse_args(argv)
    text = render(fixture_coverage())
    errors = problems(text)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    stale = cli.generated_file(REPORT, text, args.check, "python -m cloudbridge.contract.coverage")
    return 1 if errors or stale else 0


if __name__ == "__main__":
    sys.exit(main())
