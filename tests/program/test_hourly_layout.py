"""A stack whose sources are partitioned by hour (``rawHistoryPartition: hour``), DMS and
DynamoDB alike: the S3 endpoint's DatePartitionSequence, every change table's projection,
the environment of every function that writes raw-history keys, and the compaction windows
all say hour, and every value is one AWS accepts (the contract gate)."""

from __future__ import annotations

import copy
import json

import pytest

from cloudbridge.contract.aws_contract import check_plan
from cloudbridge.plan import evaluate
from functions.common.layout import HOUR
from functions.common.runtime import ValidatorEnv
from tests.program.test_dynamodb import metadata_dir, with_source  # noqa: F401 (the fixture)

FUNCTION, TABLE = "aws:lambda/function:Function", "aws:glue/catalogTable:CatalogTable"


@pytest.fixture(scope="module")
def config(metadata_dir):  # noqa: F811
    config = copy.deepcopy(with_source())
    for source in config["cloudbridge:sources"]:
        source["rawHistoryPartition"] = "hour"
    return config


@pytest.fixture(scope="module")
def plan(config):
    return evaluate("dev", config)


def test_dms_writes_hour_folders(plan, config):
    dms_sources = [s["name"] for s in config["cloudbridge:sources"] if s["engine"] != "dynamodb"]
    assert dms_sources
    for name in dms_sources:
        target = plan.named(f"{name}-replication-target", "aws:dms/s3Endpoint:S3Endpoint").inputs
        assert target["datePartitionEnabled"] is True and target["datePartitionSequence"] == "YYYYMMDDHH"
        assert target["datePartitionDelimiter"] == "SLASH" and target["datePartitionTimezone"] == "Etc/UTC"


def test_every_change_table_projects_hours(plan, config):
    tables = [r for r in plan.of_type(TABLE) if "projection.dt.format" in (r.inputs.get("parameters") or {})]
    catalogs = {r.name.split("-catalog-")[0] for r in tables}
    assert catalogs >= {s["name"] for s in config["cloudbridge:sources"]}
    for table in tables:
        params = table.inputs["parameters"]
        assert params["projection.dt.format"] == "yyyy/MM/dd/HH" and params["projection.dt.interval.unit"] == "HOURS"
        assert params["projection.dt.range"] == "2020/01/01/00,NOW"
        assert table.inputs["partitionKeys"][0]["comment"] == "yyyy/MM/dd/HH folder"


def test_every_function_that_writes_raw_history_keys_is_told_the_layout(plan, config):
    told = {}
    for function in plan.of_type(FUNCTION):
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        if ValidatorEnv.SOURCE in variables:
            told[function.name] = variables.get(ValidatorEnv.PARTITION)
    names = [s["name"] for s in config["cloudbridge:sources"]]
    expected = {f"{n}-validator" for n in names} | {
        "basket-dynamodb-stream-converter",
        "basket-dynamodb-export-converter",
    }
    assert expected <= set(told), sorted(told)
    assert set(told.values()) == {"hour"}, told


def test_compaction_reads_hour_partitions(plan):
    machines = plan.of_type("aws:sfn/stateMachine:StateMachine")
    assert machines
    for machine in machines:
        definition = json.dumps(machine.inputs["definition"])
        assert HOUR.trino_format in definition and "date_add('hour'" in definition


def test_every_value_is_one_aws_accepts(plan):
    assert check_plan(plan).findings == []
