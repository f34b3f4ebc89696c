"""Did follow-ups change anything? Followed-up customers against comparable ones.

Customers followed up in a period are compared with customers who were not, *matched*
on segment, star level and prior-spend band (the quintile of their spend before the
period, cut on all customers): exact matching into strata. Within each stratum the
estimate is a difference in differences: the followed-up customers' mean change
(after minus before) less the others' mean change, which removes what differs between
the groups before and what changes for everyone. The strata's estimates are averaged
with the number of followed-up customers in each as weights (the effect on those
followed up). Followed-up customers in a stratum with nobody to compare with are left
out and counted as ``unmatched``.

Each measure (purchases, spend, satisfaction) gets a seeded bootstrap interval that
resamples customers within their stratum and group (:mod:`custmgmt.campaigns.stats`),
and a normal p-value from the stratified variance. Satisfaction uses only the
customers with a score both before and after. The spend change is printed at the
currency's minor-unit digits (``currency``: KWD ``+1.234``, JPY ``+1,234``), purchases
and satisfaction with two decimals.

This matches on what is observed; a follow-up aimed at customers for reasons the
strata do not capture (staff chose those about to buy) is not corrected. Say so when
reporting.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.campaigns.stats import DEFAULT_REPLICATES, Uplift, bootstrap_interval
from custmgmt.domain.money import currency_digits
from custmgmt.errors import ValidationError

__all__ = ["FollowUpEffect", "evaluate_followup_effect", "spend_bands"]

_MEASURES = ("purchases", "spend", "satisfaction")


def spend_bands(prior_spend: NDArray[Any], bands: int = 5) -> NDArray[np.int64]:
    """The prior-spend band of every customer: 0 for no spend, then quantile bands 1..bands
    of the spenders (``np.partition`` finds the cut points).

    Raises:
        ValidationError: ``prior_spend`` is not a 1-d array of finite numbers, or
            ``bands`` is not a positive integer.
    """
    if isinstance(bands, bool) or not isinstance(bands, int | np.integer) or bands < 1:
        raise ValidationError("bands", bands, "a positive number of bands")
    try:
        x = np.asarray(prior_spend, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("prior_spend", type(prior_spend).__name__, "numbers") from None
    if x.ndim != 1:
        raise ValidationError("prior_spend", x.shape, "a 1-d array, one value per customer")
    if not np.isfinite(x).all():
        raise ValidationError("prior_spend", "non-finite values", "finite amounts")
    out = np.zeros(x.size, dtype=np.int64)
    spenders = x > 0
    if spenders.sum() == 0:
        return out
    values = x[spenders]
    k = [round(q * (values.size - 1)) for q in np.linspace(0, 1, bands + 1)[1:-1]]
    cuts = np.partition(values, k)[k] if k else np.zeros(0)
    out[spenders] = 1 + np.searchsorted(cuts, values, side="right")
    return out


@attrs.frozen(kw_only=True)
class FollowUpEffect:
    """The follow-ups' effect on each measure, with how many customers it rests on.

    Attributes:
        purchases, spend, satisfaction: the effect per followed-up customer (an
            :class:`~custmgmt.campaigns.stats.Uplift` whose ``treated``/``control``
            are the weighted mean changes), or None without data.
        followed: followed-up customers.
        matched: of them, those with a comparable customer.
        unmatched: those without.
        controls: comparable customers not followed up, in the matched strata.
        strata: strata with both groups.
        currency: the currency of the spend (major units), whose minor-unit digits it
            is shown with; None when not given (two decimals).

    Raises:
        ValidationError: ``currency`` is not None or an ISO 4217 code.
    """

    purchases: Uplift | None
    spend: Uplift | None
    satisfaction: Uplift | None
    followed: int
    matched: int
    unmatched: int
    controls: int
    strata: int
    currency: str | None = attrs.field(default=None)

    @currency.validator
    def _check_currency(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            currency_digits(value, "FollowUpEffect.currency")

    def lines(self) -> list[str]:
        """The result as printable lines."""
        out = [(
            f"followed up {self.followed:,}: matched {self.matched:,} "
            f"(unmatched {self.unmatched:,}) against {self.controls:,} comparable customers "
            f"in {self.strata:,} strata (segment x stars x prior-spend band)"
        )]
        money = 2 if self.currency is None else currency_digits(self.currency)
        for name in _MEASURES:
            u = getattr(self, name)
            if u is None:
                out.append(f"{name}: n/a")
            else:
                d = money if name == "spend" else 2
                out.append(
                    f"{name}: change {u.treated:+,.{d}f} followed vs {u.control:+,.{d}f} "
                    f"others; effect {u.estimate:+,.{d}f} [{u.low:+,.{d}f}, {u.high:+,.{d}f}] "
                    f"({u.confidence:.0%} {u.method}), p={u.p_value:.3g}"
                )
        return out


def _strata(*keys: NDArray[Any]) -> tuple[NDArray[np.int64], int]:
    stacked = np.stack(
        [np.unique(np.asarray(k), return_inverse=True)[1].ravel() for k in keys]
    )
    _, codes = np.unique(stacked, axis=1, return_inverse=True)
    codes = codes.ravel().astype(np.int64)
    return codes, int(codes.max()) + 1 if codes.size else 0


def _did(
    change: NDArray[np.float64],
    followed: NDArray[np.bool_],
    stratum: NDArray[np.int64],
    n_strata: int,
    *,
    replicates: int,
    seed: int,
    confidence: float,
    metric: str,
    digits: int = 2,
) -> Uplift | None:
    ok = np.isfinite(change)
    change, followed, stratum = change[ok], followed[ok], stratum[ok]
    t_n = np.bincount(stratum[followed], minlength=n_strata)
    c_n = np.bincount(stratum[~followed], minlength=n_strata)
    both = (t_n > 0) & (c_n > 0)
    if not both.any():
        return None
    keep = both[stratum]
    change, followed, stratum = change[keep], followed[keep], stratum[keep]
    cells = stratum * 2 + (~followed).astype(np.int64)
    n_cells = 2 * n_strata
    weights = t_n * both / (t_n * both).sum()

    def estimate(values: NDArray[np.float64], idx: NDArray[np.int64] | None = None) -> Any:
        # One row per replicate (or the data itself): per-cell means, then the
        # weighted difference of the followed and other means per stratum.
        rows = values[None, :] if idx is None else values[idx]
        row_cells = cells[None, :] if idx is None else cells[idx]
        k = rows.shape[0]
        offsets = (np.arange(k) * n_cells)[:, None]
        sums = np.bincount((row_cells + offsets).ravel(), weights=rows.ravel(),
                           minlength=k * n_cells).reshape(k, n_cells)
        counts = np.bincount(cells, minlength=n_cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        t_mean, c_mean = means[:, 0::2], means[:, 1::2]
        t_part = np.nansum(np.where(both, t_mean, 0) * weights, axis=1)
        c_part = np.nansum(np.where(both, c_mean, 0) * weights, axis=1)
        return t_part, c_part

    t_hat, c_hat = estimate(change)
    d = float(t_hat[0] - c_hat[0])

    def statistic(idx: NDArray[np.int64]) -> NDArray[np.float64]:
        t, c = estimate(change, idx)
        return np.asarray(t - c)

    low, high, _ = bootstrap_interval(
        statistic, cells, n_cells, replicates=replicates, seed=seed, confidence=confidence
    )
    var = 0.0
    for s in np.flatnonzero(both).tolist():
        a = change[(stratum == s) & followed]
        b = change[(stratum == s) & ~followed]
        va = a.var(ddof=1) / a.size if a.size > 1 else 0.0
        vb = b.var(ddof=1) / b.size if b.size > 1 else 0.0
        var += float(weights[s]) ** 2 * (va + vb)
    se = math.sqrt(var)
    p_value = (1.0 if d == 0 else 0.0) if se == 0 else math.erfc(abs(d / se) / math.sqrt(2))
    return Uplift(
        metric=metric, treated=float(t_hat[0]), control=float(c_hat[0]), estimate=d, low=low,
        high=high, confidence=confidence, p_value=p_value, method="bootstrap",
        n_treated=int(followed.sum()), n_control=int((~followed).sum()), digits=digits,
    )


def evaluate_followup_effect(
    *,
    followed: Any,
    segment: Any,
    stars: Any,
    prior_spend: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = 0.95,
    currency: str | None = None,
) -> FollowUpEffect:
    """Estimate the follow-ups' effect, matched and before/after (see the module docstring).

    Args:
        followed: bool per customer: followed up in the period.
        segment, stars: each customer's segment label and star level.
        prior_spend: spend before the period (any unit), banded by quintile.
        before, after: per measure (``"purchases"``, ``"spend"``, ``"satisfaction"``)
            one value per customer in the window before and after the period start;
            satisfaction may be NaN (no score). A measure may be left out.
        replicates, seed, confidence: the bootstrap's settings.
        currency: the currency of the spend (major units): the printout shows the
            spend change at its minor-unit digits (two decimals when None).

    Raises:
        ValidationError: arrays of different lengths, nobody followed up, no
            measure given, or a ``currency`` that is not an ISO 4217 code.
    """
    money = 2 if currency is None else currency_digits(currency)
    f = np.asarray(followed)
    if f.ndim != 1 or f.dtype != np.bool_:
        raise ValidationError("followed", getattr(f, "dtype", followed), "a 1-d bool array")
    n = f.size
    arrays = {"segment": np.asarray(segment), "stars": np.asarray(stars),
              "prior_spend": np.asarray(prior_spend, dtype=np.float64)}
    for name, arr in arrays.items():
        if arr.shape != (n,):
            raise ValidationError(name, arr.shape, f"one value per customer ({n})")
    if not f.any():
        raise ValidationError("followed", 0, "at least one followed-up customer")
    measures = [m for m in _MEASURES if m in before and m in after]
    if not measures:
        raise ValidationError("before", sorted(before), f"values for one of {list(_MEASURES)}")
    stratum, n_strata = _strata(arrays["segment"].astype(str), arrays["stars"],
                                spend_bands(arrays["prior_spend"]))
    t_n = np.bincount(stratum[f], minlength=n_strata)
    c_n = np.bincount(stratum[~f], minlength=n_strata)
    both = (t_n > 0) & (c_n > 0)
    results: dict[str, Uplift | None] = dict.fromkeys(_MEASURES)
    for i, name in enumerate(measures):
        b = np.asarray(before[name], dtype=np.float64)
        a = np.asarray(after[name], dtype=np.float64)
        if a.shape != (n,) or b.shape != (n,):
            raise ValidationError(f"after[{name!r}]", a.shape, f"one value per customer ({n})")
        results[name] = _did(a - b, f, stratum, n_strata, replicates=replicates,
                             seed=seed + i, confidence=confidence, metric=name,
                             digits=money if name == "spend" else 2)
    matched = int(t_n[both].sum())
    return FollowUpEffect(
        purchases=results["purchases"], spend=results["spend"],
        satisfaction=results["satisfaction"], followed=int(f.sum()), matched=matched,
        unmatched=int(f.sum()) - matched, controls=int(c_n[both].sum()),
        strata=int(both.sum()), currency=currency,
    )
