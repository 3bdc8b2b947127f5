"""Chapter 01 (Sec. 1, Figure 1): viscous-HJ and HJ smoothing of a 1-D loss and the densities they drive.

f is smoothed to u(., T) by Cole-Hopf (viscous-HJ, eq. (11)) and Hopf-Lax (HJ, eq.
(HL)); an initial density is carried by the Fokker-Planck equation (FP) with the drifts
-f' (SGD), -u_viscous' and -u_HJ'. :func:`compute` returns every curve and the t -> 0
convergence study; :func:`claims` turns the caption's statements into checks;
:func:`figure_1` and :func:`figure_convergence` draw them.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from deeprelax.pde import landscapes
from deeprelax.pde.fokker_planck import face_drift, fokker_planck, mass
from deeprelax.pde.hopf_lax import hopf_lax
from deeprelax.pde.local_entropy import local_entropy
from deeprelax.book.claims import Claim, fact
from deeprelax.params import Params as BaseParams, knob
from deeprelax.book.plotting import COLORS, loglog_rate
from deeprelax.stats import fit_order


@dataclass(frozen=True)
class Params(BaseParams):
    """Parameters of Figure 1 (grid, smoothing, Fokker-Planck run) and of the t -> 0 study."""

    n_grid: int = knob(1401, lo=101, hi=20001, doc="grid points on [-x_max, x_max]")
    x_max: float = knob(3.5, lo=2.5, hi=10.0, doc="half-width of the computational box")
    x_plot: float = knob(2.5, lo=1.0, hi=10.0, doc="half-width of the plotted range")
    T: float = knob(1.0, lo=0.0, hi=10.0, doc="smoothing time T (= gamma) for both PDEs")
    beta: float = knob(2.0, lo=0.1, hi=1e4, doc="inverse viscosity of viscous-HJ")
    beta_fp: float = knob(20.0, lo=0.1, hi=1e4, doc="inverse temperature of the FP noise")
    T_fp: float = knob(8.0, lo=0.0, hi=100.0, doc="Fokker-Planck horizon")
    x0: float = knob(-1.4, lo=-10.0, hi=10.0, doc="mean of the initial Gaussian density")
    s0: float = knob(0.35, lo=0.01, hi=5.0, doc="std of the initial Gaussian density")
    n_fine: int = knob(7001, lo=1001, hi=100001, doc="grid points of the t -> 0 study")
    t_min: float = knob(1e-5, lo=1e-8, hi=1e-2, doc="smallest time of the t -> 0 study")
    t_max: float = knob(1e-3, lo=1e-6, hi=1e-1, doc="largest time of the t -> 0 study")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="unused: numpy on the CPU")

    PRESETS = {"fast": {}, "paper": {"n_grid": 4001}}


@dataclass
class Figure1:
    """All curves of Figure 1 on the grid ``x``."""

    x: np.ndarray          # grid
    f: np.ndarray          # loss f (black)
    u_viscous: np.ndarray  # viscous-HJ solution u(., T) (red)
    u_hj: np.ndarray       # HJ / Hopf-Lax solution u(., T) (blue)
    rho0: np.ndarray       # initial density (light grey)
    rho_sgd: np.ndarray    # terminal density, drift -f' (dark grey)
    rho_viscous: np.ndarray  # terminal density, drift -u_viscous' (red)
    rho_hj: np.ndarray     # terminal density, drift -u_hj' (blue)
    params: Params
    convergence: dict | None = None   # t, sup|u - f| for both PDEs, Lipschitz constant


def compute(p: Params, landscape: landscapes.Landscape | None = None) -> Figure1:
    """Solve both PDEs and the three Fokker-Planck runs of Figure 1, and the t -> 0 study."""
    land = landscape or landscapes.figure1()
    x = np.linspace(-p.x_max, p.x_max, p.n_grid)
    f = land.on_grid(x)
    u_v = local_entropy(f, x, p.T, p.beta)
    u_h = hopf_lax(f, x, p.T)
    rho0 = np.exp(-0.5 * ((x - p.x0) / p.s0) ** 2)
    rho0 /= mass(rho0, x)
    run = lambda pot: fokker_planck(rho0, x, face_drift(pot, x), p.T_fp, p.beta_fp)  # noqa: E731
    x_fine = np.linspace(-p.x_max, p.x_max, p.n_fine)
    times = np.geomspace(p.t_min, p.t_max, 5)
    conv = convergence_to_f(land.on_grid(x_fine), x_fine, p.beta, times, interior=p.x_plot)
    conv["lip"] = float(np.abs(land.grad(x_fine[:, None])).max())
    return Figure1(x, f, u_v, u_h, rho0, run(f), run(u_v), run(u_h), p, conv)


def basin_mass(x: np.ndarray, rho: np.ndarray, f: np.ndarray, i_min: int) -> float:
    """Mass of rho in the basin of attraction (between the neighbouring maxima) of f's minimum."""
    left, right = landscapes.basin(f, i_min)
    return float(rho[left:right + 1].sum() * (x[1] - x[0]))


