"""Reason codes are a contract (object tags, logs, alerts, dashboards): one list, used and documented."""

import ast
import re

from cloudbridge.plan import PROJECT_ROOT
from functions.validator import findings

VALIDATOR = PROJECT_ROOT / "functions" / "validator"


def _codes_used() -> dict[str, str]:
    """Each code expression the validator builds a finding from, by where it is."""
    used = {}
    for path in sorted(VALIDATOR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            code = None
            called = getattr(node.func, "attr", getattr(node.func, "id", "")) if isinstance(node, ast.Call) else ""
            if called in ("Finding", "fail"):
                code = node.args[0] if node.args else None
            elif isinstance(node, ast.Dict):
                pairs = zip(node.keys, node.values, strict=True)
                code = next((v for k, v in pairs if getattr(k, "value", None) == "code"), None)
            if code is not None and not isinstance(code, ast.Subscript | ast.Attribute | ast.Name):
                raise AssertionError(f"{path.name}:{node.lineno}: a finding's code must be a named constant")
            if isinstance(code, ast.Attribute | ast.Name):
                name = code.attr if isinstance(code, ast.Attribute) else code.id
                if name.isupper():
                    used[f"{path.name}:{node.lineno}"] = name
    return used


def test_every_code_a_finding_is_built_with_is_a_listed_reason():
    used = _codes_used()
    assert len(used) >= 10  # the walk finds the findings (it would pass vacuously otherwise)
    unknown = {
        where: name for where, name in used.items() if getattr(findings, name, None) not in findings.REASON_CODES
    }
    assert unknown == {}
    assert set(used.values()) == set(findings.REASON_CODES)  # and every listed reason can be given


def test_every_reason_constant_is_listed_and_the_list_has_no_duplicates():
    constants = {v for k, v in vars(findings).items() if k.isupper() and isinstance(v, str) and k == v}
    assert constants == set(findings.REASON_CODES)
    assert len(findings.REASON_CODES) == len(set(findings.REASON_CODES))


def test_the_documented_reason_codes_are_exactly_the_listed_ones():
    text = (PROJECT_ROOT / "docs" / "validation.md").read_text()
    section = text.split("## Reason codes", 1)[1].split("\n## ", 1)[0]
    paragraph = section.strip().split("\n\n", 1)[0]
    documented = re.findall(r"`([A-Z_]+)`", paragraph)
    assert documented == list(findings.REASON_CODES)
