"""Semiconcavity, widening and the harmonic mean of the spectrum (Sec. 6: Examples 13-14, 16, Lemmas 18-20).

- :func:`example13`: the solution of (viscous-HJ) with u(x, 0) = c|x|^2/2. The paper prints
  the constant as (beta^-1 n/2) log(t + 1/c), which solves the PDE but starts from
  c|x|^2/2 - (beta^-1 n/2) log c; the initial condition requires log(1 + c t)
  (= log(t + 1/c) + log c). Its proof also prints Delta u = n/(t + 1) for n/(t + 1/c).
  :func:`example13_as_printed` keeps the printed formula for comparison.
- :func:`hessian_bound` / :func:`laplacian_bound`: Lemma 18's 1/(C^-1 + t) and
  1/(C_Lap^-1 + t/n); :func:`heat_constant`: Example 14's c0 exp(-lambda_1 t).
- :func:`convex_interval`: the widest interval around a point where sampled u has
  non-negative second differences (Example 16), endpoints by linear interpolation.
- :func:`harmonic_mean`, :func:`hm_ratio` (Lemma 19), :func:`lemma20_bound`,
  :func:`grid_local_minima` (the points where Lemma 20 is checked).

"Semiconcave with constant C" means f - C|x|^2/2 is concave (Sec. 6.1).
"""
from __future__ import annotations

import itertools

import numpy as np

from deeprelax.pde.heat import _check_shape, spacing
from deeprelax.pde.landscapes import Landscape


def example13(points, t: float, c: float, beta: float = np.inf) -> np.ndarray:
    """Example 13: u = |x|^2/(2(t + 1/c)) + (beta^-1 n/2) log(1 + c t) (the paper's constant corrected)."""
    x = np.asarray(points, dtype=float)
    if not (c > 0 and t >= 0 and beta > 0):
        raise ValueError(f"need c > 0, t >= 0, beta > 0, got c={c}, t={t}, beta={beta}")
    n = x.shape[-1]
    return np.sum(x**2, axis=-1) / (2 * (t + 1 / c)) + n / (2 * beta) * np.log1p(c * t)


def example13_as_printed(points, t: float, c: float, beta: float = np.inf) -> np.ndarray:
    """Example 13 as printed: |x|^2/(2(t + 1/c)) + (beta^-1 n/2) log(t + 1/c) (wrong at t = 0 unless c = 1)."""
    x = np.asarray(points, dtype=float)
    n = x.shape[-1]
    return np.sum(x**2, axis=-1) / (2 * (t + 1 / c)) + n / (2 * beta) * np.log(t + 1 / c)


def hessian_bound(C, t):
    """Lemma 18 (and Example 13's C(t)): sup_x u_{x_k x_k}(x, t) <= 1/(C_k^-1 + t) for C_k > 0."""
    C = np.asarray(C, dtype=float)
    if np.any(C <= 0):
        raise ValueError("the semiconcavity constants C_k must be > 0 (sup f_{x_k x_k} > 0)")
    return 1.0 / (1.0 / C + np.asarray(t, dtype=float))


def laplacian_bound(C_lap: float, t, n: int):
    """Lemma 18: sup_x Delta u(x, t) <= 1/(C_Lap^-1 + t/n) for C_Lap = sup Delta f > 0 in n dimensions."""
    if not C_lap > 0 or n < 1:
        raise ValueError(f"need C_Lap > 0 and n >= 1, got C_Lap={C_lap}, n={n}")
    return 1.0 / (1.0 / C_lap + np.asarray(t, dtype=float) / n)


def heat_constant(c0: float, lam: float, t):
    """Example 14: the semiconcavity constant c0 exp(-lambda_1 t) of the eigenmode exp(-lambda_1 t) v_1."""
    return c0 * np.exp(-lam * np.asarray(t, dtype=float))


def sup_second_derivatives(values: np.ndarray, axes, mask: np.ndarray | None = None) -> dict:
    """max over ``mask`` of each centred second difference u_{x_k x_k} and of their sum Delta u."""
    values, axes = _check_shape(values, axes)
    d2 = np.full(values.shape + (len(axes),), np.nan)
    for ax, x in enumerate(axes):
        u = np.moveaxis(values, ax, -1)
        o = np.moveaxis(d2[..., ax], ax, -1)
        o[..., 1:-1] = (u[..., 2:] - 2 * u[..., 1:-1] + u[..., :-2]) / spacing(x) ** 2
    inner = np.all(np.isfinite(d2), axis=-1)
    m = inner if mask is None else inner & np.asarray(mask, bool)
    if not np.any(m):
        raise ValueError("the mask selects no interior grid point")
    return {"diag": d2[m].max(axis=0), "laplacian": float(d2[m].sum(axis=-1).max())}


