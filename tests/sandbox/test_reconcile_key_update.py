"""reconcile in the sandbox: a primary key updated at the source reaches S3 as one U row
carrying only the new key (what DMS writes without before-image columns), so the old key
stays in the current-state view; reconcile reports it as extra, and exits 1."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from cloudbridge import cli, reconcile
from cloudbridge.localpg import LocalPostgres
from cloudbridge.metadata import committed
from cloudbridge.sandbox.dms import DmsStandIn
from cloudbridge.sandbox.run import METADATA_ROOT
from cloudbridge.sandbox.traffic import Workload, create_schema

pytestmark = pytest.mark.slow


def test_reconcile_reports_a_key_updated_away(tmp_path, monkeypatch, capsys):
    tables = list(committed(METADATA_ROOT, "sales").values())
    with LocalPostgres(database="sales") as pg, mock_aws():
        import psycopg

        s3 = boto3.client("s3", region_name="eu-west-2")
        s3.create_bucket(Bucket="landing", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        with psycopg.connect(pg.conninfo, autocommit=True) as db:
            create_schema(db)
            Workload(db).seed(customers=5, products=5, orders=5)
            dms = DmsStandIn(pg.conninfo, s3, "landing", tables)
            try:
                dms.create_slot()
                dms.full_load()
                old = db.execute("select order_id, line_no from order_lines order by 1, 2 limit 1").fetchone()
                db.execute("update order_lines set line_no = 99 where order_id = %s and line_no = %s", old)
                dms.poll()
                dms.flush(force=True)
            finally:
                dms.drop_slot()
                dms.close()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="landing"):
            for item in page["Contents"]:
                (tmp_path / item["Key"]).parent.mkdir(parents=True, exist_ok=True)
                s3.download_file("landing", item["Key"], str(tmp_path / item["Key"]))
        monkeypatch.setenv("CLOUDBRIDGE_DSN", pg.dsn)
        code = reconcile.main(
            ["--stack", "dev", "--source", "sales", "--table", "public.order_lines", "--raw-history", str(tmp_path)]
        )
    out = capsys.readouterr().out
    print(out)
    assert code == cli.FINDINGS
    assert f"extra 1 (in the current state, not in the source (deleted, or its key updated away)): {tuple(old)}" in out
    assert "missing" not in out and "different" not in out  # the new key arrived with its full row
