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


async def update_run(conn: AsyncConnection, run_id: str, **values: Any) -> None:
    await conn.execute(sa.update(runs).where(runs.c.run_uuid == run_id).values(**values))


def _info(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=row.experiment_id,
        run_name=row.name,
        user_id=row.user_id,
        status=row.status,
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=row.lifecycle_stage,
    )


async def run_infos(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, RunInfo]:
    rows = (await conn.execute(sa.select(runs).where(runs.c.run_uuid.in_(ids)))).all()
    return {row.run_uuid: _info(row) for row in rows}


async def runs_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[Run]:
    """Full runs in the order given: one query per child table, never one per run."""
    if not ids:
        return []
    infos = await run_infos(conn, ids)
    present = [i for i in ids if i in infos]
    if not present:
        return []
    run_params = await _key_values(conn, params, present)
    run_tags = await _key_values(conn, tags, present)
    metrics = await _latest_metrics(conn, present)
    inputs = await _dataset_inputs(conn, present)
    models_in = await _pairs(conn, run_model_inputs, present)
    models_out = await _pairs(conn, run_model_outputs, present)
    return [
        Run(
            info=infos[i],
            metrics=metrics.get(i, []),
            params=run_params.get(i, {}),
            tags=run_tags.get(i, {}),
            dataset_inputs=inputs.get(i, []),
            model_inputs=[m for m, _ in models_in.get(i, [])],
            model_outputs=models_out.get(i, []),
        )
        for i in present
    ]


async def _key_values(
    conn: AsyncConnection, table: sa.Table, ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    query = (
        sa.select(table.c.run_uuid, table.c.key, table.c.value)
        .where(table.c.run_uuid.in_(ids))
        .order_by(table.c.run_uuid, table.c.key)
    )
    for run_uuid, key, value in (await conn.execute(query)).all():
        out[run_uuid][key] = value
    return out


async def _latest_metrics(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[Metric]]:
    out: dict[str, list[Metric]] = defaultdict(list)
    query = (
        sa.select(latest_metrics)
        .where(latest_metrics.c.run_uuid.in_(ids))
        .order_by(latest_metrics.c.run_uuid, latest_metrics.c.key)
    )
    for row in (await conn.execute(query)).all():
        value = float("nan") if row.is_nan else row.value
        out[row.run_uuid].append(Metric(row.key, value, row.timestamp, row.step))
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


async def _pairs(
    conn: AsyncConnection, table: sa.Table, ids: Sequence[str]
) -> dict[str, list[tuple[str, int]]]:
    step = table.c.step if "step" in table.c else sa.literal(0)
    query = sa.select(table.c.run_uuid, table.c.model_id, step).where(table.c.run_uuid.in_(ids))
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for run_uuid, model_id, model_step in (await conn.execute(query)).all():
        out[run_uuid].append((model_id, int(model_step)))
    return out
