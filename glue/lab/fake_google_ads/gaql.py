"""A small GAQL subset for the fake: parse a query and evaluate it over a state Snapshot.

Supported: SELECT fields FROM customer | campaign_budget | campaign, WHERE conditions joined by AND
(=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN), ORDER BY field [ASC|DESC], LIMIT n. Metrics are summed over
the campaigns behind a row; selecting segments.date gives one row per date with data and, as on Google,
requires a filter on segments.date. Anything else raises a QueryError like Google's.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from glue.lab.fake_google_ads.state import Campaign, DailyMetrics, Snapshot, query_error

# Each resource's GAQL fields and their types. A field's value is the attribute of the state record
# (Customer, Budget, Campaign, DailyMetrics) named as the field after its resource, unless _ATTRIBUTES
# names another.
_CUSTOMER_FIELDS: dict[str, type] = {
    "customer.id": int,
    "customer.resource_name": str,
    "customer.descriptive_name": str,
    "customer.currency_code": str,
}
_BUDGET_FIELDS: dict[str, type] = {
    "campaign_budget.id": int,
    "campaign_budget.resource_name": str,
    "campaign_budget.name": str,
    "campaign_budget.amount_micros": int,
    "campaign_budget.explicitly_shared": bool,
    "campaign_budget.reference_count": int,
}
_CAMPAIGN_FIELDS: dict[str, type] = {
    "campaign.id": int,
    "campaign.resource_name": str,
    "campaign.name": str,
    "campaign.status": str,
    "campaign.campaign_budget": str,
}
_METRIC_FIELDS: dict[str, type] = {
    "metrics.cost_micros": int,
    "metrics.clicks": int,
    "metrics.impressions": int,
    "metrics.conversions": float,
}
_ATTRIBUTES = {
    "customer.id": "customer_id",
    "campaign_budget.id": "budget_id",
    "campaign.id": "campaign_id",
    "campaign.campaign_budget": "budget_resource_name",
}
DATE_FIELD = "segments.date"
_STATS = {**_METRIC_FIELDS, DATE_FIELD: str}
FIELDS_BY_RESOURCE: dict[str, dict[str, type]] = {
    "customer": {**_CUSTOMER_FIELDS, **_STATS},
    "campaign_budget": {**_BUDGET_FIELDS, **_CUSTOMER_FIELDS, **_STATS},
    "campaign": {**_CAMPAIGN_FIELDS, **_BUDGET_FIELDS, **_CUSTOMER_FIELDS, **_STATS},
}
_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "BETWEEN")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<symbol>!=|<=|>=|[(),=<>]))"
)

Literal = str | int | float | bool


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    values: tuple[Literal, ...]  # one value, a list for IN, two for BETWEEN


@dataclass(frozen=True)
class Query:
    resource: str
    fields: tuple[str, ...]
    conditions: tuple[Condition, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None

    @property
    def output_fields(self) -> tuple[str, ...]:
        """Selected fields plus the main resource's resource_name, which Google always returns."""
        main = f"{self.resource}.resource_name"
        return self.fields if main in self.fields else (main, *self.fields)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, word, symbol
    text: str

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def parse(text: str) -> Query:
    return _Parser(_tokenize(text)).query()


def execute(query: Query, snapshot: Snapshot) -> list[dict[str, Any]]:
    """Rows as {field: python value} holding query.output_fields."""
    date_conditions = [c for c in query.conditions if c.field == DATE_FIELD]
    other_conditions = [c for c in query.conditions if c.field != DATE_FIELD]
    rows = [
        row
        for base, campaigns in _base_rows(query.resource, snapshot)
        for row in _with_stats(query, base, campaigns, snapshot, date_conditions)
        if all(_matches(row[c.field], c) for c in other_conditions)
    ]
    for name, descending in reversed(query.order_by):
        rows.sort(key=lambda r: r[name], reverse=descending)
    if query.limit is not None:
        rows = rows[: query.limit]
    return [{name: row[name] for name in query.output_fields} for row in rows]


# -- evaluation ------------------------------------------------------------------------------------


