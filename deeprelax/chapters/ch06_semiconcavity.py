"""Sec. 6 checked by numbers: Examples 13-16 and Lemmas 18-20 as studies returning arrays.

- :func:`example13_errors`: Cole-Hopf and Hopf-Lax against Example 13's closed form in
  n = 1, 2, 3 (and against the formula as printed), with Delta u = n/(t + 1/c).
- :func:`example14_rates`: semiconcavity constants of the heat equation and of viscous
  HJ / HJ from the same initial data c0 sin(x), side by side with c0 exp(-lambda_1 t)
  and 1/(1/c0 + t).
- :func:`example16_widths`: convex intervals around each local minimum as t grows,
  HJ against the prediction of the characteristics, and viscous HJ.
- :func:`lemma18_ratios`: sup u_{x_k x_k}(., t) and sup Delta u(., t) over the bounds of
  Lemma 18 on random smooth landscapes in 1-D and 2-D (viscous HJ and HJ).
- :func:`lemma19_ratios`, :func:`lemma20_check`: the harmonic mean of the spectrum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import semiconcavity as sc
from ..landscapes import local_minima
from ..fd import hessian
from ..grid import uniform_axes
from ..heat import heat
from ..landscapes import Landscape, grid_points, random_fourier
from ..local_entropy import local_entropy
from ..params import Params, knob
from ..prox import hopf_lax_exact


@dataclass(frozen=True)
class Section6Params(Params):
    """Parameters of the Sec. 6 chapter (Examples 13-16, Lemmas 18-20)."""

    beta: float = knob(2.0, lo=0.1, hi=1e3, doc="inverse temperature of viscous-HJ")
    x_max: float = knob(6.0, lo=3.0, hi=20.0, doc="half-width of the computational box")
    interior: float = knob(3.0, lo=0.5, hi=10.0, doc="half-width where things are measured")
    ex13_cs: tuple[float, ...] = knob((0.5, 4.0, 20.0), doc="curvatures c of Example 13")
    ex13_grids: tuple[int, ...] = knob((1201, 401, 97), doc="grid sizes for n = 1, 2, 3")
    ex13_times: tuple[float, ...] = knob((0.01, 0.1, 1.0), doc="times of Example 13")
    ex14_c0: float = knob(10.0, lo=0.1, hi=1e4, doc="amplitude c0 of f = c0 sin(x) (Example 14)")
    seed_1d: int = knob(11, lo=0, hi=2**31 - 1, doc="seed of the 1-D landscape (Examples 15-16)")
    n_grid: int = knob(2401, lo=501, hi=50001, doc="1-D grid (Examples 14-16, Lemma 18)")
    n_grid_l18: int = knob(1201, lo=201, hi=50001, doc="1-D grid of Lemma 18's checks")
    seeds: tuple[int, ...] = knob((0, 1, 2, 3, 4, 5), doc="seeds of the random landscapes (Lemmas 18, 20)")
    times: tuple[float, ...] = knob((0.01, 0.1, 1.0), doc="times of Lemmas 18, 20")
    n_grid_2d: int = knob(241, lo=65, hi=2049, doc="2-D grid (Lemmas 18, 20)")
    seeds_hj_2d: tuple[int, ...] = knob((0,), doc="seeds for which 2-D HJ is solved (Lemma 18)")
    n_matrices: int = knob(500, lo=10, hi=10**6, doc="random SPD matrices per size (Lemma 19)")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="unused: numpy on the CPU")

    PRESETS = {"fast": {}, "paper": {"n_grid": 6001, "n_grid_2d": 481, "n_grid_l18": 4001, "n_matrices": 20000,
                                     "seeds": tuple(range(16)), "seeds_hj_2d": (0, 1, 2, 3),
                                     "times": (0.01, 0.03, 0.1, 0.3, 1.0)}}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.interior >= self.x_max:
            raise ValueError(f"interior ({self.interior}) must be smaller than x_max "
                             f"({self.x_max})")
        if len(self.ex13_grids) != 3:
            raise ValueError("ex13_grids needs one grid size for each of n = 1, 2, 3")


def landscape_1d(seed: int = 11) -> Landscape:
    """The 1-D loss of Examples 15-16: a random Fourier landscape with several minima on [-3, 3]."""
    return random_fourier(1, n_modes=5, seed=seed, amplitude=0.5, max_freq=3.0, curvature=0.3)


def lemma18_landscape(dim: int, seed: int) -> Landscape:
    """Random smooth landscape of Lemma 18's checks (``landscapes.random_fourier`` defaults)."""
    return random_fourier(dim, seed=seed)


