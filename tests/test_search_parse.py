"""Pure parsing of search filters, order_by clauses and page tokens."""

import base64
import contextlib
import random
from collections.abc import Callable

import pytest

from tracking.errors import InvalidParameterValue
from tracking.search.experiment_filters import parse_experiment_filter
from tracking.search.filters import Comparison
from tracking.search.ordering import OrderKey, parse_experiment_order_by, parse_run_order_by
from tracking.search.run_filters import parse_run_filter
from tracking.search.tokens import decode_page_token, encode_page_token

C = Comparison


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "metrics.acc > 0.5 and params.lr = '0.1'",
            [C("metric", "acc", ">", 0.5), C("param", "lr", "=", "0.1")],
        ),
        ("metric.m>=-1e3", [C("metric", "m", ">=", -1000.0)]),
        ("metrics.m < .5", [C("metric", "m", "<", 0.5)]),
        ("metrics.`x-y` != 2", [C("metric", "x-y", "!=", 2.0)]),
        ('metrics."a.b" = 1.', [C("metric", "a.b", "=", 1.0)]),
        ("tags.`mlflow.runName` = 'x'", [C("tag", "mlflow.runName", "=", "x")]),
        ('tags.mlflow.runName = "x"', [C("tag", "mlflow.runName", "=", "x")]),
        ("params.\"a b\" like '%v'", [C("param", "a b", "LIKE", "%v")]),
        ("parameter.p ILIKE 'A'", [C("param", "p", "ILIKE", "A")]),
        ("parameters.p = 'it''s'", [C("param", "p", "=", "it''s")]),  # raw, as MLflow
        ('params.p = "a\'b"', [C("param", "p", "=", "a'b")]),
        ("params.p IS NULL", [C("param", "p", "IS NULL", None)]),
        ("tag.t is not null", [C("tag", "t", "IS NOT NULL", None)]),
        ("attributes.run_id IN ('a','b')", [C("attribute", "run_id", "IN", ("a", "b"))]),
        ("run_id not in ('a', \"b\",)", [C("attribute", "run_id", "NOT IN", ("a", "b"))]),
        ("attr.status = 'FINISHED'", [C("attribute", "status", "=", "FINISHED")]),
        ("run.user_id != 'u'", [C("attribute", "user_id", "!=", "u")]),
        ("run_name LIKE 'foo%'", [C("attribute", "run_name", "LIKE", "foo%")]),
        ("`Run name` = 'x'", [C("attribute", "run_name", "=", "x")]),
        ("attributes.start_time > 123", [C("attribute", "start_time", ">", 123)]),
        ("created <= 1.5", [C("attribute", "start_time", "<=", 1.5)]),
        ("end_time = 5", [C("attribute", "end_time", "=", 5)]),
        ("datasets.name IN ('d')", [C("dataset", "name", "IN", ("d",))]),
        ("dataset.context = 'train'", [C("dataset", "context", "=", "train")]),
        ("datasets.digest NOT IN ('x')", [C("dataset", "digest", "NOT IN", ("x",))]),
        ("params.p='x'AND params.q='y'", [C("param", "p", "=", "x"), C("param", "q", "=", "y")]),
        ("params.from = 'x'", [C("param", "from", "=", "x")]),
    ],
)
def test_run_filter(text: str, expected: list[Comparison]):
    assert list(parse_run_filter(text)) == expected


