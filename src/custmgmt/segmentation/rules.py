"""Segment rules as data: composable predicates over customer feature columns.

A rule is a frozen value built from a few parts:

* :class:`Compare` -- ``feature op value`` with ``op`` one of ``> >= < <= == !=``;
* :class:`Between` -- ``low <= feature < high`` (which ends are closed is a parameter);
* :class:`QuantileCut` -- ``feature op cut`` where ``cut`` is the population's
  ``q``-quantile, computed on the table being evaluated;
* :class:`AllOf`, :class:`AnyOf`, :class:`Not` -- and / or / not; also ``&``, ``|``
  and ``~`` on any rule;
* :class:`Always` -- true for everyone (a catch-all).

:func:`feature` gives a small builder: ``feature("annual_spend") > 50_000`` is
``Compare("annual_spend", ">", 50_000)``.

Evaluation is vectorised: :meth:`Rule.evaluate` returns one boolean per customer and
reads each column once. Rules round-trip through plain dicts (:meth:`Rule.to_dict`,
:func:`rule_from_dict`) and so through JSON. :meth:`Rule.explain` says in words, with
the customer's actual values, why a rule holds or fails for one customer.

Conventions, so results never surprise:

* Columns are read as float64 (booleans as 0/1; integer money in minor units is exact
  below 2**53).
* A missing value (NaN) satisfies no comparison, range or cut; ``Not`` then makes it
  true, as plain boolean logic would.
* Rules nest at most :data:`MAX_RULE_DEPTH` deep (``Not(Not(...))``, ``AllOf`` inside
  ``AnyOf`` ...): deeper rules, built directly or read from data, are refused, since
  evaluating, comparing or serialising them would exhaust Python's stack.
* The ``q``-quantile of a column is the smallest value ``v`` such that at least a
  fraction ``q`` of the customers with a value have a value ``<= v`` (the "inverted
  CDF" definition: always an observed value, so explanations quote a real number;
  ``q = 0`` gives the minimum). NaNs are left out of the population. Hence
  ``QuantileCut(f, ">", 0.8)`` is the top 20 % when values are distinct, and ties at
  the cut fall on the lower side.
* Explanations show numbers with at most 2 decimals, except money: on a table with a
  ``currency`` (a :class:`~custmgmt.analytics.features.CustomerFeatures`), the major-unit
  money columns (:data:`MAJOR_MONEY_FEATURES`) are shown at the currency's minor-unit
  digits (KWD ``1.234``, JPY ``1,234``, CNY ``13.00``;
  :func:`~custmgmt.domain.money.format_money`).

>>> from custmgmt.segmentation.table import Columns
>>> table = Columns(["c1", "c2"], {"annual_spend": [52_000, 900], "disputes": [0, 2]})
>>> rule = (feature("annual_spend") > 50_000) & feature("disputes").eq(0, label="no disputes")
>>> rule.evaluate(table).tolist()
[True, False]
>>> rule.explain(table, "c1")
'annual spend 52,000 > 50,000 and no disputes'
>>> rule_from_dict(rule.to_dict()) == rule
True
"""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, cast

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.domain._validate import is_finite_number
from custmgmt.domain.money import CURRENCY_DIGITS, MajorAmount, format_money
from custmgmt.errors import ValidationError
from custmgmt.segmentation.table import _customer_ids_of, column

__all__ = [
    "MAJOR_MONEY_FEATURES",
    "MAX_RULE_DEPTH",
    "OPERATORS",
    "AllOf",
    "Always",
    "AnyOf",
    "Between",
    "Compare",
    "Feature",
    "Not",
    "QuantileCut",
    "Rule",
    "feature",
    "format_number",
    "quantile_cut",
    "rule_from_dict",
    "rule_from_json",
]

