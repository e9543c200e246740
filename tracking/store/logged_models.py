"""SQL for logged models: rows, tags, params, their metrics, and search.

A model's metrics are the points in `metrics` carrying its model_id, plus the points its source
run logged at the step where it output the model. MLflow's client copies the latter onto the
model when it logs one (Model.log's log_model_metrics_for_step re-logs them with model_id), but
here an identical point is stored once per run, so the copy is a no-op and the link is made on
read instead.
"""

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import DELETED, Metric
from tracking.entities_models import LoggedModel, LoggedModelInfo, ModelMetric
from tracking.search.comparators import compare
from tracking.search.filters import Comparison
from tracking.search.logged_model_filters import ModelOrderKey
from tracking.store.dialect import insert_ignore, upsert
from tracking.store.tables import (
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    run_model_outputs,
)

ModelCondition = Callable[[sa.ColumnElement[Any]], sa.ColumnElement[bool]]
# (dataset_name, dataset_digest or None): metric points on any of them.
DatasetScope = list[tuple[str, str | None]]

# LoggedModelInfo's field order; rows are unpacked by position.
_INFO_COLUMNS = (
    logged_models.c.model_id,
    logged_models.c.experiment_id,
    logged_models.c.name,
    logged_models.c.artifact_location,
    logged_models.c.creation_timestamp_ms,
    logged_models.c.last_updated_timestamp_ms,
    logged_models.c.status,
    logged_models.c.lifecycle_stage,
    logged_models.c.model_type,
    logged_models.c.source_run_id,
    logged_models.c.status_message,
)


async def insert_model(conn: AsyncConnection, info: LoggedModelInfo) -> None:
    await conn.execute(
        sa.insert(logged_models).values(
            dict(zip((c.name for c in _INFO_COLUMNS), dataclasses.astuple(info), strict=True))
        )
    )


async def model_state(conn: AsyncConnection, model_id: str) -> Any:
    """(experiment_id, lifecycle_stage) of a model, deleted or not; None if it does not exist."""
    result = await conn.execute(
        sa.select(logged_models.c.experiment_id, logged_models.c.lifecycle_stage).where(
            logged_models.c.model_id == model_id
        )
    )
    return result.first()


async def update_model(conn: AsyncConnection, model_id: str, **values: Any) -> None:
    await conn.execute(
        sa.update(logged_models).where(logged_models.c.model_id == model_id).values(**values)
    )


async def set_tags(
    conn: AsyncConnection, model_id: str, experiment_id: int, items: Sequence[tuple[str, str]]
) -> None:
    if items:
        await conn.execute(
            upsert(conn, logged_model_tags, ["model_id", "tag_key"], ["tag_value"]),
            [
                {"model_id": model_id, "experiment_id": experiment_id, "tag_key": k, "tag_value": v}
                for k, v in sorted(items)
            ],
        )


async def delete_tag(conn: AsyncConnection, model_id: str, key: str) -> int:
    result = await conn.execute(
        sa.delete(logged_model_tags).where(
            logged_model_tags.c.model_id == model_id, logged_model_tags.c.tag_key == key
        )
    )
    return int(result.rowcount)


async def params_of(conn: AsyncConnection, model_id: str, keys: Sequence[str]) -> dict[str, str]:
    rows = await conn.execute(
        sa.select(logged_model_params.c.param_key, logged_model_params.c.param_value).where(
            logged_model_params.c.model_id == model_id,
            logged_model_params.c.param_key.in_(list(keys)),
        )
    )
    return {k: v for k, v in rows}


async def insert_params(
    conn: AsyncConnection, model_id: str, experiment_id: int, items: Sequence[tuple[str, str]]
) -> None:
    if items:
        await conn.execute(
            insert_ignore(conn, logged_model_params),
            [
                {
                    "model_id": model_id,
                    "experiment_id": experiment_id,
                    "param_key": k,
                    "param_value": v,
                }
                for k, v in sorted(items)
            ],
        )


# -- loading whole models --


async def models_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[LoggedModel]:
    """Full models in the order given, in four queries whatever the page size."""
    if not ids:
        return []
    rows = await conn.execute(sa.select(*_INFO_COLUMNS).where(logged_models.c.model_id.in_(ids)))
    infos = {row[0]: LoggedModelInfo(*row) for row in rows}
    present = [i for i in ids if i in infos]
    if not present:
        return []
    tags = await _keyed(conn, logged_model_tags, "tag", present)
    params = await _keyed(conn, logged_model_params, "param", present)
    points = await _metrics(conn, present)
    return [
        LoggedModel(
            info=infos[i], tags=tags.get(i, {}), params=params.get(i, {}), metrics=points.get(i, [])
        )
        for i in present
    ]


