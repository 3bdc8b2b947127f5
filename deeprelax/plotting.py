"""Plots of the book's figures; they read computed results, never compute them."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

COLORS = {"f": "black", "viscous": "tab:red", "hj": "tab:blue", "sgd": "0.35",
          "initial": "0.85", "heat": "tab:green"}
ALGORITHM_COLORS = {"entropy-sgd": "C3", "heat": "C2", "hj": "C0", "sgd": "k"}


def figure1(fig1, axes=None):
    """Figure 1: f and its viscous-HJ / HJ smoothings (top); initial and terminal densities (bottom)."""
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True,
                               gridspec_kw={"height_ratios": [3, 2]})
    top, bottom = axes
    x, p = fig1.x, fig1.params
    shown = np.abs(x) <= p.x_plot
    xs = x[shown]
    top.plot(xs, fig1.f[shown], color=COLORS["f"], lw=2, label="$f(x)$")
    top.plot(xs, fig1.u_viscous[shown], color=COLORS["viscous"], lw=2,
             label=f"viscous HJ $u(x,T)$ ($T={p.T:g}$, $\\beta={p.beta:g}$)")
    top.plot(xs, fig1.u_hj[shown], color=COLORS["hj"], lw=2,
             label=f"non-viscous HJ $u(x,T)$ ($T={p.T:g}$)")
    top.legend(fontsize=8, frameon=False)
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
    bottom.legend(fontsize=8, frameon=False, ncol=2)
    return axes


def loglog_rate(ax, h, err, label: str, marker: str = "o"):
    """Log-log error plot with the least-squares slope in the legend; returns the slope."""
    h, err = np.asarray(h, float), np.asarray(err, float)
    slope = float(np.polyfit(np.log(h), np.log(err), 1)[0])
    ax.loglog(h, err, marker=marker, label=f"{label} (slope {slope:.2f})")
    return slope


def mean_band(ax, x, mean, std, color, label: str):
    """A training curve: the mean over seeds as a line, mean ± std as a shaded band."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    ax.plot(x, mean, color=color, lw=1.3, label=label)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)


def epoch_axis(ax, ylabel: str, title: str):
    """Axis of a training curve against effective epochs (Figures 4 and 5)."""
    ax.set_xlabel("effective epochs (epochs × L)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
