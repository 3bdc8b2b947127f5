"""Curvature of a trained torch model at its weights: the width of a minimum (Secs. 1, 6).

The loss is a plain function of the flat weight vector θ ∈ ℝⁿ: the mean cross-entropy of
the model over a fixed set of images, with batch-norm in eval mode (its running
statistics, re-estimated beforehand, are constants) and dropout off. On it:

- :meth:`Objective.hvp` — Hessian-vector products ∇²f(θ)v by forward-over-reverse
  differentiation (``torch.func.jvp`` of ``torch.func.grad``), summed over chunks of the
  images so that memory stays bounded; :meth:`Objective.dense_hessian` — the exact
  Hessian (``torch.func.hessian``) for small nets, the reference of the tests;
- :func:`lanczos` — the Lanczos tridiagonalisation with full re-orthogonalisation
  (Golub and Van Loan, Sec. 10.1), :func:`top_eigenpairs` — its Ritz pairs, the top
  eigenvalues and eigenvectors of ∇²f with their residual bounds;
- :func:`slq` — stochastic Lanczos quadrature (Lin, Saad and Yang 2016; Ghorbani et al.
  2019): Gauss-quadrature nodes and weights of the spectral measure of ∇²f from Rademacher
  probes, for the eigenvalue density (:func:`slq_density`) and spectral sums such as
  tr log(I + γ∇²f) (:func:`slq_sum`);
- :func:`local_entropy` — the local entropy f_γ of eq. (11),
  f_γ(θ) = −β⁻¹ log ∫ G(y − θ) exp(−β f(y)) dy (G of variance σ² = γ/β, the heat kernel
  G_{β⁻¹γ}), by importance sampling with the quadratic model at θ as proposal, and the
  curvature of f_γ along a unit vector v from the covariance form of its Hessian,
  ∇²f_γ = (I − Cov(y − θ)/σ²)/γ under the density ρ₁ of (13);
- :func:`slice_1d` — the loss along a direction normalised by the weights' scale
  (:func:`normalised_direction`).

Weights of trained nets live in ``results/weights/<net>-<algorithm>-seed<k>.pt``
(``deeprelax.paths.weights_path``): a ``state_dict`` (parameters and BN buffers) after a header with
its length and SHA-256, written by :func:`save_weights` and verified by
:func:`load_weights` before ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn




# ---------------------------------------------------------------------------------------
# Weights on disk
# ---------------------------------------------------------------------------------------
WEIGHTS_MAGIC = b"deeprelax-weights/1\n"


class WeightsError(ValueError):
    """A weights file is missing, truncated, changed, foreign or does not fit the model."""


def save_weights(path: str | os.PathLike, state_dict: dict[str, Tensor]) -> Path:
    """Write a ``state_dict`` (copied to the CPU) atomically with a verified header.

    The file is ``WEIGHTS_MAGIC``, one JSON line ``{"payload_bytes", "sha256"}``, then the
    ``torch.save`` payload; :func:`load_weights` checks length and SHA-256 before it
    unpickles anything. Written to a temporary file, then renamed."""
    if not isinstance(state_dict, dict) or not all(isinstance(v, Tensor)
                                                   for v in state_dict.values()):
        raise WeightsError("save_weights(path, state_dict): state_dict must map names to "
                           "tensors (model.state_dict())")
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in state_dict.items()}, buf)
    payload = buf.getvalue()
    header = {"payload_bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(WEIGHTS_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n")
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_weights(path: str | os.PathLike) -> dict[str, Tensor]:
    """The verified state_dict of a :func:`save_weights` file (one WeightsError line for
    a missing, empty, truncated, changed or foreign file; nothing unpickled before)."""
    path = Path(path)
    redo = ("write it again with deeprelax.train.hessian.save_weights "
            "(deeprelax.train.experiments.export_weights from the run's checkpoint)")
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise WeightsError(f"weights file {path} cannot be read ({err.strerror or err})"
                           ) from None
    if not blob.startswith(WEIGHTS_MAGIC):
        what = ("empty" if not blob else "truncated" if WEIGHTS_MAGIC.startswith(blob) else
                "a weights file without a checksum, which cannot be verified"
                if blob.startswith(b"PK") else "not a deeprelax weights file")
        raise WeightsError(f"weights file {path} is {what}; {redo}")
    end = blob.find(b"\n", len(WEIGHTS_MAGIC))
    try:
        header = json.loads(blob[len(WEIGHTS_MAGIC):end if end >= 0 else None])
        n, digest = int(header["payload_bytes"]), str(header["sha256"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise WeightsError(f"weights file {path} has a damaged header; {redo}") from None
    payload = blob[end + 1:]
    if len(payload) != n or hashlib.sha256(payload).hexdigest() != digest:
        how = (f"has {len(payload)} payload bytes, its header says {n}" if len(payload) != n
               else "fails its SHA-256 checksum (changed after it was written)")
        raise WeightsError(f"weights file {path} {how}; {redo}")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as err:                       # noqa: BLE001 (any unpickling error)
        raise WeightsError(f"weights file {path} passed its checksum but cannot be loaded "
                           f"({type(err).__name__}: {str(err)[:200]}); {redo}") from None
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {path} holds no state_dict; {redo}")
    return state


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a verified :func:`save_weights` file into ``model``; returns it."""
    state = read_weights(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"weights file {path} does not fit this model: "
                           f"{str(err).splitlines()[0]}") from None
    return model


