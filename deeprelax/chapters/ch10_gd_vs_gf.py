"""Gradient descent vs gradient flow (Elkabetz & Cohen 2021), measured against a true flow.

Gradient descent x_{k+1} = x_k - eta grad f(x_k) is the explicit Euler scheme for the
gradient flow x'(t) = -grad f(x(t)). Elkabetz & Cohen bound the gap at t = k eta by
roughly ``eta * t * sup|H grad f| / 2 * exp(-int_0^t lambda_-)`` with
``lambda_- = min(lambda_min(H), 0)`` along the flow (H the Hessian of f). Their
experiments compare GD at eta_0 with GD at eta_0 / r as a proxy for the flow; here the
reference is the flow itself, integrated by DOP853 (an adaptive 8th-order Runge-Kutta
method) with tight tolerances on the flat weight vector, and lambda_min is computed by
Lanczos iterations on Hessian-vector products.

The same measurement is made for minibatch SGD (eq. (7)) and for its diffusion model
of Sec. 2.3 (SGD): dX = -grad f dt + (eta c Sigma(X) / B)^{1/2} dW, with Sigma the
per-sample gradient covariance, and, on a two-weight network, for the local entropy
u(., gamma) of eq. (11).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..params import ParamError, Params, knob
from ..stats import fit_order
from ..runtime import progress, resolve_device

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081   # torchvision's MNIST normalisation (their code)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class GDGFParams(Params):
    """Chapter 'GD vs GF': network, horizons, step sizes, solver and Lanczos settings."""

    hidden: int = knob(16, lo=1, hi=1024, doc="width of both hidden layers (paper: 50)")
    n_train: int = knob(1000, lo=10, hi=1200, doc="training images, every 50th of MNIST's")
    T: float = knob(1.0, lo=0.01, hi=100.0, doc="horizon of the Xavier-initialised runs")
    eta0: float = knob(0.01, lo=1e-6, hi=1.0, doc="largest GD step size")
    ratios: tuple[int, ...] = knob((1, 2, 4, 8), doc="GD runs at eta0 / r for each r")
    small_init: float = knob(0.2, lo=1e-4, hi=10.0,
                             doc="scale of the Xavier weights in the near-saddle run")
    T_small: float = knob(4.0, lo=0.01, hi=100.0, doc="horizon of the near-saddle run")
    eta0_small: float = knob(0.02, lo=1e-6, hi=1.0, doc="largest step of the near-saddle run")
    ratios_small: tuple[int, ...] = knob((1, 2), doc="GD runs of the near-saddle run")
    n_checkpoints: int = knob(12, lo=2, hi=400, doc="times (square-root spaced) of the records")
    rtol: float = knob(1e-10, lo=1e-14, hi=1e-3, doc="DOP853 relative tolerance")
    atol: float = knob(1e-12, lo=1e-16, hi=1e-3, doc="DOP853 absolute tolerance")
    relu_probe_nfev: int = knob(300, lo=12, hi=10**7,
                                doc="DOP853 evaluations allowed on the ReLU flow (a probe)")
    lanczos_iters: int = knob(30, lo=2, hi=500, doc="Lanczos iterations per Hessian")
    sgd_batch: int = knob(100, lo=1, hi=1200, doc="SGD minibatch size B")
    sgd_T: float = knob(0.5, lo=0.01, hi=100.0, doc="horizon of the SGD / SDE runs")
    sgd_etas: tuple[float, ...] = knob((0.02, 0.01, 0.005), doc="SGD step sizes")
    sgd_seeds: int = knob(4, lo=1, hi=1000, doc="independent SGD / SDE runs per step size")
    seed: int = knob(0, lo=0, hi=2**31 - 1, doc="seed of the initial weights and the noise")
    device: str = knob("cpu", doc="'cpu' or 'cuda[:N]' (torch device of the network)")

    PRESETS = {
        "fast": {},
        "paper": {"hidden": 50, "T": 10.0, "eta0": 1e-3, "ratios": (1, 2, 5, 10, 20),
                  "T_small": 10.0, "eta0_small": 2e-3, "ratios_small": (1, 2, 5, 10),
                  "n_checkpoints": 40, "lanczos_iters": 60, "relu_probe_nfev": 20000,
                  "sgd_T": 2.0, "sgd_etas": (2e-3, 1e-3, 5e-4, 2.5e-4), "sgd_seeds": 16,
                  "device": "cuda"},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("ratios", "ratios_small"):
            r = getattr(self, name)
            if not r or any(x < 1 for x in r) or list(r) != sorted(set(r)):
                raise ParamError(f"GDGFParams.{name} must be increasing integers >= 1, got {r}")
        if not self.sgd_etas or any(e <= 0 for e in self.sgd_etas):
            raise ParamError(f"GDGFParams.sgd_etas must be positive, got {self.sgd_etas}")
        if self.sgd_batch > self.n_train:
            raise ParamError(f"GDGFParams.sgd_batch={self.sgd_batch} exceeds n_train="
                             f"{self.n_train}; choose a batch no larger than the data set")
        if self.sgd_T > self.T:
            raise ParamError(f"GDGFParams.sgd_T={self.sgd_T} must not exceed T={self.T} "
                             "(the SGD runs reuse the flow's checkpoints)")
        checks = [("eta0", self.eta0, self.T), ("eta0", self.eta0, self.sgd_T),
                  ("eta0_small", self.eta0_small, self.T_small)]
        checks += [("sgd_etas", e, self.sgd_T) for e in self.sgd_etas]
        for name, step, horizon in checks:
            if abs(horizon / step - round(horizon / step)) > 1e-6 or horizon < step:
                raise ParamError(f"GDGFParams.{name}: step {step} does not divide the "
                                 f"horizon {horizon}; pick steps with T/eta an integer")


# --------------------------------------------------------------------------- data, network
def mnist_subset(n: int = 1000, stride: int = 50, root=None):
    """Elkabetz & Cohen's training set: images 0, 50, 100, ... of MNIST, normalised, as numpy."""
    from ..data import load_mnist
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


