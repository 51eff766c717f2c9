"""Raw-history date (or hour) partitions registered in Glue, once each, as files arrive.

The Glue tables use partition projection, which Athena evaluates itself; readers that
ignore projection (Redshift Spectrum, Glue jobs, EMR) see only registered partitions, so
without this they would see no rows at all. Registration is idempotent (a partition that
exists already is fine) and remembered per container, so it costs one Glue call per table
and partition per container. It never decides a file's fate: the file is already stored when
its partition is registered, and a failed registration is logged and retried with the
next file of that day.
"""

from __future__ import annotations

import threading
from typing import Any

from functions.common.layout import partition_of
from functions.common.runtime import PARQUET_INPUT, PARQUET_OUTPUT, PARQUET_SERDE, glue_table_name


class Partitions:
    """The raw-history date partitions registered by this container, and the Glue call that adds one."""

    def __init__(self, glue: Any, database: str, bucket: str):
        self._glue, self.database, self.bucket = glue, database, bucket
        self._known: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self.calls = 0

    @staticmethod
    def of(raw_key: str) -> tuple[str, str, str]:
        """(schema, table, partition) of a raw-history key: yyyy/MM/dd or yyyy/MM/dd/HH."""
        return partition_of(raw_key)

    def ensure(self, raw_key: str) -> bool:
        """Register the partition holding ``raw_key``; True if a Glue call was made."""
        schema, table, date = partition = self.of(raw_key)
        with self._lock:
            if partition in self._known:
                return False
        location = f"s3://{self.bucket}/{schema}/{table}/{date}/"
        response = self._glue.batch_create_partition(
            DatabaseName=self.database,
            TableName=glue_table_name(schema, table),
            PartitionInputList=[
                {
                    "Values": [date],
                    "StorageDescriptor": {
                        "Location": location,
                        "InputFormat": PARQUET_INPUT,
                        "OutputFormat": PARQUET_OUTPUT,
                        "SerdeInfo": {
                            "SerializationLibrary": PARQUET_SERDE,
                            "Parameters": {"serialization.format": "1"},
                        },
                    },
                }
            ],
        )
        self.calls += 1
        errors = [
            e["ErrorDetail"]
            for e in response.get("Errors", [])
            if e["ErrorDetail"].get("ErrorCode") != "AlreadyExistsException"
        ]
        if errors:
            raise PartitionError(f"{self.database}.{glue_table_name(schema, table)} partition {date}: {errors[0]}")
        with self._lock:
            self._known.add(partition)
        return True

    def try_ensure(self, raw_key: str) -> str | None:
        """``ensure``, never raising: why the partition is not registered, or None.

        A failure never costs the file, which is stored already: the next file of that
        day tries again (and ``cloudbridge replay`` registers what it moves)."""
        try:
            self.ensure(raw_key)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None


class PartitionError(RuntimeError):
    """Glue refused the partition (e.g. the table is not in the catalog yet)."""
