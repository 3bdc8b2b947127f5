"""(HJB) of Sec. 5 by a monotone scheme, and the forward-backward system (26).

- :func:`solve_hjb`: the value function u of (HJB) by the monotone Godunov scheme of
  :mod:`deeprelax.pde.fd` (in time-to-go, advection grad f), snapshots on a time grid;
  :class:`HJBSolution` interpolates u and the optimal control alpha = grad u (eq. (25));
- :func:`forward_backward`: the system (26) -- (HJB) backward, then the Fokker-Planck
  equation of (CSGD) forward with the mass-conserving scheme of
  :mod:`deeprelax.pde.fokker_planck` -- and the verification identity
  int u(., 0) rho_0 = int V rho(T) + (1/2) int int |grad u|^2 rho.

(CSGD) has noise beta^{-1/2} dW, so (HJB) carries the viscosity beta^{-1}/2. The density
of (CSGD) with alpha = grad u solves rho_t = div((grad f + grad u) rho) + (beta^{-1}/2) Delta rho;
eq. (26) as printed (rho_t = -div(grad u rho) + Delta rho) has the wrong sign of the
drift, drops grad f and has diffusion 1 instead of beta^{-1}/2 (see the Errata page).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deeprelax.pde.fd import viscous_hj
from deeprelax.pde.fokker_planck import face_drift, fokker_planck, mass
from deeprelax.pde.grid import GridField
from deeprelax.pde.heat import spacing
from deeprelax.pde.landscapes import Landscape, as_axes, grid_points


# --------------------------------------------------------------------------- HJB
@dataclass
class HJBSolution:
    """u(x, t_k) of (HJB) on a grid at times 0 = t_0 < ... < t_K = T, with interpolation."""

    axes: tuple
    times: np.ndarray                       # ascending, times[-1] = T
    u: np.ndarray                           # (K + 1, *grid)
    beta: float
    fields: list = field(repr=False, default_factory=list)

    def __post_init__(self):
        if not self.fields:
            self.fields = [GridField.from_values(uk, self.axes) for uk in self.u]

    @property
    def T(self) -> float:
        return float(self.times[-1])

    def _bracket(self, s: float) -> tuple[int, float]:
        s = min(max(float(s), 0.0), self.T)
        k = int(np.clip(np.searchsorted(self.times, s, side="right") - 1, 0,
                        len(self.times) - 2))
        w = (s - self.times[k]) / (self.times[k + 1] - self.times[k])
        return k, w

    def value(self, x: np.ndarray, s: float) -> np.ndarray:
        """u(x, s), linear in time between snapshots, multilinear in space."""
        k, w = self._bracket(s)
        return (1 - w) * self.fields[k].value(x) + w * self.fields[k + 1].value(x)

    def control(self, x: np.ndarray, s: float) -> np.ndarray:
        """Optimal feedback control alpha(x, s) = grad u(x, s) (eq. (25))."""
        k, w = self._bracket(s)
        return (1 - w) * self.fields[k].grad(x) + w * self.fields[k + 1].grad(x)


def solve_hjb(land: Landscape, V: np.ndarray, axes, T: float, beta: float,
              n_times: int = 40, cfl: float = 0.9) -> HJBSolution:
    """(HJB): -u_t = -grad f . grad u - |grad u|^2/2 + (beta^{-1}/2) Delta u, u(., T) = V, by a monotone scheme.

    Solved forward in the time-to-go tau = T - t with ``fd.viscous_hj`` and advection
    grad f (Godunov Hamiltonian, explicit, CFL-limited); ``V`` holds grid values of the
    terminal cost. Snapshots at ``n_times + 1`` equally spaced times.
    """
    axes = as_axes(axes)
    V = np.asarray(V, dtype=float)
    if V.shape != tuple(a.size for a in axes):
        raise ValueError(f"V of shape {V.shape} does not match the grid")
    if not (T > 0 and beta > 0):
        raise ValueError(f"need T > 0 and beta > 0, got T={T}, beta={beta}")
    if n_times < 1:
        raise ValueError("n_times must be >= 1")
    g = land.grad(grid_points(axes))
    advection = tuple(g[..., k] for k in range(len(axes)))
    dtau = T / n_times
    us = [V]
    for _ in range(n_times):
        us.append(viscous_hj(us[-1], axes, dtau, beta, advection=advection, cfl=cfl))
    times = np.linspace(0.0, T, n_times + 1)
    return HJBSolution(axes, times, np.stack(us[::-1]), beta)


# --------------------------------------------------------------------------- (26)
@dataclass
class ForwardBackward:
    """Densities of (CSGD) and (SGD) from (26) and the cost terms they give."""

    x: tuple                                # grid axes
    rho0: np.ndarray
    rho_csgd: np.ndarray                    # rho(T) under drift -grad f - grad u
    rho_sgd: np.ndarray                     # rho(T) under drift -grad f
    EV_csgd: float                          # int V rho_csgd(T)
    EV_sgd: float                           # int V rho_sgd(T)
    energy: float                           # (1/2) int_0^T int |grad u|^2 rho dx dt
    u0_mean: float                          # int u(., 0) rho0 (the optimal cost)
    mass_error: float                       # max |mass - 1| over both runs

    @property
    def identity_gap(self) -> float:
        """int u(.,0) rho0 - [int V rho(T) + energy]: zero for the exact solution (dynamic programming)."""
        return self.u0_mean - (self.EV_csgd + self.energy)

    @property
    def margin(self) -> float:
        """Theorem 12 at the density level: E V(sgd) - E V(csgd) - energy."""
        return self.EV_sgd - self.EV_csgd - self.energy


def forward_backward(land: Landscape, hjb: HJBSolution, V: np.ndarray, rho0: np.ndarray,
                     cfl: float = 0.9) -> ForwardBackward:
    """System (26), corrected: rho_t = div((grad f + grad u) rho) + (beta^{-1}/2) Delta rho, u from (HJB).

    The drift on cell faces is -(f + u(., s)) differenced, with u linear in time
    between the HJB snapshots; the finite-volume scheme conserves mass exactly.
    """
    axes = hjb.axes
    rho0 = np.asarray(rho0, dtype=float)
    if abs(mass(rho0, axes) - 1) > 1e-6:
        raise ValueError("rho0 must be a probability density on the grid (mass 1)")
    f = land.on_grid(axes)
    faces = [face_drift(f + uk, axes) for uk in hjb.u]

    def drift(s):
        k, w = hjb._bracket(s)
        return tuple((1 - w) * a + w * b for a, b in zip(faces[k], faces[k + 1]))

    rho_T, snaps = fokker_planck(rho0, axes, drift, hjb.T, hjb.beta,
                                 snapshots=list(hjb.times), cfl=cfl)
    cell = float(np.prod([spacing(a) for a in axes]))
    e = np.array([0.5 * np.sum(np.sum(fk.grads ** 2, axis=-1) * r) * cell
                  for fk, r in zip(hjb.fields, snaps)])
    energy = float(np.sum(0.5 * (e[1:] + e[:-1]) * np.diff(hjb.times)))
    rho_sgd = fokker_planck(rho0, axes, face_drift(f, axes), hjb.T, hjb.beta, cfl=cfl)
    return ForwardBackward(
        axes, rho0, rho_T, rho_sgd, float(np.sum(V * rho_T) * cell),
        float(np.sum(V * rho_sgd) * cell), energy, float(np.sum(hjb.u[0] * rho0) * cell),
        max(abs(mass(rho_T, axes) - 1), abs(mass(rho_sgd, axes) - 1)))