async def _keyed(
    conn: AsyncConnection, table: sa.Table, prefix: str, ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    key, value = table.c[f"{prefix}_key"], table.c[f"{prefix}_value"]
    rows = await conn.execute(
        sa.select(table.c.model_id, key, value)
        .where(table.c.model_id.in_(ids))
        .order_by(table.c.model_id, key)
    )
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for model_id, k, v in rows:
        out[model_id][k] = v
    return out


def _points(model: ModelCondition, *conditions: sa.ColumnElement[bool]) -> list[sa.Select[Any]]:
    """The metric points of models matching `model`: logged with their model_id, and linked
    through the run that output them at that step. One SELECT per source, same columns."""

    def columns(model_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
        return [
            model_id.label("model_id"),
            metrics.c.run_uuid,
            metrics.c.key,
            metrics.c.timestamp,
            metrics.c.step,
            metrics.c.value,
            metrics.c.is_nan,
            metrics.c.dataset_name,
            metrics.c.dataset_digest,
        ]

    direct = sa.select(*columns(metrics.c.model_id)).where(
        metrics.c.model_id.is_not(None), model(metrics.c.model_id), *conditions
    )
    outputs = run_model_outputs
    linked = (
        sa.select(*columns(outputs.c.model_id))
        .select_from(
            outputs.join(
                metrics,
                sa.and_(
                    metrics.c.run_uuid == outputs.c.run_uuid,
                    metrics.c.step == outputs.c.step,
                    metrics.c.model_id.is_(None),
                ),
            )
        )
        .where(model(outputs.c.model_id), *conditions)
    )
    return [direct, linked]


async def _metrics(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[ModelMetric]]:
    union = sa.union_all(*_points(lambda column: column.in_(ids))).subquery()
    rows = await conn.execute(
        sa.select(union).order_by(
            union.c.model_id, union.c.key, union.c.timestamp, union.c.step, union.c.run_uuid
        )
    )
    out: dict[str, list[ModelMetric]] = defaultdict(list)
    nan = float("nan")
    for model_id, run_id, key, timestamp, step, value, is_nan, name, digest in rows:
        out[model_id].append(
            ModelMetric(
                Metric(key, nan if is_nan else value, timestamp, step, model_id, name, digest),
                run_id,
            )
        )
    return out


# -- search --


def _in_datasets(datasets: DatasetScope) -> list[sa.ColumnElement[bool]]:
    if not datasets:
        return []
    return [
        sa.or_(
            *(
                sa.and_(metrics.c.dataset_name == name, metrics.c.dataset_digest == digest)
                if digest
                else metrics.c.dataset_name == name
                for name, digest in datasets
            )
        )
    ]


def _of_this_model(column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return column == logged_models.c.model_id


def _metric_filter(c: Comparison, datasets: DatasetScope) -> sa.ColumnElement[bool]:
    matches = compare(metrics.c.value, c.op, c.value)
    # NaN is stored as value=0, is_nan=true: it satisfies only "!=".
    nan = metrics.c.is_nan == sa.true()
    matches = sa.or_(matches, nan) if c.op == "!=" else sa.and_(matches, ~nan)
    selects = _points(_of_this_model, metrics.c.key == c.key, matches, *_in_datasets(datasets))
    return sa.or_(*(sa.exists(s) for s in selects))


def model_filter(c: Comparison, datasets: DatasetScope) -> sa.ColumnElement[bool]:
    """One clause as a WHERE condition on `logged_models`."""
    if c.kind == "attribute":
        return compare(logged_models.c[c.key], c.op, c.value)
    if c.kind == "metric":
        return _metric_filter(c, datasets)
    table, prefix = (
        (logged_model_params, "param") if c.kind == "param" else (logged_model_tags, "tag")
    )
    return sa.exists().where(
        table.c.model_id == logged_models.c.model_id,
        table.c[f"{prefix}_key"] == c.key,
        compare(table.c[f"{prefix}_value"], c.op, c.value),
    )


def _latest_metric(k: ModelOrderKey, index: int) -> sa.Subquery:
    """Each model's latest value of one metric (by timestamp, step, then run), NaN as NULL."""
    scope = [(k.dataset_name, k.dataset_digest)] if k.dataset_name else []
    conditions = [metrics.c.key == k.key, *_in_datasets(scope)]
    if k.dataset_digest and not k.dataset_name:
        conditions.append(metrics.c.dataset_digest == k.dataset_digest)
    points = sa.union_all(*_points(lambda column: sa.true(), *conditions)).subquery()
    ranked = sa.select(
        points.c.model_id,
        sa.case((points.c.is_nan == sa.true(), sa.null()), else_=points.c.value).label("value"),
        sa.func.row_number()
        .over(
            partition_by=points.c.model_id,
            order_by=(points.c.timestamp.desc(), points.c.step.desc(), points.c.run_uuid),
        )
        .label("rank"),
    ).subquery()
    return (
        sa.select(ranked.c.model_id, ranked.c.value)
        .where(ranked.c.rank == 1)
        .subquery(f"order_{index}")
    )


def _ordering(
    keys: Sequence[ModelOrderKey],
) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
    source: sa.FromClause = logged_models
    terms: list[sa.ColumnElement[Any]] = []
    for index, k in enumerate(keys):
        if k.kind == "attribute":
            value: sa.ColumnElement[Any] = logged_models.c[k.key]
        else:
            latest = _latest_metric(k, index)
            source = source.outerjoin(latest, latest.c.model_id == logged_models.c.model_id)
            value = latest.c.value
        terms.append(sa.case((value.is_(None), 1), else_=0))  # missing values last
        terms.append(value.asc() if k.ascending else value.desc())
    return source, terms


async def search_model_ids(
    conn: AsyncConnection,
    *,
    experiment_ids: list[int],
    comparisons: Sequence[Comparison],
    datasets: DatasetScope,
    order: Sequence[ModelOrderKey],
    offset: int,
    limit: int,
) -> list[str]:
    """The ids of one page of matching, non-deleted models in MLflow's order."""
    source, terms = _ordering(order)
    conditions = [model_filter(c, datasets) for c in comparisons]
    if datasets and not any(c.kind == "metric" for c in comparisons):
        # Dataset scoping alone keeps the models having any metric on those datasets.
        conditions.append(
            sa.or_(*(sa.exists(s) for s in _points(_of_this_model, *_in_datasets(datasets))))
        )
    stmt = (
        sa.select(logged_models.c.model_id)
        .select_from(source)
        .where(
            logged_models.c.experiment_id.in_(experiment_ids),
            logged_models.c.lifecycle_stage != DELETED,
            *conditions,
        )
        .order_by(*terms)
        .offset(offset)
        .limit(limit)
    )
    return list((await conn.execute(stmt)).scalars())
