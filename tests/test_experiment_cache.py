"""Experiment search pages are cached per process and checked against the experiments' data
version the database keeps (migration 0008): never stale, whoever changed the data."""

from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tracking.app import create_app
from tracking.config import Settings
from tracking.services.experiments import ExperimentService
from tracking.services.versioned_cache import VersionedCache
from tracking.store.database import Database


def test_a_value_is_given_out_only_at_the_version_it_was_read_at():
    cache: VersionedCache[str, str] = VersionedCache(max_weight=10)
    cache.put("page", 3, "read at 3", weight=1)
    assert cache.get("page", 3) == "read at 3"
    assert cache.get("page", 4) is None
    assert cache.get("page", 3) is None  # dropped when a newer version was seen
    cache.put("page", None, "no version", weight=1)
    assert cache.get("page", None) is None and len(cache) == 0


def test_the_least_recently_used_go_first_and_too_heavy_values_are_not_kept():
    cache: VersionedCache[str, int] = VersionedCache(max_weight=10)
    cache.put("a", 1, 1, weight=4)
    cache.put("b", 1, 2, weight=4)
    assert cache.get("a", 1) == 1  # "b" is now the least recently used
    cache.put("c", 1, 3, weight=4)
    assert cache.get("b", 1) is None and cache.get("a", 1) == 1 and cache.get("c", 1) == 3
    cache.put("d", 1, 4, weight=11)
    assert cache.get("d", 1) is None and len(cache) == 2


async def _names(api: Api, **body: Any) -> dict[str, dict[str, str]]:
    """Name -> tags of every experiment the search returns."""
    found = await api.ok("POST", "/experiments/search", {"max_results": 1000, **body})
    return {
        e["name"]: {t["key"]: t["value"] for t in e.get("tags", [])}
        for e in found.get("experiments", [])
    }


async def test_every_change_through_the_api_shows_in_the_next_search(api: Api):
    assert await _names(api) == {"Default": {}}
    first = await api.experiment("first")
    await api.experiment("second")
    assert set(await _names(api)) == {"Default", "first", "second"}
    await api.ok("POST", "/experiments/update", {"experiment_id": first, "new_name": "renamed"})
    assert set(await _names(api)) == {"Default", "renamed", "second"}
    tag = {"experiment_id": first, "key": "team", "value": "vision"}
    await api.ok("POST", "/experiments/set-experiment-tag", tag)
    assert (await _names(api))["renamed"] == {"team": "vision"}
    untag = {"experiment_id": first, "key": "team"}
    await api.ok("POST", "/experiments/delete-experiment-tag", untag)
    assert (await _names(api))["renamed"] == {}
    await api.ok("POST", "/experiments/delete", {"experiment_id": first})
    assert set(await _names(api)) == {"Default", "second"}
    assert set(await _names(api, view_type="DELETED_ONLY")) == {"renamed"}
    await api.ok("POST", "/experiments/restore", {"experiment_id": first})
    assert set(await _names(api)) == {"Default", "renamed", "second"}


async def test_a_change_made_by_another_process_or_by_plain_sql_shows_at_once(
    api: Api, aiohttp_client: Any, settings: Settings, backend_uri: str
):
    other = Api(await aiohttp_client(create_app(settings)))  # a second server process
    await api.experiment("mine")
    assert set(await _names(api)) == {"Default", "mine"}
    await other.experiment("theirs")
    assert set(await _names(api)) == {"Default", "mine", "theirs"}
    # A tool writing the database directly, around every server.
    db = Database(backend_uri)
    try:
        async with db.reader.begin() as conn:
            edit = "UPDATE experiments SET name = 'edited' WHERE name = 'mine'"
            await conn.execute(sa.text(edit))
    finally:
        await db.close()
    assert set(await _names(api)) == {"Default", "edited", "theirs"}


async def test_an_unchanged_page_is_served_from_the_cache(database: Database):
    service = ExperimentService(database, "mlflow-artifacts:/", lambda location: None)
    await service.ensure_default()
    query = dict(filter_string=None, view_type="ACTIVE_ONLY", order_by=[], page_token=None)
    first = await service.search(max_results=10, **query)
    assert await service.search(max_results=10, **query) is first
    assert await service.search(max_results=20, **query) is not first  # another query
    await service.create("new", None, [])
    changed = await service.search(max_results=10, **query)
    assert changed is not first
    assert changed.count == len(orjson.loads(changed.experiments_json)) == 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_database_without_the_version_row_is_searched_every_time(database: Database):
    service = ExperimentService(database, "mlflow-artifacts:/", lambda location: None)
    await service.ensure_default()
    async with database.reader.begin() as conn:
        await conn.execute(sa.text("DELETE FROM data_versions"))
    query = dict(filter_string=None, view_type="ACTIVE_ONLY", order_by=[], page_token=None)
    first = await service.search(max_results=10, **query)
    again = await service.search(max_results=10, **query)
    assert again is not first and again == first
