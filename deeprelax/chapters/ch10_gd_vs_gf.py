"""Chapter 10 (companion): is gradient descent close to gradient flow? (Elkabetz & Cohen 2021)

Gradient descent x_{k+1} = x_k - eta grad f(x_k) is the explicit Euler scheme for the
gradient flow x'(t) = -grad f(x(t)). Elkabetz & Cohen bound the gap at t = k eta by
roughly ``eta * t * sup|H grad f| / 2 * exp(-int_0^t lambda_-)`` with
``lambda_- = min(lambda_min(H), 0)`` along the flow (H the Hessian of f). Their
experiments compare GD at eta_0 with GD at eta_0 / r as a proxy for the flow; here the
reference is the flow itself, integrated by DOP853 (:func:`dop853_flow`, an adaptive
8th-order Runge-Kutta method) with tight tolerances on the flat weight vector, and
lambda_min is computed by Lanczos iterations on Hessian-vector products.

The same measurement is made for minibatch SGD (eq. (7)) and for its diffusion model
of Sec. 2.3 (SGD): dX = -grad f dt + (eta c Sigma(X) / B)^{1/2} dW, with Sigma the
per-sample gradient covariance, and, on a two-weight network, for the local entropy
u(., gamma) of eq. (11).

:func:`compute` runs every experiment of the chapter and returns a :class:`Result`;
:func:`measures` derives the numbers the prose quotes, :func:`claims` the checks, the
``*_frame`` functions the tables and the ``figure_*`` functions the figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deeprelax.book.claims import Claim
from deeprelax.book.plotting import styled
from deeprelax.params import ParamError, Params as BaseParams, knob
from deeprelax.stats import fit_order
from deeprelax.runtime import progress, resolve_device, seed_everything
from deeprelax.book.plotting import loglog_rate
from deeprelax.pde.local_entropy import local_entropy
from deeprelax.train.data import load_mnist

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081   # torchvision's MNIST normalisation (their code)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Params(BaseParams):
    """Chapter 10: the MNIST networks (horizons, step sizes, solver, Lanczos, SGD) and, with
    the prefix ``smooth_``, the two-weight local-entropy experiment."""

    hidden: int = knob(16, lo=1, hi=1024, doc="width of both hidden layers (paper: 50)")
    n_train: int = knob(1000, lo=10, hi=1200, doc="training images, every 50th of MNIST's")
    T: float = knob(1.0, lo=0.01, hi=100.0, doc="horizon of the Xavier-initialised runs")
    eta0: float = knob(0.01, lo=1e-6, hi=1.0, doc="largest GD step size")
    ratios: tuple[int, ...] = knob((1, 2, 4, 8), doc="GD runs at eta0 / r for each r")
    small_init: float = knob(0.2, lo=1e-4, hi=10.0, doc="Xavier weights' scale, near-saddle run")
    T_small: float = knob(4.0, lo=0.01, hi=100.0, doc="horizon of the near-saddle run")
    eta0_small: float = knob(0.02, lo=1e-6, hi=1.0, doc="largest step of the near-saddle run")
    ratios_small: tuple[int, ...] = knob((1, 2), doc="GD runs of the near-saddle run")
    n_checkpoints: int = knob(12, lo=2, hi=400, doc="times (square-root spaced) of the records")
    rtol: float = knob(1e-10, lo=1e-14, hi=1e-3, doc="DOP853 relative tolerance")
    atol: float = knob(1e-12, lo=1e-16, hi=1e-3, doc="DOP853 absolute tolerance")
    relu_probe_nfev: int = knob(300, lo=12, hi=10**7,
                                doc="DOP853 budget on the ReLU flow (a probe)")
    lanczos_iters: int = knob(30, lo=2, hi=500, doc="Lanczos iterations per Hessian")
    sgd_batch: int = knob(100, lo=1, hi=1200, doc="SGD minibatch size B")
    sgd_T: float = knob(0.5, lo=0.01, hi=100.0, doc="horizon of the SGD / SDE runs")
    sgd_etas: tuple[float, ...] = knob((0.02, 0.01, 0.005), doc="SGD step sizes")
    sgd_seeds: int = knob(4, lo=1, hi=1000, doc="independent SGD / SDE runs per step size")
    seed: int = knob(0, lo=0, hi=2**31 - 1, doc="seed of the initial weights and the noise")
    smooth_gammas: tuple[float, ...] = knob((0.0, 0.25, 0.5, 1.0),
                                            doc="two-weight net: smoothing times (0 = f)")
    smooth_beta: float = knob(5.0, lo=0.01, hi=1e4, doc="two-weight net: beta of eq. (11)")
    smooth_box: float = knob(4.0, lo=1.0, hi=50.0, doc="two-weight net: grid half-width")
    smooth_n_grid: int = knob(401, lo=41, hi=4001, doc="two-weight net: points per axis")
    smooth_w0: tuple[float, float] = knob((0.1, 0.05),
                                          doc="two-weight net: start (w1, w2) near the saddle")
    smooth_T: float = knob(8.0, lo=0.1, hi=1000.0, doc="two-weight net: flow horizon")
    smooth_etas: tuple[float, ...] = knob((0.2, 0.1, 0.05), doc="two-weight net: GD steps")
    smooth_n_times: int = knob(161, lo=3, hi=100001, doc="two-weight net: records along a flow")
    device: str = knob("cpu", doc="torch device of the MNIST nets: 'cpu', 'cuda[:N]'")

    PRESETS = {
        "fast": {},
        "paper": {"hidden": 50, "T": 10.0, "eta0": 1e-3, "ratios": (1, 2, 5, 10, 20),
                  "T_small": 10.0, "eta0_small": 2e-3, "ratios_small": (1, 2, 5, 10),
                  "n_checkpoints": 40, "lanczos_iters": 60, "relu_probe_nfev": 20000,
                  "sgd_T": 2.0, "sgd_etas": (2e-3, 1e-3, 5e-4, 2.5e-4), "sgd_seeds": 16,
                  "smooth_n_grid": 801, "smooth_n_times": 801, "device": "cuda"},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("ratios", "ratios_small"):
            r = getattr(self, name)
            if not r or any(x < 1 for x in r) or list(r) != sorted(set(r)):
                raise ParamError(f"Params.{name} must be increasing integers >= 1, got {r}")
        if not self.sgd_etas or any(e <= 0 for e in self.sgd_etas):
            raise ParamError(f"Params.sgd_etas must be positive, got {self.sgd_etas}")
        if self.sgd_batch > self.n_train:
            raise ParamError(f"Params.sgd_batch={self.sgd_batch} exceeds n_train="
                             f"{self.n_train}; choose a batch no larger than the data set")
        if self.sgd_T > self.T:
            raise ParamError(f"Params.sgd_T={self.sgd_T} must not exceed T={self.T} "
                             "(the SGD runs reuse the flow's checkpoints)")
        checks = [("eta0", self.eta0, self.T), ("eta0", self.eta0, self.sgd_T),
                  ("eta0_small", self.eta0_small, self.T_small)]
        checks += [("sgd_etas", e, self.sgd_T) for e in self.sgd_etas]
        for name, step, horizon in checks:
            if abs(horizon / step - round(horizon / step)) > 1e-6 or horizon < step:
                raise ParamError(f"Params.{name}: step {step} does not divide the "
                                 f"horizon {horizon}; pick steps with T/eta an integer")
        if any(g < 0 for g in self.smooth_gammas) or not self.smooth_gammas:
            raise ParamError(f"Params.smooth_gammas must be >= 0, got {self.smooth_gammas}")
        if self.smooth_gammas[0] != 0 or list(self.smooth_gammas) != sorted(
                set(self.smooth_gammas)):
            raise ParamError("Params.smooth_gammas must increase from 0 (the loss f itself), "
                             f"got {self.smooth_gammas}")
        if any(abs(w) >= self.smooth_box for w in self.smooth_w0):
            raise ParamError("Params.smooth_w0 must lie inside the grid box")
        for e in self.smooth_etas:
            if e <= 0 or abs(self.smooth_T / e - round(self.smooth_T / e)) > 1e-6:
                raise ParamError(f"Params.smooth_etas: {e} must be > 0 and divide "
                                 f"smooth_T={self.smooth_T}")


# --------------------------------------------------------------------------- data, network
def mnist_subset(n: int = 1000, stride: int = 50, root=None):
    """Elkabetz & Cohen's training set: images 0, 50, 100, ... of MNIST, normalised, as numpy."""
    m = load_mnist(root)
    if n < 1 or (n - 1) * stride >= len(m.train_images):
        raise ValueError(f"n={n} images with stride {stride} do not fit in "
                         f"{len(m.train_images)} training images")
    idx = np.arange(n) * stride
    X = (m.train_images[idx].reshape(n, -1) / 255.0 - MNIST_MEAN) / MNIST_STD
    return X, m.train_labels[idx].astype(np.int64)


