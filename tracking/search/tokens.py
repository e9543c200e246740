"""Opaque page tokens: base64 of JSON {"offset": n}, byte-compatible with MLflow's own."""

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TypeVar

from tracking.errors import InvalidParameterValue

# Offsets end up as SQL OFFSET; both SQLite and PostgreSQL reject values beyond a signed int64.
_MAX_OFFSET = 2**63 - 1

T = TypeVar("T")


def encode_page_token(offset: int) -> str:
    # json.dumps' default separators keep the token identical to the one stock MLflow issues.
    return base64.b64encode(json.dumps({"offset": offset}).encode("utf-8")).decode("ascii")


def split_page(rows: Sequence[T], offset: int, limit: int) -> tuple[Sequence[T], str | None]:
    """Rows fetched with LIMIT limit + 1: the page itself, and the next page's token if any."""
    if len(rows) > limit:
        return rows[:limit], encode_page_token(offset + limit)
    return rows, None


def decode_page_token(token: str | None) -> int:
    """The offset a page token encodes; no token means the first page."""
    if not token:
        return 0
    try:
        decoded = base64.b64decode(token)
    except (binascii.Error, ValueError) as e:
        raise InvalidParameterValue("Invalid page token, could not base64-decode") from e
    try:
        parsed = json.loads(decoded)
    except ValueError as e:
        raise InvalidParameterValue(f"Invalid page token, decoded value={decoded!r}") from e
    if not isinstance(parsed, dict) or "offset" not in parsed:
        raise InvalidParameterValue(f"Invalid page token, parsed value={parsed!r}")
    offset = parsed["offset"]
    # MLflow int()s the value, so a numeric string is tolerated; bools and floats are not.
    if isinstance(offset, str) and offset.isascii() and offset.isdigit():
        offset = int(offset)
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise InvalidParameterValue(f"Invalid page token, not stringable {offset!r}")
    if not 0 <= offset <= _MAX_OFFSET:
        raise InvalidParameterValue(f"Invalid page token, offset out of range: {offset}")
    return offset
