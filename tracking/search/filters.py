"""The filter grammar shared by runs and experiments: AND-ed clauses and their value types."""

from dataclasses import dataclass
from typing import Literal

from tracking.errors import InvalidParameterValue
from tracking.search.lexer import Tok, parse_number, tokenize

Kind = Literal["metric", "param", "tag", "attribute", "dataset"]
Scalar = str | int | float
Value = Scalar | tuple[str, ...] | tuple[int, ...] | None


@dataclass(frozen=True)
class Comparison:
    """One AND-ed clause. `op` is canonical upper case: = != < <= > >= LIKE ILIKE IN NOT IN
    IS NULL IS NOT NULL; `value` is a tuple for IN / NOT IN and None for the NULL tests."""

    kind: Kind
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class Clause:
    ident: Tok
    op: str
    value: Tok | tuple[Tok, ...] | None


NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
LIST_OPS = frozenset({"IN", "NOT IN"})

# MLflow's names, used in its error messages ("parameter", not "param").
DISPLAY = {"metric": "metric", "param": "parameter", "tag": "tag"}
DISPLAY |= {"attribute": "attribute", "dataset": "dataset"}


def describe(ops: frozenset[str]) -> str:
    return "{" + ", ".join(repr(o) for o in sorted(ops)) + "}"


def _invalid_clause(tok: Tok) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid clause(s) in filter string: '{tok.text}'")


class _Parser:
    """clauses := clause (AND clause)*; AND is the only connective MLflow accepts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text, "filter")
        self.i = 0

    def fail(self, expected: str) -> InvalidParameterValue:
        if self.i >= len(self.toks):
            where = "at end of input"
        else:
            tok = self.toks[self.i]
            if tok.keyword() in ("OR", "NOT") or tok.kind in "()":
                return _invalid_clause(tok)
            where = f"found {tok.text!r} at position {tok.pos}"
        return InvalidParameterValue(
            f"Error on parsing filter '{self.text}': expected {expected}, {where}"
        )

    def peek_keyword(self) -> str | None:
        return self.toks[self.i].keyword() if self.i < len(self.toks) else None

    def take(self, expected: str, *kinds: str) -> Tok:
        if self.i < len(self.toks) and self.toks[self.i].kind in kinds:
            self.i += 1
            return self.toks[self.i - 1]
        raise self.fail(expected)

    def take_keyword(self, *words: str) -> str:
        word = self.peek_keyword()
        if word not in words:
            raise self.fail(" or ".join(words))
        self.i += 1
        return word

    def clauses(self) -> list[Clause]:
        if not self.toks:
            raise InvalidParameterValue(f"Invalid filter '{self.text}'. Could not be parsed.")
        result = [self.clause()]
        while self.i < len(self.toks):
            self.take_keyword("AND")
            result.append(self.clause())
        return result

    def clause(self) -> Clause:
        if self.peek_keyword() in ("AND", "OR", "NOT"):
            raise _invalid_clause(self.toks[self.i])
        ident = self.take("an identifier such as metrics.<key>", "ident")
        if self.i < len(self.toks) and self.toks[self.i].kind == "op":
            op = self.toks[self.i].text
            self.i += 1
            return Clause(ident, op, self.scalar())
        word = self.take_keyword("a comparison operator", "LIKE", "ILIKE", "IN", "NOT", "IS")
        if word in ("LIKE", "ILIKE"):
            return Clause(ident, word, self.scalar())
        if word == "IS":
            negated = self.peek_keyword() == "NOT"
            self.i += negated
            self.take_keyword("NULL")
            return Clause(ident, "IS NOT NULL" if negated else "IS NULL", None)
        if word == "NOT":
            self.take_keyword("IN")
        return Clause(ident, "NOT IN" if word == "NOT" else "IN", self.items())

    def scalar(self) -> Tok:
        return self.take("a value", "string", "number", "ident")

    def items(self) -> tuple[Tok, ...]:
        self.take("'(' to open a list", "(")
        items: list[Tok] = []
        while self.i < len(self.toks) and self.toks[self.i].kind != ")":
            items.append(self.scalar())
            if self.i < len(self.toks) and self.toks[self.i].kind == ",":
                self.i += 1
            elif self.i < len(self.toks) and self.toks[self.i].kind != ")":
                raise self.fail("',' or ')'")
        self.take("')' to close the list", ")")
        return tuple(items)


def parse_clauses(filter_string: str) -> list[Clause]:
    return _Parser(filter_string).clauses()


def string_value(tok: Tok | tuple[Tok, ...] | None, kind: str) -> str:
    if isinstance(tok, Tok):
        value = tok.quoted_string()
        if value is not None:
            return value
        if tok.kind == "ident":
            raise InvalidParameterValue(
                "Parameter value is either not quoted or unidentified quote types used for "
                f"string value {tok.text}. Use either single or double quotes."
            )
    raise InvalidParameterValue(
        f"Expected a quoted string value for {kind} (e.g. 'my-value'). Got value {_text(tok)}"
    )


def string_list(toks: tuple[Tok, ...]) -> tuple[str, ...]:
    values = tuple(t.quoted_string() for t in toks)
    if not values:
        raise InvalidParameterValue(
            "While parsing a list in the query, expected a non-empty list of string values, "
            "but got empty list"
        )
    if any(v is None for v in values):
        raise InvalidParameterValue(
            "While parsing a list in the query, expected string value, punctuation, or "
            f"whitespace, but got different type in list: {_text(toks)}"
        )
    return tuple(v for v in values if v is not None)


def number_value(tok: Tok | tuple[Tok, ...] | None, message: str) -> int | float:
    if isinstance(tok, Tok) and tok.kind == "number":
        return parse_number(tok.text)
    raise InvalidParameterValue(f"{message}. Found {_text(tok)}")


def _text(tok: Tok | tuple[Tok, ...] | None) -> str:
    if isinstance(tok, tuple):
        return "(" + ", ".join(t.text for t in tok) + ")"
    return tok.text if tok is not None else ""


def check_op(op: str, allowed: frozenset[str]) -> None:
    if op not in allowed:
        raise InvalidParameterValue(f"Invalid comparator '{op}' not one of '{describe(allowed)}'")