class FlatNet:
    """Bias-free fully connected net on a flat weight vector: logits = W_L s(... s(W_1 xi)).

    ``activation`` is 'linear' (s = id, a deep linear network) or 'relu'. The loss is
    the mean cross-entropy over the data, f(x) = (1/N) sum_i f_i(x) (eq. (5)).
    """

    def __init__(self, sizes, activation: str, X, y, device: str = "cpu",
                 dtype=None):
        import torch
        if activation not in ("linear", "relu"):
            raise ValueError(f"activation must be 'linear' or 'relu', got {activation!r}")
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"sizes must be >= 2 positive layer widths, got {sizes}")
        self.torch = torch
        self.device = resolve_device(device)
        self.dtype = dtype or torch.float64
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.X = torch.as_tensor(np.asarray(X), dtype=self.dtype, device=self.device)
        self.y = torch.as_tensor(np.asarray(y), dtype=torch.long, device=self.device)
        if self.X.ndim != 2 or self.X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (N, {self.sizes[0]}), got {tuple(self.X.shape)}")
        if self.y.shape != (self.X.shape[0],):
            raise ValueError("y must hold one label per row of X")
        self.shapes = [(b, a) for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        self.n_params = sum(a * b for a, b in self.shapes)
        self.N = self.X.shape[0]

    def unflatten(self, v):
        """Weight matrices W_1, ..., W_L as views of the flat vector ``v``."""
        out, i = [], 0
        for r, c in self.shapes:
            out.append(v[i:i + r * c].view(r, c))
            i += r * c
        return out

    def xavier_init(self, seed: int):
        """Xavier-uniform weights (their initialisation), seeded, as a flat vector."""
        torch = self.torch
        g = torch.Generator().manual_seed(int(seed))
        parts = []
        for r, c in self.shapes:
            bound = np.sqrt(6.0 / (r + c))
            parts.append((torch.rand(r * c, generator=g, dtype=torch.float64) * 2 - 1) * bound)
        return torch.cat(parts).to(device=self.device, dtype=self.dtype)

    def per_sample_losses(self, v, idx=None):
        """Cross-entropy f_i(x) of each sample (or of the rows ``idx``)."""
        torch = self.torch
        z = self.X if idx is None else self.X[idx]
        Ws = self.unflatten(v)
        for k, W in enumerate(Ws):
            z = z @ W.T
            if self.activation == "relu" and k < len(Ws) - 1:
                z = torch.relu(z)
        y = self.y if idx is None else self.y[idx]
        return torch.nn.functional.cross_entropy(z, y, reduction="none")

    def loss(self, v) -> float:
        """f(x) = mean cross-entropy (eq. (5))."""
        with self.torch.no_grad():
            return float(self.per_sample_losses(v).mean())

    def weighted_grad(self, v, w):
        """grad_x sum_i w_i f_i(x) (one backward pass; w = 1/N gives grad f)."""
        torch = self.torch
        v = v.detach().requires_grad_(True)
        val = (self.per_sample_losses(v) * w).sum()
        return torch.autograd.grad(val, v)[0]

    def grad(self, v, idx=None):
        """grad f(x) (full batch), or the minibatch gradient grad f_mb over rows ``idx``."""
        torch = self.torch
        v = v.detach().requires_grad_(True)
        return torch.autograd.grad(self.per_sample_losses(v, idx).mean(), v)[0]

    def hvp(self, v, u):
        """Hessian-vector product H(x) u by double back-propagation (Pearlmutter's trick)."""
        torch = self.torch
        v = v.detach().requires_grad_(True)
        g = torch.autograd.grad(self.per_sample_losses(v).mean(), v, create_graph=True)[0]
        return torch.autograd.grad(g @ u.detach(), v)[0]


def make_net(p: Params, activation: str, data=None) -> FlatNet:
    """The chapter's network 784-h-h-10 without biases on the MNIST subset."""
    X, y = data if data is not None else mnist_subset(p.n_train)
    return FlatNet([X.shape[1], p.hidden, p.hidden, 10], activation, X, y, device=p.device)


# --------------------------------------------------------------------------- flows
def checkpoint_times(T: float, step: float, n: int, extra=()) -> np.ndarray:
    """n+1 square-root spaced times in [0, T] (dense early), rounded to multiples of ``step``."""
    k_end = int(round(T / step))
    ks = np.round(k_end * (np.arange(n + 1) / n) ** 2).astype(int)
    ks = np.concatenate([ks, [int(round(e / step)) for e in extra]])
    return np.unique(ks) * step


def _steps(times, eta) -> np.ndarray:
    k = np.asarray(times, float) / eta
    if np.any(np.abs(k - np.round(k)) > 1e-6 * np.maximum(1, k)):
        raise ValueError(f"record times must be multiples of eta={eta}")
    return np.round(k).astype(int)


class FlowBudgetExceeded(RuntimeError):
    """DOP853 used up its evaluation budget; ``t_reached`` says how far it got."""

    def __init__(self, t_reached: float, nfev: int):
        super().__init__(f"DOP853 stopped at t = {t_reached:.3g} after {nfev} evaluations")
        self.t_reached, self.nfev = t_reached, nfev


def dop853_flow(net: FlatNet, x0, times, rtol: float = 1e-10, atol: float = 1e-12,
                max_nfev: int | None = None):
    """x'(t) = -grad f(x), x(0) = x0, by DOP853 (Hairer, Norsett & Wanner); states at ``times``.

    Returns ``(states, nfev)`` with states a tensor of shape (len(times), n_params).
    With ``max_nfev``, raises :class:`FlowBudgetExceeded` when the budget runs out.
    """
    from scipy.integrate import solve_ivp
    torch = net.torch
    times = np.asarray(times, float)
    if times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be increasing and >= 0")
    count = {"n": 0, "t": 0.0}

    def rhs(t, x):
        count["n"] += 1
        if max_nfev is not None and count["n"] > max_nfev:
            raise FlowBudgetExceeded(count["t"], count["n"] - 1)
        count["t"] = max(count["t"], float(t))
        xt = torch.from_numpy(x).to(device=net.device, dtype=net.dtype)
        return -net.grad(xt).cpu().numpy().astype(np.float64)

    if times[-1] == 0:
        return x0[None].clone(), 0
    y0 = x0.detach().cpu().numpy().astype(np.float64)
    sol = solve_ivp(rhs, (0.0, float(times[-1])), y0, method="DOP853", t_eval=times,
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"DOP853 failed: {sol.message}")
    states = torch.from_numpy(sol.y.T.copy()).to(device=net.device, dtype=net.dtype)
    return states, int(sol.nfev)


def gradient_descent(net: FlatNet, x0, eta: float, times, callback=None,
                     desc: str | None = None):
    """x_{k+1} = x_k - eta grad f(x_k) (explicit Euler for the flow), recorded at t = k eta.

    ``callback(x)`` is called after every step (e.g. to count ReLU sign flips).
    """
    ks = _steps(times, eta)
    out, x, k = [], x0.detach().clone(), 0
    bar = progress(total=int(ks[-1]), desc=desc or f"GD eta={eta:g}", leave=False)
    for target in ks:
        while k < target:
            x = x - eta * net.grad(x)
            k += 1
            bar.update(1)
            if callback is not None:
                callback(x)
        out.append(x.clone())
    bar.close()
    return net.torch.stack(out)


class FlipCounter:
    """Counts sign changes of every ReLU pre-activation (sample x unit) between GD steps.

    Each (sample, unit) pair is a surface in weight space across which grad f jumps;
    a unit flipping back and forth every few steps is GD chattering around a sliding
    mode of the (Filippov) gradient flow.
    """

    def __init__(self, net: FlatNet, x0):
        self.net = net
        self.pattern = self._pattern(x0)
        self.flips = net.torch.zeros(self.pattern.numel(), dtype=net.torch.long,
                                     device=net.device)

    def _pattern(self, v):
        torch = self.net.torch
        z, signs = self.net.X, []
        Ws = self.net.unflatten(v)
        with torch.no_grad():
            for W in Ws[:-1]:
                z = z @ W.T
                signs.append((z > 0).flatten())
                z = torch.relu(z)
        return torch.cat(signs)

    def __call__(self, v) -> None:
        new = self._pattern(v)
        self.flips += (new != self.pattern)
        self.pattern = new

    def summary(self) -> dict:
        """Total flips, surfaces crossed, surfaces crossed >= 3 times, most flips of one."""
        f = self.flips.cpu().numpy()
        return {"total": int(f.sum()), "crossed": int((f > 0).sum()),
                "chattering": int((f >= 3).sum()), "max": int(f.max()),
                "surfaces": int(f.size)}


def sgd(net: FlatNet, x0, eta: float, batch: int, times, rng: np.random.Generator):
    """Minibatch SGD x_{k+1} = x_k - eta grad f_mb(x_k) (eq. (7)), batches without replacement."""
    ks = _steps(times, eta)
    out, x, k = [], x0.detach().clone(), 0
    for target in ks:
        while k < target:
            idx = net.torch.as_tensor(rng.choice(net.N, size=batch, replace=False),
                                      device=net.device)
            x = x - eta * net.grad(x, idx)
            k += 1
        out.append(x.clone())
    return net.torch.stack(out)


def sgd_sde(net: FlatNet, x0, eta: float, batch: int, times, rng: np.random.Generator,
            substeps: int = 1):
    """Euler-Maruyama for dX = -grad f dt + (eta c Sigma(X)/B)^{1/2} dW, the (SGD) SDE of Sec. 2.3.

    Sigma(X) = (1/N) sum_i (g_i - g)(g_i - g)^T is the per-sample gradient covariance and
    c = (N - B)/(N - 1) the finite-population factor of batches drawn without replacement,
    so one step of length eta has exactly SGD's mean and covariance. The noise
    Sigma^{1/2} z is sampled as N^{-1/2} sum_i (zeta_i - mean zeta) g_i with zeta ~ N(0, I_N):
    one weighted backward pass per step. ``sde.euler_maruyama`` takes additive noise only,
    hence this state-dependent version.
    """
    torch = net.torch
    if substeps < 1:
        raise ValueError("substeps must be >= 1")
    ks = _steps(times, eta) * substeps
    h = eta / substeps
    N = net.N
    c = (N - batch) / (N - 1) if N > 1 else 0.0
    amp = np.sqrt(h * eta * c / batch / N)
    out, x, k = [], x0.detach().clone(), 0
    for target in ks:
        while k < target:
            zeta = rng.standard_normal(N)
            w = h / N - amp * (zeta - zeta.mean())
            x = x - net.weighted_grad(x, torch.as_tensor(w, dtype=net.dtype, device=net.device))
            k += 1
        out.append(x.clone())
    return torch.stack(out)


# --------------------------------------------------------------------------- curvature
def lanczos(matvec, v0, k: int):
    """Ritz values of a symmetric operator after k Lanczos steps (full reorthogonalisation).

    The extreme Ritz values converge to the extreme eigenvalues from inside the
    spectrum (Golub & Van Loan, Sec. 10.1), so ``ritz[0] >= lambda_min``.
    """
    torch = __import__("torch")
    q = v0 / v0.norm()
    n = q.numel()
    k = min(int(k), n)
    Q = torch.zeros(k, n, dtype=q.dtype, device=q.device)
    alpha, beta = [], []
    for j in range(k):
        Q[j] = q
        w = matvec(q)
        a = float(w @ q)
        w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)
        w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)          # twice is enough (Kahan-Parlett)
        b = float(w.norm())
        alpha.append(a)
        if j == k - 1 or b < 1e-12 * max(1.0, abs(a)):
            break
        beta.append(b)
        q = w / b
    Tm = np.diag(alpha) + np.diag(beta[:len(alpha) - 1], 1) + np.diag(beta[:len(alpha) - 1], -1)
    return np.linalg.eigvalsh(Tm)


