"""The parquet footer, decoded and checked in pure Python before any native reader sees it.

A parquet file ends with ``<FileMetaData (Thrift compact)> <length: 4 bytes LE> PAR1``.
The footer says where every column chunk is and what type it holds; a native reader
trusts it, and a single wrong byte there (a column chunk whose physical type disagrees
with the schema, an offset past the end) can abort the process. This module decodes the
Thrift compact protocol itself (``thrift.py``), with every length and count bounded by the bytes
present, and checks the footer's internal consistency. Anything wrong is a
``CorruptFooterError`` naming what is wrong: a decided failure, never a crash.

It also gives the validator what it needs to plan reads: each column chunk's byte
range, its statistics (null count, min/max) and page encodings.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from functions.validator import thrift

MAGIC = b"PAR1"
MAX_DEPTH = 32  # nesting of the schema tree; real footers use a few levels
PHYSICAL_TYPES = {
    0: "BOOLEAN", 1: "INT32", 2: "INT64", 3: "INT96", 4: "FLOAT", 5: "DOUBLE", 6: "BYTE_ARRAY",
    7: "FIXED_LEN_BYTE_ARRAY",
}  # fmt: skip
CODECS = {0: "UNCOMPRESSED", 1: "SNAPPY", 2: "GZIP", 3: "LZO", 4: "BROTLI", 5: "LZ4", 6: "ZSTD", 7: "LZ4_RAW"}
ENCODINGS = {0, 2, 3, 4, 5, 6, 7, 8, 9}  # PLAIN … BYTE_STREAM_SPLIT (1 is unused)
DICTIONARY_ENCODINGS = {2, 8}  # PLAIN_DICTIONARY, RLE_DICTIONARY
DATA_PAGE_TYPES = {0, 3}  # DATA_PAGE, DATA_PAGE_V2
DICTIONARY_PAGE = 2


class CorruptFooterError(ValueError):
    """The footer cannot be decoded or contradicts itself."""


def decode_struct(data: bytes) -> tuple[dict[int, Any], int]:
    """One Thrift compact struct (fields by id, bytes consumed); CorruptFooterError if malformed."""
    try:
        return thrift.decode_struct(data)
    except thrift.ThriftError as exc:
        raise CorruptFooterError(str(exc)) from None


# --- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    """A column chunk's statistics: null count and min/max (correct ordering) if written."""

    null_count: int | None
    min: bytes | None
    max: bytes | None


@dataclass(frozen=True)
class Chunk:
    """One column chunk: where its bytes are, its codec, statistics and encodings."""

    column: int
    path: str
    physical_type: str
    codec: str
    num_values: int
    start: int  # dictionary page if any, else first data page
    size: int  # total compressed size: [start, start + size)
    dictionary_offset: int | None
    data_offset: int
    statistics: Statistics
    encodings: tuple[int, ...]
    # (page type, encoding) pairs with a count > 0, when the writer recorded them.
    page_encodings: tuple[tuple[int, int], ...] | None

    @property
    def end(self) -> int:
        """One past the chunk's last byte."""
        return self.start + self.size

    def all_data_pages_dictionary_encoded(self) -> bool:
        """Whether every data page uses the dictionary, so that the dictionary page bounds the values."""
        if self.dictionary_offset is None:
            return False
        if self.page_encodings is not None:
            data = [enc for page, enc in self.page_encodings if page in DATA_PAGE_TYPES]
            return bool(data) and all(enc in DICTIONARY_ENCODINGS for enc in data)
        # Without page statistics, only a chunk whose encodings leave no room for a plain
        # fallback qualifies (levels are RLE/BIT_PACKED, values dictionary indices).
        return set(self.encodings) <= DICTIONARY_ENCODINGS | {3, 4}


@dataclass(frozen=True)
class RowGroup:
    """One row group: its rows and column chunks."""

    index: int
    num_rows: int
    chunks: tuple[Chunk, ...]

    def chunk(self, path: str) -> Chunk:
        """The column chunk of ``path``."""
        return next(c for c in self.chunks if c.path == path)


@dataclass(frozen=True)
class Leaf:
    """One leaf column of the schema: dotted path, physical type, repetition."""

    path: str
    physical_type: str
    repetition: int | None  # 0 required, 1 optional, 2 repeated


