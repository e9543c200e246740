"""Endpoints that log to a run: metrics, params, tags, batches, inputs and outputs."""

from typing import Any

from aiohttp import web

from tracking.api.responses import empty
from tracking.api.wire import INT64_MAX, INT64_MIN, Fields, read_fields
from tracking.entities import Dataset, Metric
from tracking.keys import RUN_DATA
from tracking.services.run_data import DatasetInputRequest


def parse_metric(fields: Fields) -> Metric:
    return Metric(
        key=fields.string("key", required=True),
        value=fields.double("value", required=True),  # type: ignore[arg-type]
        timestamp=fields.int64("timestamp", required=True),
        step=fields.int64("step", default=0),
        model_id=fields.string("model_id") or None,
        dataset_name=fields.string("dataset_name") or None,
        dataset_digest=fields.string("dataset_digest") or None,
    )


_PLAIN_METRIC_FIELDS = frozenset(("key", "value", "timestamp", "step"))


def parse_metrics(body: Fields) -> list[Metric]:
    """A batch's metrics; the common well-formed shape skips the general decoder.

    Anything unusual (numeric strings, NaN spelled as a string, extra fields, wrong types)
    takes the general path, so errors are exactly those of parse_metric.
    """
    out: list[Metric] = []
    for index, item in enumerate(body.raw_list("metrics")):
        if type(item) is dict and item.keys() <= _PLAIN_METRIC_FIELDS:
            key: Any = item.get("key")
            value: Any = item.get("value")
            timestamp: Any = item.get("timestamp")
            step: Any = item.get("step", 0)
            if (
                type(key) is str
                and key
                and "\x00" not in key
                and type(value) in (float, int)
                and type(timestamp) is int
                and type(step) is int
                and INT64_MIN <= timestamp <= INT64_MAX
                and INT64_MIN <= step <= INT64_MAX
            ):
                out.append(Metric(key, float(value), timestamp, step))
                continue
        out.append(parse_metric(body.item("metrics", index)))
    return out


async def log_metric(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    await request.app[RUN_DATA].log_metric(run_id, parse_metric(body))
    return empty()


async def log_param(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    await request.app[RUN_DATA].log_param(
        run_id, body.string("key", required=True), body.string("value", default="")
    )
    return empty()


async def set_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    await request.app[RUN_DATA].set_tag(
        run_id, body.string("key", required=True), body.string("value", default="")
    )
    return empty()


async def delete_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[RUN_DATA].delete_tag(body.run_id(), body.string("key", required=True))
    return empty()


async def log_batch(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    metrics = parse_metrics(body)
    params = [
        (p.string("key", required=True), p.string("value", default=""))
        for p in body.messages("params")
    ]
    tags = [
        (t.string("key", required=True), t.string("value", default=""))
        for t in body.messages("tags")
    ]
    await request.app[RUN_DATA].log_batch(run_id, metrics, params, tags)
    return empty()


def _dataset_input(fields: Fields) -> DatasetInputRequest:
    dataset = fields.message("dataset")
    if dataset is None:
        dataset = Fields({}, "dataset.")
    return DatasetInputRequest(
        dataset=Dataset(
            name=dataset.string("name", required=True),
            digest=dataset.string("digest", required=True),
            source_type=dataset.string("source_type", required=True),
            source=dataset.string("source", required=True),
            schema=dataset.string("schema"),
            profile=dataset.string("profile"),
        ),
        tags=[
            (t.string("key", required=True), t.string("value", default=""))
            for t in fields.messages("tags")
        ],
    )


async def log_inputs(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    datasets = [_dataset_input(d) for d in body.messages("datasets")]
    models = [m.string("model_id", required=True) for m in body.messages("models")]
    await request.app[RUN_DATA].log_inputs(run_id, datasets, models)
    return empty()


async def log_outputs(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    models = [
        (m.string("model_id", required=True), m.int64("step", default=0))
        for m in body.messages("models")
    ]
    await request.app[RUN_DATA].log_outputs(run_id, models)
    return empty()
