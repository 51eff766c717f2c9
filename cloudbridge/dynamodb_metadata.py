"""``python -m cloudbridge metadata extract|diff`` for a DynamoDB source: metadata from a sample.

DynamoDB declares only its key attributes, so the rest of a table's schema is read from its items:
``DescribeTable`` for the key (its attribute types), then an eventually consistent ``Scan`` of at
most ``--sample`` items (default 1,000; it consumes read capacity) for every other attribute.
Each attribute is declared as the converter lands it (docs/dynamodb.md, "Table metadata"):

- ``S`` string, ``B`` binary, ``BOOL`` bool, ``SS NS BS M L`` string (JSON);
- ``N`` int64 when every sampled number is a whole number within int64, otherwise
  ``decimal(38,s)`` with ``s`` the largest scale sampled (the widest precision, so a larger number
  later still fits), or string when a sampled number has more than 38 digits;
- the key attributes not nullable, every other attribute nullable (DynamoDB requires nothing else).

Every proposed declaration is checked with the converter's own conversion against every sampled
value. An attribute sampled with two DynamoDB types cannot be declared (the converter lands one
type per column and quarantines the other as ``TYPE_MISMATCH``): extract then writes nothing and
exits 1 naming it. An attribute sampled only as ``NULL`` is left undeclared, with a warning.

``diff`` compares the sample with the committed files: a key that changed, an attribute sampled but
not declared, a sampled value the declaration cannot hold (counted per type). A declared attribute
the sample does not hold is not drift: a sample need not show every attribute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cloudbridge.extraction_report import Report
from functions.common import dynamodb as ddb
from functions.common.metadata import Column, TableMetadata, name_clashes
from functions.common.typemap import UnsupportedTypeError

DYNAMODB_SAMPLE = 1000  # items scanned per DynamoDB table unless --sample says otherwise

MAX_DIGITS = 38  # Athena's and Glue's widest decimal
_INT64 = (-(2**63), 2**63 - 1)
_KEY_TYPES = {"S": "string", "B": "binary"}  # N keys follow their sample (string without one: exact text)


@dataclass
class Sample:
    """One table's description and sampled items."""

    name: str  # the DynamoDB table name
    description: Mapping[str, Any]
    items: list[Mapping[str, Any]]

    @property
    def key(self) -> tuple[str, ...]:
        """The key attributes, partition key first."""
        order = {"HASH": 0, "RANGE": 1}
        schema = sorted(self.description["KeySchema"], key=lambda k: order[k["KeyType"]])
        return tuple(k["AttributeName"] for k in schema)

    def key_type(self, name: str) -> str:
        """A key attribute's DynamoDB type (S, N or B), from the table's attribute definitions."""
        return next(a["AttributeType"] for a in self.description["AttributeDefinitions"] if a["AttributeName"] == name)

    def values(self) -> dict[str, list[Mapping[str, Any]]]:
        """Every attribute's sampled typed values, ``NULL`` included, by attribute name."""
        out: dict[str, list[Mapping[str, Any]]] = {}
        for item in self.items:
            for name, value in item.items():
                out.setdefault(name, []).append(value)
        return out


def sample_table(client: Any, table: str, limit: int) -> Sample:
    """``DescribeTable`` and up to ``limit`` items of one table (a ``Scan``, page by page)."""
    description = client.describe_table(TableName=table)["Table"]
    items: list[Mapping[str, Any]] = []
    pages = client.get_paginator("scan").paginate(
        TableName=table, PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)}
    )
    for page in pages:
        items += page.get("Items", [])
        if len(items) >= limit:
            break
    return Sample(table, description, items[:limit])


def number_type(texts: Iterable[str]) -> str:
    """The narrowest declaration every sampled number fits: int64, decimal(38,s) or string."""
    numbers = [Decimal(t) for t in texts]
    if all(n == n.to_integral_value() and _INT64[0] <= n <= _INT64[1] for n in numbers):
        return "int64"
    scale = digits = 0
    for number in numbers:
        places, exponent = _significant(number)
        scale = max(scale, -exponent)
        digits = max(digits, len(places) + exponent)
    if scale > MAX_DIGITS or digits + scale > MAX_DIGITS:
        return "string"
    return f"decimal({MAX_DIGITS},{scale})"


def _significant(number: Decimal) -> tuple[tuple[int, ...], int]:
    """(digits, exponent) of a finite number without the trailing zeros after its point, exactly
    (``normalize`` rounds to the context's 28 digits; DynamoDB numbers have up to 38)."""
    _, places, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # DynamoDB numbers are finite
    if not any(places):
        return (), 0
    while exponent < 0 and places[-1] == 0:
        places, exponent = places[:-1], exponent + 1
    return places, exponent


def _portable(kind: str, values: list[Mapping[str, Any]]) -> str:
    if kind == "N":
        return number_type(v["N"] for v in values)
    return {"S": "string", "B": "binary", "BOOL": "bool"}.get(kind, "string")


@dataclass
class Proposal:
    """What one table's sample says: its metadata, and what an operator must know or decide."""

    meta: TableMetadata
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def types_seen(values: list[Mapping[str, Any]]) -> Counter:
    """How many sampled values of each DynamoDB type, ``NULL`` left out."""
    return Counter(t for t in (ddb.type_of(v) for v in values) if t != "NULL")