# ---------------------------------------------------------------------------------------
# The loss as a function of the flat weights
# ---------------------------------------------------------------------------------------
class Objective:
    """f(θ) = mean cross-entropy of ``model`` over (x, y), BN in eval mode, dropout off.

    ``chunk`` images are processed at a time; every method sums the chunks exactly.
    """

    def __init__(self, model: nn.Module, x: Tensor, y: Tensor, chunk: int = 2000):
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise ValueError(f"Objective needs as many labels as images, got {x.shape[0]} "
                             f"images and {y.shape[0]} labels")
        self.model = model.eval()
        self.names = [k for k, p in model.named_parameters() if p.requires_grad]
        params = dict(model.named_parameters())
        self.shapes = [params[k].shape for k in self.names]
        self.sizes = [params[k].numel() for k in self.names]
        self.buffers = {k: b.detach() for k, b in model.named_buffers()}
        self.dtype = params[self.names[0]].dtype
        self.device = params[self.names[0]].device
        self.theta = torch.cat([params[k].detach().reshape(-1) for k in self.names])
        self.n = self.theta.numel()
        self.x = x.to(self.device, self.dtype)
        self.y = y.to(self.device, torch.int64)
        self.N = self.x.shape[0]
        self.chunks = [(i, min(i + chunk, self.N)) for i in range(0, self.N, chunk)]

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """The named parameter tensors of the flat vector ``theta``."""
        return {k: t.view(s) for k, t, s in zip(self.names, theta.split(self.sizes),
                                                 self.shapes)}

    def _chunk_loss(self, theta: Tensor, lo: int, hi: int) -> Tensor:
        """Sum over images lo..hi of the cross-entropy, divided by N (one chunk of f)."""
        from torch.func import functional_call
        logits = functional_call(self.model, (self.unflatten(theta), self.buffers),
                                 (self.x[lo:hi],))
        return F.cross_entropy(logits, self.y[lo:hi], reduction="sum") / self.N

    def _as(self, v) -> Tensor:
        return torch.as_tensor(v).to(self.device, self.dtype)

    @torch.no_grad()
    def loss(self, theta: Tensor | None = None) -> float:
        """f(θ), the mean training cross-entropy over the fixed images."""
        theta = self.theta if theta is None else self._as(theta)
        return float(sum(self._chunk_loss(theta, lo, hi) for lo, hi in self.chunks))

    @torch.no_grad()
    def losses(self, thetas, batch: int = 16) -> np.ndarray:
        """f at each row of ``thetas`` (M × n), ``batch`` rows at a time (vmapped)."""
        from torch.func import vmap
        thetas = self._as(np.atleast_2d(np.asarray(thetas)))
        one = lambda t: sum(self._chunk_loss(t, lo, hi) for lo, hi in self.chunks)  # noqa
        out = [vmap(one)(thetas[i:i + batch]) for i in range(0, thetas.shape[0], batch)]
        return torch.cat(out).double().cpu().numpy()

    def grad(self, theta: Tensor | None = None) -> Tensor:
        """∇f(θ) (reverse mode, chunk by chunk)."""
        from torch.func import grad
        theta = self.theta if theta is None else self._as(theta)
        g = grad(self._chunk_loss)
        return sum(g(theta, lo, hi) for lo, hi in self.chunks)

    def hvp(self, v, theta: Tensor | None = None) -> Tensor:
        """∇²f(θ) v by forward-over-reverse (``jvp`` of ``grad``), chunk by chunk."""
        from torch.func import grad, jvp
        theta = self.theta if theta is None else self._as(theta)
        v = self._as(v)
        out = torch.zeros_like(theta)
        for lo, hi in self.chunks:
            g = lambda t: grad(self._chunk_loss)(t, lo, hi)   # noqa: E731
            out += jvp(g, (theta,), (v,))[1]
        return out

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """:meth:`hvp` on NumPy float64 vectors (the Lanczos routines' interface)."""
        return self.hvp(torch.from_numpy(np.ascontiguousarray(v))).double().cpu().numpy()

    def matmat(self, V: np.ndarray) -> np.ndarray:
        """∇²f(θ) applied to each row of V (p × n), vmapped: p HVPs in one pass."""
        from torch.func import grad, jvp, vmap
        V = self._as(np.ascontiguousarray(V))
        out = torch.zeros_like(V)
        for lo, hi in self.chunks:
            g = lambda t: grad(self._chunk_loss)(t, lo, hi)          # noqa: E731
            out += vmap(lambda v: jvp(g, (self.theta,), (v,))[1])(V)
        return out.double().cpu().numpy()

    def dense_hessian(self, theta: Tensor | None = None) -> Tensor:
        """The exact n × n Hessian (``torch.func.hessian``, chunk by chunk); small n only."""
        from torch.func import hessian
        if self.n > 5000:
            raise ValueError(f"dense_hessian is for small nets (n ≤ 5000), this one has "
                             f"n = {self.n}; use hvp with lanczos instead")
        theta = self.theta if theta is None else self._as(theta)
        return sum(hessian(self._chunk_loss)(theta, lo, hi) for lo, hi in self.chunks)

    def layer_norms(self, theta: Tensor | None = None) -> list[tuple[int, int, float]]:
        """(start, stop, norm) of each parameter tensor in the flat vector."""
        theta = (self.theta if theta is None else self._as(theta)).double().cpu().numpy()
        out, start = [], 0
        for size in self.sizes:
            out.append((start, start + size, float(np.linalg.norm(theta[start:start + size]))))
            start += size
        return out


