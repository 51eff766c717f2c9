"""Parsing PostgreSQL's ``test_decoding`` output into typed change records.

A transaction arrives as::

    BEGIN 732
    table public.orders: INSERT: order_id[bigint]:4 status[order_status]:'new' ...
    table public.orders: UPDATE: old-key: order_id[bigint]:1 new-tuple: order_id[bigint]:2 ...
    table public.orders: DELETE: order_id[bigint]:2
    COMMIT 732 (at 2026-11-24 18:24:58.734155+00)

Values are SQL literals: ``null``, bare (numbers, booleans) or single-quoted with ``''``
escapes; column names may be double-quoted. Types are printed without modifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

_CHANGE = re.compile(r"^table (?P<table>.+?): (?P<action>INSERT|UPDATE|DELETE|TRUNCATE):(?: (?P<rest>.*))?$", re.S)
_COMMIT = re.compile(r"^COMMIT (?P<xid>\d+)(?: \(at (?P<at>.+)\))?$")
UNCHANGED_TOAST = "unchanged-toast-datum"


@dataclass(frozen=True)
class Value:
    """One column value as test_decoding prints it: the type name and the text (None for SQL null)."""

    type: str  # as test_decoding prints it: integer, numeric, timestamp with time zone, ...
    text: str | None  # None for SQL null


@dataclass(frozen=True)
class Change:
    """One decoded row change: table, action and the columns it carries."""

    schema: str
    table: str
    action: str  # INSERT | UPDATE | DELETE | TRUNCATE
    columns: dict[str, Value]  # new tuple (INSERT/UPDATE) or key (DELETE)


def _identifier(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def split_table(qualified: str) -> tuple[str, str]:
    """``public."Order Lines"`` → (public, Order Lines)."""
    parts, current, quoted = [], "", False
    for ch in qualified:
        if ch == '"':
            quoted = not quoted
        if ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    if len(parts) != 2:
        raise ValueError(f"unexpected table name {qualified!r}")
    return _identifier(parts[0]), _identifier(parts[1])


def parse_tuple(text: str) -> dict[str, Value]:
    """The columns of a test_decoding tuple (``name[type]:value ...``, quotes and escapes honoured)."""
    columns: dict[str, Value] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            break
        # name: bare up to '[' or double-quoted
        if text[i] == '"':
            j = i + 1
            while True:
                j = text.index('"', j)
                if j + 1 < n and text[j + 1] == '"':
                    j += 2
                    continue
                break
            name = _identifier(text[i : j + 1])
            i = j + 1
        else:
            j = text.index("[", i)
            name = text[i:j]
            i = j
        if text[i] != "[":
            raise ValueError(f"expected '[' after column {name!r}")
        end = text.index("]:", i)
        type_ = text[i + 1 : end]
        i = end + 2
        if text.startswith("null", i) and (i + 4 == n or text[i + 4] == " "):
            columns[name] = Value(type_, None)
            i += 4
        elif text[i] == "'":
            j, chunks = i + 1, []
            while True:
                k = text.index("'", j)
                chunks.append(text[j:k])
                if k + 1 < n and text[k + 1] == "'":
                    chunks.append("'")
                    j = k + 2
                    continue
                i = k + 1
                break
            columns[name] = Value(type_, "".join(chunks))
        else:
            j = text.find(" ", i)
            j = n if j < 0 else j
            token = text[i:j]
            columns[name] = Value(type_, None if token == UNCHANGED_TOAST else token)
            i = j
    return columns


def parse_change(line: str) -> Change | None:
    """A change line; None for BEGIN/COMMIT and other non-change lines."""
    match = _CHANGE.match(line)
    if not match:
        return None
    if match.group("action") == "TRUNCATE":  # "(no-flags)", "cascade", …: no tuple; DMS ignores it anyway
        schema, table = split_table(match.group("table").split(", ")[0])
        return Change(schema, table, "TRUNCATE", {})
    schema, table = split_table(match.group("table"))
    rest = match.group("rest") or ""
    if rest.startswith("old-key: "):
        rest = rest.split(" new-tuple: ", 1)[1]
    if rest == "(no-tuple-data)":
        rest = ""
    return Change(schema, table, match.group("action"), parse_tuple(rest))


def parse_commit(line: str) -> datetime | None:
    """The commit time of a ``COMMIT … (at …)`` line (``include-timestamp``), in UTC."""
    match = _COMMIT.match(line)
    if not match:
        return None
    at = match.group("at")
    return parse_timestamptz(at) if at else datetime.now(UTC)


def parse_timestamptz(text: str) -> datetime:
    """A ``timestamp with time zone`` as Postgres prints it, in UTC."""
    if re.search(r"[+-]\d{2}$", text):
        text += ":00"  # Python wants +00:00, Postgres prints +00
    return datetime.fromisoformat(text).astimezone(UTC)


def python_value(value: Value) -> Any:
    """The Python value of a literal, by its Postgres type (as psycopg would return it)."""
    text, type_ = value.text, value.type
    if text is None:
        return None
    if type_ in ("smallint", "integer", "bigint"):
        return int(text)
    if type_ == "numeric":
        return Decimal(text)
    if type_ in ("real", "double precision"):
        return float(text)
    if type_ == "boolean":
        return text == "true"
    if type_ == "date":
        return date.fromisoformat(text)
    if type_ == "timestamp without time zone":
        return datetime.fromisoformat(text)
    if type_ == "timestamp with time zone":
        return parse_timestamptz(text)
    if type_ == "time without time zone":
        return time.fromisoformat(text)
    if type_ == "bytea":
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    return text  # text, varchar, char, uuid, json, enums, arrays…: DMS writes strings