def propose(source: str, sample: Sample) -> Proposal:
    """The metadata a table's sample supports (key first, then the other attributes by name)."""
    lake = ddb.lake_table(sample.name)
    where = f"{ddb.SCHEMA}.{lake}"
    values = sample.values()
    proposal = Proposal(TableMetadata(source, ddb.ENGINE, ddb.SCHEMA, lake, (), sample.key))
    columns = []
    for name in [*sample.key, *sorted(set(values) - set(sample.key))]:
        found = values.get(name, [])
        seen = types_seen(found)
        if name in sample.key:
            seen = seen or Counter({sample.key_type(name): 0})
        if name in proposal.meta.dms.names():
            proposal.problems.append(
                f"{where}.{name}: named as a column the converter adds to every file; rename the attribute"
            )
            continue
        if len(seen) > 1:
            counts = ", ".join(f"{t} in {n} item(s)" for t, n in sorted(seen.items()))
            proposal.problems.append(
                f"{where}.{name}: {counts}; a column holds one DynamoDB type (the others would be quarantined "
                "as TYPE_MISMATCH): make the items agree, then extract again"
            )
            continue
        if not seen:
            proposal.warnings.append(
                f"{where}.{name}: only NULL in the sample, not declared; its first value will quarantine "
                "the file as UNEXPECTED_COLUMNS until it is declared"
            )
            continue
        (kind,) = seen
        typed = [v for v in found if ddb.type_of(v) == kind]
        # Only a key can be without sampled values here (an empty table): its definition's type.
        portable = _portable(kind, typed) if typed else _KEY_TYPES.get(kind, "string")
        column = Column(name=name, type=portable, nullable=name not in sample.key, source_type=kind)
        misfits = [v for v in found if not ddb.convert(v, column)[0]]
        if misfits or ddb.declaration_problem(column):  # the converter is the judge of a declaration
            proposal.problems.append(f"{where}.{name}: declared {column.type}, {len(misfits)} sampled value(s) unfit")
            continue
        if column.type == "string" and kind == "N":
            proposal.notes.append(f"{where}.{name}: numbers declared string (exact text)")
        columns.append(column)
    proposal.problems += [
        f"{where}: {c}: Athena lower-cases column names, so it cannot tell them apart; rename the attribute"
        for c in name_clashes([c.name for c in columns], proposal.meta.dms)
    ]
    proposal.meta = TableMetadata(source, ddb.ENGINE, ddb.SCHEMA, lake, tuple(columns), sample.key)
    count = sample.description.get("ItemCount")
    total = f" of about {count} (DescribeTable's ItemCount, updated every six hours or so)" if count else ""
    proposal.notes.insert(0, f"{where}: {len(sample.items)} item(s) sampled{total}")
    return proposal


def inspect_dynamodb(client: Any, source: str, tables: Iterable[str], limit: int = DYNAMODB_SAMPLE) -> Report:
    """Every table's proposed metadata; UnsupportedTypeError listing every attribute that cannot be declared."""
    report, problems = Report(), []
    for table in tables:
        proposal = propose(source, sample_table(client, table, limit))
        report.tables.append(proposal.meta)
        report.notes += proposal.notes + [f"WARNING {w}" for w in proposal.warnings]
        problems += proposal.problems
    if problems:
        raise UnsupportedTypeError("attributes that cannot be declared:\n  " + "\n  ".join(problems))
    return report


def drift(committed: Mapping[str, TableMetadata], samples: Iterable[Sample]) -> list[str]:
    """What the samples show against the committed metadata, stable order (see the module's text)."""
    changes, sampled = [], set()
    for sample in samples:
        table_id = f"{ddb.SCHEMA}.{ddb.lake_table(sample.name)}"
        sampled.add(table_id)
        meta = committed.get(table_id)
        changes += _table_drift(table_id, meta, sample) if meta else [f"{table_id}: new table, no committed metadata"]
    return changes + [f"{t}: table no longer in the source's tables" for t in sorted(set(committed) - sampled)]


def _table_drift(table_id: str, meta: TableMetadata, sample: Sample) -> list[str]:
    changes = []
    if meta.primary_key != sample.key:
        changes.append(f"{table_id}: primary key {list(meta.primary_key)} -> {list(sample.key)}")
    declared = {c.name: c for c in meta.columns}
    for name, found in sorted(sample.values().items()):
        column, seen = declared.get(name), types_seen(found)
        if column is None:
            if seen:
                kinds = "/".join(sorted(seen))
                changes.append(f"{table_id}.{name}: attribute not declared ({kinds} in {sum(seen.values())} item(s))")
            continue
        unfit = Counter(ddb.type_of(v) for v in found if not ddb.convert(v, column)[0])
        if unfit:
            counts = ", ".join(f"{n} {t}" for t, n in sorted(unfit.items()))
            changes.append(
                f"{table_id}.{name}: {counts} sampled value(s) the declaration "
                f"({column.source_type} as {column.type}) cannot hold"
            )
    return changes
