"""Artifact path validation: the one gate every client-supplied path passes first.

A path is percent-decoded until it stops changing (so double- and triple-encoded tricks are seen
for what they are), then refused if any form of it could escape a root or be read differently by
another component: `..` or `.` segments, empty segments (`//`), an absolute path, a drive letter
or URI scheme, backslashes, NUL and other control characters, `#`, `?` and `;`.
"""

import re
from urllib.parse import unquote

from tracking.errors import InvalidParameterValue

MAX_DECODE_ROUNDS = 8
MAX_PATH_CHARS = 4096
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\#?;]")
_SCHEME_OR_DRIVE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def invalid_path() -> InvalidParameterValue:
    return InvalidParameterValue("Invalid path")


def decode(raw: str) -> str:
    """Percent-decode until stable; a path still changing after a few rounds is refused."""
    current = raw
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = unquote(current, errors="strict")
        if decoded == current:
            return current
        current = decoded
    raise invalid_path()


def validate(raw: str | None) -> str:
    """The canonical relative form of `raw` ("" for the root), or 400 "Invalid path"."""
    if not raw:
        return ""
    if len(raw) > MAX_PATH_CHARS:
        raise invalid_path()
    try:
        path = decode(raw)
    except UnicodeDecodeError:
        raise invalid_path() from None
    if _FORBIDDEN.search(path) or path.startswith("/") or _SCHEME_OR_DRIVE.match(path):
        raise invalid_path()
    if path.endswith("/"):  # "dir/" lists the same directory as "dir"
        path = path[:-1]
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise invalid_path()
    return path


def join(*parts: str) -> str:
    """Join already-validated relative paths."""
    return "/".join(p for p in parts if p)
