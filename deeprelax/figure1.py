"""Figure 1 (Sec. 1): viscous-HJ and HJ smoothing of a 1-D loss and the densities they drive.

f is smoothed to u(., T) by Cole-Hopf (viscous-HJ, eq. (11)) and Hopf-Lax (HJ, eq.
(HL)); an initial density is carried by the Fokker-Planck equation (eq. (26), FP)
with the drifts -f' (SGD), -u_viscous' and -u_HJ'. :func:`compute` returns every
curve; :func:`claims` measures the paper's qualitative statements as numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import landscapes
from .fokker_planck import face_drift, fokker_planck, mass
from .hopf_lax import hopf_lax
from .local_entropy import local_entropy
from .params import Params, knob


@dataclass(frozen=True)
class Figure1Params(Params):
    """Parameters of Figure 1 (grid, smoothing, Fokker-Planck run)."""

    n_grid: int = knob(1401, lo=101, hi=20001, doc="grid points on [-x_max, x_max]")
    x_max: float = knob(3.5, lo=2.5, hi=10.0, doc="half-width of the computational box")
    x_plot: float = knob(2.5, lo=1.0, hi=10.0, doc="half-width of the plotted range")
    T: float = knob(1.0, lo=0.0, hi=10.0, doc="smoothing time T (= gamma) for both PDEs")
    beta: float = knob(2.0, lo=0.1, hi=1e4, doc="inverse viscosity of viscous-HJ")
    beta_fp: float = knob(20.0, lo=0.1, hi=1e4, doc="inverse temperature of the FP noise")
    T_fp: float = knob(8.0, lo=0.0, hi=100.0, doc="Fokker-Planck horizon")
    x0: float = knob(-1.4, lo=-10.0, hi=10.0, doc="mean of the initial Gaussian density")
    s0: float = knob(0.35, lo=0.01, hi=5.0, doc="std of the initial Gaussian density")
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
    params: Figure1Params


def compute(p: Figure1Params, landscape: landscapes.Landscape | None = None) -> Figure1:
    """Solve both PDEs and the three Fokker-Planck runs of Figure 1."""
    land = landscape or landscapes.figure1()
    x = np.linspace(-p.x_max, p.x_max, p.n_grid)
    f = land.on_grid(x)
    u_v = local_entropy(f, x, p.T, p.beta)
    u_h = hopf_lax(f, x, p.T)
    rho0 = np.exp(-0.5 * ((x - p.x0) / p.s0) ** 2)
    rho0 /= mass(rho0, x)
    run = lambda pot: fokker_planck(rho0, x, face_drift(pot, x), p.T_fp, p.beta_fp)  # noqa: E731
    return Figure1(x, f, u_v, u_h, rho0, run(f), run(u_v), run(u_h), p)


def basin_mass(x: np.ndarray, rho: np.ndarray, f: np.ndarray, i_min: int) -> float:
    """Mass of rho in the basin of attraction (between the neighbouring maxima) of f's minimum."""
    left, right = landscapes.basin(f, i_min)
    return float(rho[left:right + 1].sum() * (x[1] - x[0]))


def claims(fig: Figure1) -> dict[str, float]:
    """The caption's claims as numbers (see the chapter for the thresholds)."""
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


def convergence_to_f(f: np.ndarray, x: np.ndarray, beta: float,
                     times: np.ndarray, interior: float = 2.5) -> dict[str, np.ndarray]:
    """sup |u(., t) - f| on |x| <= interior for Cole-Hopf and Hopf-Lax as t -> 0."""
    inside = np.abs(x) <= interior
    err = lambda u: np.abs(u - f)[inside].max()  # noqa: E731
    return {"t": np.asarray(times, float),
            "viscous": np.array([err(local_entropy(f, x, t, beta)) for t in times]),
            "hj": np.array([err(hopf_lax(f, x, t)) for t in times])}
