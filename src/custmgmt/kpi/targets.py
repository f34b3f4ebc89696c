"""Targets as data: a KPI, a kind (a level or a change from the baseline) and a value.

>>> Target("return_rate", "change", -0.10).describe()
'return_rate -10% vs baseline'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from custmgmt.domain.money import currency_digits
from custmgmt.errors import ValidationError
from custmgmt.kpi import measures as m
from custmgmt.kpi.figures import Figure

__all__ = [
    "AOV_BAND_EDGES",
    "DEFAULT_TARGETS",
    "KPI_LABELS",
    "LOWER_IS_BETTER",
    "Target",
    "TargetResult",
    "evaluate",
]

#: Every KPI of a report: name -> (English label, Chinese label, unit).
KPI_LABELS: dict[str, tuple[str, str, str]] = {
    "satisfaction_share": ("Customer satisfaction (4-5 stars)", "客户满意度", "share"),
    "satisfaction_mean": ("Mean satisfaction score", "平均满意度评分", "score"),
    "repeat_purchase_rate": ("Repeat-purchase rate", "重复购买率", "share"),
    "repurchase_rate": ("Repurchase rate (returning buyers)", "复购率", "share"),
    "referral_rate": ("Referral rate", "推荐率", "share"),
    "retention_rate": ("Retention rate", "客户留存率", "share"),
    "churn_rate": ("Churn rate", "客户流失率", "share"),
    "net_sales": ("Net sales", "销售额", "money"),
    "orders": ("Counted orders", "订单数", "count"),
    "buyers": ("Buyers", "购买客户数", "count"),
    "average_order_value": ("Average order value", "平均订单价值", "money"),
    "return_rate": ("Return rate", "退货率", "share"),
    "cancellation_rate": ("Cancellation rate", "取消率", "share"),
    "high_value_ratio": ("High-value customer share", "高价值客户占比", "share"),
    "complaint_rate": ("Complaint rate", "投诉率", "share"),
    "sla_attainment": ("Ticket SLA attainment", "工单SLA达成率", "share"),
}
#: KPIs where a fall is an improvement.
LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"churn_rate", "return_rate", "cancellation_rate", "complaint_rate"}
)
#: AOV band edges in major units: ``<100``, ``100-300``, ``300-1000``, ``1000+``.
AOV_BAND_EDGES: tuple[int, ...] = (100, 300, 1000)
_KINDS = ("level", "change")


@attrs.frozen
class Target:
    """A goal for one KPI: reach a ``level`` or a relative ``change`` from the baseline.

    ``Target("return_rate", "change", -0.10)`` asks for a return rate 10% lower than
    the baseline's; ``Target("satisfaction_share", "level", 0.9)`` for 90% satisfied.
    The KPI's direction decides: a KPI where lower is better (:data:`LOWER_IS_BETTER`)
    meets its target at or below it, any other KPI at or above it (so
    ``Target("net_sales", "change", -0.3)`` accepts a fall of up to 30%).
    A money KPI's level (``net_sales``, ``average_order_value``) is in major units of
    the report's currency: ``Target("average_order_value", "level", 36.5)`` asks for an
    AOV of at least 36.500 in a KWD report, 36.50 in a CNY one.

    Raises:
        ValidationError: an unknown KPI or kind, or a value that is not a finite number.
    """

    kpi: str
    kind: str
    value: float

    def __attrs_post_init__(self) -> None:
        # Read from JSON or TOML, a name may be a list or a mapping (unhashable) and a
        # number an integer too large for a float: both are refused here, not later.
        if not isinstance(self.kpi, str) or self.kpi not in KPI_LABELS:
            raise ValidationError("Target.kpi", self.kpi, f"one of {', '.join(KPI_LABELS)}")
        if not isinstance(self.kind, str) or self.kind not in _KINDS:
            raise ValidationError("Target.kind", self.kind, "'level' or 'change'")
        value: object = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Target.value", value, "a finite number")
        try:
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        if not finite:
            shown = value if isinstance(value, float) else \
                f"an integer of {len(str(abs(value)))} digits"
            raise ValidationError("Target.value", shown, "a finite number")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """``{"kpi": ..., "kind": ..., "value": ...}`` (as in a JSON or TOML file)."""
        if not isinstance(data, Mapping):
            raise ValidationError("target", data, "a mapping with kpi, kind and value")
        return cls(data.get("kpi", ""), data.get("kind", ""), data.get("value"))  # type: ignore[arg-type]

    def describe(self, currency: str | None = None) -> str:
        """``net_sales +10% vs baseline`` / ``satisfaction_share >= 90.0%`` /
        ``average_order_value >= 36.500 KWD``: a money level at ``currency``'s minor-unit
        digits, or at its own when it has more (as written, every digit kept, without a
        currency).

        >>> Target("net_sales", "level", 1234567.891).describe("KWD")
        'net_sales >= 1,234,567.891 KWD'
        >>> Target("net_sales", "level", 1234567).describe("JPY")
        'net_sales >= 1,234,567 JPY'
        >>> Target("average_order_value", "level", 5399.4).describe("JPY")
        'average_order_value >= 5,399.4 JPY'

        Raises:
            ValidationError: ``currency`` is not an ISO 4217 code.
        """
        if self.kind == "change":
            return f"{self.kpi} {self.value:+.0%} vs baseline"
        op = "<=" if self.kpi in LOWER_IS_BETTER else ">="
        unit = KPI_LABELS[self.kpi][2]
        if unit == "share":
            return f"{self.kpi} {op} {self.value:.1%}"
        if unit == "money":
            if currency is None:  # not :g, which shows 1234567.891 as 1.23457e+06
                return f"{self.kpi} {op} {self.value:,}"
            major = _major(self.value)
            # A target finer than the minor unit keeps its own digits: rounded, a JPY
            # target of 5399.4 read ">= 5,399" beside an unmet 5,399 (5398.87).
            exponent = major.as_tuple().exponent
            finer = -exponent if isinstance(exponent, int) else 0
            digits = max(currency_digits(currency), finer)
            return f"{self.kpi} {op} {major:,.{digits}f} {currency}"
        return f"{self.kpi} {op} {self.value:g}"


def _major(value: float) -> Decimal:
    """A target's value as the decimal it was written as (``36.5``, not the double's
    expansion), so that formatting and comparing it round once, not twice."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


