"""SQL for datasets, a run's dataset and model inputs, and its model outputs."""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import DATASET_CONTEXT_TAG, Dataset
from tracking.store.dialect import insert_ignore, upsert
from tracking.store.tables import (
    dataset_inputs,
    datasets,
    input_tags,
    run_model_inputs,
    run_model_outputs,
)


async def ensure_dataset(conn: AsyncConnection, experiment_id: int, dataset: Dataset) -> str:
    """The dataset's id within the experiment, created on first use (name + digest)."""
    await conn.execute(
        insert_ignore(conn, datasets).values(
            dataset_uuid=uuid.uuid4().hex,
            experiment_id=experiment_id,
            name=dataset.name,
            digest=dataset.digest,
            source_type=dataset.source_type,
            source=dataset.source,
            schema=dataset.schema,
            profile=dataset.profile,
        )
    )
    found = await conn.execute(
        sa.select(datasets.c.dataset_uuid).where(
            datasets.c.experiment_id == experiment_id,
            datasets.c.name == dataset.name,
            datasets.c.digest == dataset.digest,
        )
    )
    return str(found.scalar_one())


async def link_input(
    conn: AsyncConnection, run_id: str, dataset_uuid: str, tags: dict[str, str]
) -> None:
    await conn.execute(
        insert_ignore(conn, dataset_inputs).values(
            input_uuid=uuid.uuid4().hex, run_uuid=run_id, dataset_uuid=dataset_uuid
        )
    )
    input_uuid = (
        await conn.execute(
            sa.select(dataset_inputs.c.input_uuid).where(
                dataset_inputs.c.run_uuid == run_id, dataset_inputs.c.dataset_uuid == dataset_uuid
            )
        )
    ).scalar_one()
    if tags:
        await conn.execute(
            upsert(conn, input_tags, ["input_uuid", "name"], ["value"]),
            [{"input_uuid": input_uuid, "name": k, "value": v} for k, v in sorted(tags.items())],
        )


async def link_model_inputs(conn: AsyncConnection, run_id: str, model_ids: Sequence[str]) -> None:
    if model_ids:
        await conn.execute(
            insert_ignore(conn, run_model_inputs),
            [{"run_uuid": run_id, "model_id": m} for m in sorted(set(model_ids))],
        )


async def link_model_outputs(
    conn: AsyncConnection, run_id: str, models: Sequence[tuple[str, int]]
) -> None:
    if models:
        rows = {m: s for m, s in models}
        await conn.execute(
            upsert(conn, run_model_outputs, ["run_uuid", "model_id"], ["step"]),
            [{"run_uuid": run_id, "model_id": m, "step": s} for m, s in sorted(rows.items())],
        )


async def dataset_summaries(
    conn: AsyncConnection, experiment_ids: Sequence[int], limit: int = 1000
) -> Sequence[Any]:
    context = input_tags.alias("context")
    query = (
        sa.select(datasets.c.experiment_id, datasets.c.name, datasets.c.digest, context.c.value)
        .distinct()
        .join(dataset_inputs, dataset_inputs.c.dataset_uuid == datasets.c.dataset_uuid)
        .join(
            context,
            sa.and_(
                context.c.input_uuid == dataset_inputs.c.input_uuid,
                context.c.name == DATASET_CONTEXT_TAG,
            ),
            isouter=True,
        )
        .where(datasets.c.experiment_id.in_(list(experiment_ids)))
        .order_by(datasets.c.experiment_id, datasets.c.name, datasets.c.digest, context.c.value)
        .limit(limit)
    )
    return (await conn.execute(query)).all()
