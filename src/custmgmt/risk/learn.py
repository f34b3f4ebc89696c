"""The learnt scorecard: binning, weight of evidence, logistic regression, points.

:class:`ScorecardFitter` follows scikit-learn's conventions (``__init__`` stores its
parameters, ``fit`` returns ``self``, learnt attributes end in ``_``):

1. each feature is cut into bins from quantiles of its non-missing, non-special
   values (:func:`quantile_edges`), optionally merged until the bad rate is monotone
   (:func:`monotone_merge`), plus a missing bin and one bin per special value;
2. every bin gets its weight of evidence ``ln(good share / bad share)`` (with 0.5
   added to empty cells) and every feature its information value
   (:class:`BinStats`);
3. a logistic regression of the bad flag on the WoE columns is fitted in numpy
   (:func:`fit_logistic`, IRLS with an L2 penalty), or by any scikit-learn linear
   classifier passed as ``estimator`` (it must expose ``coef_`` and ``intercept_``);
4. the model becomes points with :class:`~custmgmt.risk.scorecard.PDOScaling`:
   ``points = -factor * coef * woe`` per bin, rounded, and ``base = offset - factor *
   intercept``, so the card's score is the model's log-odds on the points scale and
   higher points always mean a lower bad rate in the bin's direction.

Labels are 1 (bad) and 0 (good); anything else is refused.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.errors import ConvergenceError, NotFittedError, ValidationError
from custmgmt.notebook.estimator import Estimator
from custmgmt.risk.scorecard import (
    MAX_POINTS,
    Bin,
    FeatureTable,
    GradeBand,
    PDOScaling,
    Scorecard,
    default_grades,
)

__all__ = [
    "MAX_DESIGN_VALUE",
    "BinStats",
    "FeatureBinning",
    "ScorecardFitter",
    "check_labels",
    "fit_logistic",
    "monotone_merge",
    "quantile_edges",
]

AnyArray = npt.NDArray[Any]
F64 = npt.NDArray[np.float64]


def check_labels(y: Any, name: str = "label") -> npt.NDArray[np.int8]:
    """A binary label column as int8 0/1 (booleans and 0/1 numbers accepted).

    Raises:
        ValidationError: a value other than 0/1 (or True/False), NaN, or a column
            holding only one class.
    """
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValidationError(name, arr.shape, "a non-empty 1-d column of 0/1 labels")
    if arr.dtype.kind == "b":
        out = arr.astype(np.int8)
    elif arr.dtype.kind in "iuf":
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            raise ValidationError(name, arr[bad][0].item(), "a binary label: 0 (good) or 1 (bad)")
        out = arr.astype(np.int8)
    else:
        raise ValidationError(name, arr.dtype, "a binary label: 0 (good) or 1 (bad)")
    ones = int(out.sum())
    if ones == 0 or ones == len(out):
        raise ValidationError(name, f"only {'1' if ones else '0'}",
                              "a binary label with both classes present")
    return out


def _column(name: str, values: Any, n: int | None) -> F64:
    x = np.asarray(values)
    if x.ndim != 1 or x.dtype.kind not in "fiub":
        raise ValidationError(name, x.dtype, "a 1-d numeric column (NaN for missing)")
    out = x.astype(np.float64)
    if n is not None and len(out) != n:
        raise ValidationError(name, len(out), f"{n} rows, like the labels")
    if np.isinf(out).any():
        raise ValidationError(name, "inf", "finite values or NaN")
    return out


def quantile_edges(x: Any, n_bins: int) -> F64:
    """Inner cut points giving about ``n_bins`` equal-count bins of ``x`` (NaN ignored).

    >>> cuts = quantile_edges([1, 2, 3, 4, 5, 6, 7, 8], 4)
    >>> [round(c, 9) for c in cuts.tolist()]  # just above 2, 4 and 6: [1, 2] [3, 4] ...
    [2.0, 4.0, 6.0]
    >>> np.searchsorted(cuts, [2, 3], side="right").tolist()
    [0, 1]
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or not 1 <= n_bins <= 100:
        raise ValidationError("n_bins", n_bins, "a whole number of bins from 1 to 100")
    values = np.asarray(x, dtype=np.float64)
    valid = values[~np.isnan(values)]
    if len(valid) == 0 or n_bins == 1:
        return np.zeros(0)
    # The inverted-CDF quantile at level p is the order statistic ceil(p * n) - 1;
    # np.partition finds the few needed without sorting everything. Bins are
    # [lower, upper): a quantile q closes the bin of values <= q, so the cut is the
    # next float above q (labels print it rounded, as q).
    levels = np.arange(1, n_bins) / n_bins
    ranks = np.unique(np.maximum(np.ceil(levels * len(valid)).astype(np.int64) - 1, 0))
    qs = np.unique(np.partition(valid, ranks)[ranks])
    qs = qs[qs < valid.max()]
    result: F64 = np.nextafter(qs, np.inf)
    return result


