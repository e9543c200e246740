"""Request decoding: proto-JSON bodies and query strings into typed, validated values.

Mirrors protobuf's JSON parsing as MLflow applies it: int64 accepts numbers and numeric strings,
doubles accept "NaN"/"Infinity", unknown fields are ignored, and a wrong type is a 400.
"""

import math
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

from tracking.errors import BadRequest, InvalidParameterValue, missing_value

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_JSON_TYPES = ("application/json",)
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def invalid_value(name: str, value: Any, hint: str | None = None) -> InvalidParameterValue:
    shown = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if _jsonable(value) else value
    detail = hint or f"Hint: Value was of type '{_type_name(value)}'."
    return InvalidParameterValue(
        f"Invalid value {shown} for parameter '{name}' supplied. {detail} "
        "See the API docs for more information about request parameters."
    )


def _jsonable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


class Fields:
    """Typed access to one JSON object (a request or a nested message)."""

    __slots__ = ("_data", "_path", "_query")

    def __init__(self, data: dict[str, Any], path: str = "", query: bool = False) -> None:
        self._data = data
        self._path = path
        self._query = query

    def _name(self, name: str) -> str:
        return f"{self._path}{name}"

    def _raw(self, name: str) -> Any:
        return self._data.get(name)

    def has(self, name: str) -> bool:
        return self._data.get(name) is not None

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> Any:
        value = self._raw(name)
        if value is None or (required and value == ""):
            if required:
                raise missing_value(self._name(name))
            return default
        if not isinstance(value, str):
            raise invalid_value(self._name(name), value)
        if "\x00" in value:
            raise invalid_value(
                self._name(name), value, "NUL characters are not allowed in strings."
            )
        return value

    def int64(self, name: str, *, required: bool = False, default: int | None = None) -> Any:
        return self._integer(name, required, default, INT64_MIN, INT64_MAX)

    def int32(self, name: str, *, required: bool = False, default: int | None = None) -> Any:
        return self._integer(name, required, default, INT32_MIN, INT32_MAX)

    def _integer(
        self, name: str, required: bool, default: int | None, low: int, high: int
    ) -> int | None:
        value = self._raw(name)
        if value is None or value == "":
            if required:
                raise missing_value(self._name(name))
            return default
        parsed: int | None = None
        if isinstance(value, bool):
            parsed = None
        elif isinstance(value, int):
            parsed = value
        elif isinstance(value, float) and value.is_integer():
            parsed = int(value)
        elif isinstance(value, str):
            try:
                parsed = int(value.strip())
            except ValueError:
                try:
                    as_float = float(value)
                except ValueError:
                    as_float = math.nan
                parsed = int(as_float) if as_float.is_integer() else None
        if parsed is None:
            raise invalid_value(self._name(name), value)
        # orjson reads integers beyond 64 bits as floats, so -(2**63) - 1 arrives rounded into
        # range; a float that large is never an exact int64.
        if not low <= parsed <= high or (isinstance(value, float) and abs(value) >= 2**63):
            raise invalid_value(self._name(name), value, f"Value is out of range [{low}, {high}].")
        return parsed

    def double(self, name: str, *, required: bool = False) -> float | None:
        value = self._raw(name)
        if value is None:
            if required:
                raise missing_value(self._name(name))
            return None
        if isinstance(value, bool):
            raise invalid_value(self._name(name), value)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            if value in _SPECIAL_DOUBLES:
                return _SPECIAL_DOUBLES[value]
            try:
                parsed = float(value)
            except ValueError:
                parsed = None
            if parsed is not None and math.isfinite(parsed):
                return parsed
        raise invalid_value(self._name(name), value)

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if self._query and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise InvalidParameterValue(
                    f"Invalid boolean value: {value}, must be 'true' or 'false'."
                )
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise invalid_value(self._name(name), value)
        return value

    def enum(self, name: str, allowed: tuple[str, ...], *, default: str | None = None) -> Any:
        value = self._raw(name)
        if value is None or value == "":
            return default
        # Proto-JSON also accepts an enum's number; MLflow's enums count from 1.
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(allowed):
            return allowed[value - 1]
        if isinstance(value, str) and value in allowed:
            return value
        raise invalid_value(self._name(name), value)

    def strings(self, name: str) -> list[str]:
        value = self._raw(name)
        if value is None:
            return []
        if self._query and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_value(self._name(name), value)
        for item in value:
            if "\x00" in item:
                raise invalid_value(self._name(name), value, "NUL characters are not allowed.")
        return value

    def ids(self, name: str) -> list[str]:
        """A repeated id field; integer ids are accepted for strings as protobuf's parser does."""
        value = self._raw(name)
        if isinstance(value, list):
            value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
            return Fields({name: value}, self._path, self._query).strings(name)
        return self.strings(name)

    def messages(self, name: str) -> list["Fields"]:
        value = self._raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid_value(self._name(name), value)
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise invalid_value(f"{self._name(name)}[{index}]", item)
            out.append(Fields(item, f"{self._name(name)}[{index}].", self._query))
        return out

    def raw_list(self, name: str) -> list[Any]:
        """A repeated field's raw items, for decoders with a fast path; see item()."""
        value = self._raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid_value(self._name(name), value)
        return value

    def item(self, name: str, index: int) -> "Fields":
        """Item `index` of a repeated message field, decoded the general way."""
        value = self._data[name][index]
        if not isinstance(value, dict):
            raise invalid_value(f"{self._name(name)}[{index}]", value)
        return Fields(value, f"{self._name(name)}[{index}].", self._query)

    def message(self, name: str) -> "Fields | None":
        value = self._raw(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid_value(self._name(name), value)
        return Fields(value, f"{self._name(name)}.", self._query)

    def run_id(self) -> str:
        """`run_id`, or the legacy `run_uuid` every run request also accepts."""
        value = self.string("run_id") or self.string("run_uuid")
        if not value:
            raise missing_value("run_id")
        return str(value)


async def read_fields(request: web.Request) -> Fields:
    if request.method == "GET" or request.method == "HEAD":
        return Fields(_query_dict(request.query), query=True)
    body = await request.read()
    content_type = request.headers.get("Content-Type")
    if content_type is None:
        if body.strip():
            raise InvalidParameterValue("Bad Request. Content-Type header is missing.")
        return Fields({})
    if content_type.split(";")[0].strip().lower() not in _JSON_TYPES:
        raise InvalidParameterValue(
            f"Bad Request. Content-Type must be one of {list(_JSON_TYPES)}."
        )
    if not body.strip():
        return Fields({})
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON request body: {exc}") from None
    if isinstance(data, str):
        # Older clients double-encode their JSON; MLflow decodes a second time.
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Malformed JSON request body: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object.")
    return Fields(data)


def _query_dict(query: MultiMapping[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in query:
        values = query.getall(key)
        out[key] = values[0] if len(values) == 1 else values
    return out