Operator = Literal[">", ">=", "<", "<=", "==", "!="]
#: The comparison operators a rule accepts.
OPERATORS: tuple[str, ...] = (">", ">=", "<", "<=", "==", "!=")
_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
_CLOSED = ("left", "right", "both", "neither")
#: How deep rules may nest: a single test is depth 1, ``Not(test)`` depth 2. Real
#: segment rules nest a few levels; the limit keeps every recursive walk (evaluate,
#: explain, ==, to_dict, rule_from_dict) far from Python's recursion limit.
MAX_RULE_DEPTH = 100

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


def _compare(values: FloatArray, op: str, value: float) -> BoolArray:
    # NaN compares False under every operator but "!="; keep "missing satisfies nothing".
    if op == ">":
        return np.greater(values, value)
    if op == ">=":
        return np.greater_equal(values, value)
    if op == "<":
        return np.less(values, value)
    if op == "<=":
        return np.less_equal(values, value)
    if op == "==":
        return np.equal(values, value)
    return np.not_equal(values, value) & ~np.isnan(values)


#: Feature columns holding money in major units (the columns
#: :func:`custmgmt.segmentation.inputs.add_derived_features` adds): explanations show
#: them at the table's currency digits when the table has a ``currency``.
MAJOR_MONEY_FEATURES: frozenset[str] = frozenset({"annual_spend", "total_spend", "aov_major"})


def format_number(value: float) -> str:
    """A value as an explanation shows it: thousands separators, at most 2 decimals;
    a :class:`MajorAmount` at its currency's digits (:func:`format_money`).

    >>> format_number(52000.0), format_number(4.6), format_number(float("nan"))
    ('52,000', '4.6', 'missing')
    """
    if math.isnan(value):
        return "missing"
    if math.isinf(value):
        return "infinite" if value > 0 else "-infinite"
    if isinstance(value, MajorAmount):
        return format_money(value, value.currency)
    if float(value).is_integer():
        return f"{value:,.0f}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "0") or value == 0 else f"{value:.2g}"


def _display(name: str) -> str:
    return name.replace("_", " ")


def _ordinal(q: float) -> str:
    pct = q * 100
    text = f"{pct:.0f}" if abs(pct - round(pct)) < 1e-9 else f"{pct:g}"
    if text.isdigit():
        n = int(text)
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{text}{suffix} percentile"
    return f"{text} percentile"


def quantile_cut(values: FloatArray, q: float) -> float:
    """The ``q``-quantile used by :class:`QuantileCut` (inverted CDF; NaNs left out).

    Args:
        values: the population's values.
        q: a fraction in ``[0, 1]``.

    Returns:
        The smallest observed value ``v`` with at least ``q`` of the values ``<= v``;
        NaN when there is no value at all.

    >>> quantile_cut(np.array([5.0, 1.0, 3.0, 2.0, 4.0]), 0.6)
    3.0
    """
    finite = values[~np.isnan(values)]
    n = int(finite.shape[0])
    if n == 0:
        return math.nan
    # 1e-9 absorbs the float error of q*n (0.7*10 is 7.000000000000001).
    k = min(max(math.ceil(q * n - 1e-9) - 1, 0), n - 1)
    return float(np.partition(finite, k)[k])


