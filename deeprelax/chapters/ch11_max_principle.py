"""Training as optimal control: the maximum principle and successive approximations.

Li, Chen, Tai & E (2018) read a residual network as a discrete control system,
``x_{n+1} = g_n(x_n, theta_n) = x_n + delta * tanh(W_n x_n + b_n)``, n = 0, ..., N-1
("time = depth"), with the weights theta_n = (W_n, b_n) as the control. With the
Hamiltonian ``H_n(x, p, theta) = p . g_n(x, theta) - R(theta)`` (R = reg |theta|^2 / 2),
Pontryagin's maximum principle (PMP) says that optimal weights satisfy

- state:   x_{n+1} = grad_p H_n = g_n(x_n, theta_n),
- costate: p_n = grad_x H_n(x_n, p_{n+1}, theta_n), p_N = -grad Phi(x_N),
- maximum: theta_n maximises sum_s H_n(x_n^s, p_{n+1}^s, theta).

The costate recursion is back-propagation: p_n = -dL/dx_n. The basic method of
successive approximations (MSA) alternates the three; the extended MSA (E-MSA) maximises
the augmented Hamiltonian ``H - rho/2 |x_{n+1} - g_n|^2 - rho/2 |p_n - grad_x H_n|^2``
instead, which keeps the update close to the current states and costates.

The linear-quadratic (LQ) part solves the same control problem by dynamic programming:
the Hamilton-Jacobi-Bellman equation reduces to a Riccati equation, and the PMP costate
along the optimal path equals -grad_x of the value function. Deep Relaxation's Sec. 5
uses the same HJB with the roles changed: time = training, state = weights.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..params import Params, knob


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class MSAToyParams(Params):
    """The toy problem of Li et al.: fit sin on [-pi, pi] with a 20-layer residual tanh net."""

    n_train: int = knob(100, lo=2, hi=100000, doc="training points x ~ U(-pi, pi)")
    n_test: int = knob(100, lo=1, hi=100000, doc="test points")
    width: int = knob(5, lo=1, hi=256, doc="state dimension (input repeated, output summed)")
    layers: int = knob(20, lo=1, hi=1000, doc="residual layers N")
    delta: float = knob(0.25, lo=1e-4, hi=10.0, doc="residual step delta")
    rho: float = knob(1.0, lo=0.0, hi=1e6, doc="E-MSA penalty rho")
    reg: float = knob(1e-3, lo=0.0, hi=10.0, doc="weight decay reg |theta_n|^2 / 2 per layer")
    msa_iters: int = knob(100, lo=1, hi=100000, doc="MSA / E-MSA iterations (paper: 500)")
    bp_iters: int = knob(500, lo=1, hi=10**6, doc="full-batch SGD / Adagrad / Adam steps")
    maxiter: int = knob(10, lo=1, hi=10000, doc="L-BFGS iterations per Hamiltonian maximisation")
    perturb: float = knob(0.005, lo=0.0, hi=1.0,
                          doc="uniform perturbation of the L-BFGS start (breaks symmetry)")
    lr_sgd: float = knob(0.1, lo=0.0, hi=100.0, doc="SGD learning rate")
    lr_adagrad: float = knob(0.1, lo=0.0, hi=100.0, doc="Adagrad learning rate")
    lr_adam: float = knob(0.005, lo=0.0, hi=100.0, doc="Adam learning rate")
    seed: int = knob(1, lo=0, hi=2**31 - 1, doc="seed of the data and the perturbations")
    device: str = knob("cpu", choices=("cpu", "cuda"),
                       doc="unused: the toy is too small for a GPU to help; runs on the CPU")

    PRESETS = {"fast": {}, "paper": {"msa_iters": 500}}


# --------------------------------------------------------------------------- the network
def toy_data(n_train: int, n_test: int, width: int, seed: int):
    """x ~ U(-pi, pi) repeated ``width`` times, y = sin x (their toy set-up), float64 tensors."""
    import torch
    rng = np.random.default_rng(seed)
    out = []
    for n in (n_train, n_test):
        x = rng.uniform(-np.pi, np.pi, (n, 1))
        out += [torch.tensor(np.repeat(x, width, axis=1)), torch.tensor(np.sin(x))]
    return tuple(out)


def zeros(layers: int, width: int):
    """theta = (W, b) = 0, their initialisation (kernel and bias initialisers 0)."""
    import torch
    return (torch.zeros(layers, width, width, dtype=torch.float64),
            torch.zeros(layers, width, dtype=torch.float64))


def forward(W, b, x0, delta: float, retain: bool = False):
    """States x_0, ..., x_N of x_{n+1} = x_n + delta tanh(W_n x_n + b_n); shape (N+1, S, d)."""
    import torch
    xs, x = [x0], x0
    for n in range(W.shape[0]):
        x = x + delta * torch.tanh(x @ W[n].T + b[n])
        if retain and x.requires_grad:
            x.retain_grad()
        xs.append(x)
    return xs if retain else torch.stack(xs)


def terminal_loss(xN, y):
    """Phi(x_N) = mean_s (sum_j x_N^{s,j} - y^s)^2 (their loss: summed output, mean square)."""
    return ((xN.sum(dim=1, keepdim=True) - y) ** 2).mean()


def regulariser(W, b, reg: float):
    """R(theta_n) = reg |theta_n|^2 / 2 for each layer; shape (N,)."""
    return 0.5 * reg * (W.pow(2).sum(dim=(1, 2)) + b.pow(2).sum(dim=1))


def total_loss(W, b, x0, y, delta: float, reg: float):
    """L(theta) = Phi(x_N) + sum_n R(theta_n), the objective all methods minimise."""
    return terminal_loss(forward(W, b, x0, delta)[-1], y) + regulariser(W, b, reg).sum()


def costate(xs, W, b, y, delta: float):
    """p_N = -grad Phi(x_N), p_n = grad_x H_n = p_{n+1} + delta W_n^T (p_{n+1} * sech^2(z_n)).

    grad Phi(x_N)^{s,j} = (2/S)(sum_k x_N^{s,k} - y^s) for every component j.
    """
    import torch
    xN = xs[-1]
    p = (-2.0 / xN.shape[0]) * (xN.sum(dim=1, keepdim=True) - y).expand_as(xN)
    ps = [p]
    for n in reversed(range(W.shape[0])):
        z = xs[n] @ W[n].T + b[n]
        p = p + delta * ((p * (1 - torch.tanh(z) ** 2)) @ W[n])
        ps.append(p)
    return torch.stack(ps[::-1])


def hamiltonian(W, b, xs, ps, delta: float, reg: float):
    """H_n = sum_s p_{n+1}^s . g_n(x_n^s, theta_n) - R(theta_n) for every layer; shape (N,)."""
    import torch
    x = xs[:-1]
    g = x + delta * torch.tanh(torch.einsum("nsd,ned->nse", x, W) + b[:, None, :])
    return (ps[1:] * g).sum(dim=(1, 2)) - regulariser(W, b, reg)


def augmented_hamiltonian(W, b, xs, ps, delta: float, reg: float, rho: float):
    """E-MSA's augmented Hamiltonian, one value per layer (shape (N,)).

    H~_n = H_n - rho/2 |x_{n+1} - g_n(x_n, theta)|^2
           - rho/2 |p_n - grad_x H_n(x_n, p_{n+1}, theta)|^2.
    """
    import torch
    x, P = xs[:-1], ps[1:]
    th = torch.tanh(torch.einsum("nsd,ned->nse", x, W) + b[:, None, :])
    g = x + delta * th
    H = (P * g).sum(dim=(1, 2)) - regulariser(W, b, reg)
    if rho == 0:
        return H
    dHdx = P + delta * torch.einsum("nse,ned->nsd", P * (1 - th**2), W)
    return (H - 0.5 * rho * ((xs[1:] - g) ** 2).sum(dim=(1, 2))
            - 0.5 * rho * ((ps[:-1] - dHdx) ** 2).sum(dim=(1, 2)))


def pmp_identities(W, b, x0, y, delta: float, reg: float) -> dict:
    """Max errors of p_n = -dL/dx_n and grad_theta H_n = -dL/dtheta_n (autograd on the full L)."""
    import torch
    W = W.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    xs = forward(W, b, x0, delta, retain=True)
    L = terminal_loss(xs[-1], y) + regulariser(W, b, reg).sum()
    dW, db = torch.autograd.grad(L, (W, b), retain_graph=True)
    dxs = torch.autograd.grad(L, xs[1:])     # dL/dx_n for n = 1..N (x_0 is data)
    with torch.no_grad():
        ps = costate(torch.stack([x.detach() for x in xs]), W.detach(), b.detach(), y, delta)
    costate_err = max(float((ps[n + 1] + dxs[n]).abs().max()) for n in range(len(dxs)))
    H = hamiltonian(W, b, torch.stack([x.detach() for x in xs]), ps, delta, reg).sum()
    hW, hb = torch.autograd.grad(H, (W, b))
    ham_err = max(float((hW + dW).abs().max()), float((hb + db).abs().max()))
    scale = max(float(dW.abs().max()), float(db.abs().max()))
    return {"costate": costate_err, "hamiltonian_grad": ham_err, "grad_scale": scale}


# --------------------------------------------------------------------------- training
@dataclass
class History:
    """Loss per iteration (index 0 = initial) and cumulative wall-clock seconds."""

    name: str
    loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    wall: list = field(default_factory=list)
    theta_norm: list = field(default_factory=list)


def msa_step(W, b, x0, y, delta: float, reg: float, rho: float, maxiter: int,
             perturb: float, rng: np.random.Generator):
    """One (E-)MSA iteration: forward states, costates, then maximise sum_n H~_n by L-BFGS.

    rho = 0 is the basic MSA (maximise H itself). The N layer-wise maximisations are
    independent given (x, p); we run them as one L-BFGS-B problem on the separable sum.
    """
    import torch
    from scipy.optimize import minimize
    with torch.no_grad():
        xs = forward(W, b, x0, delta)
        ps = costate(xs, W, b, y, delta)
    nW = W.numel()
    start = torch.cat([W.reshape(-1), b.reshape(-1)]).numpy()
    if perturb:
        start = start + perturb * rng.uniform(-1.0, 1.0, start.shape)

    def objective(v):
        t = torch.tensor(v, requires_grad=True)
        val = -augmented_hamiltonian(t[:nW].view_as(W), t[nW:].view_as(b), xs, ps,
                                     delta, reg, rho).sum()
        (grad,) = torch.autograd.grad(val, t)
        return float(val.detach()), grad.numpy()

    res = minimize(objective, start, jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter})
    v = torch.tensor(res.x)
    return v[:nW].view_as(W).clone(), v[nW:].view_as(b).clone()


def _record(h: History, W, b, data, p: MSAToyParams, elapsed: float) -> None:
    """Append train loss L, test loss Phi, |theta| and elapsed seconds to the history."""
    import torch
    x_tr, y_tr, x_te, y_te = data
    with torch.no_grad():
        h.loss.append(float(total_loss(W, b, x_tr, y_tr, p.delta, p.reg)))
        h.test_loss.append(float(terminal_loss(forward(W, b, x_te, p.delta)[-1], y_te)))
        h.theta_norm.append(float(torch.sqrt(W.pow(2).sum() + b.pow(2).sum())))
    h.wall.append(elapsed)


def train_msa(p: MSAToyParams, data, rho: float, iters: int | None = None,
              name: str | None = None) -> History:
    """Basic MSA (rho = 0) or E-MSA (rho > 0) from theta = 0; losses after every iteration."""
    W, b = zeros(p.layers, p.width)
    rng = np.random.default_rng(p.seed)
    h = History(name or (f"E-MSA (rho={rho:g})" if rho > 0 else "basic MSA"))
    elapsed = 0.0
    _record(h, W, b, data, p, 0.0)
    x_tr, y_tr = data[0], data[1]
    for _ in range(iters or p.msa_iters):
        t0 = time.perf_counter()
        W, b = msa_step(W, b, x_tr, y_tr, p.delta, p.reg, rho, p.maxiter, p.perturb, rng)
        elapsed += time.perf_counter() - t0
        _record(h, W, b, data, p, elapsed)
        if not np.isfinite(h.loss[-1]):
            break
    return h


def train_backprop(p: MSAToyParams, data, method: str, lr: float,
                   iters: int | None = None) -> History:
    """Full-batch back-propagation with torch.optim.{SGD, Adagrad, Adam} from theta = 0."""
    import torch
    if method not in ("SGD", "Adagrad", "Adam"):
        raise ValueError(f"method must be 'SGD', 'Adagrad' or 'Adam', got {method!r}")
    W, b = zeros(p.layers, p.width)
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = getattr(torch.optim, method)([W, b], lr=lr)
    h = History(method)
    elapsed = 0.0
    _record(h, W.detach(), b.detach(), data, p, 0.0)
    x_tr, y_tr = data[0], data[1]
    for _ in range(iters or p.bp_iters):
        t0 = time.perf_counter()
        opt.zero_grad()
        total_loss(W, b, x_tr, y_tr, p.delta, p.reg).backward()
        opt.step()
        elapsed += time.perf_counter() - t0
        _record(h, W.detach(), b.detach(), data, p, elapsed)
    return h


# --------------------------------------------------------------------------- linear-quadratic
@dataclass(frozen=True)
class LQ:
    """x' = A x + B u on [0, T], cost int (x'Qx + u'Ru)/2 dt + x(T)' Q_T x(T) / 2."""

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    QT: np.ndarray
    T: float

    def __post_init__(self) -> None:
        d, m = np.shape(self.B)
        for name, shape in (("A", (d, d)), ("Q", (d, d)), ("R", (m, m)), ("QT", (d, d))):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"LQ.{name} must have shape {shape}, got "
                                 f"{np.shape(getattr(self, name))}")
        if np.any(np.linalg.eigvalsh(self.R) <= 0):
            raise ValueError("LQ.R must be positive definite")
        if self.T <= 0:
            raise ValueError("LQ.T must be > 0")


def riccati(lq: LQ, rtol: float = 1e-12, atol: float = 1e-12):
    """Riccati equation -P' = A'P + PA - P B R^-1 B' P + Q, P(T) = Q_T (the HJB for V = x'Px/2).

    Solved backwards by DOP853; returns a callable t -> P(t) (dense output).
    """
    from scipy.integrate import solve_ivp
    d = lq.A.shape[0]
    S = lq.B @ np.linalg.solve(lq.R, lq.B.T)

    def rhs(_t, v):
        P = v.reshape(d, d)
        return -(lq.A.T @ P + P @ lq.A - P @ S @ P + lq.Q).reshape(-1)

    sol = solve_ivp(rhs, (lq.T, 0.0), np.asarray(lq.QT, float).reshape(-1), method="DOP853",
                    rtol=rtol, atol=atol, dense_output=True)
    if not sol.success:
        raise RuntimeError(sol.message)

    def P(t):
        M = sol.sol(t).reshape(d, d)
        return 0.5 * (M + M.T)
    return P


def lq_pmp_check(lq: LQ, x0, n_times: int = 201, rtol: float = 1e-12,
                 atol: float = 1e-12) -> dict:
    """Optimal path (u = -R^-1 B'P x) and PMP costate (p' = -A'p + Qx*, p(T) = -Q_T x*(T)).

    Returns the times, x*, p, -P x* (= -grad_x V) and max |p + P x*|.
    """
    from scipy.integrate import solve_ivp
    P = riccati(lq, rtol, atol)
    K = lambda t: np.linalg.solve(lq.R, lq.B.T @ P(t))         # noqa: E731
    fwd = solve_ivp(lambda t, x: (lq.A - lq.B @ K(t)) @ x, (0.0, lq.T),
                    np.asarray(x0, float), method="DOP853", rtol=rtol, atol=atol,
                    dense_output=True)
    xT = fwd.sol(lq.T)
    bwd = solve_ivp(lambda t, p: -lq.A.T @ p + lq.Q @ fwd.sol(t), (lq.T, 0.0), -lq.QT @ xT,
                    method="DOP853", rtol=rtol, atol=atol, dense_output=True)
    t = np.linspace(0.0, lq.T, n_times)
    xs = fwd.sol(t).T
    ps = bwd.sol(t).T
    grad_v = np.array([-P(ti) @ xi for ti, xi in zip(t, xs)])
    return {"t": t, "x": xs, "p": ps, "minus_grad_V": grad_v,
            "max_err": float(np.abs(ps - grad_v).max()),
            "value": 0.5 * float(np.asarray(x0) @ P(0.0) @ np.asarray(x0)), "P": P}


def discretise(lq: LQ, N: int):
    """Residual (explicit Euler) layers x_{n+1} = (I + dA) x_n + dB u_n, step d = T/N."""
    d = lq.T / N
    return np.eye(lq.A.shape[0]) + d * lq.A, d * lq.B, d


def discrete_riccati(lq: LQ, N: int):
    """Dynamic programming V_n(x) = x'P_n x/2 for the N-layer LQ network; gains u_n = -K_n x_n."""
    Ab, Bb, d = discretise(lq, N)
    P = [None] * (N + 1)
    K = [None] * N
    P[N] = np.asarray(lq.QT, float)
    for n in reversed(range(N)):
        K[n] = np.linalg.solve(d * lq.R + Bb.T @ P[n + 1] @ Bb, Bb.T @ P[n + 1] @ Ab)
        P[n] = d * lq.Q + Ab.T @ P[n + 1] @ (Ab - Bb @ K[n])
        P[n] = 0.5 * (P[n] + P[n].T)
    return np.array(P), np.array(K)


def discrete_lq_rollout(lq: LQ, x0, u):
    """States, costates (p_N = -Q_T x_N, p_n = A_b'p_{n+1} - d Q x_n) and cost of controls u."""
    N = len(u)
    Ab, Bb, d = discretise(lq, N)
    xs = [np.asarray(x0, float)]
    for n in range(N):
        xs.append(Ab @ xs[-1] + Bb @ u[n])
    xs = np.array(xs)
    ps = [None] * (N + 1)
    ps[N] = -lq.QT @ xs[N]
    for n in reversed(range(N)):
        ps[n] = Ab.T @ ps[n + 1] - d * lq.Q @ xs[n]
    cost = 0.5 * (d * sum(x @ lq.Q @ x for x in xs[:-1]) + d * sum(v @ lq.R @ v for v in u)
                  + xs[N] @ lq.QT @ xs[N])
    return xs, np.array(ps), float(cost)


def lq_msa(lq: LQ, x0, N: int, rho: float, iters: int, u0=None) -> dict:
    """Basic (rho = 0) and extended MSA on the N-layer LQ network, maximisation in closed form.

    H_n = p_{n+1}.(A_b x + B_b u) - d (x'Qx + u'Ru)/2 and grad_x H_n does not depend on u, so
    argmax_u [H_n - rho/2 |x_{n+1} - A_b x_n - B_b u|^2] solves
    (d R + rho B_b'B_b) u = B_b'p_{n+1} + rho B_b'B_b u_old.
    """
    Ab, Bb, d = discretise(lq, N)
    m = lq.B.shape[1]
    u = np.zeros((N, m)) if u0 is None else np.array(u0, float)
    M = d * lq.R + rho * Bb.T @ Bb
    us, costs = [u.copy()], []
    for _ in range(iters):
        _, ps, c = discrete_lq_rollout(lq, x0, u)
        costs.append(c)
        u = np.array([np.linalg.solve(M, Bb.T @ ps[n + 1] + rho * Bb.T @ Bb @ u[n])
                      for n in range(N)])
        us.append(u.copy())
        if not np.all(np.isfinite(u)) or np.abs(u).max() > 1e100:
            break
    costs.append(discrete_lq_rollout(lq, x0, u)[2])
    return {"u": np.array(us), "cost": np.array(costs)}


def lq_msa_spectrum(lq: LQ, x0, N: int, rho: float) -> np.ndarray:
    """Eigenvalues of the linear part of the affine MSA map u -> u_new on the N-layer LQ network."""
    m = lq.B.shape[1]
    base = lq_msa(lq, x0, N, rho, 1, np.zeros((N, m)))["u"][1].reshape(-1)
    cols = []
    for j in range(N * m):
        e = np.zeros(N * m)
        e[j] = 1.0
        cols.append(lq_msa(lq, x0, N, rho, 1, e.reshape(N, m))["u"][1].reshape(-1) - base)
    return np.linalg.eigvals(np.array(cols).T)


def lq_msa_rate(lq: LQ, x0, N: int, rho: float) -> float:
    """Spectral radius of the MSA map: the iteration converges iff it is < 1."""
    return float(np.abs(lq_msa_spectrum(lq, x0, N, rho)).max())


def lq_noise_constant(P, T: float, beta: float, n: int = 2001) -> float:
    """c(0) = (beta^-1 / 2) int_0^T tr P(t) dt: what noise beta^{-1/2} dW adds to u = x'Px/2 + c."""
    t = np.linspace(0.0, T, n)
    tr = np.array([np.trace(P(s)) for s in t])
    return float(0.5 / beta * np.sum(0.5 * (tr[1:] + tr[:-1]) * np.diff(t)))


# --------------------------------------------------------------------------- figures
def plot_training(runs: dict, axes=None):
    """Training loss of each History against iterations and against wall-clock seconds."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    styles = {"E-MSA": ("tab:red", "-"), "basic MSA": ("tab:purple", ":"),
              "SGD": ("0.4", "-"), "Adagrad": ("tab:green", "--"), "Adam": ("tab:blue", "-.")}
    for name, h in runs.items():
        c, ls = styles.get(name, (None, "-"))
        loss = np.asarray(h.loss)
        axes[0].semilogy(np.arange(len(loss)), loss, color=c, ls=ls, label=name)
        axes[1].semilogy(h.wall, loss, color=c, ls=ls, label=name)
    axes[0].set_xlabel("iteration")
    axes[1].set_xlabel("wall-clock seconds (this machine)")
    for ax in axes:
        ax.set_ylabel("training loss $L(\\theta)$")
        ax.legend(fontsize=8)
    plt.tight_layout()
    return axes


def plot_lq_msa(rhos, rates, predicted, rho_star, err_basic, err_ext, rho_ext, axes=None):
    """Spectral radius of the MSA map against rho, and |u^k - u*| for basic MSA and E-MSA."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].loglog(rhos, rates, "o", ms=3, label="measured (eigenvalues of the MSA map)")
    axes[0].loglog(rhos, predicted, "k-", lw=1, label="$\\max_i|a-\\mu_i|/(1+a)$")
    axes[0].axhline(1.0, color="tab:red", lw=0.8)
    axes[0].axvline(rho_star, color="tab:red", ls=":", lw=0.8, label="$\\rho^*$")
    axes[0].set_xlabel("$\\rho$")
    axes[0].set_ylabel("spectral radius")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(err_basic, "s-", color="tab:purple", label="basic MSA ($\\rho=0$)")
    axes[1].semilogy(err_ext, "o-", ms=3, color="tab:red", label=f"E-MSA ($\\rho={rho_ext:.1f}$)")
    axes[1].set_xlabel("MSA iteration")
    axes[1].set_ylabel("$\\max_n|u_n - u_n^*|$")
    axes[1].legend(fontsize=8)
    plt.tight_layout()
    return axes
