"""The validation rules: a DMS parquet file against its table's metadata.

The file is untrusted input. The order of work keeps it from harming the process and
reads only the bytes a decision needs:

1. The footer is fetched (one ranged GET of the last 64 KiB, like any parquet reader) and
   decoded **in pure Python** (``footer.py``): a footer that contradicts itself is a
   decided failure before any native code sees it.
2. Statistics decide what they can: a null count per required column, an ``Op`` whose
   min and max are one valid letter. Where ``Op`` is dictionary-encoded in every page,
   its dictionary page alone (a few bytes) decides its value set.
3. Only the column chunks still undecided are fetched — their exact byte ranges,
   adjacent ones coalesced, several GETs in flight — in windows of bounded size.
4. pyarrow checks the schema and decodes those chunks (``reader.py``) in the file's own
   forked child, a window per call with a CPU budget each (``isolation.py``); a crash or
   runaway is ``UNREADABLE_FILE`` for this file alone, a decode error ``CORRUPT_DATA``.
   Both are decided, never retried.

The reason codes and the verdict are in ``findings.py``.

``mode="full"`` decodes every page of every column (catching pages no statistic can
vouch for); page checksums are verified wherever the writer recorded them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from functions.common import dynamodb
from functions.common.dms import OP_VALUES
from functions.common.keys import FileKey
from functions.common.metadata import TableMetadata
from functions.validator import footer as pf
from functions.validator import isolation, reader
from functions.validator.findings import (
    EMPTY_FILE,
    EXCLUDED_COLUMN,
    INVALID_CHANGE_SEQUENCE,
    INVALID_OP,
    NO_ROWS,
    NOT_PARQUET,
    NULL_IN_REQUIRED_COLUMN,
    UNKNOWN_TABLE,
    UNREADABLE_FILE,
    Finding,
    Result,
)

MODES = ("statistics", "full")

MAGIC = b"PAR1"
FOOTER_READ = 64 * 1024  # what parquet readers fetch first from the end of a file
WINDOW_BYTES = 8 * 1024 * 1024  # most column-chunk bytes held (and decoded in one call) at a time
MIN_WINDOW_BYTES = 2 * 1024 * 1024
WINDOWS_PER_FILE = 32  # below WINDOW_BYTES, a file's chunks are split into about this many windows
PREFETCH_BYTES = 24 * 1024 * 1024  # fetched ahead of the window being decoded
COALESCE_GAP = 16 * 1024  # adjacent ranges closer than this are one GET
_OP_BYTES = frozenset(v.encode() for v in OP_VALUES)


def preload_reader() -> None:
    """Import pyarrow in the parent so each forked decoding child starts with it loaded."""
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401


class TransientError(Exception):
    """Not the file's fault (the decoding child made no progress): retry the record."""


# --- the parent: plan, fetch, decide ----------------------------------------------------


def validate(source: Any, key: FileKey, metadata: TableMetadata | None, mode: str = "statistics") -> Result:
    """Check one object. ``source`` has ``size`` and ``fetch(ranges) -> [bytes]``."""
    result = Result()
    size = source.size
    if size == 0:
        result.fail(EMPTY_FILE, "the object is empty (0 bytes)")
        return result
    if size < 12:
        result.fail(NOT_PARQUET, f"{size} bytes is too small to be parquet")
        return result

    tail_start = max(0, size - FOOTER_READ)
    head, tail = source.fetch([(0, 4), (tail_start, size)]) if tail_start > 4 else [b"", source.fetch([(0, size)])[0]]
    head = head or tail[:4]
    if head != MAGIC:
        result.fail(NOT_PARQUET, "does not start with the parquet magic bytes")
        return result
    try:
        length = pf.footer_length(tail, size)
        if length + 8 > len(tail):  # a footer longer than the first read
            tail_start = size - length - 8
            tail = source.fetch([(tail_start, size - len(tail))])[0] + tail
        meta = pf.parse(tail, size)
    except pf.CorruptFooterError as exc:
        result.fail(NOT_PARQUET, f"parquet footer unreadable: {exc}")
        return result
    result.rows, result.row_groups = meta.num_rows, len(meta.row_groups)
    result.needed_bytes = meta.footer_bytes + 8
    if metadata is None:
        result.fail(UNKNOWN_TABLE, f"no metadata for table {key.table_id}")
        return result
    if result.rows == 0:
        result.fail(NO_ROWS, "the file holds no rows; DMS never writes an empty file")
    names = [leaf.path for leaf in meta.leaves]
    if excluded_columns(names, metadata, result):
        return result  # decided: nothing more of a file holding excluded data is read
    if metadata.dms.change_sequence in names:
        change_sequence(meta, metadata.dms.change_sequence, key.kind, result, metadata.engine)
    required = [c for c in metadata.required_columns(key.kind) if c in names]
    op = metadata.dms.op if metadata.dms.op in names else None
    plan = _Plan(meta, required, op, mode == "full")
    outcome = _decode(source, size, (tail_start, tail), plan, key, metadata)
    result.needed_bytes += plan.dictionary_bytes + sum(c.size for cs in plan.decode.values() for c in cs)
    well_typed = set(outcome.well_typed)
    result.findings += outcome.schema_findings
    result.chunks_scanned = outcome.scanned
    nulls = {**plan.stat_nulls}
    for name, where in outcome.nulls.items():
        nulls.setdefault(name, where)
    for name in required:
        if name in nulls and name in well_typed:
            rg, count = nulls[name]
            result.fail(NULL_IN_REQUIRED_COLUMN, f"column {name!r} has {count} null(s) in row group {rg}")
    if op and op in well_typed:
        bad = sorted(outcome.op_values - OP_VALUES)
        if bad:
            rg = outcome.op_first_bad
            result.fail(INVALID_OP, f"{op!r} holds {bad[:5]} in row group {rg}; only I/U/D are valid")
    result.findings += outcome.decode_findings
    return result


