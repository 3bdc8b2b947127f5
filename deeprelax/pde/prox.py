"""The proximal point (14), the gradient (15) of the Hopf-Lax solution, and its dynamics (16) (Lemmas 2-3).

- :func:`prox_newton` refines a starting point (e.g. the exact grid minimiser of
  :func:`deeprelax.pde.hopf_lax.hopf_lax`) to the nearby minimiser y* of
  phi_x(y) = f(y) + |x - y|^2/(2t) by damped Newton steps, to round-off; then
  :func:`hopf_lax_exact` gives u(x, t) = phi_x(y*) (eq. (HL)) without grid error, away
  from the shock set where two minimisers tie; there grad_x u = (x - y*)/t = grad f(y*) (15).
- :func:`dynamics16` integrates y'(s) = -grad_y h(x, y; t) = -t (y - grad f(x - t y)) (eq.
  (16)) by RK4 for many x and starting points at once; its fixed point is p = grad_x u(x, t).
- :func:`convexity_modulus` is the lambda of Lemma 3: D_y^2 h = t I + t^2 D^2 f(x - t y), so
  h is lambda-convex with lambda(t) = t (1 - t kappa) when D^2 f >= -kappa I; the lemma's
  assumption holds for t < 1/kappa, the same threshold as the shock time (29).
"""
from __future__ import annotations

import numpy as np

from deeprelax.pde.hopf_lax import hopf_lax
from deeprelax.pde.landscapes import Landscape, as_axes, grid_points


