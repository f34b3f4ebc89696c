"""Hypergeometric functions in the forms the lifetime models need, evaluated stably.

The Pareto/NBD likelihood needs the Gauss hypergeometric function
``2F1(r+s+x, s+1; r+s+x+1; z)`` (or the same with ``r+x`` when alpha < beta), with z
close to 1 whenever alpha and beta differ a lot and with parameters in the hundreds for
frequent buyers, exactly where library implementations lose accuracy or return NaN
(Fader, Hardie & Lee, "A Note on Implementing the Pareto/NBD Model in MATLAB", 2005,
discuss the problem). Euler's and Pfaff's transformations turn it into

    G(E, C, kappa) = 2F1(1, E; C; -kappa),   kappa >= 0,

the Stieltjes transform ``E[1 / (1 + kappa w)]`` of a Beta(E, C - E) variable. Gauss's
continued fraction for it has positive coefficients (an S-fraction), converges for every
kappa >= 0, and is evaluated bottom-up, which is stable; its derivatives with respect
to E, C and kappa ride along in forward mode, so the likelihood gets an exact gradient.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv._common import CHUNK, ConvergenceError, FloatArray

# Levels beyond this mean kappa ~ 1e8, i.e. alpha and beta more than eight orders of
# magnitude apart: no data set supports that, so it is reported rather than computed.
MAX_LEVELS = 200_000
_LOG_EPS = math.log(2.0**-54)


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

    ``E`` and ``C`` are given per group (``0 < E < C``), ``group`` and ``kappa >= 0``
    per row: the coefficients of the fraction depend on the group only, so they are
    tabulated once per level and gathered. Rows are processed in cache-sized blocks,
    deepest first. Without ``gradient`` the derivative arrays are zeros.
    """
    n = kappa.size
    zero = np.zeros(n)
    if n == 0:
        return zero, zero, zero.copy(), zero.copy()
    depth = _levels(kappa)
    top = int(depth.max())
    if top > MAX_LEVELS:
        raise ConvergenceError(
            "Pareto/NBD",
            "alpha and beta are too far apart to evaluate the likelihood "
            f"(kappa up to {float(kappa.max()):.3g})",
        )
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


def hyp2f1_series(a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """Plain Gauss series ``2F1(a, b; c; z)`` for ``0 <= z < 1``, summed until it settles.

    Used for the BG/NBD forecast in its Euler-transformed form, where ``a`` and ``b``
    stay small and ``c`` grows with the frequency, so the terms shrink quickly; the loop
    runs on the rows that have not converged yet only.
    """
    n = z.size
    total = np.ones(n)
    term = np.ones(n)
    active = np.arange(n)
    aa, bb, cc, zz = a.copy(), b.copy(), c.copy(), z.copy()
    for k in range(MAX_LEVELS):
        if active.size == 0:
            return total
        term = term * (aa + k) * (bb + k) / ((cc + k) * (k + 1.0)) * zz
        total[active] += term
        small = np.abs(term) <= 1e-17 * np.abs(total[active])
        # A term can vanish exactly when a or b is a non-positive integer: the series
        # is then a polynomial and is complete.
        done = small & (k > 2)
        if np.any(done):
            keep = ~done
            active, term, aa, bb, cc, zz = (
                active[keep],
                term[keep],
                aa[keep],
                bb[keep],
                cc[keep],
                zz[keep],
            )
    raise ConvergenceError("BG/NBD", "the forecast series did not converge")
