"""Euler-Maruyama simulation of the paper's SDEs over many independent particles.

The generic integrator :func:`euler_maruyama` advances dX = b(X, s) ds + sigma dW for
an array of particles of shape ``(n_particles, dim)``; the paper's dynamics are built
on it by stacking their variables into one state vector per particle:

- :func:`sgd` (SGD, Sec. 2.3) and :func:`csgd` (CSGD, Sec. 5.1, with the running
  control cost as an extra coordinate);
- the two-time-scale systems of Sec. 4: :func:`entropy_sgd` (Entropy-SGD),
  :func:`entropy_sgd2` (Entropy-SGD-2), :func:`heat_sgd` (HEAT) and
  :func:`elastic_sgd` (Elastic-SGD, eqs. (21)-(22));
- :func:`inner_chain`, the fast dynamics for a frozen x (the y-equation of
  Entropy-SGD in its own time s/eps), used for the temporal average (19) and Remark 6.

Noise convention (stated once, used everywhere): an SDE dy = -grad H(y) ds +
beta^{-1/2} dW has generator -grad H . grad + (beta^{-1}/2) Delta and invariant density
proportional to exp(-2 beta H). The paper writes exp(-beta H) for rho_1^infty (Sec. 4.2)
and for the Gibbs density (10); with the printed noise the exponent carries 2 beta.
Hence the homogenised limit of (Entropy-SGD) at noise beta^{-1/2} is the gradient flow
of the local entropy (11) evaluated at inverse temperature ``gibbs_beta(beta) = 2 beta``.
(Entropy-SGD-2) is printed with unit noise 1/sqrt(eps) dW; we use beta^{-1/2}/sqrt(eps)
so that all Sec. 4 systems share one temperature (beta = 1 recovers the printed one).

Integrators: :func:`euler_maruyama` (default, as in Sec. 7.1) and
:func:`leimkuhler_matthews` (Euler-Maruyama with the noise of consecutive steps averaged:
second-order accurate invariant law, exact for Ornstein-Uhlenbeck), selected by
``scheme="em"`` / ``"lm"`` in the two-time-scale simulators; use "lm" when the fast
variable is stiff.

All functions take ``x0`` of shape ``(n_particles, dim)`` and a ``numpy`` Generator;
``grad`` maps points ``(..., dim)`` to gradients of the same shape (e.g.
``landscapes.Wells(...).grad``). Time steps must resolve the fast scale: ``dt < eps``
is enforced, and accuracy needs ``dt`` much smaller than ``eps`` times the fast
relaxation time ``1 / (1/gamma + max |f''|)``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

GradFn = Callable[[np.ndarray], np.ndarray]


def euler_maruyama(drift: Callable[[np.ndarray, float], np.ndarray], x0: np.ndarray,
                   dt: float, n_steps: int, sigma: float | np.ndarray,
                   rng: np.random.Generator, record_every: int = 0):
    """Integrate dX = drift(X, s) ds + sigma dW from X(0) = x0 (Kloeden-Platen, order 1/2).

    ``x0`` has shape ``(n_particles, dim)``; ``sigma`` is a scalar or per-coordinate
    array. With ``record_every = k > 0`` also returns the path sampled every k steps,
    shape ``(n_steps // k + 1, n_particles, dim)``.
    """
    if dt <= 0 or n_steps < 0:
        raise ValueError(f"need dt > 0 and n_steps >= 0, got dt={dt}, n_steps={n_steps}")
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 2:
        raise ValueError(f"x0 must have shape (n_particles, dim), got {x.shape}")
    sq = np.sqrt(dt) * np.asarray(sigma, dtype=float)
    path = [x.copy()] if record_every else None
    for k in range(n_steps):
        x = x + dt * drift(x, k * dt) + sq * rng.standard_normal(x.shape)
        if record_every and (k + 1) % record_every == 0:
            path.append(x.copy())
    return (x, np.stack(path)) if record_every else x


def leimkuhler_matthews(drift: Callable[[np.ndarray, float], np.ndarray], x0: np.ndarray,
                        dt: float, n_steps: int, sigma: float | np.ndarray,
                        rng: np.random.Generator, record_every: int = 0):
    """Euler-Maruyama with averaged noise (xi_k + xi_{k+1})/2 (Leimkuhler-Matthews 2013); same API as :func:`euler_maruyama`.

    For gradient drifts the invariant law is second-order accurate in dt, and exact for
    an Ornstein-Uhlenbeck process at any stable step (Euler-Maruyama inflates its
    variance by 1/(1 - k dt/2)); this removes the step-size bias of stiff fast variables.
    """
    if dt <= 0 or n_steps < 0:
        raise ValueError(f"need dt > 0 and n_steps >= 0, got dt={dt}, n_steps={n_steps}")
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 2:
        raise ValueError(f"x0 must have shape (n_particles, dim), got {x.shape}")
    half = 0.5 * np.sqrt(dt) * np.asarray(sigma, dtype=float)
    xi = rng.standard_normal(x.shape)
    path = [x.copy()] if record_every else None
    for k in range(n_steps):
        xi_next = rng.standard_normal(x.shape)
        x = x + dt * drift(x, k * dt) + half * (xi + xi_next)
        xi = xi_next
        if record_every and (k + 1) % record_every == 0:
            path.append(x.copy())
    return (x, np.stack(path)) if record_every else x


SCHEMES = {"em": euler_maruyama, "lm": leimkuhler_matthews}


def gibbs_beta(beta: float) -> float:
    """Inverse temperature of the Gibbs density exp(-2 beta H) of dy = -grad H + beta^-1/2 dW."""
    _positive(beta=beta)
    return 2.0 * beta


# --------------------------------------------------------------------------- helpers
def _positive(**values: float) -> None:
    for name, v in values.items():
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")


def _particles(x0) -> np.ndarray:
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 2:
        raise ValueError(f"x0 must have shape (n_particles, dim), got {x.shape}; "
                         f"use x0[:, None] for one-dimensional problems")
    return x


def step_count(T: float, dt: float) -> tuple[int, float]:
    """Number of Euler-Maruyama steps to reach T with step at most dt, and the step used."""
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"T must be >= 0, got {T}")
    _positive(dt=dt)
    n = int(np.ceil(T / dt - 1e-9))
    return n, (T / n if n else dt)


def _schedule(gamma) -> Callable[[float], float]:
    """gamma as a function of time: a positive constant or a callable s -> gamma(s)."""
    if callable(gamma):
        return gamma
    _positive(gamma=gamma)
    g = float(gamma)
    return lambda s: g


def _integrator(scheme: str):
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose 'em' (Euler-Maruyama) or "
                         f"'lm' (Leimkuhler-Matthews)")
    return SCHEMES[scheme]


def _fast_ok(dt: float, eps: float) -> None:
    _positive(eps=eps)
    if dt >= eps:
        raise ValueError(f"dt={dt} does not resolve the fast time scale eps={eps}: "
                         f"take dt well below eps (e.g. dt = eps/50)")


def _run(drift, z0, dt, T, sigma, rng, record_every, d, scheme="em"):
    """Integrate the stacked state and return x = z[:, :d] (and its path)."""
    n, dt = step_count(T, dt)
    out = _integrator(scheme)(drift, z0, dt, n, sigma, rng, record_every)
    if record_every:
        z, path = out
        return z, path[..., :d]
    return out, None


def _pack(z, path, d, return_state):
    x = z[:, :d]
    if return_state and path is not None:
        return x, path, z
    if return_state:
        return x, z
    return (x, path) if path is not None else x


def _two_scale(drift, x0, y0, eps, beta, dt, T, rng, record_every, scheme, return_state):
    """Run a slow-fast system: x = z[:, :d] noiseless, the fast y (any width) with noise
    (eps beta)^{-1/2}; returns as :func:`_pack`."""
    d = x0.shape[1]
    sigma = np.r_[np.zeros(d), np.full(y0.shape[1], (eps * beta) ** -0.5)]
    z, path = _run(drift, np.concatenate([x0, y0], axis=1), dt, T, sigma, rng,
                   record_every, d, scheme)
    return _pack(z, path, d, return_state)


# --------------------------------------------------------------------------- simulators
def sgd(grad: GradFn, x0, T: float, dt: float, beta: float, rng: np.random.Generator,
        record_every: int = 0):
    """(SGD) of Sec. 2.3: dx = -grad f(x) ds + beta^{-1/2} dW, Euler-Maruyama."""
    _positive(beta=beta)
    x0 = _particles(x0)
    n, dt = step_count(T, dt)
    return euler_maruyama(lambda x, s: -grad(x), x0, dt, n, beta ** -0.5, rng, record_every)


def entropy_sgd(grad: GradFn, x0, gamma, eps: float, T: float, dt: float, beta: float,
                rng: np.random.Generator, y0=None, record_every: int = 0,
                return_state: bool = False, scheme: str = "em"):
    """(Entropy-SGD), Sec. 4.2: dx = -(x - y)/gamma ds, dy = -[grad f(y) + (y - x)/gamma] ds/eps + (eps beta)^{-1/2} dW.

    ``gamma`` is a constant or a schedule ``gamma(s)`` (scoping, Sec. 7.5). ``y0``
    defaults to ``x0`` (Sec. 7.1 initialises y = x). Returns x(T) (and the x-path with
    ``record_every``; the full state ``(x, y)`` too with ``return_state``).
    """
    _positive(beta=beta)
    _fast_ok(dt, eps)
    g = _schedule(gamma)
    x0 = _particles(x0)
    d = x0.shape[1]
    y0 = x0 if y0 is None else _particles(y0)

    def drift(z, s):
        x, y = z[:, :d], z[:, d:]
        gi = 1.0 / g(s)
        return np.concatenate([-gi * (x - y), -(grad(y) + gi * (y - x)) / eps], axis=1)

    return _two_scale(drift, x0, y0, eps, beta, dt, T, rng, record_every, scheme,
                      return_state)


def entropy_sgd2(grad: GradFn, x0, gamma, eps: float, T: float, dt: float, beta: float,
                 rng: np.random.Generator, y0=None, record_every: int = 0,
                 return_state: bool = False, scheme: str = "em"):
    """(Entropy-SGD-2), Sec. 4.2: dx = -grad f(x - y) ds, dy = -[y/gamma - grad f(x - y)] ds/eps + (eps beta)^{-1/2} dW.

    The second gradient form of eq. (12): y samples rho_2^infty(y; x). The paper
    prints the noise as eps^{-1/2} dW (beta = 1). ``y0`` defaults to 0 (Remark 21).
    """
    _positive(beta=beta)
    _fast_ok(dt, eps)
    g = _schedule(gamma)
    x0 = _particles(x0)
    d = x0.shape[1]
    y0 = np.zeros_like(x0) if y0 is None else _particles(y0)

    def drift(z, s):
        x, y = z[:, :d], z[:, d:]
        gf = grad(x - y)
        return np.concatenate([-gf, -(y / g(s) - gf) / eps], axis=1)

    return _two_scale(drift, x0, y0, eps, beta, dt, T, rng, record_every, scheme,
                      return_state)


def heat_sgd(grad: GradFn, x0, gamma, eps: float, T: float, dt: float, beta: float,
             rng: np.random.Generator, y0=None, record_every: int = 0,
             return_state: bool = False, scheme: str = "em"):
    """(HEAT), Sec. 4.4: dx = -grad f(x - y) ds, dy = -y ds/(eps gamma) + (eps beta)^{-1/2} dW.

    y is an Ornstein-Uhlenbeck process decoupled from x with invariant law
    N(0, gamma/(2 beta)) (the paper's G_{beta^-1 gamma} at inverse temperature 2 beta), so
    the homogenised x follows -grad of the heat-smoothed loss, eq. (23).
    """
    _positive(beta=beta)
    _fast_ok(dt, eps)
    g = _schedule(gamma)
    x0 = _particles(x0)
    d = x0.shape[1]
    y0 = np.zeros_like(x0) if y0 is None else _particles(y0)

    def drift(z, s):
        x, y = z[:, :d], z[:, d:]
        return np.concatenate([-grad(x - y), -y / (eps * g(s))], axis=1)

    return _two_scale(drift, x0, y0, eps, beta, dt, T, rng, record_every, scheme,
                      return_state)


def elastic_sgd(grad: GradFn, x0, gamma, eps: float, T: float, dt: float, beta: float,
                rng: np.random.Generator, *, n_replicas: int, record_every: int = 0,
                return_state: bool = False, scheme: str = "em"):
    """Elastic-SGD, Sec. 4.3, eqs. (21)-(22): replicas y_i coupled elastically to a centre x.

    dx = -(x - ybar)/gamma ds and, for i = 1..n_p,
    dy_i = -[grad f(y_i) + (y_i - x)/gamma] ds/eps + (eps beta)^{-1/2} dW_i,
    i.e. H = sum_i f(y_i) + |x - y_i|^2/(2 gamma) (the elastic coupling of Zhang et al.,
    2015). The paper's (21) couples y_i to ybar and its x-equation has the sign
    flipped; with the centre variable the homogenised drift is -(x - <ybar>)/gamma =
    -grad f_gamma(x), and ybar replaces the temporal average (19) by a spatial one.
    The printed variants are ``chapters.ch04_homogenization.elastic_sgd_as_printed``
    (the printed sign follows +grad f_gamma; the printed coupling does not see x).
    Returns the centre x(T); the state is ``(x, y_1, ..., y_np)`` per particle.
    """
    _positive(beta=beta)
    _fast_ok(dt, eps)
    if int(n_replicas) != n_replicas or n_replicas < 1:
        raise ValueError(f"n_replicas must be a positive integer, got {n_replicas!r}")
    n_replicas = int(n_replicas)
    g = _schedule(gamma)
    x0 = _particles(x0)
    n, d = x0.shape

    def drift(z, s):
        x = z[:, :d]
        y = z[:, d:].reshape(n, n_replicas, d)
        gi = 1.0 / g(s)
        dx = -gi * (x - y.mean(axis=1))
        dy = -(grad(y) + gi * (y - x[:, None, :])) / eps
        return np.concatenate([dx, dy.reshape(n, -1)], axis=1)

    return _two_scale(drift, x0, np.tile(x0, (1, n_replicas)), eps, beta, dt, T, rng,
                      record_every, scheme, return_state)


def inner_chain(grad: GradFn, x, gamma: float, y0, S: float, dt: float, beta: float,
                rng: np.random.Generator, record_every: int = 0, scheme: str = "em"):
    """Fast dynamics of (Entropy-SGD) for frozen x, in fast time: dy = -[grad f(y) + (y - x)/gamma] ds + beta^{-1/2} dW (eq. (18)).

    ``x`` broadcasts against ``y0`` (shape ``(n_chains, dim)``); its invariant law is
    rho_1^infty(y; x) of eq. (13) at inverse temperature 2 beta. Used for the temporal
    average (19) and the convergence of Remark 6.
    """
    _positive(beta=beta, gamma=gamma)
    y0 = _particles(y0)
    x = np.broadcast_to(np.asarray(x, dtype=float), y0.shape)
    n, dt = step_count(S, dt)
    return _integrator(scheme)(lambda y, s: -(grad(y) + (y - x) / gamma), y0, dt, n,
                               beta ** -0.5, rng, record_every)


def csgd(grad: GradFn, control: Callable[[np.ndarray, float], np.ndarray] | None, x0,
         T: float, dt: float, beta: float, rng: np.random.Generator,
         record_every: int = 0):
    """(CSGD), Sec. 5.1: dx = -grad f(x) ds - alpha(x, s) ds + beta^{-1/2} dW; returns (x(T), int_0^T |alpha|^2 ds).

    ``control(x, s)`` is a feedback control (e.g. alpha = grad u of (HJB), eq. (25));
    ``None`` means alpha = 0, i.e. (SGD). The running cost is integrated with the same
    left-point rule as the state, so two calls with equal seeds share their Brownian
    increments (common random numbers for Theorem 12). With ``record_every`` the
    x-path is returned as a third value.
    """
    _positive(beta=beta)
    x0 = _particles(x0)
    d = x0.shape[1]

    def drift(z, s):
        x = z[:, :d]
        if control is None:
            return np.concatenate([-grad(x), np.zeros((x.shape[0], 1))], axis=1)
        a = control(x, s)
        return np.concatenate([-grad(x) - a, np.sum(a * a, axis=1, keepdims=True)], axis=1)

    sigma = np.r_[np.full(d, beta ** -0.5), 0.0]
    z, path = _run(drift, np.concatenate([x0, np.zeros((x0.shape[0], 1))], axis=1), dt, T,
                   sigma, rng, record_every, d)
    if path is not None:
        return z[:, :d], z[:, d], path
    return z[:, :d], z[:, d]
