"""SNS messages to Slack Block Kit payloads. Pure: no AWS, no network.

Understands CloudWatch alarm notifications, DMS events from EventBridge, the
validator's failure summaries, and posts anything else as readable text rather than
dropping it. Every message names environment, account and source.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from functions.common.runtime import ALARM_SOURCE_PATTERN

# Slack's limits (Block Kit reference).
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
TEXT_LIMIT = 3000  # top-level fallback text: kept short for notifications
MAX_BLOCKS = 50


@dataclass(frozen=True)
class Context:
    """Where an alert comes from: environment and account."""

    environment: str
    account: str


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked where it was cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """mrkdwn control characters (&, <, >) must be escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SOURCE_TAG = re.compile(ALARM_SOURCE_PATTERN)


def source_from_description(description: str) -> str | None:
    """Alarms name their source at the start of their description (``runtime.alarm_description``)."""
    match = SOURCE_TAG.search(description or "")
    return match.group(1) if match else None


def source_from_identifier(identifier: str, environment: str) -> str | None:
    """DMS replications are named ``cb-<env>-<source>`` (components/naming.py)."""
    prefix = f"cb-{environment}-"
    return identifier[len(prefix) :] if identifier.startswith(prefix) else None


def _context_block(ctx: Context, source: str | None, extra: str = "") -> dict[str, Any]:
    parts = [
        f"env *{_escape(ctx.environment)}*",
        f"account `{_escape(ctx.account)}`",
        f"source *{_escape(source or 'n/a')}*",
    ]
    if extra:
        parts.append(extra)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(" · ".join(parts), FIELD_LIMIT)}]}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, HEADER_LIMIT), "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{k}*\n{_escape(v)}", FIELD_LIMIT)}
        for k, v in pairs
        if v not in (None, "")
    ]
    return {"type": "section", "fields": fields[:10]}


def _payload(title: str, blocks: list[dict[str, Any] | None]) -> dict[str, Any]:
    blocks = [b for b in blocks if b and b.get("fields", True)][:MAX_BLOCKS]
    return {"text": truncate(title, TEXT_LIMIT), "blocks": blocks}


# --- kinds -----------------------------------------------------------------------------


