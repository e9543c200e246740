"""order_by entries ("metrics.`m` DESC", "start_time") parsed into OrderKeys, with MLflow's
default orders and tie-breaks appended so that paging is deterministic."""

from dataclasses import dataclass

from tracking.errors import InvalidParameterValue
from tracking.search.experiment_filters import experiment_kind_and_key
from tracking.search.filters import Kind
from tracking.search.lexer import Tok, tokenize
from tracking.search.run_filters import ALIASES, ORDERABLE_ATTRIBUTES, run_kind_and_key

# "run name" is searchable but, in MLflow, not orderable; "created" is both.
_RUN_ORDER_KEYS = ORDERABLE_ATTRIBUTES | {k for k, v in ALIASES.items() if v == "start_time"}


@dataclass(frozen=True)
class OrderKey:
    kind: Kind
    key: str
    ascending: bool


def _split_entry(entry: str) -> tuple[Tok, bool]:
    """The identifier token and direction of one "<identifier> [ASC|DESC]" entry."""
    toks = tokenize(entry, "order_by clause")
    if not 1 <= len(toks) <= 2 or any(tok.kind != "ident" for tok in toks):
        raise InvalidParameterValue(f"Invalid order_by clause '{entry}'. Could not be parsed.")
    if len(toks) == 1:
        return toks[0], True
    direction = toks[1].keyword()
    if direction not in ("ASC", "DESC"):
        raise InvalidParameterValue(f"Invalid ordering key in order_by clause '{entry}'.")
    return toks[0], direction == "ASC"


def parse_run_order_by(order_by: list[str] | None) -> tuple[OrderKey, ...]:
    """The full ORDER BY of search_runs: the caller's keys, then start_time DESC (unless
    start_time was ordered on already) and run_id ASC, as MLflow's SQL store does."""
    keys: list[OrderKey] = []
    for entry in order_by or []:
        tok, ascending = _split_entry(entry)
        kind, key = run_kind_and_key(tok, _RUN_ORDER_KEYS)
        if kind == "dataset":
            raise InvalidParameterValue(f"Invalid identifier type '{kind}'")
        if any((k.kind, k.key) == (kind, key) for k in keys):
            raise InvalidParameterValue(f"`order_by` contains duplicate fields: {order_by}")
        keys.append(OrderKey(kind, key, ascending))
    if not any((k.kind, k.key) == ("attribute", "start_time") for k in keys):
        keys.append(OrderKey("attribute", "start_time", False))
    keys.append(OrderKey("attribute", "run_id", True))
    return tuple(keys)


def parse_experiment_order_by(order_by: list[str] | None) -> tuple[OrderKey, ...]:
    """The full ORDER BY of search_experiments: the caller's keys (default creation_time DESC,
    experiment_id ASC), then experiment_id DESC as MLflow's tie-break if not yet present."""
    keys: list[OrderKey] = []
    for entry in order_by or ["creation_time DESC", "experiment_id ASC"]:
        tok, ascending = _split_entry(entry)
        kind, key = experiment_kind_and_key(tok)
        if kind != "attribute":
            raise InvalidParameterValue(f"Invalid order_by entity: {kind}")
        keys.append(OrderKey(kind, key, ascending))
    if not any(k.key == "experiment_id" for k in keys):
        keys.append(OrderKey("attribute", "experiment_id", False))
    return tuple(keys)