def test_no_filter():
    assert parse_run_filter(None) == ()
    assert parse_run_filter("") == ()
    assert parse_experiment_filter("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.a > 1 OR params.b = 'x'", "Invalid clause(s) in filter string: 'OR'"),
        ("metrics.a > 1 AND NOT params.b = 'x'", "Invalid clause(s) in filter string: 'NOT'"),
        ("params.a = 'x' AND (params.b = 'y')", "Invalid clause(s) in filter string: '('"),
        ("   ", "Invalid filter '   '. Could not be parsed."),
        ("metrics.m = 'x'", "Expected numeric value type for metric. Found 'x'"),
        ("metrics.m IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params"),
        ("end_time IS NULL", "only supported for tags and params, not for 'attribute'"),
        ("metrics.m LIKE 1", "Invalid comparator 'LIKE' not one of"),
        ("metrics.m == 1", "Invalid comparator '==' not one of"),
        ("params.p > 'a'", "Invalid comparator '>' not one of"),
        ("params.p = abc", "Parameter value is either not quoted"),
        ("params.p = 1", "Expected a quoted string value for parameter"),
        ("params.p IN ('a')", "Expected a quoted string value for parameter"),
        ("status IN ('a')", "Only ['run_id'] attributes support comparison with a list"),
        ("run_id IN ()", "expected a non-empty list of string values, but got empty list"),
        ("run_id IN (1, 2)", "but got different type in list: (1, 2)"),
        ("run_id IN 'a'", "expected '(' to open a list"),
        ("start_time > '1'", "Expected numeric value type for numeric attribute: start_time"),
        ("status > 'a'", "Invalid comparator '>' not one of"),
        ("foo.bar = 'x'", "Invalid entity type 'foo'. Valid values are"),
        ("bogus = 'x'", "Invalid attribute key 'bogus' specified"),
        ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
        ("datasets.foo = 'x'", "Invalid dataset key 'foo' specified"),
        ("metrics.m > 1;", "Error on parsing filter"),
        ("metrics.m > 1 and", "Error on parsing filter"),
        ("metrics.m > 1 metrics.n > 2", "expected AND"),
        ("metrics.x-y > 1", "Error on parsing filter"),
        ("params.p = 'unterminated", "Error on parsing filter"),
        ("metrics.m > 1e", "Expected numeric value type for metric. Found 1e"),
    ],
)
def test_run_filter_errors(text: str, message: str):
    with pytest.raises(InvalidParameterValue) as exc:
        parse_run_filter(text)
    assert message in exc.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'x'", [C("attribute", "name", "=", "x")]),
        ("attribute.name ILIKE '%x%'", [C("attribute", "name", "ILIKE", "%x%")]),
        ("experiment_id = '7'", [C("attribute", "experiment_id", "=", 7)]),
        ("experiment_id IN ('1','2')", [C("attribute", "experiment_id", "IN", (1, 2))]),
        ("creation_time > 5", [C("attribute", "creation_time", ">", 5)]),
        ("last_update_time <= 5", [C("attribute", "last_update_time", "<=", 5)]),
        ("tags.t = 'v' and tag.u IS NULL",
         [C("tag", "t", "=", "v"), C("tag", "u", "IS NULL", None)]),
    ],
)  # fmt: skip
def test_experiment_filter(text: str, expected: list[Comparison]):
    assert list(parse_experiment_filter(text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("attributes.name = 'x'", "Invalid entity type 'attributes'"),
        ("params.a = 'b'", "Invalid entity type 'params'"),
        ("name IS NULL", "IS NULL / IS NOT NULL is only supported for tags"),
        ("name IN ('a')", "Only ['experiment_id'] attributes support"),
        ("name > 'a'", "Invalid comparator for string attribute: >"),
        ("experiment_id > '1'", "Invalid comparator for experiment_id: >"),
        ("experiment_id = 'abc'", "Invalid experiment ID 'abc'"),
        ("experiment_id = 1", "Expected a quoted string value"),
        ("creation_time > 5.5", "Invalid value for numeric attribute 'creation_time': '5.5'"),
        ("creation_time = '5'", "Expected numeric value type for numeric attribute"),
        ("creation_time LIKE 5", "Invalid comparator for numeric attribute: LIKE"),
        ("tags.t > 'a'", "Invalid comparator for tag: >"),
        ("lifecycle_stage = 'x'", "Invalid attribute key 'lifecycle_stage'"),
    ],
)
def test_experiment_filter_errors(text: str, message: str):
    with pytest.raises(InvalidParameterValue) as exc:
        parse_experiment_filter(text)
    assert message in exc.value.message


START_DESC = OrderKey("attribute", "start_time", False)
RUN_ID = OrderKey("attribute", "run_id", True)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ([], [START_DESC, RUN_ID]),
        (["metrics.`m` DESC"], [OrderKey("metric", "m", False), START_DESC, RUN_ID]),
        (["attributes.start_time"], [OrderKey("attribute", "start_time", True), RUN_ID]),
        (["created desc"], [START_DESC, RUN_ID]),
        (["params.p ASC"], [OrderKey("param", "p", True), START_DESC, RUN_ID]),
        (["tags.mlflow.runName"], [OrderKey("tag", "mlflow.runName", True), START_DESC, RUN_ID]),
        (['metrics."a b"  desc'], [OrderKey("metric", "a b", False), START_DESC, RUN_ID]),
        (["run_name", "status"], [OrderKey("attribute", "run_name", True),
                                  OrderKey("attribute", "status", True), START_DESC, RUN_ID]),
    ],
)  # fmt: skip
def test_run_order_by(order_by: list[str], expected: list[OrderKey]):
    assert list(parse_run_order_by(order_by)) == expected


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["metrics.m DESC ASC"], "Invalid order_by clause 'metrics.m DESC ASC'. Could not be"),
        (["metrics.m DOWN"], "Invalid ordering key in order_by clause 'metrics.m DOWN'."),
        ([""], "Invalid order_by clause ''. Could not be parsed."),
        (["metrics.m,"], "Invalid order_by clause 'metrics.m,'. Could not be parsed."),
        (["metrics.m;"], "Error on parsing order_by clause"),
        (["foo"], "Invalid attribute key 'foo' specified"),
        (["run name"], "Invalid ordering key"),
        (["`run name`"], "Invalid attribute key 'run name'"),
        (["lifecycle_stage"], "Invalid attribute key"),
        (["datasets.name"], "Invalid identifier type 'dataset'"),
        (["metrics.m", "metrics.m DESC"], "`order_by` contains duplicate fields"),
        (["created", "start_time"], "`order_by` contains duplicate fields"),
    ],
)
def test_run_order_by_errors(order_by: list[str], message: str):
    with pytest.raises(InvalidParameterValue) as exc:
        parse_run_order_by(order_by)
    assert message in exc.value.message


