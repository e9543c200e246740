"""A minimal asyncio MLflow REST client (plain /api/2.0/mlflow JSON) shared by setup and load."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import orjson

API = "/api/2.0/mlflow"
JSON_HEADERS = {"Content-Type": "application/json"}


class RequestFailed(Exception):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class MlflowApi:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(
            f"{self.base_url}{API}/{path}", data=orjson.dumps(body), headers=JSON_HEADERS
        ) as response:
            payload = await response.read()
            if response.status != 200:
                raise RequestFailed("POST", path, response.status, payload)
        return orjson.loads(payload) if payload else {}

    async def get(self, path: str, params: list[tuple[str, str]]) -> Any:
        # A list of pairs, not a dict: get-history-bulk-interval repeats run_ids.
        async with self.session.get(f"{self.base_url}{API}/{path}", params=params) as response:
            payload = await response.read()
            if response.status != 200:
                raise RequestFailed("GET", path, response.status, payload)
        return orjson.loads(payload) if payload else {}

    async def create_experiment(self, name: str) -> str:
        return str((await self.post("experiments/create", {"name": name}))["experiment_id"])

    async def create_run(self, experiment_id: str, start_time: int | None = None) -> str:
        body = {"experiment_id": experiment_id, "start_time": start_time or now_ms()}
        info = (await self.post("runs/create", body))["run"]["info"]
        return str(info.get("run_id") or info["run_uuid"])

    async def log_batch(
        self,
        run_id: str,
        metrics: list[dict[str, Any]] | None = None,
        params: list[dict[str, str]] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        body: dict[str, Any] = {"run_id": run_id}
        if metrics:
            body["metrics"] = metrics
        if params:
            body["params"] = params
        if tags:
            body["tags"] = tags
        await self.post("runs/log-batch", body)


def now_ms() -> int:
    return int(time.time() * 1000)


def metric(key: str, value: float, step: int, timestamp: int) -> dict[str, Any]:
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}