def make_net(p: GDGFParams, activation: str, data=None) -> FlatNet:
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


def gradient_flow(net: FlatNet, x0, times, rtol: float = 1e-10, atol: float = 1e-12,
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
        r.gf_states, r.nfev = gradient_flow(net, x0, times, rtol, atol)
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


# --------------------------------------------------------------------------- local entropy
@dataclass(frozen=True)
class SmoothingParams(Params):
    """Two-weight network: does the local entropy u(., gamma) raise lambda_min along the flow?"""

    gammas: tuple[float, ...] = knob((0.0, 0.25, 0.5, 1.0), doc="smoothing times gamma (0 = f)")
    beta: float = knob(5.0, lo=0.01, hi=1e4, doc="inverse temperature of eq. (11)")
    box: float = knob(4.0, lo=1.0, hi=50.0, doc="grid half-width in each weight")
    n_grid: int = knob(401, lo=41, hi=4001, doc="grid points per axis")
    w0: tuple[float, float] = knob((0.1, 0.05), doc="initial weights (w1, w2), near the saddle")
    T: float = knob(8.0, lo=0.1, hi=1000.0, doc="flow horizon")
    etas: tuple[float, ...] = knob((0.2, 0.1, 0.05), doc="GD steps for the gap")
    n_times: int = knob(161, lo=3, hi=100001, doc="records along the flow")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="unused: NumPy on the CPU")

    PRESETS = {"fast": {}, "paper": {"n_grid": 801, "n_times": 801}}

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(g < 0 for g in self.gammas) or not self.gammas:
            raise ParamError(f"SmoothingParams.gammas must be >= 0, got {self.gammas}")
        if any(abs(w) >= self.box for w in self.w0):
            raise ParamError("SmoothingParams.w0 must lie inside the grid box")
        for e in self.etas:
            if e <= 0 or abs(self.T / e - round(self.T / e)) > 1e-6:
                raise ParamError(f"SmoothingParams.etas: {e} must be > 0 and divide T={self.T}")


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
    from ..local_entropy import local_entropy
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


def run_smoothing(p: SmoothingParams) -> SmoothingRun:
    """Local entropy of the two-weight network, its gradient flows and their curvature."""
    tiny = TinyNet()
    a = np.linspace(-p.box, p.box, p.n_grid)
    F = tiny.value(*np.meshgrid(a, a, indexing="ij"))
    times = np.linspace(0.0, p.T, p.n_times)
    paths, lmins, ints, fend, gaps = [], [], [], [], []
    herr = np.nan
    for g in p.gammas:
        u = GridFunction((a, a), F) if g == 0 else local_entropy_2d(F, (a, a), g, p.beta)
        path = flow_2d(u.grad, p.w0, times)
        lm = np.array([np.linalg.eigvalsh(u.hess(w))[0] for w in path])
        if g == 0:
            herr = max(np.abs(u.hess(w) - tiny.hess(w)).max() for w in path)
        paths.append(path)
        lmins.append(lm)
        ints.append(_cumtrapz(np.minimum(lm, 0.0), times)[-1])
        fend.append(float(tiny.value(*path[-1])))
        gaps.append([np.linalg.norm(gd_2d(u.grad, p.w0, e, p.T) - path[-1]) for e in p.etas])
    return SmoothingRun(np.array(p.gammas), times, paths, np.array(lmins), np.array(ints),
                        np.array(fend), np.array(gaps), np.array(p.etas), (a, a), F,
                        float(herr))


# --------------------------------------------------------------------------- figures
def local_orders(run: GDGFRun) -> np.ndarray:
    """Fitted order in eta per checkpoint: gap to the flow if known, else successive differences."""
    out = np.full(len(run.times), np.nan)
    for j in range(1, len(run.times)):
        if run.gaps is not None:
            out[j] = fit_order(run.etas, run.gaps[:, j])
        else:
            d = (run.states_gd[:-1, j] - run.states_gd[1:, j]).norm(dim=1).cpu().numpy()
            out[j] = fit_order(run.etas[:-1] - run.etas[1:], d)
    return out