def test_experiment_order_by():
    key = OrderKey
    assert parse_experiment_order_by(None) == (
        key("attribute", "creation_time", False),
        key("attribute", "experiment_id", True),
    )
    assert parse_experiment_order_by(["name", "last_update_time DESC"]) == (
        key("attribute", "name", True),
        key("attribute", "last_update_time", False),
        key("attribute", "experiment_id", False),  # MLflow's tie-break is DESC
    )
    assert parse_experiment_order_by(["attribute.experiment_id"]) == (
        key("attribute", "experiment_id", True),
    )
    for bad in (["tags.t"], ["attributes.name"], ["foo"], ["name sideways"]):
        with pytest.raises(InvalidParameterValue):
            parse_experiment_order_by(bad)


def test_page_tokens_round_trip_and_match_mlflow_format():
    token = encode_page_token(10)
    assert token == base64.b64encode(b'{"offset": 10}').decode()
    assert decode_page_token(token) == 10
    assert decode_page_token(None) == 0
    assert decode_page_token("") == 0
    assert decode_page_token(base64.b64encode(b'{"offset": "5"}').decode()) == 5


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("abc", "Invalid page token, could not base64-decode"),
        (base64.b64encode(b"not json").decode(), "Invalid page token, decoded value="),
        (base64.b64encode(b"[1]").decode(), "Invalid page token, parsed value="),
        (base64.b64encode(b'{"x": 1}').decode(), "Invalid page token, parsed value="),
        (base64.b64encode(b'{"offset": -1}').decode(), "offset out of range"),
        (base64.b64encode(b'{"offset": 1e99}').decode(), "Invalid page token"),
        (base64.b64encode(b'{"offset": true}').decode(), "Invalid page token"),
        (base64.b64encode(b'{"offset": "x"}').decode(), "Invalid page token"),
        (base64.b64encode(b'{"offset": 99999999999999999999}').decode(), "out of range"),
        (base64.b64encode(b"\xff\xfe").decode(), "Invalid page token"),
    ],
)
def test_bad_page_tokens(token: str, message: str):
    with pytest.raises(InvalidParameterValue) as exc:
        decode_page_token(token)
    assert message in exc.value.message


_FRAGMENTS = [
    "metrics.", "params.", "tags.", "attributes.", "datasets.", "acc", "`a b`", '"q"', "'v'",
    "'", '"', "`", "1", "-2.5e3", ".", ",", "(", ")", "=", "!=", ">=", "<", "LIKE", "ilike",
    "IN", "NOT", "IS", "NULL", "AND", "OR", " ", "  ", "run_id", "start_time", "name",
    "experiment_id", "creation_time", "\\", ";", "%", "é", "\x00", "DESC", "asc",
]  # fmt: skip


def _random_inputs(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.2:
            out.append(
                "".join(rng.choice("ab.`'\"()=<>!, -1e%") for _ in range(rng.randint(0, 12)))
            )
        else:
            out.append("".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 9))))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_fuzz_only_invalid_parameter_value(seed: int):
    parsers: list[Callable[[str], object]] = [
        parse_run_filter,
        parse_experiment_filter,
        lambda text: parse_run_order_by([text]),
        lambda text: parse_experiment_order_by([text]),
        decode_page_token,
    ]
    for text in _random_inputs(seed, 2000):
        for parse in parsers:
            with contextlib.suppress(InvalidParameterValue):
                parse(text)


_VALID_FOR_BOTH = [
    "metrics.acc > 0.5 and params.lr = '0.1'",
    "metric.m>=-1e3",
    "metrics.`x-y` != 2",
    "tags.`mlflow.runName` = 'x'",
    'tags.mlflow.runName = "x"',
    "params.\"a b\" like '%v'",
    "parameters.p = 'it''s'",
    "params.p IS NULL and tags.t is not null",
    "attributes.run_id IN ('a','b')",
    "run_id not in ('a', \"b\",)",
    "run.status = 'FINISHED' AND user_id != 'u'",
    "`Run name` = 'x'",
    "created <= 1.5 and end_time = 5",
    "datasets.name IN ('d') and dataset.context ILIKE 'T%'",
]


@pytest.mark.parametrize("text", _VALID_FOR_BOTH)
def test_agrees_with_mlflow_parser(text: str):
    """Differential check against the stock parser (a test-only dependency)."""
    search_utils = pytest.importorskip("mlflow.utils.search_utils")
    theirs = search_utils.SearchUtils.parse_search_filter(text)
    kinds = {"parameter": "param"}
    normalized = [
        C(
            kinds.get(d["type"], d["type"]),
            search_utils.SearchUtils.translate_key_alias(d["key"]),
            d["comparator"].upper(),
            float(d["value"]) if d["type"] == "metric" else d["value"],
        )
        for d in theirs
    ]
    assert list(parse_run_filter(text)) == normalized
