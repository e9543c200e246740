"""Logging to a run: metrics, params, tags, batches, dataset inputs and model outputs."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import Dataset, Metric
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.services.runs import require_active_run
from tracking.services.validation import (
    MAX_DATASET_DIGEST_SIZE,
    MAX_DATASET_NAME_SIZE,
    MAX_DATASET_PROFILE_SIZE,
    MAX_DATASET_SCHEMA_SIZE,
    MAX_DATASET_SOURCE_SIZE,
    MAX_DATASET_SOURCE_TYPE_SIZE,
    MAX_DATASETS_PER_BATCH,
    MAX_INPUT_TAG_KEY_SIZE,
    MAX_INPUT_TAG_VALUE_SIZE,
    MAX_MODEL_ID_LENGTH,
    exceeds_maximum_length,
    limit_length,
    validate_batch_limit,
    validate_batch_sizes,
    validate_metric,
    validate_param,
    validate_tag,
    validate_unique_param_keys,
)
from tracking.store import datasets as dataset_store
from tracking.store import run_data as store
from tracking.store.database import Database
from tracking.store.run_writes import RunWrite, RunWrites


@dataclass(frozen=True)
class DatasetInputRequest:
    dataset: Dataset
    tags: list[tuple[str, str]]


RUN_WRITES = RunWrites()


class RunDataService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def log_batch(
        self,
        run_id: str,
        metrics: list[Metric],
        params: list[tuple[str, str]],
        tags: list[tuple[str, str]],
    ) -> None:
        validate_batch_sizes(len(metrics), len(params), len(tags))
        for index, metric in enumerate(metrics):
            validate_metric(metric, f"metrics[{index}]")
        checked_params = [validate_param(k, v, f"params[{i}]") for i, (k, v) in enumerate(params)]
        validate_unique_param_keys([k for k, _ in checked_params])
        checked_tags = [validate_tag(k, v, f"tags[{i}]") for i, (k, v) in enumerate(tags)]
        await self._write(run_id, metrics, checked_params, checked_tags)

    async def log_metric(self, run_id: str, metric: Metric) -> None:
        validate_metric(metric)
        await self._write(run_id, [metric], [], [])

    async def log_param(self, run_id: str, key: str, value: str) -> None:
        await self._write(run_id, [], [validate_param(key, value)], [], single_param=True)

    async def set_tag(self, run_id: str, key: str, value: str) -> None:
        await self._write(run_id, [], [], [validate_tag(key, value)])

    async def _write(
        self,
        run_id: str,
        metrics: list[Metric],
        params: list[tuple[str, str]],
        tags: list[tuple[str, str]],
        *,
        single_param: bool = False,
    ) -> None:
        # Merged with every other pending run write into one set of statements per batch.
        write = RunWrite(run_id, metrics, params, tags, single_param=single_param)
        await self.db.submit(RUN_WRITES, write)

    async def delete_tag(self, run_id: str, key: str) -> None:
        async def op(conn: AsyncConnection) -> None:
            await require_active_run(conn, run_id)
            if await store.delete_tag(conn, run_id, key) == 0:
                raise ResourceDoesNotExist(f"No tag with name: {key} in run with id {run_id}")

        await self.db.write(op)

    async def log_inputs(
        self, run_id: str, datasets: list[DatasetInputRequest], model_ids: list[str]
    ) -> None:
        validate_batch_limit("datasets", MAX_DATASETS_PER_BATCH, len(datasets))
        for item in datasets:
            _validate_dataset(item)
        for model_id in model_ids:
            limit_length("model_id", MAX_MODEL_ID_LENGTH, model_id)

        async def op(conn: AsyncConnection) -> None:
            state = await require_active_run(conn, run_id)
            for item in datasets:
                dataset_uuid = await dataset_store.ensure_dataset(
                    conn, state.experiment_id, item.dataset
                )
                await dataset_store.link_input(conn, run_id, dataset_uuid, dict(item.tags))
            await dataset_store.link_model_inputs(conn, run_id, model_ids)

        await self.db.write(op)

    async def log_outputs(self, run_id: str, models: list[tuple[str, int]]) -> None:
        for model_id, _ in models:
            limit_length("model_id", MAX_MODEL_ID_LENGTH, model_id)

        async def op(conn: AsyncConnection) -> None:
            await require_active_run(conn, run_id)
            await dataset_store.link_model_outputs(conn, run_id, models)

        await self.db.write(op)


def _validate_dataset(item: DatasetInputRequest) -> None:
    dataset = item.dataset
    for field, value, limit in (
        ("name", dataset.name, MAX_DATASET_NAME_SIZE),
        ("digest", dataset.digest, MAX_DATASET_DIGEST_SIZE),
        ("source_type", dataset.source_type, MAX_DATASET_SOURCE_TYPE_SIZE),
        ("source", dataset.source, MAX_DATASET_SOURCE_SIZE),
        ("schema", dataset.schema, MAX_DATASET_SCHEMA_SIZE),
        ("profile", dataset.profile, MAX_DATASET_PROFILE_SIZE),
    ):
        if value is not None and len(value) > limit:
            raise exceeds_maximum_length(f"Dataset {field}", limit)
    for key, value in item.tags:
        if not key:
            raise InvalidParameterValue("Input tag key cannot be empty.")
        if len(key) > MAX_INPUT_TAG_KEY_SIZE:
            raise exceeds_maximum_length("Input tag key", MAX_INPUT_TAG_KEY_SIZE)
        if len(value) > MAX_INPUT_TAG_VALUE_SIZE:
            raise exceeds_maximum_length("Input tag value", MAX_INPUT_TAG_VALUE_SIZE)
