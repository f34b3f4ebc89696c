"""Segmentation schemes: ordered rules that put every customer in exactly one segment.

A :class:`Scheme` is a list of named :class:`Segment` rules and a default segment.
Each customer goes to the **first** segment whose rule holds, or to the default when
none does, so a scheme is a partition whatever the rules overlap: put the narrower
segment first ("core" before "potential"). :meth:`Scheme.assign` is vectorised (one
pass per rule, never per customer) and returns a :class:`Segmentation`, which counts
segments and explains any one customer's membership with their actual values.

Schemes are data: :meth:`Scheme.to_dict` / :meth:`Scheme.from_dict` (and JSON)
round-trip them, so hosts keep them in configuration.

>>> from custmgmt.segmentation.rules import feature
>>> from custmgmt.segmentation.table import Columns
>>> scheme = Scheme(
...     name="value",
...     segments=[Segment(name="high", rule=feature("annual_spend") > 50_000)],
...     default="low",
... )
>>> seg = scheme.assign(Columns(["c1", "c2"], {"annual_spend": [52_000, 900]}))
>>> seg.sizes()
{'high': 1, 'low': 1}
>>> seg.explain("c1")
'high because annual spend 52,000 > 50,000'
>>> seg.explain("c2")
'low because no rule matched: high (annual spend 900 <= 50,000)'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import Coded, FrameExport
from custmgmt.notebook.display import Report, Table, counts_table, short_repr
from custmgmt.segmentation.rules import Rule, _Context, _find_row, rule_from_dict

__all__ = ["MAX_SEGMENTS", "Scheme", "Segment", "Segmentation"]

#: The most segments a scheme may have: :attr:`Segmentation.codes` are int16, and the
#: default segment takes the code after the last rule's.
MAX_SEGMENTS = int(np.iinfo(np.int16).max)
_SEGMENT_KEYS = frozenset({"name", "rule", "description"})
_SCHEME_KEYS = frozenset({"name", "segments", "default", "description"})


def _check_keys(path: str, data: Mapping[Any, Any], allowed: frozenset[str]) -> None:
    unknown = sorted((key for key in data if key not in allowed), key=str)  # any key type
    if unknown:
        raise ValidationError(path, unknown, f"only the keys {sorted(allowed)}")


def _check_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, "a non-blank name"
        )


def _check_rule(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Rule):
        raise ValidationError("Segment.rule", value, "a Rule")


def _check_text(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"{type(instance).__name__}.{attribute.name}", value, "a text")


@attrs.frozen(kw_only=True)
class Segment:
    """One named segment of a scheme and the rule that admits customers to it.

    Attributes:
        name: the segment's name, unique in its scheme.
        rule: who belongs (unless an earlier segment of the scheme took them).
        description: free text for people reading the configuration.
    """

    name: str = attrs.field(validator=_check_name)
    rule: Rule = attrs.field(validator=_check_rule)
    description: str = attrs.field(default="", validator=_check_text)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (see :meth:`Scheme.to_dict`)."""
        data: dict[str, Any] = {"name": self.name, "rule": self.rule.to_dict()}
        if self.description:
            data["description"] = self.description
        return data


