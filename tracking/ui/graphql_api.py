"""`/graphql`: parse, check MLflow's limits, validate, execute; answer as MLflow's server does.

MLflow answers 200 with `{"data": ..., "errors": [message, ...] | null}`: errors are plain
strings (a resolver's MlflowException gives its message), not GraphQL error objects.
"""

import logging
from inspect import isawaitable
from typing import Any

import orjson
from aiohttp import web
from graphql import ExecutionResult, GraphQLError, execute, parse, validate

from tracking.api.responses import json_response
from tracking.errors import MlflowError
from tracking.keys import GRAPHQL_LIMITS, GRAPHQL_SCHEMA
from tracking.ui.graphql_limits import check
from tracking.ui.graphql_values import field_value

log = logging.getLogger(__name__)


def _answer(data: Any, errors: list[str] | None) -> web.Response:
    return json_response({"data": data, "errors": errors or None})


def _message(error: GraphQLError) -> str:
    original = error.original_error
    if original is not None and not isinstance(original, MlflowError | GraphQLError):
        log.error("GraphQL resolver failed", exc_info=original)
    return error.message


async def _request(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query)
        if params.get("variables"):
            params["variables"] = orjson.loads(params["variables"])
        return params
    body = await request.read()
    parsed = orjson.loads(body) if body else {}
    if not isinstance(parsed, dict):
        raise ValueError("The request body must be a JSON object.")
    return parsed


async def graphql(request: web.Request) -> web.Response:
    try:
        payload = await _request(request)
    except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
        return _answer(None, [f"Malformed request: {exc}"])
    query = payload.get("query")
    variables = payload.get("variables")
    if not isinstance(query, str) or not query:
        return _answer(None, ["Must provide query string."])
    if variables is not None and not isinstance(variables, dict):
        return _answer(None, ["Variables must be provided as an object."])
    schema = request.app[GRAPHQL_SCHEMA]
    try:
        document = parse(query)
    except GraphQLError as exc:
        return _answer(None, [exc.message])
    refused = check(document, request.app[GRAPHQL_LIMITS])
    if refused:
        return _answer(None, [refused])
    invalid = validate(schema, document)
    if invalid:
        return _answer(None, [e.message for e in invalid])
    result = execute(
        schema,
        document,
        context_value=request.app,
        field_resolver=field_value,
        variable_values=variables,
        operation_name=payload.get("operationName"),
    )
    if isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    errors = [_message(e) for e in result.errors] if result.errors else None
    return _answer(result.data, errors)