def _counts(idx: AnyArray, y: AnyArray, k: int) -> tuple[AnyArray, AnyArray]:
    total = np.bincount(idx, minlength=k)
    bad = np.bincount(idx, weights=y, minlength=k).astype(np.int64)
    return total - bad, bad


def monotone_merge(edges: Any, x: Any, y: Any) -> F64:
    """Drop cut points until the bad rate of the range bins is monotone.

    The direction (rising or falling) follows the sign of the correlation between
    ``x`` and the bad flag; adjacent bins that break it (or are empty) are merged, the
    pair with the smallest bad-rate difference first, until none does. The rows are
    counted once; merging works on the per-bin counts.
    """
    cuts = np.asarray(edges, dtype=np.float64)
    values = np.asarray(x, dtype=np.float64)
    flags = np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(values)
    values, flags = values[keep], flags[keep]
    if len(values) < 2 or not len(cuts):
        return cuts.copy()
    # The sign of the covariance does not change with scale; scaling first keeps the
    # sums finite for values near the float limits (1e308 would overflow to NaN).
    scale = float(np.abs(values).max())
    scaled = values / scale if scale > 0 else values
    vc = scaled - scaled.mean()
    rising = float((vc * (flags - flags.mean())).sum()) >= 0
    idx = _bucket(cuts, values)
    good, bad = _counts(idx, flags, len(cuts) + 1)
    kept = list(cuts.tolist())
    g, b = good.astype(np.float64).tolist(), bad.astype(np.float64).tolist()
    while kept:
        rate = [bb / max(gg + bb, 1) for gg, bb in zip(g, b, strict=True)]
        worst: tuple[float, int] | None = None
        for j in range(len(kept)):
            d = rate[j + 1] - rate[j]
            empty = g[j] + b[j] == 0 or g[j + 1] + b[j + 1] == 0
            broken = empty or (d < 0 if rising else d > 0)
            if broken and (worst is None or abs(d) < worst[0]):
                worst = (abs(d), j)
        if worst is None:
            break
        j = worst[1]
        g[j : j + 2] = [g[j] + g[j + 1]]
        b[j : j + 2] = [b[j] + b[j + 1]]
        del kept[j]
    return np.asarray(kept, dtype=np.float64)


def _bucket(edges: AnyArray, x: AnyArray) -> AnyArray:
    """How many edges are <= each value (``searchsorted(side="right")``), counting
    comparisons for a few edges (much faster than a binary search there)."""
    if len(edges) > 32:
        return np.searchsorted(edges, x, side="right")
    out = np.zeros(len(x), dtype=np.int8)
    for edge in np.asarray(edges).tolist():
        out += x >= edge
    return out


@attrs.frozen(kw_only=True)
class BinStats:
    """One bin of a learnt feature: its counts and weight of evidence."""

    label: str
    kind: str
    lower: float | None
    upper: float | None
    special: float | None
    good: int
    bad: int
    woe: float