def example13_errors(cs, grids, times, beta: float, x_max: float,
                     interior: float, min_resolution: float = 1.0) -> list[dict]:
    """Relative sup errors of Cole-Hopf and Hopf-Lax against Example 13 (n = 1, 2, 3) and Delta u checks.

    The Cole-Hopf integrand exp(-beta c|y|^2/2) G_{t/beta}(x - y) is a Gaussian of standard
    deviation sigma = (beta/t + beta c)^(-1/2); the grid sum is spectrally accurate, with
    relative error about exp(-2 pi^2 sigma^2/dx^2). Cases with sigma/dx < ``min_resolution``
    are not resolved by the grid and are skipped (``resolution`` is reported per row).
    """
    rows = []
    for n, N in enumerate(grids, start=1):
        axes = uniform_axes(N, x_max, n)
        X = grid_points(axes)
        r = np.sqrt(np.sum(X**2, axis=-1))
        m = r <= interior
        dx = axes[0][1] - axes[0][0]
        for c in cs:
            f = 0.5 * c * r**2
            for t in times:
                resolution = float((beta / t + beta * c) ** -0.5 / dx)
                if resolution < min_resolution:
                    continue
                exact = sc.example13(X, t, c, beta)
                scale = np.abs(exact[m]).max()
                u = local_entropy(f, axes, t, beta)
                lap = sc.sup_second_derivatives(u, axes, m)["laplacian"]
                row = {"n": n, "c": c, "t": t, "resolution": resolution,
                       "err_cole_hopf": float(np.abs(u - exact)[m].max() / scale),
                       "err_printed": float(np.abs(sc.example13_as_printed(X, t, c, beta)
                                                   - u)[m].max() / scale),
                       "laplacian": lap, "laplacian_exact": n / (t + 1 / c),
                       "laplacian_printed": n / (t + 1)}
                if n == 1:
                    u_hl, _ = hopf_lax_exact_quadratic(c, axes, t)
                    ex0 = sc.example13(X, t, c)
                    row["err_hopf_lax"] = float(np.abs(u_hl - ex0)[m].max()
                                                / np.abs(ex0[m]).max())
                rows.append(row)
    return rows


def hopf_lax_exact_quadratic(c: float, axes, t: float):
    """Hopf-Lax (HL) of c|x|^2/2 on the grid (exact grid minimiser refined by Newton)."""
    from ..landscapes import Quadratic
    d = len(axes)
    return hopf_lax_exact(Quadratic(Q=tuple(map(tuple, c * np.eye(d)))), axes, t)


def example14_rates(c0: float, beta: float, times, n: int) -> dict[str, np.ndarray]:
    """Semiconcavity constants sup u_xx(., t) from f = c0 sin(x): heat equation, viscous HJ, HJ.

    The heat equation v_t = (beta^-1/2) v_xx keeps the eigenmode: v = c0 exp(-t/(2 beta)) sin x,
    so lambda_1 = 1/(2 beta). All three are computed on [-5 pi, 5 pi] and measured on
    [-pi, pi] (one period, away from the box's edges).
    """
    x = np.linspace(-5 * np.pi, 5 * np.pi, n)
    f = c0 * np.sin(x)
    m = np.abs(x) <= np.pi
    out = {k: [] for k in ("heat", "viscous", "hj")}
    land = _SinLandscape(c0)
    for t in times:
        out["heat"].append(sc.sup_second_derivatives(heat(f, x, t, beta), x, m)["diag"][0])
        out["viscous"].append(sc.sup_second_derivatives(local_entropy(f, x, t, beta), x,
                                                        m)["diag"][0])
        out["hj"].append(sc.sup_second_derivatives(hopf_lax_exact(land, x, t)[0], x,
                                                   m)["diag"][0])
    res = {k: np.array(v) for k, v in out.items()}
    lam = 1.0 / (2 * beta)
    res.update(t=np.asarray(times, float), lambda1=lam,
               heat_exact=sc.heat_constant(c0, lam, times),
               hj_bound=sc.hessian_bound(c0, times))
    return res


