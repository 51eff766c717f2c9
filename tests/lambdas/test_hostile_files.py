"""Files in the landing bucket are hostile input: no file can take the validator down,
cost the other files of its batch, or be retried forever.

Every test runs the real handler against moto with DMS-shaped files."""

import json
import mmap
import os
import time

import pytest

from cloudbridge import dmsfiles
from functions.validator import findings, isolation, reader
from functions.validator import footer as pf
from tests.support import footer_flips as ff
from tests.support.moto_pipeline import FAIL, LANDING, RAW, orders_metadata

WHEN_KEY = "public/orders/2024/03/05/20240305-1345{:05d}.parquet"


def multi_row_group_file(**write) -> bytes:
    table = dmsfiles.synthetic_table(orders_metadata(), "cdc", 12_000, op="IUD")
    return dmsfiles.to_bytes(table, row_group_length=1000, **write)


def good_file() -> bytes:
    return dmsfiles.to_bytes(dmsfiles.synthetic_table(orders_metadata(), "cdc", 50, op="IUD"))


def reasons(pipeline, key):
    head = pipeline.s3.head_object(Bucket=FAIL, Key=key)
    return {f["code"]: f["message"] for f in json.loads(head["Metadata"]["cloudbridge-reasons"])}


@pytest.fixture(scope="module")
def footer_sample():
    """A deterministic sample of single-byte footer mutations, and those of them that a
    plain pyarrow reader dies of (shown in a subprocess, so the sample proves something)."""
    data = multi_row_group_file()
    sample = ff.type_field_flips(data)[::40] + ff.stride_flips(data, stride=41)
    return data, sample, ff.aborting(data, sample)


@pytest.mark.slow
def test_the_sample_includes_flips_that_abort_plain_pyarrow(footer_sample):
    _, sample, aborting = footer_sample
    assert len(aborting) >= 5, "the sample must contain mutations that kill an unprotected reader"
    assert len(sample) > 300


@pytest.mark.slow
def test_no_footer_mutation_costs_the_batch(pipeline, footer_sample):
    data, sample, aborting = footer_sample
    others = [f for f in sample if f not in aborting][::8]
    for i, flip in enumerate(aborting + others):
        good_a = pipeline.land(WHEN_KEY.format(3 * i), good_file())
        bad = pipeline.land(WHEN_KEY.format(3 * i + 1), ff.mutate(data, flip))
        good_b = pipeline.land(WHEN_KEY.format(3 * i + 2), good_file())
        result = pipeline.validate(good_a, bad, good_b)
        assert result == {"batchItemFailures": []}, (flip, result)  # decided, never retried
        assert pipeline.keys(LANDING) == [], flip
        assert good_a not in pipeline.keys(FAIL) and good_b not in pipeline.keys(FAIL), flip
    raw, failed = len(pipeline.keys(RAW)), len(pipeline.keys(FAIL))
    assert raw + failed == 3 * len(aborting + others) and failed >= len(aborting)
    for i, _flip in enumerate(aborting):  # every flip that kills pyarrow is quarantined with a reason
        key = WHEN_KEY.format(3 * i + 1)
        assert key in pipeline.keys(FAIL)
        assert set(reasons(pipeline, key)) & {findings.NOT_PARQUET, findings.UNREADABLE_FILE}


def test_a_reader_crash_costs_only_its_file(pipeline, monkeypatch):
    """Whatever slips past the footer check and kills the reader is decided for that file."""
    real = reader.FileReader.window

    def crash_on_bad(self, parts, columns, schema):
        if "BAD" in self.key.filename:
            os.abort()
        return real(self, parts, columns, schema)

    monkeypatch.setattr(reader.FileReader, "window", crash_on_bad)
    good = pipeline.land(WHEN_KEY.format(1), good_file())
    bad = pipeline.land("public/orders/2024/03/05/BAD.parquet", good_file())
    assert pipeline.validate(good, bad) == {"batchItemFailures": []}
    assert pipeline.keys(RAW) and pipeline.keys(FAIL) == [bad]
    assert "crashed (SIGABRT)" in reasons(pipeline, bad)[findings.UNREADABLE_FILE]


def _total(parts, extra):
    return sum(sum(data) for _, data in parts) + extra


def _abort_on_second(parts, n):
    if n == 2:
        os.abort()
    return n


def _spin(parts, seconds):
    """Burn ``seconds`` of CPU (forever when None)."""
    started = time.process_time()
    while seconds is None or time.process_time() - started < seconds:
        pass
    return seconds


def _raise(parts):
    raise ValueError("nope")


def test_a_worker_serves_many_calls_over_shared_memory_in_one_child():
    with isolation.Worker(_total, capacity=8) as worker:
        assert worker.call([(0, b"\x01\x02"), (100, b"\x03")], 10) == 16
        big = bytes([1]) * (mmap.PAGESIZE + 1)  # larger than its shared memory: a new child
        assert worker.call([(0, big)], 0) == len(big)
        assert worker.call([], 1) == 1
        assert worker.forks == 2


def test_a_worker_decides_crashes_and_cpu_runaways_and_reports_errors():
    with isolation.Worker(_abort_on_second, capacity=0) as worker:
        assert worker.call([], 1) == 1
        crashed = worker.call([], 2)
        assert isinstance(crashed, isolation.Crashed) and "SIGABRT" in crashed.reason
        assert worker.call([], 3) is crashed, "a crashed file stays decided"
    with isolation.Worker(_spin, capacity=0, cpu_seconds=1) as worker:
        assert worker.call([], 0.6) == 0.6
        assert worker.call([], 0.6) == 0.6, "the budget is per call, not per child"
        spin = worker.call([], None)
    assert isinstance(spin, isolation.Crashed) and "CPU budget of 1 s" in spin.reason
    with isolation.Worker(_raise, capacity=0) as worker, pytest.raises(isolation.ChildError, match="ValueError: nope"):
        worker.call([])