@attrs.frozen(kw_only=True, eq=False)
class FeatureBinning:
    """How one feature was binned, with the WoE of each bin and its information value.

    Bins are ordered: the range bins (ascending), the missing bin, the special bins.
    """

    feature: str
    edges: F64
    specials: tuple[float, ...]
    bins: tuple[BinStats, ...]
    iv: float

    def indexes(self, x: Any) -> AnyArray:
        """The bin index of every value (missing and special values included)."""
        values = np.asarray(x, dtype=np.float64)
        idx = _bucket(self.edges, values).astype(np.int64)
        n_range = len(self.edges) + 1
        for k, s in enumerate(self.specials):
            idx[values == s] = n_range + 1 + k
        idx[np.isnan(values)] = n_range
        return idx

    def woe_of(self, x: Any) -> F64:
        """The WoE of every value's bin."""
        woe = np.array([b.woe for b in self.bins])
        out: F64 = woe[self.indexes(x)]
        return out


def _bin_feature(name: str, x: F64, y: AnyArray, n_bins: int, monotone: bool,
                 specials: tuple[float, ...]) -> FeatureBinning:
    regular = ~np.isnan(x) & ~np.isin(x, specials)
    edges = quantile_edges(x[regular], n_bins)
    if monotone:
        edges = monotone_merge(edges, x[regular], y[regular])
    n_range = len(edges) + 1
    k = n_range + 1 + len(specials)
    idx = _bucket(edges, x).astype(np.int64)
    for j, s in enumerate(specials):
        idx[x == s] = n_range + 1 + j
    idx[np.isnan(x)] = n_range
    good, bad = _counts(idx, y, k)
    g_total, b_total = max(int(good.sum()), 1), max(int(bad.sum()), 1)
    woe = np.log(((good + 0.5) / g_total) / ((bad + 0.5) / b_total))
    # An empty missing or special bin carries no evidence: neutral, not the smoothing's guess.
    woe[(good + bad) == 0] = 0.0
    iv = float((((good + 0.5) / g_total - (bad + 0.5) / b_total) * woe).sum())
    bounds = [None, *edges.tolist()], [*edges.tolist(), None]
    # Enough significant digits that no two cuts print alike (6 unless they are close).
    quantiles = np.nextafter(edges, -np.inf).tolist()
    digits = next((d for d in range(6, 18)
                   if len({f"{q:.{d}g}" for q in quantiles}) == len(quantiles)), 17)
    stats = []
    for i in range(k):
        if i < n_range:
            lo, hi = bounds[0][i], bounds[1][i]
            label = _range_label(lo, hi, digits)
            stats.append(BinStats(label=label, kind="range", lower=lo, upper=hi, special=None,
                                  good=int(good[i]), bad=int(bad[i]), woe=float(woe[i])))
        elif i == n_range:
            stats.append(BinStats(label="missing", kind="missing", lower=None, upper=None,
                                  special=None, good=int(good[i]), bad=int(bad[i]),
                                  woe=float(woe[i])))
        else:
            s = specials[i - n_range - 1]
            stats.append(BinStats(label=f"= {_fmt(s)}", kind="special", lower=None, upper=None,
                                  special=s, good=int(good[i]), bad=int(bad[i]),
                                  woe=float(woe[i])))
    return FeatureBinning(feature=name, edges=edges, specials=specials, bins=tuple(stats), iv=iv)


def _range_label(lo: float | None, hi: float | None, digits: int) -> str:
    """``(q1, q2]``: each cut is the float just above a quantile, so the bin holds the
    values above the previous quantile up to and including its own (printing the cut
    rounded as ``[q1, q2)`` would put a value equal to ``q2`` in the wrong bin)."""
    left = "(-inf" if lo is None else f"({float(np.nextafter(lo, -np.inf)):.{digits}g}"
    right = "inf)" if hi is None else f"{float(np.nextafter(hi, -np.inf)):.{digits}g}]"
    return f"{left}, {right}"


