"""A reference model of current state, and a simulator of what DMS writes for a history.

``current_state(rows)`` is the documented rule (docs/analytics.md) in plain Python, over
the rows of a table's raw history: the newest complete generation (from its marker; with
no marker, the first load), its full-load rows, then every change committed since it
began, latest per key by change sequence, deletes removed.

``simulate(events)`` plays a source table's history (inserts, updates, deletes, key
updates, transactions sharing a commit time, uncaptured truncates, loads and reloads at
any moment relative to concurrent commits) and returns what DMS would have written to S3
under its documented semantics — full-load rows stamped when written (after the read),
changes committed during a load written as CDC after it, commit times optionally rounded
to the second — plus the source's true final state. Pure Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from functions.common import generations
from functions.common.layout import DAY, Layout

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
NO_END = "9999-12-31 23:59:59.999999"


@dataclass(frozen=True)
class Row:
    """One row of the raw history: the file it came from, the DMS columns, the data."""

    path: str
    op: str | None
    ts: str
    seq: str | None
    key: int | None
    value: int | None


def _marker(path: str) -> bool:
    return f"/{generations.MARKER_PREFIX}" in path


def _generation(rows: list[Row]) -> tuple[str, str]:
    marks: dict[str, dict[str, str]] = {}
    for r in rows:
        if _marker(r.path):
            marks.setdefault(r.path, {})[r.seq or ""] = r.ts
    if marks:
        start = max(m[generations.START] for m in marks.values())
        end = max(m[generations.END] for m in marks.values() if m[generations.START] == start)
        return start, end
    firsts: dict[str, str] = {}
    for r in rows:
        if "/LOAD00000001-" in r.path:
            firsts[r.path] = min(firsts.get(r.path, r.ts), r.ts)
    distinct = sorted(set(firsts.values()))
    return "", distinct[1] if len(distinct) > 1 else NO_END


def current_state(rows: list[Row]) -> dict[int, int | None]:
    """Key -> value after these rows, by the documented rule."""
    start, end = _generation(rows)
    latest: dict[int, Row] = {}
    for r in rows:
        if _marker(r.path) or r.ts < start or (not r.seq and r.ts >= end):
            continue
        held = latest.get(r.key)
        if held is None or ((r.seq or ""), r.ts) > ((held.seq or ""), held.ts):
            latest[r.key] = r
    return {k: r.value for k, r in latest.items() if r.op != "D"}


# --- the simulator ---------------------------------------------------------------------


def text(us: int) -> str:
    """Microseconds since EPOCH as DMS's timestamp text."""
    return generations.dms_text(EPOCH + timedelta(microseconds=us))


def folder(us: int, layout: Layout = DAY) -> str:
    """The raw-history partition folders of a moment: yyyy/MM/dd, or yyyy/MM/dd/HH by hour."""
    return (EPOCH + timedelta(microseconds=us)).strftime(layout.strftime)


def sequence(us: int, counter: int) -> str:
    """$AR_H_CHANGE_SEQ: commit time to the hundredth of a second, then a 19-digit counter."""
    moment = EPOCH + timedelta(microseconds=us)
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 10000:02d}{counter:019d}"


