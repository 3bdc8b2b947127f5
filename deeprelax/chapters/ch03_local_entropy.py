"""Sec. 3 checked by numbers: Lemmas 1-4 as convergence studies and closed-form comparisons.

Each study returns plain arrays (and fitted orders) that the chapter plots and asserts:

- :func:`lemma1_scheme_convergence`: Cole-Hopf (11) against the monotone viscous-HJ
  scheme on a sequence of grids (1-D or 2-D); first order expected.
- :func:`lemma1_gradient_forms`: both forms of (12) against the centred difference of u;
  second order expected, and the two forms agree to round-off plus box truncation.
- :func:`lemma2_scheme_convergence`: Hopf-Lax (HL) against the Godunov scheme for (HJ).
- :func:`lemma2_beta_limit`: the viscous solution tends to the Hopf-Lax one as beta -> oo,
  with the Laplace correction (1/2 beta) log det(I + t D^2 f(y*)) (away from shocks).
- :func:`lemma3_rates`: the dynamics (16) from many starts and points x, their
  contraction bound and measured rates; :func:`lemma3_failure` past the threshold.
- :func:`lemma4_sampling`, :func:`lemma4_neumann`: Lemma 4's Gaussian law by
  Euler-Maruyama and its Neumann approximation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fd, gibbs, prox
from ..landscapes import Landscape, Quadratic, grid_points, random_fourier, two_d
from ..grid import uniform_axes
from ..local_entropy import local_entropy
from ..stats import fit_order
from ..params import Params, knob


@dataclass(frozen=True)
class Section3Params(Params):
    """Parameters of the Sec. 3 chapter (Lemmas 1-4)."""

    beta: float = knob(2.0, lo=0.1, hi=1e3, doc="inverse temperature of viscous-HJ (Lemma 1)")
    t: float = knob(0.2, lo=0.01, hi=2.0, doc="time t = gamma for Lemmas 1-2 (below the shock time)")
    t_shock: float = knob(0.6, lo=0.01, hi=5.0, doc="a time past the first shock (Lemma 2)")
    seed: int = knob(1, lo=0, hi=2**31 - 1, doc="seed of the random 1-D landscape")
    x_max: float = knob(5.0, lo=3.0, hi=20.0, doc="half-width of the computational box")
    interior: float = knob(3.0, lo=0.5, hi=10.0, doc="half-width where errors are measured")
    grids_1d: tuple[int, ...] = knob((101, 201, 401, 801), doc="1-D grid sizes")
    grids_2d: tuple[int, ...] = knob((41, 81, 161), doc="2-D grid sizes")
    n_grid: int = knob(2001, lo=101, hi=20001, doc="1-D grid for Lemmas 2-3")
    betas: tuple[float, ...] = knob((10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0),
                                    doc="beta values of the beta -> oo limit")
    lemma3_times: tuple[float, ...] = knob((0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
                                           doc="times t below the threshold (Lemma 3)")
    n_particles: int = knob(50_000, lo=100, hi=10**7, doc="Euler-Maruyama samples (Lemma 4)")
    dts: tuple[float, ...] = knob((0.1, 0.05, 0.025, 0.0125), doc="EM steps (Lemma 4)")
    gamma: float = knob(2.0, lo=0.01, hi=1e3, doc="coupling gamma = 1/t of Lemma 4")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="unused: numpy on the CPU")

    PRESETS = {"fast": {},
               "paper": {"grids_1d": (101, 201, 401, 801, 1601, 3201),
                         "grids_2d": (41, 81, 161, 321), "n_grid": 4001,
                         "n_particles": 400_000}}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.interior >= self.x_max:
            raise ValueError(f"interior ({self.interior}) must be smaller than x_max "
                             f"({self.x_max}): errors are measured away from the box edges")
        for name in ("grids_1d", "grids_2d", "betas", "lemma3_times", "dts"):
            if len(getattr(self, name)) < 2:
                raise ValueError(f"{name} needs at least two values to fit an order")


def landscape_1d(seed: int = 1) -> Landscape:
    """The 1-D test loss of Sec. 3: a random Fourier landscape on a unit quadratic envelope."""
    return random_fourier(1, n_modes=6, seed=seed, amplitude=0.4, max_freq=3.0, curvature=1.0)


def landscape_2d() -> Landscape:
    """The 2-D test loss of Sec. 3 (``landscapes.two_d('fourier')``)."""
    return two_d("fourier")


def _inside(axes, r: float) -> np.ndarray:
    return np.all(np.abs(grid_points(axes)) <= r + 1e-12, axis=-1)


def lemma1_scheme_convergence(land: Landscape, grids, t: float, beta: float,
                              x_max: float, interior: float) -> dict[str, np.ndarray]:
    """sup |u_FD - u_Cole-Hopf| on |x|_oo <= interior for each grid (Lemma 1; first order expected)."""
    dx, err, ch_self = [], [], []
    for n in grids:
        axes = uniform_axes(n, x_max, land.dim)
        f = land.on_grid(axes)
        u_ch = local_entropy(f, axes, t, beta)
        u_fd = fd.viscous_hj(f, axes, t, beta)
        m = _inside(axes, interior)
        dx.append(axes[0][1] - axes[0][0])
        err.append(np.abs(u_fd - u_ch)[m].max())
        if n == grids[-1] and land.dim == 1:      # Cole-Hopf itself: compare with a finer grid
            fine = uniform_axes(4 * (n - 1) + 1, x_max, 1)
            u_fine = local_entropy(land.on_grid(fine), fine, t, beta)[::4]
            ch_self.append(np.abs(u_fine - u_ch)[m].max())
    out = {"dx": np.array(dx), "err": np.array(err), "order": fit_order(dx, err)}
    if ch_self:
        out["cole_hopf_refinement"] = float(ch_self[0])
    return out


def lemma1_gradient_forms(land: Landscape, grids, t: float, beta: float, x_max: float,
                          interior: float) -> dict[str, np.ndarray]:
    """Both forms of (12) against the centred difference of the Cole-Hopf u (second order expected)."""
    dx, err1, err2, agree = [], [], [], []
    for n in grids:
        axes = uniform_axes(n, x_max, land.dim)
        f = land.on_grid(axes)
        u = local_entropy(f, axes, t, beta)
        g_fd = fd.gradient(u, axes)
        g1 = gibbs.grad_u_rho1(f, axes, t, beta)
        g2 = gibbs.grad_u_rho2(f, land.grad(grid_points(axes)), axes, t, beta)
        m = _inside(axes, interior)
        dx.append(axes[0][1] - axes[0][0])
        err1.append(np.abs(g1 - g_fd)[m].max())
        err2.append(np.abs(g2 - g_fd)[m].max())
        agree.append(np.abs(g1 - g2)[m].max())
    return {"dx": np.array(dx), "err_rho1": np.array(err1), "err_rho2": np.array(err2),
            "forms_agree": np.array(agree), "order_rho1": fit_order(dx, err1),
            "order_rho2": fit_order(dx, err2)}


def lemma2_scheme_convergence(land: Landscape, grids, t: float, x_max: float,
                              interior: float) -> dict[str, np.ndarray]:
    """sup |u_Godunov - u_HL| on the interior for each grid (Lemma 2); u_HL by :func:`prox.hopf_lax_exact`."""
    dx, err = [], []
    for n in grids:
        axes = uniform_axes(n, x_max, land.dim)
        u_hl, _ = prox.hopf_lax_exact(land, axes, t)
        u_fd = fd.hj(land.on_grid(axes), axes, t)
        m = _inside(axes, interior)
        dx.append(axes[0][1] - axes[0][0])
        err.append(np.abs(u_fd - u_hl)[m].max())
    return {"dx": np.array(dx), "err": np.array(err), "order": fit_order(dx, err)}


def lemma2_prox_gradient(land: Landscape, n: int, t: float, x_max: float,
                         interior: float) -> dict[str, np.ndarray]:
    """Eq. (15) on a 1-D grid: (x - y*)/t, grad f(y*) and the one-sided differences of u_HL.

    Where the prox is a singleton and u is smooth, the centred difference of u matches
    (x - y*)/t to O(dx^2); at a shock (a jump of y*) the one-sided differences of u
    match (x - y*_left)/t and (x - y*_right)/t to O(dx).
    """
    (x,) = axes = uniform_axes(n, x_max, 1)
    u, ys = prox.hopf_lax_exact(land, axes, t)
    y = ys[:, 0]
    p_prox = (x - y) / t
    p_grad = land.grad(ys)[:, 0]
    dx = x[1] - x[0]
    jumps = np.flatnonzero(np.abs(np.diff(y)) > 0.1)              # shocks between i, i+1
    smooth = np.ones(n, bool)
    for j in jumps:                                              # stay 10 cells away
        smooth[max(j - 10, 0):j + 12] = False
    m = (np.abs(x) <= interior) & smooth
    g = fd.gradient(u, axes)[:, 0]
    out = {"x": x, "u": u, "ystar": y, "p_prox": p_prox, "p_grad": p_grad,
           "shocks": x[jumps] + dx / 2,
           "err_prox_grad": float(np.abs(p_prox - p_grad).max()),
           "err_fd_smooth": float(np.abs(g - p_prox)[m].max())}
    if len(jumps):
        j = jumps[np.argmin(np.abs(x[jumps]))]                   # the shock nearest 0
        # one-sided slopes of u on each side of the kink (two cells away from it)
        left = (u[j - 1] - u[j - 2]) / dx
        right = (u[j + 3] - u[j + 2]) / dx
        out.update(shock_x=float(x[j] + dx / 2), jump=float(y[j + 1] - y[j]),
                   err_left=float(abs(left - 0.5 * (p_prox[j - 1] + p_prox[j - 2]))),
                   err_right=float(abs(right - 0.5 * (p_prox[j + 3] + p_prox[j + 2]))),
                   slope_jump=float(left - right))
    return out


def lemma2_beta_limit(land: Landscape, n: int, t: float, betas, x_max: float,
                      interior: float) -> dict[str, np.ndarray]:
    """sup |u_beta - u_HL| and its Laplace-corrected version as beta -> oo (orders -1 and -2 expected)."""
    (x,) = axes = uniform_axes(n, x_max, 1)
    u_hl, ys = prox.hopf_lax_exact(land, axes, t)
    H = land.hess(ys)
    laplace = 0.5 * np.log(np.linalg.det(np.eye(land.dim) + t * H))
    f = land.on_grid(axes)
    m = np.abs(x) <= interior
    err, err_c = [], []
    for b in betas:
        if np.sqrt(t / b) < 1.5 * (x[1] - x[0]):
            raise ValueError(f"beta={b} is not resolved: the kernel width sqrt(t/beta) must "
                             f"exceed 1.5 dx; refine the grid (n) or lower beta")
        e = local_entropy(f, axes, t, b) - u_hl
        err.append(np.abs(e)[m].max())
        err_c.append(np.abs(e - laplace / b)[m].max())
    betas = np.asarray(betas, float)
    return {"beta": betas, "err": np.array(err), "err_laplace": np.array(err_c),
            "order": fit_order(betas, err), "order_laplace": fit_order(betas, err_c)}


def lemma3_rates(land: Landscape, xs, y0s, times, kappa: float, n_steps_per_unit: float = 4.0,
                 horizon: float = 25.0) -> dict[str, np.ndarray]:
    """Run (16) for each t from every start y0 at every x; check |y(s)-p| <= |y(0)-p| e^{-lambda s}.

    Returns per t: lambda(t) (Lemma 3's bound with D^2 f >= -kappa), the smallest local
    rate t(1 + t f''(y*)) over x, the measured rates' largest relative deviation from
    the local ones, the worst ratio |y(s) - p| / (|y(0) - p| e^{-lambda s}) over s > 0
    (while |y(s) - p| > 1e-9, above round-off; <= 1 is Lemma 3's bound) and the fraction
    of runs that reached p to 1e-8.
    """
    xs = np.asarray(xs, float)
    y0s = np.asarray(y0s, float)
    rows = {k: [] for k in ("t", "lambda", "min_local_rate", "min_measured_rate",
                            "rate_rel_dev", "worst_ratio", "converged")}
    curves = {}
    for t in times:
        lam = float(prox.convexity_modulus(t, kappa))
        if lam <= 0:
            raise ValueError(f"t={t} is past the threshold 1/kappa={1 / kappa:.4g}: use "
                             f"lemma3_failure for that regime")
        y_grid_guess = xs[:, None] - t * land.grad(xs[:, None])            # first guess of y*
        ystar = prox.prox_newton(land, xs[:, None], t, y_grid_guess)
        p = (xs[:, None] - ystar) / t                                       # (nx, 1)
        hmax = float(land.hess(ystar)[..., 0, 0].max()) + kappa
        stiff = t * (1 + t * max(hmax, 0.0)) + t
        s_max = horizon / lam
        ds = min(1.0 / (n_steps_per_unit * stiff), s_max / 50)
        s, path = prox.dynamics16(land, xs[:, None, None], y0s[None, :, None], t, s_max, ds,
                                  record_every=max(1, int(s_max / ds / 400)))
        err = np.abs(path[..., 0] - p[None, :, :])                          # (S, nx, ny0)
        bound = err[0][None] * np.exp(-lam * s)[:, None, None]
        resolved = (err > 1e-9) & (s[:, None, None] > 0)     # above round-off, after s = 0
        worst = float(np.max(np.where(resolved, err / np.maximum(bound, 1e-300), 0.0)))
        local = t * (1 + t * land.hess(ystar)[:, 0, 0])                     # (nx,)
        measured, dev = [], 0.0
        for i in range(xs.size):
            for j in range(y0s.size):
                e = err[:, i, j]
                w = (e < 1e-6) & (e > 1e-9)
                if w.sum() >= 3:
                    r = -np.polyfit(s[w], np.log(e[w]), 1)[0]
                    measured.append(r)
                    dev = max(dev, abs(r / local[i] - 1))
        rows["t"].append(t)
        rows["lambda"].append(lam)
        rows["min_local_rate"].append(float(local.min()))
        rows["min_measured_rate"].append(float(min(measured)))
        rows["rate_rel_dev"].append(dev)
        rows["worst_ratio"].append(worst)
        rows["converged"].append(float(np.mean(err[-1] < 1e-8)))
        i_slow = int(np.argmin(local))
        curves[t] = (s, err[:, i_slow, :], float(lam), float(local[i_slow]))
    out = {k: np.array(v) for k, v in rows.items()}
    out["curves"] = curves
    return out


def lemma3_failure(land: Landscape, t: float, y0s, x_max: float = 5.0,
                   n: int = 2001) -> dict[str, np.ndarray]:
    """Past the threshold: at the point x where characteristics cross, (16) has several stable fixed points.

    x is chosen as y0 + t f'(y0) with y0 the minimiser of f''; the runs start from
    ``y0s`` and run to convergence. Returns their limits, the true p = grad_x u(x, t)
    (global prox) and the fraction of runs that missed it.
    """
    axes = uniform_axes(n, x_max, 1)
    y_c = axes[0][np.argmin(land.hess(axes[0][:, None])[:, 0, 0])]
    x = float(y_c + t * land.grad(np.array([[y_c]]))[0, 0])
    u, ys = prox.hopf_lax_exact(land, axes, t)
    i = int(np.argmin(np.abs(axes[0] - x)))
    x = float(axes[0][i])
    p = float((x - ys[i, 0]) / t)
    y0s = np.asarray(y0s, float)
    s, path = prox.dynamics16(land, np.array([[x]]), y0s[:, None], t, 400.0 / t, 0.05 / t,
                              record_every=100)
    limits = path[-1, :, 0]
    return {"x": x, "p": p, "y0": y0s, "limits": limits, "s": s, "paths": path[..., 0],
            "missed": float(np.mean(np.abs(limits - p) > 1e-6)),
            "n_limits": int(np.unique(np.round(limits, 6)).size)}


def lemma4_problem() -> tuple[Quadratic, np.ndarray]:
    """The quadratic of Lemma 4's checks (Hessian with eigenvalues of both signs) and the point x."""
    Q = np.array([[2.0, 1.2], [1.2, 0.1]])
    return Quadratic(Q=tuple(map(tuple, Q)), b=(0.3, -0.5)), np.array([0.8, -0.6])


def lemma4_sampling(quad: Quadratic, x, gamma: float, beta: float, dts, n_particles: int,
                    seed: int = 0, horizon: float = 8.0) -> dict[str, np.ndarray]:
    """Sampled mean/covariance of rho_1 by Euler-Maruyama for each dt, against Lemma 4 and EM's exact bias."""
    Q = np.asarray(quad.Q, float)
    x = np.asarray(x, float)
    p = quad.grad(x)
    exact = gibbs.quadratic_gibbs(Q, p, x, gamma, beta)
    rng = np.random.default_rng(seed)
    rows = {k: [] for k in ("dt", "mean_z", "cov_z", "cov_err", "cov_err_em", "bias_em")}
    samples = None
    for dt in dts:
        n_steps = int(np.ceil(horizon / dt))
        y0 = np.broadcast_to(exact["mean_rho1"], (n_particles, Q.shape[0]))
        y = gibbs.langevin_rho1(quad.grad, x, 1.0 / gamma, beta, y0, dt, n_steps, rng)
        C_em = gibbs.em_stationary_covariance(Q, gamma, beta, dt)
        m_hat, C_hat = y.mean(axis=0), np.cov(y.T)
        se_m = np.sqrt(np.diag(C_em) / n_particles)
        se_C = np.sqrt((np.outer(np.diag(C_em), np.diag(C_em)) + C_em**2) / n_particles)
        rows["dt"].append(dt)
        rows["mean_z"].append(float(np.max(np.abs(m_hat - exact["mean_rho1"]) / se_m)))
        rows["cov_z"].append(float(np.max(np.abs(C_hat - C_em) / se_C)))
        nrm = np.linalg.norm(exact["cov"], 2)
        rows["cov_err"].append(float(np.linalg.norm(C_hat - exact["cov"], 2) / nrm))
        rows["cov_err_em"].append(float(np.linalg.norm(C_em - exact["cov"], 2) / nrm))
        rows["bias_em"].append(float(np.linalg.norm(C_em - exact["cov"], 2)))
        if samples is None:
            samples = y[:4000].copy()
    out = {k: np.array(v) for k, v in rows.items()}
    out.update(exact=exact, samples_coarsest=samples, rel_se=float(np.sqrt(2 / n_particles)),
               order_sampled=fit_order(out["dt"], out["cov_err"]),
               order_em=fit_order(out["dt"], out["cov_err_em"]))
    return out


def lemma4_neumann(quad: Quadratic, x, gammas) -> dict[str, np.ndarray]:
    """Errors of the Neumann approximation of Lemma 4 against the exact Sigma and mean (order -3 expected)."""
    Q = np.asarray(quad.Q, float)
    x = np.asarray(x, float)
    p = quad.grad(x)
    eS, em = [], []
    for g in gammas:
        ex = gibbs.quadratic_gibbs(Q, p, x, g)
        ap = gibbs.neumann_gibbs(Q, p, x, g)
        eS.append(np.linalg.norm(ap["Sigma"] - ex["Sigma"], 2))
        em.append(np.linalg.norm(ap["mean_rho1"] - ex["mean_rho1"]))
    gammas = np.asarray(gammas, float)
    return {"gamma": gammas, "err_Sigma": np.array(eS), "err_mean": np.array(em),
            "order_Sigma": fit_order(gammas, eS), "order_mean": fit_order(gammas, em),
            "norm_Q": float(np.linalg.norm(Q, 2))}
