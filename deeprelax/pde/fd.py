"""Monotone explicit finite-difference schemes (Oberman 2006) for the paper's PDEs.

- :func:`viscous_hj`: u_t = -|grad u|^2/2 + (beta^-1/2) Delta u  (viscous-HJ), Godunov
  Hamiltonian for the gradient term, centred differences for the Laplacian;
- :func:`hj`: the inviscid limit u_t = -|grad u|^2/2 (HJ);
- :func:`heat`: v_t = (beta^-1/2) Delta v (the PDE behind eq. (23)).

An optional ``advection`` a(x) (one array per axis) turns the Hamiltonian into
H(x, p) = a(x) . p + |p|^2/2, i.e. u_t = -a . grad u - |grad u|^2/2 + (beta^-1/2) Delta u,
which is (HJB) of Sec. 5 written forward in the time-to-go (a = grad f).

All schemes are monotone under the CFL condition enforced here (first order in
space and time), on tensor grids in any dimension. Boundary values use linear
extrapolation (zero second difference), so solutions are accurate away from the
edges of the box; choose the box so the region of interest stays inside the
domain of dependence.
"""
from __future__ import annotations

import numpy as np

from deeprelax.pde.heat import _check_shape, spacing


def _pad_linear(u: np.ndarray, ax: int) -> np.ndarray:
    """Add one ghost point at each end of axis ``ax`` by linear extrapolation."""
    u = np.moveaxis(u, ax, -1)
    lo = 2 * u[..., :1] - u[..., 1:2]
    hi = 2 * u[..., -1:] - u[..., -2:-1]
    return np.moveaxis(np.concatenate([lo, u, hi], axis=-1), -1, ax)


def _one_sided(u: np.ndarray, ax: int, dx: float) -> tuple[np.ndarray, np.ndarray]:
    """Backward and forward differences D-u, D+u along ``ax`` (with ghost points)."""
    up = np.moveaxis(_pad_linear(u, ax), ax, -1)
    dm = (up[..., 1:-1] - up[..., :-2]) / dx
    dp = (up[..., 2:] - up[..., 1:-1]) / dx
    return np.moveaxis(dm, -1, ax), np.moveaxis(dp, -1, ax)


def godunov(dm: np.ndarray, dp: np.ndarray, a: np.ndarray | float = 0.0) -> np.ndarray:
    """Godunov numerical Hamiltonian of H(p) = a p + p^2/2 (convex, minimum at p0 = -a)."""
    p0 = -np.asarray(a)
    H = lambda p: a * p + 0.5 * p * p          # noqa: E731
    return np.maximum(H(np.maximum(dm, p0)), H(np.minimum(dp, p0)))


def _evolve(u0, axes, t, nu, gradient_term, advection=None, cfl=0.9):
    """March u_t = -H_G(grad u) + nu Delta u to time t; dt re-chosen each step so CFL <= cfl."""
    u, axes = _check_shape(u0, axes)
    u = u.copy()
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    if not 0 < cfl <= 1:
        raise ValueError(f"cfl must lie in (0, 1], got {cfl}")
    if advection is not None:
        if len(advection) != len(axes):
            raise ValueError("advection needs one array per grid axis")
        advection = tuple(np.broadcast_to(np.asarray(a, float), u.shape) for a in advection)
    dxs = [spacing(x) for x in axes]
    s = 0.0
    while s < t:
        diffs = [_one_sided(u, ax, dx) for ax, dx in enumerate(dxs)]
        rate = 0.0
        for ax, (dx, (dm, dp)) in enumerate(zip(dxs, diffs)):
            speed = max(np.abs(dm).max(), np.abs(dp).max()) if gradient_term else 0.0
            if gradient_term and advection is not None:
                speed += np.abs(advection[ax]).max()
            rate += speed / dx + 2 * nu / dx**2
        dt = t - s if rate == 0 else min(cfl / rate, t - s)
        if t - s - dt < 1e-12 * t:             # avoid a last step of round-off size
            dt = t - s
        rhs = np.zeros_like(u)
        for ax, (dx, (dm, dp)) in enumerate(zip(dxs, diffs)):
            if gradient_term:
                rhs -= godunov(dm, dp, 0.0 if advection is None else advection[ax])
            if nu:
                rhs += nu * (dp - dm) / dx
        u = u + dt * rhs
        s += dt
    return u


def viscous_hj(f_values: np.ndarray, axes, t: float, beta: float, advection=None,
               cfl: float = 0.9) -> np.ndarray:
    """u(., t) for (viscous-HJ) with u(., 0) = f by a monotone scheme (Lemma 1's PDE)."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    return _evolve(f_values, axes, t, 0.5 / beta, True, advection, cfl)


def hj(f_values: np.ndarray, axes, t: float, advection=None, cfl: float = 0.9) -> np.ndarray:
    """u(., t) for (HJ) u_t = -|grad u|^2/2 with u(., 0) = f (Godunov scheme, Lemma 2's PDE)."""
    return _evolve(f_values, axes, t, 0.0, True, advection, cfl)


def heat(f_values: np.ndarray, axes, t: float, beta: float, cfl: float = 0.9) -> np.ndarray:
    """v(., t) for v_t = (beta^-1/2) Delta v with v(., 0) = f (eq. (23)), explicit scheme."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    return _evolve(f_values, axes, t, 0.5 / beta, False, None, cfl)


# ------------------------------------------------------------------ centred differences
def gradient(values: np.ndarray, axes) -> np.ndarray:
    """grad u by second-order centred differences (one-sided, second order, at the edges); shape grid + (d,)."""
    values, axes = _check_shape(values, axes)
    for x in axes:
        spacing(x)
    g = np.gradient(values, *axes, edge_order=2)
    return np.stack(g if isinstance(g, (list, tuple)) else [g], axis=-1)


def second_derivatives(values: np.ndarray, axes) -> np.ndarray:
    """u_{x_k x_k} by the centred second difference at interior points (NaN on the edges); shape grid + (d,)."""
    values, axes = _check_shape(values, axes)
    out = np.full(values.shape + (len(axes),), np.nan)
    for ax, x in enumerate(axes):
        dx = spacing(x)
        u = np.moveaxis(values, ax, -1)
        d2 = (u[..., 2:] - 2 * u[..., 1:-1] + u[..., :-2]) / dx**2
        o = np.moveaxis(out[..., ax], ax, -1)
        o[..., 1:-1] = d2
    return out


def hessian(values: np.ndarray, axes) -> np.ndarray:
    """D^2 u by centred differences (second order) at interior points (NaN on the edges); shape grid + (d, d)."""
    values, axes = _check_shape(values, axes)
    d = len(axes)
    H = np.full(values.shape + (d, d), np.nan)
    diag = second_derivatives(values, axes)
    inner = tuple(slice(1, -1) for _ in range(d))
    for i in range(d):
        H[..., i, i] = diag[..., i]
        for j in range(i + 1, d):
            di, dj = spacing(axes[i]), spacing(axes[j])
            def sh(si, sj):
                idx = [slice(1, -1)] * d
                idx[i] = slice(1 + si, values.shape[i] - 1 + si)
                idx[j] = slice(1 + sj, values.shape[j] - 1 + sj)
                return values[tuple(idx)]
            mixed = (sh(1, 1) - sh(1, -1) - sh(-1, 1) + sh(-1, -1)) / (4 * di * dj)
            H[inner + (i, j)] = mixed
            H[inner + (j, i)] = mixed
    return H