def excluded_columns(paths: list[str], metadata: TableMetadata, result: Result) -> bool:
    """Whether the file carries a column the metadata excludes (the stack's ``excludeColumns``),
    from the footer's schema alone: then it fails with ``EXCLUDED_COLUMN``, whatever else is
    wrong with it, and none of its data is read."""
    tops = list(dict.fromkeys(path.split(".", 1)[0] for path in paths))  # a nested column by its top name
    found = metadata.excluded_in(tops)
    if found:
        result.fail(
            EXCLUDED_COLUMN,
            f"the file carries excluded column(s) {found} (excludeColumns {list(metadata.excluded)}): the "
            "replication's remove-column rule did not apply; this file must not reach raw-history",
        )
    return bool(found)


# $AR_H_CHANGE_SEQ: YYYYMMDDHHmmSShh + a 19-digit zero-padded counter (35 digits), so it sorts
# as text; empty in full-load rows. The view orders changes by comparing it as a string.
CHANGE_SEQUENCE = re.compile(rb"[0-9]{35}")


def change_sequence(meta: pf.Footer, column: str, kind: str, result: Result, engine: str = "") -> None:
    """The change sequence's format, from each row group's min and max (in text order every
    value lies between them): 35 digits in CDC files (a DynamoDB table's: its stream sequence
    numbers, 40 digits, functions/common/dynamodb.py), empty in full-load files."""
    pattern, form = CHANGE_SEQUENCE, "35 digits ($AR_H_CHANGE_SEQ)"
    if engine == dynamodb.ENGINE:
        pattern, form = dynamodb.CHANGE_SEQUENCE, "40 digits (the stream's SequenceNumber)"
    for group in meta.row_groups:
        if group.num_rows == 0:
            continue
        stats = group.chunk(column).statistics
        bounds = [v for v in (stats.min, stats.max) if v is not None]
        if kind == "load":
            wrong = [v for v in bounds if v != b""]
            expected = "empty in full-load rows"
        else:
            wrong = [v for v in bounds if not pattern.fullmatch(v)]
            expected = f"{form} in CDC rows"
        if wrong:
            shown = wrong[0][:60].decode("utf-8", "replace")
            result.fail(INVALID_CHANGE_SEQUENCE, f"{column!r} holds {shown!r} in row group {group.index}; {expected}")
            return


