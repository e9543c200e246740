"""The load-generator process: `python -m benchmarks.loadgen ...` populates or measures to JSON.

It runs apart from the orchestrator and the server so that its CPU is its own (and sampled as such).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from benchmarks.client import MlflowApi
from benchmarks.load import closed_loop
from benchmarks.populations import POPULATIONS
from benchmarks.sizes import Sizes
from benchmarks.workloads import WORKLOADS, NotAvailable

REQUEST_TIMEOUT_S = 300  # a full 100k-point history on a slow server takes seconds, not minutes


async def populate(api: MlflowApi, name: str, sizes: Sizes) -> dict[str, Any]:
    began = time.monotonic()
    fixture = await POPULATIONS[name](api, sizes)
    return {"status": "ok", "fixture": fixture, "seconds": round(time.monotonic() - began, 1)}


async def measure(
    api: MlflowApi,
    name: str,
    sizes: Sizes,
    fixtures: dict[str, Any],
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    workload = WORKLOADS[name]
    clients = workload.clients or sizes.read_clients
    try:
        operation = await workload.prepare(api, sizes, fixtures, clients)
    except NotAvailable as reason:
        return {"status": "n/a", "reason": str(reason)}
    result = await closed_loop(operation, clients, duration, warmup)
    return {"status": "ok", **result.summary()}


async def main_async(args: argparse.Namespace, fixtures: dict[str, Any]) -> dict[str, Any]:
    sizes = Sizes.from_dict(json.loads(args.sizes))
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        api = MlflowApi(session, args.base_url)
        if args.task.startswith("populate:"):
            return await populate(api, args.task.removeprefix("populate:"), sizes)
        return await measure(api, args.task, sizes, fixtures, args.duration, args.warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--task", required=True, help="a workload name, or populate:<population>")
    parser.add_argument("--sizes", default="{}", help="Sizes as JSON")
    parser.add_argument("--fixtures", default="", help="JSON file with the populations' fixtures")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    uvloop.install()  # the client should spend as little of the shared CPU as it can
    try:
        fixtures = json.loads(Path(args.fixtures).read_text()) if args.fixtures else {}
        output = asyncio.run(main_async(args, fixtures))
    except Exception as error:  # reported in the results, the suite goes on
        output = {
            "status": "error",
            "reason": f"{type(error).__name__}: {error}"[:2000],
            "traceback": traceback.format_exc()[-4000:],
        }
    Path(args.out).write_text(json.dumps(output))


if __name__ == "__main__":
    main()