def _to_segments(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _check_segments(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValidationError("Scheme.segments", value, "a non-empty sequence of Segment")
    if len(value) >= MAX_SEGMENTS:
        raise ValidationError(
            "Scheme.segments",
            f"{len(value):,} segments",
            f"at most {MAX_SEGMENTS - 1:,} segments (and the default)",
        )
    seen: set[str] = set()
    for i, segment in enumerate(value):
        if not isinstance(segment, Segment):
            raise ValidationError(f"Scheme.segments[{i}]", segment, "a Segment")
        if segment.name in seen:
            raise ValidationError(f"Scheme.segments[{i}].name", segment.name, "a unique name")
        seen.add(segment.name)


@attrs.frozen(kw_only=True)
class Scheme:
    """Ordered segment rules plus a default: a partition of the customers.

    Attributes:
        name: the scheme's name (``"value tiers"``).
        segments: tried in order; a customer joins the first whose rule holds.
        default: the segment of customers no rule admits; not one of the segment names.
        description: free text.

    Raises:
        ValidationError: no segments, more than :data:`MAX_SEGMENTS` - 1, duplicate
            names, or a default equal to a segment.
    """

    name: str = attrs.field(validator=_check_name)
    segments: tuple[Segment, ...] = attrs.field(converter=_to_segments, validator=_check_segments)
    default: str = attrs.field(validator=_check_name)
    description: str = attrs.field(default="", validator=_check_text)

    def __attrs_post_init__(self) -> None:
        if self.default in self.segment_names[:-1]:
            raise ValidationError(
                "Scheme.default", self.default, "a name different from every segment's"
            )

    @property
    def segment_names(self) -> tuple[str, ...]:
        """Every segment name, the default last: the order of :class:`Segmentation` codes."""
        return (*(s.name for s in self.segments), self.default)

    def features(self) -> frozenset[str]:
        """The feature columns the scheme's rules read."""
        return frozenset().union(*(s.rule.features() for s in self.segments))

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """The segments in the order they are tried, with their rules."""
        report = Report(f"Segment scheme: {self.name}", facts=[("default", self.default)])
        rows = tuple(
            (i + 1, seg.name, seg.rule.to_json(), seg.description)
            for i, seg in enumerate(self.segments)
        )
        report.add(Table(caption="segments, first matching rule wins",
                         header=("order", "segment", "rule", "description"), rows=rows))
        return report

    def assign(self, table: Any) -> Segmentation:
        """Put every customer of ``table`` in one segment (first matching rule).

        Raises:
            ValidationError: a rule names a feature the table lacks.
        """
        ctx = _Context(table)
        n = ctx.length()
        codes = np.full(n, len(self.segments), dtype=np.int16)
        unassigned = np.ones(n, dtype=np.bool_)
        for code, segment in enumerate(self.segments):
            hit = ctx.mask(segment.rule) & unassigned
            codes[hit] = code
            unassigned &= ~hit
        ids = getattr(table, "customer_ids", None)
        return Segmentation(
            scheme=self,
            customer_ids=np.arange(n) if ids is None else np.asarray(ids),
            codes=codes,
            table=table,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` turns back into an equal scheme."""
        data: dict[str, Any] = {
            "name": self.name,
            "segments": [s.to_dict() for s in self.segments],
            "default": self.default,
        }
        if self.description:
            data["description"] = self.description
        return data

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scheme:
        """Build a scheme from :meth:`to_dict`'s form.

        Raises:
            ValidationError: a missing or unknown key or a bad rule, with the path to it.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("scheme", data, "a mapping")
        _check_keys("scheme", data, _SCHEME_KEYS)
        segments = data.get("segments")
        if not isinstance(segments, Sequence) or isinstance(segments, str):
            raise ValidationError("scheme.segments", segments, "a list of segments")
        built = []
        for i, item in enumerate(segments):
            if not isinstance(item, Mapping):
                raise ValidationError(f"scheme.segments[{i}]", item, "a mapping")
            _check_keys(f"scheme.segments[{i}]", item, _SEGMENT_KEYS)
            built.append(
                Segment(
                    name=item.get("name"),  # type: ignore[arg-type]
                    rule=rule_from_dict(item.get("rule"), path=f"scheme.segments[{i}].rule"),  # type: ignore[arg-type]
                    description=item.get("description", ""),
                )
            )
        return cls(
            name=data.get("name"),  # type: ignore[arg-type]
            segments=built,
            default=data.get("default"),  # type: ignore[arg-type]
            description=data.get("description", ""),
        )

    @classmethod
    def from_json(cls, text: str) -> Scheme:
        """:meth:`from_dict` on JSON text."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ValidationError("scheme", text, "JSON text describing a scheme") from exc
        except RecursionError:
            raise ValidationError("scheme", text, "JSON nested under 1,000 levels") from None
        return cls.from_dict(data)


@attrs.frozen(kw_only=True, eq=False)
class Segmentation(FrameExport):
    """The result of :meth:`Scheme.assign`: one segment per customer.

    Attributes:
        scheme: the scheme applied.
        customer_ids: the customers, in the table's order.
        codes: per customer, an index into ``scheme.segment_names``.
        table: the feature table evaluated (kept to explain memberships).
    """

    scheme: Scheme
    customer_ids: NDArray[Any]
    codes: NDArray[np.int16]
    table: Any = attrs.field(repr=False)

    def __repr__(self) -> str:
        return short_repr(
            "Segmentation", scheme=self.scheme.name, customers=len(self.codes),
            segments=len(self.names),
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Customers per segment, in scheme order."""
        report = Report(
            f"Segmentation: {self.scheme.name}",
            facts=[("customers", len(self.codes)), ("segments", len(self.names))],
        )
        report.add(counts_table("customers per segment", "segment", self.sizes()))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id`` and ``segment``
        (categorical)."""
        return {"customer_id": self.customer_ids, "segment": Coded(self.codes, self.names)}

    @property
    def names(self) -> tuple[str, ...]:
        """The segment names (codes index into them)."""
        return self.scheme.segment_names

    @property
    def labels(self) -> NDArray[np.str_]:
        """Per customer, the segment's name."""
        return np.asarray(self.names, dtype=np.str_)[self.codes]

    def sizes(self) -> dict[str, int]:
        """Customers per segment, every segment listed (zero included), scheme order."""
        counts = np.bincount(self.codes, minlength=len(self.names))
        return {name: int(c) for name, c in zip(self.names, counts, strict=True)}

    def shares(self) -> dict[str, float]:
        """Fraction of customers per segment (0 for every segment when there are none)."""
        total = max(int(self.codes.shape[0]), 1)
        return {name: count / total for name, count in self.sizes().items()}

    def members(self, segment: str) -> NDArray[Any]:
        """The ids of one segment's customers.

        Raises:
            ValidationError: not a segment of this scheme.
        """
        return np.asarray(self.customer_ids[self.codes == self._code(segment)])

    def segment_of(self, customer_id: Any) -> str:
        """The segment of one customer.

        Raises:
            ValidationError: the customer is not in the table.
        """
        return self.names[int(self.codes[self._row(customer_id)])]

    def explain(self, customer_id: Any) -> str:
        """Why a customer is in their segment, with their values.

        For a rule segment: the rule's explanation. For the default: why each rule
        failed. Earlier segments that the customer failed are not repeated for a rule
        segment: the first match is the reason.

        Raises:
            ValidationError: the customer is not in the table.
        """
        ctx = _Context(self.table)
        row = self._row(customer_id)
        code = int(self.codes[row])
        if code < len(self.scheme.segments):
            segment = self.scheme.segments[code]
            return f"{segment.name} because {segment.rule._explain(ctx, row, True)}"
        failed = "; ".join(
            f"{s.name} ({s.rule._explain(ctx, row, bool(ctx.mask(s.rule)[row]))})"
            for s in self.scheme.segments
        )
        return f"{self.scheme.default} because no rule matched: {failed}"

    def _row(self, customer_id: Any) -> int:
        return _find_row(self.table, _Context(self.table), customer_id)

    def _code(self, segment: str) -> int:
        try:
            return self.names.index(segment)
        except ValueError:
            raise ValidationError("segment", segment, f"one of {', '.join(self.names)}") from None
