"""SQL for registered models: rows, tags, aliases, latest versions and search."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities_registry import RegisteredModel
from tracking.search.comparators import compare
from tracking.search.filters import Comparison
from tracking.search.registry_filters import IS_PROMPT_TAG
from tracking.store.dialect import insert_ignore, upsert
from tracking.store.registry_versions import latest_versions_for
from tracking.store.tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)

_CHILDREN = (registered_model_tags, registered_model_aliases, model_version_tags, model_versions)


async def insert_model(conn: AsyncConnection, name: str, now: int, description: str | None) -> bool:
    """False when the name is taken (checked by the primary key, so also across processes)."""
    result = await conn.execute(
        insert_ignore(conn, registered_models).values(
            name=name, creation_time=now, last_updated_time=now, description=description
        )
    )
    return bool(result.rowcount)


async def model_exists(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(
        sa.select(registered_models.c.name).where(registered_models.c.name == name)
    )
    return result.first() is not None


async def lock_model(conn: AsyncConnection, name: str) -> bool:
    """Whether the model exists, holding its row until commit on PostgreSQL so that versions
    are numbered one writer at a time (SQLite has a single writer anyway and ignores it)."""
    result = await conn.execute(
        sa.select(registered_models.c.name)
        .where(registered_models.c.name == name)
        .with_for_update()
    )
    return result.first() is not None


async def update_model(conn: AsyncConnection, name: str, /, **values: Any) -> None:
    await conn.execute(
        sa.update(registered_models).where(registered_models.c.name == name).values(**values)
    )


async def rename_model(conn: AsyncConnection, name: str, new_name: str, now: int) -> None:
    """The parent first: with foreign keys on, ON UPDATE CASCADE has already moved the
    children and their updates below match nothing; without, they move them."""
    await update_model(conn, name, name=new_name, last_updated_time=now)
    await conn.execute(
        sa.update(model_versions)
        .where(model_versions.c.name.in_([name, new_name]))
        .values(name=new_name, last_updated_time=now)
    )
    for table in (registered_model_tags, registered_model_aliases, model_version_tags):
        await conn.execute(sa.update(table).where(table.c.name == name).values(name=new_name))


async def delete_model(conn: AsyncConnection, name: str) -> None:
    for table in _CHILDREN:
        await conn.execute(sa.delete(table).where(table.c.name == name))
    await conn.execute(sa.delete(registered_models).where(registered_models.c.name == name))


async def set_model_tags(
    conn: AsyncConnection, name: str, items: Sequence[tuple[str, str]]
) -> None:
    if items:
        await conn.execute(
            upsert(conn, registered_model_tags, ["key", "name"], ["value"]),
            [{"name": name, "key": k, "value": v} for k, v in sorted(items)],
        )


async def delete_model_tag(conn: AsyncConnection, name: str, key: str) -> None:
    await conn.execute(
        sa.delete(registered_model_tags).where(
            registered_model_tags.c.name == name, registered_model_tags.c.key == key
        )
    )


async def set_alias(conn: AsyncConnection, name: str, alias: str, version: int) -> None:
    await conn.execute(
        upsert(conn, registered_model_aliases, ["alias", "name"], ["version"]).values(
            name=name, alias=alias, version=version
        )
    )


async def delete_alias(conn: AsyncConnection, name: str, alias: str) -> None:
    await conn.execute(
        sa.delete(registered_model_aliases).where(
            registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
        )
    )


async def delete_aliases_of_version(conn: AsyncConnection, name: str, version: int) -> None:
    await conn.execute(
        sa.delete(registered_model_aliases).where(
            registered_model_aliases.c.name == name,
            registered_model_aliases.c.version == version,
        )
    )


async def alias_version(conn: AsyncConnection, name: str, alias: str) -> int | None:
    result = await conn.execute(
        sa.select(registered_model_aliases.c.version).where(
            registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
        )
    )
    return result.scalar()


async def aliases_of(conn: AsyncConnection, names: Sequence[str]) -> dict[str, dict[str, int]]:
    rows = await conn.execute(
        sa.select(
            registered_model_aliases.c.name,
            registered_model_aliases.c.alias,
            registered_model_aliases.c.version,
        )
        .where(registered_model_aliases.c.name.in_(list(names)))
        .order_by(registered_model_aliases.c.name, registered_model_aliases.c.alias)
    )
    out: dict[str, dict[str, int]] = {}
    for name, alias, version in rows:
        out.setdefault(name, {})[alias] = version
    return out


async def models_by_names(conn: AsyncConnection, names: Sequence[str]) -> list[RegisteredModel]:
    """Full registered models in the order given, in four queries whatever the page size."""
    if not names:
        return []
    rows = await conn.execute(
        sa.select(
            registered_models.c.name,
            registered_models.c.creation_time,
            registered_models.c.last_updated_time,
            registered_models.c.description,
        ).where(registered_models.c.name.in_(list(names)))
    )
    found = {row[0]: row for row in rows}
    tag_rows = await conn.execute(
        sa.select(
            registered_model_tags.c.name,
            registered_model_tags.c.key,
            registered_model_tags.c.value,
        )
        .where(registered_model_tags.c.name.in_(list(found)))
        .order_by(registered_model_tags.c.name, registered_model_tags.c.key)
    )
    tags: dict[str, dict[str, str]] = {}
    for name, key, value in tag_rows:
        tags.setdefault(name, {})[key] = value
    aliases = await aliases_of(conn, list(found))
    latest = await latest_versions_for(conn, list(found))
    return [
        RegisteredModel(
            name=name,
            creation_timestamp=found[name][1],
            last_updated_timestamp=found[name][2],
            description=found[name][3],
            latest_versions=latest.get(name, []),
            tags=tags.get(name, {}),
            aliases=aliases.get(name, {}),
        )
        for name in names
        if name in found
    ]


def _prompt_rows(table: sa.Table, owner: sa.ColumnElement[Any]) -> sa.Exists:
    return sa.exists().where(
        table.c.name == owner, table.c.key == IS_PROMPT_TAG, table.c.value == "true"
    )


async def search_model_names(
    conn: AsyncConnection,
    *,
    comparisons: tuple[Comparison, ...],
    exclude_prompts: bool,
    order: list[tuple[str, bool]],
    offset: int,
    limit: int,
) -> list[str]:
    rm = registered_models
    conditions: list[sa.ColumnElement[bool]] = []
    for c in comparisons:
        if c.kind == "attribute":
            conditions.append(compare(rm.c[c.key], c.op, c.value))
        else:
            t = registered_model_tags
            conditions.append(
                sa.exists().where(
                    t.c.name == rm.c.name, t.c.key == c.key, compare(t.c.value, c.op, c.value)
                )
            )
    if exclude_prompts:
        conditions.append(~_prompt_rows(registered_model_tags, rm.c.name))
    terms = [rm.c[col].asc() if asc else rm.c[col].desc() for col, asc in order]
    stmt = sa.select(rm.c.name).where(*conditions).order_by(*terms).offset(offset).limit(limit)
    return list((await conn.execute(stmt)).scalars())
