"""The embedded default end to end: real PostgreSQL + CDC slot, moto server, the real
validator and notifier, DuckDB current state. Smaller volume than the demo."""

import os
import signal
import subprocess
import sys
import time

import pytest

from cloudbridge.plan import PROJECT_ROOT
from cloudbridge.sandbox.report import render
from cloudbridge.sandbox.run import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report():
    return run(duration=10, scale=0.4, rate=30, batch_interval=1.0, quiet=True)


def test_microsecond_sources_rebuild_equal_too():
    """timestampUnit us: files, metadata and the comparison all carry microseconds."""
    report = run(duration=4, scale=0.2, rate=30, batch_interval=1.0, quiet=True, timestamp_unit="us")
    assert report["files"]["drained"], ("files were left unvalidated", report["files"], report["handlerErrors"])
    assert report["timestampUnit"] == "us" and report["timestampColumns"]["public.orders"] == ["timestamp(us)"]
    for table in ("public.customers", "public.orders", "public.order_lines"):
        t = report["tables"][table]
        assert t["sourceRows"] > 0 and t["missing"] == t["extra"] == t["different"] == [], (table, report["files"])


def test_current_state_equals_the_source_after_inserts_updates_and_deletes(report):
    assert report["timestampUnit"] == "ms" and report["timestampColumns"]["public.orders"] == ["timestamp(ms)"]
    assert report["ok"], report
    changes = report["changes"]
    assert changes["inserts"] > 0 and changes["updates"] > 0 and changes["deletes"] > 0
    # CDC captures every change but those committed while the slot was gone (the slot-loss scenario
    # drops it mid-traffic; the reload brings those rows back): how many depends on the traffic in
    # that window, so they are counted, not assumed away.
    without_slot = report["slotLoss"]["changesWithoutSlot"]
    assert changes["captured"] + without_slot >= changes["inserts"] + changes["deletes"], (changes, without_slot)
    for table in ("public.customers", "public.orders", "public.order_lines"):
        t = report["tables"][table]
        assert t["sourceRows"] > 0 and t["sourceRows"] == t["currentRows"], table
        assert t["missing"] == t["extra"] == t["different"] == [], table


def test_the_schema_change_was_quarantined_alerted_and_replayed(report):
    """The whole loop: quarantine, alert, metadata regenerated from the live database and
    published, replay — then products, new column included, equal the source."""
    files = report["files"]
    assert files["failed"] >= 1 and files["failedByTable"] == {"public.products": files["failed"]}
    assert files["failedReasons"] == {"UNEXPECTED_COLUMNS": files["failed"]}
    assert report["alerts"]["kinds"].get("validation failures", 0) >= 1
    # The sales source's own alert, not the DynamoDB source's (both post through the environment's topic).
    assert report["alerts"]["bySource"]["sales"].get("validation failures", 0) >= 1
    assert report["alerts"]["bySource"]["basket"].get("validation failures", 0) >= 1
    assert files["replayed"] == files["failed"] > 0 and files["stillQuarantined"] == 0
    products = report["tables"]["public.products"]
    assert products["sourceRows"] == products["currentRows"] > 0
    assert products["missing"] == products["extra"] == products["different"] == []


def test_a_table_reloaded_mid_run_equals_the_source(report):
    """order_lines is truncated on the source (DMS does not capture it) and reloaded while CDC
    runs: the current state comes from the newest load plus the changes after it, so the
    table equals the source — where a union of both loads would bring truncated rows back."""
    reload = report["reload"]
    assert reload["table"] == "public.order_lines" and reload["truncatedRows"] > 0
    assert reload["reloadedRows"] is not None
    lines = report["tables"]["public.order_lines"]
    assert lines["matchesSource"] and lines["missing"] == lines["extra"] == lines["different"] == []
    assert reload["unionOfLoadsDiffers"] > 0, "without the generation rule the view would be wrong"
    # An order committed after the reload read the table and before its first row was written: in
    # no snapshot, its changes older than every load row; kept, because the generation starts at
    # the load's start (table statistics), not at its first row's write time.
    assert reload["windowLines"] > 0 and reload["windowRowsOlderThanFirstLoadRow"] == reload["windowLines"]


def test_every_landed_file_was_validated_and_nothing_lost(report):
    files = report["files"]
    assert files["drained"] and files["landed"] == files["passed"] + files["failed"]
    assert report["lambdaLog"]["validations"] >= files["landed"]
    assert report["handlerErrors"] == {}
    assert report["lagSeconds"]["files"] > 0 and report["lagSeconds"]["max"] < 30
    assert report["glueTables"] == ["public__customers", "public__order_lines", "public__orders", "public__products"]
    assert report["unregisteredPartitions"] == [], "every raw-history day is a Glue partition (Spectrum reads no other)"