@dataclass(frozen=True)
class Footer:
    """The decoded, checked footer of one file."""

    size: int  # of the file
    footer_start: int  # where the Thrift FileMetaData begins
    num_rows: int
    leaves: tuple[Leaf, ...]
    row_groups: tuple[RowGroup, ...] = field(default_factory=tuple)
    created_by: str = ""

    @property
    def footer_bytes(self) -> int:
        """The footer's size in bytes (the Thrift part)."""
        return self.size - self.footer_start


def footer_length(tail: bytes, size: int) -> int:
    """Length of the Thrift footer, from the file's last 8 bytes."""
    if len(tail) < 8 or tail[-4:] != MAGIC:
        raise CorruptFooterError("does not end with the parquet magic bytes")
    length = struct.unpack("<I", tail[-8:-4])[0]
    if length < 2 or length > size - 12:
        raise CorruptFooterError(f"footer length {length} does not fit a {size}-byte file")
    return length


def parse(tail: bytes, size: int) -> Footer:
    """Decode and check the footer from the file's last ``len(tail)`` bytes (which must hold
    the whole footer: ``footer_length(tail, size) + 8`` bytes)."""
    length = footer_length(tail, size)
    if length + 8 > len(tail):
        raise CorruptFooterError("the footer is longer than the bytes given")  # caller fetches more
    raw = tail[len(tail) - 8 - length : len(tail) - 8]
    try:
        meta, used = decode_struct(raw)
    except RecursionError:
        raise CorruptFooterError("structures nested too deeply") from None
    if used != length:
        raise CorruptFooterError(f"footer decodes to {used} of its {length} bytes")
    return _check(meta, size, size - 8 - length)


def _int(fields: dict, key: int, what: str, required: bool = True) -> int | None:
    value = fields.get(key)
    if value is None:
        if required:
            raise CorruptFooterError(f"{what} is missing")
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise CorruptFooterError(f"{what} is not an integer")
    return value


