"""Mass-conserving monotone finite volumes for the Fokker-Planck equation (FP), eq. (26).

rho_t = -div(b rho) + (beta^-1/2) Delta rho, the density of dx = b(x, s) ds + beta^-1/2 dW.
Cell averages live on the grid points; fluxes on the faces between them use the
upwind value for the drift and a centred difference for diffusion, with zero
flux through the outer faces. The update is a telescoping sum, so total mass is
conserved to round-off, and it is monotone (positivity preserving) under the
CFL condition enforced at every step.

Sign convention: for the gradient flows of the paper the drift is b = -grad f
(SGD) or b = -grad u (the smoothed losses of Figure 1). Eq. (26) as printed has
+div(grad u rho) on the other side, i.e. the drift +grad u; we use the descent
drift -grad u, which is what Figure 1 shows.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from deeprelax.pde.heat import _check_shape, spacing


def face_drift(potential: np.ndarray, axes) -> tuple[np.ndarray, ...]:
    """Drift b = -grad(potential) on the cell faces, one array per axis (length n-1 along it)."""
    potential, axes = _check_shape(potential, axes)
    return tuple(-np.diff(potential, axis=ax) / spacing(x) for ax, x in enumerate(axes))


def _flux(rho: np.ndarray, b: np.ndarray, ax: int, dx: float, nu: float) -> np.ndarray:
    """Numerical flux through the interior faces of axis ``ax``, zero on the outer faces."""
    r = np.moveaxis(rho, ax, -1)
    b = np.moveaxis(b, ax, -1)
    inner = np.maximum(b, 0) * r[..., :-1] + np.minimum(b, 0) * r[..., 1:] \
        - nu * (r[..., 1:] - r[..., :-1]) / dx
    zero = np.zeros(inner.shape[:-1] + (1,))
    return np.moveaxis(np.concatenate([zero, inner, zero], axis=-1), -1, ax)


def fokker_planck(rho0: np.ndarray, axes, drift: Sequence[np.ndarray] | Callable,
                  t: float, beta: float, snapshots: Sequence[float] = (),
                  cfl: float = 0.9):
    """Evolve rho0 to time t under (FP) with drift b on faces; optionally return snapshots.

    ``drift`` is a tuple of face arrays (see :func:`face_drift`) or a callable
    ``drift(s) -> tuple`` for a time-dependent drift. ``snapshots`` lists times in
    [0, t] at which to record rho; then ``(rho_t, [rho(s) for s in snapshots])``
    is returned, else ``rho_t``.
    """
    rho, axes = _check_shape(rho0, axes)
    if np.any(rho < 0):
        raise ValueError("the initial density must be non-negative")
    if beta <= 0 or t < 0:
        raise ValueError(f"need beta > 0 and t >= 0, got beta={beta}, t={t}")
    nu = 0.5 / beta
    dxs = [spacing(x) for x in axes]
    field = drift if callable(drift) else (lambda s: drift)
    marks = sorted(float(s) for s in snapshots)
    if any(s < 0 or s > t for s in marks):
        raise ValueError("snapshot times must lie in [0, t]")
    saved, s = [], 0.0
    rho = rho.copy()
    while True:
        while marks and marks[0] <= s + 1e-12 * max(t, 1.0):
            saved.append(rho.copy())
            marks.pop(0)
        if s >= t:
            break
        b = field(s)
        if len(b) != len(axes):
            raise ValueError("drift needs one face array per grid axis")
        rate = sum(np.abs(bk).max() / dx + 2 * nu / dx**2 for bk, dx in zip(b, dxs))
        stop = marks[0] if marks else t
        dt = min(cfl / rate, stop - s)
        div = np.zeros_like(rho)
        for ax, (bk, dx) in enumerate(zip(b, dxs)):
            F = np.moveaxis(_flux(rho, bk, ax, dx, nu), ax, -1)
            div += np.moveaxis(F[..., 1:] - F[..., :-1], -1, ax) / dx
        rho = rho - dt * div
        s = stop if stop - s - dt <= 1e-12 * max(t, 1.0) else s + dt
    return (rho, saved) if snapshots else rho


def mass(rho: np.ndarray, axes) -> float:
    """Total mass sum(rho) dx_1 ... dx_d of a density on the grid."""
    rho, axes = _check_shape(rho, axes)
    return float(rho.sum() * np.prod([spacing(x) for x in axes]))