# ---------------------------------------------------------------------------------------
# Lanczos and stochastic Lanczos quadrature
# ---------------------------------------------------------------------------------------
def lanczos(matvec: Callable[[np.ndarray], np.ndarray], v0: np.ndarray, m: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m Lanczos steps from v0 with full re-orthogonalisation (Golub-Van Loan 10.1).

    Returns (alpha, beta, Q): the diagonal (k,) and off-diagonal (k-1,) of the
    tridiagonal T = QᵀAQ and the orthonormal basis Q (k × n), k ≤ m (fewer when an
    invariant subspace is found); ``beta`` has one more entry, the last residual norm.
    """
    n = v0.size
    m = int(min(m, n))
    if m < 1:
        raise ValueError("lanczos needs m ≥ 1 steps")
    Q = np.zeros((m, n))
    alpha, beta = np.zeros(m), np.zeros(m)
    q = np.asarray(v0, float) / np.linalg.norm(v0)
    k = m
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        alpha[j] = q @ w
        for _ in range(2):                          # "twice is enough"
            w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] <= 1e-10 * max(1.0, abs(alpha[:j + 1]).max()):
            k = j + 1
            break
        q = w / beta[j]
    return alpha[:k], beta[:k], Q[:k]


def _tridiagonal(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return np.diag(alpha) + np.diag(beta[:len(alpha) - 1], 1) + np.diag(beta[:len(alpha) - 1], -1)


def top_eigenpairs(matvec: Callable[[np.ndarray], np.ndarray], n: int, k: int, m: int,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """The k largest eigenvalues of a symmetric operator from m Lanczos steps (Ritz pairs).

    Returns ``values`` (k, descending), ``vectors`` (k × n, unit), ``residuals``
    (|A v − λ v| = β_m |s_mj|, the a-posteriori bound: an eigenvalue lies within it) and
    ``ritz`` (all m Ritz values, ascending).
    """
    rng = np.random.default_rng(seed)
    alpha, beta, Q = lanczos(matvec, rng.standard_normal(n), m)
    theta, S = np.linalg.eigh(_tridiagonal(alpha, beta))
    k = min(k, len(theta))
    order = np.argsort(theta)[::-1][:k]
    return {"values": theta[order], "vectors": S[:, order].T @ Q,
            "residuals": np.abs(beta[-1] * S[-1, order]), "ritz": theta}


def slq(matvec: Callable[[np.ndarray], np.ndarray], n: int, m: int, n_probes: int,
        seed: int = 0, matmat: Callable[[np.ndarray], np.ndarray] | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic Lanczos quadrature: Gauss nodes and weights of the spectral measure.

    For each Rademacher probe v (|v| = 1), m Lanczos steps give T = U diag(θ) Uᵀ;
    vᵀ g(A) v ≈ Σⱼ τⱼ g(θⱼ) with τⱼ = U₁ⱼ². Averaged over probes,
    (1/n) tr g(A) ≈ mean_p Σⱼ τ_pj g(θ_pj). With ``matmat`` (A on the rows of a p × n
    array) the probes advance in lockstep, one batched product per step. Returns
    (nodes, weights), each (n_probes, m); nodes past an invariant subspace get weight 0.
    """
    rng = np.random.default_rng(seed)
    probes = rng.choice([-1.0, 1.0], size=(n_probes, n))
    if matmat is None:
        runs = [lanczos(matvec, v, m) for v in probes]
    else:
        runs = _lanczos_lockstep(matmat, probes, m)
    nodes = np.zeros((n_probes, m))
    weights = np.zeros((n_probes, m))
    for p, (alpha, beta, _) in enumerate(runs):
        theta, U = np.linalg.eigh(_tridiagonal(alpha, beta))
        k = len(theta)
        nodes[p, :k], weights[p, :k] = theta, U[0] ** 2
    return nodes, weights


def _lanczos_lockstep(matmat: Callable[[np.ndarray], np.ndarray], starts: np.ndarray,
                      m: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`lanczos` from each row of ``starts`` at once (one ``matmat`` per step)."""
    p, n = starts.shape
    m = int(min(m, n))
    Q = np.zeros((p, m, n))
    alpha, beta = np.zeros((p, m)), np.zeros((p, m))
    q = starts / np.linalg.norm(starts, axis=1, keepdims=True)
    steps = np.full(p, m)
    live = np.ones(p, bool)
    for j in range(m):
        Q[:, j] = q
        W = matmat(q)
        for r in range(p):
            if not live[r]:
                continue
            w = W[r]
            alpha[r, j] = q[r] @ w
            for _ in range(2):
                w -= Q[r, :j + 1].T @ (Q[r, :j + 1] @ w)
            beta[r, j] = np.linalg.norm(w)
            if beta[r, j] <= 1e-10 * max(1.0, abs(alpha[r, :j + 1]).max()):
                steps[r], live[r] = j + 1, False
                q[r] = 0.0
            else:
                q[r] = w / beta[r, j]
        if not live.any():
            break
    return [(alpha[r, :steps[r]], beta[r, :steps[r]], Q[r, :steps[r]]) for r in range(p)]


def slq_sum(nodes: np.ndarray, weights: np.ndarray, g: Callable[[np.ndarray], np.ndarray],
            n: int) -> float:
    """tr g(A) ≈ n · mean over probes of Σⱼ τⱼ g(θⱼ) (SLQ)."""
    return float(n * np.mean(np.sum(weights * g(nodes), axis=1)))


def hutchinson(matmat: Callable[[np.ndarray], np.ndarray], n: int, probes: int,
               seed: int = 0, batch: int = 10) -> np.ndarray:
    """Per-probe estimates vᵀAv of tr A, v Rademacher (Hutchinson): their mean is unbiased
    and their standard deviation / √probes its standard error (one product per probe)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(0, probes, batch):
        V = rng.choice([-1.0, 1.0], size=(min(batch, probes - i), n))
        out.append(np.sum(V * matmat(V), axis=1))
    return np.concatenate(out)


def scaled_top_eigenpairs(matvec: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                          k: int, m: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Top eigenpairs of diag(θ)·∇²f·diag(θ) (:func:`top_eigenpairs`): a sharpness that
    rescalings θ → Dθ (D diagonal, f(D⁻¹·) the same function) leave unchanged, since the
    Hessian becomes D⁻¹∇²fD⁻¹ and diag(θ) becomes D·diag(θ)."""
    t = np.asarray(theta, float)
    return top_eigenpairs(lambda v: t * matvec(t * v), t.size, k, m, seed=seed)


def broadened(eigenvalues: np.ndarray, weights: np.ndarray, grid: np.ndarray,
              width: float) -> np.ndarray:
    """Σ wᵢ N(grid; λᵢ, width²): a spectral measure smoothed by a Gaussian (density)."""
    lam, w = np.ravel(eigenvalues), np.ravel(weights)
    z = (np.asarray(grid)[:, None] - lam[None, :]) / width
    return (np.exp(-0.5 * z ** 2) @ w) / (width * math.sqrt(2 * math.pi))


def slq_density(nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray,
                width: float) -> np.ndarray:
    """The SLQ eigenvalue density (integrates to 1): mean over probes, Gaussian-broadened."""
    return broadened(nodes, weights / nodes.shape[0], grid, width)


def smoothed_mass(eigenvalues: np.ndarray, weights: np.ndarray, eps: float,
                  width: float) -> float:
    """Mass of a measure within |λ| < eps after Gaussian broadening of the given width."""
    from math import erf
    lam, w = np.ravel(eigenvalues), np.ravel(weights)
    cdf = lambda t: 0.5 * (1 + np.vectorize(erf)((t - lam) / (width * math.sqrt(2))))  # noqa
    return float(np.sum(w * (cdf(eps) - cdf(-eps))))


# ---------------------------------------------------------------------------------------
# Local entropy by Monte Carlo, and 1-D slices
# ---------------------------------------------------------------------------------------
def local_entropy(losses: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                  gamma: float, beta: float, n_samples: int,
                  v: np.ndarray | None = None, seed: int = 0,
                  shift: np.ndarray | None = None, eigvecs: np.ndarray | None = None,
                  eigvals: np.ndarray | None = None) -> dict[str, float]:
    """f_γ(θ) of eq. (11) by importance sampling, and the curvature of f_γ along v.

    f_γ = −β⁻¹ log ∫ G(y − θ) exp(−β f(y)) dy, G the Gaussian of covariance σ²I,
    σ² = γ/β. Samples y = θ + σu come from the proposal u = shift/σ + Aζ, ζ ~ N(0, I),
    A = I − Σᵢ (1 − sᵢ) vᵢvᵢᵀ with sᵢ = (1 + γλᵢ)^(−1/2) on the given eigenpairs: for a
    quadratic f with gradient g and those eigenpairs, shift = −γ(I + γH)⁻¹g and the full
    eigenbasis, the proposal is ρ₁ of (13) itself and every weight is equal. The weights
    w ∝ G/q · exp(−βf) make the estimate exact in expectation for any f. By Lemma 1,
    ∇²f_γ = (I − Cov_w u)/γ, so vᵀ∇²f_γ v = (1 − Var_w(vᵀu))/γ ≤ 1/γ (Lemma 18's bound
    for every f). The component of ζ along v is stratified (normal quantiles) and the
    samples come in antithetic pairs ±ζ: one draw uniform in each of ``n_samples/2``
    equal-probability strata of |c|, c the component along v (unbiased, where fixed
    mid-stratum quantiles, mean square 0.980 for 32, overstated the curvature by about
    0.02/γ); Var_w(vᵀu) is estimated as |Av|² + Var_w − Var_1 (a control variate:
    Var_1 with equal weights, |Av|² its expectation). Returns ``f_gamma``, ``curvature``,
    ``curvature_se`` (its standard error, delta method over the pairs), ``ess``
    (effective sample size), ``f_mean`` (mean f over the samples) and ``sigma``.
    """
    from scipy.stats import norm
    rng = np.random.default_rng(seed)
    theta = np.asarray(theta, float)
    n = theta.size
    if v is None:
        v = rng.standard_normal(n)
    v = np.asarray(v, float) / np.linalg.norm(v)
    sigma = math.sqrt(gamma / beta)
    mu = np.zeros(n) if shift is None else np.asarray(shift, float) / sigma
    if eigvecs is None:
        V, s = np.zeros((0, n)), np.zeros(0)
    else:
        V = np.atleast_2d(np.asarray(eigvecs, float))
        s = 1.0 / np.sqrt(1.0 + gamma * np.maximum(np.asarray(eigvals, float), 0.0))
    half = (n_samples + 1) // 2
    c_half = norm.ppf((np.arange(half) + rng.uniform(size=half)) / (2 * half) + 0.5)
    z = rng.standard_normal((half, n))
    z -= np.outer(z @ v, v)
    zeta = c_half[:, None] * v[None, :] + z
    a_zeta = zeta - ((zeta @ V.T) * (1.0 - s)) @ V
    U = np.concatenate([mu + a_zeta, mu - a_zeta])          # antithetic pairs
    f = np.asarray(losses(theta[None, :] + sigma * U), float)
    zz = np.sum(zeta ** 2, axis=1)
    logw = -beta * f - 0.5 * np.sum(U ** 2, axis=1) + 0.5 * np.concatenate([zz, zz])
    vu = U @ v
    logw += float(np.sum(np.log(s)))
    top = logw.max()
    w = np.exp(logw - top)
    f_gamma = -(top + math.log(w.mean())) / beta
    w /= w.sum()
    # Var(vᵀu) under ρ₁ = Var_q(vᵀu) + [Var_w − Var_1](samples): the proposal's exact
    # variance |Av|² plus the weights' correction measured on the same samples (a
    # control variate: exact for the quadratic with its own proposal, all weights equal).
    av = v - ((V @ v) * (1.0 - s)) @ V
    h_w = (vu - np.sum(w * vu)) ** 2
    h_1 = (vu - vu.mean()) ** 2
    var_w, var_1 = float(np.sum(w * h_w)), float(h_1.mean())
    var_vu = float(av @ av) + var_w - var_1
    # standard error: delta method per antithetic pair (one pair per stratum), the
    # variance of the strata from neighbouring strata ("collapsed strata", conservative)
    psi = U.shape[0] * w * (h_w - var_w) - (h_1 - var_1)
    pairs = 0.5 * (psi[:half] + psi[half:])
    d = pairs[1:half - half % 2:2] - pairs[0:half - half % 2:2]
    se = float(math.sqrt(np.sum(d ** 2)) / half) if d.size else float("nan")
    return {"f_gamma": float(f_gamma), "curvature": (1.0 - var_vu) / gamma,
            "curvature_se": se / gamma, "ess": float(1.0 / np.sum(w ** 2)),
            "f_mean": float(f.mean()), "sigma": sigma}


def resolvent_times(alpha: np.ndarray, beta_: np.ndarray, Q: np.ndarray, norm_b: float,
                    gamma: float) -> np.ndarray:
    """(I + γA₊)⁻¹ b from a Lanczos run started at b (A₊: the Ritz values clipped at 0)."""
    theta, U = np.linalg.eigh(_tridiagonal(alpha, beta_))
    coeff = U @ (U[0] / (1.0 + gamma * np.maximum(theta, 0.0)))
    return norm_b * (Q.T @ coeff)


def normalised_direction(d: np.ndarray, theta: np.ndarray, mode: str = "global",
                         layers: list[tuple[int, int, float]] | None = None) -> np.ndarray:
    """d scaled to the weights: |d̂| = |θ| ('global'), or per parameter tensor |d̂ₗ| = |θₗ|
    ('layer', the filter normalisation of Li et al. 2018 at the level of tensors)."""
    d = np.asarray(d, float).copy()
    if mode == "global":
        return d * (np.linalg.norm(theta) / np.linalg.norm(d))
    if mode != "layer" or layers is None:
        raise ValueError("normalised_direction: mode must be 'global', or 'layer' with "
                         "the layers' (start, stop, norm)")
    for start, stop, norm in layers:
        nd = np.linalg.norm(d[start:stop])
        d[start:stop] *= norm / nd if nd > 0 else 0.0
    return d


def slice_1d(losses: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
             direction: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """f(θ + α d) for each α (d normalised by :func:`normalised_direction`: for 'global',
    α = |Δθ|/|θ|); ``losses`` maps an M × n array of weights to the M losses."""
    theta = np.asarray(theta, float)
    a = np.asarray(alphas, float)
    return np.asarray(losses(theta[None, :] + a[:, None] * direction[None, :]), float)
