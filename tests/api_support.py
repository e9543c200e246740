"""Shared pieces of the API contract tests: a client that fails any test seeing a 5xx."""

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application

from tests.conftest import API
from tracking.app import create_app
from tracking.config import Settings

AJAX = "/ajax-api/2.0/mlflow"
MISSING = "See the API docs for more information about request parameters."


class ServerErrorGuard:
    """Records every response of 500 or more; client errors must never become one."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._on_end)

    async def _on_end(
        self, session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any
    ) -> None:
        if params.response.status >= 500:
            self.failures.append(f"{params.method} {params.url} -> {params.response.status}")

    async def client(self, aiohttp_client: Any, app: Application) -> TestClient:
        return await aiohttp_client(app, trace_configs=[self.trace])

    def check(self) -> None:
        assert not self.failures, f"server errors: {self.failures}"


@pytest.fixture(name="client")
async def guarded_client(aiohttp_client: Any, settings: Settings) -> AsyncIterator[TestClient]:
    """Replaces conftest's client in the modules importing it: same app, with the 5xx guard."""
    guard = ServerErrorGuard()
    yield await guard.client(aiohttp_client, create_app(settings))
    guard.check()


def assert_error(
    status: int, body: Any, want_status: int, code: str, message: str | None = None
) -> None:
    """An error in MLflow's shape: exactly error_code and message, optionally an exact message."""
    assert status == want_status, body
    assert set(body) == {"error_code", "message"}, body
    assert body["error_code"] == code, body
    if message is not None:
        assert body["message"] == message, body


def missing(name: str) -> str:
    return f"Missing value for required parameter '{name}'. {MISSING}"


async def raw(
    client: TestClient,
    method: str,
    path: str,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    prefix: str = API,
) -> tuple[int, Any]:
    """A request with an exact body and headers; every answer must be JSON."""
    resp = await client.request(method, prefix + path, data=data, headers=headers or {})
    assert resp.content_type == "application/json", await resp.text()
    return resp.status, await resp.json()


def tags_of(entity: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in entity.get("tags", [])}


def run_tags(run: dict[str, Any]) -> dict[str, str]:
    return tags_of(run["data"])


def run_params(run: dict[str, Any]) -> dict[str, str]:
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def run_metrics(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in run["data"].get("metrics", [])}