def test_a_worker_holds_no_descriptor_it_did_not_need():
    """Another file's pipes (or a socket to AWS) inherited at fork would keep that file's
    child from ever seeing its request pipe close."""
    read_end, write_end = os.pipe()
    try:
        with isolation.Worker(_open_descriptors, capacity=0) as worker:
            held = worker.call([])
    finally:
        os.close(read_end)
        os.close(write_end)
    assert read_end not in held and write_end not in held and len(held) == 5  # stdio + its two pipes


def test_parts_at_the_same_offset_are_read_from_the_first_that_holds_the_range():
    """A part fetched again for bytes the plan missed can start where another starts; parts
    in the child are memoryviews, which cannot be compared, so they sort by offset only."""
    shared = memoryview(b"abcdefgh")
    sparse = reader.Sparse([(0, shared[:3]), (0, shared[:8])], 8)
    assert sparse.read(6) == b"abcdef"
    partial = reader.Sparse([(0, shared[:6])], 10)
    partial.seek(4)
    with pytest.raises(OSError, match="CLOUDBRIDGE_MISSING 4 8"):
        partial.read(4)


def _open_descriptors(parts):
    return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))[:-1]  # without the listing's own


def _corrupt_page_header(data: bytes, column: str) -> bytes:
    """Overwrite the first data page header of ``column`` in every row group."""
    meta = pf.parse(data[-(pf.footer_length(data[-8:], len(data)) + 8) :], len(data))
    mutated = bytearray(data)
    for group in meta.row_groups:
        chunk = group.chunk(column)
        mutated[chunk.data_offset : chunk.data_offset + 6] = b"\xff\xff\xff\xff\xff\xff"
    return bytes(mutated)


@pytest.mark.parametrize("statistics", [True, False], ids=["with-statistics", "without-statistics"])
@pytest.mark.parametrize("mode", ["statistics", "full"])
def test_undecodable_data_pages_are_decided_never_retried(pipeline, mode, statistics):
    meta = orders_metadata()
    table = dmsfiles.synthetic_table(meta, "cdc", 3000, op="I")
    write = {"row_group_length": 1000}
    if not statistics:
        write["statistics"] = [n for n in table.column_names if n != "order_id"]
    bad = pipeline.land(WHEN_KEY.format(7), _corrupt_page_header(dmsfiles.to_bytes(table, **write), "order_id"))
    pipeline.validator.settings.validation_mode = mode
    assert pipeline.validate(bad) == {"batchItemFailures": []}
    if mode == "statistics" and statistics:
        # Statistics vouch for the key column; no page is read. Only full mode sees the damage.
        assert pipeline.keys(RAW) and pipeline.keys(FAIL) == []
    else:
        assert pipeline.keys(FAIL) == [bad]
        assert "cannot be decoded" in reasons(pipeline, bad)[findings.CORRUPT_DATA]


def test_full_mode_decodes_every_column(pipeline, capsys):
    pipeline.validator.settings.validation_mode = "full"
    key = pipeline.land(WHEN_KEY.format(9), multi_row_group_file())
    assert pipeline.validate(key) == {"batchItemFailures": []}
    line = next(json.loads(x) for x in capsys.readouterr().out.splitlines() if '"cloudbridge.validated"' in x)
    assert line["outcome"] == "passed" and line["chunksScanned"] == 12 * 10  # 12 row groups x 10 columns


@pytest.mark.parametrize(
    "document",
    [b"[]", b'"text"', b"{not json", json.dumps({"formatVersion": 2, "columns": "x"}).encode()],
    ids=["list", "string", "not-json", "wrong-shape"],
)
def test_unusable_metadata_fails_the_file_with_a_reason(pipeline, document):
    pipeline.s3.put_object(Bucket="metadata", Key="public/orders.json", Body=document)
    key = pipeline.land(WHEN_KEY.format(11), good_file())
    assert pipeline.validate(key) == {"batchItemFailures": []}
    message = reasons(pipeline, key)[findings.METADATA_INVALID]
    assert "s3://metadata/public/orders.json" in message


def test_duplicate_deliveries_of_a_failing_file_alert_once(pipeline):
    bad = pipeline.land(WHEN_KEY.format(13), b"not parquet at all, but long enough")
    # The same event twice in one batch, then again in a later batch.
    assert pipeline.validate(bad, bad) == {"batchItemFailures": []}
    pipeline.land(bad, b"not parquet at all, but long enough")  # DMS rewrote nothing: same bytes, same ETag
    assert pipeline.validate(bad) == {"batchItemFailures": []}
    assert len(pipeline.alerts()) == 1
    assert len(pipeline.alert_markers()) == 1


def test_files_of_a_batch_are_validated_concurrently(pipeline, monkeypatch):
    import threading
    import time

    from functions.validator import handler

    seen, lock = set(), threading.Lock()
    real = handler.Validator.check

    def tracked(self, bucket, key):
        with lock:
            seen.add(threading.get_ident())
        time.sleep(0.05)
        return real(self, bucket, key)

    monkeypatch.setattr(handler.Validator, "check", tracked)
    keys = [pipeline.land(WHEN_KEY.format(20 + i), good_file()) for i in range(6)]
    assert pipeline.validate(*keys) == {"batchItemFailures": []}
    assert len(seen) == handler.FILE_WORKERS and len(pipeline.keys(RAW)) == 6
