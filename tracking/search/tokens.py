"""Opaque page tokens: base64 of JSON {"offset": n}, byte-compatible with MLflow's own.

Run search adds "seek" (where the next page resumes in an index walk) when it can; the offset
is always there, so a token stays valid for any order.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from tracking.errors import InvalidParameterValue

# Offsets end up as SQL OFFSET; both SQLite and PostgreSQL reject values beyond a signed int64.
_MAX_OFFSET = 2**63 - 1

T = TypeVar("T")


def encode_page_token(offset: int, seek: list[Any] | None = None) -> str:
    """{"offset": n}, plus where the next page resumes when the search can seek to it."""
    # json.dumps' default separators keep the token identical to the one stock MLflow issues.
    body: dict[str, Any] = {"offset": offset} if seek is None else {"offset": offset, "seek": seek}
    return base64.b64encode(json.dumps(body).encode("utf-8")).decode("ascii")


def split_page(rows: Sequence[T], offset: int, limit: int) -> tuple[Sequence[T], str | None]:
    """Rows fetched with LIMIT limit + 1: the page itself, and the next page's token if any."""
    if len(rows) > limit:
        return rows[:limit], encode_page_token(offset + limit)
    return rows, None


def decode_page_token(token: str | None) -> int:
    """The offset a page token encodes; no token means the first page."""
    return decode_seek_token(token)[0]


def decode_seek_token(token: str | None) -> tuple[int, Any]:
    """The offset and the seek (None when absent; checked by whoever uses it) of a token."""
    if not token:
        return 0, None
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
    return offset, parsed.get("seek")
