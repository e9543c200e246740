"""SQL for model versions: rows, tags, stages, latest versions per stage and search."""

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities_registry import STAGE_DELETED, ModelVersion
from tracking.search.comparators import compare
from tracking.search.filters import Comparison
from tracking.search.registry_filters import IS_PROMPT_TAG
from tracking.store.dialect import upsert
from tracking.store.tables import model_version_tags, model_versions, registered_model_aliases

mv = model_versions
# ModelVersion's field order up to its tags; rows are unpacked by position.
_COLUMNS = (
    mv.c.name,
    mv.c.version,
    mv.c.creation_time,
    mv.c.last_updated_time,
    mv.c.description,
    mv.c.user_id,
    mv.c.current_stage,
    mv.c.source,
    mv.c.storage_location,
    mv.c.run_id,
    mv.c.run_link,
    mv.c.status,
    mv.c.status_message,
    mv.c.model_id,
)
_FIELDS = [c.name for c in _COLUMNS]
_RENAMED = {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"}
_ATTRIBUTES = [_RENAMED.get(f, f) for f in _FIELDS]


async def next_version(conn: AsyncConnection, name: str) -> int:
    """Deleted versions keep their rows, so a number is never handed out twice."""
    result = await conn.execute(sa.select(sa.func.max(mv.c.version)).where(mv.c.name == name))
    return int(result.scalar() or 0) + 1


async def insert_version(conn: AsyncConnection, version: ModelVersion) -> None:
    values = {c: getattr(version, a) for c, a in zip(_FIELDS, _ATTRIBUTES, strict=True)}
    await conn.execute(sa.insert(mv).values(values))
    await set_version_tags(conn, version.name, version.version, list(version.tags.items()))


async def live_version_exists(conn: AsyncConnection, name: str, version: int) -> bool:
    result = await conn.execute(
        sa.select(mv.c.version).where(
            mv.c.name == name, mv.c.version == version, mv.c.current_stage != STAGE_DELETED
        )
    )
    return result.first() is not None


async def version_stage(conn: AsyncConnection, name: str, version: int) -> str | None:
    result = await conn.execute(
        sa.select(mv.c.current_stage).where(mv.c.name == name, mv.c.version == version)
    )
    return result.scalar()


async def update_version(conn: AsyncConnection, name: str, version: int, **values: Any) -> None:
    await conn.execute(
        sa.update(mv).where(mv.c.name == name, mv.c.version == version).values(**values)
    )


async def archive_stage(
    conn: AsyncConnection, name: str, keep: int, stage: str, archived: str, now: int
) -> None:
    await conn.execute(
        sa.update(mv)
        .where(mv.c.name == name, mv.c.version != keep, mv.c.current_stage == stage)
        .values(current_stage=archived, last_updated_time=now)
    )


async def set_version_tags(
    conn: AsyncConnection, name: str, version: int, items: Sequence[tuple[str, str]]
) -> None:
    if items:
        await conn.execute(
            upsert(conn, model_version_tags, ["key", "name", "version"], ["value"]),
            [{"name": name, "version": version, "key": k, "value": v} for k, v in sorted(items)],
        )


async def delete_version_tag(conn: AsyncConnection, name: str, version: int, key: str) -> None:
    await conn.execute(
        sa.delete(model_version_tags).where(
            model_version_tags.c.name == name,
            model_version_tags.c.version == version,
            model_version_tags.c.key == key,
        )
    )


async def _tags(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, str]]:
    t = model_version_tags
    rows = await conn.execute(
        sa.select(t.c.name, t.c.version, t.c.key, t.c.value)
        .where(sa.tuple_(t.c.name, t.c.version).in_(list(keys)))
        .order_by(t.c.name, t.c.version, t.c.key)
    )
    out: dict[tuple[str, int], dict[str, str]] = {}
    for name, version, key, value in rows:
        out.setdefault((name, version), {})[key] = value
    return out


