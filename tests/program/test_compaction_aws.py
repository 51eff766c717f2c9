"""The compaction state machine (components/compaction.py) as data: the statements it runs are
compaction_sql's, every placeholder of each is filled by the values the state before it reads,
every state is reachable and ends, and a source's definition stays under Step Functions' 1 MiB."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

from components import compaction
from components import compaction_sql as csql
from tests.program.test_current_state_property import META

# The config section's defaults (components/config.py, Compaction).
CONFIG = SimpleNamespace(overlap_minutes=60, late_arrival_days=3, reload_hours=24, snapshot_retention_days=5)
ITEM = compaction.table_item(META, "cb_dev_s", "cb-dev-analytics", "s3://b/s/public/t/", CONFIG, False)
DEFINITION = compaction.definition([ITEM])
STATES = DEFINITION["States"]["Tables"]["ItemProcessor"]["States"]


def test_the_statements_are_the_sql_builders():
    names = csql.Names("cb_dev_s", "public__t")
    assert ITEM["merge"] == csql.merge_sql(META, names)
    assert ITEM["view"] == csql.view_sql(META, names)
    assert ITEM["create"].startswith("CREATE TABLE IF NOT EXISTS `cb_dev_s`.`public__t_state`")
    assert "'table_type'='ICEBERG'" in ITEM["create"] and "LOCATION 's3://b/s/public/t/'" in ITEM["create"]
    assert ITEM["optimize"] == "OPTIMIZE cb_dev_s.public__t_state REWRITE DATA USING BIN_PACK"
    assert ITEM["vacuum"] == "VACUUM cb_dev_s.public__t_state"
    assert "ViewOriginalText" not in ITEM["compactedView"] and ITEM["fullView"]["ViewOriginalText"]
    assert ITEM["compactedView"]["Description"].endswith("the changes since the last run)")


def _keys(expression: str) -> set[str]:
    return set(re.findall(r"'(\w+)': ", expression))


def test_every_placeholder_is_filled_by_the_state_that_runs_it():
    given = {
        "Watermark": (ITEM["watermark"], "{'cut': $cut, 'mode': $mode}"),
        "Plan": (ITEM["plan"], STATES["Plan"]["Arguments"]["QueryString"]),
        "Merge": (ITEM["merge"], STATES["Merge"]["Arguments"]["QueryString"]),
    }
    watermark_columns = {"w_ok", "w_start", "w_end", "window_dt", "window_ts"}
    for state, (template, expression) in given.items():
        provided = _keys(expression) | (watermark_columns if state == "Plan" else set())
        assert set(csql.placeholders(template)) <= provided, state
    assert set(csql.placeholders(ITEM["view"])) <= _keys(STATES["View"]["Arguments"]["TableInput"])


def test_athena_states_wait_for_their_query_in_the_workgroup():
    athena = [s for s in STATES.values() if s.get("Resource", "").endswith("startQueryExecution.sync")]
    assert len(athena) == 8  # optimize, vacuum, create, watermark, plan, drop, recreate, merge
    for state in athena:
        assert state["Arguments"]["WorkGroup"] == "{% $t.workgroup %}" and state["Retry"]
    assert ITEM["workgroup"] == "cb-dev-analytics"


def test_every_state_is_reachable_and_every_path_ends():
    reached, todo = set(), ["Maintain?"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        state = STATES[name]
        nexts = [state.get("Next"), state.get("Default")] + [c["Next"] for c in state.get("Choices", [])]
        todo += [n for n in nexts if n]
        assert any(n for n in nexts) or state.get("End") or state["Type"] == "Succeed", name
    assert reached == set(STATES)


def test_a_source_of_fifty_tables_fits_step_functions_limit():
    size = len(json.dumps(compaction.definition([ITEM] * 50)))
    assert size < compaction.MAX_DEFINITION, size
