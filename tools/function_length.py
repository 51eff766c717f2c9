"""Lint: no function or method longer than MAX_LINES outside tests.

A long function hides the structure a reader needs (a component is a short list of named,
typed children, each built by a small method). ``ALLOWED`` may name a function with the
reason it is better whole; an entry that is no longer long fails the check, so the list
cannot go stale.

Run: ``python tools/function_length.py`` (part of ``make lint``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_LINES = 60
ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".build", "tests", "node_modules", ".git"}

# "path::qualified.name": why it is better whole.
ALLOWED: dict[str, str] = {}


def long_functions(root: Path = ROOT, limit: int = MAX_LINES) -> dict[str, int]:
    """``path::qualname`` -> lines, for every function longer than ``limit``."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIP & set(relative.parts):
            continue
        tree = ast.parse(path.read_text(), filename=str(relative))
        for qualname, node in _functions(tree):
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found[f"{relative.as_posix()}::{qualname}"] = lines
    return found


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"{prefix}{node.name}", node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")


def problems(found: dict[str, int], allowed: dict[str, str] = ALLOWED) -> list[str]:
    """What breaks the rule: each long function not allowed, each stale or unexplained allowance."""
    out = [
        f"{name}: {lines} lines (at most {MAX_LINES}); split it, or allow it with a reason"
        for name, lines in sorted(found.items())
        if name not in allowed
    ]
    out += [f"{name}: allowed but no longer long; remove it from ALLOWED" for name in sorted(set(allowed) - set(found))]
    out += [f"{name}: allowed without a reason" for name, why in allowed.items() if not why.strip()]
    return out


def main() -> int:
    """Print the problems to stderr; exit status 1 if there are any."""
    found = problems(long_functions())
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