def _base_rows(resource: str, snapshot: Snapshot) -> Iterator[tuple[dict[str, Any], list[Campaign]]]:
    """(attribute values, campaigns whose metrics the row sums) per resource instance."""
    customer = _values(_CUSTOMER_FIELDS, snapshot.customer)
    budgets = {b.resource_name: b for b in snapshot.budgets}
    if resource == "customer":
        yield customer, list(snapshot.campaigns)
    elif resource == "campaign_budget":
        for budget in snapshot.budgets:
            users = [c for c in snapshot.campaigns if c.budget_resource_name == budget.resource_name]
            yield {**customer, **_values(_BUDGET_FIELDS, budget)}, users
    else:
        for campaign in snapshot.campaigns:
            budget = _values(_BUDGET_FIELDS, budgets[campaign.budget_resource_name])
            yield {**customer, **budget, **_values(_CAMPAIGN_FIELDS, campaign)}, [campaign]


def _values(fields: dict[str, type], record: Any) -> dict[str, Any]:
    """The record's value of each field, as the field's type (the state holds customer ids as text)."""
    return {
        name: kind(getattr(record, _ATTRIBUTES.get(name, name.partition(".")[2])))
        for name, kind in fields.items()
    }


def _with_stats(
    query: Query,
    base: dict[str, Any],
    campaigns: list[Campaign],
    snapshot: Snapshot,
    date_conditions: list[Condition],
) -> Iterator[dict[str, Any]]:
    """One row per date with data if segments.date is selected, else one row with summed metrics."""
    ids = {c.campaign_id for c in campaigns}
    per_day: dict[str, DailyMetrics] = {}
    for (campaign_id, day), metrics in snapshot.metrics.items():
        iso = day.isoformat()
        if campaign_id in ids and all(_matches(iso, c) for c in date_conditions):
            per_day[iso] = per_day.get(iso, DailyMetrics()) + metrics
    if DATE_FIELD in query.fields:
        for iso in sorted(per_day):
            yield {**base, DATE_FIELD: iso, **_values(_METRIC_FIELDS, per_day[iso])}
    else:
        yield {**base, DATE_FIELD: None, **_values(_METRIC_FIELDS, sum(per_day.values(), DailyMetrics()))}


def _matches(value: Any, condition: Condition) -> bool:
    op, values = condition.operator, condition.values
    if op == "IN":
        return value in values
    if op == "NOT IN":
        return value not in values
    if op == "BETWEEN":
        return values[0] <= value <= values[1]
    comparisons = {
        "=": value == values[0],
        "!=": value != values[0],
        "<": value < values[0],
        "<=": value <= values[0],
        ">": value > values[0],
        ">=": value >= values[0],
    }
    return comparisons[op]


