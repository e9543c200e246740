"""The executable schema: MLflow's SDL with our resolvers bound to it."""

from graphql import GraphQLObjectType, GraphQLSchema, build_schema

from tracking.ui import graphql_resolvers as resolvers
from tracking.ui.graphql_sdl import SDL
from tracking.ui.graphql_values import bind_long_string, finite_or_null

# Types whose Float `value` is a metric value that may be NaN or infinite.
METRIC_TYPES = ("MlflowMetricExtension", "MlflowMetricWithRunId", "MlflowModelMetric")


def _object(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    kind = schema.type_map[name]
    assert isinstance(kind, GraphQLObjectType)
    return kind


def make_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    assert schema.query_type is not None and schema.mutation_type is not None
    for name, resolve in resolvers.QUERIES.items():
        schema.query_type.fields[name].resolve = resolve
    for name, resolve in resolvers.MUTATIONS.items():
        schema.mutation_type.fields[name].resolve = resolve
    run = _object(schema, "MlflowRunExtension")
    run.fields["experiment"].resolve = resolvers.run_experiment
    run.fields["modelVersions"].resolve = resolvers.run_model_versions
    for name in METRIC_TYPES:
        _object(schema, name).fields["value"].resolve = finite_or_null
    long_string = schema.type_map["LongString"]
    assert long_string is not None
    bind_long_string(long_string)  # type: ignore[arg-type]
    return schema