#: The mission's targets: satisfaction 90%, sales +10%, returns -10%, high-value
#: customers +20%, repurchase +15%.
DEFAULT_TARGETS: tuple[Target, ...] = (
    Target("satisfaction_share", "level", 0.90),
    Target("net_sales", "change", 0.10),
    Target("return_rate", "change", -0.10),
    Target("high_value_ratio", "change", 0.20),
    Target("repurchase_rate", "change", 0.15),
)


@attrs.frozen(kw_only=True)
class TargetResult:
    """How a target fared.

    Attributes:
        target: the target.
        status: ``"met"``, ``"not met"`` or ``"not measurable"``.
        baseline: the KPI in the baseline period.
        current: the KPI in the current period.
        change: the relative change from baseline to current.
        reason: why it is not measurable (None otherwise).
    """

    target: Target
    status: str
    baseline: Figure
    current: Figure
    change: Figure
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"kpi": self.target.kpi, "kind": self.target.kind, "value": self.target.value,
                "status": self.status, "baseline": self.baseline.to_dict(),
                "current": self.current.to_dict(), "change": self.change.to_dict(),
                "reason": self.reason}


def evaluate(
    target: Target, baseline: Figure, current: Figure, *, currency: str = "CNY"
) -> TargetResult:
    """How ``target`` fared between the two figures.

    A money level (in major units of ``currency``) is compared with the money figures
    (minor units) exactly: ``36.5`` KWD is ``36500`` fils.

    Raises:
        ValidationError: ``currency`` is not an ISO 4217 code.
    """
    digits = currency_digits(currency)
    change = m.growth(current, baseline)
    lower = target.kpi in LOWER_IS_BETTER

    def result(status: str, reason: str | None = None) -> TargetResult:
        return TargetResult(target=target, status=status, baseline=baseline, current=current,
                            change=change, reason=reason)

    if target.kind == "level":
        if current.value is None:
            return result("not measurable", f"current period: {current.reason}")
        goal: Decimal | float = target.value
        measured: Decimal | float = current.value
        if KPI_LABELS[target.kpi][2] == "money":
            goal = _major(target.value).scaleb(digits)
            exact = current.numerator  # a total's exact int64 sum
            measured = (Decimal(exact) if exact is not None and float(exact) == current.value
                        else Decimal(current.value))
        ok = measured <= goal if lower else measured >= goal
        return result("met" if ok else "not met")
    if change.value is None:
        return result("not measurable", change.reason)
    ok = change.value <= target.value if lower else change.value >= target.value
    return result("met" if ok else "not met")


