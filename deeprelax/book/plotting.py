"""Plots of the book's figures; they read computed results, never compute them."""
from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np

from deeprelax.stats import fit_order

COLORS = {"f": "black", "viscous": "tab:red", "hj": "tab:blue", "sgd": "0.35",
          "initial": "0.85", "heat": "tab:green"}
ALGORITHM_COLORS = {"entropy-sgd": "C3", "heat": "C2", "hj": "C0", "sgd": "k"}


def loglog_rate(ax, h, err, label: str, marker: str = "o"):
    """Log-log error plot with the least-squares slope in the legend; returns the slope."""
    h, err = np.asarray(h, float), np.asarray(err, float)
    slope = fit_order(h, err)
    ax.loglog(h, err, marker=marker, label=f"{label} (slope {slope:.2f})")
    return slope


def mean_band(ax, x, mean, std, color, label: str, ls: str = "-"):
    """A training curve: the mean over seeds as a line (style ``ls``), mean ± std as a
    shaded band."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    ax.plot(x, mean, color=color, lw=1.3, ls=ls, label=label)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)


def epoch_axis(ax, ylabel: str, title: str):
    """Axis of a training curve against effective epochs (Figures 4 and 5)."""
    ax.set_xlabel("effective epochs (epochs × L)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def styled(rc: dict):
    """Decorator: draw a figure under the matplotlib settings ``rc`` (fonts that stay
    readable once the figure is scaled to the book's text width)."""
    def decorate(draw):
        @functools.wraps(draw)
        def wrapper(*args, **kwargs):
            with plt.rc_context(rc):
                return draw(*args, **kwargs)
        return wrapper
    return decorate
