"""ObjectSource: exactly the ranges asked for, one GET each, pinned to the ETag; and the
coalescing of adjacent column-chunk ranges."""

import io
import threading

import pytest

from functions.validator.checks import coalesce
from functions.validator.s3file import ObjectSource


class FakeS3:
    def __init__(self, data: bytes):
        self.data, self.calls = data, []
        self.lock = threading.Lock()

    def get_object(self, Bucket, Key, Range, IfMatch=None):  # noqa: N803 (boto3 names)
        first, last = (int(x) for x in Range.removeprefix("bytes=").split("-"))
        with self.lock:
            self.calls.append((first, last + 1, IfMatch))
        return {"Body": io.BytesIO(self.data[first : last + 1])}


@pytest.fixture
def blob():
    return bytes(range(256)) * 4096  # 1 MiB


def test_fetches_exactly_the_ranges_and_pins_the_etag(blob):
    s3 = FakeS3(blob)
    source = ObjectSource(s3, "b", "k", len(blob), etag='"abc"')
    parts = source.fetch([(len(blob) - 8, len(blob)), (100, 110), (0, 4)])
    assert parts == [blob[-8:], blob[100:110], blob[:4]]
    assert sorted(s3.calls) == [(0, 4, '"abc"'), (100, 110, '"abc"'), (len(blob) - 8, len(blob), '"abc"')]
    assert (source.requests, source.bytes_read) == (3, 22)


def test_ranges_are_clamped_to_the_object_and_empty_ones_skipped(blob):
    s3 = FakeS3(blob)
    source = ObjectSource(s3, "b", "k", len(blob))
    assert source.fetch([(len(blob) - 4, len(blob) + 100), (10, 10)]) == [blob[-4:]]
    assert source.requests == 1


def test_a_failed_get_fails_the_fetch(blob):
    class Broken(FakeS3):
        def get_object(self, **kwargs):
            raise ConnectionError("reset")

    with pytest.raises(ConnectionError):
        ObjectSource(Broken(blob), "b", "k", len(blob)).fetch([(0, 10), (20, 30)])


def test_adjacent_ranges_are_coalesced_distant_ones_are_not():
    assert coalesce([(100, 200), (0, 50), (210, 300)], gap=16) == [(0, 50), (100, 300)]
    assert coalesce([(0, 10), (10_000, 10_010)], gap=16) == [(0, 10), (10_000, 10_010)]
    assert coalesce([]) == []
