"""Chapter 05 (Sec. 5): the stochastic-control view of local entropy, Theorem 12, scoping.

- :func:`forward_backward_study`: (HJB) on the Figure 1 loss by the monotone scheme of
  :func:`deeprelax.pde.hjb.solve_hjb`, the forward-backward system (26) (corrected, see below)
  on two grids, the dynamic-programming identity
  int u(., 0) rho_0 = int V rho(T) + (1/2) int int |grad u|^2 rho, Monte Carlo of (SGD)
  and (CSGD), and (26) as printed for comparison;
- :func:`theorem12`: Monte Carlo of E V(x_sgd(T)) - E V(x_csgd(T)) - (1/2) E int |alpha|^2
  with common random numbers and a confidence interval, plus the Cole-Hopf value
  u(x0, 0) = -beta^{-1} log E exp(-beta V(x_sgd(T))); :func:`theorem12_cases` runs it on
  three losses, the ``betas`` and the ``horizons``; :func:`generator_study` compares the
  control of (HJB) at the simulated beta with that of the proof's beta = 1;
- :func:`scoping`: fixed gamma vs gamma decreasing in time (Sec. 1, 5, 7.5).

:func:`compute` runs all of them, :func:`claims` turns the section's statements into
checks, the ``*_frame`` functions build the tables and the ``figure_*`` functions draw.

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

import matplotlib.pyplot as plt
import numpy as np

from deeprelax.pde import landscapes, sde
from deeprelax.book.claims import Claim, fact
from deeprelax.pde.fokker_planck import face_drift, fokker_planck, mass
from deeprelax.pde.grid import GridField
from deeprelax.pde.hjb import ForwardBackward, HJBSolution, forward_backward, solve_hjb
from deeprelax.pde.landscapes import Landscape, as_axes, basin
from deeprelax.pde.local_entropy import local_entropy
from deeprelax.params import ParamError, Params as BaseParams, knob
from deeprelax.book.plotting import COLORS
from deeprelax.stats import Z95, mean_ci


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Params(BaseParams):
    """Parameters of the Sec. 5 chapter (stochastic control)."""

    betas: tuple[float, ...] = knob((2.0, 8.0), doc="inverse temperatures, Theorem 12")
    horizons: tuple[float, ...] = knob((0.5, 1.0), doc="horizons T for Theorem 12")
    n_paths: int = knob(2000, lo=100, hi=10**7, doc="Monte-Carlo paths per case")
    dt: float = knob(2e-3, lo=1e-5, hi=0.05, doc="Euler-Maruyama step of (SGD)/(CSGD)")
    n_times: int = knob(160, lo=4, hi=4000, doc="HJB snapshots in time")
    n_grid_1d: int = knob(561, lo=101, hi=20001, doc="grid points in 1-D on [-box, box]")
    n_grid_2d: int = knob(97, lo=31, hi=1001, doc="grid points per axis in 2-D")
    box: float = knob(3.5, lo=2.0, hi=10.0, doc="half-width of the computational box")
    T_fb: float = knob(2.0, lo=0.1, hi=20.0, doc="horizon of the (26) study")
    beta_fb: float = knob(2.0, lo=0.1, hi=100.0, doc="inverse temperature, (26) study")
    x0: float = knob(-1.4, lo=-3.0, hi=3.0, doc="1-D start; mean of rho_0 (Figure 1)")
    s0: float = knob(0.35, lo=0.05, hi=2.0, doc="std of rho_0 (Figure 1)")
    gamma0: float = knob(1.0, lo=0.01, hi=10.0, doc="initial gamma of the scoping runs")
    beta_entropy: float = knob(2.0, lo=0.1, hi=100.0, doc="Cole-Hopf beta of f_gamma")
    beta_scope: float = knob(20.0, lo=0.1, hi=1e4, doc="noise of the scoping runs")
    T_scope: float = knob(8.0, lo=0.5, hi=100.0, doc="horizon of the scoping runs")
    dt_scope: float = knob(5e-3, lo=1e-4, hi=0.05, doc="Euler-Maruyama step, scoping")
    scope_rate: float = knob(5.0, lo=0.1, hi=50.0, doc="exponential scoping: rate × T")
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
            raise ParamError("Params.betas must be a non-empty tuple of positive numbers")
        if not self.horizons or min(self.horizons) <= 0:
            raise ParamError("Params.horizons must be a non-empty tuple of positive times")


def pm(mean: float, ci: float) -> str:
    """'mean ± ci' for a table cell: the half-width to 2 significant digits, the mean to match."""
    if not (np.isfinite(ci) and ci > 0):
        return f"{mean:.4f}"
    digits = max(0, 1 - int(np.floor(np.log10(ci))))
    return f"{mean:.{digits}f}\u00a0±\u00a0{ci:.{digits}f}"   # no break inside


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
    gain: tuple = (float("nan"), float("nan"))  # E V(sgd) - E V(csgd) (paired)

    def row(self) -> dict:
        """Flat dict (means and half-widths) for a table."""
        out = {"n": self.n, "u_pde": self.u_pde}
        for k in ("EV_sgd", "EV_csgd", "gain", "energy", "margin", "u_cole_hopf",
                  "cost_csgd"):
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
                     mean_ci(v_c + energy), n, mean_ci(v_s - v_c))


@dataclass
class Case:
    """One Theorem 12 case: a loss, an inverse temperature, a horizon and its estimates."""

    loss: str
    dim: int
    beta: float
    T: float
    r: Theorem12


def cases_of_theorem12() -> list[tuple[str, Landscape, tuple]]:
    """The three losses of the Theorem 12 study and their starts x0 (in non-global wells)."""
    return [("Figure 1 (1-D)", landscapes.figure1(), (-1.4,)),
            ("wells (2-D)", landscapes.two_d("wells"), (-0.8, 0.6)),
            ("Fourier (2-D)", landscapes.two_d("fourier"), (1.0, 1.0))]


def theorem12_cases(p: Params) -> list[Case]:
    """Theorem 12 with V = f on every loss × beta × horizon, (HJB) solved at that beta."""
    out = []
    for i, (name, land, x0) in enumerate(cases_of_theorem12()):
        n = p.n_grid_1d if land.dim == 1 else p.n_grid_2d
        ax1 = np.linspace(-p.box, p.box, n)
        axes = ax1 if land.dim == 1 else (ax1, ax1)
        Vg = land.on_grid(axes)
        for j, beta in enumerate(p.betas):
            for k, T in enumerate(p.horizons):
                sol = solve_hjb(land, Vg, axes, T, beta, p.n_times)
                r = theorem12(land, land.value, sol, x0, p.n_paths, p.dt,
                              seed=p.seed + 100 * i + 10 * j + k)
                out.append(Case(name, land.dim, float(beta), float(T), r))
    return out


def generator_study(p: Params) -> tuple[float, Theorem12, Theorem12]:
    """The proof's (1/2) Delta (beta = 1) vs (HJB)'s beta^{-1}/2: costs of both controls at the largest beta.

    Both controls drive the same paths of (CSGD) at beta_sim = max(betas) on the Figure 1
    loss; returns (beta_sim, consistent, proof).
    """
    land = landscapes.figure1()
    beta_sim, T = max(p.betas), max(p.horizons)
    x = np.linspace(-p.box, p.box, p.n_grid_1d)
    Vg = land.on_grid(x)
    runs = [theorem12(land, land.value, solve_hjb(land, Vg, x, T, b, p.n_times), [p.x0],
                      p.n_paths, p.dt, seed=p.seed + 7, beta=beta_sim)
            for b in (beta_sim, 1.0)]
    return float(beta_sim), runs[0], runs[1]


# --------------------------------------------------------------------------- (26)
def printed_26(land: Landscape, hjb: HJBSolution, rho0: np.ndarray,
               cfl: float = 0.9) -> np.ndarray:
    """rho(T) of (26) exactly as printed, rho_t = -div(grad u rho) + Delta rho (for comparison only).

    Drift +grad u (no grad f) and diffusion coefficient 1 (i.e. beta = 1/2 in the
    scheme's (beta^{-1}/2) Delta), with u from (HJB) linear in time between snapshots.
    """
    axes = hjb.axes
    faces = [face_drift(-uk, axes) for uk in hjb.u]

    def drift(s):
        k, w = hjb._bracket(s)
        return tuple((1 - w) * a + w * b for a, b in zip(faces[k], faces[k + 1]))

    return fokker_planck(np.asarray(rho0, float), axes, drift, hjb.T, 0.5, cfl=cfl)


@dataclass
class FBStudy:
    """(HJB) and (26) on the Figure 1 loss on two grids, Monte Carlo, and (26) as printed."""

    T: float
    beta: float
    hjb: HJBSolution                        # fine-grid solution of (HJB)
    coarse: ForwardBackward                 # (26) corrected, coarse grid and snapshots
    fine: ForwardBackward                   # (26) corrected, fine grid and snapshots
    n_coarse: int
    n_fine: int
    nt_coarse: int
    nt_fine: int
    rho_printed: np.ndarray                 # rho(T) of (26) as printed, fine grid
    EV_printed: float                       # int V rho_printed(T)
    x_sgd: np.ndarray = field(repr=False)   # Monte-Carlo (SGD) positions at T
    x_csgd: np.ndarray = field(repr=False)  # Monte-Carlo (CSGD) positions at T
    mc: dict = field(default_factory=dict)  # EV_sgd, EV_csgd, energy, margin: (mean, 95% CI)
    hjb_coarse: HJBSolution | None = field(default=None, repr=False)   # coarse-grid (HJB)


def forward_backward_study(p: Params) -> FBStudy:
    """(HJB) backward and (26) forward on a coarse and a fine grid; Monte Carlo of (SGD)/(CSGD)."""
    land = landscapes.figure1()
    T, beta = p.T_fb, p.beta_fb
    grids = ((p.n_grid_1d // 2 + 1, max(4, p.n_times // 4)), (p.n_grid_1d, p.n_times))
    runs = []
    for n, n_t in grids:
        x = np.linspace(-p.box, p.box, n)
        V = land.on_grid(x)
        rho0 = np.exp(-0.5 * ((x - p.x0) / p.s0) ** 2)
        rho0 /= mass(rho0, x)
        sol = solve_hjb(land, V, x, T, beta, n_t)
        runs.append((sol, forward_backward(land, sol, V, rho0), V, rho0))
    sol, fine, V, rho0 = runs[-1]
    rho_pr = printed_26(land, sol, rho0)
    cell = float(sol.axes[0][1] - sol.axes[0][0])
    X0 = np.random.default_rng(p.seed).normal(p.x0, p.s0, (p.n_paths, 1))
    x_s, _ = sde.csgd(land.grad, None, X0, T, p.dt, beta, np.random.default_rng([p.seed, 1]))
    x_c, run = sde.csgd(land.grad, sol.control, X0, T, p.dt, beta,
                        np.random.default_rng([p.seed, 1]))
    v_s, v_c = land.value(x_s), land.value(x_c)
    mc = {"EV_sgd": mean_ci(v_s), "EV_csgd": mean_ci(v_c), "energy": mean_ci(0.5 * run),
          "margin": mean_ci(v_s - v_c - 0.5 * run)}
    return FBStudy(T, beta, sol, runs[0][1], fine, grids[0][0], grids[1][0], grids[0][1],
                   grids[1][1], rho_pr, float(np.sum(V * rho_pr) * cell), x_s, x_c, mc,
                   runs[0][0])


def proof_identity(land: Landscape, hjb: HJBSolution, interior: float = 2.5,
                   t_layer: float = 0.25) -> dict[str, float]:
    """The step of Theorem 12's proof on a solution of (HJB), by centred differences.

    (HJB) reads -u_t = L u - |grad u|^2/2 with L = -grad f . grad + (beta^{-1}/2) Delta,
    i.e. u_t + L u = |grad u|^2/2 >= 0: u is a subsolution of SGD's backward equation
    v_t + L v = 0, whence u <= v. The proof prints u_t = L u - |grad u|^2/2 <= 0.
    Returns relative RMS residuals of both forms (over |x| <= interior and times before
    the terminal layer T - t_layer, divided by the RMS of u_t) and the largest u_t over
    the largest |u_t| (> 0: u_t is not <= 0).
    """
    x, t, u = hjb.axes[0], hjb.times, hjb.u
    dx = x[1] - x[0]
    ut = (u[2:] - u[:-2]) / (t[2:] - t[:-2])[:, None]
    ux = np.gradient(u[1:-1], dx, axis=1)
    uxx = np.gradient(ux, dx, axis=1)
    Lu = -land.grad(x[:, None])[:, 0] * ux + uxx / (2 * hjb.beta)
    keep = np.ix_(t[1:-1] <= hjb.T - t_layer, np.abs(x) <= interior)
    rms = lambda a: float(np.sqrt(np.mean(a[keep] ** 2)))        # noqa: E731
    return {"corrected": rms(ut + Lu - 0.5 * ux ** 2) / rms(ut),
            "printed": rms(ut - Lu + 0.5 * ux ** 2) / rms(ut),
            "ut_max": float(ut[keep].max() / np.abs(ut[keep]).max())}


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


SCHEDULE_KEYS = ("sgd", "small", "big", "lin", "exp")   # order of :func:`scoping_study`


def scoping_study(p: Params) -> tuple[ScopingResult, float]:
    """SGD, two fixed gammas and linear / exponential scoping on the Figure 1 loss; (result, min f)."""
    land = landscapes.figure1()
    xs = np.linspace(-p.box, p.box, p.n_grid_1d)
    table = entropy_table(land, xs, p.gamma0, p.beta_entropy)
    g0, T = p.gamma0, p.T_scope
    schedules = {"SGD (γ = 0)": 0.0, f"fixed γ = {g0 / 10:g}": g0 / 10,
                 f"fixed γ = {g0:g}": g0, "linear scoping": linear_scope(g0, T),
                 "exponential scoping": exponential_scope(g0, p.scope_rate / T)}
    X0 = np.random.default_rng([p.seed, 5]).normal(p.x0, p.s0, (p.n_scope, 1))
    sc = scoping(land, table, schedules, X0, T, p.dt_scope, p.beta_scope, p.seed + 9, xs)
    return sc, float(land.on_grid(xs).min())


# --------------------------------------------------------------------------- the chapter
@dataclass
class Result:
    """Everything the chapter shows: (26), Theorem 12, the generator check, scoping."""

    params: Params
    fb: FBStudy
    cases: list                             # list[Case]
    beta_sim: float
    consistent: Theorem12                   # (HJB) at beta_sim, SDEs at beta_sim
    proof: Theorem12                        # (HJB) at beta = 1, SDEs at beta_sim
    scope: ScopingResult
    f_min: float                            # min f on the grid (excess losses)


def compute(p: Params) -> Result:
    """All of the chapter's computations for the parameters ``p``."""
    fb = forward_backward_study(p)
    cases = theorem12_cases(p)
    beta_sim, consistent, proof = generator_study(p)
    scope, f_min = scoping_study(p)
    return Result(p, fb, cases, beta_sim, consistent, proof, scope, f_min)


def _lower(c: Case) -> float:
    return c.r.margin[0] - c.r.margin[1]


def measures(R: Result) -> dict[str, float]:
    """The numbers the prose quotes (glue names)."""
    fb, sc = R.fb, R.scope
    i_min = int(np.argmin([_lower(c) for c in R.cases]))
    worst = R.cases[i_min]
    out = {"gap_coarse": fb.coarse.identity_gap, "gap_fine": fb.fine.identity_gap,
           "n_coarse": fb.n_coarse, "n_fine": fb.n_fine, "fb_T": fb.T, "fb_beta": fb.beta,
           "fb_mass": fb.fine.mass_error, "fb_EVs": fb.fine.EV_sgd, "fb_EVc": fb.fine.EV_csgd,
           "fb_energy": fb.fine.energy, "fb_EVp": fb.EV_printed,
           "mc_EVs": fb.mc["EV_sgd"][0], "mc_EVc": fb.mc["EV_csgd"][0],
           "mc_energy": fb.mc["energy"][0],
           "t12_cases": len(R.cases), "t12_min_margin": worst.r.margin[0],
           "t12_min_ci": worst.r.margin[1], "t12_min_beta": worst.beta, "t12_min_T": worst.T,
           "t12_max_margin": max(c.r.margin[0] for c in R.cases),
           "beta_sim": R.beta_sim, "T_sim": max(R.params.horizons),
           "cost_consistent": R.consistent.cost_csgd[0],
           "cost_proof": R.proof.cost_csgd[0], "margin_proof": R.proof.margin[0],
           "u_proof": R.proof.u_pde, "u_fk_sim": R.proof.u_cole_hopf[0],
           "u_consistent": R.consistent.u_pde, "gamma0": R.params.gamma0}
    for key, name in zip(SCHEDULE_KEYS, sc.names):
        out[f"sc_frac_{key}"] = sc.fraction(name)[0]
        out[f"sc_loss_{key}"] = sc.mean_loss(name)[0] - R.f_min
    return out


def claims(R: Result) -> list[Claim]:
    """Sec. 5 as checks: (26) against Monte Carlo, Theorem 12 in every case, the generator, scoping."""
    fb, cases, sc = R.fb, R.cases, R.scope
    gap_f, gap_c = abs(fb.fine.identity_gap), abs(fb.coarse.identity_gap)
    out = [
        Claim("fb_mass_error", "(26) corrected: mass is conserved",
              fb.fine.mass_error, hi=1e-12, paper="—", where="eq. (26)", status="check"),
        Claim("fb_rho_min", "(26) corrected: the density stays ≥ 0",
              fb.fine.rho_csgd.min(), lo=0.0, paper="—", where="eq. (26)", status="check"),
        Claim("gap_ratio", "DP identity gap shrinks (fine / coarse ratio)", gap_f / gap_c,
              hi=0.5, strict=True, paper="identity exact", where="Remark 9", status="check"),
        Claim("identity_gap_fine", "DP identity gap on the fine grid (|gap|)", gap_f,
              hi=0.05 * abs(fb.fine.u0_mean) + 0.01, strict=True, paper="identity exact",
              where="Remark 9", status="check"),
    ]
    for key, what, pde in (("EV_sgd", "E V(x_sgd(T))", fb.fine.EV_sgd),
                           ("EV_csgd", "E V(x_csgd(T))", fb.fine.EV_csgd),
                           ("energy", "½ E ∫|α|²", fb.fine.energy)):
        m, h = fb.mc[key]
        out.append(Claim(f"mc_vs_fp_{key}", f"|MC − (26) corrected|, {what}", abs(m - pde),
                         hi=h + 0.03, strict=True, paper="density of (CSGD)",
                         where="eq. (26)",
                         status="reproduced" if key == "EV_sgd" else "corrected"))
    m, h = fb.mc["EV_csgd"]
    out += [
        Claim("printed_26_misfit", "|MC − (26) as printed|, E V(x_csgd(T))",
              abs(fb.EV_printed - m), lo=10 * (h + 0.03), strict=True,
              paper="ρ_t = −∇·(∇u ρ) + Δρ", where="eq. (26)", status="corrected"),
        Claim("fb_margin", "Theorem 12 margin for the densities of (26)",
              fb.fine.margin, lo=0.0, strict=True, paper="≥ 0", where="Theorem 12"),
    ]
    for name, *_ in cases_of_theorem12():
        mine = [c for c in cases if c.loss == name]
        if mine:
            out.append(Claim(f"t12_lower_{name.split()[0].lower()}",
                             f"Theorem 12, {name}: min of E M − CI", min(map(_lower, mine)),
                             lo=0.0, strict=True, paper="≥ 0", where="Theorem 12"))
    one_d = [c.r for c in cases if c.dim == 1]
    fk_gap = max(abs(r.u_pde - r.u_cole_hopf[0]) - r.u_cole_hopf[1] for r in one_d)
    over = max((r.cost_csgd[0] - r.cost_csgd[1] - r.u_pde) / (1 + abs(r.u_pde))
               for r in one_d)
    under = min(r.cost_csgd[0] + r.cost_csgd[1] - (r.u_cole_hopf[0] - r.u_cole_hopf[1])
                for r in one_d)
    good, bad, b = R.consistent, R.proof, R.beta_sim
    proof = dict(paper="ℒ = −∇f·∇ + ½Δ", where="Theorem 12 (proof)", status="corrected")
    land = landscapes.figure1()
    pf, pc = proof_identity(land, fb.hjb), proof_identity(land, fb.hjb_coarse)
    step = dict(paper="u_t = ℒu − ½|∇u|² ≤ 0", where="Theorem 12 (proof)",
                status="corrected")
    out += [
        Claim("u_pde_vs_fk", "1-D: |u(HJB) − u(Feynman–Kac)| − CI", fk_gap, hi=0.01,
              strict=True, paper="viscosity β⁻¹/2", where="(HJB)", status="check"),
        Claim("cost_vs_u_pde", "1-D: (cost − CI − u(HJB)) / (1 + |u(HJB)|)", over,
              hi=0.03, strict=True, paper="cost = u", where="eq. (25)"),
        Claim("cost_vs_u_fk", "1-D: cost + CI − (u(Feynman–Kac) − CI)", under, lo=-0.01,
              strict=True, paper="cost = u", where="Theorem 12 (proof)"),
        Claim("generator_gap", f"β = 1 control costs more at β = {b:g} (CI gap)",
              (bad.cost_csgd[0] - bad.cost_csgd[1]) - (good.cost_csgd[0] + good.cost_csgd[1]),
              lo=0.0, strict=True, **proof),
        Claim("generator_margin", f"β = 1 control at β = {b:g}: E M + CI",
              bad.margin[0] + bad.margin[1], hi=0.0, strict=True, **proof),
        Claim("generator_u_fk", f"|u(HJB with ½Δ) − u(F–K)| at β = {b:g}",
              abs(bad.u_pde - bad.u_cole_hopf[0]), lo=5 * (bad.u_cole_hopf[1] + 0.01),
              strict=True, **proof),
        Claim("proof_step_corrected", "(HJB): u_t + ℒu = ½|∇u|² (relative residual)",
              pf["corrected"],
              hi=0.6 * pc["corrected"], **step),
        Claim("proof_step_printed", "printed u_t = ℒu − ½|∇u|² (relative residual)",
              pf["printed"], lo=1.0,
              **step),
        Claim("proof_step_sign", "u_t > 0 somewhere: largest u_t / largest |u_t|",
              pf["ut_max"], lo=0.1, strict=True, **step),
    ]
    fr = {k: sc.fraction(n) for k, n in zip(SCHEDULE_KEYS, sc.names)}
    ls = {k: sc.mean_loss(n) for k, n in zip(SCHEDULE_KEYS, sc.names)}
    up = lambda d, k: d[k][0] + d[k][1]     # noqa: E731  upper end of the 95% interval
    dn = lambda d, k: d[k][0] - d[k][1]     # noqa: E731  lower end
    works = dict(paper="scoping works", where="Sec. 7.5")
    both = ("lin", "exp")
    out += [     # one claim for both schedules: their in-basin fractions can coincide
        Claim("scope_beats_sgd", "scopings vs SGD: in-basin, CI gap (worse of two)",
              min(dn(fr, k) for k in both) - up(fr, "sgd"), lo=0.0,
              strict=True, **works),
        Claim("scope_vs_big", "scopings vs fixed γ₀: in-basin, CI overlap",
              min(up(fr, k) for k in both) - dn(fr, "big"), lo=0.0,
              **works),
    ]
    for k, w in (("lin", "lin."), ("exp", "exp.")):
        out += [
            Claim(f"scope_{k}_loss_big", f"{w} scoping vs fixed γ₀: final loss, CI gap",
                  dn(ls, "big") - up(ls, k), lo=0.0, strict=True,
                  paper="f_γ → f as γ → 0", where="Sec. 7.5"),
            Claim(f"scope_{k}_loss_small", f"{w} scoping vs fixed γ₀/10: final loss, CI gap",
                  dn(ls, "small") - up(ls, k), lo=0.0, strict=True, **works),
        ]
    out.append(fact("scope_big_beats_sgd", "fixed γ₀: more in the global basin than SGD",
                    fr["big"][0] > fr["sgd"][0], paper="Fig. 1", where="Sec. 1"))
    return out


# --------------------------------------------------------------------------- tables
def fb_frame(R: Result):
    """(26) corrected and as printed against Monte Carlo: expected loss, energy, margin."""
    import pandas as pd
    fb, mc = R.fb, R.fb.mc
    rows = [("E V(x(T)), SGD", fb.fine.EV_sgd, pm(*mc["EV_sgd"]), "—"),
            ("E V(x(T)), CSGD", fb.fine.EV_csgd, pm(*mc["EV_csgd"]), f"{fb.EV_printed:.4f}"),
            ("½ E ∫|α|² ds", fb.fine.energy, pm(*mc["energy"]), "—"),
            ("margin of Theorem 12", fb.fine.margin,
             pm(*mc["margin"]), "—")]
    return pd.DataFrame([{"quantity": q, "(26) corrected": f"{v:.4f}",
                          "Monte Carlo (95% CI)": m, "(26) as printed": pr}
                         for q, v, m, pr in rows]).set_index("quantity")


def theorem12_frame(R: Result):
    """Theorem 12 per case: the margin E M = gain − energy (the check) first; mean ± 95% CI."""
    import pandas as pd
    return pd.DataFrame([{"loss": c.loss, "β": f"{c.beta:g}", "T": f"{c.T:g}",
                          "margin E M": pm(*c.r.margin),
                          "gain E V_sgd − E V_csgd": pm(*c.r.gain),
                          "energy ½E∫|α|²": pm(*c.r.energy)}
                         for c in R.cases]).set_index(["loss", "β", "T"])


def value_frame(R: Result):
    """u(x0, 0) three ways per case: (HJB) scheme, Feynman-Kac, achieved cost; mean ± 95% CI."""
    import pandas as pd
    return pd.DataFrame([{"loss": c.loss, "β": f"{c.beta:g}", "T": f"{c.T:g}",
                          "u (HJB scheme)": f"{c.r.u_pde:.4f}",
                          "u (Feynman–Kac)": pm(*c.r.u_cole_hopf),
                          "cost of CSGD": pm(*c.r.cost_csgd)}
                         for c in R.cases]).set_index(["loss", "β", "T"])


def scoping_frame(R: Result):
    """Per schedule: fraction in the global basin and mean excess loss, mean ± 95% CI."""
    import pandas as pd
    sc = R.scope
    return pd.DataFrame([{"schedule": n, "in global basin": pm(*sc.fraction(n)),
                          "f(x(T)) − min f": pm(sc.mean_loss(n)[0] - R.f_min,
                                                sc.mean_loss(n)[1])}
                         for n in sc.names]).set_index("schedule")


# --------------------------------------------------------------------------- figures
def figure_hjb(R: Result):
    """(HJB) value function u(., t) and optimal control alpha = d_x u (eq. (25)) at three times."""
    sol, fb = R.fb.hjb, R.fb
    x = sol.axes[0]
    shown = np.abs(x) <= 2.5
    fig, (a, b) = plt.subplots(1, 2, figsize=(7.5, 3.4))
    for k in (0, len(sol.times) // 2, len(sol.times) - 1):
        t = sol.times[k]
        a.plot(x[shown], sol.u[k][shown], lw=1.5, label=f"$t = {t:.1f}$")
        b.plot(x[shown], sol.fields[k].grads[shown, 0], lw=1.5, label=f"$t = {t:.1f}$")
    a.set_title(f"value function $u(x,t)$, $\\beta={fb.beta:g}$", fontsize=10)
    b.set_title(r"optimal control $\alpha = \partial_x u$", fontsize=10)
    for ax in (a, b):
        ax.set_xlabel("$x$")
        ax.legend(fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def figure_densities(R: Result):
    """Densities at T: Monte-Carlo histograms of (SGD)/(CSGD) and the Fokker-Planck solutions of (26)."""
    fb = R.fb
    x = fb.hjb.axes[0]
    shown = np.abs(x) <= 2.5
    fig, ax = plt.subplots(figsize=(7, 3.8))
    bins = np.linspace(-2.5, 2.5, 81)
    ax.hist(fb.x_sgd[:, 0], bins, density=True, color=COLORS["initial"],
            label="SGD, Monte Carlo")
    ax.hist(fb.x_csgd[:, 0], bins, density=True, histtype="step", color="tab:red", lw=1.5,
            label="CSGD, Monte Carlo")
    ax.plot(x[shown], fb.fine.rho_sgd[shown], color="k", lw=1.2, label="SGD, Fokker–Planck")
    ax.plot(x[shown], fb.fine.rho_csgd[shown], color="darkred", lw=1.2,
            label="CSGD, (26) corrected")
    ax.plot(x[shown], fb.rho_printed[shown], color="tab:blue", lw=1.2, ls="--",
            label="(26) as printed")
    ax.set_xlabel("$x$")
    ax.set_ylabel(f"density at $T={fb.T:g}$")
    ax.legend(fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def figure_theorem12(R: Result):
    """Theorem 12: the margin E M with its 95% interval in every case (log scale, all positive)."""
    cases = R.cases
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(cases) + 1.3))
    pos = np.arange(len(cases))[::-1]
    m = np.array([c.r.margin[0] for c in cases])
    h = np.array([c.r.margin[1] for c in cases])
    ax.errorbar(m, pos, xerr=h, fmt="o", capsize=3, color="tab:red")
    ax.set_yticks(pos)
    ax.set_yticklabels([f"{c.loss}, β={c.beta:g}, T={c.T:g}" for c in cases], fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel(r"margin $\mathbb{E}V(x_{sgd}) - \mathbb{E}V(x_{csgd})"
                  r" - \frac{1}{2}\mathbb{E}\int|\alpha|^2$ (95% CI)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def figure_scoping(R: Result):
    """Scoping: empirical CDF of the final excess loss (left), fraction in the global basin (right)."""
    sc = R.scope
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 4))
    for name in sc.names:
        excess = np.sort(sc.loss[name] - R.f_min)
        a.step(np.maximum(excess, 1e-5), np.arange(1, excess.size + 1) / excess.size,
               where="post", lw=1.5, label=name)
    a.set_xscale("log")
    a.set_xlim(1e-5, 3)
    a.set_xlabel(r"$f(x(T)) - \min f$")
    a.set_ylabel("fraction of particles below")
    a.legend(fontsize=9.5, loc="upper left", frameon=False)
    fr = np.array([sc.fraction(n) for n in sc.names])
    pos = np.arange(len(sc.names))[::-1]
    b.barh(pos, fr[:, 0], xerr=fr[:, 1], color="tab:red", alpha=0.7, capsize=3)
    b.set_yticks(pos)
    b.set_yticklabels(sc.names, fontsize=10)
    b.set_xlabel("fraction in the global basin (95% CI)")
    b.set_xlim(0, 1.05)
    fig.tight_layout()
    return fig