def _fmt(value: float | None, sign: int = 1) -> str:
    if value is None:
        return "inf" if sign > 0 else "-inf"
    return f"{value:.6g}"


def fit_logistic(
    x: Any, y: Any, *, l2: float = 1.0, max_iter: int = 50, tol: float = 1e-7
) -> tuple[float, F64]:
    """Logistic regression by iteratively reweighted least squares with an L2 penalty.

    Minimises ``-loglik + l2/2 * ||coef||^2`` (the intercept is not penalised), the
    objective of scikit-learn's ``LogisticRegression(C=1/l2)``.

    Args:
        x: (n, k) design matrix.
        y: 0/1 labels (1: the event modelled).
        l2: the penalty, >= 0.
        max_iter: Newton steps at most.
        tol: stop when the largest coefficient change is below this.

    Returns:
        ``(intercept, coefficients)``.

    Raises:
        ConvergenceError: no convergence within ``max_iter`` steps.
        ValidationError: bad shapes or parameters.
    """
    try:
        X = np.asarray(x, dtype=np.float64)
        t = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("x", type(x).__name__,
                              "an (n, k) numeric matrix and numeric 0/1 labels") from None
    if X.ndim != 2 or t.ndim != 1 or X.shape[0] != len(t) or len(t) == 0:
        raise ValidationError("x", X.shape, "an (n, k) matrix with one label per row")
    # min and max read the matrix without a temporary; NaN makes both NaN.
    if X.size and not (X.min() >= -MAX_DESIGN_VALUE and X.max() <= MAX_DESIGN_VALUE):
        # NaN or inf never converged (or warned in matmul); beyond the bound the
        # float32 Hessian overflows to inf (a warning, then no convergence).
        bad = X[~(np.abs(X) <= MAX_DESIGN_VALUE)][0].item()
        raise ValidationError("x", bad, f"finite values within +-{MAX_DESIGN_VALUE:g} "
                              "(standardise a column of large values first)")
    if not np.isin(t, (0, 1)).all():
        raise ValidationError("y", t[~np.isin(t, (0, 1))][0].item(), "0/1 labels")
    if (isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 >= 0
            or not math.isfinite(l2)):
        raise ValidationError("l2", l2, "a finite penalty >= 0")
    if (isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer))
            or not 1 <= max_iter <= 10_000):
        raise ValidationError("max_iter", max_iter, "a whole number of steps from 1 to 10000")
    if (isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol)
            or tol < 0):
        raise ValidationError("tol", tol, "a finite tolerance >= 0")
    k = X.shape[1]
    beta = np.zeros(k + 1)
    beta[0] = math.log(max(t.mean(), 1e-12) / max(1 - t.mean(), 1e-12))
    n = len(t)
    if n > _WARM_ROWS:
        # Newton steps from afar cost a pass over every row each; a strided subsample
        # (same penalty per row) brings the start close, and the full data then needs
        # two or three steps. The optimum is the full data's either way.
        stride = n // _WARM_ROWS
        sub = slice(0, None, stride)
        beta = _irls(np.ascontiguousarray(X[sub]), t[sub], beta, l2 * len(t[sub]) / n,
                     max_iter, tol * 100)[0]
    beta, converged, last = _irls(X, t, beta, float(l2), max_iter, tol)
    if not converged:
        raise ConvergenceError(
            "logistic regression",
            f"no convergence in {max_iter} IRLS steps (last step {last:.3g})",
            n_iter=max_iter,
        )
    return float(beta[0]), beta[1:].copy()