class _Context:
    """One evaluation: caches columns, cut-offs and sub-rule masks."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.n: int | None = None
        self._columns: dict[str, FloatArray] = {}
        self._cuts: dict[tuple[str, float], float] = {}
        self._masks: dict[int, BoolArray] = {}
        currency = getattr(table, "currency", None)
        # A table without a known currency (plain Columns) shows its values as numbers.
        self.currency: str | None = (
            currency if isinstance(currency, str) and currency in CURRENCY_DIGITS else None
        )

    def show(self, name: str, value: float) -> str:
        """``value`` of the column ``name`` as an explanation shows it: money in major
        units (:data:`MAJOR_MONEY_FEATURES`) at the table's currency digits."""
        if self.currency is not None and name in MAJOR_MONEY_FEATURES:
            return format_number(MajorAmount(value, self.currency))
        return format_number(value)

    def values(self, name: str, field: str) -> FloatArray:
        cached = self._columns.get(name)
        if cached is not None:
            return cached
        raw = column(self.table, name, field=field)
        if raw.ndim != 1 or not (
            np.issubdtype(raw.dtype, np.number) or np.issubdtype(raw.dtype, np.bool_)
        ):
            raise ValidationError(field, name, f"a numeric feature column (got dtype {raw.dtype})")
        values = raw.astype(np.float64, copy=False)
        if self.n is None:
            self.n = int(values.shape[0])
        elif values.shape[0] != self.n:
            raise ValidationError(field, name, f"a column of {self.n} values")
        self._columns[name] = values
        return values

    def cut(self, name: str, q: float, field: str) -> float:
        key = (name, q)
        if key not in self._cuts:
            self._cuts[key] = quantile_cut(self.values(name, field), q)
        return self._cuts[key]

    def mask(self, rule: Rule) -> BoolArray:
        key = id(rule)
        if key not in self._masks:
            self._masks[key] = rule._mask(self)
        return self._masks[key]

    def length(self) -> int:
        if self.n is None:
            ids = getattr(self.table, "customer_ids", None)
            if ids is None:
                raise ValidationError("table", self.table, "a table with customer_ids")
            self.n = int(np.asarray(ids).shape[0])
        return self.n


def _find_row(table: Any, ctx: _Context, customer_id: Any) -> int:
    ids = _customer_ids_of(table, ctx.length())
    rows = np.flatnonzero(ids == customer_id)
    if rows.shape[0] == 0:
        raise ValidationError("customer_id", customer_id, "a customer in the feature table")
    return int(rows[0])


class Rule(abc.ABC):
    """A predicate over a customer feature table; see the module docstring."""

    type_name: ClassVar[str]

    def evaluate(self, table: Any) -> BoolArray:
        """One boolean per customer (row) of ``table``.

        Raises:
            ValidationError: a feature the rule names is not in the table, or not numeric.
        """
        ctx = _Context(table)
        mask = ctx.mask(self)
        return np.asarray(mask, dtype=np.bool_)

    def explain(self, table: Any, customer_id: Any) -> str:
        """Why the rule holds (or fails) for one customer, with their values.

        Raises:
            ValidationError: the customer is not in the table, or a feature is unknown.
        """
        ctx = _Context(table)
        mask = ctx.mask(self)
        row = _find_row(table, ctx, customer_id)
        return self._explain(ctx, row, bool(mask[row]))

    @abc.abstractmethod
    def features(self) -> frozenset[str]:
        """The feature columns the rule reads."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A plain-data form that :func:`rule_from_dict` turns back into an equal rule."""

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (non-ASCII kept as is)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @abc.abstractmethod
    def _mask(self, ctx: _Context) -> BoolArray: ...

    @abc.abstractmethod
    def _explain(self, ctx: _Context, row: int, holds: bool) -> str: ...

    def __and__(self, other: Rule) -> AllOf:
        if not isinstance(other, Rule):
            return NotImplemented
        left = self.rules if isinstance(self, AllOf) else (self,)
        right = other.rules if isinstance(other, AllOf) else (other,)
        return AllOf(rules=(*left, *right))

    def __or__(self, other: Rule) -> AnyOf:
        if not isinstance(other, Rule):
            return NotImplemented
        left = self.rules if isinstance(self, AnyOf) else (self,)
        right = other.rules if isinstance(other, AnyOf) else (other,)
        return AnyOf(rules=(*left, *right))

    def __invert__(self) -> Rule:
        return self.rule if isinstance(self, Not) else Not(rule=self)


# -- validators ---------------------------------------------------------------------
def _check_feature(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, "a feature name"
        )


def _check_number(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Columns are read as float64: an int beyond its range (10**400) is refused too.
    if not is_finite_number(value):
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, "a finite number"
        )


def _check_op(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in OPERATORS:
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, f"one of {' '.join(OPERATORS)}"
        )


def _check_label(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, "a non-blank text or None"
        )