def measures(fig: Figure1) -> dict[str, float]:
    """The caption's quantities: convexity, minimisers, basin masses, mass error."""
    x, f, p = fig.x, fig.f, fig.params
    dx = x[1] - x[0]
    shown = np.abs(x) <= p.x_plot
    uxx = np.diff(fig.u_viscous, 2) / dx**2
    i_glob = int(np.argmin(f))
    minima = landscapes.local_minima(f)
    i_start = minima[np.argmin(np.abs(x[minima] - p.x0))]   # the well under the initial mass
    return {
        "min_uxx_viscous": float(uxx[shown[1:-1]].min()),
        "x_global_f": float(x[i_glob]),
        "x_min_viscous": float(x[np.argmin(fig.u_viscous)]),
        "x_min_hj": float(x[np.argmin(fig.u_hj)]),
        "x_start_well": float(x[i_start]),
        "sgd_mass_start_well": basin_mass(x, fig.rho_sgd, f, i_start),
        "sgd_mass_global_well": basin_mass(x, fig.rho_sgd, f, i_glob),
        "viscous_mass_global_well": basin_mass(x, fig.rho_viscous, f, i_glob),
        "hj_mass_global_well": basin_mass(x, fig.rho_hj, f, i_glob),
        "mass_error": max(abs(mass(r, x) - 1.0)
                          for r in (fig.rho_sgd, fig.rho_viscous, fig.rho_hj)),
    }


def prose_numbers(fig: Figure1) -> dict[str, float]:
    """The numbers the prose quotes that are not claims (claims are glued by ``report``)."""
    names = {c.name for c in claims(fig)}
    return {k: v for k, v in measures(fig).items() if k not in names}


def claims(fig: Figure1) -> list[Claim]:
    """Figure 1's caption and the t -> 0 limits as checks."""
    m, p, c = measures(fig), fig.params, fig.convergence
    hj_bound = c["t"] * c["lip"] ** 2 / 2
    return [
        Claim("min_uxx_viscous", "viscous-HJ u(., T) is convex (smallest u_xx)",
              m["min_uxx_viscous"], lo=0.0, strict=True, paper="convex", where="Fig. 1"),
        Claim("dx_min_viscous", "its minimiser lies near f's global minimiser (|Δx|)",
              abs(m["x_min_viscous"] - m["x_global_f"]), hi=0.1 * p.x_plot,
              paper="same minimiser", where="Fig. 1"),
        Claim("sgd_mass_start_well", "SGD's density stays in its starting well (mass)",
              m["sgd_mass_start_well"], lo=0.5, paper="stuck", where="Fig. 1"),
        Claim("viscous_mass_global_well", "the viscous-HJ density reaches the global "
              "valley (mass)", m["viscous_mass_global_well"], lo=0.9,
              paper="global valley", where="Fig. 1"),
        Claim("hj_gain", "the HJ density reaches the global valley more than SGD's "
              "(mass difference)", m["hj_mass_global_well"] - m["sgd_mass_global_well"],
              lo=0.0, strict=True, paper="global valley", where="Fig. 1"),
        Claim("mass_error", "the Fokker-Planck scheme conserves mass", m["mass_error"],
              hi=1e-10, paper="—", where="(FP)", status="check"),
        Claim("ch_order", "Cole-Hopf u(., t) -> f at order 1 in t", c["order"], 0.9, 1.1,
              paper="u → f", where="eq. (11)", status="check"),
        fact("hj_bound", "Hopf-Lax error within 0 ≤ f - u ≤ t Lip(f)²/2",
             bool(np.all(c["hj"] <= hj_bound + 1e-12)), paper="u → f", where="eq. (HL)",
             status="check"),
        fact("ch_monotone", "the Cole-Hopf error grows with t at every step",
             bool(np.all(np.diff(c["viscous"]) > 0)), paper="—", where="eq. (11)",
             status="check"),
    ]


