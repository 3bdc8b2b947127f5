"""Sec. 4 by simulation: homogenisation of Entropy-SGD, Elastic-SGD, HEAT vs viscous HJ.

- the smoothed losses f_gamma and v(., gamma) on a grid and the RK4 homogenised flow
  dX = -grad f_gamma(X) ds of Theorem 5 come from :mod:`deeprelax.grid`;
- :func:`homogenization_error`: trajectory error of a two-time-scale simulator
  (``sde.entropy_sgd``, ``sde.entropy_sgd2``, ``sde.heat_sgd``, ``sde.elastic_sgd``)
  against that flow, for a list of eps, with bootstrap error bars and the fitted order;
- :func:`drift_estimates`: the homogenised drift -grad f_gamma(x) from a single chain's
  temporal average (19) and from n_p coupled replicas' spatial average (22);
- :func:`convexity_threshold`, :func:`coupling_decay`: Remark 6 (gamma threshold and
  exponential contraction of the inner dynamics);
- :func:`smoothing_comparison`: heat smoothing vs local entropy vs Hopf-Lax (Sec. 4.4,
  Remark 8): where the minima go, their values and the curvature bound of Lemma 18.

Temperatures: the SDEs use noise beta^{-1/2} (``sde`` module docstring); their Gibbs
densities, hence the smoothed losses they follow, are at ``sde.gibbs_beta(beta) = 2 beta``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import sde
from ..landscapes import local_minima
from ..grid import GridField, heat_field, local_entropy_field, rk4_gradient_flow
from ..heat import heat
from ..stats import fit_order
from ..hopf_lax import hopf_lax
from ..landscapes import Landscape, as_axes
from ..local_entropy import local_entropy
from ..params import Params, knob


# --------------------------------------------------------------------------- rates
def _rms_with_se(e: np.ndarray) -> tuple[float, float]:
    """Root mean square of samples e and its standard error (delta method)."""
    e2 = np.asarray(e, float) ** 2
    ms = e2.mean()
    se_ms = e2.std(ddof=1) / np.sqrt(e2.size)
    rms = float(np.sqrt(ms))
    return rms, float(se_ms / (2 * rms)) if rms > 0 else 0.0


def _bootstrap_order(h, samples, rng, n_boot=200) -> tuple[float, float]:
    """Fitted order of RMS(samples) vs h and its bootstrap standard error over particles."""
    rms = [np.sqrt(np.mean(np.asarray(s) ** 2)) for s in samples]
    order = fit_order(h, rms)
    boots = []
    for _ in range(n_boot):
        r = [np.sqrt(np.mean(s[rng.integers(0, s.size, s.size)] ** 2)) for s in samples]
        boots.append(fit_order(h, r))
    return order, float(np.std(boots, ddof=1))


@dataclass
class OrderStudy:
    """Trajectory errors of a two-time-scale simulator against a homogenised flow, per eps."""

    eps: np.ndarray            # homogenisation parameters
    rms: np.ndarray            # RMS over particles of sup_t |x(t) - X(t)|
    se: np.ndarray             # standard errors of rms
    order: float               # fitted slope of log rms vs log eps
    order_se: float            # its bootstrap standard error
    bias: np.ndarray           # max over starts of sup_t |mean_particles x(t) - X(t)| (weak error)
    bias_se: np.ndarray        # Monte-Carlo standard error of those means (largest over starts, t)
    others: dict               # name -> rms against other reference flows (same samples)
    others_bias: dict          # name -> weak error against the other flows
    paths: dict = field(repr=False, default_factory=dict)   # eps -> (times, x-paths, reference)


def homogenization_error(simulate: Callable, land: Landscape, reference: GridField,
                         x_starts, n_per_start: int, eps_list, T: float, beta: float,
                         gamma: float, seed: int, ratio: float = 50.0,
                         record_dt: float = 0.05, scheme: str = "lm",
                         others: dict | None = None, keep_paths: bool = False,
                         **kwargs) -> OrderStudy:
    """Theorem 5 check: RMS_particles sup_t |x_eps(t) - X(t)| for each eps (X: RK4 flow of ``reference``).

    ``simulate`` is one of the two-time-scale simulators of :mod:`deeprelax.sde`
    (extra keyword arguments such as ``n_replicas`` are passed on); every start in
    ``x_starts`` gets ``n_per_start`` particles; dt = eps/ratio rounded so the path is
    recorded every ``record_dt``. ``others`` maps names to further GridFields whose
    flows are compared with the same samples (e.g. the wrong temperature).
    """
    x_starts = np.atleast_2d(np.asarray(x_starts, float))
    if n_per_start < 2:
        raise ValueError("n_per_start must be >= 2 for error bars")
    eps_list = np.asarray(sorted(eps_list, reverse=True), float)
    if np.any(eps_list <= 0):
        raise ValueError("eps values must be positive")
    if ratio < 2:
        raise ValueError(f"ratio = eps/dt must be >= 2, got {ratio}")
    n_rec = int(round(T / record_dt))
    if n_rec < 1 or abs(n_rec * record_dt - T) > 1e-9 * T:
        raise ValueError(f"T={T} must be a positive multiple of record_dt={record_dt}")
    x0 = np.repeat(x_starts, n_per_start, axis=0)
    fine = 20                                            # RK4 steps per record interval
    refs = {"reference": reference, **(others or {})}
    flows = {k: rk4_gradient_flow(f.grad, x_starts, T, record_dt / fine, fine)
             for k, f in refs.items()}
    samples = {k: [] for k in refs}
    bias = {k: [] for k in refs}
    bias_se, paths = [], {}
    for i, eps in enumerate(eps_list):
        per_rec = int(np.ceil(record_dt * ratio / eps))
        dt = record_dt / per_rec
        rng = np.random.default_rng([seed, i])
        _, path = simulate(land.grad, x0, gamma, eps, T, dt, beta, rng,
                           record_every=per_rec, scheme=scheme, **kwargs)
        grouped = path.reshape(path.shape[0], len(x_starts), n_per_start, -1)
        mean = grouped.mean(axis=2)                                  # (t, starts, dim)
        bias_se.append(float((grouped.std(axis=2, ddof=1).max(axis=-1)
                              / np.sqrt(n_per_start)).max()))
        for k, flow in flows.items():
            ref = np.repeat(flow, n_per_start, axis=1)
            samples[k].append(np.linalg.norm(path - ref, axis=-1).max(axis=0))
            bias[k].append(float(np.linalg.norm(mean - flow, axis=-1).max()))
        if keep_paths:
            paths[float(eps)] = (np.linspace(0, T, n_rec + 1), path, flows["reference"])
    rms_se = np.array([_rms_with_se(e) for e in samples["reference"]])
    order, order_se = (_bootstrap_order(eps_list, samples["reference"],
                                        np.random.default_rng([seed, 999]))
                       if eps_list.size > 1 else (np.nan, np.nan))
    other_rms = {k: np.array([_rms_with_se(e)[0] for e in samples[k]])
                 for k in refs if k != "reference"}
    other_bias = {k: np.array(bias[k]) for k in refs if k != "reference"}
    return OrderStudy(eps_list, rms_se[:, 0], rms_se[:, 1], order, order_se,
                      np.array(bias["reference"]), np.array(bias_se), other_rms, other_bias,
                      paths)


# --------------------------------------------------------------------------- Elastic-SGD
@dataclass
class DriftEstimates:
    """Drift -grad f_gamma(x) estimated by replicas (spatial) and by one chain (temporal)."""

    x: np.ndarray              # frozen points x, shape (m, dim)
    exact: np.ndarray          # -grad f_gamma(x) from Cole-Hopf, (m, dim)
    n_replicas: np.ndarray     # replica counts
    spatial: np.ndarray        # (len(n_replicas), n_rep, m, dim) estimates
    times: np.ndarray          # averaging times S
    temporal: np.ndarray       # (len(times), n_rep, m, dim) estimates

    def rms_error(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """RMS error over points and repetitions, and its standard error, per size."""
        est = getattr(self, which)
        e = np.linalg.norm(est - self.exact, axis=-1)               # (k, n_rep, m)
        out = np.array([_rms_with_se(ek.ravel()) for ek in e])
        return out[:, 0], out[:, 1]


def drift_estimates(land: Landscape, reference: GridField, x, gamma: float, beta: float,
                    n_replicas, times, n_rep: int, burn: float, dt: float, seed: int,
                    scheme: str = "lm") -> DriftEstimates:
    """Eqs. (19) and (22): -(x - <y>)/gamma with <y> a temporal average (one chain, time S) or a spatial one (n_p replicas).

    Every chain starts at y = x and runs the inner dynamics (``sde.inner_chain``) for
    ``burn`` fast-time units before averaging. Spatial: ybar over the first n_p of
    max(n_replicas) replicas at time ``burn``. Temporal: (1/S) int_burn^{burn+S} y ds.
    """
    x = np.atleast_2d(np.asarray(x, float))
    m, d = x.shape
    n_replicas = np.asarray(sorted(n_replicas), int)
    times = np.asarray(sorted(times), float)
    if n_rep < 2 or n_replicas[0] < 1 or times[0] <= 0 or burn < 0:
        raise ValueError("need n_rep >= 2, n_replicas >= 1, times > 0 and burn >= 0")
    P = int(n_replicas[-1])
    rng = np.random.default_rng([seed, 1])
    xs = np.broadcast_to(x, (n_rep, P, m, d)).reshape(-1, d)
    y = sde.inner_chain(land.grad, xs, gamma, xs, burn, dt, beta, rng, scheme=scheme)
    y = y.reshape(n_rep, P, m, d)
    spatial = np.stack([-(x - y[:, :k].mean(axis=1)) / gamma for k in n_replicas])

    # temporal: one chain per (rep, point); carry the running integral as a state
    rng = np.random.default_rng([seed, 2])
    xs = np.broadcast_to(x, (n_rep, m, d)).reshape(-1, d)
    z = np.concatenate([sde.inner_chain(land.grad, xs, gamma, xs, burn, dt, beta, rng,
                                        scheme=scheme), np.zeros_like(xs)], axis=1)
    step = sde._integrator(scheme)
    sigma = np.r_[np.full(d, beta ** -0.5), np.zeros(d)]

    def drift(zz, s):
        yy = zz[:, :d]
        return np.concatenate([-(land.grad(yy) + (yy - xs) / gamma), yy], axis=1)

    temporal, done = [], 0.0
    for S in times:
        n, h = sde.step_count(S - done, dt)
        if n:
            z = step(drift, z, h, n, sigma, rng)
        done = S
        ybar = z[:, d:] / S
        temporal.append((-(xs - ybar) / gamma).reshape(n_rep, m, d))
    exact = -reference.grad(x)
    return DriftEstimates(x, exact, n_replicas, spatial, times, np.stack(temporal))


# --------------------------------------------------------------------------- Remark 6
def convexity_threshold(land: Landscape, axes) -> tuple[float, float]:
    """Remark 6: (min over the grid of the smallest Hessian eigenvalue of f, gamma* = 1/max(0, -that)).

    H(x, y; gamma) = f(y) + |x - y|^2/(2 gamma) is convex in y for every x iff
    grad^2 f + I/gamma > 0, i.e. gamma < gamma*.
    """
    from ..landscapes import grid_points
    pts = grid_points(as_axes(axes))
    lam = float(np.linalg.eigvalsh(land.hess(pts)).min())
    return lam, (np.inf if lam >= 0 else -1.0 / lam)


@dataclass
class CouplingDecay:
    """Synchronous coupling of the inner dynamics: |y1(s) - y2(s)| for pairs sharing the noise."""

    gammas: np.ndarray         # coupling strengths gamma
    lam: np.ndarray            # convexity constants 1/gamma + min eig grad^2 f
    times: np.ndarray          # recorded fast times
    dist: np.ndarray           # (len(gammas), len(times), n_pairs) distances
    rates: np.ndarray          # fitted decay rate of the mean distance (log-linear, first decade)
    worst_ratio: np.ndarray    # max over pairs and times of |dy(s)| / (|dy(0)| e^{-lam s})


def coupling_decay(land: Landscape, x, gammas, beta: float, S: float, dt: float,
                   n_pairs: int, spread: float, seed: int, lam_min: float,
                   n_record: int = 100) -> CouplingDecay:
    """Remark 6: two inner chains driven by the same noise contract like e^{-lam s} when lam = 1/gamma + lam_min > 0.

    Pairs start at independent uniform points in the cube x +/- spread. Euler-Maruyama
    with common increments preserves the pathwise bound |dy(s)| <= |dy(0)| e^{-lam s}
    (up to O(dt)) exactly when H is lam-convex; for lam < 0 no such bound exists and the
    decay is set by hopping between wells.
    """
    x = np.atleast_1d(np.asarray(x, float))
    d = x.size
    rng = np.random.default_rng([seed, 3])
    y1 = x + rng.uniform(-spread, spread, (n_pairs, d))
    y2 = x + rng.uniform(-spread, spread, (n_pairs, d))
    n, dt = sde.step_count(S, dt)
    every = max(1, n // n_record)
    dists, rates, worst, lams = [], [], [], []
    for j, gamma in enumerate(gammas):
        a, b = y1.copy(), y2.copy()
        noise = np.random.default_rng([seed, 4, j])
        rec = [np.linalg.norm(a - b, axis=1)]
        t_rec = [0.0]
        drift = lambda y: -(land.grad(y) + (y - x) / gamma)         # noqa: E731
        sq = np.sqrt(dt / beta)
        for k in range(n):
            xi = sq * noise.standard_normal(a.shape)
            a, b = a + dt * drift(a) + xi, b + dt * drift(b) + xi
            if (k + 1) % every == 0:
                rec.append(np.linalg.norm(a - b, axis=1))
                t_rec.append((k + 1) * dt)
        D = np.stack(rec)
        t = np.array(t_rec)
        lam = 1.0 / gamma + lam_min
        mean = D.mean(axis=1)
        first = mean >= mean[0] * 0.1            # the first decade of decay
        first[:2] = True
        rates.append(-fit_order_linear(t[first], np.log(np.maximum(mean[first], 1e-300))))
        with np.errstate(over="ignore"):
            bound = D[0] * np.exp(-lam * t[:, None])
        worst.append(float(np.max(D / np.maximum(bound, 1e-300))))
        dists.append(D)
        lams.append(lam)
    return CouplingDecay(np.asarray(gammas, float), np.array(lams), t, np.stack(dists),
                         np.array(rates), np.array(worst))


def fit_order_linear(t, y) -> float:
    """Least-squares slope of y against t (e.g. log distance vs time: minus a decay rate)."""
    return float(np.polyfit(np.asarray(t, float), np.asarray(y, float), 1)[0])


# --------------------------------------------------------------------------- Sec. 4.4
def narrow_global() -> Landscape:
    """A 1-D loss whose global minimum (x = -0.59) is a narrow well next to a wide, shallower one (x = 0.94)."""
    from ..landscapes import Wells
    return Wells(centers=((-0.6,), (1.0,)), depths=(1.0, 0.75), widths=(0.15, 0.6),
                 curvature=0.3, origin=(0.5,))


def switch_gamma(comp: "SmoothingComparison", which: str, basin: tuple) -> float:
    """Smallest tabulated gamma at which the global minimiser of the smoothed loss leaves ``basin`` (inf if never)."""
    where = comp.argmin(which)
    out = (where < basin[0]) | (where > basin[1])
    return float(comp.gammas[np.argmax(out)]) if out.any() else np.inf


@dataclass
class SmoothingComparison:
    """Heat smoothing v, local entropy f_gamma and Hopf-Lax u_HJ of one 1-D loss, per gamma."""

    x: np.ndarray
    f: np.ndarray
    gammas: np.ndarray
    heat: np.ndarray           # (len(gammas), n) G_{gamma/beta'} * f, eq. (23)
    entropy: np.ndarray        # (len(gammas), n) f_gamma, eq. (11)
    hj: np.ndarray | None      # (len(gammas), n) Hopf-Lax (HL), the beta -> infinity limit
    beta_gibbs: float
    window: float

    def minima(self, which: str) -> list[np.ndarray]:
        """Locations of the local minima inside |x| <= window, per gamma."""
        inside = np.abs(self.x) <= self.window
        return [self.x[local_minima(np.where(inside, u, np.inf))]
                for u in getattr(self, which)]

    def argmin(self, which: str) -> np.ndarray:
        """Global minimiser inside the window, per gamma."""
        inside = np.abs(self.x) <= self.window
        return np.array([self.x[np.argmin(np.where(inside, u, np.inf))]
                         for u in getattr(self, which)])

    def max_curvature(self, which: str) -> np.ndarray:
        """sup u_xx inside the window (second differences), per gamma: the semiconcavity constant."""
        h = self.x[1] - self.x[0]
        inside = np.abs(self.x[1:-1]) <= self.window
        return np.array([(np.diff(u, 2) / h**2)[inside].max() for u in getattr(self, which)])

    def resolved(self) -> np.ndarray:
        """gammas whose kernel (std sqrt(gamma/beta')) spans at least two grid steps."""
        return np.sqrt(self.gammas / self.beta_gibbs) >= 2 * (self.x[1] - self.x[0])

    def lemma18_bound(self) -> np.ndarray:
        """Lemma 18: sup u_xx(., gamma) <= 1/(1/sup f'' + gamma)."""
        h = self.x[1] - self.x[0]
        c = (np.diff(self.f, 2) / h**2).max()
        return 1.0 / (1.0 / c + self.gammas)


def smoothing_comparison(land: Landscape, x: np.ndarray, gammas, beta: float,
                         window: float, with_hj: bool = True) -> SmoothingComparison:
    """Sec. 4.4 / Remark 8: v = G_{gamma/(2 beta)} * f (HEAT), f_gamma (Entropy-SGD) and Hopf-Lax on one grid.

    The Hopf-Lax solution does not depend on beta; ``with_hj=False`` skips it.
    """
    if land.dim != 1:
        raise ValueError("smoothing_comparison works on 1-D landscapes")
    f = land.on_grid(x)
    gammas = np.asarray(gammas, float)
    bg = sde.gibbs_beta(beta)
    return SmoothingComparison(
        x, f, gammas,
        np.stack([heat(f, x, g, bg) for g in gammas]),
        np.stack([local_entropy(f, x, g, bg) for g in gammas]),
        np.stack([hopf_lax(f, x, g) for g in gammas]) if with_hj else None, bg, window)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class HomogenizationParams(Params):
    """Parameters of the Sec. 4 chapter (homogenisation)."""

    beta: float = knob(1.0, lo=0.05, hi=100.0, doc="SDE noise beta^{-1/2}; Gibbs at 2 beta")
    gamma: float = knob(0.5, lo=1e-3, hi=10.0, doc="coupling gamma of Entropy-SGD")
    T: float = knob(1.0, lo=0.05, hi=20.0, doc="horizon of the slow variable")
    eps: tuple[float, ...] = knob((0.04, 0.02, 0.01, 0.005), doc="homogenisation eps values")
    ratio: float = knob(50.0, lo=5.0, hi=1e4, doc="eps/dt for the fast variable")
    n_per_start: int = knob(150, lo=2, hi=10**6, doc="particles per starting point")
    scheme: str = knob("lm", choices=("lm", "em"), doc="integrator of the fast variable")
    n_grid_1d: int = knob(1601, lo=201, hi=20001, doc="grid points for f_gamma in 1-D")
    n_grid_2d: int = knob(241, lo=41, hi=2001, doc="grid points per axis in 2-D")
    box: float = knob(4.0, lo=2.0, hi=10.0, doc="half-width of the grid box")
    n_replicas: tuple[int, ...] = knob((1, 4, 16, 64), doc="Elastic-SGD replica counts")
    times: tuple[float, ...] = knob((1.0, 4.0, 16.0, 64.0), doc="temporal averaging times")
    n_rep: int = knob(16, lo=2, hi=10**5, doc="repetitions per drift estimate")
    seed: int = knob(0, lo=0, hi=2**31 - 1, doc="base seed")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="unused: NumPy on the CPU")

    PRESETS = {
        "fast": {},
        "paper": {"eps": (0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125), "n_per_start": 1000,
                  "ratio": 100.0, "n_replicas": (1, 4, 16, 64, 256),
                  "times": (1.0, 4.0, 16.0, 64.0, 256.0), "n_rep": 32},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        from ..params import ParamError
        if len(self.eps) < 3 or min(self.eps) <= 0 or max(self.eps) > 0.5:
            raise ParamError("HomogenizationParams.eps needs >= 3 values in (0, 0.5] "
                             "to fit an order")
        if len(self.n_replicas) < 3 or min(self.n_replicas) < 1:
            raise ParamError("HomogenizationParams.n_replicas needs >= 3 counts >= 1")
        if len(self.times) < 3 or min(self.times) <= 0:
            raise ParamError("HomogenizationParams.times needs >= 3 positive times")