def _number(value: Any) -> Any:
    # numpy scalars from a host's computations are welcome; store plain Python numbers
    # so that equality and JSON behave.
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _rules_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _check_rules(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    name = f"{type(instance).__name__}.{attribute.name}"
    if not isinstance(value, tuple) or not value:
        raise ValidationError(name, value, "a non-empty sequence of rules")
    for i, rule in enumerate(value):
        if not isinstance(rule, Rule):
            raise ValidationError(f"{name}[{i}]", rule, "a Rule")
    _check_depth(name, value)


def _depth_of(rule: Rule) -> int:
    # Composite rules record their depth when built; anything else is a single test.
    depth = getattr(rule, "_depth", 1)
    return depth if isinstance(depth, int) else 1


def _check_depth(name: str, children: tuple[Rule, ...]) -> int:
    depth = 1 + max(_depth_of(rule) for rule in children)
    if depth > MAX_RULE_DEPTH:
        raise ValidationError(
            name, f"rules nested {depth} deep", f"rules nested at most {MAX_RULE_DEPTH} deep"
        )
    return depth


# -- the parts ------------------------------------------------------------------------
class _FeatureTest(Rule):
    """A test on one feature column: what every such rule serialises and explains alike.

    Subclasses are attrs classes whose fields start with ``feature`` and end with
    ``label``; :meth:`to_dict` lists the fields in that order, leaving out an unset
    label, and :meth:`_explain` handles a missing value and the label before asking the
    subclass to :meth:`_describe` the comparison.
    """

    feature: str
    label: str | None

    def features(self) -> frozenset[str]:
        return frozenset({self.feature})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type_name}
        for field in attrs.fields(cast(Any, type(self))):  # subclasses are attrs classes
            value = getattr(self, field.name)
            if field.name != "label" or value is not None:
                data[field.name] = value
        return data

    def _values(self, ctx: _Context) -> FloatArray:
        return ctx.values(self.feature, f"{type(self).__name__}.feature")

    def _explain(self, ctx: _Context, row: int, holds: bool) -> str:
        x = float(self._values(ctx)[row])
        if math.isnan(x):
            return f"{_display(self.feature)} missing"
        if holds and self.label is not None:
            return self.label
        return self._describe(ctx, x, holds)

    @abc.abstractmethod
    def _describe(self, ctx: _Context, x: float, holds: bool) -> str:
        """The comparison in words, for a customer whose value is ``x``."""


@attrs.frozen(kw_only=True)
class Compare(_FeatureTest):
    """``feature op value``.

    Attributes:
        feature: the column.
        op: one of ``> >= < <= == !=``.
        value: the threshold (a finite number).
        label: wording used when the comparison holds, e.g. ``"no disputes"``
            for ``disputes == 0``; by default the explanation shows the comparison.
    """

    type_name: ClassVar[str] = "compare"
    feature: str = attrs.field(validator=_check_feature)
    op: str = attrs.field(validator=_check_op)
    value: float = attrs.field(converter=_number, validator=_check_number)
    label: str | None = attrs.field(default=None, validator=_check_label)

    def _mask(self, ctx: _Context) -> BoolArray:
        return _compare(self._values(ctx), self.op, float(self.value))

    def _describe(self, ctx: _Context, x: float, holds: bool) -> str:
        op = self.op if holds else _NEGATED[self.op]
        show = ctx.show
        return (
            f"{_display(self.feature)} {show(self.feature, x)} {op} "
            f"{show(self.feature, self.value)}"
        )