def hessian_extremes(net: FlatNet, x, k: int, seed: int = 0):
    """(lambda_min, lambda_max) of the Hessian of f at x by k Lanczos steps on H-vector products."""
    torch = net.torch
    g = torch.Generator().manual_seed(int(seed))
    v0 = torch.randn(net.n_params, generator=g, dtype=torch.float64).to(net.device, net.dtype)
    ritz = lanczos(lambda u: net.hvp(x, u), v0, k)
    return float(ritz[0]), float(ritz[-1])


def curvature_along(net: FlatNet, states, k: int, seed: int = 0, desc: str = "Lanczos"):
    """lambda_min, lambda_max of H and |H grad f| at each state of a trajectory."""
    lmin, lmax, hg = [], [], []
    for j, x in enumerate(progress(states, desc=desc, leave=False)):
        lo, hi = hessian_extremes(net, x, k, seed + j)
        lmin.append(lo)
        lmax.append(hi)
        hg.append(float(net.hvp(x, net.grad(x)).norm()))
    return np.array(lmin), np.array(lmax), np.array(hg)


def _cumtrapz(y, t):
    y, t = np.asarray(y, float), np.asarray(t, float)
    return np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(t))])


def gap_bounds(times, lam_min, hg_norm) -> dict:
    """Leading-order bounds on |x_GD(t) - x_GF(t)| / eta from e' = -H e - H g / 2 (Gronwall).

    ``'ec'``: Elkabetz & Cohen's form (t/2) sup_{s<=t}|H g| exp(-int_0^t lambda_-);
    ``'gronwall'``: int_0^t exp(-int_s^t lambda_min) |H g|(s)/2 ds. Integrals by the
    trapezoidal rule on the checkpoints; both omit O(eta) relative corrections.
    """
    t = np.asarray(times, float)
    lam_min = np.asarray(lam_min, float)
    hg = np.asarray(hg_norm, float)
    Lneg = _cumtrapz(np.minimum(lam_min, 0.0), t)          # int_0^t lambda_-
    ec = 0.5 * t * np.maximum.accumulate(hg) * np.exp(-Lneg)
    Lmin = _cumtrapz(lam_min, t)                           # int_0^t lambda_min
    gron = np.array([_cumtrapz(np.exp(-(Lmin[j] - Lmin[:j + 1])) * 0.5 * hg[:j + 1],
                               t[:j + 1])[-1] for j in range(len(t))])
    return {"ec": ec, "gronwall": gron, "int_lambda_minus": Lneg}


# --------------------------------------------------------------------------- experiments
@dataclass
class GDGFRun:
    """GD at several step sizes against a gradient-flow reference, with curvature along it."""

    label: str
    activation: str
    n_params: int
    times: np.ndarray
    etas: np.ndarray
    states_gd: object = field(repr=False)   # (len(etas), len(times), n) tensor
    gf_states: object = field(repr=False)   # (len(times), n) tensor, or None
    nfev: int = 0
    gaps: np.ndarray | None = None     # (len(etas), len(times)): |x_GD - x_GF|
    travelled: np.ndarray | None = None
    loss_gf: np.ndarray | None = None
    loss_gd: np.ndarray | None = None  # (len(etas), len(times))
    lam_min: np.ndarray | None = None
    lam_max: np.ndarray | None = None
    hg_norm: np.ndarray | None = None
    bounds: dict | None = None
    flips: list = field(default_factory=list)   # FlipCounter summaries per eta (ReLU)

    @property
    def slope(self) -> float:
        """Fitted order in eta of the GD-GF gap at the final time (1 for Euler)."""
        return fit_order(self.etas, self.gaps[:, -1])

    def self_differences(self) -> tuple[np.ndarray, np.ndarray]:
        """(eta_i - eta_{i+1}, |x_{eta_i}(T) - x_{eta_{i+1}}(T)|): a reference-free order test.

        If x_eta = x_GF + eta e_1 + o(eta), the differences are (eta_i - eta_{i+1}) |e_1|.
        """
        d = (self.states_gd[:-1, -1] - self.states_gd[1:, -1]).norm(dim=1).cpu().numpy()
        return self.etas[:-1] - self.etas[1:], d