def _linear_model(coef: Any, intercept: Any, k: int) -> tuple[float, F64]:
    """An estimator's ``intercept_`` and ``coef_`` as one finite number and ``k`` finite
    coefficients, one per feature.

    Raises:
        ValidationError: naming ``estimator``: another count of coefficients (extra ones
            were ignored, too few crashed), or values that are not finite numbers.
    """
    try:
        beta = np.ravel(np.asarray(coef, dtype=np.float64))
        beta0 = np.ravel(np.asarray(intercept, dtype=np.float64))
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("estimator", (coef, intercept),
                              "numeric coef_ and intercept_") from None
    if len(beta) != k or len(beta0) != 1:
        raise ValidationError("estimator", (beta.shape, beta0.shape),
                              f"{k} coefficients (one per feature) and one intercept")
    if not (np.isfinite(beta).all() and math.isfinite(beta0[0])):
        raise ValidationError("estimator", (beta.tolist(), beta0.tolist()),
                              "finite coefficients and intercept")
    return float(beta0[0]), beta


#: The largest magnitude :func:`fit_logistic` takes in its design matrix: the Hessian's
#: product runs in float32, whose sums of squares overflow not far above it (WoE columns
#: are within +-20).
MAX_DESIGN_VALUE: Final = 1e15

#: Above this many rows, :func:`fit_logistic` warm-starts from a strided subsample.
_WARM_ROWS = 100_000


def _irls(X: F64, t: F64, beta: F64, l2: float, max_iter: int,
          tol: float) -> tuple[F64, bool, float]:
    k = X.shape[1]
    X32 = X.astype(np.float32)
    beta = beta.copy()
    penalty = np.full(k + 1, float(l2))
    penalty[0] = 0.0
    last = math.inf
    for _ in range(max_iter):
        eta = beta[0] + X @ beta[1:]
        with np.errstate(over="ignore"):  # exp(-eta) = inf gives p = 0, the limit
            p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        r = t - p
        grad = np.empty(k + 1)
        grad[0] = r.sum()
        grad[1:] = X.T @ r
        grad -= penalty * beta
        h = np.empty((k + 1, k + 1))
        h[0, 0] = w.sum()
        h[0, 1:] = h[1:, 0] = w @ X
        # The Hessian only steers the steps (the gradient, in float64, decides where
        # they stop), so its big product runs in float32: half the memory traffic.
        xs = X32 * np.sqrt(w).astype(np.float32)[:, None]
        h[1:, 1:] = (xs.T @ xs).astype(np.float64)
        h[np.diag_indices(k + 1)] += penalty + 1e-12
        step = np.linalg.solve(h, grad)
        beta += step
        last = float(np.abs(step).max())
        if last < tol:
            return beta, True, last
    return beta, False, last