@dataclass
class History:
    """A simulated source table and what DMS wrote for it."""

    coarse: bool = False  # the source's commit times are rounded to the second
    layout: Layout = DAY  # the source's raw-history partitions
    now: int = 0
    source: dict[int, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    counter: int = 0
    generation: int = 0
    loads: list[bool] = field(default_factory=list)  # marked or not, per load
    rekeyed: set[int] = field(default_factory=set)  # keys updated away (DMS writes only the new key)
    truncated_at: int | None = None
    unfixed: bool = False  # an uncaptured truncate no load has read since
    pending: list[tuple[int, str, int, int | None]] = field(default_factory=list)  # changes not yet in a file
    caching: bool = False
    files: int = 0
    last_end: int = -(10**9)
    written: dict[str, int] = field(default_factory=dict)  # path -> when its file was written

    def commit(self, changes: list[tuple]) -> None:
        """One source transaction: its changes share a commit time."""
        stamp = (self.now // 1_000_000) * 1_000_000 if self.coarse else self.now
        for change in changes:
            captured = self._apply(change)
            if captured is not None:
                self.counter += 1
                self.pending.append((stamp, *captured, self.counter))
        if not self.caching:
            self.flush()

    def _apply(self, change: tuple) -> tuple[str, int, int | None] | None:
        kind, key, *rest = change
        if kind == "upsert":
            op = "U" if key in self.source else "I"
            self.source[key] = rest[0]
            return op, key, rest[0]
        if kind == "delete" and key in self.source:
            return "D", key, self.source.pop(key)
        if kind == "rekey" and key in self.source and rest[0] not in self.source:
            self.source[rest[0]] = self.source.pop(key)
            self.rekeyed.add(key)
            return "U", rest[0], self.source[rest[0]]  # one U row with the new key only
        return None

    def flush(self) -> None:
        """Close a CDC file holding every pending change."""
        if not self.pending:
            return
        self.files += 1
        path = f"t/{folder(self.pending[0][0], self.layout)}/cdc-{self.files:05d}.parquet"  # the first commit's folder
        self.written[path] = self.now
        for stamp, op, key, value, counter in self.pending:
            self.rows.append(Row(path, op, text(stamp), sequence(stamp, counter), key, value))
        self.pending = []

    def truncate(self) -> None:
        """An operation DMS does not capture: the source loses every row."""
        self.source.clear()
        self.truncated_at, self.unfixed = self.now, True


def load(
    history: History, before_read: list, window: list, during: list, *, marked: bool, files: int, duration: int = 0
) -> None:
    """A full load (or reload): start; ``before_read`` commits; the table is read; ``window``
    commits before the first row is written; rows are written (stamped when written) in
    ``files`` files while ``during`` commits; changes meanwhile are cached and written after;
    the load ends ``duration`` microseconds after its last row."""
    h = history
    if h.truncated_at is not None and h.now - h.truncated_at < 1_000_000:
        h.now = h.truncated_at + 1_000_000  # documented limit: an uncaptured operation a second before the reload
    h.now = max(h.now, h.last_end + 2_000_000)  # documented limit: loads of a table two seconds apart
    h.generation += 1
    h.caching = True
    started = h.now
    for tx in before_read:
        h.now += 1
        h.commit(tx)
    h.now += 1
    snapshot = sorted(h.source.items())
    h.unfixed = False
    for tx in window:
        h.now += 1
        h.commit(tx)
    chunks = _split(snapshot, files)
    for number, chunk in enumerate(chunks, start=1):
        h.now += 1
        path = f"t/{folder(h.now, h.layout)}/LOAD{number:08X}-g{h.generation}.parquet"  # when it landed
        h.written[path] = h.now
        h.rows += [Row(path, "I", text(h.now), "", k, v) for k, v in chunk]
        if number == 1 and during:
            for tx in during:
                h.now += 1
                h.commit(tx)
    if not chunks:
        for tx in during:
            h.now += 1
            h.commit(tx)
    h.now += 1 + duration  # a long load: its rows written, the table still being read
    ended = h.last_end = h.now
    h.caching = False
    h.flush()  # cached changes, written after the load
    h.loads.append(marked)
    if marked:
        _write_marker(h, started, ended)


def _split(rows: list, files: int) -> list[list]:
    if not rows:
        return []  # DMS writes no file for an empty table
    size = max(1, -(-len(rows) // max(1, files)))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _write_marker(h: History, started: int, ended: int) -> None:
    start, end = generations.bounds(EPOCH + timedelta(microseconds=started), EPOCH + timedelta(microseconds=ended))
    name = (EPOCH + timedelta(microseconds=started)).strftime("%Y%m%d-%H%M%S%f")  # as generations.marker_key names it
    path = f"t/{folder(ended, h.layout)}/{generations.MARKER_PREFIX}{name}.parquet"  # where the load ended
    h.written[path] = ended
    h.rows += [Row(path, None, start, generations.START, None, None), Row(path, None, end, generations.END, None, None)]


def shuffled(rows: list[Row], seed: int) -> list[Row]:
    """The rows with their files in another order (files land and are validated in any order)."""
    by_file: dict[str, list[Row]] = {}
    for r in rows:
        by_file.setdefault(r.path, []).append(r)
    paths = sorted(by_file)
    random.Random(seed).shuffle(paths)
    return [r for p in paths for r in by_file[p]]


def arrivals(history: History, seed: int, most_late: int) -> dict[str, int]:
    """When each file reaches raw history: written, then validated up to ``most_late``
    microseconds later (files land and are validated in any order)."""
    rng = random.Random(seed)
    return {path: at + rng.randrange(most_late + 1) for path, at in sorted(history.written.items())}


def arrived_by(rows: list[Row], arrival: dict[str, int], moment: int) -> list[Row]:
    """The rows of the files in raw history at ``moment``."""
    return [r for r in rows if arrival[r.path] <= moment]
