"""Hypergeometric functions in the forms the lifetime models need, evaluated stably.

The Pareto/NBD likelihood needs the Gauss hypergeometric function
``2F1(r+s+x, s+1; r+s+x+1; z)`` (or the same with ``r+x`` when alpha < beta), with z
close to 1 whenever alpha and beta differ a lot and with parameters in the hundreds for
frequent buyers, exactly where library implementations lose accuracy or return NaN
(Fader, Hardie & Lee, "A Note on Implementing the Pareto/NBD Model in MATLAB", 2005,
discuss the problem). Euler's and Pfaff's transformations turn it into

    G(E, C, kappa) = 2F1(1, E; C; -kappa),   kappa >= 0,

the Stieltjes transform ``E[1 / (1 + kappa w)]`` of a Beta(E, C - E) variable w.

Two evaluations, each where it is cheap and exact:

* Gauss's continued fraction (an S-fraction with positive coefficients, evaluated
  bottom-up, which is stable) for ``kappa <= KAPPA_SPLIT``. Its n-th convergent is the
  n-point Gauss quadrature of the Beta law, so it needs about ``19 sqrt(kappa)`` levels
  to resolve the pole at ``w = -1/kappa``: 50 levels at kappa = 5, but 190,000 at
  kappa = 1e8. That growth made fits hang: when the data are best explained by one
  common dropout rate (``as_of`` long after the last purchases), the optimiser walks
  towards s, beta -> infinity with s / beta fixed, kappa grows like beta / alpha, and
  every likelihood evaluation grew slower without bound.
* Above ``KAPPA_SPLIT``, the defining integral in logit space (``w = 1/(1+e^-v)``),

      G * B(E, C-E) = integral exp(E v - (C-1) softplus(v) - softplus(v + log1p(kappa))) dv,

  whose integrand is log-concave and analytic in the strip ``|Im v| < pi``: the
  trapezoid rule on an infinite grid converges geometrically in the step (error about
  ``exp(-2 pi^2 / h)``), and far out the integrand is a pure exponential to double
  precision, so the grid's two tails are summed in closed form (geometric series).
  Its cost does not depend on kappa: at most :data:`QUADRATURE_NODES` nodes per row.

Both carry their derivatives with respect to E, C and kappa (forward mode through the
fraction, differentiation under the integral sign for the quadrature), so the
likelihood gets an exact gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv._common import CHUNK, FloatArray, import_scipy, log_rising

#: Above this kappa the continued fraction (about 19 sqrt(kappa) levels) gives way to
#: the quadrature (at most QUADRATURE_NODES nodes per row, whatever kappa is).
KAPPA_SPLIT = 400.0
#: Trapezoid nodes per row at most; the step is chosen so that they suffice.
QUADRATURE_NODES = 640
_LOG_EPS = math.log(2.0**-54)
# Where the integrand is a pure exponential to double precision (e^-40 ~ 4e-18).
_TAIL_MARGIN = 40.0
# The largest trapezoid step: the integrand's singularities lie at |Im v| = pi, so the
# aliasing error is about exp(-2 pi^2 / h) < 1e-17 for h <= 0.5.
_MAX_STEP = 0.25
# Steps per standard deviation of the peak (a Gaussian needs h < 0.73 sigma for 1e-17).
_STEP_PER_SIGMA = 0.6
_QUAD_ROWS = 256


def _levels(kappa: FloatArray) -> npt.NDArray[np.int64]:
    """How deep the continued fraction must go for full double precision, per row."""
    root = np.sqrt(1.0 + kappa)
    # The tail converges like rho**n with rho = (sqrt(1+k) - 1) / (sqrt(1+k) + 1).
    rho = kappa / (root + 1.0) ** 2
    with np.errstate(divide="ignore"):
        depth = np.ceil(_LOG_EPS / np.log(np.maximum(rho, 1e-300)))
    return np.clip(depth, 0, None).astype(np.int64) + 6


def _coefficients(
    level: int, e: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gauss's coefficient k_level of the fraction and its derivatives in E and C.

    k_1 = E/C; k_{2j+1} = (E+j)(C-1+j) / ((C-1+2j)(C+2j));
    k_{2j+2} = (j+1)(C-E+j) / ((C+2j)(C+2j+1)).
    """
    j = (level - 1) // 2
    if level == 1:
        coef = e / c
        return coef, 1.0 / c, -coef / c
    if level % 2 == 1:
        c1 = c - 1.0 + 2 * j
        c2 = c + 2 * j
        coef = (e + j) * (c - 1.0 + j) / (c1 * c2)
        return coef, coef / (e + j), (e + j) / (c1 * c2) - coef * (1.0 / c1 + 1.0 / c2)
    c1 = c + 2 * j
    c2 = c1 + 1.0
    coef = (j + 1) * (c - e + j) / (c1 * c2)
    return coef, -(j + 1) / (c1 * c2), (j + 1) / (c1 * c2) - coef * (1.0 / c1 + 1.0 / c2)


