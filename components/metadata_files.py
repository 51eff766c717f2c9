"""The committed table metadata (``metadata/<source>/<schema>/<table>.json``) each
source's config selects. Missing or mismatched metadata is a config error, raised before
any resource is declared.

What is published carries the source's ``excludeColumns`` in each table's ``excluded``, even
when the committed file predates them, so the validator refuses a file that still carries an
excluded column from the first deploy of the exclusion on. A committed file that still lists
such a column in ``columns`` is a config error rather than something dropped here: the
committed file is the reviewed description of what the lake holds (Glue tables, views, the
drift check compare against it), so the column leaves it the way every column change does,
by ``python -m cloudbridge metadata extract``, which moves it to ``excluded``. Likewise a file
excluding what ``excludeColumns`` no longer names (DMS would send the column again and the
validator would refuse every file of the table until the metadata lists it).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.config import ConfigError, Source, StackConfig
from components.workspace import metadata_root
from functions.common.dms import locator_matches
from functions.common.metadata import MetadataError, TableMetadata
from functions.common.runtime import glue_table_name


def load_tables(config: StackConfig, root: Path | None = None) -> dict[str, tuple[TableMetadata, ...]]:
    """The committed metadata of every selected table, by source; a ConfigError names what is wrong."""
    root = root or metadata_root()
    problems: list[tuple[str, str]] = []
    tables: dict[str, tuple[TableMetadata, ...]] = {}
    for i, source in enumerate(config.sources):
        available = _committed(config, i, source, root, problems)
        selected = _selected(config, i, source, available, problems)
        problems += [(f"cloudbridge:sources[{i}].tables", p) for p in glue_name_clashes(selected)]
        tables[source.name] = tuple(_with_exclusions(config, i, source, meta, problems) for meta in selected)
    if problems:
        raise ConfigError(f"Pulumi.{config.environment}.yaml", problems)
    return tables


def glue_name_clashes(tables: tuple[TableMetadata, ...]) -> list[str]:
    """Selected tables that would share one Glue table: Glue names are lower-case, and every
    character outside a-z, 0-9 and _ becomes _ (``public.Orders`` and ``public.orders``)."""
    by_name: dict[str, list[str]] = {}
    for meta in tables:
        by_name.setdefault(glue_table_name(meta.schema, meta.table), []).append(meta.table_id)
    return [
        f"tables {', '.join(ids)} would share the Glue table {name} (Glue names are lower-case, other characters "
        "than letters, digits and _ become _): select only one of them"
        for name, ids in sorted(by_name.items())
        if len(ids) > 1
    ]


def _committed(
    config: StackConfig, i: int, source: Source, root: Path, problems: list[tuple[str, str]]
) -> dict[tuple[str, str], TableMetadata]:
    """The source's committed metadata files that are valid, of this source and its timestamp unit."""
    key = f"cloudbridge:sources[{i}].tables"
    available: dict[tuple[str, str], TableMetadata] = {}
    for path in sorted((root / source.name).glob("*/*.json")):
        relative = path.relative_to(root.parent)
        try:
            meta = TableMetadata.from_json(path.read_text(), str(relative))
        except MetadataError as exc:
            problems.append((key, str(exc)))
            continue
        if (meta.source, meta.engine, meta.schema, meta.table) != (
            source.name,
            source.engine,
            path.parent.name,
            path.stem,
        ):
            problems.append(
                (
                    key,
                    f"{relative} describes {meta.engine} {meta.source}:{meta.table_id}, "
                    f"not {source.engine} {source.name}",
                )
            )
            continue
        misdeclared = _dynamodb_declarations(meta)
        if misdeclared:
            problems.append((key, f"{relative}: {misdeclared} (docs/dynamodb.md, 'Table metadata')"))
            continue
        stray = sorted(meta.timestamp_units() - {source.timestamp_unit})
        if stray:
            problems.append(
                (
                    f"cloudbridge:sources[{i}].timestampUnit",
                    f"{relative} has timestamp({stray[0]}) columns but the source writes "
                    f"timestamp({source.timestamp_unit}); regenerate it with "
                    "`python -m cloudbridge metadata extract "
                    f"--stack {config.environment} --source {source.name}`",
                )
            )
            continue
        available[(meta.schema, meta.table)] = meta
    return available


def _dynamodb_declarations(meta: TableMetadata) -> str:
    """What is wrong with a DynamoDB table's column declarations ("" for another engine's table)."""
    from functions.common import dynamodb

    if meta.engine != dynamodb.ENGINE:
        return ""
    return "; ".join(f"column {c.name!r}: {why}" for c in meta.columns if (why := dynamodb.declaration_problem(c)))


def _selected(
    config: StackConfig,
    i: int,
    source: Source,
    available: dict[tuple[str, str], TableMetadata],
    problems: list[tuple[str, str]],
) -> tuple[TableMetadata, ...]:
    """The tables the source's patterns select; a pattern that selects nothing is a problem."""
    selected: dict[tuple[str, str], TableMetadata] = {}
    for schema, table in source.table_patterns:
        matched = {k: v for k, v in available.items() if locator_matches(schema, k[0]) and locator_matches(table, k[1])}
        if not matched:
            hint = (
                f"metadata/{source.name}/{schema}/{table}.json"
                if "%" not in schema + table
                else f"metadata/{source.name}/"
            )
            problems.append(
                (
                    f"cloudbridge:sources[{i}].tables",
                    f"{schema}.{table} has no table metadata (expected {hint}); run "
                    f"`python -m cloudbridge metadata extract --stack {config.environment} --source {source.name}`",
                )
            )
        selected.update(matched)
    return tuple(selected[k] for k in sorted(selected))


def _with_exclusions(
    config: StackConfig, i: int, source: Source, meta: TableMetadata, problems: list[tuple[str, str]]
) -> TableMetadata:
    """The table's metadata with the source's exclusions for it in ``excluded`` (module docstring)."""
    key = f"cloudbridge:sources[{i}].excludeColumns"
    relative = f"metadata/{source.name}/{meta.schema}/{meta.table}.json"
    regenerate = (
        "regenerate it with `python -m cloudbridge metadata extract "
        f"--stack {config.environment} --source {source.name}`"
    )
    patterns = source.excluded_columns(meta.schema, meta.table)
    listed = [c.name for c in meta.columns if any(locator_matches(p, c.name) for p in patterns)]
    if listed:
        problems.append(
            (key, f"{relative} lists {listed} in columns, which excludeColumns keeps out of the lake; {regenerate}")
        )
        return meta
    stale = [p for p in meta.excluded if p not in patterns]
    if stale:
        problems.append(
            (
                key,
                f"{relative} excludes {stale}, which excludeColumns no longer names for {meta.table_id}: DMS would "
                f"send the column and the validator refuse every file; {regenerate}",
            )
        )
        return meta
    merged = replace(meta, excluded=tuple(sorted(set(meta.excluded) | set(patterns))))
    try:  # the same checks as any metadata file: no excluded pattern may match a DMS column
        return TableMetadata.from_dict(merged.to_dict(), relative)
    except MetadataError as exc:
        problems.append((key, str(exc)))
        return meta
