"""How a source's raw history is partitioned in time: by day or by hour (the source's
``rawHistoryPartition``; docs/analytics.md, "Partitions by day or by hour").

Every key of raw history is ``<schema>/<table>/<partition folders>/<file>``, and the
folders are the Glue partition value: ``yyyy/MM/dd`` by day, ``yyyy/MM/dd/HH`` by hour (UTC).
DMS writes CDC files under those folders itself (``DatePartitionSequence`` YYYYMMDD or
YYYYMMDDHH, delimiter SLASH); the validator dates full-load files, the marker writer its
markers, the DynamoDB converters their files, all with the same ``Layout``. Hourly
partitions let the compacted view read only the last hours of history instead of whole
days (benchmarks/RESULTS.md). A source's layout is fixed once it has history: files under
the other layout are outside the catalog's partition projection, so ``plan --against``
refuses the change. Pure data: no boto3, no pyarrow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Layout:
    """One partition layout: its folders, Glue projection and DMS date-partition settings."""

    name: str  # the config value: day | hour
    strftime: str  # the folders of a UTC moment (Python)
    trino_format: str  # the same in Athena's date_format
    projection_format: str  # Glue partition projection (Java DateTimeFormatter)
    projection_unit: str  # projection.<key>.interval.unit
    projection_start: str  # the projection range's first value
    dms_sequence: str  # the S3 endpoint's DatePartitionSequence
    seconds: int  # length of one partition

    @property
    def pattern(self) -> re.Pattern[str]:
        """The folders of one partition, exactly (``\\d{4}/\\d{2}/\\d{2}`` [``/\\d{2}``])."""
        return re.compile(r"^\d{4}/\d{2}/\d{2}" + (r"/\d{2}" if self.name == HOUR_NAME else "") + "$")

    @property
    def depth(self) -> int:
        """How many folders a partition is."""
        return self.strftime.count("/") + 1

    def folder(self, moment: datetime) -> str:
        """The partition of a moment (UTC)."""
        return moment.astimezone(UTC).strftime(self.strftime)

    def of_stamp(self, name: str) -> str | None:
        """The partition a file name's leading ``YYYYMMDD`` (by day) or ``YYYYMMDD-HH`` (by hour)
        stamp says (DMS CDC names), or None when the name carries no such stamp."""
        match = re.match(r"^(20\d{2})(\d{2})(\d{2})" + (r"-(\d{2})" if self.name == HOUR_NAME else ""), name)
        if not match:
            return None
        return "/".join(match.groups())


DAY_NAME, HOUR_NAME = "day", "hour"
DAY = Layout(DAY_NAME, "%Y/%m/%d", "%Y/%m/%d", "yyyy/MM/dd", "DAYS", "2020/01/01", "YYYYMMDD", 86400)
HOUR = Layout(HOUR_NAME, "%Y/%m/%d/%H", "%Y/%m/%d/%H", "yyyy/MM/dd/HH", "HOURS", "2020/01/01/00", "YYYYMMDDHH", 3600)
LAYOUTS = {DAY.name: DAY, HOUR.name: HOUR}
# The folders of any layout (raw-history keys, landing keys before the source's layout is known).
ANY_FOLDERS = r"\d{4}/\d{2}/\d{2}(?:/\d{2})?"


def by_name(name: str) -> Layout:
    """The layout called ``name``; ValueError naming the allowed values otherwise."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"a raw-history partition layout is one of {sorted(LAYOUTS)}, not {name!r}") from None


def partition_of(raw_key: str) -> tuple[str, str, str]:
    """(schema, table, partition folders) of a raw-history key, whatever its layout."""
    schema, table, *folders, _name = raw_key.split("/")
    partition = "/".join(folders)
    if not re.fullmatch(ANY_FOLDERS, partition):
        raise ValueError(f"{raw_key!r} is not <schema>/<table>/<yyyy/MM/dd[/HH]>/<file>")
    return schema, table, partition