def log_g(
    E: FloatArray,
    C: FloatArray,
    group: npt.NDArray[np.intp],
    kappa: FloatArray,
    *,
    gradient: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log 2F1(1, E; C; -kappa)`` and its partial derivatives in E, C and kappa.

    ``E`` and ``C`` are given per group (``0 < E < C`` and ``C >= 1``, as in the
    likelihood, where it makes the quadrature's log-integrand concave), ``group`` and ``kappa >= 0``
    per row. Rows with ``kappa <= KAPPA_SPLIT`` go through the continued fraction,
    the others through the quadrature (see the module docstring); the cost per row is
    bounded whatever the parameters. Without ``gradient`` the derivative arrays are
    zeros.
    """
    n = kappa.size
    value = np.zeros(n)
    g_e = np.zeros(n)
    g_c = np.zeros(n)
    g_k = np.zeros(n)
    if n == 0:
        return value, g_e, g_c, g_k
    far = kappa > KAPPA_SPLIT
    if not np.any(far):
        return _log_g_fraction(E, C, group, kappa, gradient=gradient)
    near = np.flatnonzero(~far)
    if near.size:
        parts = _log_g_fraction(E, C, group[near], kappa[near], gradient=gradient)
        for target, part in zip((value, g_e, g_c, g_k), parts, strict=True):
            target[near] = part
    rows = np.flatnonzero(far)
    codes = group[rows]
    parts = _log_g_quadrature(E[codes], C[codes], kappa[rows], gradient=gradient)
    for target, part in zip((value, g_e, g_c, g_k), parts, strict=True):
        target[rows] = part
    return value, g_e, g_c, g_k


def _log_g_fraction(
    E: FloatArray,
    C: FloatArray,
    group: npt.NDArray[np.intp],
    kappa: FloatArray,
    *,
    gradient: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The continued fraction, bottom-up, for rows with moderate kappa.

    The coefficients depend on the group only, so they are tabulated once per level
    and gathered. Rows are processed in cache-sized blocks, deepest first.
    """
    n = kappa.size
    depth = _levels(kappa)
    top = int(depth.max())
    # One table row per level (the fraction's coefficients for every group); for very
    # deep fractions over many groups they are computed level by level instead.
    tabulate = top * E.size <= 4_000_000
    tables = [_coefficients(level, E, C) for level in range(1, top + 1)] if tabulate else []
    order = np.argsort(-depth, kind="stable")
    sorted_depth = depth[order]
    sorted_group = group[order]
    sorted_kappa = kappa[order]
    value = np.empty(n)
    g_e = np.zeros(n)
    g_c = np.zeros(n)
    g_k = np.zeros(n)
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        block_depth = sorted_depth[lo:hi]
        codes = sorted_group[lo:hi]
        k = sorted_kappa[lo:hi]
        # Start the tail at its limit (coefficients tend to 1/4): (1 + sqrt(1 + k)) / 2.
        root = np.sqrt(1.0 + k)
        f = 0.5 * (1.0 + root)
        if gradient:
            f_e = np.zeros(hi - lo)
            f_c = np.zeros(hi - lo)
            f_k = 0.25 / root
        # rows of this block still inside their fraction at each level: a prefix
        inside = np.searchsorted(-block_depth, -np.arange(int(block_depth[0]) + 1), "right")
        for level in range(int(block_depth[0]), 0, -1):
            m = int(inside[level])
            cc = codes[:m]
            if tabulate:
                table = tables[level - 1]
                coef, d_e, d_c = table[0][cc], table[1][cc], table[2][cc]
            else:
                coef, d_e, d_c = _coefficients(level, E[cc], C[cc])
            kk = k[:m]
            ff = f[:m]
            a = coef * kk
            if gradient:
                inv = 1.0 / ff
                scale = a * inv * inv
                kinv = kk * inv
                f_e[:m] = d_e * kinv - scale * f_e[:m]
                f_c[:m] = d_c * kinv - scale * f_c[:m]
                f_k[:m] = coef * inv - scale * f_k[:m]
            f[:m] = 1.0 + a / ff
        rows = order[lo:hi]
        value[rows] = -np.log(f)
        if gradient:
            g_e[rows] = -f_e / f
            g_c[rows] = -f_c / f
            g_k[rows] = -f_k / f
    return value, g_e, g_c, g_k


def _softplus(v: FloatArray) -> FloatArray:
    result: FloatArray = np.logaddexp(0.0, v)
    return result


def _sigmoid(v: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * v))
    return result


def _log_integrand(
    v: FloatArray, e: FloatArray, c: FloatArray, shift: FloatArray
) -> FloatArray:
    """``E v - (C-1) softplus(v) - softplus(v + L)``: the log of the integrand."""
    result: FloatArray = e * v - (c - 1.0) * _softplus(v) - _softplus(v + shift)
    return result


def _slope(v: FloatArray, e: FloatArray, c: FloatArray, shift: FloatArray) -> FloatArray:
    result: FloatArray = e - (c - 1.0) * _sigmoid(v) - _sigmoid(v + shift)
    return result


def _curvature(v: FloatArray, c: FloatArray, shift: FloatArray) -> FloatArray:
    """Minus the second derivative of the log-integrand (positive: it is concave)."""
    p = _sigmoid(v)
    q = _sigmoid(v + shift)
    result: FloatArray = (c - 1.0) * p * (1.0 - p) + q * (1.0 - q)
    return result


def _log_g_quadrature(
    e: FloatArray, c: FloatArray, kappa: FloatArray, *, gradient: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The trapezoid rule in logit space, per row, with closed-form tails (see the
    module docstring); ``e``, ``c`` and ``kappa`` are given per row.

    Each row gets its own grid (centred on the integrand's peak, with a step that
    resolves it); rows are then evaluated in blocks of similar grid length.
    """
    n = kappa.size
    out: tuple[FloatArray, FloatArray, FloatArray, FloatArray] = (
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
    )
    if n == 0:
        return out
    shift = np.log1p(kappa)
    mode, step, first, last, left_open, right_open = _plan_grid(e, c, kappa, shift)
    order = np.argsort(last - first, kind="stable")
    for lo in range(0, n, _QUAD_ROWS):
        rows = order[lo : lo + _QUAD_ROWS]
        parts = _quadrature_block(
            e[rows],
            c[rows],
            kappa[rows],
            shift[rows],
            mode[rows],
            step[rows],
            first[rows],
            last[rows],
            left_open[rows],
            right_open[rows],
            gradient=gradient,
        )
        for target, part in zip(out, parts, strict=True):
            target[rows] = part
    return out


_Grid = tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]
]


def _plan_grid(e: FloatArray, c: FloatArray, kappa: FloatArray, shift: FloatArray) -> _Grid:
    """Per row: the peak of the log-integrand, the step, the first and last node
    (as multiples of the step from the peak), and whether each tail is summed in
    closed form."""
    # The mode of the concave log-integrand: its slope falls from E (v -> -inf) to
    # E - C (v -> +inf); bisection to 1e-3, then two Newton steps.
    low = np.full(e.shape, -1000.0)
    high = np.full(e.shape, 1000.0)
    for _ in range(21):
        mid = 0.5 * (low + high)
        rising = _slope(mid, e, c, shift) > 0
        low = np.where(rising, mid, low)
        high = np.where(rising, high, mid)
    mode = 0.5 * (low + high)
    for _ in range(2):
        curvature = _curvature(mode, c, shift)
        newton = _slope(mode, e, c, shift) / np.maximum(curvature, 1e-300)
        mode = np.clip(mode + newton, low - 1e-3, high + 1e-3)
    peak = _log_integrand(mode, e, c, shift)
    sigma = 1.0 / np.sqrt(np.maximum(_curvature(mode, c, shift), 1e-300))
    # Beyond these points the integrand is a pure exponential (exp(E v) on the left,
    # exp(-(C-E) v - L) on the right) to within e^-40 relative.
    left_cut = -np.log(c + kappa) - _TAIL_MARGIN
    right_cut = np.log(c) + _TAIL_MARGIN
    # Beyond these, concavity bounds the integrand below e^-45 of the peak: the tangent
    # at two standard deviations from the mode lies above the curve.
    ends = []
    for side in (-1.0, 1.0):
        point = mode + side * 2.0 * sigma
        level = _log_integrand(point, e, c, shift)
        slope = np.maximum(np.abs(_slope(point, e, c, shift)), 1e-300)
        ends.append(point + side * np.maximum(level - peak + 45.0, 0.0) / slope)
    start = np.maximum(ends[0], left_cut)
    stop = np.minimum(ends[1], right_cut)
    step = np.minimum(_MAX_STEP, _STEP_PER_SIGMA * sigma)
    step = np.maximum(step, (stop - start) / (QUADRATURE_NODES - 2))
    # The grid is mode + j * step for all integers j; the nodes from first to last are
    # summed explicitly, the ones beyond the cuts in closed form.
    first = np.floor((start - mode) / step)
    last = np.ceil((stop - mode) / step)
    return mode, step, first, last, start <= left_cut, stop >= right_cut


def _quadrature_block(
    e: FloatArray,
    c: FloatArray,
    kappa: FloatArray,
    shift: FloatArray,
    mode: FloatArray,
    step: FloatArray,
    first: FloatArray,
    last: FloatArray,
    left_open: npt.NDArray[np.bool_],
    right_open: npt.NDArray[np.bool_],
    *,
    gradient: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    special = import_scipy("special")
    b = c - e
    peak = _log_integrand(mode, e, c, shift)
    count = int(np.max(last - first)) + 1
    j = first[:, None] + np.arange(count)[None, :]
    inside = j <= last[:, None]
    v = mode[:, None] + j * step[:, None]
    u = v + shift[:, None]
    # softplus(v), softplus(v + L) and sigmoid(v + L) from one exp each
    near_v = np.exp(-np.abs(v))
    near_u = np.exp(-np.abs(u))
    soft_v = np.maximum(v, 0.0) + np.log1p(near_v)
    soft_u = np.maximum(u, 0.0) + np.log1p(near_u)
    log_f = e[:, None] * v - (c[:, None] - 1.0) * soft_v - soft_u
    weights = np.exp(np.where(inside, log_f - peak[:, None], -np.inf))
    total = weights.sum(axis=1)
    # Tails: the grid nodes below the first (if the first is at the left cut) carry
    # exp(E v) exactly, those above the last exp(-(C-E) v - L): geometric series.
    v_first = mode + first * step
    v_last = mode + last * step
    with np.errstate(over="ignore", under="ignore"):
        ratio_l = np.exp(-e * step)
        left = np.where(
            left_open, np.exp(e * (v_first - step) - peak) / -np.expm1(-e * step), 0.0
        )
        ratio_r = np.exp(-b * step)
        right = np.where(
            right_open,
            np.exp(-b * (v_last + step) - shift - peak) / -np.expm1(-b * step),
            0.0,
        )
    integral = total + left + right
    # log B(E, C-E) as lgamma(small) - log_rising(large, small): three gammaln values
    # (or scipy's betaln) lose up to eight digits when C is in the millions.
    small = np.minimum(e, b)
    log_beta = special.gammaln(small) - log_rising(np.maximum(e, b), small)
    value = np.log(step) + peak + np.log(integral) - log_beta
    zero = np.zeros(e.shape)
    if not gradient:
        return value, zero, zero.copy(), zero.copy()
    sigmoid_u = np.where(u >= 0, 1.0, near_u) / (1.0 + near_u)
    d_e_nodes = (weights * v).sum(axis=1)
    d_c_nodes = -(weights * soft_v).sum(axis=1)
    d_l_nodes = -(weights * sigmoid_u).sum(axis=1)
    # d/dE of sum_{k>=1} exp(E (u - (k-1) h)) with u = v_first - h, and so on.
    left_e = np.where(left_open, left * ((v_first - step) - step * ratio_l / (1 - ratio_l)), 0.0)
    right_b = np.where(
        right_open, right * (-(v_last + step) - step * ratio_r / (1 - ratio_r)), 0.0
    )
    # The right tail depends on E and C through B = C - E only.
    d_e = (d_e_nodes + left_e - right_b) / integral
    d_c = (d_c_nodes + right_b) / integral
    d_l = (d_l_nodes - right) / integral
    digamma_b = special.digamma(b)
    g_e = d_e - (special.digamma(e) - digamma_b)
    g_c = d_c - (digamma_b - special.digamma(c))
    g_k = d_l / (1.0 + kappa)
    return value, g_e, g_c, g_k


def bgnbd_forecast(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray,
    x: FloatArray,
    age: FloatArray,
) -> FloatArray:
    """Expected BG/NBD purchases in the next ``t`` for customers alive at ``age``.

    Fader, Hardie & Lee (2005), equation (10) without the P(alive) factor,
    ``(a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]`` with
    ``z = t/(alpha+T+t)``, is evaluated as the series of positive terms

        sum_{n>=1} P(N = n) E_n,   E_n = sum_{i<n} (b+x)_i / (a+b+x)_i,

    where N ~ NegBin(r+x, z) counts the purchase opportunities in the horizon (the
    Poisson count for the posterior Gamma rate) and E_n = E[(1 - (1-p)^n) / p] the
    purchases among n of them for a dropout chance p ~ Beta(a, b+x). Expanding the
    bracket term by term gives exactly this; it has no 0/0 at a = 1, no cancellation,
    and no overflow when a and b are huge (where the Euler-transformed hypergeometric
    function overflows and times 0 gives NaN). Rows that would need more than
    ``_MAX_FORECAST_TERMS`` terms (a horizon far beyond the history, z near 1) take
    the same expectation over p by quadrature instead (:func:`_forecast_quadrature`),
    whose cost does not grow with the horizon.
    """
    if t.size == 0:
        return np.zeros(0)
    table = np.stack([t, x, age], axis=1)
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    tt, xx, aa = unique[:, 0], unique[:, 1], unique[:, 2]
    k = r + xx
    z = tt / (alpha + aa + tt)
    mean = k * z / np.maximum(1.0 - z, 1e-300)
    spread = np.sqrt(mean / np.maximum(1.0 - z, 1e-300))
    long = mean + 40.0 * spread + 50.0 > _MAX_FORECAST_TERMS
    value = np.zeros(unique.shape[0])
    rows = np.flatnonzero(~long)
    value[rows] = _forecast_series(a, b, k[rows], xx[rows], z[rows])
    rows = np.flatnonzero(long)
    if rows.size:
        tau = tt[rows] / (alpha + aa[rows])
        value[rows] = _forecast_quadrature(a, b, k[rows], xx[rows], tau)
    result: FloatArray = value[inverse.reshape(-1)]
    return result


_MAX_FORECAST_TERMS = 2_000


def _forecast_series(a: float, b: float, k: FloatArray, x: FloatArray, z: FloatArray) -> FloatArray:
    """The positive series of :func:`bgnbd_forecast`, summed until its tail is below
    1e-16 of the sum (the pmf is carried with a running log-scale, so it can start
    below the smallest double and peak above the largest)."""
    n = z.size
    out = np.zeros(n)
    active = np.flatnonzero(z > 0)
    if active.size == 0:
        return out
    k, x, z = k[active], x[active], z[active]
    log_scale = k * np.log1p(-z)  # log P(N = 0)
    pmf = np.ones(active.size)  # P(N = i) / exp(log_scale)
    rho = np.ones(active.size)  # (b+x)_i / (a+b+x)_i
    cumulative = np.zeros(active.size)  # E_i
    total = np.zeros(active.size)
    i = 0
    while active.size:
        # step i -> i + 1
        cumulative = cumulative + rho
        rho = rho * (b + x + i) / (a + b + x + i)
        ratio = (k + i) * z / (i + 1.0)
        pmf = pmf * ratio
        i += 1
        total = total + pmf * cumulative
        big = pmf > 1e200
        if np.any(big):
            pmf = np.where(big, pmf * 1e-200, pmf)
            total = np.where(big, total * 1e-200, total)
            log_scale = np.where(big, log_scale + 200.0 * math.log(10.0), log_scale)
        # Past the mode the pmf falls at least geometrically (ratio < 1) and E grows by
        # at most 1 per step: bound the tail and stop the rows it no longer changes.
        following = (k + i) * z / (i + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = pmf * following * (
                cumulative / (1.0 - following) + 1.0 / (1.0 - following) ** 2
            )
        done = (following < 1.0) & (tail <= 1e-17 * total)
        if np.any(done):
            out[active[done]] = total[done] * np.exp(log_scale[done])
            keep = ~done
            active, k, x, z = active[keep], k[keep], x[keep], z[keep]
            log_scale, pmf, rho = log_scale[keep], pmf[keep], rho[keep]
            cumulative, total = cumulative[keep], total[keep]
    return out


def _forecast_quadrature(
    a: float, b: float, k: FloatArray, x: FloatArray, tau: FloatArray
) -> FloatArray:
    """``E[(1 - (1 + p tau)^-k) / p]`` over p ~ Beta(a, b+x), per row, by the trapezoid
    rule in logit space (``p = 1/(1+e^-v)``) with closed-form tails.

    The Beta density is log-concave there and the bracket is bounded between its
    values at p = 1 and p = 0 (``k tau``), so the grid covers where the density is
    within e^-45 of its peak (relative to that ratio); beyond ``v = -log(k tau) - 40``
    the integrand is ``k tau e^(a v)`` and beyond ``v = log(a+b+x+k) + 40`` it is
    ``f(1) e^(-(b+x) v)`` to double precision, and those grid nodes are geometric
    series. The step resolves the density's peak and the singularities at
    ``|Im v| = pi``: at most ``QUADRATURE_NODES`` nodes per row whatever the horizon.
    """
    special = import_scipy("special")
    n = k.size
    c = a + b + x  # the Beta's a + b, per row
    bx = b + x
    # The density's mode and spread in logit space.
    mode = np.log(a) - np.log(bx)
    sigma = np.sqrt(c / (a * bx))
    end_value = -np.expm1(-k * np.log1p(tau))  # f(1)
    head = k * tau  # f(0)
    margin = 45.0 + np.log(head / end_value)
    peak = a * mode - c * np.logaddexp(0.0, mode)
    ends = []
    for side in (-1.0, 1.0):
        point = mode + side * 2.0 * sigma
        level = a * point - c * np.logaddexp(0.0, point)
        slope = np.maximum(np.abs(a - c * special.expit(point)), 1e-300)
        ends.append(point + side * np.maximum(level - peak + margin, 0.0) / slope)
    left_cut = -np.log(head) - np.log(c) - _TAIL_MARGIN
    right_cut = np.log(c + k) + _TAIL_MARGIN
    start = np.maximum(ends[0], left_cut)
    stop = np.minimum(ends[1], right_cut)
    step = np.minimum(_MAX_STEP, _STEP_PER_SIGMA * sigma)
    step = np.maximum(step, (stop - start) / (QUADRATURE_NODES - 2))
    first = np.floor((start - mode) / step)
    last = np.ceil((stop - mode) / step)
    out = np.zeros(n)
    order = np.argsort(last - first, kind="stable")
    small = np.minimum(a, bx)
    log_beta = special.gammaln(small) - log_rising(np.maximum(a, bx), small)
    for lo in range(0, n, _QUAD_ROWS):
        rows = order[lo : lo + _QUAD_ROWS]
        count = int(np.max(last[rows] - first[rows])) + 1
        j = first[rows, None] + np.arange(count)[None, :]
        inside = j <= last[rows, None]
        v = mode[rows, None] + j * step[rows, None]
        p = special.expit(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            bracket = -np.expm1(-k[rows, None] * np.log1p(p * tau[rows, None])) / p
        bracket = np.where(p > 0, bracket, head[rows, None])
        log_f = a * v - c[rows, None] * np.logaddexp(0.0, v) + np.log(bracket)
        log_f = np.where(inside, log_f, -np.inf)
        top = np.max(log_f, axis=1)
        nodes = np.exp(log_f - top[:, None])
        total = nodes.sum(axis=1)
        h = step[rows]
        with np.errstate(over="ignore", under="ignore"):
            v_first = mode[rows] + first[rows] * h
            v_last = mode[rows] + last[rows] * h
            left = np.where(
                start[rows] <= left_cut[rows],
                head[rows] * np.exp(a * (v_first - h) - top) / -np.expm1(-a * h),
                0.0,
            )
            right = np.where(
                stop[rows] >= right_cut[rows],
                end_value[rows]
                * np.exp(-bx[rows] * (v_last + h) - top)
                / -np.expm1(-bx[rows] * h),
                0.0,
            )
        out[rows] = np.exp(np.log(h * (total + left + right)) + top - log_beta[rows])
    return out


#: Margin (in log units below the peak of an upper bound of the integrand) beyond
#: which the discounted-value quadrature drops a range of its grid.
_VALUE_MARGIN = 80.0
#: Grid elements (ages x u nodes x v nodes) evaluated at once by that quadrature.
_VALUE_BLOCK = 1 << 20


def bgnbd_discounted_purchases(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    age: FloatArray,
    per_month: float,
    months: int,
    log_discount: float,
) -> FloatArray:
    """``sum_{i=1}^{months} [F(i c) - F((i-1) c)] exp(-i L)`` per row, F being
    :func:`bgnbd_forecast` (BG/NBD purchases of a customer alive now), ``c`` the
    time units per month and ``L = log(1 + discount rate)``; for ``a > 0``.

    Summing month by month costs one forecast per month. Given the purchase rate
    lambda and the dropout chance p the forecast is ``(1 - exp(-lambda p t)) / p``
    and the discounted monthly increments are a geometric series, so the sum is,
    in closed form,

        E[ (1 - e^-y) e^-L (1 - e^-(y+L) M) / (1 - e^-(y+L)) / p ],   y = lambda p c,

    over the posterior lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x). That
    expectation is a two-dimensional trapezoid rule in ``u = log(lambda (alpha+T))``
    and ``v = logit(p)``, whose integrand is analytic in a strip of half-width
    pi/2 (the error is about ``exp(-pi^2 / h)``, below 1e-17 for steps h <= 0.25);
    the grid covers where an upper bound of the integrand is within
    ``exp(-_VALUE_MARGIN)`` of its peak, and the v-tails where the integrand is a
    pure exponential to double precision are summed as geometric series. Its cost
    does not depend on ``months``. Rows are grouped by frequency, which fixes both
    grids; the ages of a group are evaluated together.
    """
    special = import_scipy("special")
    out = np.zeros(x.size)
    if x.size == 0:
        return out
    pairs, inverse = np.unique(np.stack([x, age], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    value = np.zeros(pairs.shape[0])
    fade = math.exp(-log_discount)
    for freq in np.unique(pairs[:, 0]).tolist():
        rows = np.flatnonzero(pairs[:, 0] == freq)
        theta = alpha + pairs[rows, 1]
        k = r + freq
        beta = b + freq
        u, log_wu, h_u = _gamma_grid(k)
        # A bound on lambda p c months that does not depend on the other rows (ages
        # are >= 0), so that a row's value does not depend on who else is asked.
        reach = float(np.exp(u[-1])) * per_month * months / alpha
        v, log_wv, h_v, left, right = _beta_grid(a, beta, reach)
        p = special.expit(v)
        weights = np.exp(log_wu[:, None] + log_wv[None, :])
        base = np.exp(u)[:, None] * p[None, :]
        inv_p = 1.0 / p
        step = max(1, _VALUE_BLOCK // max(base.size, 1))
        for lo in range(0, rows.size, step):
            scale = (per_month / theta[lo : lo + step])[:, None, None]
            y = base[None, :, :] * scale
            s = y + log_discount
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                geometric = np.where(s > 0, np.expm1(-months * s) / np.expm1(-s), float(months))
            f = weights * (-np.expm1(-y)) * geometric * inv_p
            inner = f.sum(axis=2)
            if left:
                ratio = math.exp(-a * h_v)
                inner += f[:, :, 0] * (ratio / -math.expm1(-a * h_v))
            if right:
                ratio = math.exp(-beta * h_v)
                inner += f[:, :, -1] * (ratio / -math.expm1(-beta * h_v))
            value[rows[lo : lo + step]] = fade * h_u * h_v * inner.sum(axis=1)
    result: FloatArray = value[inverse]
    return result


def _tangent_ends(
    mode: float, sigma: float, log_f: Any, slope: Any
) -> tuple[float, float]:
    """Where a concave log-function falls ``_VALUE_MARGIN`` below its peak at most,
    from its tangents two standard deviations either side of the mode."""
    peak = float(log_f(mode))
    ends = []
    for side in (-1.0, 1.0):
        point = mode + side * 2.0 * sigma
        drop = max(float(log_f(point)) - peak + _VALUE_MARGIN, 0.0)
        ends.append(point + side * drop / max(abs(float(slope(point))), 1e-300))
    return ends[0], ends[1]


def _node_range(start: float, stop: float, mode: float, step: float) -> FloatArray:
    """The multiples of ``step`` from the mode that cover [start, stop]."""
    first = math.floor((start - mode) / step)
    last = math.ceil((stop - mode) / step)
    return np.arange(first, last + 1, dtype=np.float64)


def _gamma_grid(k: float) -> tuple[FloatArray, FloatArray, float]:
    """Nodes u = log g, g ~ Gamma(k, 1), log-weights (density in u) and the step.

    The grid's ends come from the Gamma(k + 1) bound ``(k+1) u - e^u`` (the
    integrand grows at most like lambda)."""
    special = import_scipy("special")
    k1 = k + 1.0
    mode = math.log(k1)
    sigma = 1.0 / math.sqrt(k1)
    start, stop = _tangent_ends(
        mode, sigma, lambda t: k1 * t - math.exp(t), lambda t: k1 - math.exp(t)
    )
    step = min(_MAX_STEP, 0.5 * sigma)
    step = max(step, (stop - start) / (QUADRATURE_NODES - 2))
    u: FloatArray = mode + step * _node_range(start, stop, mode, step)
    log_w: FloatArray = k * u - np.exp(u) - special.gammaln(k)
    return u, log_w, step


def _beta_grid(
    a: float, beta: float, reach: float
) -> tuple[FloatArray, FloatArray, float, bool, bool]:
    """Nodes v = logit p, p ~ Beta(a, beta), log-weights, the step and whether each
    end is a tail summed in closed form.

    Beyond ``|v| = 56 log 2 + log(max(a + beta, reach, 1))`` (``reach`` bounding
    lambda p c months) the integrand is ``exp(a v)`` resp. ``exp(-beta v)`` times
    a constant to double precision."""
    special = import_scipy("special")
    mode = math.log(a) - math.log(beta)
    sigma = math.sqrt((a + beta) / (a * beta))
    start, stop = _tangent_ends(
        mode,
        sigma,
        lambda t: a * t - (a + beta) * np.logaddexp(0.0, t),
        lambda t: a - (a + beta) * special.expit(t),
    )
    edge = min(56.0 * math.log(2.0) + math.log(max(a + beta, reach, 1.0)), 700.0)
    left, right = start <= -edge, stop >= edge
    start, stop = max(start, -edge), min(stop, edge)
    step = min(_MAX_STEP, 0.5 * sigma)
    step = max(step, (stop - start) / (QUADRATURE_NODES - 2))
    v: FloatArray = mode + step * _node_range(start, stop, mode, step)
    small = min(a, beta)
    log_beta = float(special.gammaln(small) - log_rising(max(a, beta), small))
    log_w: FloatArray = a * v - (a + beta) * np.logaddexp(0.0, v) - log_beta
    return v, log_w, step, left, right
