"""MLflow's query safety limits: depth, total selections, root fields and aliases per level.

Ported from mlflow/server/graphql/graphql_no_batching.py (Apache-2.0) so that the same queries are
refused with the same messages; the limits come from the same environment variables.
"""

import os
from collections import deque
from dataclasses import dataclass

from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_DEPTH = 10
MAX_SELECTIONS = 1000
ROOT_FIELDS_VAR = "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"
ALIASES_VAR = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES"


@dataclass(frozen=True)
class Limits:
    max_root_fields: int = 10
    max_aliases: int = 10

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            int(os.environ.get(ROOT_FIELDS_VAR) or 10), int(os.environ.get(ALIASES_VAR) or 10)
        )


def _fields_and_aliases(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    visited: frozenset[str],
) -> tuple[list[FieldNode], int]:
    """Fields of one level, fragments merged in, and the aliases among them all."""
    fields: list[FieldNode] = []
    aliases = 0
    pending = deque(selection_set.selections)
    seen = set(visited)
    while pending:
        selection = pending.popleft()
        if isinstance(selection, FieldNode):
            fields.append(selection)
            aliases += 1 if selection.alias else 0
        elif isinstance(selection, InlineFragmentNode):
            if selection.selection_set:
                pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen:
                seen.add(name)
                fragment = fragments.get(name)
                if fragment and fragment.selection_set:
                    pending.extend(fragment.selection_set.selections)
    return fields, aliases


def scan(document: DocumentNode) -> tuple[int, int]:
    """(root fields, most aliases on one level); raises past the depth or selection limits."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root_fields = max_aliases = total = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        stack = [(definition.selection_set, 1, frozenset[str]())]
        while stack:
            selection_set, depth, visited = stack.pop()
            if depth > MAX_DEPTH:
                raise GraphQLError(f"Query exceeds maximum depth of {MAX_DEPTH}")
            fields, aliases = _fields_and_aliases(selection_set, fragments, visited)
            for field in fields:
                if depth == 1:
                    root_fields += 1
                if field.selection_set:
                    stack.append((field.selection_set, depth + 1, visited))
                total += 1
                if total > MAX_SELECTIONS:
                    raise GraphQLError(
                        f"Query exceeds maximum total selections of {MAX_SELECTIONS}"
                    )
            max_aliases = max(max_aliases, aliases)
    return root_fields, max_aliases


def check(document: DocumentNode, limits: Limits) -> str | None:
    """MLflow's message for a query over a limit, or None."""
    try:
        root_fields, aliases = scan(document)
    except GraphQLError as exc:
        return exc.message
    if root_fields > limits.max_root_fields:
        what, var, limit, value = (
            "root fields",
            ROOT_FIELDS_VAR,
            limits.max_root_fields,
            root_fields,
        )
    elif aliases > limits.max_aliases:
        what, var, limit = "aliases", ALIASES_VAR, limits.max_aliases
        value = aliases
    else:
        return None
    return (
        f"GraphQL queries should have at most {limit} {what}, got {value} {what}. "
        f"To increase the limit, set the {var} environment variable."
    )
