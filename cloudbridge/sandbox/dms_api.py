"""The DMS stand-in behind a boto3-shaped DMS client, so the operators' commands run on it unchanged.

``DmsApi`` answers the DMS API operations ``cloudbridge reload`` calls for a serverless source
(the sandbox's mode) — ``DescribeReplications``, ``DescribeReplicationTableStatistics``,
``ReloadReplicationTables``, ``StopReplication`` and ``StartReplication`` — under their boto3
method names, with keyword arguments only, as a ``boto3.client("dms")`` does. Every request is
checked against botocore's own DMS service model before the stand-in sees it
(``botocore.validate.validate_parameters``, plus the enums it leaves alone): a parameter the API
does not have, a missing required one or a wrong type raises ``ParamValidationError`` as botocore
would before sending, so a drift between the command and the API fails in the sandbox. Every
answer is checked against the operation's output shape too (what botocore's Stubber checks of a
stubbed response): the stand-in cannot answer in a shape DMS does not.

What DMS would refuse comes back as ``botocore.exceptions.ClientError`` with DMS's error code
(``InvalidResourceStateFault``, ``ResourceNotFoundFault``, ``InvalidParameterValueException``);
what the stand-in does not model (a parameter valid for DMS that it ignores, another DMS
operation) raises ``NotImplementedError``, never a silent answer. Reloads and reload-target
restarts are accepted at once and carried out in the background, as DMS does: the caller follows
them through the table statistics. A test and demo tool: nothing of it is deployed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from cloudbridge.sandbox.dms import DmsStandIn, InvalidResourceStateError

# boto3 method → DMS API operation: what ``cloudbridge reload`` calls for a serverless source.
OPERATIONS = {
    xform_name(name): name
    for name in (
        "DescribeReplications",
        "DescribeReplicationTableStatistics",
        "ReloadReplicationTables",
        "StopReplication",
        "StartReplication",
    )
}
DEFAULT_RECORDS, MIN_RECORDS, MAX_RECORDS = 100, 20, 500  # MaxRecords of the Describe operations
START_TYPES = ("start-replication", "resume-processing", "reload-target")


@functools.cache
def service_model() -> Any:
    """botocore's DMS service model (the one the installed botocore sends requests by)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("dms")


def check_enums(value: Any, shape: Any, path: str = "") -> None:
    """What ``validate_parameters`` leaves alone: a string outside its shape's enum."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            if name in shape.members:
                check_enums(item, shape.members[name], f"{path}.{name}" if path else name)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            check_enums(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        from botocore.exceptions import ParamValidationError

        raise ParamValidationError(report=f"Invalid value for parameter {path}, value: {value}, valid: {shape.enum}")


class NotFoundError(Exception):
    """The stand-in's answer is ResourceNotFoundFault."""


class InvalidParameterError(Exception):
    """The stand-in's answer is InvalidParameterValueException."""


