"""One module owns the names the program and the functions must agree on
(functions/common/runtime.py): nothing else spells them."""

import re

import pytest

from cloudbridge.plan import PROJECT_ROOT
from functions.common import runtime

CODE = ["components", "functions", "cloudbridge", "bootstrap", "__main__.py"]
CONTRACT = sorted(
    {
        *[v for k, v in vars(runtime.ValidatorEnv).items() if not k.startswith("_")],
        *[v for k, v in vars(runtime.NotifierEnv).items() if not k.startswith("_")],
        *[v for k, v in vars(runtime.GenerationsEnv).items() if not k.startswith("_")],
        runtime.OUTCOME_TAG,
        runtime.REASONS_TAG,
        runtime.REPLAYED_TAG,
        runtime.TAG_SOURCE,
        runtime.TAG_ENVIRONMENT,
        runtime.TAG_PURPOSE,
        runtime.ALERT_MARKERS,
    }
)


def _sources():
    for entry in CODE:
        path = PROJECT_ROOT / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


@pytest.mark.parametrize("name", CONTRACT)
def test_only_the_runtime_module_spells_a_contract_name(name):
    spelled = [
        f"{path.relative_to(PROJECT_ROOT)}:{n}"
        for path in _sources()
        if path != PROJECT_ROOT / "functions" / "common" / "runtime.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(rf"[\"'\[]{re.escape(name)}[\"'=\]]", line)
    ]
    assert spelled == [], f"{name!r} spelled outside functions/common/runtime.py: {spelled}"


def test_alarm_descriptions_carry_the_source_the_notifier_reads_back():
    description = runtime.alarm_description("sales", "CDC lag above 900 s")
    assert re.search(runtime.ALARM_SOURCE_PATTERN, description).group(1) == "sales"
