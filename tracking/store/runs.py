"""SQL for runs: rows, lifecycle, and loading runs with their data in a few set-based queries."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import Dataset, DatasetInput, Metric, Run, RunInfo
from tracking.store.tables import (
    dataset_inputs,
    datasets,
    input_tags,
    latest_metrics,
    params,
    run_model_inputs,
    run_model_outputs,
    runs,
    tags,
)


async def insert_run(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(sa.insert(runs).values(**values))


async def run_state(conn: AsyncConnection, run_id: str) -> Any:
    """The run's lifecycle and experiment, or None when it does not exist."""
    result = await conn.execute(
        sa.select(runs.c.run_uuid, runs.c.experiment_id, runs.c.lifecycle_stage).where(
            runs.c.run_uuid == run_id
        )
    )
    return result.first()


async def existing_run_ids(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    rows = await conn.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid.in_(list(ids))))
    return set(rows.scalars())


async def update_run(conn: AsyncConnection, run_id: str, **values: Any) -> None:
    await conn.execute(sa.update(runs).where(runs.c.run_uuid == run_id).values(**values))


# RunInfo's field order; rows are unpacked by position (named Row access is slow in bulk).
_INFO_COLUMNS = (
    runs.c.run_uuid,
    runs.c.experiment_id,
    runs.c.name,
    runs.c.user_id,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.artifact_uri,
    runs.c.lifecycle_stage,
)


async def run_infos(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, RunInfo]:
    rows = await conn.execute(sa.select(*_INFO_COLUMNS).where(runs.c.run_uuid.in_(ids)))
    return {row[0]: RunInfo(*row) for row in rows}


async def runs_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[Run]:
    """Full runs in the order given, in four queries whatever the page size (never N+1)."""
    if not ids:
        return []
    infos = await run_infos(conn, ids)
    present = [i for i in ids if i in infos]
    if not present:
        return []
    children = await _children(conn, present)
    metrics = await _latest_metrics(conn, present)
    inputs = await _dataset_inputs(conn, present)
    empty = _Children()
    runs_out = []
    for run_id in present:
        child = children.get(run_id, empty)
        runs_out.append(
            Run(
                info=infos[run_id],
                metrics=metrics.get(run_id, []),
                params=child.params,
                tags=child.tags,
                dataset_inputs=inputs.get(run_id, []),
                model_inputs=child.model_inputs,
                model_outputs=child.model_outputs,
            )
        )
    return runs_out


class _Children:
    __slots__ = ("model_inputs", "model_outputs", "params", "tags")

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.model_inputs: list[str] = []
        self.model_outputs: list[tuple[str, int]] = []


def _keyed(table: sa.Table, kind: int, ids: Sequence[str]) -> sa.Select[Any]:
    return sa.select(
        sa.literal(kind).label("kind"), table.c.run_uuid, table.c.key, table.c.value
    ).where(table.c.run_uuid.in_(ids))


async def _children(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, _Children]:
    """Params, tags and model links of many runs in one round trip (a UNION ALL)."""
    query = sa.union_all(
        _keyed(params, 0, ids),
        _keyed(tags, 1, ids),
        sa.select(
            sa.literal(2), run_model_inputs.c.run_uuid, run_model_inputs.c.model_id, sa.null()
        ).where(run_model_inputs.c.run_uuid.in_(ids)),
        sa.select(
            sa.literal(3),
            run_model_outputs.c.run_uuid,
            run_model_outputs.c.model_id,
            sa.cast(run_model_outputs.c.step, sa.Text),
        ).where(run_model_outputs.c.run_uuid.in_(ids)),
    ).order_by(sa.text("1, 2, 3"))  # kind, run, key: params and tags come back sorted by key
    out: dict[str, _Children] = {}
    for kind, run_uuid, key, value in await conn.execute(query):
        child = out.get(run_uuid)
        if child is None:
            child = out[run_uuid] = _Children()
        if kind == 0:
            child.params[key] = value
        elif kind == 1:
            child.tags[key] = value
        elif kind == 2:
            child.model_inputs.append(key)
        else:
            child.model_outputs.append((key, int(value)))
    return out


async def _latest_metrics(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[Metric]]:
    out: dict[str, list[Metric]] = defaultdict(list)
    query = (
        sa.select(
            latest_metrics.c.run_uuid,
            latest_metrics.c.key,
            latest_metrics.c.value,
            latest_metrics.c.timestamp,
            latest_metrics.c.step,
            latest_metrics.c.is_nan,
        )
        .where(latest_metrics.c.run_uuid.in_(ids))
        .order_by(latest_metrics.c.run_uuid, latest_metrics.c.key)
    )
    nan = float("nan")
    for run_uuid, key, value, timestamp, step, is_nan in await conn.execute(query):
        out[run_uuid].append(Metric(key, nan if is_nan else value, timestamp, step))
    return out


async def _dataset_inputs(
    conn: AsyncConnection, ids: Sequence[str]
) -> dict[str, list[DatasetInput]]:
    query = (
        sa.select(dataset_inputs.c.run_uuid, dataset_inputs.c.input_uuid, datasets)
        .join(datasets, datasets.c.dataset_uuid == dataset_inputs.c.dataset_uuid)
        .where(dataset_inputs.c.run_uuid.in_(ids))
        .order_by(dataset_inputs.c.run_uuid, datasets.c.name, datasets.c.digest)
    )
    rows = (await conn.execute(query)).all()
    if not rows:
        return {}
    tag_rows = (
        await conn.execute(
            sa.select(input_tags).where(input_tags.c.input_uuid.in_([r.input_uuid for r in rows]))
        )
    ).all()
    input_tag_map: dict[str, dict[str, str]] = defaultdict(dict)
    for tag in tag_rows:
        input_tag_map[tag.input_uuid][tag.name] = tag.value
    out: dict[str, list[DatasetInput]] = defaultdict(list)
    for row in rows:
        dataset = Dataset(
            name=row.name,
            digest=row.digest,
            source_type=row.source_type,
            source=row.source,
            schema=row.schema,
            profile=row.profile,
        )
        out[row.run_uuid].append(DatasetInput(dataset, input_tag_map.get(row.input_uuid, {})))
    return out