# -- parsing ---------------------------------------------------------------------------------------


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise query_error("BAD_SYMBOL", f"Error in query: unexpected input {text[position:][:20]!r}.")
        kind = match.lastgroup
        assert kind is not None
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._position = 0

    def query(self) -> Query:
        self._expect_keyword("SELECT", "EXPECTED_SELECT")
        fields = [self._field_name()]
        while self._accept_symbol(","):
            fields.append(self._field_name())
        self._expect_keyword("FROM", "EXPECTED_FROM")
        resource = self._word("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE")
        if resource not in FIELDS_BY_RESOURCE:
            raise query_error(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Error in query: unsupported resource {resource!r}."
            )
        conditions = self._where() if self._accept_keyword("WHERE") else []
        order_by = self._order_by() if self._accept_keyword("ORDER") else []
        limit = self._limit() if self._accept_keyword("LIMIT") else None
        if self._peek() is not None:
            raise query_error("UNEXPECTED_INPUT", f"Error in query: unexpected input {self._peek().text!r}.")
        query = Query(resource, tuple(fields), tuple(conditions), tuple(order_by), limit)
        _check_fields(query)
        return query

    def _where(self) -> list[Condition]:
        conditions = [self._condition()]
        while self._accept_keyword("AND"):
            conditions.append(self._condition())
        return conditions

    def _condition(self) -> Condition:
        name = self._field_name()
        if self._accept_keyword("NOT"):
            self._expect_keyword("IN", "BAD_OPERATOR")
            return Condition(name, "NOT IN", self._list())
        if self._accept_keyword("IN"):
            return Condition(name, "IN", self._list())
        if self._accept_keyword("BETWEEN"):
            low = self._value()
            self._expect_keyword("AND", "EXPECTED_AND")
            return Condition(name, "BETWEEN", (low, self._value()))
        token = self._next()
        if token.kind != "symbol" or token.text not in _OPERATORS:
            raise query_error("BAD_OPERATOR", f"Error in query: unsupported operator {token.text!r}.")
        return Condition(name, token.text, (self._value(),))

    def _order_by(self) -> list[tuple[str, bool]]:
        self._expect_keyword("BY", "EXPECTED_BY")
        order = [self._ordering()]
        while self._accept_symbol(","):
            order.append(self._ordering())
        return order

    def _ordering(self) -> tuple[str, bool]:
        name = self._field_name()
        if self._accept_keyword("DESC"):
            return name, True
        self._accept_keyword("ASC")
        return name, False

    def _limit(self) -> int:
        token = self._next()
        if token.kind != "number" or not token.text.isdigit():
            raise query_error("BAD_LIMIT_VALUE", "Error in query: LIMIT needs a positive integer.")
        if int(token.text) < 1:
            raise query_error("LIMIT_VALUE_TOO_LOW", "Error in query: LIMIT must be at least 1.")
        return int(token.text)

    def _list(self) -> tuple[Literal, ...]:
        if not self._accept_symbol("("):
            raise query_error("EXPECTED_LIST", "Error in query: expected a list of values.")
        values = [self._value()]
        while self._accept_symbol(","):
            values.append(self._value())
        if not self._accept_symbol(")"):
            raise query_error("EXPECTED_LIST", "Error in query: list not closed.")
        return tuple(values)

    def _value(self) -> Literal:
        token = self._next()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "word" and token.text.upper() in ("TRUE", "FALSE"):
            return token.text.upper() == "TRUE"
        if token.kind == "word":
            return token.text  # an enum constant such as ENABLED
        raise query_error("BAD_VALUE", f"Error in query: unexpected value {token.text!r}.")

    def _field_name(self) -> str:
        return self._word("BAD_FIELD_NAME")

    def _word(self, error_code: str) -> str:
        token = self._next()
        if token.kind != "word":
            raise query_error(error_code, f"Error in query: unexpected {token.text!r}.")
        return token.text

    def _peek(self) -> _Token | None:
        return self._tokens[self._position] if self._position < len(self._tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        self._position += 1
        return token

    def _accept_keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.is_keyword(word):
            self._position += 1
            return True
        return False

    def _expect_keyword(self, word: str, error_code: str) -> None:
        if not self._accept_keyword(word):
            raise query_error(error_code, f"Error in query: expected {word}.")

    def _accept_symbol(self, symbol: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "symbol" and token.text == symbol:
            self._position += 1
            return True
        return False


def _check_fields(query: Query) -> None:
    """Reject unknown fields, badly typed literals and a date segment without a date filter."""
    known = FIELDS_BY_RESOURCE[query.resource]
    named = [*query.fields, *(c.field for c in query.conditions), *(f for f, _ in query.order_by)]
    for name in named:
        if name not in known:
            raise query_error("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
    for condition in query.conditions:
        _check_literals(condition, known[condition.field])
    has_date_filter = any(c.field == DATE_FIELD for c in query.conditions)
    if DATE_FIELD in query.fields and not has_date_filter:
        raise query_error(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Error in query: a filter on segments.date is required when segments.date is selected.",
        )
    if DATE_FIELD in (f for f, _ in query.order_by) and DATE_FIELD not in query.fields:
        raise query_error(
            "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE", "Error in query: ORDER BY a field not selected."
        )


def _check_literals(condition: Condition, field_type: type) -> None:
    for value in condition.values:
        if condition.field == DATE_FIELD:
            if not isinstance(value, str) or not _is_iso_date(value):
                raise query_error("INVALID_DATE_FORMAT", f"Error in query: invalid date {value!r}.")
        elif field_type is bool and not isinstance(value, bool):
            raise query_error("BAD_VALUE", f"Error in query: {condition.field} needs TRUE or FALSE.")
        elif field_type in (int, float) and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise query_error("BAD_NUMBER", f"Error in query: {condition.field} needs a number.")
        elif field_type is str and not isinstance(value, str):
            raise query_error("INVALID_STRING_VALUE", f"Error in query: {condition.field} needs a string.")


def _is_iso_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
