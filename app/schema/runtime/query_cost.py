"""The walk behind the query limits: depth, aliases and requested cost of one operation, in one pass
linear in the document.

A fragment is worked out once (memoised by name) and its summary reused at every spread: a
document of 15 fragments each spreading the previous one three times is 3^15 fields when expanded,
and 60 selections to walk. A fragment that spreads itself (invalid; validation refuses it) counts as
empty, so the walk also terminates on documents that were never validated.

The cost model (README, "Limits and operations"): every object costs 1; what is inside a
connection's `edges`/`nodes` is multiplied by the connection's page size; any other list of objects
by its bound — its `first` argument when it has one, otherwise the declared `LIST_BOUNDS`. A page
size is the argument's value (a literal, a variable, the variable's default, else the schema's
default for the argument; null gives the resolvers' default page), at most `MAX_PAGE`, the most a
page returns. Introspection fields (`__schema`, `__type`) are not charged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

from app.schema.runtime.base import DEFAULT_PAGE, MAX_PAGE

CONNECTION_LISTS = frozenset({"edges", "nodes"})

# Lists of objects without a page argument, and the most objects each returns (or, where the domain
# sets no hard limit, the size we plan for; the budget is charged by what was actually returned).
# tests/test_limits_linear.py fails for a list of objects that is neither paged nor named here.
LIST_BOUNDS: dict[str, int] = {
    "Organisation.pUnits": 50,
    "Organisation.seNumbers": 20,
    "Query.rightsCatalogue": 50,  # the catalogue is data seeded by migrations (a dozen rights)
    "PowerOfAttorney.rights": 50,
    "UserGroup.rights": 50,
    "Query.certificateProfiles": 20,
    "Query.anonymityRequests": 50,
    "Query.externalUsers": 5,  # an exact CVR and email
    "User.groups": 20,
    "User.certificates": 20,
    "SendUsersForActivationPayload.sent": MAX_PAGE,
    "SendUsersForActivationPayload.codes": MAX_PAGE,
    "SendUsersForActivationPayload.needsIndividualSending": MAX_PAGE,
    # reporting: one bucket per value of an enum (a few), or per P-unit (as Organisation.pUnits)
    "UserStats.byStatus": 10,
    "UserStats.byIdentification": 10,
    "UserStats.byAuthenticator": 10,
    "UserStats.byOrganisationUnit": 50,
    "CertificateStats.byKind": 10,
    "CertificateStats.byStatus": 10,
}
USER_ERRORS_BOUND = 20  # every payload's userErrors: one per bad input field at most


@dataclass(frozen=True, slots=True)
class Shape:
    """A selection set's summary: its depth, aliases, and cost split into the objects outside
    (`outside`) and inside (`inside`, to be multiplied by the enclosing page size) edges/nodes."""

    depth: int = 0
    aliases: int = 0
    outside: int = 0
    inside: int = 0


EMPTY = Shape()


@dataclass(frozen=True, slots=True)
class Analysis:
    depth: int
    aliases: int
    cost: int
    introspection: bool
    page_variables: frozenset[str]
    visits: int


class DocumentWalk:
    """One walk of one operation; `visits` counts the selections it looked at."""

    def __init__(self, schema: GraphQLSchema | None, document: DocumentNode, variables: dict[str, Any],
                 operation: OperationDefinitionNode) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = _with_defaults(operation, variables)
        self.operation = operation
        self.memo: dict[str, Shape] = {}
        self.page_variables: set[str] = set()
        self.visits = 0

    def analyse(self) -> Analysis:
        op = self.operation
        root = self.schema.get_root_type(op.operation) if self.schema is not None else None
        shape = self.selection(op.selection_set, root)
        introspection = any(isinstance(s, FieldNode) and s.name.value in ("__schema", "__type")
                            for s in op.selection_set.selections)
        return Analysis(shape.depth, shape.aliases, shape.outside + shape.inside * DEFAULT_PAGE, introspection,
                        frozenset(self.page_variables), self.visits)

    def selection(self, selection_set: SelectionSetNode, parent: Any) -> Shape:
        depth = aliases = outside = inside = 0
        for sel in selection_set.selections:
            self.visits += 1
            if isinstance(sel, FieldNode):
                sub = self.field(sel, parent)
                aliases += sel.alias is not None
                if sub is None:
                    continue
                depth, aliases = max(depth, 1 + sub[0].depth), aliases + sub[0].aliases
                if sel.name.value in CONNECTION_LISTS:
                    inside += sub[1]
                else:
                    outside += sub[1]
                continue
            if isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                part = self.selection(sel.selection_set, self._type(cond.name.value) if cond else parent)
            elif isinstance(sel, FragmentSpreadNode):
                part = self.fragment(sel.name.value)
            else:
                continue
            depth, aliases = max(depth, part.depth), aliases + part.aliases
            outside, inside = outside + part.outside, inside + part.inside
        return Shape(depth, aliases, outside, inside)

    def fragment(self, name: str) -> Shape:
        shape = self.memo.get(name)
        if shape is not None:
            return shape
        definition = self.fragments.get(name)
        if definition is None:
            return EMPTY
        self.memo[name] = EMPTY  # while it is being worked out: a cycle adds nothing
        shape = self.memo[name] = self.selection(definition.selection_set, self._type(definition.type_condition.name.value))
        return shape

    def field(self, node: FieldNode, parent: Any) -> tuple[Shape, int] | None:
        """(the sub-selection's shape, the field's cost) for a field with a selection set."""
        if node.selection_set is None:
            return None
        name = node.name.value
        definition = getattr(parent, "fields", {}).get(name) if parent is not None else None
        sub = self.selection(node.selection_set, get_named_type(definition.type) if definition else None)
        if name.startswith("__"):
            return Shape(sub.depth, sub.aliases), 0
        one = 1 + sub.outside + (sub.inside * self.page_size(node, definition) if sub.inside else 0)
        if name not in CONNECTION_LISTS:
            one *= self.list_bound(node, definition, parent)
        return sub, one

    def list_bound(self, node: FieldNode, definition: Any, parent: Any) -> int:
        if definition is None or not _is_list(definition.type):
            return 1
        if "first" in definition.args:
            return self.page_size(node, definition)
        if node.name.value == "userErrors":
            return USER_ERRORS_BOUND
        return LIST_BOUNDS.get(f"{parent.name}.{node.name.value}", DEFAULT_PAGE)

    def page_size(self, node: FieldNode, definition: Any) -> int:
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last"):
                if isinstance(arg.value, VariableNode):
                    self.page_variables.add(arg.value.name.value)
                value = value_from_ast_untyped(arg.value, self.variables)
                if value is not Undefined:
                    return _bounded(value)
        default = definition.args["first"].default_value if definition and "first" in definition.args else None
        return _bounded(default)

    def _type(self, name: str) -> Any:
        return self.schema.get_type(name) if self.schema is not None else None


def _with_defaults(operation: OperationDefinitionNode, variables: dict[str, Any]) -> dict[str, Any]:
    """The request's variables, and each declared variable's default where the request gave none."""
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values


def _bounded(value: Any) -> int:
    """A page size as the resolvers will use it: null is the default page, at most MAX_PAGE."""
    if value is None or value is Undefined or isinstance(value, bool) or not isinstance(value, int):
        return DEFAULT_PAGE
    return min(max(value, 0), MAX_PAGE)


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