def client_error(code: str, message: str, operation: str) -> ClientError:
    """DMS's refusal as botocore raises it."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


class DmsApi:
    """A boto3 DMS client's surface over one ``DmsStandIn`` (one serverless replication config)."""

    def __init__(self, standin: DmsStandIn):
        self.standin = standin
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (operation, parameters) of every accepted request
        self.errors: list[str] = []  # background loads that raised
        self._threads: list[threading.Thread] = []

    # --- the operations --------------------------------------------------------------------

    def describe_replications(self, **params: Any) -> dict[str, Any]:
        """DescribeReplications: the stand-in's replication, if the filters select it."""
        return self._call("describe_replications", params, self._describe_replications)

    def describe_replication_table_statistics(self, **params: Any) -> dict[str, Any]:
        """DescribeReplicationTableStatistics: the tables' load states, paged by ``Marker``."""
        return self._call("describe_replication_table_statistics", params, self._table_statistics)

    def reload_replication_tables(self, **params: Any) -> dict[str, Any]:
        """ReloadReplicationTables: accepted at once, the loads run in the background."""
        return self._call("reload_replication_tables", params, self._reload_tables)

    def stop_replication(self, **params: Any) -> dict[str, Any]:
        """StopReplication."""
        return self._call("stop_replication", params, self._stop)

    def start_replication(self, **params: Any) -> dict[str, Any]:
        """StartReplication: reload-target (accepted at once, the restart runs in the background)
        or resume-processing."""
        return self._call("start_replication", params, self._start)

    def __getattr__(self, name: str) -> Any:
        if name in {xform_name(op) for op in service_model().operation_names}:
            raise NotImplementedError(
                f"dms.{name}: the sandbox's DMS stand-in answers only {', '.join(sorted(OPERATIONS.values()))}"
            )
        raise AttributeError(name)

    def join(self, timeout: float = 60.0) -> None:
        """Wait for the background loads (at the end of a run)."""
        for thread in list(self._threads):
            thread.join(timeout)

    # --- the plumbing ----------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any], answer: Callable[[dict[str, Any]], dict]) -> dict[str, Any]:
        operation = service_model().operation_model(OPERATIONS[method])
        validate_parameters(params, operation.input_shape)  # ParamValidationError, as botocore raises it
        check_enums(params, operation.input_shape)
        self.calls.append((operation.name, params))
        try:
            response = answer(params)
        except InvalidResourceStateError as exc:
            raise client_error("InvalidResourceStateFault", str(exc), operation.name) from None
        except NotFoundError as exc:
            raise client_error("ResourceNotFoundFault", str(exc), operation.name) from None
        except InvalidParameterError as exc:
            raise client_error("InvalidParameterValueException", str(exc), operation.name) from None
        validate_parameters(response, operation.output_shape)  # the stand-in answers in DMS's shape
        return {**response, "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0}}

    def _background(self, name: str, work: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                work()
            except Exception as exc:  # the tables say Table error; the caller follows them
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")

        thread = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _own(self, params: dict[str, Any]) -> str:
        arn = params["ReplicationConfigArn"]
        if arn != self.standin.replication_arn:
            raise NotFoundError(f"no replication config {arn} (the stand-in is {self.standin.replication_arn})")
        return arn

    @staticmethod
    def _unmodelled(operation: str, params: dict[str, Any], modelled: set[str]) -> None:
        named = sorted(set(params) - modelled)
        if named:
            raise NotImplementedError(f"{operation}: the stand-in does not model {', '.join(named)}")

    def _describe_replications(self, params: dict[str, Any]) -> dict[str, Any]:
        self._unmodelled("DescribeReplications", params, {"Filters", "MaxRecords"})
        replication = self.standin.describe_replication()
        fields = {
            "replication-config-arn": "ReplicationConfigArn",
            "replication-config-id": "ReplicationConfigIdentifier",
        }
        for item in params.get("Filters", []):
            if item["Name"] not in fields:
                raise NotImplementedError(f"DescribeReplications: the stand-in filters by {', '.join(fields)} only")
            if replication[fields[item["Name"]]] not in item["Values"]:
                raise NotFoundError("No replications found")  # DMS's answer when no replication matches
        return {"Replications": [replication]}

    def _table_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._own(params)
        self._unmodelled("DescribeReplicationTableStatistics", params, {"ReplicationConfigArn", "MaxRecords", "Marker"})
        size, marker = params.get("MaxRecords", DEFAULT_RECORDS), params.get("Marker", "0")
        if not MIN_RECORDS <= size <= MAX_RECORDS:
            raise InvalidParameterError(f"MaxRecords must be between {MIN_RECORDS} and {MAX_RECORDS}, not {size}")
        if not marker.isdigit():
            raise InvalidParameterError(f"Marker {marker!r} is not one this replication gave")
        start = int(marker)
        entries = self.standin.describe_table_statistics()["TableStatistics"]
        answer: dict[str, Any] = {
            "ReplicationConfigArn": arn,
            "ReplicationTableStatistics": entries[start : start + size],
        }
        if start + size < len(entries):
            answer["Marker"] = str(start + size)
        return answer

    def _reload_tables(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._own(params)
        option = params.get("ReloadOption", "data-reload")
        if option != "data-reload":
            raise NotImplementedError(f"ReloadReplicationTables: the stand-in does not model {option}")
        try:
            keys = self.standin.check_reload([(t["SchemaName"], t["TableName"]) for t in params["TablesToReload"]])
        except ValueError as exc:  # not selected by the table mappings (the stand-in's answer; DMS's is not documented)
            raise NotFoundError(str(exc)) from None
        self._background("dms-reload-tables", lambda: self.standin.load_tables(keys))
        return {"ReplicationConfigArn": arn}

    def _stop(self, params: dict[str, Any]) -> dict[str, Any]:
        self._own(params)
        self.standin.stop()
        return {"Replication": self.standin.describe_replication()}

    def _start(self, params: dict[str, Any]) -> dict[str, Any]:
        self._own(params)
        self._unmodelled("StartReplication", params, {"ReplicationConfigArn", "StartReplicationType"})
        kind = params["StartReplicationType"]
        if kind not in START_TYPES:
            raise InvalidParameterError(f"StartReplicationType {kind!r} is not one of {', '.join(START_TYPES)}")
        if kind == "start-replication":
            raise InvalidResourceStateError("StartReplication start-replication: the replication has run before")
        if kind == "resume-processing":
            self.standin.resume()
        else:
            self.standin.accept_reload_target()
            self._background("dms-reload-target", self.standin.run_reload_target)
        return {"Replication": self.standin.describe_replication()}
