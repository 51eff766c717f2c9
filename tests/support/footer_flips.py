"""Single-byte mutations of a parquet footer, and a probe that shows which ones abort a
plain pyarrow reader (the process dies by a signal), each tried in a forked child."""

import os
import pickle
import subprocess
import sys

from functions.validator import footer as pf

# What a naive validator does: open, walk every row group's column statistics, read it.
_PROBE = r"""
import io, os, pickle, sys
import pyarrow.parquet as pq
data, flips = pickle.loads(sys.stdin.buffer.read())
aborted = []
for offset, value in flips:
    mutated = bytearray(data); mutated[offset] = value
    pid = os.fork()
    if pid == 0:
        os.close(1); os.close(2)
        try:
            f = pq.ParquetFile(io.BytesIO(bytes(mutated)))
            m = f.metadata
            for g in range(m.num_row_groups):
                for c in range(m.num_columns):
                    m.row_group(g).column(c).statistics
                f.read_row_group(g)
        except Exception:
            pass
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        aborted.append((offset, value))
sys.stdout.buffer.write(pickle.dumps(aborted))
"""


def footer_range(data: bytes) -> range:
    length = pf.footer_length(data[-8:], len(data))
    return range(len(data) - 8 - length, len(data) - 8)


def type_field_flips(data: bytes) -> list[tuple[int, int]]:
    """Every ColumnMetaData physical type (field 1, i32: header 0x15, then the zigzag
    value) changed to each other physical type: the class of mutation that aborts readers."""
    span = footer_range(data)
    flips = []
    for offset in span:
        if data[offset] == 0x15 and offset + 1 < span.stop and data[offset + 1] in range(0, 16, 2):
            for physical in range(8):
                value = physical * 2  # zigzag
                if value != data[offset + 1]:
                    flips.append((offset + 1, value))
    return flips


def stride_flips(data: bytes, stride: int = 41) -> list[tuple[int, int]]:
    """A deterministic spread of other bytes, each inverted."""
    span = footer_range(data)
    return [(offset, data[offset] ^ 0xFF) for offset in range(span.start, span.stop, stride)]


def aborting(data: bytes, flips: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The flips that kill a plain pyarrow reader, proven in a separate process."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], input=pickle.dumps((data, flips)), capture_output=True, check=True,
        timeout=600, env={**os.environ, "PYTHONFAULTHANDLER": ""},
    )  # fmt: skip
    return [tuple(f) for f in pickle.loads(done.stdout)]


def mutate(data: bytes, flip: tuple[int, int]) -> bytes:
    offset, value = flip
    mutated = bytearray(data)
    mutated[offset] = value
    return bytes(mutated)
