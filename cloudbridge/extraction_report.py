"""What ``metadata extract`` found, for a relational or a DynamoDB source: tables and warnings.

Its own module so ``cloudbridge.metadata`` (the command) and ``cloudbridge.dynamodb_metadata``
(the DynamoDB inspection it calls) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.common.metadata import TableMetadata


@dataclass
class Report:
    """What extraction found: the tables' metadata and what an operator should know about them."""

    tables: list[TableMetadata] = field(default_factory=list)
    without_primary_key: list[str] = field(default_factory=list)
    lob_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmatched_patterns: list[str] = field(default_factory=list)
    excluded_columns: list[str] = field(default_factory=list)  # schema.table.column left out
    unmatched_exclusions: list[str] = field(default_factory=list)
    excluded_and_cast: list[str] = field(default_factory=list)  # excluded TIME columns (two transformations)

    def lines(self) -> list[str]:
        """The report as lines for the terminal: counts, warnings, LOB columns, notes, patterns that matched nothing."""
        out = [f"{len(self.tables)} table(s)"]
        out += [
            f"WARNING {t}: no primary key, DMS cannot apply its updates and deletes" for t in self.without_primary_key
        ]
        out += [
            f"LOB {c}: limited LOB mode fails the task (Postgres) or truncates beyond LobMaxSize"
            for c in self.lob_columns
        ]
        out += [f"NOTE {n}" for n in self.notes]
        out += [f"WARNING pattern {p!r} matches no table" for p in self.unmatched_patterns]
        out += [f"EXCLUDED {c}: kept out of the lake (excludeColumns)" for c in self.excluded_columns]
        out += [
            f"WARNING excludeColumns {p!r} matches no column of the selected tables: check its spelling "
            "(names are case-sensitive)"
            for p in self.unmatched_exclusions
        ]
        out += [
            f"WARNING {c}: excluded, and a TIME column the task also casts to text; DMS documents one "
            "transformation per column, so check the table's first files after the deploy: if they still "
            "carry it, the validator fails them (EXCLUDED_COLUMN) and nothing is lost"
            for c in self.excluded_and_cast
        ]
        return out
