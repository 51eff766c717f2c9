"""Columns kept out of the lake (excludeColumns): DMS remove-column rules, the contract check,
the published metadata, and Glue tables and views without the column."""

import shutil
from dataclasses import replace

import pytest

from cloudbridge.contract import aws_contract
from cloudbridge.contract.dms_documents import check_table_mappings
from cloudbridge.plan import evaluate
from components import catalog_tables, dms_settings, views
from components.stack_config import parse_stack_config
from components.workspace import FIXTURE_STACKS, METADATA_DIR_ENV
from functions.common.metadata import TableMetadata
from tests.program.test_config import fails, raw

GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
METADATA_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def source_with(stack_config, stack="dev", index=0, **settings):
    """A fixture stack's source as the program reads it, with ``settings`` (stack-file keys) added."""
    config = stack_config(stack)
    config["cloudbridge:sources"][index].update(settings)
    return parse_stack_config(stack, raw(config)).sources[index]


def removals(mappings):
    return [r for r in mappings["rules"] if r["rule-action"] == "remove-column"]


# --- the DMS rules -----------------------------------------------------------------------


def test_each_exclusion_is_a_remove_column_rule_in_dms_documented_shape(stack_config):
    source = source_with(stack_config, excludeColumns=["public.customers.email", "public.%.card_%"])
    mappings = dms_settings.table_mappings(source)
    n = len(mappings["rules"])
    assert removals(mappings) == [
        {
            "rule-type": "transformation",
            "rule-id": str(n - 1),
            "rule-name": f"exclude-column-{n - 1}",
            "rule-target": "column",
            "object-locator": {"schema-name": "public", "table-name": "customers", "column-name": "email"},
            "rule-action": "remove-column",
        },
        {
            "rule-type": "transformation",
            "rule-id": str(n),
            "rule-name": f"exclude-column-{n}",
            "rule-target": "column",
            "object-locator": {"schema-name": "public", "table-name": "%", "column-name": "card_%"},
            "rule-action": "remove-column",
        },
    ]
    assert check_table_mappings(mappings) == []


def test_exclusions_come_after_every_other_rule_so_a_source_without_them_keeps_its_document(stack_config):
    plain = dms_settings.table_mappings(source_with(stack_config))
    assert removals(plain) == []
    excluded = dms_settings.table_mappings(source_with(stack_config, excludeColumns=["public.orders.notes"]))
    assert excluded["rules"][: len(plain["rules"])] == plain["rules"]
    assert [r["rule-id"] for r in excluded["rules"]] == [str(i) for i in range(1, len(plain["rules"]) + 2)]


def test_an_exclusion_goes_only_to_the_table_sets_whose_tables_it_can_match(stack_config):
    source = source_with(
        stack_config,
        addedTables=[["public.refunds"], ["audit.events"]],
        excludeColumns=["public.refunds.card_number", "%.%.api_key", "public.cust%.email"],
    )

    def locators(table_set):
        return [r["object-locator"] for r in removals(dms_settings.table_mappings(source, table_set))]

    assert [loc["column-name"] for loc in locators(0)] == ["api_key", "email"]
    assert [loc["column-name"] for loc in locators(1)] == ["card_number", "api_key"]
    assert [loc["column-name"] for loc in locators(2)] == ["api_key"]
    for table_set in range(3):
        assert check_table_mappings(dms_settings.table_mappings(source, table_set)) == []


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("customers", "customers", True),
        ("cust%", "%ers", True),  # customers
        ("a%", "b%", False),
        ("%", "anything", True),
        ("a%c", "ab", False),
        ("x%y", "%z", False),
        ("%_id", "order_id", True),
        ("refunds", "customers", False),
    ],
)
def test_locator_patterns_overlap_when_some_name_matches_both(a, b, meet):
    assert dms_settings.patterns_overlap(a, b) is meet
    assert dms_settings.patterns_overlap(b, a) is meet


# --- the contract check ------------------------------------------------------------------


def _mappings_with(locator, **extra):
    return {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "include-1",
                "object-locator": {"schema-name": "public", "table-name": "customers"},
                "rule-action": "include",
            },
            {
                "rule-type": "transformation",
                "rule-id": "2",
                "rule-name": "exclude-column-2",
                "rule-target": "column",
                "object-locator": locator,
                "rule-action": "remove-column",
                **extra,
            },
        ]
    }


@pytest.mark.parametrize(
    ("locator", "extra", "words"),
    [
        ({"schema-name": "public", "table-name": "customers"}, {}, "needs column-name"),
        ({"schema-name": "public", "column-name": "email"}, {}, "needs table-name"),
        ({"schema-name": "public", "table-name": "customers", "column-name": "Op"}, {}, "would remove Op"),
        ({"schema-name": "public", "table-name": "%", "column-name": "dms%"}, {}, "dms_change_seq"),
        ({"schema-name": "%", "table-name": "%", "column-name": "%"}, {}, "Op, dms_commit_ts, dms_change_seq"),
        ({"schema-name": "public", "table-name": "customers", "column-name": "email"}, {"value": "x"}, "no value"),
    ],
)
def test_the_contract_check_refuses_a_remove_column_rule_dms_or_the_pipeline_cannot_take(locator, extra, words):
    problems = check_table_mappings(_mappings_with(locator, **extra))
    assert problems and all(path.startswith("rules[1]") for path, _ in problems)
    assert any(words in message for _, message in problems), problems