def alarm(message: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Blocks for a CloudWatch alarm state change."""
    name = message.get("AlarmName", "?")
    state = message.get("NewStateValue", "?")
    icon = {"ALARM": ":rotating_light:", "OK": ":white_check_mark:"}.get(state, ":grey_question:")
    trigger = message.get("Trigger") or {}
    if trigger.get("MetricName"):
        metric = f"{trigger.get('Namespace', '')} {trigger['MetricName']}".strip()
        dims = ", ".join(f"{d.get('name')}={d.get('value')}" for d in trigger.get("Dimensions") or [])
        metric = f"{metric} ({dims})" if dims else metric
    else:  # metric math
        ids = [
            m.get("Expression") or m.get("MetricStat", {}).get("Metric", {}).get("MetricName", "")
            for m in trigger.get("Metrics") or []
        ]
        metric = " / ".join(i for i in ids if i) or "metric math"
    threshold = f"{trigger.get('ComparisonOperator', '')} {trigger.get('Threshold', '')}".strip()
    arn = message.get("AlarmArn", "")
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    link = (
        f"<https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name, safe='')}|open in CloudWatch>"
        if region
        else ""
    )
    source = source_from_description(message.get("AlarmDescription", ""))
    title = f"{state}: {name}"
    return _payload(
        f"{icon} [{ctx.environment}] {title}",
        [
            _header(f"[{ctx.environment}] {title}"),
            _section(
                f"{icon} *{_escape(name)}* is *{_escape(state)}* (was {_escape(message.get('OldStateValue', '?'))})"
            ),
            _section(_escape(SOURCE_TAG.sub("", message.get("AlarmDescription") or "").strip()))
            if message.get("AlarmDescription")
            else None,
            _fields([("Metric", metric), ("Threshold", threshold), ("Changed", message.get("StateChangeTime"))]),
            _section(f"*Reason*\n{_escape(message.get('NewStateReason', ''))}"),
            _context_block(ctx, source, link),
        ],
    )


DMS_ICONS = {"Failure": ":x:", "StateChange": ":arrows_counterclockwise:", "Configuration change": ":gear:"}


def dms_event(message: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Blocks for a DMS event from EventBridge."""
    detail = message.get("detail") or {}
    resources = message.get("resources") or []
    identifier = resources[0].rsplit(":", 1)[-1] if resources else "?"
    event_type = detail.get("eventType") or detail.get("type") or message.get("detail-type", "DMS event")
    event_id = detail.get("eventId", "")
    icon = DMS_ICONS.get(detail.get("category", ""), ":information_source:")
    text = detail.get("detailMessage") or detail.get("message") or ""
    source = source_from_identifier(identifier, ctx.environment)
    link = detail.get("resourceLink")
    title = f"DMS {event_type.replace('_', ' ').lower()}: {identifier}"
    return _payload(
        f"{icon} [{ctx.environment}] {title}",
        [
            _header(f"[{ctx.environment}] {title}"),
            _fields(
                [
                    ("Event", f"{event_type} {f'({event_id})' if event_id else ''}".strip()),
                    ("Replication", identifier),
                    ("Kind", message.get("detail-type")),
                    ("Time", message.get("time")),
                ]
            ),
            _section(f"*Message*\n{_escape(text)}") if text else None,
            _context_block(ctx, source, f"<{link}|open in DMS>" if link else ""),
        ],
    )


def validation_failures(message: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Blocks for the validator's failed-files alert."""
    source = message.get("source")
    tables = message.get("tables") or []
    count = message.get("failedFiles", sum(t.get("files", 0) for t in tables))
    title = f"{count} file(s) of {source} failed validation"
    lines = []
    for table in tables[:20]:
        reasons = ", ".join(f"{code} ×{n}" for code, n in list((table.get("reasons") or {}).items())[:5])
        lines.append(f"• *{_escape(table.get('table', '?'))}*: {table.get('files', 0)} file(s) — {_escape(reasons)}")
    if len(tables) > 20:
        lines.append(f"… and {len(tables) - 20} more table(s)")
    examples = []
    for table in tables[:5]:
        for example in (table.get("examples") or [])[:1]:
            first = (example.get("reasons") or [{}])[0]
            examples.append(
                f"`{_escape(example.get('destination', example.get('key', '')))}`\n{_escape(first.get('message', ''))}"
            )
    blocks = [_header(f"[{ctx.environment}] {title}"), _section("\n".join(lines) or "no details")]
    if examples:
        blocks.append(_section("*Quarantined, for example*\n" + "\n".join(examples)))
    blocks.append(_context_block(ctx, source))
    return _payload(f":warning: [{ctx.environment}] {title}", blocks)


def drift(message: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The scheduled drift check (.github/workflows/drift.yml) found changes or failed."""
    title = "infrastructure drift: the deployed stack no longer matches the code"
    run = message.get("run", "")
    return _payload(
        f":mag: [{ctx.environment}] {title}",
        [
            _header(f"[{ctx.environment}] {title}"),
            _section(
                "`pulumi refresh` + `pulumi preview --expect-no-changes` reported changes (or failed). "
                + (f"<{run}|See the workflow run>." if run.startswith("https://") else "")
            ),
            _context_block(ctx, None),
        ],
    )


def fallback(subject: str | None, raw: str, ctx: Context, data: Any = None) -> dict[str, Any]:
    """Blocks for a message of no known kind (shown as it came)."""
    title = subject or "CloudBridge notification"
    body = json.dumps(data, indent=2, sort_keys=True) if data is not None else raw
    source = data.get("source") if isinstance(data, dict) and isinstance(data.get("source"), str) else None
    return _payload(
        f"[{ctx.environment}] {title}",
        [
            _header(f"[{ctx.environment}] {title}"),
            _section("```" + truncate(body, SECTION_LIMIT - 6) + "```"),
            _context_block(ctx, source),
        ],
    )


def render(subject: str | None, raw: str, ctx: Context) -> tuple[str, dict[str, Any]]:
    """(kind, Slack payload) for one SNS message."""
    try:
        data = json.loads(raw)
    except ValueError:
        return "text", fallback(subject, raw, ctx)
    if isinstance(data, dict):
        if "AlarmName" in data and "NewStateValue" in data:
            return "alarm", alarm(data, ctx)
        if data.get("source") == "aws.dms" and "detail-type" in data:
            return "dms-event", dms_event(data, ctx)
        if data.get("type") == "cloudbridge.validation_failures":
            return "validation-failures", validation_failures(data, ctx)
        if data.get("type") == "cloudbridge.drift":
            return "drift", drift(data, ctx)
    return "unknown", fallback(subject, raw, ctx, data)