def plot_gd_vs_gf(run: GDGFRun, axes=None):
    """Loss of GF and GD against time; |x_GD - x_GF| next to the distance travelled."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].plot(run.times, run.loss_gf, "k-", lw=2, label="gradient flow (DOP853)")
    for eta, loss in zip(run.etas, run.loss_gd):
        axes[0].plot(run.times, loss, "o", ms=3, label=f"GD $\\eta={eta:g}$")
    axes[0].set_xlabel("time $t = k\\eta$")
    axes[0].set_ylabel("training loss")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(run.times[1:], run.travelled[1:], "k-", lw=2,
                     label="$|x_{GF}(t) - x(0)|$ (distance travelled)")
    for eta, gap in zip(run.etas, run.gaps):
        axes[1].semilogy(run.times[1:], gap[1:], "o-", ms=3,
                         label=f"$|x_{{GD}} - x_{{GF}}|$, $\\eta={eta:g}$")
    axes[1].set_xlabel("time $t$")
    axes[1].legend(fontsize=7, loc="center right")
    plt.tight_layout()
    return axes


def plot_curvature(runs: dict, ax=None):
    """lambda_min (solid) and lambda_max (dotted, right axis) along each trajectory."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    ax2 = ax.twinx()
    for (name, r), c in zip(runs.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        ax.plot(r.times, r.lam_min, "o-", ms=3, color=c, label=f"$\\lambda_{{\\min}}$, {name}")
        ax2.plot(r.times, r.lam_max, ":", color=c)
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("time $t$")
    ax.set_ylabel("$\\lambda_{\\min}(\\nabla^2 f)$ (solid)")
    ax2.set_ylabel("$\\lambda_{\\max}$ (dotted)")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_gap_and_bounds(run: GDGFRun, ax=None, title: str = ""):
    """|x_GD - x_GF| / eta against both leading-order bounds and exp(-int lambda_-)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    t = run.times
    for eta, gap in zip(run.etas, run.gaps):
        ax.semilogy(t[1:], gap[1:] / eta, "o-", ms=3,
                    label=f"measured gap$/\\eta$, $\\eta={eta:g}$")
    ax.semilogy(t[1:], run.bounds["gronwall"][1:], "k-", lw=1.5,
                label="$\\int_0^t e^{-\\int_s^t\\lambda_{\\min}}\\,|Hg|/2\\,ds$")
    ax.semilogy(t[1:], run.bounds["ec"][1:], "k--", lw=1,
                label="$\\frac{t}{2}\\sup|Hg|\\,e^{-\\int_0^t\\lambda_-}$ (Elkabetz-Cohen)")
    ax.semilogy(t, np.exp(-run.bounds["int_lambda_minus"]), color="tab:purple", lw=1,
                label="$e^{-\\int_0^t\\lambda_-}$")
    ax.set_xlabel("time $t$")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ax


def plot_sgd(res: SGDRun, ax=None):
    """Log-log distances from the flow: GD (order 1), SGD and its SDE (order 1/2)."""
    import matplotlib.pyplot as plt

    from ..plotting import loglog_rate
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    slopes = {"gd": loglog_rate(ax, res.etas, res.gap_gd, "GD", "s"),
              "sgd": loglog_rate(ax, res.etas, res.rms_sgd, f"SGD, $B={res.batch}$ (rms)", "o"),
              "sde": loglog_rate(ax, res.etas, res.rms_sde, "SDE model (rms)", "^")}
    ax.set_xlabel("step size $\\eta$")
    ax.set_ylabel(f"distance from $x_{{GF}}({res.T:g})$")
    ax.legend(fontsize=8)
    return slopes


def plot_smoothing(res: SmoothingRun, axes=None):
    """Flows of f and of u(., gamma) over the landscape; lambda_min along each flow."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4))
    a = res.grid[0]
    shown = np.abs(a) <= 2.5
    axes[0].contour(a[shown], a[shown], res.f_grid[np.ix_(shown, shown)].T, levels=30,
                    colors="0.7", linewidths=0.6)
    for g, path, lm in zip(res.gammas, res.paths, res.lam_min):
        lab = "$f$" if g == 0 else f"$u(\\cdot,{g:g})$"
        axes[0].plot(path[:, 0], path[:, 1], lw=1.5, label=f"flow of {lab}")
        axes[1].plot(res.times, lm, lw=1.5, label=lab)
    axes[0].plot(*res.paths[0][0], "k*", ms=8)
    axes[0].set_xlabel("$w_1$")
    axes[0].set_ylabel("$w_2$")
    axes[0].legend(fontsize=8)
    axes[1].axhline(0.0, color="k", lw=0.5)
    axes[1].set_xlabel("time $t$")
    axes[1].set_ylabel("$\\lambda_{\\min}$ of the Hessian along the flow")
    axes[1].legend(fontsize=8)
    plt.tight_layout()
    return axes