@dataclass(frozen=True)
class _SinLandscape(Landscape):
    """f(x) = c0 sin(x) in 1-D (Example 14)."""

    c0: float = 1.0
    dim = 1

    def value(self, x):
        return self.c0 * np.sin(self._check(x)[..., 0])

    def grad(self, x):
        return self.c0 * np.cos(self._check(x))

    def hess(self, x):
        return (-self.c0 * np.sin(self._check(x)))[..., None]


def example16_widths(land: Landscape, times, beta: float, n: int, x_max: float,
                     interior: float) -> dict:
    """Convex interval I(x_m, t) around each local minimum x_m of f in |x| <= interior (HJ and viscous HJ).

    For HJ (t < t*) the characteristics predict I(x_m, t) = [x_0 + t f'(x_0), x_1 + t f'(x_1)]
    with x_0, x_1 the inflection points of f around x_m (Example 16).
    """
    x = np.linspace(-x_max, x_max, n)
    f = land.on_grid(x)
    mins = local_minima(f)
    mins = x[mins[np.abs(x[mins]) <= interior]]
    infl = [sc.inflection_points(land, xm, x) for xm in mins]
    fp = lambda z: float(land.grad(np.array([[z]]))[0, 0])          # noqa: E731
    rows = []
    for t in times:
        u_hj = hopf_lax_exact(land, x, t)[0] if t > 0 else f
        u_v = local_entropy(f, x, t, beta) if t > 0 else f
        minima_v = x[local_minima(u_v)]
        for xm, (x0, x1) in zip(mins, infl):
            lo, hi = sc.convex_interval(u_hj, x, xm)
            xv = minima_v[np.argmin(np.abs(minima_v - xm))] if minima_v.size else np.nan
            lo_v, hi_v = sc.convex_interval(u_v, x, xv)
            rows.append({"t": t, "x_min": xm, "hj": (lo, hi),
                         "predicted": (x0 + t * fp(x0), x1 + t * fp(x1)),
                         "viscous": (lo_v, hi_v), "viscous_min": xv})
    return {"minima": mins, "inflections": infl, "rows": rows}


def _sup_fourth(land) -> np.ndarray:
    """Per-axis bound sum_j |a_j| w_jk^4 on |d^4 f / dx_k^4| for a Fourier landscape."""
    a = np.abs(np.asarray(land.amplitudes, float))
    w = np.atleast_2d(np.asarray(land.frequencies, float))
    return (a[:, None] * w**4).sum(axis=0)


def lemma18_ratios(dim: int, seeds, times, beta: float, n: int, x_max: float,
                   interior: float, hj_seeds=None) -> dict[str, np.ndarray]:
    """Lemma 18 on random landscapes: ratios sup u_kk(., t) / (1/(C_k^-1 + t)) and the Laplacian's, with tolerances.

    C_k and C_Lap are the sups of f's second derivatives over the computational box; the
    sups of u are over |x|_oo <= interior, by centred second differences, whose
    truncation error dx^2/12 sup|d^4 u| is bounded using f's fourth derivatives:
    ``tol`` is twice that bound relative to the Lemma-18 bound. HJ (beta^-1 = 0, by
    :func:`prox.hopf_lax_exact`) is computed for the seeds in ``hj_seeds`` (default: all);
    NaN elsewhere.
    """
    axes = uniform_axes(n, x_max, dim)
    X = grid_points(axes)
    dx = axes[0][1] - axes[0][0]
    m = np.all(np.abs(X) <= interior, axis=-1)
    rows = {k: [] for k in ("seed", "t", "viscous", "viscous_lap", "hj", "hj_lap", "tol",
                            "C", "C_lap")}
    for seed in seeds:
        land = lemma18_landscape(dim, seed)
        f = land.on_grid(axes)
        H = land.hess(X)
        C = np.diagonal(H, axis1=-2, axis2=-1).reshape(-1, dim).max(axis=0)
        C_lap = float(np.trace(H, axis1=-2, axis2=-1).max())
        tol_abs = 2 * dx**2 / 12 * _sup_fourth(land)
        for t in times:
            b = sc.hessian_bound(C, t)
            bl = sc.laplacian_bound(C_lap, t, dim)
            sv = sc.sup_second_derivatives(local_entropy(f, axes, t, beta), axes, m)
            rows["seed"].append(seed)
            rows["t"].append(t)
            rows["viscous"].append(float(np.max(sv["diag"] / b)))
            rows["viscous_lap"].append(sv["laplacian"] / bl)
            if hj_seeds is None or seed in hj_seeds:
                sh = sc.sup_second_derivatives(hopf_lax_exact(land, axes, t)[0], axes, m)
                rows["hj"].append(float(np.max(sh["diag"] / b)))
                rows["hj_lap"].append(sh["laplacian"] / bl)
            else:
                rows["hj"].append(np.nan)
                rows["hj_lap"].append(np.nan)
            rows["tol"].append(float(np.max(tol_abs / b)))
            rows["C"].append(C)
            rows["C_lap"].append(C_lap)
    return {k: np.array(v) for k, v in rows.items()}


