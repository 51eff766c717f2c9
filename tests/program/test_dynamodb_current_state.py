"""The current-state view on DynamoDB-shaped histories (issue #28), against the reference model
(tests/support/current_state_model.py) and the table itself: puts, updates and deletes of items; the
stream's changes stamped with ApproximateCreationDateTime (rounded down to the second) and ordered by
their sequence numbers padded to 40 digits, across shard splits whose child shards number their
records with more digits (DescribeStream's example); exports (ExportTableToPointInTime) at any moment,
with changes in the export's own second before and after it; exports re-anchoring after the stream
lost records (trimmed, or parked on the on-failure queue); markers written or not yet; stream batches
written twice (a bisected retry); files validated in any order. Every history: the view equals the
model; whenever the newest export is marked and nothing lost since it began, the view equals the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.common import dynamodb as ddb
from functions.common import generations
from functions.common.metadata import TableMetadata
from tests.program.test_current_state_property import EXAMPLES, view
from tests.support import current_state_model as model

META = TableMetadata.from_dict(
    {
        "formatVersion": 2, "source": "basket", "engine": "dynamodb", "schema": "dynamodb", "table": "t",
        "primaryKey": ["k"],
        "columns": [
            {"name": "k", "type": "int32", "nullable": False, "sourceType": "N"},
            {"name": "v", "type": "int32", "sourceType": "N"},
        ],
        "dmsColumns": {"changeSequence": "dms_change_seq"},
    }
)  # fmt: skip
# Shard lineages number their records from bases like DescribeStream's example: a child's first
# sequence number is above its parent's last one, with one digit more.
SHARD_BASES = (20500000000000000910398, 820400000000000001192334, 1683700000000000001135967, 25746000000000000009352550)
SECOND = 1_000_000


@dataclass
class Stream:
    """A table, its stream (shards split over time) and what the converters wrote."""

    now: int = 0
    table: dict[int, int] = field(default_factory=dict)
    rows: list[model.Row] = field(default_factory=list)
    generation: int = 0  # the shard lineage's depth: each split moves every item to a child shard
    counters: dict[int, int] = field(default_factory=dict)
    pending: list[model.Row] = field(default_factory=list)  # the open batch of the current shard
    files: int = 0
    exports: list[bool] = field(default_factory=list)  # marked or not, per export
    lost_since: int | None = None  # records lost (trimmed, on-failure) since the newest export began

    def change(self, kind: str, key: int, value: int = 0, *, lose: bool = False) -> None:
        """One item write: the table changes; the stream records it (unless lost)."""
        if kind == "put":
            op = "U" if key in self.table else "I"
            self.table[key] = value
            image = value
        elif key in self.table:
            op, image = "D", self.table.pop(key)  # a REMOVE carries the old image
        else:
            return  # deleting an absent item writes no stream record
        if lose:
            self.lost_since = self.lost_since if self.lost_since is not None else self.now
            return
        counter = self.counters[self.generation] = self.counters.get(self.generation, 0) + 1
        sequence = ddb.change_sequence(str(SHARD_BASES[self.generation] + counter))
        stamp = model.text(self.now // SECOND * SECOND)  # ApproximateCreationDateTime: to the second
        self.pending.append(model.Row("", op, stamp, sequence, key, image))

    def flush(self, twice: bool = False) -> None:
        """The batch of changes so far: one file (written again, whole, after a bisected retry)."""
        for _ in range(2 if twice else 1):
            if not self.pending:
                return
            self.files += 1
            path = f"t/{model.folder(self.now)}/cdc-{self.files:05d}.parquet"
            self.rows += [model.Row(path, r.op, r.ts, r.seq, r.key, r.value) for r in self.pending]
        self.pending = []

    def split(self) -> None:
        """The shard closes; its items' later records go to a child shard (processed after it)."""
        self.flush()
        self.generation = min(self.generation + 1, len(SHARD_BASES) - 1)

    def export(self, before: list, after: list, *, marked: bool) -> None:
        """ExportTableToPointInTime: the table as it is at the export time, some changes of that
        second before it (in the export) and after it (not in it, only in the stream)."""
        self.now = self.now // SECOND * SECOND + SECOND  # a fresh second
        for kind, key, value in before:
            self.now += 1
            self.change(kind, key, value)
        self.now += 1
        exported_at, snapshot = self.now, sorted(self.table.items())
        for kind, key, value in after:
            self.now += 1
            self.change(kind, key, value)
        self.generation_rows(exported_at, snapshot, marked)

    def generation_rows(self, exported_at: int, snapshot: list, marked: bool) -> None:
        moment = model.EPOCH + timedelta(microseconds=exported_at)
        self.exports.append(marked)
        path = f"t/{model.folder(exported_at)}/LOAD00000001-e{len(self.exports)}.parquet"
        self.rows += [model.Row(path, "I", ddb.commit_text(moment), "", k, v) for k, v in snapshot]
        if marked:  # the export converter writes it once every LOAD file is validated
            start, end = generations.bounds(moment, moment)
            marker = f"t/{model.folder(exported_at)}/{generations.MARKER_PREFIX}{moment:%Y%m%d-%H%M%S%f}.parquet"
            self.rows += [
                model.Row(marker, None, start, generations.START, None, None),
                model.Row(marker, None, end, generations.END, None, None),
            ]
            self.lost_since = None  # a marked export re-anchors: what was lost before it is in it


