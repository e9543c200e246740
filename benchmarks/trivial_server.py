"""The HTTP ceiling: N aiohttp processes on one port whose handlers parse the body and answer `{}`.

It speaks just enough MLflow for the load generator's setup (experiments/create, runs/create) so
the same log-metric workloads run against it unchanged.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import uuid
from collections.abc import Iterator

import uvloop
from aiohttp import web

from benchmarks.ports import LOOPBACK

PREFIX = "/api/2.0/mlflow"
IDS: web.AppKey[Iterator[int]] = web.AppKey("ids")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def create_experiment(request: web.Request) -> web.Response:
    await request.json()
    ids = request.app[IDS]
    return web.json_response({"experiment_id": str(next(ids))})


async def create_run(request: web.Request) -> web.Response:
    body = await request.json()
    run_id = uuid.uuid4().hex
    info = {"run_id": run_id, "run_uuid": run_id, "experiment_id": body.get("experiment_id")}
    return web.json_response({"run": {"info": info, "data": {}}})


async def any_post(request: web.Request) -> web.Response:
    await request.json()  # the body is parsed, as a real handler must
    return web.json_response({})


def make_app() -> web.Application:
    app = web.Application()
    app[IDS] = itertools.count(1)
    app.router.add_get("/health", health)
    app.router.add_post(f"{PREFIX}/experiments/create", create_experiment)
    app.router.add_post(f"{PREFIX}/runs/create", create_run)
    app.router.add_post(f"{PREFIX}/{{tail:.*}}", any_post)
    return app


def serve_one(port: int) -> None:
    uvloop.install()  # the ceiling should run on the fastest loop ours could use
    web.run_app(make_app(), host=LOOPBACK, port=port, reuse_port=True, access_log=None, print=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # SIGTERM reaches every process of the group (the launcher signals the group); each child's
    # run_app exits gracefully on it and the parent just waits for them.
    children = [
        multiprocessing.Process(target=serve_one, args=(args.port,), daemon=True)
        for _ in range(args.workers)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
