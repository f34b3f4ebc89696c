"""How good a scorecard is, and whether its population has shifted.

Discrimination (:func:`evaluate`): AUC (the chance that a random good customer
scores above a random bad one, ties counting half), KS (the largest gap between the
good and bad score distributions) and Gini (``2 * AUC - 1``), each with a bootstrap
interval; a calibration table compares each score band's observed bad rate with the
one the card's scaling promises.

Stability (:func:`psi`): the population stability index ``sum((a - e) * ln(a / e))``
over bins, with the usual verdicts: below 0.10 stable, 0.10 to 0.25 watch, from 0.25
shifted. :func:`card_stability` gives it for the score and for every feature's bins.

>>> import numpy as np
>>> y = np.array([1, 1, 0, 0, 0])
>>> round(auc(y, np.array([400, 450, 500, 420, 600])), 4)
0.8333
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.errors import ValidationError
from custmgmt.risk.learn import check_labels
from custmgmt.risk.scorecard import PDOScaling, ScoreBatch, Scorecard

__all__ = [
    "MAX_BOOT",
    "PSI_SHIFT",
    "PSI_WATCH",
    "CalibrationRow",
    "Evaluation",
    "Interval",
    "StabilityReport",
    "auc",
    "calibration_table",
    "card_stability",
    "evaluate",
    "ks",
    "psi",
    "psi_verdict",
]

AnyArray = npt.NDArray[Any]
F64 = npt.NDArray[np.float64]

#: PSI from which a population is worth watching.
PSI_WATCH = 0.10
#: PSI from which a population has shifted (re-fit or re-bin).
PSI_SHIFT = 0.25


def _scores(scores: Any, n: int) -> F64:
    try:
        s = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("scores", scores, f"{n} numeric scores, one per label") from None
    if s.ndim != 1 or len(s) != n:
        raise ValidationError("scores", s.shape, f"{n} scores without NaN, one per label")
    if not np.isfinite(s).all():
        raise ValidationError("scores", s[~np.isfinite(s)][0].item(),
                              f"{n} finite scores (no NaN or infinity), one per label")
    return s


def _quantile(x: F64, levels: Any) -> F64:
    """``np.quantile(x, levels)`` (linear), finite for any finite ``x``.

    numpy interpolates with ``a + (b - a) * t``, and ``b - a`` overflows between values
    of opposite sign near the float limits (``-1e308`` and ``1e308``): inf, or NaN at
    an exact position, with a RuntimeWarning. Those levels are computed again from the
    halved values (exact in binary), whose differences cannot overflow.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        q = np.asarray(np.quantile(x, levels), dtype=np.float64)
        bad = ~np.isfinite(q)
        if bad.any():
            again = np.asarray(np.quantile(x / 2, np.asarray(levels)[bad]), dtype=np.float64)
            q[bad] = np.clip(again * 2, x.min(), x.max())
    return q


