"""SQL for `gc`: find deleted runs and experiments, and remove them with every dependent row.

Children are deleted explicitly rather than left to ON DELETE CASCADE: SQLite enforces foreign
keys only per connection (PRAGMA foreign_keys), and bulk deletes keep memory flat however long a
run's metric history is.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import DELETED
from tracking.store.tables import (
    dataset_inputs,
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    latest_metrics,
    metrics,
    params,
    run_model_inputs,
    run_model_outputs,
    runs,
    tags,
)

# Tables keyed by run_uuid, deleted before the run row itself.
_RUN_CHILDREN = (metrics, latest_metrics, params, tags, run_model_inputs, run_model_outputs)


async def deleted_run_ids(conn: AsyncConnection, cutoff_ms: int | None) -> list[str]:
    """Deleted runs whose deleted_time is at or before the cutoff (MLflow's `<=`); all if None."""
    query = sa.select(runs.c.run_uuid).where(runs.c.lifecycle_stage == DELETED)
    if cutoff_ms is not None:
        query = query.where(runs.c.deleted_time <= cutoff_ms)
    return list((await conn.execute(query.order_by(runs.c.run_uuid))).scalars())


async def deleted_experiment_ids(conn: AsyncConnection, cutoff_ms: int | None) -> list[int]:
    """Deleted experiments last updated before the cutoff (MLflow's strict `<`); all if None."""
    query = sa.select(experiments.c.experiment_id).where(experiments.c.lifecycle_stage == DELETED)
    if cutoff_ms is not None:
        query = query.where(experiments.c.last_update_time < cutoff_ms)
    return list((await conn.execute(query.order_by(experiments.c.experiment_id))).scalars())


async def run_rows(conn: AsyncConnection, run_ids: Sequence[str]) -> list[Any]:
    """(run_uuid, experiment_id, lifecycle_stage, deleted_time, artifact_uri) per existing run."""
    result = await conn.execute(
        sa.select(
            runs.c.run_uuid,
            runs.c.experiment_id,
            runs.c.lifecycle_stage,
            runs.c.deleted_time,
            runs.c.artifact_uri,
        ).where(runs.c.run_uuid.in_(list(run_ids)))
    )
    return list(result)


async def experiment_rows(conn: AsyncConnection, experiment_ids: Sequence[int]) -> list[Any]:
    """(experiment_id, lifecycle_stage, last_update_time, artifact_location) per experiment."""
    result = await conn.execute(
        sa.select(
            experiments.c.experiment_id,
            experiments.c.lifecycle_stage,
            experiments.c.last_update_time,
            experiments.c.artifact_location,
        ).where(experiments.c.experiment_id.in_(list(experiment_ids)))
    )
    return list(result)


async def runs_of_experiments(conn: AsyncConnection, experiment_ids: Sequence[int]) -> list[Any]:
    """(run_uuid, artifact_uri) of every run in the experiments, whatever its lifecycle."""
    result = await conn.execute(
        sa.select(runs.c.run_uuid, runs.c.artifact_uri)
        .where(runs.c.experiment_id.in_(list(experiment_ids)))
        .order_by(runs.c.run_uuid)
    )
    return list(result)


async def other_artifact_locations(
    conn: AsyncConnection, experiment_ids: Sequence[int]
) -> list[str]:
    """artifact_location of every experiment not in `experiment_ids`."""
    result = await conn.execute(
        sa.select(experiments.c.artifact_location).where(
            experiments.c.experiment_id.not_in(list(experiment_ids))
        )
    )
    return list(result.scalars())


async def still_deleted_runs(conn: AsyncConnection, run_ids: Sequence[str]) -> list[str]:
    """The runs among `run_ids` still in the deleted stage (one may be restored meanwhile)."""
    result = await conn.execute(
        sa.select(runs.c.run_uuid).where(
            runs.c.run_uuid.in_(list(run_ids)), runs.c.lifecycle_stage == DELETED
        )
    )
    return list(result.scalars())


async def still_deleted_experiments(
    conn: AsyncConnection, experiment_ids: Sequence[int]
) -> list[int]:
    result = await conn.execute(
        sa.select(experiments.c.experiment_id).where(
            experiments.c.experiment_id.in_(list(experiment_ids)),
            experiments.c.lifecycle_stage == DELETED,
        )
    )
    return list(result.scalars())


async def delete_runs(conn: AsyncConnection, run_ids: Sequence[str]) -> int:
    """Remove the runs and every row that depends on them; returns the number of runs removed."""
    ids = list(run_ids)
    if not ids:
        return 0
    inputs = sa.select(dataset_inputs.c.input_uuid).where(dataset_inputs.c.run_uuid.in_(ids))
    await conn.execute(sa.delete(input_tags).where(input_tags.c.input_uuid.in_(inputs)))
    await conn.execute(sa.delete(dataset_inputs).where(dataset_inputs.c.run_uuid.in_(ids)))
    for table in _RUN_CHILDREN:
        await conn.execute(sa.delete(table).where(table.c.run_uuid.in_(ids)))
    result = await conn.execute(sa.delete(runs).where(runs.c.run_uuid.in_(ids)))
    return int(result.rowcount)


async def delete_experiments(conn: AsyncConnection, experiment_ids: Sequence[int]) -> int:
    """Remove the experiments with their runs, datasets and tags; returns experiments removed."""
    ids = list(experiment_ids)
    if not ids:
        return 0
    run_ids = sa.select(runs.c.run_uuid).where(runs.c.experiment_id.in_(ids))
    await delete_runs(conn, list((await conn.execute(run_ids)).scalars()))
    # A run elsewhere may have used one of these datasets; its input goes with the dataset.
    owned = sa.select(datasets.c.dataset_uuid).where(datasets.c.experiment_id.in_(ids))
    inputs = sa.select(dataset_inputs.c.input_uuid).where(dataset_inputs.c.dataset_uuid.in_(owned))
    await conn.execute(sa.delete(input_tags).where(input_tags.c.input_uuid.in_(inputs)))
    await conn.execute(sa.delete(dataset_inputs).where(dataset_inputs.c.dataset_uuid.in_(owned)))
    await conn.execute(sa.delete(datasets).where(datasets.c.experiment_id.in_(ids)))
    await conn.execute(sa.delete(experiment_tags).where(experiment_tags.c.experiment_id.in_(ids)))
    result = await conn.execute(sa.delete(experiments).where(experiments.c.experiment_id.in_(ids)))
    return int(result.rowcount)
