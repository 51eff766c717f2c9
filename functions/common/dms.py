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

# Added by a table-mapping add-column rule from $AR_H_STREAM_POSITION: the ordering key
# for rebuilding current state from the change log.
STREAM_POSITION_COLUMN = "dms_stream_position"
STREAM_POSITION_EXPRESSION = "$AR_H_STREAM_POSITION"
STREAM_POSITION_LENGTH = 50

# CDC files go under commit-date folders: <schema>/<table>/YYYY/MM/DD/<ts>.parquet
DATE_PARTITION_SEQUENCE = "YYYYMMDD"
DATE_PARTITION_DELIMITER = "SLASH"

ROW_GROUP_LENGTH = 10_000


def locator_matches(pattern: str, name: str) -> bool:
    """Table-mapping object-locator semantics: '%' matches any run of characters,
    everything else literally and case-sensitively."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("%")), name, re.S) is not None