def lemma19_ratios(sizes, n_matrices: int, seed: int = 0,
                   decades: float = 6.0) -> dict[str, np.ndarray]:
    """Lemma 19 on random SPD matrices: HM(diag)/HM(eig) per matrix size (>= 1), and the bounds min <= HM <= n min."""
    rng = np.random.default_rng(seed)
    out = {"size": [], "min_ratio": [], "median_ratio": [], "bounds_ok": []}
    for n in sizes:
        A = sc.random_spd(n, rng, decades, n_matrices)
        r = sc.hm_ratio(A)
        lam = np.linalg.eigvalsh(A)
        hm = sc.harmonic_mean(lam)
        ok = np.all((lam.min(-1) <= hm * (1 + 1e-12)) & (hm <= n * lam.min(-1) * (1 + 1e-12)))
        out["size"].append(n)
        out["min_ratio"].append(float(r.min()))
        out["median_ratio"].append(float(np.median(r)))
        out["bounds_ok"].append(bool(ok))
    return {k: np.array(v) for k, v in out.items()}


def lemma20_check(seeds, times, beta: float, n: int, x_max: float,
                  interior: float) -> dict[str, np.ndarray]:
    """Lemma 20 at every interior grid local minimum of u(., t) (viscous HJ, 2-D random landscapes).

    Returns per minimum: HM of the spectrum of the centred-difference Hessian, HM of its
    diagonal (Lemma 19) and the bound 1/(t + HM(C)^-1) with C_k = sup f_{x_k x_k}.
    """
    axes = uniform_axes(n, x_max, 2)
    X = grid_points(axes)
    m = np.all(np.abs(X) <= interior, axis=-1)
    rows = {k: [] for k in ("seed", "t", "hm_eig", "hm_diag", "bound", "min_eig")}
    for seed in seeds:
        land = lemma18_landscape(2, seed)
        f = land.on_grid(axes)
        H = land.hess(X)
        C = np.diagonal(H, axis1=-2, axis2=-1).reshape(-1, 2).max(axis=0)
        for t in times:
            u = local_entropy(f, axes, t, beta)
            for idx in sc.grid_local_minima(u, m):
                Hu = hessian(u[idx[0] - 1:idx[0] + 2, idx[1] - 1:idx[1] + 2],
                             (axes[0][idx[0] - 1:idx[0] + 2], axes[1][idx[1] - 1:idx[1] + 2]))[1, 1]
                lam = np.linalg.eigvalsh(Hu)
                if lam.min() <= 0:              # degenerate minimum: HM undefined
                    continue
                rows["seed"].append(seed)
                rows["t"].append(t)
                rows["hm_eig"].append(float(sc.harmonic_mean(lam)))
                rows["hm_diag"].append(float(sc.harmonic_mean(np.diag(Hu))))
                rows["bound"].append(float(sc.lemma20_bound(C, t)))
                rows["min_eig"].append(float(lam.min()))
    return {k: np.array(v) for k, v in rows.items()}
