"""Sec. 5 by computation: the stochastic-control view of local entropy, Theorem 12, scoping.

- :func:`solve_hjb`: the value function u of (HJB) by the monotone Godunov scheme of
  :mod:`deeprelax.fd` (in time-to-go, advection grad f), snapshots on a time grid;
  :class:`HJBSolution` interpolates u and the optimal control alpha = grad u (eq. (25));
- :func:`forward_backward`: the system (26) -- (HJB) backward, then the Fokker-Planck
  equation of (CSGD) forward with the mass-conserving scheme of
  :mod:`deeprelax.fokker_planck` -- and the verification identity
  int u(., 0) rho_0 = int V rho(T) + (1/2) int int |grad u|^2 rho;
- :func:`theorem12`: Monte Carlo of E V(x_sgd(T)) - E V(x_csgd(T)) - (1/2) E int |alpha|^2
  with common random numbers and a confidence interval, plus the Cole-Hopf value
  u(x0, 0) = -beta^{-1} log E exp(-beta V(x_sgd(T)));
- :func:`scoping`: fixed gamma vs gamma decreasing in time (Sec. 1, 5, 7.5).

Conventions (stated in the chapter). (CSGD) has noise beta^{-1/2} dW, so its generator
carries (beta^{-1}/2) Delta and (HJB) is used exactly as printed, with that viscosity;
the proof of Theorem 12 writes (1/2) Delta, which is the case beta = 1. The density of
(CSGD) with alpha = grad u solves rho_t = div((grad f + grad u) rho) + (beta^{-1}/2) Delta rho;
eq. (26) as printed (rho_t = -div(grad u rho) + Delta rho) has the wrong sign of the
drift, drops grad f and has diffusion 1 instead of beta^{-1}/2.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import sde
from ..fd import viscous_hj
from ..fokker_planck import face_drift, fokker_planck, mass
from ..heat import spacing
from ..grid import GridField
from ..hjb import ForwardBackward, HJBSolution, forward_backward, solve_hjb  # noqa: F401
from ..landscapes import Landscape, as_axes, basin, grid_points
from ..local_entropy import local_entropy
from ..params import ParamError, Params, knob
from ..stats import Z95, mean_ci



# --------------------------------------------------------------------------- Theorem 12
@dataclass
class Theorem12:
    """Monte-Carlo estimates (mean, 95% half-width) for one landscape, x0, T and beta."""

    EV_sgd: tuple
    EV_csgd: tuple
    energy: tuple                           # (1/2) E int |alpha|^2
    margin: tuple                           # E V(sgd) - E V(csgd) - energy (paired)
    u_pde: float                            # u(x0, 0) from the monotone scheme
    u_cole_hopf: tuple                      # -beta^{-1} log E exp(-beta V(x_sgd(T)))
    cost_csgd: tuple                        # E V(csgd) + energy: the achieved cost
    n: int

    def row(self) -> dict:
        """Flat dict (means and half-widths) for a table."""
        out = {"n": self.n, "u_pde": self.u_pde}
        for k in ("EV_sgd", "EV_csgd", "energy", "margin", "u_cole_hopf", "cost_csgd"):
            out[k], out[k + "_ci"] = getattr(self, k)
        return out


def theorem12(land: Landscape, V: Callable[[np.ndarray], np.ndarray], hjb: HJBSolution,
              x0, n: int, dt: float, seed: int, beta: float | None = None) -> Theorem12:
    """Theorem 12 by Monte Carlo: E V(x_csgd(T)) <= E V(x_sgd(T)) - (1/2) E int_0^T |alpha|^2, paired paths.

    (SGD) and (CSGD) with alpha = grad u are driven by the same Brownian increments
    (equal seeds); the margin is averaged per path, so its confidence interval is that
    of a paired difference. Also returns u(x0, 0) from the PDE and the Cole-Hopf/
    Feynman-Kac value -beta^{-1} log E exp(-beta V(x_sgd(T))) (with a delta-method CI),
    which equals u(x0, 0) because w = exp(-beta u) solves SGD's backward Kolmogorov equation.
    ``beta`` (default ``hjb.beta``) is the noise of the simulated SDEs: a different value
    uses a control computed for the wrong generator (the point of the beta = 1 proof).
    """
    if n < 2:
        raise ValueError("n must be >= 2 for a confidence interval")
    x0 = np.atleast_1d(np.asarray(x0, float))
    X0 = np.broadcast_to(x0, (n, x0.size)).copy()
    beta = hjb.beta if beta is None else float(beta)
    T = hjb.T
    x_s, _ = sde.csgd(land.grad, None, X0, T, dt, beta, np.random.default_rng(seed))
    x_c, run = sde.csgd(land.grad, hjb.control, X0, T, dt, beta, np.random.default_rng(seed))
    v_s, v_c = V(x_s), V(x_c)
    energy = 0.5 * run
    w = np.exp(-beta * (v_s - v_s.min()))
    w_mean, w_ci = mean_ci(w)
    u_ch = v_s.min() - np.log(w_mean) / beta
    return Theorem12(mean_ci(v_s), mean_ci(v_c), mean_ci(energy),
                     mean_ci(v_s - v_c - energy), float(hjb.value(x0[None], 0.0)[0]),
                     (float(u_ch), float(w_ci / (beta * w_mean))),
                     mean_ci(v_c + energy), n)


# --------------------------------------------------------------------------- scoping
@dataclass
class EntropyTable:
    """Gradients of the local entropy f_gamma (eq. (11)) for a grid of gamma, interpolated in gamma and x."""

    gammas: np.ndarray                      # ascending, gammas[0] = 0 (f itself)
    fields: list = field(repr=False)

    def grad(self, x: np.ndarray, gamma: float) -> np.ndarray:
        """grad f_gamma(x), linear in gamma between tabulated values."""
        g = float(np.clip(gamma, self.gammas[0], self.gammas[-1]))
        k = int(np.clip(np.searchsorted(self.gammas, g, side="right") - 1, 0,
                        len(self.gammas) - 2))
        w = (g - self.gammas[k]) / (self.gammas[k + 1] - self.gammas[k])
        return (1 - w) * self.fields[k].grad(x) + w * self.fields[k + 1].grad(x)


def entropy_table(land: Landscape, axes, gamma_max: float, beta: float,
                  n_gamma: int = 41) -> EntropyTable:
    """f_gamma = local_entropy(f, gamma, beta) for gamma in {0} + geometric grid up to gamma_max."""
    axes = as_axes(axes)
    f = land.on_grid(axes)
    gammas = np.r_[0.0, np.geomspace(gamma_max * 1e-3, gamma_max, n_gamma - 1)]
    return EntropyTable(gammas, [GridField.from_values(local_entropy(f, axes, g, beta), axes)
                                 for g in gammas])


def linear_scope(gamma0: float, T: float) -> Callable[[float], float]:
    """gamma(t) = gamma0 (1 - t/T): with gamma0 = T this is dx = -grad u(x, T - t) dt of Sec. 1."""
    return lambda t: gamma0 * max(0.0, 1.0 - t / T)


def exponential_scope(gamma0: float, rate: float) -> Callable[[float], float]:
    """gamma(t) = gamma0 exp(-rate t), the continuous form of gamma0 (1 - gamma1)^{k/L} (Sec. 7.5)."""
    return lambda t: gamma0 * np.exp(-rate * t)


@dataclass
class ScopingResult:
    """Final positions and losses of particles for each gamma schedule."""

    names: list
    x: dict                                 # name -> (n, dim) final positions
    loss: dict                              # name -> (n,) f(x(T))
    in_global: dict                         # name -> (n,) bool, in the global basin
    basin: tuple                            # (left, right) of the global basin (1-D)

    def fraction(self, name: str) -> tuple[float, float]:
        """Fraction of particles in the global basin and a 95% half-width (symmetric, covering the Wilson interval)."""
        k, n = int(self.in_global[name].sum()), self.in_global[name].size
        p = (k + Z95**2 / 2) / (n + Z95**2)
        return float(k / n), float(Z95 * np.sqrt(p * (1 - p) / (n + Z95**2)) + abs(p - k / n))

    def mean_loss(self, name: str) -> tuple[float, float]:
        """Mean final loss and its 95% half-width."""
        return mean_ci(self.loss[name])


def global_basin(land: Landscape, x: np.ndarray) -> tuple[float, float]:
    """Basin of attraction of the global minimiser of a 1-D loss: the interval between its neighbouring maxima."""
    f = land.on_grid(x)
    left, right = basin(f, int(np.argmin(f)))
    return float(x[left]), float(x[right])


def scoping(land: Landscape, table: EntropyTable, schedules: dict, x0: np.ndarray,
            T: float, dt: float, beta: float, seed: int, basin_grid: np.ndarray) -> ScopingResult:
    """dx = -grad f_{gamma(t)}(x) dt + beta^{-1/2} dW for each schedule gamma(t) (Sec. 1 (3), Sec. 7.5), same noise.

    ``schedules`` maps names to constants or callables t -> gamma(t); gamma = 0 is SGD.
    Every schedule is driven by the same Brownian increments (common random numbers).
    """
    x0 = sde._particles(x0)
    if land.dim != 1:
        raise ValueError("scoping measures the global basin of a 1-D landscape")
    basin = global_basin(land, basin_grid)
    xs, loss, inside = {}, {}, {}
    for name, sched in schedules.items():
        g = sched if callable(sched) else (lambda t, c=float(sched): c)
        if not callable(sched) and sched < 0:
            raise ValueError(f"gamma must be >= 0, got {sched} for {name!r}")

        def drift(x, t, g=g):
            gam = g(t)
            return -(land.grad(x) if gam <= 0 else table.grad(x, gam))

        n, h = sde.step_count(T, dt)
        x = sde.euler_maruyama(drift, x0, h, n, beta ** -0.5, np.random.default_rng(seed))
        xs[name], loss[name] = x, land.value(x)
        inside[name] = (x[:, 0] >= basin[0]) & (x[:, 0] <= basin[1])
    return ScopingResult(list(schedules), xs, loss, inside, basin)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class ControlParams(Params):
    """Parameters of the Sec. 5 chapter (stochastic control)."""

    betas: tuple[float, ...] = knob((2.0, 8.0), doc="inverse temperatures for Theorem 12")
    horizons: tuple[float, ...] = knob((0.5, 1.0), doc="horizons T for Theorem 12")
    n_paths: int = knob(2000, lo=100, hi=10**7, doc="Monte-Carlo paths per case")
    dt: float = knob(2e-3, lo=1e-5, hi=0.05, doc="Euler-Maruyama step of (SGD)/(CSGD)")
    n_times: int = knob(160, lo=4, hi=4000, doc="HJB snapshots in time")
    n_grid_1d: int = knob(561, lo=101, hi=20001, doc="grid points in 1-D on [-box, box]")
    n_grid_2d: int = knob(97, lo=31, hi=1001, doc="grid points per axis in 2-D")
    box: float = knob(3.5, lo=2.0, hi=10.0, doc="half-width of the computational box")
    gamma0: float = knob(1.0, lo=0.01, hi=10.0, doc="initial gamma of the scoping runs")
    beta_entropy: float = knob(2.0, lo=0.1, hi=100.0, doc="Cole-Hopf beta of f_gamma (Figure 1)")
    beta_scope: float = knob(20.0, lo=0.1, hi=1e4, doc="noise of the scoping runs (Figure 1)")
    T_scope: float = knob(8.0, lo=0.5, hi=100.0, doc="horizon of the scoping runs")
    n_scope: int = knob(2000, lo=100, hi=10**7, doc="particles per scoping schedule")
    seed: int = knob(0, lo=0, hi=2**31 - 1, doc="base seed")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="unused: NumPy on the CPU")

    PRESETS = {
        "fast": {},
        "paper": {"betas": (1.0, 2.0, 8.0, 32.0), "horizons": (0.5, 1.0, 2.0),
                  "n_paths": 20000, "dt": 1e-3, "n_times": 320, "n_grid_1d": 1401,
                  "n_grid_2d": 161, "n_scope": 20000},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.betas or min(self.betas) <= 0:
            raise ParamError("ControlParams.betas must be a non-empty tuple of positive numbers")
        if not self.horizons or min(self.horizons) <= 0:
            raise ParamError("ControlParams.horizons must be a non-empty tuple of positive times")
