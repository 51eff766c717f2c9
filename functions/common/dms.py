"""What the pipeline's DMS tasks are configured to write, in one place.

The Pulumi program configures DMS with these names and the validator expects them,
so both import them from here rather than repeating the literals.
"""

from __future__ import annotations

import re

# First column DMS adds: I/U/D (IncludeOpForFullLoad makes full-load files carry it too).
OP_COLUMN = "Op"
OP_VALUES = frozenset({"I", "U", "D"})

# TimestampColumnName: a string column "yyyy-MM-dd HH:mm:ss.SSSSSS" (commit time in CDC).
TIMESTAMP_COLUMN = "dms_commit_ts"

# Added by a table-mapping add-column rule from the $AR_H_CHANGE_SEQ header: the ordering
# key for rebuilding current state. CDC rows carry "YYYYMMDDHHmmSShh" + a 19-digit counter
# (zero-padded, so it sorts as text); full-load rows carry it empty, so they sort first.
CHANGE_SEQUENCE_COLUMN = "dms_change_seq"
CHANGE_SEQUENCE_EXPRESSION = "$AR_H_CHANGE_SEQ"
CHANGE_SEQUENCE_LENGTH = 50

# DMS writes TIME columns as parquet TIME, which neither Athena nor Glue can read: a
# change-data-type rule turns every TIME column into text ("HH:MM:SS[.ffffff]").
TIME_AS_STRING_LENGTH = 32

# CDC files go under commit-date folders: <schema>/<table>/YYYY/MM/DD[/HH]/<ts>.parquet; the
# sequence (YYYYMMDD or YYYYMMDDHH) is the source's layout's (functions/common/layout.py).
DATE_PARTITION_DELIMITER = "SLASH"

ROW_GROUP_LENGTH = 10_000


def locator_matches(pattern: str, name: str) -> bool:
    """Table-mapping object-locator semantics: '%' matches any run of characters,
    everything else literally and case-sensitively."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("%")), name, re.S) is not None
