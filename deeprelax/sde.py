"""Euler-Maruyama simulation of the paper's SDEs over many independent particles.

The generic integrator :func:`euler_maruyama` advances dX = b(X, s) ds + sigma dW for
an array of particles of shape ``(n_particles, dim)``; the paper's dynamics
(SGD, Entropy-SGD, ...) are built on it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


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
