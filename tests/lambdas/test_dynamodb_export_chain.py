"""An export too large for one invocation: the converter goes on in a chain of invocations of
itself, and writes byte for byte the LOAD files one invocation writes (the reference), wherever the
links stop; the wait for the validator goes on the same way, a bounded number of times."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.common import dynamodb as ddb
from functions.common.metadata import metadata_key
from functions.dynamodb_export import handler as export
from tests.support import dynamodb as support

BASE = "exports/AWSDynamoDB/01700000000000-a1b2c3d4/"
SUMMARY = BASE + "manifest-summary.json"
EXPORT, LANDING, RAW, META = "export", "landing", "raw", "meta"


class MemoryS3:
    """The calls the converter makes, in memory; a landing file is validated ``validated_after``
    HEADs after it was written (None: never)."""

    def __init__(self, objects: dict[tuple[str, str], bytes], validated_after: int | None = 0):
        self.objects, self.validated_after = dict(objects), validated_after
        self.puts: list[tuple[str, str, bytes]] = []
        self.heads: dict[str, int] = {}

    def get_object(self, Bucket, Key):  # noqa: N803 (boto3 names)
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def put_object(self, Bucket, Key, Body, **_):  # noqa: N803
        if (Bucket, Key) in self.objects and _.get("IfNoneMatch") == "*":
            raise ClientError({"Error": {"Code": "PreconditionFailed"}}, "PutObject")
        self.objects[(Bucket, Key)] = Body
        self.puts.append((Bucket, Key, Body))

    def head_object(self, Bucket, Key):  # noqa: N803
        self.heads[Key] = self.heads.get(Key, 0) + 1
        if self.validated_after is not None and self.heads[Key] > self.validated_after:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {}


def export_objects(counts: list[int]) -> dict[tuple[str, str], bytes]:
    """An export whose data files hold ``counts`` items (items numbered on across files), with the
    table's metadata."""
    objects, manifest, n = {}, [], 0
    for index, count in enumerate(counts):
        key = f"AWSDynamoDB/01700000000000-a1b2c3d4/data/{index:04d}example{index}.json.gz"
        items = [{"Item": {"id": {"S": f"o-{n + i:05d}"}, "qty": {"N": str(n + i)}}} for i in range(count)]
        n += count
        objects[(EXPORT, f"exports/{key}")] = gzip.compress("".join(json.dumps(i) + "\n" for i in items).encode())
        manifest.append(json.dumps({"itemCount": count, "dataFileS3Key": key}))
    objects[(EXPORT, BASE + "manifest-files.json")] = "\n".join(manifest).encode()
    summary = {
        "exportArn": "arn:aws:dynamodb:eu-west-2:123456789012:table/orders/export/01700000000000-a1b2c3d4",
        "tableArn": "arn:aws:dynamodb:eu-west-2:123456789012:table/orders",
        "exportTime": "2024-03-05T12:00:07.250Z",
        "manifestFilesS3Key": "AWSDynamoDB/01700000000000-a1b2c3d4/manifest-files.json",
        "itemCount": n,
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    objects[(EXPORT, SUMMARY)] = json.dumps(summary).encode()
    meta = support.orders_metadata()
    objects[(META, metadata_key(meta.schema, meta.table))] = meta.to_json().encode()
    return objects


class Clock:
    """Time that passes only when the converter reads a data file (``per_file`` seconds each, in
    turn) or sleeps."""

    def __init__(self, per_file: list[float]):
        self.now, self.per_file, self.reads = 0.0, per_file, 0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def converter(s3: MemoryS3, clock: Clock, links: list[dict] | None) -> export.ExportConverter:
    original = s3.get_object

    def timed_get(Bucket, Key):  # noqa: N803
        if Key.endswith(".json.gz"):
            clock.now += clock.per_file[clock.reads % len(clock.per_file)]
            clock.reads += 1
        return original(Bucket=Bucket, Key=Key)

    s3.get_object = timed_get
    settings_ = export.Settings("test", "basket", EXPORT, LANDING, RAW, META)
    invoke = links.append if links is not None else None
    return export.ExportConverter(settings_, s3, sleep=clock.sleep, clock=lambda: clock.now, invoke=invoke)


def run_chain(s3: MemoryS3, clock: Clock, budget: float) -> tuple[list[dict[str, Any]], list[dict]]:
    """The summary's invocation, then each link it hands on, as Lambda would run them."""
    links: list[dict] = []
    conv = converter(s3, clock, links)
    outcomes = [conv.convert(SUMMARY, budget)]
    while len(links) > len(outcomes) - 1:
        assert len(outcomes) < 100, "the chain does not end"
        summary, resume = export.Resume.of(links[len(outcomes) - 1][export.CONTINUATION])
        clock.now = 0.0  # a new invocation, a new time budget
        outcomes.append(conv.convert(summary, budget, resume))
    return outcomes, links


def landing_files(s3: MemoryS3) -> dict[str, bytes]:
    return {key: body for bucket, key, body in s3.puts if bucket == LANDING}


def reference(counts: list[int]) -> dict[str, bytes]:
    """The LOAD files one invocation with all the time it needs writes."""
    s3 = MemoryS3(export_objects(counts))
    outcome = converter(s3, Clock([0.0]), None).convert(SUMMARY, 10_000)
    assert outcome["marker"]
    return landing_files(s3)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 9), min_size=1, max_size=6),
    rows=st.integers(1, 4),
    per_file=st.lists(st.sampled_from([1.0, 200.0, 500.0]), min_size=1, max_size=4),
)
def test_a_chained_conversion_writes_exactly_the_files_one_invocation_writes(counts, rows, per_file):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "LOAD_ROWS", rows)
        expected = reference(counts)
        s3 = MemoryS3(export_objects(counts))
        outcomes, links = run_chain(s3, Clock(per_file), budget=900)
    written = landing_files(s3)
    assert written == expected  # the same keys, the same bytes: whichever link wrote them
    assert [k for b, k, _ in s3.puts if b == LANDING] == sorted(expected), "a LOAD file was written twice"
    assert outcomes[-1]["marker"] and all(o["marker"] is None for o in outcomes[:-1])
    assert outcomes[-1]["items"] == sum(counts) and len(outcomes[-1]["files"]) == len(expected)
    starts = [link[export.CONTINUATION]["start"] for link in links]
    assert starts == sorted(set(starts)), "a link went back or stood still"


