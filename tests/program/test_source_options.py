"""Source options for table sets, column exclusion and a CDC start: accepted and refused values."""

import copy

import pytest

from components.config import ConfigError
from components.stack_config import parse_stack_config
from tests.program.test_config import raw


@pytest.fixture
def dev(stack_config):
    return raw(stack_config("dev"))


def parsed(config, **edits):
    config = copy.deepcopy(config)
    serverless = next(s for s in config["sources"] if s["replication"]["mode"] == "serverless")
    serverless.update(edits)
    for key in [k for k, v in edits.items() if v is None]:
        del serverless[key]
    return next(s for s in parse_stack_config("dev", config).sources if s.name == serverless["name"])


def refused(config, **edits):
    with pytest.raises(ConfigError) as info:
        parsed(config, **edits)
    return " ".join(message for _, message in info.value.problems)


def test_added_tables_make_one_set_per_entry(dev):
    source = parsed(dev, addedTables=[["public.refunds"], ["public.a", "public.b"]])
    assert source.table_sets[1:] == [["public.refunds"], ["public.a", "public.b"]]
    assert source.table_sets[0] == source.tables
    assert ("public", "refunds") in source.table_patterns


@pytest.mark.parametrize(
    ("added", "words"),
    [
        ([[]], "empty"),
        ([["refunds"]], "schema.table"),
        ([["%.%"]], "capture it twice"),
        ([["DUP"]], "capture it twice"),
        ([["public.x"], ["public.x"]], "capture it twice"),
        ([["public.x", "public.x"]], "more than once"),
    ],
)
def test_added_tables_that_would_capture_a_table_twice_are_refused(dev, added, words):
    first = dev["sources"][0]["tables"][0]
    added = [[first if t == "DUP" else t for t in batch] for batch in added]
    assert words in refused(dev, addedTables=added)


def test_added_tables_are_refused_on_instance_tasks(dev):
    config = copy.deepcopy(dev)
    instance = next(s for s in config["sources"] if s["replication"]["mode"] == "instance")
    instance["addedTables"] = [["dbo.x"]]
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", config)
    assert "in place" in str(info.value)


def test_excluded_columns_apply_to_matching_tables_only(dev):
    table = dev["sources"][0]["tables"][0]
    source = parsed(dev, excludeColumns=[f"{table}.email", "%.%.ssn"])
    schema, name = table.split(".")
    assert source.excluded_columns(schema, name) == ["email", "ssn"]
    assert source.excluded_columns(schema, "zz_not_listed") == ["ssn"]


@pytest.mark.parametrize(
    ("columns", "words"),
    [(["nope.nope.x"], "name no table"), (["public.email"], "schema.table.column"), (["a.b.c", "a.b.c"], "once")],
)
def test_bad_exclusions_are_refused(dev, columns, words):
    assert words in refused(dev, excludeColumns=columns)


def test_cdc_start_takes_a_position_or_a_utc_time(dev):
    # PostgreSQL takes neither a time nor a slot-less position: the source as a SQL Server one.
    other = {"engine": "sqlserver", "port": 1433, "rdsInstanceIdentifier": None, "rdsClusterIdentifier": None}
    assert parsed(dev, **other, cdcStart={"time": "2026-11-30T23:00:00Z"}).cdc_start.time == "2026-11-30T23:00:00Z"
    assert parsed(dev, **other, cdcStart={"position": "0/3A0001C8"}).cdc_start.position == "0/3A0001C8"
    assert "exactly one" in refused(dev, **other, cdcStart={"time": "2026-11-30T23:00:00Z", "position": "0/1"})
    assert "UTC time" in refused(dev, **other, cdcStart={"time": "2026-11-30 23:00"})
    assert "cdc: true" in refused(dev, **other, cdc=False, cdcStart={"position": "0/1"})
    assert "PostgreSQL sources only" in refused(dev, **other, cdcStart={"position": "0/1", "slotName": "s"})


def test_a_postgres_cdc_start_is_a_position_read_through_a_named_slot(dev):
    postgres = {"engine": "postgres", "port": 5432}
    source = parsed(dev, **postgres, cdcStart={"position": "0/3A0001C8", "slotName": "cloudbridge_sales"})
    assert source.cdc_start.slot_name == "cloudbridge_sales"
    assert "slotName" in refused(dev, **postgres, cdcStart={"position": "0/3A0001C8"})
    assert "from a time" in refused(dev, **postgres, cdcStart={"time": "2026-11-30T23:00:00Z"})


def test_wildcard_patterns_that_can_select_the_same_table_overlap():
    from components.config import _overlap

    assert _overlap("sales.cust%", "sales.%ers")  # both select sales.customers
    assert not _overlap("public.x%", "public.y%") and not _overlap("a.b", "a.c")


def test_an_exclusion_whose_pattern_only_overlaps_the_tables_pattern_is_accepted(dev):
    schema = dev["sources"][0]["tables"][0].split(".")[0]
    source = parsed(dev, tables=[f"{schema}.%ers"], excludeColumns=[f"{schema}.cust%.email"])
    assert source.excluded_columns(schema, "customers") == ["email"]