def _ranks(s: F64) -> F64:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = np.argsort(s, kind="stable")
    ordered = s[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(s)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auc(y_bad: Any, scores: Any) -> float:
    """P(a good customer scores above a bad one), ties half: higher score = safer."""
    y = check_labels(y_bad)
    s = _scores(scores, len(y))
    good = y == 0
    n_good, n_bad = int(good.sum()), int((~good).sum())
    r = _ranks(s)
    return float((r[good].sum() - n_good * (n_good + 1) / 2) / (n_good * n_bad))


def ks(y_bad: Any, scores: Any) -> float:
    """The largest gap between the cumulative score distributions of goods and bads."""
    y = check_labels(y_bad)
    s = _scores(scores, len(y))
    order = np.argsort(s, kind="stable")
    ys, ss = y[order], s[order]
    last = np.r_[ss[1:] != ss[:-1], True]  # compare only after whole runs of ties
    bad_cdf = np.cumsum(ys)[last] / ys.sum()
    good_cdf = np.cumsum(1 - ys)[last] / (len(ys) - ys.sum())
    return float(np.abs(good_cdf - bad_cdf).max())


@attrs.frozen(kw_only=True)
class Interval:
    """A statistic with a bootstrap percentile interval."""

    value: float
    low: float
    high: float


@attrs.frozen(kw_only=True)
class CalibrationRow:
    """One score band: its counts, observed and expected bad rate."""

    low: float
    high: float
    count: int
    bad: int
    observed: float
    expected: float


@attrs.frozen(kw_only=True)
class Evaluation:
    """AUC, KS and Gini with intervals, and the calibration table."""

    auc: Interval
    ks: Interval
    gini: Interval
    calibration: tuple[CalibrationRow, ...]
    n: int
    bad_rate: float


def calibration_table(
    y_bad: Any, scores: Any, scaling: PDOScaling, bands: int = 10
) -> tuple[CalibrationRow, ...]:
    """Equal-count score bands with observed and expected (from ``scaling``) bad rates."""
    y = check_labels(y_bad)
    s = _scores(scores, len(y))
    if isinstance(bands, bool) or not isinstance(bands, int) or not 1 <= bands <= 100:
        raise ValidationError("bands", bands, "a whole number of bands from 1 to 100")
    cuts = np.unique(_quantile(s, np.linspace(0, 1, bands + 1)[1:-1]))
    idx = np.searchsorted(cuts, s, side="right")
    if not isinstance(scaling, PDOScaling):
        raise ValidationError("scaling", scaling, "a PDOScaling")
    rows = []
    expected = np.asarray(scaling.bad_rate_at_score(s))
    for b in range(len(cuts) + 1):
        inside = idx == b
        count = int(inside.sum())
        if count == 0:
            continue
        bad = int(y[inside].sum())
        rows.append(CalibrationRow(
            low=float(s[inside].min()), high=float(s[inside].max()), count=count, bad=bad,
            observed=bad / count, expected=float(expected[inside].mean()),
        ))
    return tuple(rows)


#: The most bootstrap resamples :func:`evaluate` draws: beyond it the intervals barely
#: move, and an unbounded count would loop for as long as the caller's number says.
MAX_BOOT: Final = 100_000


def evaluate(
    y_bad: Any,
    scores: Any,
    *,
    scaling: PDOScaling | None = None,
    n_boot: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    max_boot_rows: int = 200_000,
) -> Evaluation:
    """AUC, KS and Gini with bootstrap intervals, plus a calibration table.

    Args:
        y_bad: 1 for bad, 0 for good.
        scores: one score per label (higher = safer).
        scaling: the card's scaling, for the calibration's expected bad rates
            (default: :class:`PDOScaling` defaults).
        n_boot: bootstrap resamples, 0 to :data:`MAX_BOOT` (0: the interval is the
            point value).
        confidence: the interval's coverage.
        seed: the resampling seed (results are reproducible).
        max_boot_rows: resamples draw at most this many rows (a subsample of a very
            large table), which keeps the intervals affordable; the point values use
            every row.
    """
    y = check_labels(y_bad)
    s = _scores(scores, len(y))
    if scaling is not None and not isinstance(scaling, PDOScaling):
        raise ValidationError("scaling", scaling, "a PDOScaling or None")
    if (isinstance(n_boot, bool) or not isinstance(n_boot, int)
            or not 0 <= n_boot <= MAX_BOOT):
        raise ValidationError("n_boot", n_boot, f"a whole number of resamples from 0 to "
                              f"{MAX_BOOT}")
    if not isinstance(confidence, float) or not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "a coverage between 0 and 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError("seed", seed, "a whole number >= 0")
    if (isinstance(max_boot_rows, bool) or not isinstance(max_boot_rows, (int, np.integer))
            or max_boot_rows < 1):
        raise ValidationError("max_boot_rows", max_boot_rows, "a whole number of rows >= 1")
    point_auc, point_ks = auc(y, s), ks(y, s)
    rng = np.random.default_rng(seed)
    draws: list[tuple[float, float]] = []
    m = min(len(y), max_boot_rows)
    for _ in range(n_boot):
        pick = rng.integers(0, len(y), size=m)
        yb = y[pick]
        total_bad = int(yb.sum())
        if total_bad in (0, m):
            continue
        draws.append((auc(yb, s[pick]), ks(yb, s[pick])))
    alpha = (1 - confidence) / 2

    def interval(value: float, column: int, transform: Any = None) -> Interval:
        if not draws:
            return Interval(value=value, low=value, high=value)
        xs = np.array([d[column] for d in draws])
        if transform is not None:
            xs = transform(xs)
        lo, hi = np.quantile(xs, [alpha, 1 - alpha])
        return Interval(value=value, low=float(lo), high=float(hi))

    return Evaluation(
        auc=interval(point_auc, 0),
        ks=interval(point_ks, 1),
        gini=interval(2 * point_auc - 1, 0, lambda a: 2 * a - 1),
        calibration=calibration_table(y, s, scaling or PDOScaling()),
        n=len(y),
        bad_rate=float(y.mean()),
    )


def psi_verdict(value: float) -> str:
    """``"stable"`` below 0.10, ``"watch"`` below 0.25, else ``"shift"``."""
    if math.isnan(value):
        return "unknown"
    return "stable" if value < PSI_WATCH else "watch" if value < PSI_SHIFT else "shift"


def psi(expected: Any, actual: Any, *, bins: int | Sequence[float] = 10,
        floor: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Args:
        expected: the reference values (or, with integer dtype and ``bins`` as an int
            of categories, category codes).
        actual: the current values.
        bins: the number of quantile bins of ``expected``, or explicit inner edges.
        floor: the smallest share a bin counts with (an empty bin would give
            infinity).
    """
    try:
        e = np.asarray(expected, dtype=np.float64)
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("expected", (expected, actual),
                              "two numeric columns (NaN for missing)") from None
    if e.ndim != 1 or a.ndim != 1 or len(e) == 0 or len(a) == 0:
        raise ValidationError("expected", e.shape, "two non-empty 1-d columns")
    for name, x in (("expected", e), ("actual", a)):
        if np.isinf(x).any():
            raise ValidationError(name, "inf", "finite values or NaN (missing)")
    if (isinstance(floor, bool) or not isinstance(floor, (int, float))
            or not 0 < floor < 1):
        # 0 would give ln(0 / 0) for a bin empty on both sides: NaN with a warning.
        raise ValidationError("floor", floor, "a share between 0 and 1 (exclusive)")
    if isinstance(bins, bool):
        raise ValidationError("bins", bins, "1 to 100 bins, or explicit edges")
    if isinstance(bins, int):
        if not 1 <= bins <= 100:
            raise ValidationError("bins", bins, "1 to 100 bins, or explicit edges")
        valid = e[~np.isnan(e)]
        edges = np.unique(_quantile(valid, np.linspace(0, 1, bins + 1)[1:-1])) if len(
            valid) else np.zeros(0)
    else:
        try:
            edges = np.unique(np.asarray(bins, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValidationError("bins", bins, "1 to 100 bins, or explicit edges") from None
        if edges.ndim != 1 or not np.isfinite(edges).all():
            raise ValidationError("bins", bins, "explicit edges that are finite numbers")
    k = len(edges) + 2  # range bins plus one for NaN

    def shares(x: F64) -> F64:
        idx = np.searchsorted(edges, x, side="right")
        idx[np.isnan(x)] = k - 1
        counts = np.bincount(idx, minlength=k).astype(np.float64)
        return np.maximum(counts / len(x), floor)

    pe, pa = shares(e), shares(a)
    return float(((pa - pe) * np.log(pa / pe)).sum())


def _psi_codes(e: AnyArray, a: AnyArray, k: int, floor: float = 1e-4) -> float:
    pe = np.maximum(np.bincount(e, minlength=k) / max(len(e), 1), floor)
    pa = np.maximum(np.bincount(a, minlength=k) / max(len(a), 1), floor)
    return float(((pa - pe) * np.log(pa / pe)).sum())


@attrs.frozen(kw_only=True)
class StabilityReport:
    """PSI of the score and of each feature's bins, with verdicts."""

    score_psi: float
    score_verdict: str
    features: tuple[tuple[str, float, str], ...]


def card_stability(card: Scorecard, reference: ScoreBatch, current: ScoreBatch,
                   *, score_bins: int = 10) -> StabilityReport:
    """Compare two scorings by the same card: the score and every feature's bins.

    Feature PSI is computed over the card's own bins (missing and special included),
    so it watches exactly what the card sees.

    Raises:
        ValidationError: a batch that is not a scoring by ``card``: other features,
            bin indexes beyond the card's bins, or scores that are not the card's
            points of the batch's bins (another card with the same features gave
            a broadcasting ValueError, or a PSI over bins it never had).
    """
    if not isinstance(card, Scorecard):
        raise ValidationError("card", card, "a Scorecard")
    for name, batch in (("reference", reference), ("current", current)):
        if not isinstance(batch, ScoreBatch):
            raise ValidationError(name, batch, "a ScoreBatch")
        if batch.features != card.features:
            raise ValidationError(name, batch.features,
                                  f"scorings by the card's features {card.features}")
        try:
            same = bool(np.array_equal(card.points_of_bins(batch.bins), batch.scores))
        except ValidationError:
            same = False
        if not same:
            raise ValidationError(name, f"{card.name} v{card.version}",
                                  "a scoring by this card (its scores are the card's "
                                  "points of its bins)")
    score_psi = psi(reference.scores, current.scores, bins=score_bins)
    rows = []
    for j, table in enumerate(card.tables):
        value = _psi_codes(reference.bins[:, j].astype(np.int64),
                           current.bins[:, j].astype(np.int64), len(table.bins))
        rows.append((table.feature, value, psi_verdict(value)))
    return StabilityReport(score_psi=score_psi, score_verdict=psi_verdict(score_psi),
                           features=tuple(rows))