@attrs.define(kw_only=True)
class ScorecardFitter(Estimator):
    """Learn a :class:`~custmgmt.risk.scorecard.Scorecard` from labelled columns.

    Args:
        name: the card's name.
        n_bins: quantile bins per feature before merging.
        monotone: merge bins until each feature's bad rate is monotone.
        specials: per feature, values that get bins of their own.
        l2: L2 penalty of the numpy logistic regression.
        estimator: a scikit-learn linear classifier (``coef_``, ``intercept_``) used
            instead of the numpy fit; fitted on the WoE matrix.
        scaling: how log-odds become points.
        grades: grade bands; by default five equal bands over the card's score range.

    Learnt attributes: ``binnings_`` (feature -> :class:`FeatureBinning`),
    ``intercept_``, ``coef_`` (per feature, on the WoE scale), ``scorecard_``.
    """

    name: str = "learnt"
    n_bins: int = 10
    monotone: bool = True
    specials: Mapping[str, Sequence[float]] = attrs.field(factory=dict)
    l2: float = 1.0
    estimator: Any = None
    scaling: PDOScaling = attrs.field(factory=PDOScaling)
    grades: tuple[GradeBand, ...] | None = None
    binnings_: dict[str, FeatureBinning] = attrs.field(init=False, factory=dict)
    intercept_: float = attrs.field(init=False, default=math.nan)
    coef_: F64 = attrs.field(init=False, factory=lambda: np.zeros(0))
    scorecard_: Scorecard | None = attrs.field(init=False, default=None)

    def _check_specials(self, columns: Mapping[str, Any]) -> None:
        """A special value names a fitted feature and is a finite number (a typo in a
        feature name would otherwise be ignored without a word)."""
        specials: Any = self.specials
        if not isinstance(specials, Mapping):
            raise ValidationError("specials", specials,
                                  "a mapping of feature name to special values")
        for name, values in specials.items():
            if name not in columns:
                raise ValidationError("specials", name, f"one of the features {list(columns)}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise ValidationError(f"specials[{name!r}]", values, "a sequence of numbers")
            for value in values:
                if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                        or not math.isfinite(value)):
                    raise ValidationError(f"specials[{name!r}]", value, "finite numbers")

    def fit(self, columns: Mapping[str, Any], y: Any) -> ScorecardFitter:
        """Bin, weigh, regress and scale; returns ``self``.

        Raises:
            ValidationError: labels that are not binary, no feature, a non-numeric
                or wrongly sized column, bad parameters.
            ConvergenceError: the numpy regression did not converge.
        """
        labels = check_labels(y)
        if not isinstance(self.monotone, (bool, np.bool_)):
            raise ValidationError("monotone", self.monotone, "True or False")
        if not isinstance(columns, Mapping) or not columns:
            raise ValidationError("columns", columns, "a mapping of feature name to column")
        if not isinstance(self.scaling, PDOScaling):
            raise ValidationError("scaling", self.scaling, "a PDOScaling")
        self._check_specials(columns)
        n = len(labels)
        binnings: dict[str, FeatureBinning] = {}
        X = np.empty((n, len(columns)), order="F")
        for j, (name, values) in enumerate(columns.items()):
            x = _column(name, values, n)
            specials = tuple(sorted({float(s) for s in self.specials.get(name, ())}))
            binning = _bin_feature(name, x, labels, self.n_bins, bool(self.monotone), specials)
            binnings[name] = binning
            X[:, j] = binning.woe_of(x)
        if self.estimator is not None:
            if not callable(getattr(self.estimator, "fit", None)):
                raise ValidationError("estimator", type(self.estimator).__name__,
                                      "a scikit-learn linear classifier (with fit) or None")
            model = self.estimator.fit(X, labels)
            coef = getattr(model, "coef_", None)
            intercept = getattr(model, "intercept_", None)
            if coef is None or intercept is None:
                raise ValidationError("estimator", type(model).__name__,
                                      "a linear classifier with coef_ and intercept_")
            beta0, beta = _linear_model(coef, intercept, len(columns))
            classes = getattr(model, "classes_", np.array([0, 1]))
            if list(np.ravel(classes)) != [0, 1]:
                raise ValidationError("estimator", classes, "classes_ [0, 1]")
        else:
            beta0, beta = fit_logistic(X, labels, l2=self.l2)
        # The card first: a scaling it refuses leaves the fitter as it was, not with
        # this fit's binnings beside the previous fit's card.
        card = self._card(binnings, beta0, beta)
        self.binnings_ = binnings
        self.intercept_ = beta0
        self.coef_ = beta
        self.scorecard_ = card
        return self

    def _card(self, binnings: Mapping[str, FeatureBinning], beta0: float,
              beta: F64) -> Scorecard:
        factor, offset = self.scaling.factor, self.scaling.offset
        tables = []
        for j, (name, binning) in enumerate(binnings.items()):
            rows = []
            # Python floats: a product past the float range is inf, which _points refuses
            # by name (a numpy scalar would warn first).
            coef = float(beta[j])
            for b in binning.bins:
                points = self._points(-factor * coef * b.woe, f"bin {b.label!r} of {name!r}")
                if b.kind == "range":
                    rows.append(Bin(label=b.label, points=points, lower=b.lower, upper=b.upper))
                elif b.kind == "missing":
                    rows.append(Bin(label="missing", points=points, missing=True))
                else:
                    rows.append(Bin(label=b.label, points=points, special=(b.special,)))
            tables.append(FeatureTable(feature=name, bins=tuple(rows)))
        self._check_resolution(binnings, beta, tables)
        base = self._points(offset - factor * beta0, "the base")
        low = self._points(base + sum(t.min_points for t in tables), "the lowest score")
        high = self._points(base + sum(t.max_points for t in tables), "the highest score")
        grades = self.grades if self.grades is not None else default_grades(
            low, max(high, low + 4))
        return Scorecard(name=self.name, version=1, base_points=base, tables=tuple(tables),
                         grades=grades,
                         description=f"learnt: {self.scaling.text}")

    def _check_resolution(self, binnings: Mapping[str, FeatureBinning], beta: F64,
                          tables: Sequence[FeatureTable]) -> None:
        """Refuse a PDO whose whole points give every training row the same score although
        the model tells rows apart (``--pdo 1e-300`` rounded every bin to 0 points).

        A model that tells no rows apart (constant or empty features, all coefficients
        0) leaves a flat card at any PDO and is not refused here.

        Raises:
            ValidationError: naming ``scaling.pdo`` and the PDO that would resolve the
                widest feature.
        """
        widest = 0.0  # the largest log-odds spread between populated bins of a feature
        for j, (binning, table) in enumerate(zip(binnings.values(), tables, strict=True)):
            used = [i for i, b in enumerate(binning.bins) if b.good + b.bad > 0]
            if len({table.bins[i].points for i in used}) > 1:
                return  # the card ranks the training rows
            woe = [binning.bins[i].woe for i in used]
            if woe:
                spread = abs(float(beta[j])) * (max(woe) - min(woe))
                if math.isfinite(spread):
                    widest = max(widest, spread)
        if widest > 0:
            pdo = self.scaling.pdo
            raise ValidationError(
                "scaling.pdo", pdo,
                f"points to double the odds large enough for whole points to tell the "
                f"model's bins apart: at PDO {pdo:g} every bin of every feature rounds to "
                f"the same points (the widest feature spans {widest:.3g} log-odds, "
                f"{widest / math.log(2) * pdo:.3g} points); a PDO above "
                f"{math.log(2) / widest:.3g} gives it more than one point")

    def _points(self, value: float, what: str) -> int:
        """``value`` rounded to whole points, refused when the scaling puts it out of range.

        Raises:
            ValidationError: ``value`` is not finite or beyond ``MAX_POINTS`` (a scaling
                with a huge base score, PDO or odds).
        """
        if not math.isfinite(value) or abs(value) > MAX_POINTS:
            raise ValidationError(
                "scaling", self.scaling.text,
                f"a scaling whose points stay within +-{MAX_POINTS} ({what} would be "
                f"{value:.3g} points)")
        return round(value)

    @property
    def card(self) -> Scorecard:
        """The learnt card.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        if self.scorecard_ is None:
            raise NotFittedError("ScorecardFitter is not fitted: call fit(columns, y) first")
        return self.scorecard_

    def information_values(self) -> dict[str, float]:
        """Each feature's information value, highest first."""
        self.card  # noqa: B018 - raises NotFittedError before fit
        return dict(sorted(((k, b.iv) for k, b in self.binnings_.items()),
                           key=lambda kv: -kv[1]))

    def predict_log_odds(self, columns: Mapping[str, Any]) -> F64:
        """The model's log-odds of *bad* (unrounded), from the WoE columns.

        Raises:
            NotFittedError: before :meth:`fit`.
            ValidationError: a fitted feature without a column, or a bad column.
        """
        self.card  # noqa: B018
        if not isinstance(columns, Mapping):
            raise ValidationError("columns", columns, "a mapping of feature name to column")
        n: int | None = None
        eta: F64 = np.zeros(0)
        for j, (name, binning) in enumerate(self.binnings_.items()):
            if name not in columns:
                raise ValidationError("columns", name,
                                      f"a column for every fitted feature {list(self.binnings_)}")
            x = _column(name, columns[name], n)
            if n is None:
                n = len(x)
                eta = np.full(n, self.intercept_)
            eta = eta + self.coef_[j] * binning.woe_of(x)
        return eta
