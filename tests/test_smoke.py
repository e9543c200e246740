"""The server starts on each backend, with the Default experiment in place."""


async def test_default_experiment_exists(api):
    data = await api.ok("GET", "/experiments/get", {"experiment_id": "0"})
    assert data["experiment"]["name"] == "Default"
    assert data["experiment"]["lifecycle_stage"] == "active"


async def test_health(client):
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.text() == "OK"