def _list(fields: dict, key: int, what: str) -> list:
    value = fields.get(key)
    if not isinstance(value, list):
        raise CorruptFooterError(f"{what} is missing or not a list")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, bytes):
        raise CorruptFooterError(f"{what} is not a string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptFooterError(f"{what} is not UTF-8") from None


def _leaves(schema: list) -> list[Leaf]:
    """Walk the flattened schema tree; every element must be consumed exactly."""
    if not schema or not all(isinstance(e, dict) for e in schema):
        raise CorruptFooterError("the schema is empty or malformed")
    leaves: list[Leaf] = []
    position = 0

    def walk(prefix: tuple[str, ...], depth: int) -> None:
        nonlocal position
        if position >= len(schema):
            raise CorruptFooterError("the schema ends before its declared children")
        if depth > MAX_DEPTH:
            raise CorruptFooterError("the schema is nested too deeply")
        element = schema[position]
        position += 1
        name = _text(element.get(4), "a schema element name")
        children = _int(element, 5, f"num_children of {name!r}", required=False)
        path = (*prefix, name) if depth else ()
        if children:
            if children < 0 or children > len(schema):
                raise CorruptFooterError(f"schema element {name!r} declares {children} children")
            for _ in range(children):
                walk(path, depth + 1)
            return
        if depth == 0:
            raise CorruptFooterError("the schema root has no columns")
        physical = _int(element, 1, f"the type of column {name!r}")
        if physical not in PHYSICAL_TYPES:
            raise CorruptFooterError(f"column {'.'.join(path)!r} has unknown physical type {physical}")
        if physical == 7 and not (_int(element, 2, "type_length", required=False) or 0) > 0:
            raise CorruptFooterError(f"column {'.'.join(path)!r} is FIXED_LEN_BYTE_ARRAY without a length")
        repetition = _int(element, 3, "repetition", required=False)
        if repetition is not None and repetition not in (0, 1, 2):
            raise CorruptFooterError(f"column {'.'.join(path)!r} has unknown repetition {repetition}")
        leaves.append(Leaf(".".join(path), PHYSICAL_TYPES[physical], repetition))

    walk((), 0)
    if position != len(schema):
        raise CorruptFooterError(f"the schema has {len(schema) - position} elements outside its tree")
    return leaves


def _statistics(raw: Any) -> Statistics:
    if raw is None:
        return Statistics(None, None, None)
    if not isinstance(raw, dict):
        raise CorruptFooterError("column statistics are malformed")
    nulls = _int(raw, 3, "null_count", required=False)
    if nulls is not None and nulls < 0:
        raise CorruptFooterError(f"negative null count {nulls}")
    low, high = raw.get(6), raw.get(5)  # min_value / max_value (correct ordering)
    if not isinstance(low, (bytes, type(None))) or not isinstance(high, (bytes, type(None))):
        raise CorruptFooterError("column statistics min/max are malformed")
    return Statistics(nulls, low, high)


def _check(meta: dict, size: int, footer_start: int) -> Footer:
    leaves = _leaves(_list(meta, 2, "the schema"))
    num_rows = _int(meta, 3, "num_rows")
    if num_rows < 0:
        raise CorruptFooterError(f"negative row count {num_rows}")
    if 8 in meta or 9 in meta:
        raise CorruptFooterError("the footer is encrypted (not written by DMS)")
    groups = []
    total = 0
    for g, raw_group in enumerate(_list(meta, 4, "row_groups")):
        if not isinstance(raw_group, dict):
            raise CorruptFooterError(f"row group {g} is malformed")
        rows = _int(raw_group, 3, f"row group {g} num_rows")
        if rows < 0:
            raise CorruptFooterError(f"row group {g} has a negative row count")
        total += rows
        columns = _list(raw_group, 1, f"row group {g} columns")
        if len(columns) != len(leaves):
            raise CorruptFooterError(f"row group {g} has {len(columns)} column chunks for {len(leaves)} columns")
        chunks = tuple(_chunk(g, i, raw, leaves[i], rows, footer_start) for i, raw in enumerate(columns))
        groups.append(RowGroup(g, rows, chunks))
    if total != num_rows:
        raise CorruptFooterError(f"row groups hold {total} rows, the footer says {num_rows}")
    created_by = meta.get(6)
    return Footer(
        size=size,
        footer_start=footer_start,
        num_rows=num_rows,
        leaves=tuple(leaves),
        row_groups=tuple(groups),
        created_by=created_by.decode("utf-8", "replace") if isinstance(created_by, bytes) else "",
    )


def _chunk(g: int, i: int, raw: Any, leaf: Leaf, rows: int, footer_start: int) -> Chunk:
    where = f"row group {g} column {leaf.path!r}"
    meta = _chunk_meta(where, raw, leaf)
    encodings = tuple(_list(meta, 2, f"{where} encodings"))
    if not encodings or any(e not in ENCODINGS for e in encodings):
        raise CorruptFooterError(f"{where}: unknown encodings {list(encodings)}")
    codec = _int(meta, 4, f"{where} codec")
    if codec not in CODECS:
        raise CorruptFooterError(f"{where}: unknown compression codec {codec}")
    num_values = _int(meta, 5, f"{where} num_values")
    if num_values < 0 or (leaf.repetition != 2 and num_values != rows):
        raise CorruptFooterError(f"{where}: {num_values} values for {rows} rows")
    start, size, dictionary_offset, data_offset = _chunk_offsets(where, meta)
    if rows == 0 and num_values == 0:  # an empty row group: nothing to read, whatever the offsets say
        return Chunk(i, leaf.path, leaf.physical_type, CODECS[codec], 0, 0, 0, None, 0,
                     Statistics(0, None, None), encodings, None)  # fmt: skip
    if not 4 <= start <= data_offset:
        raise CorruptFooterError(f"{where}: pages start at {start}, data at {data_offset}")
    if size <= 0 or start + size > footer_start or data_offset >= start + size:
        raise CorruptFooterError(f"{where}: bytes {start}..{start + size} are not inside the data section")
    stats = _statistics(meta.get(12))
    if stats.null_count is not None and stats.null_count > num_values:
        raise CorruptFooterError(f"{where}: {stats.null_count} nulls among {num_values} values")
    return Chunk(
        column=i,
        path=leaf.path,
        physical_type=leaf.physical_type,
        codec=CODECS[codec],
        num_values=num_values,
        start=start,
        size=size,
        dictionary_offset=dictionary_offset,
        data_offset=data_offset,
        statistics=stats,
        encodings=encodings,
        page_encodings=_page_encodings(where, meta.get(13)),
    )


def _chunk_meta(where: str, raw: Any, leaf: Leaf) -> dict:
    """The chunk's ColumnMetaData, in this file, of the schema's type and path."""
    if not isinstance(raw, dict) or not isinstance(raw.get(3), dict):
        raise CorruptFooterError(f"{where}: column metadata is missing")
    if raw.get(1) is not None:
        raise CorruptFooterError(f"{where}: points into another file")
    meta = raw[3]
    physical = _int(meta, 1, f"{where} type")
    if PHYSICAL_TYPES.get(physical) != leaf.physical_type:
        raise CorruptFooterError(
            f"{where}: chunk type {PHYSICAL_TYPES.get(physical, physical)} "
            f"contradicts the schema's {leaf.physical_type}"
        )
    path = ".".join(_text(p, f"{where} path") for p in _list(meta, 3, f"{where} path_in_schema"))
    if path != leaf.path:
        raise CorruptFooterError(f"{where}: chunk says it holds {path!r}")
    return meta


def _chunk_offsets(where: str, meta: dict) -> tuple[int, int, int | None, int]:
    """(start, size, dictionary offset, data offset) as the footer gives them."""
    compressed = _int(meta, 7, f"{where} total_compressed_size")
    _int(meta, 6, f"{where} total_uncompressed_size")
    data_offset = _int(meta, 9, f"{where} data_page_offset")
    dictionary_offset = _int(meta, 11, f"{where} dictionary_page_offset", required=False)
    if dictionary_offset is not None and dictionary_offset <= 0:
        dictionary_offset = None  # some writers record 0 for "none"
    start = dictionary_offset if dictionary_offset is not None else data_offset
    return start, compressed, dictionary_offset, data_offset


def _page_encodings(where: str, raw: Any) -> tuple[tuple[int, int], ...] | None:
    """(page type, encoding) pairs with pages, when the writer recorded them."""
    if not isinstance(raw, list):
        return None
    pairs = []
    for item in raw:
        if not isinstance(item, dict):
            raise CorruptFooterError(f"{where}: page encoding statistics are malformed")
        count = _int(item, 3, "page count")
        if count and count > 0:
            pairs.append((_int(item, 1, "page type"), _int(item, 2, "page encoding")))
    return tuple(pairs)


# --- dictionary pages ------------------------------------------------------------------


def dictionary_values(chunk: Chunk, data: bytes, limit: int = 4096) -> set[bytes] | None:
    """The values of a BYTE_ARRAY chunk's dictionary page (``data`` starts at the page), or
    None when this cannot be decided in pure Python (a codec other than none/gzip, more than
    ``limit`` values). Raises CorruptFooterError when the page contradicts itself."""
    import zlib

    if chunk.physical_type != "BYTE_ARRAY" or chunk.dictionary_offset is None:
        return None
    header, used = decode_struct(data)
    if _int(header, 1, "page type") != DICTIONARY_PAGE:
        raise CorruptFooterError(f"column {chunk.path!r}: no dictionary page where the footer says")
    compressed = _int(header, 3, "compressed page size")
    uncompressed = _int(header, 2, "uncompressed page size")
    dictionary = header.get(7)
    if not isinstance(dictionary, dict) or compressed < 0 or uncompressed < 0:
        raise CorruptFooterError(f"column {chunk.path!r}: malformed dictionary page header")
    count = _int(dictionary, 1, "dictionary size")
    if count < 0 or count > limit:
        return None
    body = data[used : used + compressed]
    if len(body) != compressed:
        raise CorruptFooterError(f"column {chunk.path!r}: dictionary page runs past its chunk")
    if chunk.codec == "GZIP":
        try:
            body = zlib.decompressobj(wbits=31).decompress(body, uncompressed)
        except zlib.error as exc:
            raise CorruptFooterError(f"column {chunk.path!r}: dictionary page does not decompress ({exc})") from None
    elif chunk.codec != "UNCOMPRESSED":
        return None
    if len(body) != uncompressed:
        raise CorruptFooterError(
            f"column {chunk.path!r}: dictionary page is {len(body)} bytes, header says {uncompressed}"
        )
    values, pos = set(), 0
    for _ in range(count):  # PLAIN BYTE_ARRAY: 4-byte little-endian length, then the bytes
        if pos + 4 > len(body):
            raise CorruptFooterError(f"column {chunk.path!r}: dictionary page ends early")
        n = struct.unpack("<I", body[pos : pos + 4])[0]
        if pos + 4 + n > len(body):
            raise CorruptFooterError(f"column {chunk.path!r}: dictionary value runs past the page")
        values.add(body[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return values


def dictionary_page_bound(chunk: Chunk) -> tuple[int, int]:
    """Byte range holding a chunk's dictionary page (it ends where data pages begin)."""
    assert chunk.dictionary_offset is not None
    return chunk.dictionary_offset, chunk.data_offset
