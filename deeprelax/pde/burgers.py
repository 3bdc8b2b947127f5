"""Example 15: Burgers' equation p_t + p p_x = 0 for p = u_x, u solving (HJ) in one dimension.

Characteristics are straight lines x = y + t f'(y) carrying p = f'(y); solving for y gives
p = f'(x - t p) (eq. (28)), classical until neighbouring characteristics meet, i.e. until
1 + t f''(y) = 0 (eq. (29)). The first shock time is therefore

    t* = 1 / max_y (-f''(y)),

the threshold of Lemma 3 (h(x, ., t) stops being convex). :func:`shock_time` evaluates it
(with the foot y_c of the first crossing and its position x_c); the two measurements in
:func:`measured_shock_time` use only the Hopf-Lax solution u(., t) (the viscosity
solution; :func:`deeprelax.pde.prox.hopf_lax_exact`): before t*, u_xx = p_x = f''/(1 + t f'')
along characteristics, so 1/max(-u_xx(., t)) = 1/kappa - t is affine in t with slope -1
and vanishes at t*: the gradient catastrophe. :func:`prox_jump` shows the other side:
the prox map y*(x) is continuous before t* and jumps across the shock after it.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from deeprelax.pde.landscapes import Landscape
from deeprelax.pde.prox import hopf_lax_exact


def _fpp(land: Landscape, y) -> np.ndarray:
    return land.hess(np.asarray(y, float)[..., None])[..., 0, 0]


def _fp(land: Landscape, y) -> np.ndarray:
    return land.grad(np.asarray(y, float)[..., None])[..., 0]


def shock_time(land: Landscape, y: np.ndarray) -> dict[str, float]:
    """t* = 1/max(-f'') of eq. (29) over the range of ``y`` (grid search refined by Brent), foot y_c and x_c."""
    if land.dim != 1:
        raise ValueError("Example 15 is one-dimensional: pass a 1-D landscape")
    y = np.asarray(y, float)
    f2 = _fpp(land, y)
    i = int(np.argmin(f2))
    if f2[i] >= 0:
        raise ValueError("f is convex on this range: characteristics never cross (t* = oo)")
    lo, hi = y[max(i - 1, 0)], y[min(i + 1, y.size - 1)]
    res = minimize_scalar(lambda z: float(_fpp(land, z)), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    y_c = float(res.x) if res.fun <= f2[i] else float(y[i])
    kappa = -float(_fpp(land, y_c))
    t_star = 1.0 / kappa
    return {"t_star": t_star, "kappa": kappa, "y_c": y_c,
            "x_c": float(y_c + t_star * _fp(land, y_c))}


def characteristics(land: Landscape, y, t) -> np.ndarray:
    """Positions x = y + t f'(y) of the characteristics from the feet ``y`` at times ``t`` (shape t x y)."""
    y = np.asarray(y, float)
    t = np.atleast_1d(np.asarray(t, float))
    return y[None, :] + t[:, None] * _fp(land, y)[None, :]


def burgers_classical(land: Landscape, x, t: float, iters: int = 200) -> np.ndarray:
    """p(x, t) solving p = f'(x - t p) (eq. (28)) for t < t*: the unique root y of y + t f'(y) = x, by bisection."""
    x = np.asarray(x, float)
    g = lambda y: y + t * _fp(land, y) - x               # noqa: E731  increasing for t < t*
    lo, hi = x - 1.0, x + 1.0
    for _ in range(60):                                   # bracket the root
        lo = np.where(g(lo) > 0, lo - 2 * (hi - lo), lo)
        hi = np.where(g(hi) < 0, hi + 2 * (hi - lo), hi)
        if np.all(g(lo) <= 0) and np.all(g(hi) >= 0):
            break
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        neg = g(mid) < 0
        lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
    y = 0.5 * (lo + hi)
    return _fp(land, y)


def measured_shock_time(land: Landscape, x: np.ndarray, t_before,
                        interior: float) -> dict[str, np.ndarray]:
    """First shock time measured on Hopf-Lax solutions: zero of the affine 1/max(-u_xx(., t)) for t < t*."""
    x = np.asarray(x, float)
    dx = x[1] - x[0]
    m = np.abs(x[1:-1]) <= interior
    inv_curv = []
    for t in t_before:
        u, _ = hopf_lax_exact(land, x, t)
        uxx = (u[2:] - 2 * u[1:-1] + u[:-2]) / dx**2
        inv_curv.append(1.0 / (-uxx[m].min()))
    t_before, inv_curv = np.asarray(t_before, float), np.array(inv_curv)
    a, b = np.polyfit(t_before, inv_curv, 1)
    return {"t": t_before, "inv_curvature": inv_curv, "t_star": float(-b / a),
            "slope": float(a)}


def prox_jump(land: Landscape, x: np.ndarray, t: float, interior: float) -> dict[str, float]:
    """Largest gap of the prox map y*(x_i) between neighbouring grid points inside |x| <= interior, and where.

    Before t* the map is smooth with slope 1/(1 + t f''(y*)) <= 1/(1 - t kappa), so every
    gap is at most dx/(1 - t kappa); after t* the gap at the shock is the jump of y*.
    """
    x = np.asarray(x, float)
    dx = x[1] - x[0]
    _, ys = hopf_lax_exact(land, x, t)
    gaps = np.diff(ys[:, 0])
    gaps[~(np.abs(x[:-1] + dx / 2) <= interior)] = 0
    j = int(np.argmax(gaps))
    return {"gap": float(gaps[j]), "x": float(x[j] + dx / 2), "y_left": float(ys[j, 0]),
            "y_right": float(ys[j + 1, 0])}
