"""Experiment search builds its response dicts straight from the rows (store.experiment_dicts):
each must be exactly what experiments/get answers for the same experiment."""


async def test_search_pages_match_get(api):
    ids = []
    for i, tags in enumerate([{}, {"b": "2", "a": "1"}, {"z": ""}, {"k": "v", "c": "x", "m": "y"}]):
        body = {"name": f"exp-{i}", "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        ids.append((await api.ok("POST", "/experiments/create", body))["experiment_id"])
    await api.ok("POST", "/experiments/delete", {"experiment_id": ids[2]})

    for view_type, order_by in [
        ("ACTIVE_ONLY", []),
        ("ALL", ["name DESC"]),
        ("DELETED_ONLY", []),
    ]:
        listed = []
        token = None
        while True:
            body = {"view_type": view_type, "order_by": order_by, "max_results": 2}
            if token:
                body["page_token"] = token
            page = await api.ok("POST", "/experiments/search", body)
            listed.extend(page.get("experiments", []))
            token = page.get("next_page_token")
            if not token:
                break
        assert listed, view_type
        for experiment in listed:
            got = await api.ok(
                "GET", "/experiments/get", {"experiment_id": experiment["experiment_id"]}
            )
            assert experiment == got["experiment"]
            assert list(experiment) == list(got["experiment"])  # same key order on the wire
        if view_type == "ALL":
            assert [e["name"] for e in listed] == sorted((e["name"] for e in listed), reverse=True)
            assert {e["experiment_id"] for e in listed} >= set(ids)