async def _aliases(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], tuple[str, ...]]:
    a = registered_model_aliases
    rows = await conn.execute(
        sa.select(a.c.name, a.c.version, a.c.alias)
        .where(sa.tuple_(a.c.name, a.c.version).in_(list(keys)))
        .order_by(a.c.name, a.c.version, a.c.alias)
    )
    out: dict[tuple[str, int], tuple[str, ...]] = {}
    for name, version, alias in rows:
        out[(name, version)] = (*out.get((name, version), ()), alias)
    return out


async def _hydrate(
    conn: AsyncConnection, rows: Sequence[Any], *, with_aliases: bool
) -> list[ModelVersion]:
    keys = [(row[0], row[1]) for row in rows]
    if not keys:
        return []
    tags = await _tags(conn, keys)
    aliases = await _aliases(conn, keys) if with_aliases else {}
    return [
        ModelVersion(
            **dict(zip(_ATTRIBUTES, row, strict=True)),
            tags=tags.get(key, {}),
            aliases=aliases.get(key, ()),
        )
        for row, key in zip(rows, keys, strict=True)
    ]


async def versions_by_keys(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]], *, include_deleted: bool = False
) -> list[ModelVersion]:
    """Full versions (tags, aliases) in the order given; missing ones are left out."""
    if not keys:
        return []
    where: list[sa.ColumnElement[bool]] = [sa.tuple_(mv.c.name, mv.c.version).in_(list(keys))]
    if not include_deleted:
        where.append(mv.c.current_stage != STAGE_DELETED)
    rows = {(r[0], r[1]): r for r in await conn.execute(sa.select(*_COLUMNS).where(*where))}
    return await _hydrate(conn, [rows[k] for k in keys if k in rows], with_aliases=True)


async def latest_versions_for(
    conn: AsyncConnection, names: Sequence[str]
) -> dict[str, list[ModelVersion]]:
    """The newest live version in each stage per model, oldest stage first; as in MLflow's
    RegisteredModel.latest_versions they carry tags but no aliases."""
    if not names:
        return {}
    rank = (
        sa.func.row_number()
        .over(partition_by=[mv.c.name, mv.c.current_stage], order_by=mv.c.version.desc())
        .label("rank")
    )
    ranked = (
        sa.select(*_COLUMNS, rank)
        .where(mv.c.name.in_(list(names)), mv.c.current_stage != STAGE_DELETED)
        .subquery()
    )
    rows = await conn.execute(
        sa.select(*(ranked.c[c] for c in _FIELDS))
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.name, ranked.c.version)
    )
    out: dict[str, list[ModelVersion]] = {}
    for version in await _hydrate(conn, list(rows), with_aliases=False):
        out.setdefault(version.name, []).append(version)
    return out


async def search_version_keys(
    conn: AsyncConnection,
    *,
    comparisons: tuple[Comparison, ...],
    exclude_prompts: bool,
    order: list[tuple[str, bool]],
    offset: int,
    limit: int,
) -> list[tuple[str, int]]:
    conditions: list[sa.ColumnElement[bool]] = [mv.c.current_stage != STAGE_DELETED]
    t = model_version_tags
    for c in comparisons:
        if c.kind == "attribute":
            conditions.append(compare(mv.c[c.key], c.op, c.value))
        else:
            conditions.append(
                sa.exists().where(
                    t.c.name == mv.c.name,
                    t.c.version == mv.c.version,
                    t.c.key == c.key,
                    compare(t.c.value, c.op, c.value),
                )
            )
    if exclude_prompts:
        conditions.append(
            ~sa.exists().where(t.c.name == mv.c.name, t.c.key == IS_PROMPT_TAG, t.c.value == "true")
        )
    terms = [mv.c[col].asc() if asc else mv.c[col].desc() for col, asc in order]
    stmt = (
        sa.select(mv.c.name, mv.c.version)
        .where(*conditions)
        .order_by(*terms)
        .offset(offset)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await conn.execute(stmt)]


def replace(version: ModelVersion, **changes: Any) -> ModelVersion:
    return dataclasses.replace(version, **changes)