def run(net: FlatNet, x0, T: float, eta0: float, ratios, n_checkpoints: int,
        rtol: float = 1e-10, atol: float = 1e-12, reference: bool = True,
        lanczos_iters: int | None = 30, extra_times=(), count_flips: bool = False,
        seed: int = 0, label: str = "") -> GDGFRun:
    """GD at eta0/r for each r; the DOP853 flow as reference; lambda_min, lambda_max along it.

    Without a reference (ReLU), curvature is measured along the finest GD run.
    """
    times = checkpoint_times(T, eta0, n_checkpoints, extra=extra_times)
    etas = np.array([eta0 / r for r in ratios])
    states_gd, flips = [], []
    for eta in etas:
        fc = FlipCounter(net, x0) if count_flips else None
        states_gd.append(gradient_descent(net, x0, eta, times, callback=fc,
                                          desc=f"GD {label} eta={eta:g}"))
        if fc is not None:
            flips.append(fc.summary())
    states_gd = net.torch.stack(states_gd)
    r = GDGFRun(label, net.activation, net.n_params, times, etas, states_gd, None,
                flips=flips)
    r.loss_gd = np.array([[net.loss(x) for x in s] for s in states_gd])
    path = states_gd[-1]
    if reference:
        r.gf_states, r.nfev = dop853_flow(net, x0, times, rtol, atol)
        r.gaps = (states_gd - r.gf_states[None]).norm(dim=2).cpu().numpy()
        r.loss_gf = np.array([net.loss(x) for x in r.gf_states])
        path = r.gf_states
    r.travelled = (path - x0).norm(dim=1).cpu().numpy()
    if lanczos_iters:
        r.lam_min, r.lam_max, r.hg_norm = curvature_along(net, path, lanczos_iters, seed,
                                                          desc=f"Lanczos {label}")
        r.bounds = gap_bounds(times, r.lam_min, r.hg_norm)
    return r


@dataclass
class SGDRun:
    """Distances of SGD and of its SDE model from the gradient flow at t = T."""

    etas: np.ndarray
    rms_sgd: np.ndarray         # sqrt(mean over seeds of |x_SGD(T) - x_GF(T)|^2)
    rms_sde: np.ndarray
    gap_gd: np.ndarray          # deterministic GD at the same etas
    batch: int
    T: float
    seeds: int


def run_sgd(net: FlatNet, x0, gf: GDGFRun, T: float, etas, batch: int, seeds: int,
            seed: int = 0) -> SGDRun:
    """SGD (eq. (7)), its SDE (Euler-Maruyama at step eta) and GD against the flow at t = T."""
    j = int(np.argmin(np.abs(gf.times - T)))
    if abs(gf.times[j] - T) > 1e-9:
        raise ValueError(f"T={T} is not one of the flow's checkpoints {gf.times}")
    ref = gf.gf_states[j]
    rng = np.random.default_rng(seed)
    rs, rd, gg = [], [], []
    for eta in progress(list(etas), desc="SGD / SDE", leave=False):
        d_sgd = [float((sgd(net, x0, eta, batch, [T], rng)[-1] - ref).norm())
                 for _ in range(seeds)]
        d_sde = [float((sgd_sde(net, x0, eta, batch, [T], rng)[-1] - ref).norm())
                 for _ in range(seeds)]
        rs.append(np.sqrt(np.mean(np.square(d_sgd))))
        rd.append(np.sqrt(np.mean(np.square(d_sde))))
        k = np.flatnonzero(np.isclose(gf.etas, eta, rtol=1e-12))
        if k.size and gf.gaps is not None:          # this GD run is already in ``gf``
            gg.append(float(gf.gaps[k[0], j]))
        else:
            gg.append(float((gradient_descent(net, x0, eta, [T])[-1] - ref).norm()))
    return SGDRun(np.asarray(etas, float), np.array(rs), np.array(rd), np.array(gg),
                  batch, T, seeds)


class TinyNet:
    """Two-weight net y = w2 tanh(w1 xi) fitted to sin on [-pi, pi], f = mean(y - sin xi)^2/2."""

    def __init__(self, n: int = 100):
        self.xi = np.linspace(-np.pi, np.pi, n)
        self.y = np.sin(self.xi)

    def value(self, w1, w2):
        """f(w1, w2) (broadcasts over arrays of weights)."""
        w1, w2 = np.asarray(w1, float)[..., None], np.asarray(w2, float)[..., None]
        return 0.5 * np.mean((w2 * np.tanh(w1 * self.xi) - self.y) ** 2, axis=-1)

    def grad(self, w):
        """Analytic gradient of f at w = (w1, w2)."""
        t = np.tanh(w[0] * self.xi)
        r = w[1] * t - self.y
        return np.array([np.mean(r * w[1] * (1 - t**2) * self.xi), np.mean(r * t)])

    def hess(self, w):
        """Analytic Hessian of f at w = (w1, w2)."""
        t = np.tanh(w[0] * self.xi)
        s = 1 - t**2
        r = w[1] * t - self.y
        a = w[1] * s * self.xi
        h11 = np.mean(a**2 - 2 * r * w[1] * t * s * self.xi**2)
        h12 = np.mean(t * a + r * s * self.xi)
        return np.array([[h11, h12], [h12, np.mean(t**2)]])


class GridFunction:
    """A function given on a uniform 2-D grid, with quintic-spline gradient and Hessian."""

    def __init__(self, axes, values):
        from scipy.interpolate import RectBivariateSpline
        self.axes = axes
        self.values = values
        self.spline = RectBivariateSpline(axes[0], axes[1], values, kx=5, ky=5)

    def __call__(self, w):
        return float(self.spline(w[0], w[1], grid=False))

    def grad(self, w):
        """Spline gradient at w."""
        s = self.spline
        return np.array([float(s(w[0], w[1], dx=1, grid=False)),
                         float(s(w[0], w[1], dy=1, grid=False))])

    def hess(self, w):
        """Spline Hessian at w."""
        s = self.spline
        h12 = float(s(w[0], w[1], dx=1, dy=1, grid=False))
        return np.array([[float(s(w[0], w[1], dx=2, grid=False)), h12],
                         [h12, float(s(w[0], w[1], dy=2, grid=False))]])


def local_entropy_2d(f_values, axes, gamma: float, beta: float) -> GridFunction:
    """u(., gamma) = -beta^-1 log(G_{gamma/beta} * exp(-beta f)) (eq. (11)), as a grid spline."""
    return GridFunction(axes, local_entropy(f_values, axes, gamma, beta))


