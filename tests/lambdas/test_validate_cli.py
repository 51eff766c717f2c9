"""python -m cloudbridge validate: the validator's exact verdict on one file, by hand."""

import json

import pytest

from cloudbridge import dmsfiles
from cloudbridge import validate as cli
from tests.support.moto_pipeline import orders_metadata


@pytest.fixture
def metadata_file(tmp_path):
    path = tmp_path / "orders.json"
    path.write_text(orders_metadata().to_json())
    return path


def write(tmp_path, name, table):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dmsfiles.to_bytes(table))
    return path


def test_a_good_file_passes(tmp_path, metadata_file, capsys):
    path = write(
        tmp_path, "public/orders/LOAD00000001.parquet", dmsfiles.synthetic_table(orders_metadata(), "load", 50)
    )
    assert cli.main([str(path), "--table", "public.orders", "--metadata", str(metadata_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["outcome"] == "passed" and report["rows"] == 50 and report["kind"] == "load"


def test_a_failing_file_prints_its_reasons(tmp_path, metadata_file, capsys):
    table = dmsfiles.synthetic_table(orders_metadata(), "cdc", 50, op="IUD", null_at={"order_id": 7})
    path = write(tmp_path, "quarantine/orders-copy.parquet", table)
    assert cli.main([str(path), "--table", "public.orders", "--metadata", str(metadata_file)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED") and "NULL_IN_REQUIRED_COLUMN: column 'order_id' has 1 null(s)" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing.parquet", "--table", "public.orders"], "missing.parquet: no such file"),
        (["{file}", "--table", "orders"], "--table schema.table is required"),
        (["{file}", "--table", "public.orders"], "give --metadata PATH, or --source NAME"),
        (["{file}", "--table", "public.orders", "--metadata", "nope.json"], "--metadata nope.json: no such file"),
        (["{file}", "--table", "public.refunds", "--source", "sales"], "no committed metadata for public.refunds"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    path = write(tmp_path, "x.parquet", dmsfiles.synthetic_table(orders_metadata(), "load", 5))
    assert cli.main([a.replace("{file}", str(path)) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "Traceback" not in err and len(err.splitlines()) == 1