class _Plan:
    """What statistics decide, and which column chunks must be decoded."""

    def __init__(self, meta: pf.Footer, required: list[str], op: str | None, full: bool):
        self.stat_nulls: dict[str, tuple[int, int]] = {}
        self.decode: dict[int, list[pf.Chunk]] = {}
        self.op_by_dictionary: dict[int, pf.Chunk] = {}  # row group -> Op chunk its dictionary may settle
        self.dictionary_bytes = 0
        for group in meta.row_groups:
            if group.num_rows == 0:
                continue
            chunks = list(group.chunks) if full else []
            for name in required:
                chunk = group.chunk(name)
                nulls = chunk.statistics.null_count
                if nulls is None:
                    if chunk not in chunks:
                        chunks.append(chunk)
                elif nulls > 0:
                    self.stat_nulls.setdefault(name, (group.index, nulls))
            if op and not full:
                chunk = group.chunk(op)
                stats = chunk.statistics
                decided = stats.min is not None and stats.min == stats.max and stats.min in _OP_BYTES
                if not decided and chunk.all_data_pages_dictionary_encoded():
                    self.op_by_dictionary[group.index] = chunk  # its dictionary page bounds its values
                elif not decided and chunk not in chunks:
                    chunks.append(chunk)
            if chunks:
                self.decode[group.index] = chunks

    def settle_op(self, chunk: pf.Chunk, page: bytes) -> bool:
        """Whether an ``Op`` chunk's dictionary page settles it (only I/U/D in it)."""
        self.dictionary_bytes += len(page)
        try:
            values = pf.dictionary_values(chunk, page)
        except pf.CorruptFooterError:
            return False  # the decoder will say what is wrong with the page
        return values is not None and values <= _OP_BYTES

    def windows(
        self, decode: dict[int, list[pf.Chunk]] | None = None, dictionaries: dict[int, pf.Chunk] | None = None
    ) -> list[_Window]:
        """The chunks to decode and the ``Op`` dictionary pages to read (all planned ones by
        default), in file order, grouped into windows of about ``limit`` bytes each."""
        decode = self.decode if decode is None else decode
        dictionaries = self.op_by_dictionary if dictionaries is None else dictionaries
        total = sum(c.size for cs in decode.values() for c in cs)
        # Small windows let decoding follow the reads closely (only the last window's decode
        # is not overlapped by reads) and keep memory low; each costs one call to the file's
        # child (a copy and two pipe messages). 8 MiB beat 16 and 32 MiB in full mode on 1 GB
        # (6.5 s vs 8.8 and 14.8 s, less memory) and tied in the scan.
        limit = min(WINDOW_BYTES, max(MIN_WINDOW_BYTES, total // WINDOWS_PER_FILE))
        pieces = [(c.start, c.end, g, c, False) for g, cs in decode.items() for c in cs]
        pieces += [(*pf.dictionary_page_bound(c), g, c, True) for g, c in dictionaries.items()]
        out = [_Window()]
        # Windows are packed from runs of pieces that one GET reads anyway, so a boundary
        # costs no extra GET; a run longer than the limit (every column, in full mode) is
        # split at its chunks. A row group's chunks may thus span two windows.
        for run in _runs(sorted(pieces, key=lambda piece: piece[:2])):
            weight = sum(chunk.size for *_, chunk, dictionary in run if not dictionary)
            if out[-1].held and out[-1].held + weight > limit:
                out.append(_Window())
            for _, _, group, chunk, dictionary in run:
                if out[-1].held >= limit:
                    out.append(_Window())
                out[-1].add(group, chunk, dictionary)
        return out  # at least one window (possibly empty: the schema check)


def _runs(pieces: list[tuple]) -> list[list[tuple]]:
    """Pieces ``(start, end, ...)`` in file order, grouped where ``coalesce`` makes one GET."""
    runs: list[list[tuple]] = []
    end = None
    for piece in pieces:
        if end is None or piece[0] - end > COALESCE_GAP:
            runs.append([])
        runs[-1].append(piece)
        end = piece[1] if end is None else max(end, piece[1])
    return runs


@dataclass
class _Window:
    """Column chunks fetched together and decoded in one call to the file's child."""

    decode: dict[int, list[pf.Chunk]] = field(default_factory=dict)
    dictionaries: list[tuple[int, pf.Chunk]] = field(default_factory=list)  # (row group, Op chunk)
    held: int = 0

    def add(self, group: int, chunk: pf.Chunk, dictionary: bool) -> None:
        """Add a row group's chunk to decode, or (``dictionary``) its Op chunk whose dictionary page to read."""
        if dictionary:
            self.dictionaries.append((group, chunk))
        else:
            self.decode.setdefault(group, []).append(chunk)
            self.held += chunk.size

    def ranges(self) -> list[tuple[int, int]]:
        """The window's byte ranges, coalesced into GETs."""
        # An Op dictionary page sits just before the rest of its row group's chunks: it
        # joins their GET (the Op data pages between are a few KB) instead of its own.
        wanted = [(c.start, c.end) for cs in self.decode.values() for c in cs]
        return coalesce(wanted + [pf.dictionary_page_bound(c) for _, c in self.dictionaries])


@dataclass
class _Decoded:
    schema_findings: list[Finding] = field(default_factory=list)
    decode_findings: list[Finding] = field(default_factory=list)
    well_typed: list[str] = field(default_factory=list)
    nulls: dict[str, tuple[int, int]] = field(default_factory=dict)
    op_values: set[str] = field(default_factory=set)
    op_first_bad: int = -1
    scanned: int = 0

    def add(self, reply: dict[str, Any]) -> None:
        """Fold one window's reply in."""
        self.decode_findings += [Finding(**f) for f in reply["decode_findings"]]
        self.scanned += reply["scanned"]
        for name, where in reply["nulls"].items():
            self.nulls.setdefault(name, tuple(where))
        if reply["op_values"] and self.op_first_bad < 0 and set(reply["op_values"]) - OP_VALUES:
            self.op_first_bad = reply["op_first_bad"]
        self.op_values |= set(reply["op_values"])


def coalesce(ranges: list[tuple[int, int]], gap: int = COALESCE_GAP) -> list[tuple[int, int]]:
    """Ranges merged where they are at most ``gap`` bytes apart (fewer GETs, few extra bytes)."""
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _decode(source: Any, size: int, tail: tuple[int, bytes], plan: _Plan, key: FileKey, metadata: TableMetadata):
    """Decode the planned chunks window by window in the file's isolated child, while the
    next windows (up to ``PREFETCH_BYTES``) are fetched."""
    windows = plan.windows()
    file_reader = reader.FileReader(tail, size, key, metadata)
    capacity = max(sum(e - s for s, e in w.ranges()) for w in windows)
    with isolation.Worker(file_reader.window, capacity) as worker:
        return _decode_windows(source, size, windows, plan, worker)


def _decode_windows(source: Any, size: int, windows: list[_Window], plan: _Plan, worker: Any) -> _Decoded:
    out = _Decoded()
    ahead: deque[tuple[_Window, list[tuple[int, int]], Any]] = deque()
    fetched = 0  # windows whose GETs have started
    in_flight = 0  # bytes of the windows in ``ahead``

    def top_up() -> None:
        nonlocal fetched, in_flight
        while fetched < len(windows) and (not ahead or in_flight < PREFETCH_BYTES):
            ranges = windows[fetched].ranges()
            ahead.append((windows[fetched], ranges, source.fetch_async(ranges)))
            in_flight += sum(e - s for s, e in ranges)
            fetched += 1

    first = True
    top_up()
    while ahead:
        window, ranges, pending = ahead.popleft()
        in_flight -= sum(e - s for s, e in ranges)
        parts = list(zip([s for s, _ in ranges], pending.result(), strict=True))
        extra = {}
        for group, chunk in window.dictionaries:
            if not plan.settle_op(chunk, _slice(parts, *pf.dictionary_page_bound(chunk))):
                extra[group] = [chunk]
                plan.decode.setdefault(group, []).append(chunk)
        if extra:  # an Op dictionary with other values: those chunks are decoded too
            windows += plan.windows(extra, {})
        top_up()
        if not window.decode and not first:
            continue
        reply = _decode_window(source, size, worker, parts, window, first)
        if isinstance(reply, Finding):
            out.decode_findings.append(reply)
            return out
        if first:
            out.schema_findings = [Finding(**f) for f in reply["schema_findings"]]
            out.well_typed = reply["well_typed"]
            first = False
        out.add(reply)
        if reply["schema_error"]:
            return out
    return out


def _decode_window(source: Any, size: int, worker: Any, parts: list, window: _Window, schema: bool):
    """One window in the file's isolated child: its reply, or the Finding that decides the file."""
    columns = {g: [c.path for c in cs] for g, cs in window.decode.items()}
    for _attempt in range(3):
        reply = worker.call(parts, columns, schema)
        if isinstance(reply, isolation.Crashed):
            return Finding(UNREADABLE_FILE, reply.reason)
        if isinstance(reply, isolation.TimedOut):
            raise TransientError(reply.reason)
        if not reply.get("missing"):
            return reply
        start, end = reply["missing"]  # the reader wanted bytes the plan did not foresee
        parts.append((start, source.fetch([(start, min(size, end))])[0]))
    return Finding(UNREADABLE_FILE, "the reader kept asking for bytes outside its chunks")


def _slice(parts: list[tuple[int, bytes]], start: int, end: int) -> bytes:
    for offset, data in parts:
        if offset <= start and end <= offset + len(data):
            return data[start - offset : end - offset]
    raise AssertionError(f"bytes {start}..{end} were planned but not fetched")
