"""A lost database is a 503 TEMPORARILY_UNAVAILABLE, and the server recovers without a restart."""

import pytest

from tests.conftest import psql


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_lost_connections_are_503_then_recover(api, backend_uri, pg_base_url):
    experiment_id = await api.experiment("before-outage")
    name = backend_uri.rsplit("/", 1)[1]
    psql(pg_base_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    psql(
        pg_base_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )
    try:
        status, body = await api.get("/experiments/get", {"experiment_id": experiment_id})
        assert (status, body["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
        status, body = await api.post("/experiments/create", {"name": "during-outage"})
        assert (status, body["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
    finally:
        psql(pg_base_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")

    data = await api.ok("GET", "/experiments/get", {"experiment_id": experiment_id})
    assert data["experiment"]["name"] == "before-outage"
    created = await api.ok("POST", "/experiments/create", {"name": "after-outage"})
    assert created["experiment_id"]
