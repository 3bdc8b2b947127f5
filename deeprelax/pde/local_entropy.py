"""Local entropy f_gamma = u(., gamma) by the Cole-Hopf formula (eq. (11), Lemma 1).

u(x, t) = -beta^-1 log( G_{beta^-1 t} * exp(-beta f) )(x) solves the viscous
Hamilton-Jacobi equation u_t = -|grad u|^2/2 + (beta^-1/2) Delta u, u(., 0) = f.
"""
from __future__ import annotations

import numpy as np

from deeprelax.pde.heat import log_gaussian_smoothing


def local_entropy(f_values: np.ndarray, axes, t: float, beta: float) -> np.ndarray:
    """u(., t) on the grid from f on the grid, by Cole-Hopf (eq. (11)); t = gamma gives f_gamma."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    f_values = np.asarray(f_values, dtype=float)
    if t == 0:
        return f_values.copy()
    return -log_gaussian_smoothing(-beta * f_values, axes, t / beta) / beta