def test_the_contract_check_takes_the_user_guides_own_example():
    """ "Remove a column" in Transformation rules and actions (DMS user guide)."""
    example = _mappings_with({"schema-name": "test", "table-name": "Actor", "column-name": "col%"})
    assert check_table_mappings(example) == []


# --- the program: metadata, mappings, Glue tables and views ------------------------------


@pytest.fixture
def metadata_dir(tmp_path, monkeypatch):
    """A copy of the fixture stacks' metadata the program reads instead."""
    root = tmp_path / "metadata"
    shutil.copytree(FIXTURE_STACKS / "metadata", root)
    monkeypatch.setenv(METADATA_DIR_ENV, str(root))
    return root


def _excluding(stack_config, *entries):
    config = stack_config("dev")
    config["cloudbridge:sources"][0]["excludeColumns"] = list(entries)
    return config


def _published(plan, table):
    return TableMetadata.from_json(plan.named(f"sales-metadata-public-{table}", METADATA_OBJECT).inputs["content"])


def _replication_mappings(plan, source="sales"):
    found = [
        r
        for t in ("aws:dms/replicationConfig:ReplicationConfig", "aws:dms/replicationTask:ReplicationTask")
        for r in plan.of_type(t)
        if r.name.startswith(f"{source}-replication")
    ]
    return [r.json("tableMappings") for r in found]


def test_metadata_predating_an_exclusion_is_published_with_it(stack_config, metadata_dir):
    """The committed file does not list the column: the deploy adds the exclusion, so the validator
    refuses a file that carries it from this deploy on."""
    plan = evaluate("dev", _excluding(stack_config, "public.customers.ssn", "public.%.card_%"))
    assert _published(plan, "customers").excluded == ("card_%", "ssn")
    assert _published(plan, "orders").excluded == ("card_%",)
    committed = TableMetadata.from_json((metadata_dir / "sales/public/customers.json").read_text())
    assert _published(plan, "customers") == replace(committed, excluded=("card_%", "ssn"))
    [mappings] = _replication_mappings(plan)
    assert {r["object-locator"]["column-name"] for r in removals(mappings)} == {"ssn", "card_%"}
    assert not aws_contract.check_plan(plan).findings


def test_a_committed_file_still_listing_an_excluded_column_is_a_config_error(stack_config, metadata_dir):
    error = fails("dev", _excluding(stack_config, "public.customers.email"))
    [(key, message)] = [p for p in error.problems if "excludeColumns" in p[0]]
    assert key == "cloudbridge:sources[0].excludeColumns"
    assert "metadata/sales/public/customers.json" in message and "['email']" in message
    assert "python -m cloudbridge metadata extract --stack dev --source sales" in message


def test_a_committed_exclusion_the_config_no_longer_names_is_a_config_error(stack_config, metadata_dir):
    path = metadata_dir / "sales/public/customers.json"
    meta = TableMetadata.from_json(path.read_text())
    path.write_text(replace(meta, excluded=("ssn",)).to_json())
    error = fails("dev", stack_config("dev"))
    [(key, message)] = error.problems
    assert key == "cloudbridge:sources[0].excludeColumns" and "excludes ['ssn']" in message


def test_an_exclusion_matching_a_dms_column_is_a_config_error(stack_config, metadata_dir):
    error = fails("dev", _excluding(stack_config, "public.customers.dms_%"))
    [(key, message)] = [p for p in error.problems if "excludeColumns" in p[0]]
    assert key == "cloudbridge:sources[0].excludeColumns" and "dms_change_seq" in message


def test_an_excluded_column_is_in_neither_the_glue_table_nor_the_view(stack_config, metadata_dir):
    """Regenerated metadata (what extract writes): the column is in excluded, not in columns."""
    path = metadata_dir / "sales/public/customers.json"
    meta = TableMetadata.from_json(path.read_text())
    path.write_text(
        replace(meta, columns=tuple(c for c in meta.columns if c.name != "email"), excluded=("email",)).to_json()
    )
    plan = evaluate("dev", _excluding(stack_config, "public.customers.email"))
    table = plan.named("sales-catalog-public-customers", GLUE_TABLE).inputs
    names = [c["name"] for c in table["storageDescriptor"]["columns"]]
    assert "email" not in names and "full_name" in names
    view = plan.named("sales-catalog-public-customers-current", GLUE_TABLE).inputs
    sql = views.decode_view(view["viewOriginalText"])["originalSql"]
    assert '"full_name"' in sql and "email" not in sql
    view_columns = [c["name"] for c in view["storageDescriptor"]["columns"]]
    assert "full_name" in view_columns and "email" not in view_columns
    assert _published(plan, "customers").excluded == ("email",)


def test_glue_columns_and_view_sql_are_built_from_columns_only():
    from tests.support.moto_pipeline import orders_metadata

    meta = orders_metadata()
    without = replace(meta, columns=tuple(c for c in meta.columns if c.name != "status"), excluded=("status",))
    assert "status" not in [c["name"] for c in catalog_tables.columns(without)]
    assert '"status"' not in views.current_state_sql(without, "db", "public__orders")
    assert '"status"' in views.current_state_sql(meta, "db", "public__orders")


def test_the_published_text_of_a_table_without_exclusions_is_unchanged(stack_config, metadata_dir):
    plan = evaluate("dev", stack_config("dev"))
    for name in ("customers", "orders"):
        content = plan.named(f"sales-metadata-public-{name}", METADATA_OBJECT).inputs["content"]
        assert content == (metadata_dir / f"sales/public/{name}.json").read_text()
        assert '"excluded"' not in content