def flow_2d(grad, w0, times, rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
    """w' = -grad(w) by DOP853 in the plane, at ``times``."""
    from scipy.integrate import solve_ivp
    sol = solve_ivp(lambda _t, w: -grad(w), (0.0, float(times[-1])), np.asarray(w0, float),
                    method="DOP853", t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol.y.T


def gd_2d(grad, w0, eta: float, T: float) -> np.ndarray:
    """GD w_{k+1} = w_k - eta grad(w_k) in the plane; the final iterate at t = T."""
    w = np.asarray(w0, float).copy()
    for _ in range(int(round(T / eta))):
        w = w - eta * grad(w)
    return w


@dataclass
class SmoothingRun:
    """For each gamma: the flow of u(., gamma), lambda_min along it and GD-GF gaps."""

    gammas: np.ndarray
    times: np.ndarray
    paths: list            # (n_times, 2) per gamma
    lam_min: np.ndarray    # (len(gammas), n_times), Hessian of u(., gamma) along its flow
    int_lambda_minus: np.ndarray   # int_0^T min(lambda_min, 0) dt per gamma
    f_end: np.ndarray      # the original loss f at the end of each flow
    gaps: np.ndarray       # (len(gammas), len(etas)) |w_GD(T) - w_GF(T)|
    etas: np.ndarray
    grid: tuple
    f_grid: np.ndarray
    spline_hess_error: float   # max |spline Hessian of f - analytic| along the f-flow


def run_smoothing(p: Params) -> SmoothingRun:
    """Local entropy of the two-weight network, its gradient flows and their curvature."""
    tiny = TinyNet()
    a = np.linspace(-p.smooth_box, p.smooth_box, p.smooth_n_grid)
    F = tiny.value(*np.meshgrid(a, a, indexing="ij"))
    times = np.linspace(0.0, p.smooth_T, p.smooth_n_times)
    paths, lmins, ints, fend, gaps = [], [], [], [], []
    herr = np.nan
    for g in p.smooth_gammas:
        u = GridFunction((a, a), F) if g == 0 else local_entropy_2d(F, (a, a), g, p.smooth_beta)
        path = flow_2d(u.grad, p.smooth_w0, times)
        lm = np.array([np.linalg.eigvalsh(u.hess(w))[0] for w in path])
        if g == 0:
            herr = max(np.abs(u.hess(w) - tiny.hess(w)).max() for w in path)
        paths.append(path)
        lmins.append(lm)
        ints.append(_cumtrapz(np.minimum(lm, 0.0), times)[-1])
        fend.append(float(tiny.value(*path[-1])))
        gaps.append([np.linalg.norm(gd_2d(u.grad, p.smooth_w0, e, p.smooth_T) - path[-1])
                     for e in p.smooth_etas])
    return SmoothingRun(np.array(p.smooth_gammas), times, paths, np.array(lmins), np.array(ints),
                        np.array(fend), np.array(gaps), np.array(p.smooth_etas), (a, a), F,
                        float(herr))




# --------------------------------------------------------------------------- the chapter
def local_orders(run: GDGFRun, successive: bool = False) -> np.ndarray:
    """Fitted order in eta per checkpoint: of the gap to the flow if known (and not
    ``successive``), else of the successive differences |x_{eta_i} - x_{eta_{i+1}}|."""
    out = np.full(len(run.times), np.nan)
    for j in range(1, len(run.times)):
        if run.gaps is not None and not successive:
            out[j] = fit_order(run.etas, run.gaps[:, j])
        else:
            d = (run.states_gd[:-1, j] - run.states_gd[1:, j]).norm(dim=1).cpu().numpy()
            out[j] = fit_order(run.etas[:-1] - run.etas[1:], d)
    return out


def growth_phase(gap_over_eta: np.ndarray, factor: float = 1.2) -> np.ndarray:
    """Checkpoints 1..j-1 of the saddle escape: while gap/eta grows by > ``factor`` per interval."""
    j = 2
    while j < len(gap_over_eta) and gap_over_eta[j] > factor * gap_over_eta[j - 1]:
        j += 1
    return np.arange(1, j)


@dataclass
class Result:
    """Every run of the chapter: linear and ReLU networks, near-saddle run, SGD, smoothing."""

    params: Params
    n_params: int
    lin: GDGFRun              # linear network against the DOP853 flow
    ref_shift: float          # max_t |x_GF(tolerances x 1000) - x_GF|: the reference's accuracy
    relu: GDGFRun             # ReLU network, no reference (successive differences)
    t_probe: float            # how far DOP853 gets on the ReLU flow within its budget
    lanczos: dict             # lambda_min / lambda_max at x_GF(T) with k and 2k iterations
    small: GDGFRun            # linear network from Xavier weights x small_init (near-saddle)
    sgd: SGDRun               # SGD and its SDE model against the flow
    smoothing: SmoothingRun   # the two-weight network and its local entropy


def compute(p: Params, data=None) -> Result:
    """Run the chapter: GD against DOP853 on the linear net, the ReLU probe and flip counts,
    Lanczos curvature and the bounds, the near-saddle run, SGD and its SDE, local entropy.

    ``data`` = (X, y) replaces the MNIST subset (tests). Torch runs on one CPU thread
    (small matrices: on a shared CPU one thread is fastest), restored afterwards.
    """
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seed_everything(p.seed)
        data = data if data is not None else mnist_subset(p.n_train)
        lin_net, relu_net = make_net(p, "linear", data), make_net(p, "relu", data)
        x0 = lin_net.xavier_init(p.seed)
        lin = run(lin_net, x0, p.T, p.eta0, p.ratios, p.n_checkpoints, p.rtol, p.atol,
                  lanczos_iters=p.lanczos_iters, extra_times=(p.sgd_T,), seed=p.seed,
                  label="linear")
        loose, _ = dop853_flow(lin_net, x0, lin.times, 1e3 * p.rtol, 1e3 * p.atol)
        ref_shift = float((loose - lin.gf_states).norm(dim=1).max())
        relu = run(relu_net, x0, p.T, p.eta0, p.ratios, p.n_checkpoints, reference=False,
                   lanczos_iters=p.lanczos_iters, count_flips=True, seed=p.seed, label="ReLU")
        try:
            dop853_flow(relu_net, x0, [0.0, p.T], p.rtol, p.atol, max_nfev=p.relu_probe_nfev)
            t_probe = p.T
        except FlowBudgetExceeded as stop:
            t_probe = stop.t_reached
        x_T = lin.gf_states[-1]     # the hardest point: lambda_min smallest against lambda_max
        lo_k, hi_k = hessian_extremes(lin_net, x_T, p.lanczos_iters, p.seed)
        lo_2k, hi_2k = hessian_extremes(lin_net, x_T, 2 * p.lanczos_iters, p.seed)
        small = run(lin_net, p.small_init * x0, p.T_small, p.eta0_small, p.ratios_small,
                    p.n_checkpoints, p.rtol, p.atol, lanczos_iters=p.lanczos_iters,
                    seed=p.seed, label="near-saddle")
        sg = run_sgd(lin_net, x0, lin, p.sgd_T, p.sgd_etas, p.sgd_batch, p.sgd_seeds, p.seed)
    finally:
        torch.set_num_threads(threads)
    return Result(p, lin_net.n_params, lin, ref_shift, relu, t_probe,
                  {"k": p.lanczos_iters, "lo_k": lo_k, "hi_k": hi_k, "lo_2k": lo_2k,
                   "hi_2k": hi_2k}, small, sg, run_smoothing(p))


def measures(r: Result) -> dict[str, float]:
    """The numbers the prose quotes and the claims check, by name (plain floats)."""
    p, lin, relu, small, sg, sm = r.params, r.lin, r.relu, r.small, r.sgd, r.smoothing
    m: dict[str, float] = {"n_params": r.n_params, "small_init": p.small_init,
                           "sgd_seeds": p.sgd_seeds, "sgd_T": p.sgd_T,
                           "lanczos_k": p.lanczos_iters, "T": p.T}
    # linear network against the flow
    orders_lin = local_orders(lin)
    late = lin.times >= 0.1 * p.T
    g_T = lin.gaps[:, -1] / lin.etas
    min_gap = float(lin.gaps[:, 1:].min())
    m.update(nfev_lin=lin.nfev, ref_shift=r.ref_shift, min_gap=min_gap,
             ref_ratio=r.ref_shift / min_gap, slope_lin=fit_order(lin.etas, lin.gaps[:, -1]),
             order_lin_dev=float(np.abs(orders_lin[late] - 1).max()),
             gap_over_eta=float(g_T[-1]), collapse_spread=float(np.ptp(g_T) / g_T[-1]),
             travelled=float(lin.travelled[-1]),
             rel_gap=float(lin.gaps[0, -1] / lin.travelled[-1]), t_late=0.1 * p.T)
    # ReLU network
    orders_relu = local_orders(relu)
    early = (relu.times >= 0.05 * p.T) & (relu.times <= 0.25 * p.T)
    fl = relu.flips
    m.update(t_probe=r.t_probe, t_probe_frac=r.t_probe / p.T, probe_nfev=p.relu_probe_nfev,
             nfev_ratio=lin.nfev / p.relu_probe_nfev,
             probe_rate=p.relu_probe_nfev / max(r.t_probe, 1e-12),
             surfaces=fl[0]["surfaces"], crossed=fl[-1]["crossed"],
             chattering=fl[-1]["chattering"], max_flips_0=fl[0]["max"],
             max_flips_1=fl[-1]["max"], flip_growth=fl[-1]["max"] / max(fl[0]["max"], 1),
             eta_ratio=float(relu.etas[0] / relu.etas[-1]),
             order_relu_dev=float(np.abs(orders_relu[early] - 1).max()),
             order_relu_T=float(orders_relu[-1]), t_early=0.25 * p.T)
    # Lanczos convergence at the end of the linear flow
    lz = r.lanczos
    m.update(lanczos_rel=abs(lz["lo_k"] - lz["lo_2k"]) / abs(lz["lo_2k"]),
             ritz_shift=lz["lo_k"] - lz["lo_2k"],
             lmax_rel=abs(lz["hi_k"] - lz["hi_2k"]) / abs(lz["hi_2k"]))
    # curvature and the bounds along the linear flow
    g_lin = lin.gaps[-1] / lin.etas[-1]
    b = lin.bounds
    m.update(lmin0_lin=lin.lam_min[0], lminT_lin=lin.lam_min[-1],
             lmin0_relu=relu.lam_min[0], lminT_relu=relu.lam_min[-1],
             lmax0_lin=lin.lam_max[0],
             rise_lin=abs(lin.lam_min[-1]) / abs(lin.lam_min[0]),
             rise_relu=abs(relu.lam_min[-1]) / abs(relu.lam_min[0]),
             int_lin=b["int_lambda_minus"][-1], int_relu=relu.bounds["int_lambda_minus"][-1],
             amp_lin=float(np.exp(-b["int_lambda_minus"][-1])),
             gap_bound_lin=float((g_lin[1:] / b["gronwall"][1:]).max()),
             gron_minus_ec=float((b["gronwall"][1:] - b["ec"][1:]).max()),
             tight_lin=b["gronwall"][-1] / g_lin[-1],
             t_peak=lin.times[int(np.argmax(g_lin))])
    # near the saddle
    g_small = small.gaps[-1] / small.etas[-1]
    phase = growth_phase(g_small)
    bs = small.bounds
    m.update(gap_bound_small=float((g_small[1:] / bs["gronwall"][1:]).max()),
             growth=g_small[phase[-1]] / g_small[phase[0]],
             t_phase0=small.times[phase[0]], t_escape=small.times[phase[-1]],
             ratio_max=float((bs["gronwall"][phase] / g_small[phase]).max()),
             lmin_phase_max=float(small.lam_min[phase].max()),
             exp_int_small=float(np.exp(-bs["int_lambda_minus"][phase[-1]])))
    # SGD and its SDE
    ratio_sde = sg.rms_sde / sg.rms_sgd
    m.update(slope_gd=fit_order(sg.etas, sg.gap_gd), slope_sgd=fit_order(sg.etas, sg.rms_sgd),
             slope_sde=fit_order(sg.etas, sg.rms_sde), ratio_lo=ratio_sde.min(),
             ratio_hi=ratio_sde.max(), noise_factor=(sg.rms_sgd / sg.gap_gd).min())
    # local entropy of the two-weight network
    lmin_path = sm.lam_min.min(axis=1)
    ints = sm.int_lambda_minus
    gap_slopes = np.array([fit_order(sm.etas, g) for g in sm.gaps])
    m.update(spline_hess_error=sm.spline_hess_error, lmin_f=lmin_path[0],
             lmin_u=lmin_path[-1], lmin_step=float(np.diff(lmin_path).min()),
             gamma_max=sm.gammas[-1], int_f=ints[0], int_u=ints[-1],
             int_change=ints[-1] - ints[0],
             int_rel=float(np.abs(ints - ints[0]).max() / abs(ints[0])),
             gap_f=sm.gaps[0, -1], gap_u=sm.gaps[-1, -1],
             gap_growth=float((sm.gaps[-1] / sm.gaps[0]).min()),
             smooth_order_dev=float(np.abs(gap_slopes - 1).max()))
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in m.items()}


def claims(r: Result) -> list[Claim]:
    """The chapter's checks: GD vs the true flow, ReLU, curvature and bounds, SGD, smoothing."""
    m = measures(r)
    ec, s23, le = "Elkabetz–Cohen", "Sec. 2.3", "eq. (11)"
    return [
        # the linear network against the DOP853 flow
        Claim("ref_ratio", "tolerances ×1000 move the DOP853 flow by < 10% of the smallest "
              "gap (ratio)", m["ref_ratio"], hi=0.1, strict=True, paper="—", where="reference",
              status="check"),
        Claim("slope_lin", "linear net: gap at t = T is of order 1 in η", m["slope_lin"],
              0.95, 1.05, strict=True, paper="O(η)", where=ec, source="companion"),
        Claim("order_lin_dev", "linear net: order 1 at every checkpoint t ≥ T/10 "
              "(max |order − 1|)", m["order_lin_dev"], hi=0.05, strict=True,
              paper="O(η)", where=ec, source="companion"),
        Claim("collapse_spread", "linear net: gap/η at t = T is the same for every η "
              "(spread / value)", m["collapse_spread"], hi=0.05, strict=True,
              paper="GD ≈ GF", where=ec, source="companion"),
        # the ReLU network
        Claim("t_probe_frac", "ReLU: DOP853 stalls before T/10 within its budget "
              "(t reached / T)", m["t_probe_frac"], hi=0.1, strict=True, paper="—",
              where="Filippov flow", status="check"),
        Claim("nfev_ratio", "linear: the whole flow costs < 3 probe budgets "
              "(evaluations / budget)", m["nfev_ratio"], hi=3.0, strict=True, paper="—",
              where="reference", status="check"),
        Claim("flip_growth", "ReLU: flips of the most active unit grow ≥ 3× from η₀ to "
              f"η₀/{m['eta_ratio']:g}", m["flip_growth"], lo=3.0, paper="—",
              where="chattering", status="check"),
        Claim("order_relu_dev", "ReLU: successive differences of order 1 for t ∈ "
              "[T/20, T/4] (max |order − 1|)", m["order_relu_dev"], hi=0.1, strict=True,
              paper="O(η) needs C²", where=ec, source="companion"),
        # Lanczos convergence
        Claim("ritz_shift", "Lanczos: the Ritz value approaches λ_min from above "
              "(λ_k − λ_2k)", m["ritz_shift"], lo=-1e-12, paper="Ritz ≥ λ_min",
              where="Golub–Van Loan 10.1", status="check"),
        Claim("lanczos_rel", "Lanczos: doubling the iterations moves λ_min by < 5% "
              "(relative)", m["lanczos_rel"], hi=0.05, strict=True, paper="—",
              where="Lanczos", status="check"),
        Claim("lmax_rel", "Lanczos: λ_max has converged (relative change with 2k)",
              m["lmax_rel"], hi=1e-6, strict=True, paper="—", where="Lanczos",
              status="check"),
        # curvature and the bounds
        Claim("lmin0_lin", "linear net: λ_min < 0 at initialisation", m["lmin0_lin"],
              hi=0.0, strict=True, paper="λ_min < 0", where=ec, source="companion"),
        Claim("lmin0_relu", "ReLU net: λ_min < 0 at initialisation", m["lmin0_relu"],
              hi=0.0, strict=True, paper="λ_min < 0", where=ec, source="companion"),
        Claim("rise_lin", "linear net: |λ_min| falls below 30% of its initial value "
              "(|λ_T| / |λ_0|)", m["rise_lin"], hi=0.3, strict=True,
              paper="λ_min → 0", where=ec, source="companion"),
        Claim("rise_relu", "ReLU net: |λ_min| falls below 30% of its initial value "
              "(|λ_T| / |λ_0|)", m["rise_relu"], hi=0.3, strict=True,
              paper="λ_min → 0", where=ec, source="companion"),
        Claim("gap_bound_lin", "linear net: gap/η stays under the Grönwall bound "
              "(max ratio, 2% slack)", m["gap_bound_lin"], hi=1.02,
              paper="bound holds", where=ec, source="companion"),
        Claim("gron_minus_ec", "the Grönwall bound is below Elkabetz–Cohen's form "
              "(max difference)", m["gron_minus_ec"], hi=1e-12, paper="—", where=ec,
              status="check"),
        Claim("tight_lin", "Xavier weights: the bound is loose at t = T (bound / gap)",
              m["tight_lin"], lo=5.0, strict=True, paper="—", where=ec, status="check"),
        # near the saddle
        Claim("gap_bound_small", "near-saddle: gap/η stays under the Grönwall bound "
              "(max ratio, 2% slack)", m["gap_bound_small"], hi=1.02,
              paper="bound holds", where=ec, source="companion"),
        Claim("growth", "near-saddle: gap/η grows > 100× during the escape",
              m["growth"], lo=100.0, strict=True, paper="e^{−∫λ₋}", where=ec,
              source="companion"),
        Claim("ratio_max", "near-saddle: the bound is tight during the growth "
              "(max bound / gap)", m["ratio_max"], hi=1.35, strict=True,
              paper="e^{−∫λ₋}", where=ec, source="companion"),
        Claim("lmin_phase_max", "near-saddle: λ_min < −0.5 throughout the growth",
              m["lmin_phase_max"], hi=-0.5, strict=True, paper="λ_min < 0", where=ec,
              source="companion"),
        # SGD and its diffusion model
        Claim("slope_gd", f"GD's distance from the flow at t = {m['sgd_T']:g} is of order 1 "
              "in η",
              m["slope_gd"], 0.95, 1.05, strict=True, paper="O(η)", where=ec,
              source="companion"),
        Claim("slope_sgd", "SGD's rms distance from the flow is of order ½ in η",
              m["slope_sgd"], 0.35, 0.7, strict=True, paper="—", where=s23,
              status="check"),
        Claim("slope_sde", "the SDE model's rms distance is of order ½ in η",
              m["slope_sde"], 0.35, 0.7, strict=True, paper="—", where=s23,
              status="check"),
        Claim("ratio_lo", "the SDE reproduces SGD's spread (smallest rms ratio)",
              m["ratio_lo"], lo=0.8, strict=True, paper="SDE ≈ SGD", where=s23),
        Claim("ratio_hi", "the SDE reproduces SGD's spread (largest rms ratio)",
              m["ratio_hi"], hi=1.25, strict=True, paper="SDE ≈ SGD", where=s23),
        Claim("noise_factor", "SGD is > 5× farther from the flow than GD (smallest ratio)",
              m["noise_factor"], lo=5.0, strict=True, paper="—", where=s23,
              status="check"),
        # local entropy on the two-weight network
        Claim("spline_hess_error", "spline Hessian of f matches the analytic one "
              "along the flow", m["spline_hess_error"], hi=1e-5, strict=True, paper="—",
              where="grid", status="check"),
        Claim("lmin_step", "smoothing raises the worst λ_min along the path at each γ "
              "(smallest rise)", m["lmin_step"], lo=0.0, strict=True,
              paper="smoother", where=le),
        Claim("int_change", "but ∫λ₋ does not rise: it falls (u at γ_max minus f)",
              m["int_change"], hi=0.0, strict=True, paper="—", where=le, status="check"),
        Claim("int_rel", "∫λ₋ changes by < 20% over all γ (relative)", m["int_rel"],
              hi=0.2, strict=True, paper="—", where=le, status="check"),
        Claim("gap_growth", "the GD–GF gap of u(·, γ_max) exceeds f's at every η "
              "(smallest ratio)", m["gap_growth"], lo=1.0, strict=True, paper="—", where=le,
              status="check"),
        Claim("smooth_order_dev", "two-weight net: every gap is of order 1 in η "
              "(max |order − 1|)", m["smooth_order_dev"], hi=0.05, strict=True,
              paper="O(η)", where=ec, source="companion"),
    ]


def prose_values(r: Result) -> dict[str, float]:
    """The measures the prose quotes that are not claims (``report`` glues the claims)."""
    names = {c.name for c in claims(r)}
    return {k: v for k, v in measures(r).items() if k not in names}


# --------------------------------------------------------------------------- tables
def _g(v: float, fmt: str = ".4g") -> str:
    return format(float(v), fmt)


def linear_frame(r: Result):
    """Linear net at t = T, per eta: the gap to the flow and gap / eta."""
    import pandas as pd
    lin = r.lin
    return pd.DataFrame({"η": [_g(e) for e in lin.etas],
                         "|x_GD − x_GF| at T": [_g(g, ".3e") for g in lin.gaps[:, -1]],
                         "gap / η": [_g(g / e, ".4f") for g, e in
                                     zip(lin.gaps[:, -1], lin.etas)]}).set_index("η")


def flips_frame(r: Result):
    """ReLU net, per eta: sign changes of the pre-activations z_ij during the GD run."""
    import pandas as pd
    rows = [{"η": _g(e), "sign changes": f["total"], "surfaces crossed": f["crossed"],
             "crossed ≥ 3 times": f["chattering"], "most flips of one z_ij": f["max"]}
            for e, f in zip(r.relu.etas, r.relu.flips)]
    return pd.DataFrame(rows).set_index("η")


def curvature_frame(r: Result):
    """lambda_min, lambda_max along the linear flow and ReLU GD; gap / eta and the bound.

    The linear run has one checkpoint more (t = sgd_T, for the SGD runs): '—' in ReLU's
    columns there.
    """
    import pandas as pd
    lin, relu = r.lin, r.relu
    g = lin.gaps[-1] / lin.etas[-1]
    left = pd.DataFrame({
        "λ_min linear": [_g(v, ".3f") for v in lin.lam_min],
        "λ_max linear": [_g(v, ".1f") for v in lin.lam_max],
        f"gap/η (η={lin.etas[-1]:g})": [_g(v, ".4f") for v in g],
        "Grönwall bound": [_g(v, ".4f") for v in lin.bounds["gronwall"]]},
        index=np.round(lin.times, 12))
    right = pd.DataFrame({"λ_min ReLU": [_g(v, ".3f") for v in relu.lam_min],
                          "λ_max ReLU": [_g(v, ".1f") for v in relu.lam_max]},
                         index=np.round(relu.times, 12))
    out = left.join(right, how="outer").fillna("—").sort_index()
    out = out[["λ_min linear", "λ_min ReLU", "λ_max linear", "λ_max ReLU",
               f"gap/η (η={lin.etas[-1]:g})", "Grönwall bound"]]
    out.index = [_g(t, ".3f") for t in out.index]
    out.index.name = "t"
    return out


def saddle_frame(r: Result):
    """Near-saddle run per checkpoint: loss, lambda_min, gap / eta, the bound, their ratio."""
    import pandas as pd
    s = r.small
    g = s.gaps[-1] / s.etas[-1]
    phase = set(growth_phase(g).tolist())
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s.bounds["gronwall"] / g
    return pd.DataFrame({
        "t": [_g(t, ".3f") for t in s.times],
        "loss": [_g(v, ".4f") for v in s.loss_gf],
        "λ_min": [_g(v, ".3f") for v in s.lam_min],
        f"gap/η (η={s.etas[-1]:g})": [_g(v, ".3e") for v in g],
        "Grönwall bound": [_g(v, ".3e") for v in s.bounds["gronwall"]],
        "bound / gap": ["—" if j == 0 else _g(v, ".2f") for j, v in enumerate(ratio)],
        "escape": ["yes" if j in phase else "" for j in range(len(s.times))],
    }).set_index("t")


def sgd_frame(r: Result):
    """Per eta: GD's distance from the flow at sgd_T, SGD's and the SDE's rms distances."""
    import pandas as pd
    s = r.sgd
    return pd.DataFrame({"η": [_g(e) for e in s.etas],
                         "GD": [_g(v, ".3e") for v in s.gap_gd],
                         "SGD (rms)": [_g(v, ".3e") for v in s.rms_sgd],
                         "SDE (rms)": [_g(v, ".3e") for v in s.rms_sde],
                         "SDE / SGD": [_g(v, ".3f") for v in s.rms_sde / s.rms_sgd]}
                        ).set_index("η")


def smoothing_frame(r: Result):
    """Per gamma: worst lambda_min on the path, int lambda_-, GD-GF gaps, their order, f(T)."""
    import pandas as pd
    sm = r.smoothing
    rows = []
    for g, lm, il, gaps, fe in zip(sm.gammas, sm.lam_min.min(axis=1), sm.int_lambda_minus,
                                   sm.gaps, sm.f_end):
        row = {"γ": _g(g), "min λ_min": _g(lm, ".3f"), "∫λ₋": _g(il, ".3f")}
        row.update({f"gap, η={e:g}": _g(v, ".2e") for e, v in zip(sm.etas, gaps)})
        row.update({"order": _g(fit_order(sm.etas, gaps), ".3f"), "f at T": _g(fe, ".4f")})
        rows.append(row)
    return pd.DataFrame(rows).set_index("γ")


# --------------------------------------------------------------------------- figures
LEGEND = 10     # legend font size (pt)
STYLE = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11,
         "xtick.labelsize": 10, "ytick.labelsize": 10}   # readable at the text width


