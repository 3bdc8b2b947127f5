"""Functions on uniform tensor grids: multilinear interpolation, smoothed-loss fields, RK4 flow.

- :class:`GridField`: a function sampled on a grid, its value and gradient interpolated
  multilinearly (the reference drifts of Secs. 4 and 5);
- :func:`local_entropy_field`, :func:`heat_field`: f_gamma (eq. (11)) and v(., gamma)
  (eq. (23)) on a grid, at the Gibbs temperature of SDEs with noise beta^{-1/2};
- :func:`rk4_gradient_flow`: dX = -grad(X) ds by RK4 (the homogenised dynamics of Theorem 5);
- :func:`uniform_axes`: the axes of the box [-x_max, x_max]^dim with n points per side.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from deeprelax.pde import sde
from deeprelax.pde.heat import heat, spacing
from deeprelax.pde.landscapes import Landscape, as_axes
from deeprelax.pde.local_entropy import local_entropy


def uniform_axes(n: int, x_max: float, dim: int) -> tuple:
    """``dim`` copies of ``linspace(-x_max, x_max, n)``: a uniform box grid."""
    return tuple(np.linspace(-x_max, x_max, n) for _ in range(dim))


@dataclass
class GridField:
    """A function sampled on a uniform tensor grid, with multilinear interpolation of value and gradient."""

    axes: tuple
    values: np.ndarray
    grads: np.ndarray = field(repr=False)     # shape values.shape + (dim,)

    @classmethod
    def from_values(cls, values: np.ndarray, axes) -> "GridField":
        """Build from grid values; the gradient is the second-order centred difference."""
        axes = as_axes(axes)
        values = np.asarray(values, dtype=float)
        if values.shape != tuple(a.size for a in axes):
            raise ValueError(f"values of shape {values.shape} do not match the grid")
        for a in axes:
            spacing(a)
        g = np.gradient(values, *axes, edge_order=2)
        g = np.stack(g if isinstance(g, (list, tuple)) else [g], axis=-1)
        return cls(axes, values, g)

    @property
    def dim(self) -> int:
        return len(self.axes)

    def _interp(self, table: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"points must have a last axis of size {self.dim}, got {x.shape}")
        shape = tuple(a.size for a in self.axes)
        flat = table.reshape(int(np.prod(shape)), -1)               # (cells, k)
        strides = np.cumprod((1,) + shape[:0:-1])[::-1]              # C-order strides
        base = np.zeros(x.shape[:-1], dtype=np.int64)
        frac = []
        for j, a in enumerate(self.axes):
            t = (x[..., j] - a[0]) / (a[1] - a[0])
            i = np.clip(np.floor(t).astype(np.int64), 0, a.size - 2)
            base += i * strides[j]
            frac.append(np.clip(t - i, 0.0, 1.0))       # clamp to the box's edge
        out = 0.0
        for corner in itertools.product((0, 1), repeat=self.dim):
            w = None
            for j, c in enumerate(corner):
                fj = frac[j] if c else 1.0 - frac[j]
                w = fj if w is None else w * fj
            off = int(sum(c * st for c, st in zip(corner, strides)))
            out = out + w[..., None] * flat[base + off]
        return out if table.ndim > len(shape) else out[..., 0]

    def value(self, x: np.ndarray) -> np.ndarray:
        """Interpolated value at points ``(..., dim)`` (clamped to the grid box)."""
        return self._interp(self.values, x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Interpolated gradient at points ``(..., dim)`` (clamped to the grid box)."""
        return self._interp(self.grads, x)

    def argmin(self) -> np.ndarray:
        """Grid point of the smallest value."""
        i = np.unravel_index(np.argmin(self.values), self.values.shape)
        return np.array([a[k] for a, k in zip(self.axes, i)])


def local_entropy_field(land: Landscape, axes, gamma: float, beta: float) -> GridField:
    """f_gamma = u(., gamma) of eq. (11) at Gibbs inverse temperature 2 beta, for SDE noise beta^{-1/2}."""
    axes = as_axes(axes)
    return GridField.from_values(
        local_entropy(land.on_grid(axes), axes, gamma, sde.gibbs_beta(beta)), axes)


def heat_field(land: Landscape, axes, gamma: float, beta: float) -> GridField:
    """v(., gamma) = G_{gamma/(2 beta)} * f, the homogenised loss of (HEAT), eq. (23), for noise beta^{-1/2}."""
    axes = as_axes(axes)
    return GridField.from_values(
        heat(land.on_grid(axes), axes, gamma, sde.gibbs_beta(beta)), axes)


def rk4_gradient_flow(grad: Callable[[np.ndarray], np.ndarray], x0, T: float, dt: float,
                  record_every: int = 1):
    """dX = -grad(X) ds by classical RK4 (the homogenised dynamics of Theorem 5); returns the path.

    The path is sampled every ``record_every`` steps, shape ``(n_steps // k + 1, n, dim)``.
    """
    x = sde._particles(x0)
    n, dt = sde.step_count(T, dt)
    path = [x.copy()]
    for k in range(n):
        k1 = -grad(x)
        k2 = -grad(x + 0.5 * dt * k1)
        k3 = -grad(x + 0.5 * dt * k2)
        k4 = -grad(x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if (k + 1) % record_every == 0:
            path.append(x.copy())
    return np.stack(path)


