"""Endpoints that log to a run: metrics, params, tags, batches, inputs and outputs."""

from aiohttp import web

from tracking.api.responses import empty
from tracking.api.wire import Fields, read_fields
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
    metrics = [parse_metric(m) for m in body.messages("metrics")]
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
