"""Hopf-Lax formula for (HJ) and the proximal operator (Lemma 2, eqs. (HL), (14), (15)).

u(x, t) = min_y { f(y) + |x - y|^2 / (2t) }, minimised exactly over the grid points y
by the lower envelope of parabolas (Felzenszwalb-Huttenlocher), O(N) per grid line.
In d dimensions the quadratic penalty is separable, so d passes of the 1-D
transform give the exact grid minimum.
"""
from __future__ import annotations

import numpy as np

from deeprelax.pde.heat import _check_shape


def _envelope_1d(f: np.ndarray, y: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """min_j f_j + (y_i - y_j)^2/(2t) and its argmin j, for sorted points y."""
    n = y.size
    v = np.zeros(n, dtype=np.int64)          # parabolas on the envelope
    z = np.empty(n + 1)                      # their boundaries
    z[0], z[1] = -np.inf, np.inf
    k = 0
    fl, yl = f.tolist(), y.tolist()
    for q in range(1, n):
        s = t * (fl[q] - fl[v[k]]) / (yl[q] - yl[v[k]]) + 0.5 * (yl[q] + yl[v[k]])
        while s <= z[k]:                     # parabola v[k] is hidden by q: drop it
            k -= 1
            s = t * (fl[q] - fl[v[k]]) / (yl[q] - yl[v[k]]) + 0.5 * (yl[q] + yl[v[k]])
        k += 1
        v[k], z[k], z[k + 1] = q, s, np.inf
    idx = np.searchsorted(z[1:k + 1], y, side="left")   # segment of each query point
    arg = v[idx]
    return f[arg] + (y - y[arg]) ** 2 / (2 * t), arg


def hopf_lax(f_values: np.ndarray, axes, t: float, return_argmin: bool = False):
    """u(., t) = inf_y {f(y) + |x - y|^2/(2t)} on the grid (eq. (HL)); optionally prox indices.

    With ``return_argmin=True`` also returns a tuple of index arrays, one per axis,
    giving the grid point y* = prox_{t,f}(x) of eq. (14) for every grid point x.
    """
    f_values, axes = _check_shape(f_values, axes)
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    if t == 0:
        grids = np.meshgrid(*[np.arange(a.size) for a in axes], indexing="ij")
        return (f_values.copy(), tuple(grids)) if return_argmin else f_values.copy()
    out = f_values
    args = []                                  # argmin index along each axis, per pass
    for ax, y in enumerate(axes):
        moved = np.moveaxis(out, ax, -1)
        vals = np.empty_like(moved)
        arg = np.empty(moved.shape, dtype=np.int64)
        for line in np.ndindex(moved.shape[:-1]):
            vals[line], arg[line] = _envelope_1d(moved[line], y, t)
        out = np.moveaxis(vals, -1, ax)
        args.append(np.moveaxis(arg, -1, ax))
    if not return_argmin:
        return out
    return out, _compose_argmins(args)


def _compose_argmins(args: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Undo the separable passes: pass d chose index j_d given the later passes' choices."""
    d = len(args)
    idx = [None] * d
    grid = list(np.meshgrid(*[np.arange(s) for s in args[0].shape], indexing="ij"))
    for ax in reversed(range(d)):             # the last pass saw the final grid point
        sel = tuple(idx[k] if idx[k] is not None else grid[k] for k in range(d))
        idx[ax] = args[ax][sel]
    return tuple(idx)


def prox(f_values: np.ndarray, x: np.ndarray, t: float) -> np.ndarray:
    """prox_{t,f}(x) (eq. (14)) for each point of a 1-D grid x: the minimising grid point y*."""
    _, (arg,) = hopf_lax(f_values, x, t, return_argmin=True)
    return np.asarray(x, dtype=float)[arg]
