"""Test loss functions f: R^n -> R with analytic gradients and Hessians (Sec. 1, Fig. 1).

Points are arrays of shape ``(..., dim)``; ``value`` returns ``(...)``, ``grad``
``(..., dim)`` and ``hess`` ``(..., dim, dim)``. ``on_grid`` evaluates on a tensor
grid given by one axis per dimension (``indexing='ij'``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def grid_points(axes) -> np.ndarray:
    """Stack a tensor grid into points of shape ``(n1, ..., nd, d)``."""
    axes = as_axes(axes)
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def as_axes(axes) -> tuple[np.ndarray, ...]:
    """Normalise one 1-D axis or a tuple of axes to a tuple of float arrays."""
    if isinstance(axes, np.ndarray) and axes.ndim == 1:
        return (axes.astype(float),)
    return tuple(np.asarray(a, dtype=float) for a in axes)


class Landscape:
    """A smooth loss f with value, gradient and Hessian."""

    dim: int = 1

    def value(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def hess(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"points must have a last axis of size {self.dim}, "
                             f"got shape {x.shape}")
        return x

    def on_grid(self, axes) -> np.ndarray:
        """Values on the tensor grid spanned by ``axes`` (shape ``(n1, ..., nd)``)."""
        return self.value(grid_points(axes))

    def __call__(self, x):
        return self.value(x)


@dataclass(frozen=True)
class Wells(Landscape):
    """f(x) = c/2 |x - x0|^2 - sum_k d_k exp(-|x - m_k|^2 / (2 s_k^2)).

    Gaussian wells of depth ``d_k`` and width ``s_k`` on a quadratic envelope of
    curvature ``c``: narrow and wide valleys as in Figure 1.
    """

    centers: tuple          # (K, dim) well centres m_k
    depths: tuple           # (K,) well depths d_k > 0
    widths: tuple           # (K,) well widths s_k > 0
    curvature: float = 0.0  # c, curvature of the quadratic envelope
    origin: tuple = ()      # x0, centre of the envelope (default 0)

    @property
    def dim(self) -> int:  # type: ignore[override]
        return np.atleast_2d(np.asarray(self.centers, dtype=float)).shape[1]

    def _parts(self, x):
        m = np.atleast_2d(np.asarray(self.centers, dtype=float))        # (K, d)
        d = np.asarray(self.depths, dtype=float)                         # (K,)
        s2 = np.asarray(self.widths, dtype=float) ** 2                    # (K,)
        diff = x[..., None, :] - m                                        # (..., K, d)
        e = d * np.exp(-np.sum(diff**2, axis=-1) / (2 * s2))              # (..., K)
        x0 = np.asarray(self.origin, dtype=float) if len(self.origin) else np.zeros(self.dim)
        return diff, e, s2, x - x0

    def value(self, x):
        x = self._check(x)
        _, e, _, r = self._parts(x)
        return 0.5 * self.curvature * np.sum(r**2, axis=-1) - e.sum(axis=-1)

    def grad(self, x):
        x = self._check(x)
        diff, e, s2, r = self._parts(x)
        return self.curvature * r + np.sum((e / s2)[..., None] * diff, axis=-2)

    def hess(self, x):
        x = self._check(x)
        diff, e, s2, _ = self._parts(x)
        eye = np.eye(self.dim)
        outer = diff[..., :, None] * diff[..., None, :]                   # (..., K, d, d)
        per_well = (e / s2)[..., None, None] * (eye - outer / s2[:, None, None])
        return self.curvature * eye + per_well.sum(axis=-3)


@dataclass(frozen=True)
class Fourier(Landscape):
    """f(x) = c/2 |x|^2 + sum_k a_k cos(w_k . x + phi_k): a smooth random landscape."""

    amplitudes: tuple       # (K,) a_k
    frequencies: tuple      # (K, dim) w_k
    phases: tuple           # (K,) phi_k
    curvature: float = 0.0  # c, quadratic envelope (makes e^{-beta f} integrable)

    @property
    def dim(self) -> int:  # type: ignore[override]
        return np.atleast_2d(np.asarray(self.frequencies, dtype=float)).shape[1]

    def _phase(self, x):
        w = np.atleast_2d(np.asarray(self.frequencies, dtype=float))      # (K, d)
        return x @ w.T + np.asarray(self.phases, dtype=float), w          # (..., K)

    def value(self, x):
        x = self._check(x)
        th, _ = self._phase(x)
        a = np.asarray(self.amplitudes, dtype=float)
        return 0.5 * self.curvature * np.sum(x**2, axis=-1) + np.cos(th) @ a

    def grad(self, x):
        x = self._check(x)
        th, w = self._phase(x)
        a = np.asarray(self.amplitudes, dtype=float)
        return self.curvature * x - (np.sin(th) * a) @ w

    def hess(self, x):
        x = self._check(x)
        th, w = self._phase(x)
        a = np.asarray(self.amplitudes, dtype=float)
        ww = w[:, :, None] * w[:, None, :]                                # (K, d, d)
        return self.curvature * np.eye(self.dim) - np.tensordot(np.cos(th) * a, ww, axes=1)


@dataclass(frozen=True)
class Quadratic(Landscape):
    """f(x) = 1/2 x^T Q x + b . x + f0 (Lemma 4, Example 13)."""

    Q: tuple                # (dim, dim) symmetric Hessian
    b: tuple = ()           # (dim,) linear term (default 0)
    f0: float = 0.0         # constant

    @property
    def dim(self) -> int:  # type: ignore[override]
        return np.asarray(self.Q, dtype=float).shape[0]

    def _qb(self):
        Q = np.asarray(self.Q, dtype=float)
        b = np.asarray(self.b, dtype=float) if len(self.b) else np.zeros(self.dim)
        return Q, b

    def value(self, x):
        x = self._check(x)
        Q, b = self._qb()
        return 0.5 * np.einsum("...i,ij,...j->...", x, Q, x) + x @ b + self.f0

    def grad(self, x):
        x = self._check(x)
        Q, b = self._qb()
        return x @ Q.T + b

    def hess(self, x):
        x = self._check(x)
        Q, _ = self._qb()
        return np.broadcast_to(Q, x.shape[:-1] + Q.shape).copy()


def local_minima(values: np.ndarray) -> np.ndarray:
    """Indices of strict interior local minima of a sampled 1-D function."""
    v = np.asarray(values)
    return np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])) + 1


def basin(values: np.ndarray, i_min: int) -> tuple[int, int]:
    """Index range [left, right] of the basin of attraction of the sampled 1-D minimum i_min."""
    v = np.asarray(values)
    left = right = int(i_min)
    while left > 0 and v[left - 1] >= v[left]:
        left -= 1
    while right < v.size - 1 and v[right + 1] >= v[right]:
        right += 1
    return left, right


def random_fourier(dim: int, n_modes: int = 8, seed: int = 0, amplitude: float = 0.3,
                   max_freq: float = 4.0, curvature: float = 1.0) -> Fourier:
    """A random smooth landscape (Lemma 18 checks): amplitudes ~ U(0, a), |w| <= max_freq."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, amplitude, n_modes)
    w = rng.uniform(-max_freq, max_freq, (n_modes, dim))
    phi = rng.uniform(0, 2 * np.pi, n_modes)
    return Fourier(tuple(a), tuple(map(tuple, w)), tuple(phi), curvature)


def figure1() -> Wells:
    """The 1-D loss of Figure 1: a wide global valley, a narrow local one and ripples.

    Minima (numerically): the global one at x = 0.5 in a wide valley, a narrow local
    one at x = -1.19 (where the initial density starts), shallow ones at -0.33, 1.57.
    """
    return Wells(centers=((0.5,), (-1.2,), (1.6,), (-0.35,)),
                 depths=(1.0, 0.8, 0.45, 0.35),
                 widths=(0.45, 0.1, 0.12, 0.1),
                 curvature=0.5, origin=(0.5,))


def two_d(name: str = "wells") -> Landscape:
    """2-D test functions: ``'wells'`` (wide + narrow minima) or ``'fourier'``."""
    if name == "wells":
        return Wells(centers=((0.4, 0.3), (-1.1, 0.9), (1.0, -1.1), (-0.6, -0.8)),
                     depths=(1.0, 0.8, 0.6, 0.5), widths=(0.5, 0.12, 0.15, 0.2),
                     curvature=0.5)
    if name == "fourier":
        return random_fourier(2, n_modes=10, seed=2, amplitude=0.25, max_freq=3.0)
    raise ValueError(f"unknown 2-D landscape {name!r}; choose 'wells' or 'fourier'")