def _phi(land: Landscape, x: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
    return land.value(y) + np.sum((x - y) ** 2, axis=-1) / (2 * t)


def prox_newton(land: Landscape, x, t: float, y0, tol: float = 1e-13,
                max_iter: int = 100, strict: bool = True):
    """prox_{t,f}(x) of eq. (14) by damped Newton on grad f(y) + (y - x)/t = 0 from y0 (a nearby minimiser).

    Points have shape ``(..., d)``. Each Newton step is halved until phi_x decreases, so the
    iteration converges to a local minimiser of phi_x; started at the grid minimiser it is the global one except
    at near-ties (shocks). Where D^2 f + I/t is not positive definite the step uses
    D^2 f + I/t + (|lambda_min| + 1/t - lambda_min) I instead. Raises if some point has not
    converged after ``max_iter`` steps; with ``strict=False`` returns ``(y, converged)``.
    """
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    x = land._check(x)
    y = np.array(np.broadcast_to(land._check(y0), x.shape), dtype=float)
    shape = x.shape
    x, y = x.reshape(-1, shape[-1]), y.reshape(-1, shape[-1])
    eye = np.eye(shape[-1])
    active = np.arange(x.shape[0])                 # points not yet converged
    for _ in range(max_iter):
        xa, ya = x[active], y[active]
        g = land.grad(ya) + (ya - xa) / t
        done = np.max(np.abs(g), axis=-1) * t <= tol * (1 + np.max(np.abs(ya), axis=-1))
        active, xa, ya, g = active[~done], xa[~done], ya[~done], g[~done]
        if active.size == 0:
            break
        H = land.hess(ya) + eye / t
        lam = np.linalg.eigvalsh(H)[:, :1]                     # smallest eigenvalue
        shift = np.where(lam < 1e-8 / t, np.abs(lam) + 1 / t - lam, 0.0)[:, :, None]
        step = np.linalg.solve(H + shift * eye, g[:, :, None])[:, :, 0]
        alpha = np.ones((active.size, 1))
        phi0 = _phi(land, xa, ya, t)
        # backtracking, per point; tiny steps (already in Newton's quadratic regime, where
        # phi's decrease is below its round-off) are taken in full
        big = np.max(np.abs(step), axis=-1) > 1e-7 * (1 + np.max(np.abs(ya), axis=-1))
        todo = np.flatnonzero(big | (shift[:, 0, 0] > 0))
        for _ in range(40):
            trial = ya[todo] - alpha[todo] * step[todo]
            worse = _phi(land, xa[todo], trial, t) > phi0[todo] + 1e-15 * (1 + np.abs(phi0[todo]))
            if not np.any(worse):
                break
            todo = todo[worse]
            alpha[todo] *= 0.5
        y[active] = ya - alpha * step
    else:
        if strict:
            raise RuntimeError(f"prox_newton did not converge in {max_iter} steps at "
                               f"{active.size} point(s); pass a better y0")
    if strict:
        return y.reshape(shape)
    converged = np.ones(x.shape[0], bool)
    converged[active] = False
    return y.reshape(shape), converged.reshape(shape[:-1])


def hopf_lax_exact(land: Landscape, axes, t: float, sweeps: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """u(x, t) of eq. (HL) and y* = prox_{t,f}(x) (14) at the grid points: grid minimiser refined by Newton.

    Near a shock the grid minimiser may sit on the wrong branch (the two minima differ
    by less than the O(dx^2) grid error); so wherever a neighbour's y* differs from a
    point's own by more than two cells, Newton is restarted from the neighbour's y* (at
    most 20 steps: a branch that does not reach x is dropped) and the lower value kept
    (``sweeps`` passes). Returns ``(u, ystar)`` with shapes
    ``grid`` and ``grid + (d,)``.
    """
    axes = as_axes(axes)
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    X = grid_points(axes)
    _, idx = hopf_lax(land.on_grid(axes), axes, t, return_argmin=True)
    y0 = np.stack([a[i] for a, i in zip(axes, idx)], axis=-1)
    y = prox_newton(land, X, t, y0)
    phi = _phi(land, X, y, t)
    h = max(abs(a[1] - a[0]) for a in axes)
    for _ in range(sweeps):
        changed = False
        for ax in range(len(axes)):
            for shift in (1, -1):
                nb = np.roll(y, shift, axis=ax)
                sel = np.max(np.abs(nb - y), axis=-1) > 2 * h
                edge = [slice(None)] * len(axes)
                edge[ax] = 0 if shift == 1 else -1        # np.roll wrapped these around
                sel[tuple(edge)] = False
                if not np.any(sel):
                    continue
                cand, ok = prox_newton(land, X[sel], t, nb[sel], max_iter=20, strict=False)
                pc = _phi(land, X[sel], cand, t)
                better = ok & (pc < phi[sel] - 1e-15 * (1 + np.abs(phi[sel])))
                if np.any(better):
                    where = tuple(i[better] for i in np.nonzero(sel))
                    y[where] = cand[better]
                    phi[where] = pc[better]
                    changed = True
        if not changed:
            break
    return phi, y


def semiconvexity(land: Landscape, axes) -> float:
    """kappa = max(0, -min_x lambda_min(D^2 f(x))) over the grid: D^2 f >= -kappa I there."""
    H = land.hess(grid_points(as_axes(axes)))
    return float(max(0.0, -np.linalg.eigvalsh(H)[..., 0].min()))


def convexity_modulus(t, kappa: float):
    """lambda(t) = t (1 - t kappa): h(x, ., t) of Lemma 3 is lambda-convex when D^2 f >= -kappa I."""
    t = np.asarray(t, dtype=float)
    if kappa < 0:
        raise ValueError(f"kappa must be >= 0, got {kappa}")
    return t * (1 - t * kappa)


def dynamics16(land: Landscape, x, y0, t: float, s_max: float, ds: float,
               record_every: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Integrate y' = -t (y - grad f(x - t y)) (eq. (16), Lemma 3) by RK4; returns (s, path).

    ``x`` and ``y0`` broadcast to a common shape ``(..., d)``; ``path`` has shape
    ``(n_records, ..., d)``. The step must resolve the stiffest rate t (1 + t max f'').
    """
    if not (t > 0 and s_max > 0 and ds > 0):
        raise ValueError(f"need t, s_max, ds > 0, got t={t}, s_max={s_max}, ds={ds}")
    if record_every < 1:
        raise ValueError("record_every must be >= 1")
    x = land._check(x)
    y = np.array(np.broadcast_to(land._check(y0), np.broadcast_shapes(x.shape,
                                                                   np.shape(y0))), float)
    rhs = lambda z: -t * (z - land.grad(x - t * z))           # noqa: E731
    n = int(np.ceil(s_max / ds - 1e-9))
    h = s_max / n
    path, times = [y.copy()], [0.0]
    for k in range(n):
        k1 = rhs(y)
        k2 = rhs(y + 0.5 * h * k1)
        k3 = rhs(y + 0.5 * h * k2)
        k4 = rhs(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if (k + 1) % record_every == 0 or k == n - 1:
            path.append(y.copy())
            times.append((k + 1) * h)
    return np.array(times), np.stack(path)