def convex_interval(u: np.ndarray, x: np.ndarray, x0: float) -> tuple[float, float]:
    """Example 16's I(x0, t): widest interval around x0 where u_xx >= 0 (second differences, interpolated ends).

    Returns ``(left, right)``; an end that reaches the grid's edge is returned as that
    edge. Raises if u is not convex at the grid point nearest x0.
    """
    u = np.asarray(u, dtype=float)
    x = np.asarray(x, dtype=float)
    dx = spacing(x)
    uxx = np.full(u.shape, np.nan)
    uxx[1:-1] = (u[2:] - 2 * u[1:-1] + u[:-2]) / dx**2
    i = int(np.argmin(np.abs(x - x0)))
    if not uxx[i] >= 0:
        raise ValueError(f"u is not convex at x0={x0} (u_xx={uxx[i]:.3g})")
    lo = i
    while lo - 1 >= 1 and uxx[lo - 1] >= 0:
        lo -= 1
    hi = i
    while hi + 1 <= x.size - 2 and uxx[hi + 1] >= 0:
        hi += 1
    left = x[lo] if lo == 1 else x[lo - 1] + dx * (-uxx[lo - 1]) / (uxx[lo] - uxx[lo - 1])
    right = x[hi] if hi == x.size - 2 else x[hi] + dx * uxx[hi] / (uxx[hi] - uxx[hi + 1])
    return float(left), float(right)


def inflection_points(land: Landscape, x0: float, x: np.ndarray) -> tuple[float, float]:
    """The zeros x_0 < x0 < x_1 of f'' nearest the point x0 (1-D), by bisection from the grid ``x``."""
    from scipy.optimize import brentq

    x = np.asarray(x, dtype=float)
    h = lambda z: float(land.hess(np.array([[z]]))[0, 0, 0])      # noqa: E731
    f2 = land.hess(x[:, None])[:, 0, 0]
    i = int(np.argmin(np.abs(x - x0)))
    if f2[i] < 0:
        raise ValueError(f"f is not convex at x0={x0}")
    lo = i
    while lo > 0 and f2[lo - 1] >= 0:
        lo -= 1
    hi = i
    while hi < x.size - 1 and f2[hi + 1] >= 0:
        hi += 1
    if lo == 0 or hi == x.size - 1:
        raise ValueError("the convex interval reaches the grid's edge; widen the grid")
    return brentq(h, x[lo - 1], x[lo], xtol=1e-14), brentq(h, x[hi], x[hi + 1], xtol=1e-14)


def harmonic_mean(v) -> np.ndarray:
    """HM(v) = (mean_i 1/v_i)^-1 over the last axis (Sec. 6.3); entries must be > 0."""
    v = np.asarray(v, dtype=float)
    if np.any(~(v > 0)):
        raise ValueError("the harmonic mean needs positive entries (an SPD spectrum)")
    return 1.0 / np.mean(1.0 / v, axis=-1)


def hm_ratio(A) -> np.ndarray:
    """Lemma 19: HM(diag A) / HM(eig A) for SPD matrices A (..., n, n); the lemma says >= 1."""
    A = np.asarray(A, dtype=float)
    return harmonic_mean(np.diagonal(A, axis1=-2, axis2=-1)) / harmonic_mean(np.linalg.eigvalsh(A))


def lemma20_bound(C, t) -> np.ndarray:
    """Lemma 20: HM(spectrum of D^2 u(x*, t)) <= 1/(t + HM(C)^-1) at a local minimum x*, C_k = sup f_{x_k x_k}."""
    return 1.0 / (np.asarray(t, dtype=float) + 1.0 / harmonic_mean(C))


def random_spd(n: int, rng: np.random.Generator, decades: float = 6.0,
               n_matrices: int = 1) -> np.ndarray:
    """Random SPD matrices Q diag(lambda) Q^T: Haar-orthogonal Q, log10(lambda) uniform over ``decades``."""
    if n < 1 or n_matrices < 1 or decades < 0:
        raise ValueError("need n >= 1, n_matrices >= 1 and decades >= 0")
    Z = rng.standard_normal((n_matrices, n, n))
    Q, R = np.linalg.qr(Z)
    Q = Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[:, None, :]
    lam = 10.0 ** rng.uniform(-decades, 0, (n_matrices, n))
    A = (Q * lam[:, None, :]) @ np.swapaxes(Q, -1, -2)
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def grid_local_minima(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices (k, d) of grid points strictly below all 3^d - 1 neighbours (optionally inside ``mask``)."""
    v = np.asarray(values, dtype=float)
    d = v.ndim
    core = tuple(slice(1, -1) for _ in range(d))
    is_min = np.ones(tuple(s - 2 for s in v.shape), bool)
    for off in itertools.product((-1, 0, 1), repeat=d):
        if any(off):
            sl = tuple(slice(1 + o, s - 1 + o) for o, s in zip(off, v.shape))
            is_min &= v[core] < v[sl]
    idx = np.argwhere(is_min) + 1
    if mask is not None:
        idx = idx[np.asarray(mask, bool)[tuple(idx.T)]]
    return idx