def test_the_dynamodb_table_equals_a_scan_of_it(report):
    """The DynamoDB source: a full load through an export laid out as AWS writes it and the real
    export converter, then every change through GetRecords and the real stream converter; its
    current state equals a scan of the table, and the report says so."""
    dynamodb = report["dynamodb"]
    assert dynamodb["ok"], dynamodb
    table = report["tables"]["dynamodb.cart_items"]
    assert table["sourceRows"] == table["currentRows"] > 0
    assert table["missing"] == table["extra"] == table["different"] == [] and table["matchesSource"]
    # Its line in the current-state comparison, and in the compacted one.
    lines = [line for line in render(report).splitlines() if line.strip().startswith("dynamodb.cart_items")]
    assert len(lines) == 2 and all("identical" in line and "differ" not in line for line in lines), lines
    assert all(check.startswith("PASS") for check in dynamodb["preflight"]) and len(dynamodb["preflight"]) == 4

    export, traffic, stream = dynamodb["export"], dynamodb["traffic"], dynamodb["stream"]
    assert export["items"] == traffic["seeded"] > 0 and export["marker"] and export["loadFiles"]
    assert {"_started", "manifest-files.json", "manifest-summary.json"} <= set(export["objects"])
    assert sum(1 for key in export["objects"] if key.startswith("data/")) >= 2
    assert traffic["puts"] > 0 and traffic["updates"] > 0 and traffic["deletes"] > 0
    every_change = traffic["seeded"] + traffic["puts"] + traffic["updates"] + traffic["deletes"]
    assert stream["records"] == every_change, "a change not read through GetRecords"
    assert stream["batches"] >= 2 and stream["errors"] == [] and stream["onFailure"] == 0


def test_the_undeclared_dynamodb_attribute_was_quarantined_then_replayed(report):
    dynamodb = report["dynamodb"]
    files, undeclared = dynamodb["files"], dynamodb["undeclared"]
    assert undeclared["attribute"] == "gift_message" and undeclared["written"] >= 1
    assert files["failed"] >= 1 and files["failedReasons"] == {"UNEXPECTED_COLUMNS": files["failed"]}
    assert files["quarantineNames"] == ["gift_message"], "the quarantined files carry the undeclared attribute"
    assert files["replayed"] == files["failed"] and files["stillQuarantined"] == 0
    assert files["drained"] and files["landed"] == files["passed"] + files["failed"]
    # The items carrying it are in the identical comparison: it is in the view after the replay.
    assert undeclared["itemsCarrying"] >= 1 and report["tables"]["dynamodb.cart_items"]["different"] == []
    assert dynamodb["handlerErrors"] == {} and dynamodb["unregisteredPartitions"] == []


COMPACTED = ("public.customers", "public.order_lines", "public.orders", "public.products", "dynamodb.cart_items")


def test_with_compaction_every_table_equals_the_source_through_state_and_tail(report):
    """Compaction on: each table's state built by the deployed MERGE on the schedule (across the
    slot loss's and the reload's new generations, a rebuild each) and by the sweep after the
    replay; the view over state + tail equals the source, every table, the DynamoDB one too."""
    compaction = report["compaction"]
    assert compaction["ok"] and compaction["scheduleErrors"] == [], compaction
    assert sorted(compaction["tables"]) == sorted(COMPACTED)
    for table in COMPACTED:
        t = compaction["tables"][table]
        assert t["compacted"] and t["errors"] == [] and t["matchesSource"], (table, t)
        assert t["sourceRows"] == t["currentRows"] > 0 and t["missing"] == t["extra"] == t["different"] == []
        assert t["runs"].get("rebuild", 0) >= 1 and sum(t["runs"].values()) >= 2, (table, t["runs"])
        # The view reads the state and a tail, not the history: fewer change rows than the table's.
        assert 0 <= t["tailRows"] < t["historyRows"] and t["stateRows"] >= t["currentRows"]
    # The reload and the slot loss made new generations: the tables they touched were rebuilt on the schedule.
    assert compaction["tables"]["public.order_lines"]["runs"]["rebuild"] >= 2
    lines = [line for line in render(report).splitlines() if "state " in line and " tail " in line]
    assert len(lines) == len(COMPACTED) and all("identical" in line for line in lines), lines


@pytest.fixture
def scratch():
    """A temp dir of its own that the 'postgres' user can enter (pytest's is private)."""
    import shutil
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_ctrl_c_stops_and_removes_everything(scratch):
    tmp_path = scratch
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cloudbridge", "sandbox", "--duration", "60"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    deadline = time.monotonic() + 60
    for line in process.stdout:
        output.append(line)
        if "CDC running" in line or time.monotonic() > deadline:
            break
    assert any(tmp_path.iterdir()), "the sandbox works in temp dirs"
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(output) + rest
    assert "everything started has been stopped and removed" in rest
    assert list(tmp_path.iterdir()) == []
    postgres = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert postgres.stdout.strip() == "", "a server outlived the sandbox"