def convergence_to_f(f: np.ndarray, x: np.ndarray, beta: float,
                     times: np.ndarray, interior: float = 2.5) -> dict[str, np.ndarray]:
    """sup |u(., t) - f| on |x| <= interior for Cole-Hopf and Hopf-Lax as t -> 0."""
    inside = np.abs(x) <= interior
    err = lambda u: np.abs(u - f)[inside].max()  # noqa: E731
    t = np.asarray(times, float)
    viscous = np.array([err(local_entropy(f, x, s, beta)) for s in t])
    return {"t": t, "viscous": viscous, "order": fit_order(t, viscous),
            "hj": np.array([err(hopf_lax(f, x, s)) for s in t])}


def figure_1(fig1: Figure1):
    """Figure 1: f and its viscous-HJ / HJ smoothings (top); initial and terminal densities (bottom)."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    x, p = fig1.x, fig1.params
    shown = np.abs(x) <= p.x_plot
    xs = x[shown]
    top.plot(xs, fig1.f[shown], color=COLORS["f"], lw=2, label="$f(x)$")
    top.plot(xs, fig1.u_viscous[shown], color=COLORS["viscous"], lw=2,
             label=f"viscous HJ, $T={p.T:g}$, $\\beta={p.beta:g}$")
    top.plot(xs, fig1.u_hj[shown], color=COLORS["hj"], lw=2,
             label=f"non-viscous HJ, $T={p.T:g}$")
    top.legend(fontsize=9, frameon=False)
    top.set_ylabel("loss")
    bottom.fill_between(xs, 0, fig1.rho0[shown], color=COLORS["initial"], label="initial")
    bottom.fill_between(xs, 0, fig1.rho_sgd[shown], color=COLORS["sgd"], alpha=0.8,
                        label="terminal, SGD")
    bottom.plot(xs, fig1.rho_viscous[shown], color=COLORS["viscous"], lw=2,
                label="terminal, viscous HJ")
    bottom.plot(xs, fig1.rho_hj[shown], color=COLORS["hj"], lw=2, label="terminal, HJ")
    bottom.set_yscale("symlog", linthresh=0.5)
    bottom.set_ylim(0, None)
    bottom.set_ylabel("density (symlog)")
    bottom.set_xlabel("$x$")
    bottom.set_xlim(xs[0], xs[-1])
    bottom.legend(fontsize=9, frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def figure_convergence(fig1: Figure1):
    """sup|u(., t) - f| against t for Cole-Hopf and Hopf-Lax, with the bound t Lip(f)^2/2.

    Hopf-Lax errors that are exactly zero on the grid are not drawn (a log axis has no 0).
    """
    c = fig1.convergence
    fig, ax = plt.subplots(figsize=(6, 4))
    loglog_rate(ax, c["t"], c["viscous"], "Cole–Hopf  sup|u−f|")
    nz = c["hj"] > 0
    ax.loglog(c["t"][nz], c["hj"][nz], "s", label="Hopf–Lax  sup|u−f| (nonzero)")
    ax.loglog(c["t"], c["t"] * c["lip"] ** 2 / 2, "k--", label="bound $t\\,L^2/2$")
    ax.set_xlabel("$t$")
    ax.set_ylabel("sup-error on the plotted range")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
