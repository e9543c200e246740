"""Tokenizer shared by filter strings and order_by clauses (MLflow's SQL-ish search syntax)."""

import re
from dataclasses import dataclass
from typing import Literal

from tracking.errors import InvalidParameterValue

TokKind = Literal["number", "string", "ident", "op", "(", ")", ","]

# One identifier segment: `backticked`, "double-quoted" or a bare word. Quoted contents are
# kept raw (doubled or backslashed quotes are not unescaped), exactly as MLflow does.
_SEGMENT = r'`(?:``|[^`])*`|"(?:""|\\.|[^"\\])*"|\w+'
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
    |(?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
    |(?P<string>'(?:''|\\.|[^'\\])*')
    |(?P<ident>(?:{_SEGMENT})(?:\.(?:{_SEGMENT}))*)
    |(?P<op><=|>=|!=|==|<>|=|<|>)
    |(?P<punct>[(),])
    """,
    re.VERBOSE,
)
_SEGMENTS = re.compile(rf"\.?({_SEGMENT})")


@dataclass(frozen=True)
class Segment:
    text: str  # without the surrounding quotes
    quote: str  # "", "`" or '"'


@dataclass(frozen=True)
class Tok:
    kind: TokKind
    text: str
    pos: int
    segments: tuple[Segment, ...] = ()

    def keyword(self) -> str | None:
        """The upper-cased word if this token is a bare single word (AND, IN, NULL, ASC...)."""
        if self.kind == "ident" and len(self.segments) == 1 and not self.segments[0].quote:
            return self.text.upper()
        return None

    def quoted_string(self) -> str | None:
        """The contents if this is a string literal; "x" counts, as it does for MLflow."""
        if self.kind == "string":
            return self.text[1:-1]
        if self.kind == "ident" and len(self.segments) == 1 and self.segments[0].quote == '"':
            return self.segments[0].text
        return None


def _segment(raw: str) -> Segment:
    if raw[0] in '`"' and len(raw) >= 2:
        return Segment(raw[1:-1], raw[0])
    return Segment(raw, "")


def tokenize(text: str, what: str) -> list[Tok]:
    """Split `text` into tokens; `what` names the input in error messages."""
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InvalidParameterValue(
                f"Error on parsing {what} '{text}': unexpected character {text[pos]!r} "
                f"at position {pos}"
            )
        group = m.lastgroup
        if group == "ident":
            segs = tuple(_segment(s) for s in _SEGMENTS.findall(m.group()))
            toks.append(Tok("ident", m.group(), pos, segs))
        elif group == "punct":
            toks.append(Tok(m.group(), m.group(), pos))  # type: ignore[arg-type]
        elif group != "ws":
            toks.append(Tok(group, m.group(), pos))  # type: ignore[arg-type]
        pos = m.end()
    return toks


def split_identifier(tok: Tok) -> tuple[str | None, str]:
    """(entity, key) of `metrics.acc`, `tags.mlflow.runName`, `params."a b"`; entity is None
    for a bare key. The key keeps its inner dots, so tags.mlflow.runName is the tag key
    'mlflow.runName'."""
    segs = tok.segments
    if len(segs) == 1:
        return None, segs[0].text
    return segs[0].text, ".".join(s.text for s in segs[1:])


def parse_number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        value = int(text)
        # Beyond int64 neither database can bind it as an integer; compare as a float instead.
        return value if -(2**63) <= value < 2**63 else float(value)
    return float(text)
