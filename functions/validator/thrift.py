"""Thrift's compact protocol, decoded in pure Python with every length bounded by the data.

Parquet's footer (``FileMetaData``) and page headers are Thrift compact structs. Native
decoders trust the lengths and counts inside them; this one checks each against the
bytes present (a list cannot have more elements than bytes left, a string cannot run
past the end, nesting is limited), so hostile bytes raise ``ThriftError`` instead of
allocating or reading out of bounds. Structs come back as ``{field id: value}``.
"""

from __future__ import annotations

import struct
from typing import Any

MAX_DEPTH = 32  # nesting of Thrift structs; real footers use 5


class ThriftError(ValueError):
    """The bytes are not a well-formed Thrift compact struct."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ThriftError("the data ends inside a value")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ThriftError("varint longer than 64 bits")


def _value(data: bytes, pos: int, kind: int, depth: int) -> tuple[Any, int]:
    # Hot path first: zigzag integers, with the common one-byte varint inlined.
    if kind in (4, 5, 6):
        if pos < len(data) and data[pos] < 0x80:
            n = data[pos]
            return (n >> 1) ^ -(n & 1), pos + 1
        n, pos = _varint(data, pos)
        return (n >> 1) ^ -(n & 1), pos
    if kind == 8:
        n, pos = _varint(data, pos)
        if pos + n > len(data):
            raise ThriftError(f"length {n} runs past the data")
        return data[pos : pos + n], pos + n
    if kind == 12:
        return _struct(data, pos, depth + 1)
    if kind in (9, 10):
        return _tlist(data, pos, depth)
    if kind in (1, 2):  # bool inside a struct: the type is the value
        return kind == 1, pos
    if kind == 3:
        if pos >= len(data):
            raise ThriftError("the data ends inside a value")
        return struct.unpack_from("b", data, pos)[0], pos + 1
    if kind == 7:
        if pos + 8 > len(data):
            raise ThriftError("the data ends inside a value")
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if kind == 11:
        size, pos = _varint(data, pos)
        if size == 0:
            return {}, pos
        if pos >= len(data) or size > len(data) - pos:
            raise ThriftError(f"map of {size} entries in {len(data) - pos} bytes")
        types = data[pos]
        pos += 1
        out = {}
        for _ in range(size):
            k, pos = _value(data, pos, types >> 4, depth)
            v, pos = _value(data, pos, types & 0x0F, depth)
            if isinstance(k, (list, dict)):
                raise ThriftError("unhashable map key")
            out[k] = v
        return out, pos
    raise ThriftError(f"unknown Thrift type {kind}")


def _tlist(data: bytes, pos: int, depth: int) -> tuple[list[Any], int]:
    if pos >= len(data):
        raise ThriftError("the data ends inside a list")
    header = data[pos]
    pos += 1
    size, kind = header >> 4, header & 0x0F
    if size == 15:
        size, pos = _varint(data, pos)
    if size > len(data) - pos:  # every element takes at least one byte
        raise ThriftError(f"list of {size} elements in {len(data) - pos} bytes")
    if kind in (1, 2):  # bools in a list take one byte each
        return [b == 1 for b in data[pos : pos + size]], pos + size
    out = []
    for _ in range(size):
        item, pos = _value(data, pos, kind, depth)
        out.append(item)
    return out, pos


def _struct(data: bytes, pos: int, depth: int) -> tuple[dict[int, Any], int]:
    if depth > MAX_DEPTH:
        raise ThriftError("structures nested too deeply")
    fields: dict[int, Any] = {}
    last = 0
    end = len(data)
    while True:
        if pos >= end:
            raise ThriftError("the data ends inside a structure")
        header = data[pos]
        pos += 1
        if header == 0:
            return fields, pos
        delta, kind = header >> 4, header & 0x0F
        if delta:
            field_id = last + delta
        else:
            n, pos = _varint(data, pos)
            field_id = (n >> 1) ^ -(n & 1)
        fields[field_id], pos = _value(data, pos, kind, depth)
        last = field_id


def decode_struct(data: bytes) -> tuple[dict[int, Any], int]:
    """One Thrift compact struct from ``data``: (fields by id, bytes consumed)."""
    return _struct(data, 0, 0)
