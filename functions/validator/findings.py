"""What validating a file concludes: the reason codes, a finding, the verdict.

Reason codes are a contract: the failed object's tags and metadata, the log line, the
metric and the Slack alert carry them, and ``docs/validation.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Reason codes: stable, machine-readable; the message says the details.
EMPTY_FILE = "EMPTY_FILE"
NOT_PARQUET = "NOT_PARQUET"
UNREADABLE_FILE = "UNREADABLE_FILE"
CORRUPT_DATA = "CORRUPT_DATA"
UNRECOGNIZED_KEY = "UNRECOGNIZED_KEY"
UNKNOWN_TABLE = "UNKNOWN_TABLE"
METADATA_INVALID = "METADATA_INVALID"
MISSING_COLUMNS = "MISSING_COLUMNS"
UNEXPECTED_COLUMNS = "UNEXPECTED_COLUMNS"
TYPE_MISMATCH = "TYPE_MISMATCH"
NULL_IN_REQUIRED_COLUMN = "NULL_IN_REQUIRED_COLUMN"
INVALID_OP = "INVALID_OP"
NO_ROWS = "NO_ROWS"
INVALID_CHANGE_SEQUENCE = "INVALID_CHANGE_SEQUENCE"
# The file carries a column the stack excludes (excludeColumns): the task's remove-column rule
# did not apply. Decided from the footer, before any of its data is read.
EXCLUDED_COLUMN = "EXCLUDED_COLUMN"
REASON_CODES = (
    EMPTY_FILE, NOT_PARQUET, UNREADABLE_FILE, CORRUPT_DATA, UNRECOGNIZED_KEY, UNKNOWN_TABLE, METADATA_INVALID,
    MISSING_COLUMNS, UNEXPECTED_COLUMNS, TYPE_MISMATCH, NULL_IN_REQUIRED_COLUMN, INVALID_OP, NO_ROWS,
    INVALID_CHANGE_SEQUENCE, EXCLUDED_COLUMN,
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One reason a file fails: a stable code and a message naming the details."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The finding as logged and tagged."""
        return {"code": self.code, "message": self.message}


@dataclass
class Result:
    """The verdict on one file, with what it cost to reach it."""

    findings: list[Finding] = field(default_factory=list)
    rows: int = 0
    row_groups: int = 0
    chunks_scanned: int = 0  # column chunks that had to be decoded
    needed_bytes: int = 0  # footer + the chunk bytes the decision needed (the floor)

    @property
    def passed(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    @property
    def codes(self) -> list[str]:
        """The reason codes found, sorted and unique."""
        return sorted({f.code for f in self.findings})

    def fail(self, code: str, message: str) -> None:
        """Record one finding."""
        self.findings.append(Finding(code, message))