keys = st.integers(0, 5)
write = st.one_of(st.tuples(st.just("put"), keys, st.integers(0, 99)), st.tuples(st.just("delete"), keys, st.just(0)))
writes = st.lists(write, max_size=3)
event = st.one_of(
    st.tuples(st.just("write"), write),
    st.tuples(st.just("wait"), st.integers(0, 2_500_000)),  # 0: the next write shares the second
    st.tuples(st.just("flush"), st.booleans()),  # True: the batch is written twice
    st.tuples(st.just("split")),
    st.tuples(st.just("lose"), write),  # a record trimmed from the stream or parked on the on-failure queue
    st.tuples(st.just("export"), writes, writes, st.booleans()),
)


def play(initial: list, first_marked: bool, events: list) -> Stream:
    """Items written before the stream began (only the first export carries them), the first export,
    then the events."""
    s = Stream(now=5 * SECOND)
    for key, value in initial:
        s.table[key] = value  # before the stream: in no record
    s.export([], [], marked=first_marked)
    for e in events:
        s.now += 1
        if e[0] == "write":
            s.change(e[1][0], e[1][1], e[1][2])
        elif e[0] == "wait":
            s.now += e[1]
        elif e[0] == "flush":
            s.flush(twice=e[1])
        elif e[0] == "split":
            s.split()
        elif e[0] == "lose":
            s.change(e[1][0], e[1][1], e[1][2], lose=True)
        else:
            s.flush()
            s.export(e[1], e[2], marked=e[3])
    s.flush()
    return s


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(
    initial=st.lists(st.tuples(keys, st.integers(0, 99)), max_size=4),
    first_marked=st.booleans(),
    events=st.lists(event, max_size=14),
    order=st.integers(0, 2**16),
)
def test_the_view_equals_the_model_and_the_table(initial, first_marked, events, order):
    s = play(initial, first_marked, events)
    rows = model.shuffled(s.rows, order)
    expected = model.current_state(rows)
    assert view(rows) == expected, "the view's SQL differs from the reference model"
    newest_marked = s.exports[-1]
    if s.lost_since is not None or not newest_marked:
        return  # records lost since the newest generation began, or its marker not yet written: the model only
    assert expected == s.table, "the view differs from the table"


def test_unpadded_sequence_numbers_would_reorder_a_split_items_changes():
    """The same history with the stream's sequence numbers as they come (no padding): the child
    shard's later change sorts before the parent's, and the view shows the older value."""
    s = Stream(now=5 * SECOND)
    s.export([], [], marked=True)
    s.split()
    s.now += 1
    s.change("put", 1, 10)  # a shard numbering from 8204…, 24 digits
    s.split()
    s.now += 1
    s.change("put", 1, 20)  # its child, from 1683…, 25 digits: numerically later, earlier as text
    s.flush()
    assert view(s.rows) == model.current_state(s.rows) == s.table == {1: 20}
    unpadded = [model.Row(r.path, r.op, r.ts, (r.seq or "").lstrip("0") or r.seq, r.key, r.value) for r in s.rows]
    assert view(unpadded) == {1: 10}