def _check_closed(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _CLOSED:
        raise ValidationError(f"Between.{attribute.name}", value, f"one of {', '.join(_CLOSED)}")


@attrs.frozen(kw_only=True)
class Between(_FeatureTest):
    """``low <= feature < high`` by default; ``closed`` picks the closed ends.

    Attributes:
        feature: the column.
        low: the lower bound.
        high: the upper bound, at least ``low``.
        closed: ``"left"`` (``[low, high)``, the default), ``"right"``, ``"both"``
            or ``"neither"``.
        label: wording used when the value is in range.
    """

    type_name: ClassVar[str] = "between"
    feature: str = attrs.field(validator=_check_feature)
    low: float = attrs.field(converter=_number, validator=_check_number)
    high: float = attrs.field(converter=_number, validator=_check_number)
    closed: str = attrs.field(default="left", validator=_check_closed)
    label: str | None = attrs.field(default=None, validator=_check_label)

    def __attrs_post_init__(self) -> None:
        if self.high < self.low:
            raise ValidationError("Between.high", self.high, f"at least low ({self.low})")

    def _mask(self, ctx: _Context) -> BoolArray:
        x = self._values(ctx)
        left_closed = self.closed in ("left", "both")
        right_closed = self.closed in ("right", "both")
        lower = x >= self.low if left_closed else x > self.low
        upper = x <= self.high if right_closed else x < self.high
        return lower & upper

    def _interval(self, ctx: _Context) -> str:
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        low, high = ctx.show(self.feature, self.low), ctx.show(self.feature, self.high)
        return f"{left}{low}, {high}{right}"

    def _describe(self, ctx: _Context, x: float, holds: bool) -> str:
        where = "in" if holds else "outside"
        return (
            f"{_display(self.feature)} {ctx.show(self.feature, x)} {where} "
            f"{self._interval(ctx)}"
        )


def _check_q(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not is_finite_number(value) or not (0.0 <= float(value) <= 1.0):
        raise ValidationError("QuantileCut.q", value, "a fraction between 0 and 1")


@attrs.frozen(kw_only=True)
class QuantileCut(_FeatureTest):
    """``feature op cut`` with ``cut`` the population's ``q``-quantile.

    The cut-off is computed on the table evaluated (see the module docstring for the
    quantile definition), so ``QuantileCut("annual_spend", ">", 0.8)`` is "the top
    20 % by annual spend" in every population.

    Attributes:
        feature: the column.
        op: one of ``> >= < <=``.
        q: the quantile, a fraction in ``[0, 1]``.
        label: wording used when the cut holds.
    """

    type_name: ClassVar[str] = "quantile"
    feature: str = attrs.field(validator=_check_feature)
    op: str = attrs.field(validator=_check_op)
    q: float = attrs.field(converter=_number, validator=_check_q)
    label: str | None = attrs.field(default=None, validator=_check_label)

    def cut_off(self, table: Any) -> float:
        """The cut-off value on ``table``."""
        return _Context(table).cut(self.feature, float(self.q), "QuantileCut.feature")

    def _mask(self, ctx: _Context) -> BoolArray:
        cut = ctx.cut(self.feature, float(self.q), "QuantileCut.feature")
        return _compare(self._values(ctx), self.op, cut)

    def _describe(self, ctx: _Context, x: float, holds: bool) -> str:
        cut = ctx.cut(self.feature, float(self.q), "QuantileCut.feature")
        op = self.op if holds else _NEGATED[self.op]
        return (
            f"{_display(self.feature)} {ctx.show(self.feature, x)} {op} "
            f"{ctx.show(self.feature, cut)} "
            f"(the {_ordinal(float(self.q))})"
        )


class _Combination(Rule):
    """Rules combined element-wise by ``_combine`` (and / or)."""

    rules: tuple[Rule, ...]
    _depth: int

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_depth", 1 + max(_depth_of(rule) for rule in self.rules))

    @abc.abstractmethod
    def _combine(self, a: BoolArray, b: BoolArray) -> BoolArray:
        """Element-wise ``a and b`` or ``a or b``."""

    def features(self) -> frozenset[str]:
        return frozenset().union(*(r.features() for r in self.rules))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "rules": [r.to_dict() for r in self.rules]}

    def _mask(self, ctx: _Context) -> BoolArray:
        result = ctx.mask(self.rules[0])
        for rule in self.rules[1:]:
            result = self._combine(result, ctx.mask(rule))
        return result


@attrs.frozen(kw_only=True)
class AllOf(_Combination):
    """True where every rule is true (``a & b``)."""

    type_name: ClassVar[str] = "all"
    rules: tuple[Rule, ...] = attrs.field(converter=_rules_tuple, validator=_check_rules)
    _depth: int = attrs.field(init=False, default=2, repr=False, eq=False, hash=False)

    def _combine(self, a: BoolArray, b: BoolArray) -> BoolArray:
        return a & b

    def _explain(self, ctx: _Context, row: int, holds: bool) -> str:
        # Holding: every part says why. Failing: the parts that fail say why not.
        parts = [
            r._explain(ctx, row, bool(ctx.mask(r)[row]))
            for r in self.rules
            if holds or not ctx.mask(r)[row]
        ]
        return " and ".join(parts)


@attrs.frozen(kw_only=True)
class AnyOf(_Combination):
    """True where at least one rule is true (``a | b``)."""

    type_name: ClassVar[str] = "any"
    rules: tuple[Rule, ...] = attrs.field(converter=_rules_tuple, validator=_check_rules)
    _depth: int = attrs.field(init=False, default=2, repr=False, eq=False, hash=False)

    def _combine(self, a: BoolArray, b: BoolArray) -> BoolArray:
        return a | b

    def _explain(self, ctx: _Context, row: int, holds: bool) -> str:
        # Holding: the parts that hold say why. Failing: every part says why not.
        parts = [
            r._explain(ctx, row, bool(ctx.mask(r)[row]))
            for r in self.rules
            if not holds or ctx.mask(r)[row]
        ]
        return " and ".join(parts) if not holds else " or ".join(parts)


def _check_rule(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Rule):
        raise ValidationError("Not.rule", value, "a Rule")
    _check_depth("Not.rule", (value,))


@attrs.frozen(kw_only=True)
class Not(Rule):
    """True where the rule is false (``~a``)."""

    type_name: ClassVar[str] = "not"
    rule: Rule = attrs.field(validator=_check_rule)
    _depth: int = attrs.field(init=False, default=2, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_depth", 1 + _depth_of(self.rule))

    def features(self) -> frozenset[str]:
        return self.rule.features()

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "rule": self.rule.to_dict()}

    def _mask(self, ctx: _Context) -> BoolArray:
        return ~ctx.mask(self.rule)

    def _explain(self, ctx: _Context, row: int, holds: bool) -> str:
        # The inner rule's own wording already states the negation with the values.
        return self.rule._explain(ctx, row, not holds)


@attrs.frozen(kw_only=True)
class Always(Rule):
    """True for every customer: a catch-all segment's rule."""

    type_name: ClassVar[str] = "always"

    def features(self) -> frozenset[str]:
        return frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name}

    def _mask(self, ctx: _Context) -> BoolArray:
        return np.ones(ctx.length(), dtype=np.bool_)

    def _explain(self, ctx: _Context, row: int, holds: bool) -> str:
        return "every customer qualifies"


