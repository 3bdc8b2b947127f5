"""The Gibbs measures rho_1^infty, rho_2^infty of eq. (13): gradient of the local entropy (12), Lemma 4.

For t > 0 and a grid point x,

    rho_1(y; x) ∝ exp(-beta f(y) - beta |x - y|^2 / (2t)),
    rho_2(y; x) ∝ exp(-beta f(x - y) - beta |y|^2 / (2t)),

so rho_2(.; x) is the law of x - Y when Y ~ rho_1(.; x). Differentiating the Cole-Hopf
formula (11) gives the two forms of eq. (12),

    grad u(x, t) = E_{rho_1}[(x - Y) / t] = E_{rho_2}[grad f(x - Y')].

Eq. (12) is printed with (y - x)/t; differentiating (11) gives (x - y)/t (the sign also
agrees with Theorem 5's -grad f_gamma = -(x - <y>)/gamma). On a uniform grid both
expectations are ratios of Gaussian convolutions with variance t/beta, evaluated in the
log domain like :func:`deeprelax.pde.local_entropy.local_entropy` (spectrally accurate for
smooth f, truncated to the grid's box). The substitution y -> x - y maps grid points to
grid points, so E_{rho_2}[grad f(x - Y')] is computed as E_{rho_1}[grad f(Y)].

Lemma 4 (quadratic f with gradient p and Hessian Q at x, gamma = 1/t): rho_1(.; x) is
the normal law N(x - Sigma p, beta^-1 Sigma) with Sigma = (Q + gamma I)^-1, and rho_2 is
N(Sigma p, beta^-1 Sigma). The paper states the lemma with beta = 1 and attributes the
mean x - Sigma p to rho_2; it is the mean of rho_1 (the y of Entropy-SGD), and rho_2 is
its mirror image x - y. The Neumann series Sigma ≈ gamma^-1 I - gamma^-2 Q is accurate
to O(gamma^-3) for gamma > |Q|_2.

Sampling convention: the Langevin dynamics dY = -grad_y H(Y) ds + sqrt(2/beta) dW have
invariant density ∝ exp(-beta H), so with H(y) = f(y) + |x - y|^2/(2t) they sample
rho_1 exactly as written in (13). (With the paper's noise beta^{-1/2} dW the exponent
would be 2 beta H; see the ``sde`` module.)
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from deeprelax.pde.heat import _check_shape, log_gaussian_smoothing
from deeprelax.pde.landscapes import as_axes, grid_points
from deeprelax.pde.sde import euler_maruyama


def _check_t_beta(t: float, beta: float) -> None:
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if not t > 0:
        raise ValueError(f"t must be > 0 for the Gibbs measures (13), got {t}")


def expectation_rho1(f_values: np.ndarray, axes, t: float, beta: float,
                     g_values: np.ndarray) -> np.ndarray:
    """E_{rho_1(.; x)}[g(Y)] of eq. (13) for every grid point x (g sampled on the grid)."""
    _check_t_beta(t, beta)
    f_values, axes = _check_shape(f_values, axes)
    g_values, _ = _check_shape(g_values, axes)
    var = t / beta
    log_w = -beta * f_values
    log_z = log_gaussian_smoothing(log_w, axes, var)
    out = np.zeros_like(f_values)
    with np.errstate(divide="ignore"):
        for sign in (1.0, -1.0):                      # g = g+ - g-, each in the log domain
            part = np.maximum(sign * g_values, 0.0)
            if np.any(part > 0):
                out += sign * np.exp(log_gaussian_smoothing(log_w + np.log(part), axes, var)
                                     - log_z)
    return out


def mean_rho1(f_values: np.ndarray, axes, t: float, beta: float) -> np.ndarray:
    """<y> = E_{rho_1(.; x)}[Y] of eq. (13) on the grid, shape ``values.shape + (d,)``."""
    _check_t_beta(t, beta)
    f_values, axes = _check_shape(f_values, axes)
    var = t / beta
    log_w = -beta * f_values
    log_z = log_gaussian_smoothing(log_w, axes, var)
    means = []
    with np.errstate(divide="ignore"):
        for ax, y in enumerate(axes):
            shape = [1] * len(axes)
            shape[ax] = y.size
            shifted = (y - y[0]).reshape(shape)           # >= 0, so its log is defined
            log_g = np.broadcast_to(np.log(shifted), f_values.shape)
            m = np.exp(log_gaussian_smoothing(log_w + log_g, axes, var) - log_z)
            means.append(y[0] + m)
    return np.stack(means, axis=-1)


def grad_u_rho1(f_values: np.ndarray, axes, t: float, beta: float) -> np.ndarray:
    """grad u(x, t) = E_{rho_1}[(x - Y)/t]: first form of eq. (12), sign corrected (see module doc)."""
    axes = as_axes(axes)
    return (grid_points(axes) - mean_rho1(f_values, axes, t, beta)) / t


def grad_u_rho2(f_values: np.ndarray, grad_values: np.ndarray, axes, t: float,
                beta: float) -> np.ndarray:
    """grad u(x, t) = E_{rho_2}[grad f(x - Y')]: second form of eq. (12); grad f sampled on the grid."""
    axes = as_axes(axes)
    grad_values = np.asarray(grad_values, dtype=float)
    if grad_values.shape != tuple(a.size for a in axes) + (len(axes),):
        raise ValueError(f"grad_values must have shape grid + ({len(axes)},), "
                         f"got {grad_values.shape}")
    return np.stack([expectation_rho1(f_values, axes, t, beta, grad_values[..., k])
                     for k in range(len(axes))], axis=-1)


# ----------------------------------------------------------------------------- Lemma 4
def _check_quadratic(Q, p, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Q = np.atleast_2d(np.asarray(Q, dtype=float))
    n = Q.shape[0]
    if Q.shape != (n, n) or not np.allclose(Q, Q.T):
        raise ValueError(f"Q must be a symmetric square matrix, got shape {Q.shape}")
    p = np.broadcast_to(np.asarray(p, dtype=float), (n,)).copy()
    x = np.broadcast_to(np.asarray(x, dtype=float), (n,)).copy()
    return Q, p, x


def quadratic_gibbs(Q, p, x, gamma: float, beta: float = 1.0) -> dict[str, np.ndarray]:
    """Lemma 4: means and covariance of rho_1, rho_2 (13) for quadratic f (grad p, Hessian Q at x), t = 1/gamma.

    Returns ``Sigma = (Q + gamma I)^-1``, ``mean_rho1 = x - Sigma p``, ``mean_rho2 = Sigma p``
    and ``cov = Sigma / beta`` (both laws share it). Needs Q + gamma I positive definite.
    """
    Q, p, x = _check_quadratic(Q, p, x)
    if not gamma > 0 or not beta > 0:
        raise ValueError(f"need gamma > 0 and beta > 0, got gamma={gamma}, beta={beta}")
    A = Q + gamma * np.eye(Q.shape[0])
    if np.linalg.eigvalsh(A).min() <= 0:
        raise ValueError(f"Q + gamma I is not positive definite (gamma={gamma} <= "
                         f"-lambda_min(Q)); rho_1 is not normalisable: increase gamma")
    S = np.linalg.inv(A)
    return {"Sigma": S, "mean_rho1": x - S @ p, "mean_rho2": S @ p, "cov": S / beta}


def neumann_gibbs(Q, p, x, gamma: float) -> dict[str, np.ndarray]:
    """Lemma 4's Neumann approximation Sigma ≈ gamma^-1 I - gamma^-2 Q, mean x - Sigma p (gamma > |Q|_2)."""
    Q, p, x = _check_quadratic(Q, p, x)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    S = np.eye(Q.shape[0]) / gamma - Q / gamma**2
    return {"Sigma": S, "mean_rho1": x - S @ p, "mean_rho2": S @ p}


def langevin_rho1(grad_f: Callable[[np.ndarray], np.ndarray], x, t: float, beta: float,
                  y0: np.ndarray, dt: float, n_steps: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Euler-Maruyama for dY = -(grad f(Y) + (Y - x)/t) ds + sqrt(2/beta) dW, whose invariant law is rho_1 (13)."""
    _check_t_beta(t, beta)
    x = np.asarray(x, dtype=float)
    drift = lambda y, s: -(grad_f(y) + (y - x) / t)          # noqa: E731
    return euler_maruyama(drift, y0, dt, n_steps, np.sqrt(2.0 / beta), rng)


def em_stationary_covariance(Q, gamma: float, beta: float, dt: float) -> np.ndarray:
    """Exact stationary covariance of Euler-Maruyama for the quadratic case of :func:`langevin_rho1`.

    The chain is Y' = Y - dt A (Y - m) + sqrt(2 dt / beta) xi with A = Q + gamma I; its
    stationary covariance C solves C = (I - dt A) C (I - dt A)^T + (2 dt / beta) I, i.e.
    C = V diag(1 / (beta a (1 - dt a / 2))) V^T: the continuous Sigma/beta inflated by
    1/(1 - dt a/2) along each eigenvector (stable for dt a < 2). Its mean is exact.
    """
    Q = np.atleast_2d(np.asarray(Q, dtype=float))
    a, V = np.linalg.eigh(Q + gamma * np.eye(Q.shape[0]))
    if a.min() <= 0 or dt * a.max() >= 2:
        raise ValueError(f"need 0 < dt * eig(Q + gamma I) < 2 for a stationary law, "
                         f"got eigenvalues in [{a.min():.3g}, {a.max():.3g}] and dt={dt}")
    return (V / (beta * a * (1 - dt * a / 2))) @ V.T
