"""Gaussian convolution on tensor grids: the heat equation's exact solution (eq. (23)).

``gaussian_smoothing(v, axes, s)`` returns G_s * v, the solution at time s of
v_t = (1/2) Delta v (so G_{beta^-1 t} * f solves v_t = (beta^-1/2) Delta v at time t).
``log_gaussian_smoothing`` does the same in the log domain, stably, and is the
engine of the Cole-Hopf formula (11). The kernel is separable, so a d-dimensional
convolution is d matrix products (a 1024^2 grid takes a fraction of a second).

The integral over R^n is truncated to the grid's box (values outside are taken
as zero, i.e. f = +infinity for the log-domain version); results are accurate
where the kernel's mass outside the box is negligible.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from deeprelax.pde.landscapes import as_axes


def spacing(x: np.ndarray) -> float:
    """Step of a uniform 1-D grid; raises if the grid is not uniform."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError("a grid axis must be a 1-D array with at least 2 points")
    d = np.diff(x)
    if np.any(d <= 0) or np.ptp(d) > 1e-9 * abs(d[0]) * x.size:
        raise ValueError("grid axes must be uniform and increasing")
    return float(d.mean())


def log_kernel(x: np.ndarray, variance: float) -> np.ndarray:
    """log of the quadrature-weighted kernel K[i, j] = G_variance(x_i - x_j) dx."""
    dx = spacing(x)
    d2 = (x[:, None] - x[None, :]) ** 2
    return -d2 / (2 * variance) - 0.5 * np.log(2 * np.pi * variance) + np.log(dx)


def _check_shape(values: np.ndarray, axes) -> tuple[np.ndarray, tuple]:
    axes = as_axes(axes)
    values = np.asarray(values, dtype=float)
    if values.shape != tuple(a.size for a in axes):
        raise ValueError(f"values of shape {values.shape} do not match the grid "
                         f"{tuple(a.size for a in axes)}")
    return values, axes


def gaussian_smoothing(values: np.ndarray, axes, variance: float) -> np.ndarray:
    """G_variance * values on the grid (heat equation v_t = Delta v / 2 at time variance)."""
    values, axes = _check_shape(values, axes)
    if variance < 0:
        raise ValueError(f"variance must be >= 0, got {variance}")
    if variance == 0:
        return values.copy()
    out = values
    for ax, x in enumerate(axes):
        K = np.exp(log_kernel(x, variance))                       # (n, n)
        out = np.moveaxis(np.moveaxis(out, ax, -1) @ K.T, -1, ax)
    return out


def _log_conv_last_axis(a: np.ndarray, logK: np.ndarray) -> np.ndarray:
    """log sum_j exp(a[..., j] + logK[i, j]) for every i, stabilised row by row."""
    m = np.max(a, axis=-1, keepdims=True)                              # (..., 1)
    empty = ~np.isfinite(m)             # rows of exp(a) that are all zero: result is -inf
    m = np.where(empty, 0.0, m)
    ea = np.exp(a - m)                  # one 2-D product: stacked matmuls are slow in BLAS
    w = (ea.reshape(-1, ea.shape[-1]) @ np.exp(logK).T).reshape(ea.shape[:-1] + (-1,))
    with np.errstate(divide="ignore"):
        out = np.log(w) + m
    bad = ~(w > 1e-250) & ~empty        # underflow: redo those entries exactly
    if np.any(bad):
        rows = a.reshape(-1, a.shape[-1])
        flat = np.flatnonzero(bad.reshape(-1))
        r, i = np.divmod(flat, a.shape[-1])
        exact = logsumexp(rows[r] + logK[i], axis=-1)
        out.reshape(-1)[flat] = exact
    return out


def log_gaussian_smoothing(log_values: np.ndarray, axes, variance: float) -> np.ndarray:
    """log(G_variance * exp(log_values)) on the grid, without overflow or underflow."""
    log_values, axes = _check_shape(log_values, axes)
    if variance < 0:
        raise ValueError(f"variance must be >= 0, got {variance}")
    if variance == 0:
        return log_values.copy()
    out = log_values
    for ax, x in enumerate(axes):
        moved = np.ascontiguousarray(np.moveaxis(out, ax, -1))
        out = np.moveaxis(_log_conv_last_axis(moved, log_kernel(x, variance)), -1, ax)
    return out


def heat(f_values: np.ndarray, axes, t: float, beta: float) -> np.ndarray:
    """v(., t) = G_{beta^-1 t} * f: heat equation v_t = (beta^-1/2) Delta v, v(0) = f (eq. (23))."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    return gaussian_smoothing(f_values, axes, t / beta)
