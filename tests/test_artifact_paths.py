"""The artifact path gate: canonical forms pass, every escaping form is refused in any encoding."""

from urllib.parse import quote

import pytest

from tracking.artifacts import paths
from tracking.errors import InvalidParameterValue

# Each of these must be refused however many times it is percent-encoded.
BAD_PATHS = [
    "..",
    "../etc/passwd",
    "a/../../etc/passwd",
    "a/..",
    "./a",
    "a/./b",
    "/etc/passwd",
    "//etc/passwd",
    "a//b",
    "C:/Windows/win.ini",
    "c:secret",
    "file:///etc/passwd",
    "a\\..\\b",
    "..\\..\\etc",
    "a\x00b",
    "a\nb",
    "a\x1fb",
    "a\x7fb",
    "a#b",
    "a?b",
    "a;b",
]


def encodings(path: str) -> list[str]:
    once = quote(path, safe="")
    return [path, once, quote(once, safe=""), quote(quote(once, safe=""), safe="")]


@pytest.mark.parametrize("raw", [form for bad in BAD_PATHS for form in encodings(bad)])
def test_refused_in_every_encoding(raw):
    with pytest.raises(InvalidParameterValue, match="Invalid path"):
        paths.validate(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("a", "a"),
        ("a/b.txt", "a/b.txt"),
        ("dir/", "dir"),
        ("a%20b/c", "a b/c"),
        ("a%2520b", "a b"),
        ("ünï/cödé.txt", "ünï/cödé.txt"),
        ("1/abc/artifacts/model/MLmodel", "1/abc/artifacts/model/MLmodel"),
        ("..a/b..", "..a/b.."),
    ],
)
def test_canonical_forms(raw, expected):
    assert paths.validate(raw) == expected


def test_endless_encoding_is_refused():
    raw = "a"
    for _ in range(paths.MAX_DECODE_ROUNDS + 1):
        raw = quote(raw + "%", safe="")
    with pytest.raises(InvalidParameterValue):
        paths.validate(raw)


def test_overlong_path_is_refused():
    with pytest.raises(InvalidParameterValue):
        paths.validate("a/" * paths.MAX_PATH_CHARS)