class Feature:
    """A builder for rules on one feature: ``feature("x") > 5``, ``.between(1, 3)``.

    >>> feature("frequency") >= 2
    Compare(feature='frequency', op='>=', value=2, label=None)
    >>> feature("annual_spend").top(0.2)
    QuantileCut(feature='annual_spend', op='>', q=0.8, label=None)
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("feature", name, "a feature name")
        self.name = name

    def __gt__(self, value: float) -> Compare:
        return Compare(feature=self.name, op=">", value=value)

    def __ge__(self, value: float) -> Compare:
        return Compare(feature=self.name, op=">=", value=value)

    def __lt__(self, value: float) -> Compare:
        return Compare(feature=self.name, op="<", value=value)

    def __le__(self, value: float) -> Compare:
        return Compare(feature=self.name, op="<=", value=value)

    def eq(self, value: float, *, label: str | None = None) -> Compare:
        """``feature == value`` (a method, so that ``==`` keeps its usual meaning)."""
        return Compare(feature=self.name, op="==", value=value, label=label)

    def ne(self, value: float, *, label: str | None = None) -> Compare:
        """``feature != value``."""
        return Compare(feature=self.name, op="!=", value=value, label=label)

    def between(self, low: float, high: float, *, closed: str = "left") -> Between:
        """``low <= feature < high`` (see :class:`Between` for ``closed``)."""
        return Between(feature=self.name, low=low, high=high, closed=closed)

    def top(self, fraction: float) -> QuantileCut:
        """Above the ``1 - fraction`` quantile: the top ``fraction`` of customers."""
        _check_fraction(fraction)
        return QuantileCut(feature=self.name, op=">", q=round(1.0 - fraction, 12))

    def bottom(self, fraction: float) -> QuantileCut:
        """At or below the ``fraction`` quantile: the bottom ``fraction`` of customers."""
        _check_fraction(fraction)
        return QuantileCut(feature=self.name, op="<=", q=fraction)

    def __repr__(self) -> str:
        return f"feature({self.name!r})"


def _check_fraction(fraction: Any) -> None:
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or not 0 <= fraction <= 1
    ):
        raise ValidationError("fraction", fraction, "a fraction between 0 and 1")


def feature(name: str) -> Feature:
    """Start a rule on the column ``name`` (see :class:`Feature`)."""
    return Feature(name)


_TYPES: dict[str, type[Rule]] = {
    cls.type_name: cls for cls in (Compare, Between, QuantileCut, AllOf, AnyOf, Not, Always)
}


def rule_from_dict(data: Mapping[str, Any], *, path: str = "rule") -> Rule:
    """Build a rule from :meth:`Rule.to_dict`'s form.

    Args:
        data: the mapping.
        path: how errors name this place (nested rules extend it: ``rule.rules[1]``).

    Raises:
        ValidationError: an unknown type, a missing or unexpected key, a bad value, or
            rules nested deeper than :data:`MAX_RULE_DEPTH`; the error's ``field`` is
            the dotted path to it.
    """
    return _rule_from_dict(data, path, 1)


def _rule_from_dict(data: Mapping[str, Any], path: str, depth: int) -> Rule:
    if depth > MAX_RULE_DEPTH:
        raise ValidationError(
            path, f"rules nested {depth} deep", f"rules nested at most {MAX_RULE_DEPTH} deep"
        )
    if not isinstance(data, Mapping):
        raise ValidationError(path, data, "a mapping describing a rule")
    kind = data.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError(f"{path}.type", kind, f"one of {', '.join(sorted(_TYPES))}")
    fields = {a.name for a in attrs.fields(cast(Any, cls)) if a.init}
    unknown = sorted(set(data) - fields - {"type"}, key=str)  # keys may be of any type
    if unknown:
        raise ValidationError(f"{path}", unknown, f"only the keys {sorted(fields | {'type'})}")
    kwargs: dict[str, Any] = {k: v for k, v in data.items() if k != "type"}
    if cls in (AllOf, AnyOf):
        rules = kwargs.get("rules")
        if not isinstance(rules, Sequence) or isinstance(rules, str):
            raise ValidationError(f"{path}.rules", rules, "a list of rules")
        kwargs["rules"] = tuple(
            _rule_from_dict(r, f"{path}.rules[{i}]", depth + 1) for i, r in enumerate(rules)
        )
    elif cls is Not:
        kwargs["rule"] = _rule_from_dict(kwargs.get("rule"), f"{path}.rule", depth + 1)  # type: ignore[arg-type]
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a missing required key
        missing = sorted(fields - set(kwargs) - {"label", "closed"})
        raise ValidationError(path, dict(data), f"the keys {missing}") from exc
    except ValidationError as exc:
        leaf = exc.field.split(".")[-1]
        raise ValidationError(f"{path}.{leaf}", exc.value, exc.expected) from exc


def rule_from_json(text: str) -> Rule:
    """:func:`rule_from_dict` on JSON text.

    Raises:
        ValidationError: not JSON, or not a valid rule.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValidationError("rule", text, "JSON text describing a rule") from exc
    except RecursionError:
        raise ValidationError("rule", text, "JSON nested under 1,000 levels") from None
    return rule_from_dict(data)