_styled = styled(STYLE)


def _legend_below(ax, handles=None, labels=None, ncol: int = 2) -> None:
    """The legend under the axes (crowded panels), in ``ncol`` columns."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, fontsize=LEGEND, ncol=ncol, loc="upper center",
              bbox_to_anchor=(0.5, -0.2), frameon=False)


def _plain_minor_ticks(ax, xticks=None) -> None:
    """No labels on a log axis' minor ticks (they collide over less than a decade); the
    step sizes ``xticks`` as labelled ticks instead."""
    from matplotlib.ticker import NullFormatter
    ax.xaxis.set_minor_formatter(NullFormatter())
    if xticks is not None:
        ax.set_xticks(list(xticks), [f"{v:g}" for v in xticks])


@_styled
def figure_gd_vs_gf(r: Result):
    """Linear net: loss of GF and GD against time; |x_GD - x_GF| next to the distance travelled."""
    import matplotlib.pyplot as plt
    run_ = r.lin
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
    axes[0].plot(run_.times, run_.loss_gf, "k-", lw=2, label="gradient flow (DOP853)")
    for eta, loss in zip(run_.etas, run_.loss_gd):
        axes[0].plot(run_.times, loss, "o", ms=3, label=f"GD, $\\eta={eta:g}$")
    axes[0].set_xlabel("time $t = k\\eta$")
    axes[0].set_ylabel("training loss")
    axes[0].legend(fontsize=LEGEND)
    axes[1].semilogy(run_.times[1:], run_.travelled[1:], "k-", lw=2,
                     label="$|x_{GF}(t) - x(0)|$")
    for eta, gap in zip(run_.etas, run_.gaps):
        axes[1].semilogy(run_.times[1:], gap[1:], "o-", ms=3,
                         label=f"$|x_{{GD}} - x_{{GF}}|$, $\\eta={eta:g}$")
    axes[1].set_xlabel("time $t$")
    axes[1].set_ylabel("distance in weight space")
    _legend_below(axes[1])
    fig.tight_layout()
    return fig


@_styled
def figure_gap_order(r: Result):
    """Linear net: gap at T against eta (log-log, fitted slope); gap / eta against time."""
    import matplotlib.pyplot as plt

    lin, p = r.lin, r.params
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    loglog_rate(axes[0], lin.etas, lin.gaps[:, -1], f"gap at $t={p.T:g}$")
    axes[0].set_xlabel("step size $\\eta$")
    axes[0].set_ylabel("$|x_{GD}(T) - x_{GF}(T)|$")
    axes[0].legend(fontsize=LEGEND)
    _plain_minor_ticks(axes[0], lin.etas)
    for eta, gap in zip(lin.etas, lin.gaps):
        axes[1].plot(lin.times[1:], gap[1:] / eta, "o-", ms=3, label=f"$\\eta={eta:g}$")
    axes[1].set_xlabel("time $t$")
    axes[1].set_ylabel("$|x_{GD} - x_{GF}|\\,/\\,\\eta$")
    axes[1].legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig


@_styled
def figure_orders(r: Result):
    """Fitted order in eta against time: linear (to the flow, successive), ReLU (successive)."""
    import matplotlib.pyplot as plt
    lin, relu = r.lin, r.relu
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(lin.times[1:], local_orders(lin)[1:], "o-", ms=4, label="linear: gap to the flow")
    ax.plot(lin.times[1:], local_orders(lin, successive=True)[1:], "s:", ms=4,
            label="linear: successive differences")
    ax.plot(relu.times[1:], local_orders(relu)[1:], "^-", ms=4,
            label="ReLU: successive differences")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xlabel("time $t$")
    ax.set_ylabel("fitted order in $\\eta$")
    ax.legend(fontsize=LEGEND, loc="lower left")
    fig.tight_layout()
    return fig


def _gap_and_bounds(ax, run_: GDGFRun, title: str) -> None:
    t = run_.times
    for eta, gap in zip(run_.etas, run_.gaps):
        ax.semilogy(t[1:], gap[1:] / eta, "o-", ms=3, label=f"$\\eta={eta:g}$")
    ax.semilogy(t[1:], run_.bounds["gronwall"][1:], "k-", lw=1.5, label="Grönwall bound")
    ax.semilogy(t[1:], run_.bounds["ec"][1:], "k--", lw=1, label="Elkabetz–Cohen form")
    ax.semilogy(t, np.exp(-run_.bounds["int_lambda_minus"]), color="tab:purple", lw=1,
                label="$e^{-\\int_0^t\\lambda_-}$")
    ax.set_xlabel("time $t$")
    ax.set_ylabel("gap$/\\eta$ (coloured) and bounds")
    ax.set_title(title, fontsize=10)
    _legend_below(ax)


@_styled
def figure_curvature(r: Result):
    """lambda_min (solid) and lambda_max (dotted, right axis) along both trajectories; the
    linear net's gap / eta against both leading-order bounds and exp(-int lambda_-)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 5.2))
    ax, ax2 = axes[0], axes[0].twinx()
    for (name, run_), c in zip((("linear flow", r.lin), ("ReLU GD", r.relu)),
                               ("tab:blue", "tab:orange")):
        ax.plot(run_.times, run_.lam_min, "o-", ms=3, color=c,
                label=f"$\\lambda_{{\\min}}$, {name}")
        ax2.plot(run_.times, run_.lam_max, ":", color=c, label=f"$\\lambda_{{\\max}}$, {name}")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("time $t$")
    ax.set_ylabel("$\\lambda_{\\min}(\\nabla^2 f)$ (solid)")
    ax2.set_ylabel("$\\lambda_{\\max}$ (dotted)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    _legend_below(ax, h1 + h2, l1 + l2)
    _gap_and_bounds(axes[1], r.lin, "linear network, Xavier initialisation")
    fig.tight_layout()
    return fig


@_styled
def figure_saddle(r: Result):
    """Near-saddle run: loss and lambda_min along the flow; gap / eta against the bounds."""
    import matplotlib.pyplot as plt
    s = r.small
    fig, axes = plt.subplots(1, 2, figsize=(9, 5))
    axes[0].plot(s.times, s.loss_gf, "k-", label="loss along the flow (left axis)")
    ax2 = axes[0].twinx()
    ax2.plot(s.times, s.lam_min, "o-", color="tab:blue", ms=3,
             label="$\\lambda_{\\min}$ (right axis)")
    ax2.set_ylabel("$\\lambda_{\\min}$", color="tab:blue")
    axes[0].set_xlabel("time $t$")
    axes[0].set_ylabel("training loss")
    h1, l1 = axes[0].get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    _legend_below(axes[0], h1 + h2, l1 + l2, ncol=1)
    _gap_and_bounds(axes[1], s, f"linear network, weights × {r.params.small_init:g}")
    fig.tight_layout()
    return fig


@_styled
def figure_sgd(r: Result):
    """Log-log distances from the flow: GD (order 1), SGD and its SDE (order 1/2)."""
    import matplotlib.pyplot as plt

    s = r.sgd
    fig, ax = plt.subplots(figsize=(6.5, 4))
    loglog_rate(ax, s.etas, s.gap_gd, "GD", "s")
    loglog_rate(ax, s.etas, s.rms_sgd, f"SGD, $B={s.batch}$ (rms)", "o")
    loglog_rate(ax, s.etas, s.rms_sde, "SDE model (rms)", "^")
    ax.set_xlabel("step size $\\eta$")
    ax.set_ylabel(f"distance from $x_{{GF}}({s.T:g})$")
    ax.legend(fontsize=LEGEND)
    _plain_minor_ticks(ax, s.etas)
    fig.tight_layout()
    return fig


@_styled
def figure_smoothing(r: Result):
    """Flows of f and of u(., gamma) over the landscape; lambda_min along each flow."""
    import matplotlib.pyplot as plt
    sm = r.smoothing
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    a = sm.grid[0]
    shown = np.abs(a) <= 1.5
    axes[0].contour(a[shown], a[shown], sm.f_grid[np.ix_(shown, shown)].T, levels=30,
                    colors="0.7", linewidths=0.6)
    for g, path, lm in zip(sm.gammas, sm.paths, sm.lam_min):
        lab = "$f$" if g == 0 else f"$u(\\cdot,{g:g})$"
        axes[0].plot(path[:, 0], path[:, 1], lw=1.5, label=f"flow of {lab}")
        axes[1].plot(sm.times, lm, lw=1.5, label=lab)
    axes[0].plot(*sm.paths[0][0], "k*", ms=9)
    axes[0].set_xlabel("$w_1$")
    axes[0].set_ylabel("$w_2$")
    axes[0].legend(fontsize=LEGEND)
    axes[1].axhline(0.0, color="k", lw=0.5)
    axes[1].set_xlabel("time $t$")
    axes[1].set_ylabel("$\\lambda_{\\min}$ along the flow")
    axes[1].legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig
