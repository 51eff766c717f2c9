"""RangedS3File: what it fetches, and that it never fetches a byte twice in a scan."""

import io

import pytest

from functions.validator.s3file import RangedS3File


class FakeS3:
    def __init__(self, data: bytes):
        self.data, self.calls = data, []

    def get_object(self, Bucket, Key, Range, IfMatch=None):  # noqa: N803 (boto3 names)
        first, last = (int(x) for x in Range.removeprefix("bytes=").split("-"))
        self.calls.append((first, last + 1, IfMatch))
        return {"Body": io.BytesIO(self.data[first : last + 1])}


@pytest.fixture
def blob():
    return bytes(range(256)) * 4096  # 1 MiB


def test_reads_exactly_what_is_asked_and_pins_the_etag(blob):
    s3 = FakeS3(blob)
    f = RangedS3File(s3, "b", "k", len(blob), etag='"abc"')
    f.seek(-8, io.SEEK_END)
    assert f.read(8) == blob[-8:]
    f.seek(100)
    assert f.read(10) == blob[100:110]
    assert s3.calls == [(len(blob) - 8, len(blob), '"abc"'), (100, 110, '"abc"')]
    assert (f.bytes_read, f.requests) == (18, 2)


def test_rereads_inside_the_last_range_are_served_from_memory(blob):
    s3 = FakeS3(blob)
    f = RangedS3File(s3, "b", "k", len(blob))
    f.seek(len(blob) - 65536)
    f.read(65536)
    f.seek(len(blob) - 100)
    assert f.read(50) == blob[-100:-50]
    assert len(s3.calls) == 1


def test_read_ahead_serves_following_reads_and_never_refetches(blob):
    s3 = FakeS3(blob)
    f = RangedS3File(s3, "b", "k", len(blob))
    f.read_ahead = 300_000
    for start in range(0, len(blob), 50_000):
        f.prefetch(start, start + 20_000)
        f.seek(start + 10_000)
        assert f.read(10_000) == blob[start + 10_000 : start + 20_000]
        f.seek(start)
        assert f.read(10_000) == blob[start : start + 10_000]  # backwards within the window
    assert f.bytes_read == len(blob), "every byte fetched once"
    assert f.requests == 4
    starts = [c[0] for c in s3.calls]
    assert starts == sorted(starts) and all(b - a <= 300_000 for a, b, _ in s3.calls)


def test_reading_past_the_end_is_empty(blob):
    f = RangedS3File(FakeS3(blob), "b", "k", len(blob))
    f.seek(len(blob))
    assert f.read(10) == b""
    f.seek(len(blob) - 3)
    assert f.read(10) == blob[-3:]