def test_a_large_export_is_continued_after_a_data_file_and_not_before_the_last_one():
    counts = [3, 3, 3, 3]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "LOAD_ROWS", 2)
        s3 = MemoryS3(export_objects(counts))
        outcomes, links = run_chain(s3, Clock([300.0]), budget=900)  # a data file takes 5 minutes
    # 900 s: after the first file 300 + 2 * 300 + 60 > 900, so each link converts one data file.
    assert [link[export.CONTINUATION]["start"] for link in links] == [2, 4, 5]
    # Each link's own files: LOAD 1 | 2, 3 | 4 | then 5, 6 and the outcome names all of them.
    assert [len(o["files"]) for o in outcomes[:-1]] == [1, 2, 1]
    assert outcomes[-1]["files"] == [ddb.load_key("orders", n) for n in range(1, 7)]
    assert [k for b, k, _ in s3.puts if b == LANDING] == [ddb.load_key("orders", n) for n in range(1, 7)]
    assert outcomes[-1]["items"] == 12 and outcomes[-1]["marker"]


def test_without_a_way_to_go_on_an_export_is_converted_in_one_invocation_as_before():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "LOAD_ROWS", 2)
        s3 = MemoryS3(export_objects([3, 3, 3]))
        outcome = converter(s3, Clock([300.0]), None).convert(SUMMARY, 10_000)
    assert outcome["items"] == 9 and len(outcome["files"]) == 5 and outcome["marker"]


def test_the_wait_for_the_validator_goes_on_a_bounded_number_of_times():
    s3 = MemoryS3(export_objects([2, 2]), validated_after=None)  # the validator never takes them
    links: list[dict] = []
    clock = Clock([0.0])
    conv = converter(s3, clock, links)
    outcome = conv.convert(SUMMARY, 60)
    assert outcome["continued"] == {"summary": SUMMARY, "start": 2, "items": 4, "waits": 1}
    for waits in range(1, export.MAX_WAITS):
        summary, resume = export.Resume.of(links[-1][export.CONTINUATION])
        assert conv.convert(summary, 60, resume)["continued"]["waits"] == waits + 1
    summary, resume = export.Resume.of(links[-1][export.CONTINUATION])
    with pytest.raises(export.ExportError, match="still in landing"):
        conv.convert(summary, 60, resume)
    assert len(links) == export.MAX_WAITS
    assert [k for b, k, _ in s3.puts if b == LANDING] == [ddb.load_key("orders", 1)], "a wait link wrote again"


def test_a_manifest_without_counts_cannot_be_continued():
    objects = export_objects([2, 2])
    manifest = objects[(EXPORT, BASE + "manifest-files.json")].decode().splitlines()
    entry = json.loads(manifest[1])
    del entry["itemCount"]
    objects[(EXPORT, BASE + "manifest-files.json")] = "\n".join([manifest[0], json.dumps(entry)]).encode()
    links: list[dict] = []
    outcome = converter(MemoryS3(objects), Clock([500.0]), links).convert(SUMMARY, 900)
    assert links == [] and outcome["items"] == 4 and outcome["marker"]  # one invocation, as before
    with pytest.raises(export.ExportError, match="without itemCount"):
        converter(MemoryS3(objects), Clock([0.0]), links).convert(SUMMARY, 900, export.Resume(2))


@pytest.mark.parametrize(
    "body",
    [{}, {"summary": SUMMARY}, {"summary": SUMMARY, "start": 0}, {"summary": "x/other.json", "start": 2},
     {"summary": SUMMARY, "start": "two"}],
)  # fmt: skip
def test_a_malformed_continuation_is_refused_naming_it(body):
    with pytest.raises(export.ExportError, match="continuation event"):
        export.Resume.of(body)


def test_the_handler_takes_a_continuation_event_and_invokes_itself_by_name(monkeypatch):
    sent: list[dict] = []

    class Lambda:
        def invoke(self, **call):
            sent.append(call)
            return {"StatusCode": 202}

    send = export.invoke_self("cb-dev-basket-dynamodb-export", Lambda())
    send(export.Resume(2).payload(SUMMARY))
    (call,) = sent
    assert call["FunctionName"] == "cb-dev-basket-dynamodb-export" and call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == {
        export.CONTINUATION: {"summary": SUMMARY, "start": 2, "items": None, "waits": 0}
    }

    s3 = MemoryS3(export_objects([2, 2]))
    monkeypatch.setattr(export, "LOAD_ROWS", 2)
    monkeypatch.setattr(export, "_converter", converter(s3, Clock([0.0]), []))
    (outcome,) = export.handler(json.loads(call["Payload"]), None)
    assert outcome["files"] == [ddb.load_key("orders", 1), ddb.load_key("orders", 2)]
    assert [k for b, k, _ in s3.puts if b == LANDING] == [ddb.load_key("orders", 2)]  # LOAD 1 was an earlier link's
