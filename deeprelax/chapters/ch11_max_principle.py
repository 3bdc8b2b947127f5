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

from deeprelax.pde import sde
from deeprelax.book.claims import Claim, close_to
from deeprelax.book.plotting import styled
from deeprelax.params import ParamError, Params as BaseParams, knob
from deeprelax.runtime import seed_everything
from deeprelax.stats import fit_order
from deeprelax.book.plotting import loglog_rate


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Params(BaseParams):
    """Chapter 11: the toy problem of Li et al. (fit sin on [-pi, pi] with a 20-layer
    residual tanh net), the linear-quadratic network and the (CSGD) check."""

    n_train: int = knob(100, lo=2, hi=100000, doc="training points x ~ U(-pi, pi)")
    n_test: int = knob(100, lo=1, hi=100000, doc="test points")
    width: int = knob(5, lo=1, hi=256, doc="state dimension (input repeated)")
    layers: int = knob(20, lo=1, hi=1000, doc="residual layers N (also of the LQ net)")
    delta: float = knob(0.25, lo=1e-4, hi=10.0, doc="residual step delta")
    rho: float = knob(1.0, lo=1e-6, hi=1e6, doc="E-MSA penalty rho (> 0)")
    reg: float = knob(1e-3, lo=0.0, hi=10.0, doc="weight decay reg |theta_n|^2 / 2")
    msa_iters: int = knob(100, lo=1, hi=100000, doc="MSA / E-MSA iterations (paper: 500)")
    bp_iters: int = knob(500, lo=1, hi=10**6, doc="full-batch SGD / Adagrad / Adam steps")
    maxiter: int = knob(10, lo=1, hi=10000, doc="L-BFGS iterations per maximisation")
    perturb: float = knob(0.005, lo=0.0, hi=1.0, doc="perturbation of the L-BFGS start")
    lr_sgd: float = knob(0.1, lo=0.0, hi=100.0, doc="SGD learning rate")
    lr_adagrad: float = knob(0.1, lo=0.0, hi=100.0, doc="Adagrad learning rate")
    lr_adam: float = knob(0.005, lo=0.0, hi=100.0, doc="Adam learning rate")
    k_early: int = knob(10, lo=1, hi=100000, doc="iteration of the early comparison")
    lq_T: float = knob(5.0, lo=0.1, hi=100.0, doc="LQ net: depth T (time = depth)")
    lq_q: float = knob(0.1, lo=0.0, hi=100.0, doc="LQ net: running state cost Q = q I")
    lq_iters: int = knob(80, lo=20, hi=100000, doc="LQ net: E-MSA iterations at rho_opt")
    csgd_beta: float = knob(4.0, lo=0.01, hi=1e4, doc="(CSGD) check: inverse temperature")
    csgd_T: float = knob(1.0, lo=0.01, hi=100.0, doc="(CSGD) check: horizon")
    csgd_dt: float = knob(1e-3, lo=1e-5, hi=0.1, doc="(CSGD) check: Euler-Maruyama step")
    csgd_paths: int = knob(4000, lo=10, hi=10**7, doc="(CSGD) check: Monte Carlo paths")
    seed: int = knob(1, lo=0, hi=2**31 - 1, doc="seed of the data and the perturbations")
    device: str = knob("cpu", choices=("cpu", "cuda"),
                       doc="unused: the toy is too small for a GPU")

    PRESETS = {"fast": {}, "paper": {"msa_iters": 500}}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.k_early > min(self.msa_iters, self.bp_iters):
            raise ParamError(f"Params.k_early={self.k_early} exceeds the iterations run "
                             f"(msa_iters={self.msa_iters}, bp_iters={self.bp_iters})")


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


def _record(h: History, W, b, data, p: Params, elapsed: float) -> None:
    """Append train loss L, test loss Phi, |theta| and elapsed seconds to the history."""
    import torch
    x_tr, y_tr, x_te, y_te = data
    with torch.no_grad():
        h.loss.append(float(total_loss(W, b, x_tr, y_tr, p.delta, p.reg)))
        h.test_loss.append(float(terminal_loss(forward(W, b, x_te, p.delta)[-1], y_te)))
        h.theta_norm.append(float(torch.sqrt(W.pow(2).sum() + b.pow(2).sum())))
    h.wall.append(elapsed)


def train_msa(p: Params, data, rho: float, iters: int | None = None,
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


def train_backprop(p: Params, data, method: str, lr: float,
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


def oscillator_lq(T: float = 5.0, q: float = 0.1) -> LQ:
    """The chapter's LQ example: an undamped oscillator A, B = (0, 1)', Q = q I, R = 1, Q_T = I."""
    return LQ(np.array([[0.0, 1.0], [-1.0, 0.0]]), np.array([[0.0], [1.0]]), Q=q * np.eye(2),
              R=np.eye(1), QT=np.eye(2), T=T)


def lq_optimal_control(lq: LQ, x0, N: int):
    """The dynamic-programming (discrete Riccati) control of the N-layer LQ net and its path.

    Returns ``(x, u, P)``: states x_0..x_N, controls u_n = -K_n x_n, and the matrices P_n
    of the value functions V_n(x) = x'P_n x / 2.
    """
    P, K = discrete_riccati(lq, N)
    Ab, Bb, _ = discretise(lq, N)
    xs, us = [np.asarray(x0, float)], []
    for n in range(N):
        us.append(-K[n] @ xs[-1])
        xs.append(Ab @ xs[-1] + Bb @ us[-1])
    return np.array(xs), np.array(us), P


def contraction_rate(err, start: int, stop: int) -> float:
    """Geometric rate r of err_k ~ C r^k over iterations start..stop-1 (least squares).

    log err_k = k log r + c is the log-log order fit of err against h = e^k, so
    ``r = exp(fit_order(e^k, err))``.
    """
    k = np.arange(start, stop, dtype=float)
    return float(np.exp(fit_order(np.exp(k), np.asarray(err, float)[start:stop])))


def rises(loss) -> np.ndarray:
    """Relative one-iteration changes (L_{k+1} - L_k) / L_k of a loss history."""
    loss = np.asarray(loss, float)
    return np.diff(loss) / loss[:-1]


UP = 1e-3     # a "material" increase: the loss rises by more than 0.1 % in one iteration


# --------------------------------------------------------------------------- the chapter
@dataclass
class LQStudy:
    """The N-layer LQ network: MSA spectra against rho, iterates, costates, value convergence."""

    lq: LQ
    x0: np.ndarray
    N: int
    mu_complex: np.ndarray     # eigenvalues of minus the basic-MSA map
    mu: np.ndarray             # their real parts, sorted: mu_min .. mu_max
    rho_star: float            # E-MSA converges iff rho > rho_star
    rho_opt: float             # the fastest rho
    rhos: np.ndarray           # rho grid of the spectral-radius scan
    rates: np.ndarray          # measured spectral radii of the E-MSA map
    predicted: np.ndarray      # max_i |a - mu_i| / (1 + a), a = rho delta |b|^2 / r
    rate_below: float          # spectral radius at 0.9 rho_star
    rate_above: float          # spectral radius at 1.1 rho_star
    u_opt: np.ndarray          # dynamic-programming control
    err_basic: np.ndarray      # max_n |u_n^k - u_n^*| of basic MSA per iteration
    err_ext: np.ndarray        # the same for E-MSA at rho_opt
    disc_x: np.ndarray         # optimal discrete path x_0..x_N
    disc_p: np.ndarray         # its PMP costates p_0..p_N
    disc_cost: float           # cost of u_opt
    disc_value: float          # V_0(x_0) = x_0'P_0 x_0 / 2
    disc_err: float            # max_n |p_n + P_n x_n|
    cont: dict                 # lq_pmp_check of the continuous-depth problem (without P)
    Ns: np.ndarray             # layer counts of the value-convergence study
    v_err: np.ndarray          # V_N(x_0) - V(x_0, 0) for each N


@dataclass
class CSGDCheck:
    """(CSGD) for a quadratic saddle: costate identity and Monte Carlo cost of the feedback."""

    costate_err: float         # max |p(t) + grad u(x(t), t)| along the optimal path
    u0: float                  # u(x_0, 0) = x_0'P(0)x_0 / 2 + c(0) (Riccati)
    mc: float                  # Monte Carlo E[V(x(T)) + int |alpha|^2 / 2]
    se: float                  # its standard error
    ev_sgd: float              # Monte Carlo E V(x_SGD(T)), alpha = 0
    dt: float


@dataclass
class Result:
    """Every run of the chapter: PMP identities, toy training, rho sweep, LQ study, (CSGD)."""

    params: Params
    identities: dict           # pmp_identities at random weights
    runs: dict                 # name -> History: E-MSA, basic MSA, SGD, Adagrad, Adam
    rho_runs: dict             # rho -> History: 0 (basic), rho / 10, rho, 10 rho
    lq: LQStudy
    csgd: CSGDCheck


def lq_study(p: Params) -> LQStudy:
    """The LQ network of ``p.layers`` layers: MSA spectra, iterates, costate and value checks."""
    lq, x0, N = oscillator_lq(p.lq_T, p.lq_q), np.array([1.0, 0.0]), p.layers
    delta = lq.T / N                         # |b| = 1, r = 1: a = rho * delta
    mu_c = -lq_msa_spectrum(lq, x0, N, 0.0)  # the basic MSA map has eigenvalues -mu_i
    mu = np.sort(mu_c.real)
    rho_star = (mu[-1] - 1) / (2 * delta)
    rho_opt = (mu[-1] + mu[0]) / (2 * delta)
    rhos = np.geomspace(0.1, 1000, 41)
    rates = np.array([lq_msa_rate(lq, x0, N, r) for r in rhos])
    a = rhos * delta
    predicted = np.abs(a[:, None] - mu[None, :]).max(axis=1) / (1 + a)
    x_opt, u_opt, P_d = lq_optimal_control(lq, x0, N)
    err = lambda it: np.abs(it["u"] - u_opt).max(axis=(1, 2))     # noqa: E731
    dx, dp, dcost = discrete_lq_rollout(lq, x0, u_opt)
    Ns = np.array([80, 160, 320, 640, 1280])
    cont = {k: v for k, v in lq_pmp_check(lq, x0).items() if k != "P"}   # picklable
    v_err = np.array([0.5 * x0 @ discrete_riccati(lq, n)[0][0] @ x0 for n in Ns]) - cont["value"]
    return LQStudy(lq, x0, N, mu_c, mu, rho_star, rho_opt, rhos, rates, predicted,
                   lq_msa_rate(lq, x0, N, 0.9 * rho_star), lq_msa_rate(lq, x0, N, 1.1 * rho_star),
                   u_opt, err(lq_msa(lq, x0, N, 0.0, 12)),
                   err(lq_msa(lq, x0, N, rho_opt, p.lq_iters)), dx, dp, dcost,
                   float(0.5 * x0 @ P_d[0] @ x0),
                   float(np.abs(dp + np.einsum("nij,nj->ni", P_d, dx)).max()), cont, Ns, v_err)


def csgd_check(p: Params) -> CSGDCheck:
    """(CSGD) on f = x'Hx/2, H = diag(1, -1/2), V = |x|^2/2: an LQ problem (A = -H, B = -I)."""
    H = np.diag([1.0, -0.5])
    lq = LQ(-H, -np.eye(2), Q=np.zeros((2, 2)), R=np.eye(2), QT=np.eye(2), T=p.csgd_T)
    x0 = np.array([1.0, 0.5])
    chk = lq_pmp_check(lq, x0)
    u0 = chk["value"] + lq_noise_constant(chk["P"], p.csgd_T, p.csgd_beta)
    X0 = np.tile(x0, (p.csgd_paths, 1))
    V = lambda x: 0.5 * np.sum(x * x, axis=1)           # noqa: E731
    grad = lambda x: x @ H                              # noqa: E731
    xc, energy = sde.csgd(grad, lambda x, s: x @ chk["P"](s), X0, p.csgd_T, p.csgd_dt,
                          p.csgd_beta, np.random.default_rng([p.seed, 1]))
    xs, _ = sde.csgd(grad, None, X0, p.csgd_T, p.csgd_dt, p.csgd_beta,
                     np.random.default_rng([p.seed, 1]))
    cost = V(xc) + 0.5 * energy
    return CSGDCheck(chk["max_err"], float(u0), float(cost.mean()),
                     float(cost.std(ddof=1) / np.sqrt(p.csgd_paths)), float(V(xs).mean()),
                     p.csgd_dt)


def compute(p: Params) -> Result:
    """Run the chapter: PMP identities, MSA / E-MSA / back-propagation on the toy, the rho
    sweep, the LQ network and the (CSGD) check. Torch runs on one thread (tiny tensors),
    restored afterwards."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seed_everything(p.seed)
        data = toy_data(p.n_train, p.n_test, p.width, p.seed)
        g = torch.Generator().manual_seed(p.seed)
        W_r = 0.5 * torch.randn(p.layers, p.width, p.width, generator=g, dtype=torch.float64)
        b_r = 0.5 * torch.randn(p.layers, p.width, generator=g, dtype=torch.float64)
        ident = pmp_identities(W_r, b_r, data[0], data[1], p.delta, p.reg)
        runs = {"E-MSA": train_msa(p, data, p.rho), "basic MSA": train_msa(p, data, 0.0)}
        for method, lr in (("SGD", p.lr_sgd), ("Adagrad", p.lr_adagrad), ("Adam", p.lr_adam)):
            runs[method] = train_backprop(p, data, method, lr)
        rho_runs = {0.0: runs["basic MSA"], p.rho: runs["E-MSA"]}
        for r in (0.1 * p.rho, 10 * p.rho):
            rho_runs[r] = train_msa(p, data, r)
    finally:
        torch.set_num_threads(threads)
    return Result(p, ident, runs, dict(sorted(rho_runs.items())), lq_study(p), csgd_check(p))


BACKPROP = ("SGD", "Adagrad", "Adam")


def measures(r: Result) -> dict[str, float]:
    """The numbers the prose quotes and the claims check, by name (plain floats)."""
    p, runs, lq, cs = r.params, r.runs, r.lq, r.csgd
    k = p.k_early
    emsa, basic = runs["E-MSA"], runs["basic MSA"]
    m: dict[str, float] = {"k_early": k, "costate_err": r.identities["costate"],
                           "ham_err": r.identities["hamiltonian_grad"],
                           "grad_scale": r.identities["grad_scale"]}
    best_bp = min(min(runs[b].loss) for b in BACKPROP)
    m.update({f"{b.lower()}_k": runs[b].loss[k] for b in BACKPROP})
    m.update({f"emsa_vs_{b.lower()}_k": emsa.loss[k] / runs[b].loss[k] for b in BACKPROP})
    m.update(emsa_k=emsa.loss[k], emsa_best=min(emsa.loss), bp_best=best_bp,
             emsa_vs_bp_best=min(emsa.loss) / best_bp, basic_best=min(basic.loss[1:]),
             basic_vs_emsa_best=min(basic.loss[1:]) / min(emsa.loss),
             basic_theta_max=max(basic.theta_norm), basic_theta_final=basic.theta_norm[-1],
             emsa_theta_max=max(emsa.theta_norm), emsa_theta_final=emsa.theta_norm[-1],
             theta_blowup=max(basic.theta_norm) / max(emsa.theta_norm))
    small, large = 0.1 * p.rho, 10 * p.rho
    ups = {rho: int(np.sum(rises(h.loss) > UP)) for rho, h in r.rho_runs.items()}
    m.update(rho_small=small, rho_large=large, ups_small=ups[small], ups_main=ups[p.rho],
             ups_large=ups[large], ups_basic=ups[0.0],
             ups_small_minus_large=ups[small] - ups[large],
             best_large=min(r.rho_runs[large].loss),
             large_vs_emsa_best=min(r.rho_runs[large].loss) / min(emsa.loss),
             rise_large=max(rises(r.rho_runs[large].loss).max(), 0.0),
             rise_small=rises(r.rho_runs[small].loss).max())
    delta = lq.lq.T / lq.N
    rate_opt = (lq.mu[-1] - lq.mu[0]) / (2 + lq.mu[-1] + lq.mu[0])
    m.update(mu_max=lq.mu[-1], mu_min=lq.mu[0], mu_imag=float(np.abs(lq.mu_complex.imag).max()),
             rho_star=lq.rho_star, rho_opt=lq.rho_opt, lq_delta=delta,
             rate_formula_err=float(np.abs(lq.rates - lq.predicted).max()),
             rate_below=lq.rate_below, rate_above=lq.rate_above,
             basic_lq_growth=lq.err_basic[-1] / lq.err_basic[0], emsa_lq_err=lq.err_ext[-1],
             emsa_lq_rate=contraction_rate(lq.err_ext, 20, 60), rate_opt=rate_opt,
             disc_err=lq.disc_err, disc_cost_err=abs(lq.disc_cost - lq.disc_value),
             cont_err=lq.cont["max_err"], slope_v=fit_order(lq.lq.T / lq.Ns, np.abs(lq.v_err)))
    m.update(csgd_err=cs.costate_err, csgd_u0=cs.u0, csgd_mc=cs.mc, csgd_se=cs.se,
             csgd_sgd=cs.ev_sgd, csgd_mc_err=abs(cs.mc - cs.u0),
             csgd_mc_tol=3 * cs.se + 5 * cs.dt, csgd_gain=cs.ev_sgd - cs.u0)
    return {k_: (v.item() if isinstance(v, np.generic) else v) for k_, v in m.items()}


def claims(r: Result) -> list[Claim]:
    """The chapter's checks: PMP identities, the toy comparison, rho, LQ-MSA, HJB, (CSGD)."""
    m = measures(r)
    k, li, pmp = m["k_early"], "Li et al., toy", "PMP"
    out = [
        Claim("costate_err", "the costate is back-propagation: max |p_n + ∂L/∂x_n|",
              m["costate_err"], hi=1e-8, strict=True, paper="p = −∂L/∂x", where=pmp,
              source="companion"),
        Claim("ham_err", "∇_θ H_n = −∂L/∂θ_n (max error)", m["ham_err"], hi=1e-8,
              strict=True, paper="gradient = ∇H", where=pmp, source="companion"),
        Claim("grad_scale", "the identity check is not empty (gradient scale)",
              m["grad_scale"], lo=1e-2, strict=True, paper="—", where=pmp, status="check"),
    ]
    out += [Claim(f"emsa_vs_{b.lower()}_k", f"after {k} iterations E-MSA's loss is below "
                  f"{b}'s (ratio)", m[f"emsa_vs_{b.lower()}_k"], hi=1.0, strict=True,
                  paper="faster per iteration", where=li, source="companion")
            for b in BACKPROP]
    out += [
        Claim("emsa_vs_bp_best", "E-MSA's best loss is below every back-propagation run's "
              "(ratio)", m["emsa_vs_bp_best"], hi=1.0, strict=True, paper="—", where=li,
              status="check"),
        Claim("basic_vs_emsa_best", "basic MSA does not converge: its best loss is > 10× "
              "E-MSA's", m["basic_vs_emsa_best"], lo=10.0, strict=True,
              paper="basic MSA diverges", where=li, source="companion"),
        Claim("theta_blowup", "basic MSA's weights blow up: largest |θ| > 5× E-MSA's",
              m["theta_blowup"], lo=5.0, strict=True, paper="basic MSA diverges", where=li,
              source="companion"),
        Claim("ups_large", f"with ρ = {m['rho_large']:g} no iteration raises the loss by "
              "> 0.1%", m["ups_large"], hi=0.0, paper="descent for large ρ",
              where="Li et al., error estimate", source="companion"),
        Claim("ups_small_minus_large", f"ρ = {m['rho_small']:g} raises the loss more "
              f"often than ρ = {m['rho_large']:g} (difference of counts)",
              m["ups_small_minus_large"], lo=0.0, strict=True, paper="descent for large ρ",
              where="Li et al., error estimate", source="companion"),
        Claim("ups_basic", "basic MSA (ρ = 0) raises the loss at least once",
              m["ups_basic"], lo=0.0, strict=True, paper="basic MSA diverges", where=li,
              source="companion"),
        Claim("large_vs_emsa_best", f"ρ = {m['rho_large']:g} is slower: its best loss "
              "is above E-MSA's (ratio)", m["large_vs_emsa_best"], lo=1.0, strict=True,
              paper="—", where=li, status="check"),
        Claim("mu_imag", "LQ net: the basic-MSA map has real eigenvalues (max |Im|)",
              m["mu_imag"], hi=1e-10, strict=True, paper="—", where="LQ", status="check"),
        Claim("mu_min", "LQ net: its eigenvalues are −μ_i with μ_i ≥ 0 (smallest μ)",
              m["mu_min"], lo=-1e-10, strict=True, paper="—", where="LQ", status="check"),
        Claim("mu_max", "LQ net: μ_max > 1, so basic MSA diverges", m["mu_max"], lo=1.0,
              strict=True, paper="basic MSA diverges", where="LQ", source="companion"),
        Claim("rate_formula_err", "LQ net: spectral radii match max|a − μ_i|/(1 + a) "
              "(max error)", m["rate_formula_err"], hi=1e-8, strict=True, paper="—",
              where="LQ", status="check"),
        Claim("rate_below", "LQ net: E-MSA diverges at 0.9 ρ* (spectral radius)",
              m["rate_below"], lo=1.0, strict=True, paper="ρ large enough",
              where="Li et al., error estimate", source="companion"),
        Claim("rate_above", "LQ net: E-MSA converges at 1.1 ρ* (spectral radius)",
              m["rate_above"], hi=1.0, strict=True, paper="ρ large enough",
              where="Li et al., error estimate", source="companion"),
        Claim("basic_lq_growth", "LQ net: basic MSA's error grows > 1000× in 12 iterations",
              m["basic_lq_growth"], lo=1e3, strict=True, paper="basic MSA diverges",
              where="LQ", source="companion"),
        Claim("emsa_lq_err", "LQ net: E-MSA at ρ_opt reaches the Riccati control "
              "(max |u − u*|)", m["emsa_lq_err"], hi=1e-8, strict=True, paper="—",
              where="LQ", status="check"),
        close_to("emsa_lq_rate", "LQ net: E-MSA contracts at the predicted rate per "
                 "iteration", m["emsa_lq_rate"], m["rate_opt"], 0.02, paper="—", where="LQ",
                 status="check"),
        Claim("disc_err", "discrete costate = −∇V_n = −P_n x_n on the optimal path "
              "(max error)", m["disc_err"], hi=1e-12, strict=True, paper="p = −∇V",
              where="PMP ↔ HJB", source="companion"),
        Claim("disc_cost_err", "the discrete cost of the Riccati control is V_0(x_0) "
              "(error)", m["disc_cost_err"], hi=1e-12, strict=True, paper="—",
              where="PMP ↔ HJB", status="check"),
        Claim("cont_err", "continuous costate p(t) = −P(t)x(t) (max error)",
              m["cont_err"], hi=1e-8, strict=True, paper="p = −∇V", where="PMP ↔ HJB",
              source="companion"),
        Claim("slope_v", "the N-layer value converges to the continuous one at order 1 "
              "in δ", m["slope_v"], 0.95, 1.05, strict=True, paper="—", where="Euler",
              status="check"),
        Claim("csgd_err", "(CSGD) as LQ: the costate is −∇u along the optimal path "
              "(max error)", m["csgd_err"], hi=1e-8, strict=True, paper="α = ∇u",
              where="eq. (25)"),
        Claim("csgd_mc_err", "(CSGD): the Monte Carlo cost of the feedback is u(x₀, 0) "
              "(|difference|, ≤ 3 s.e. + 5 dt)", m["csgd_mc_err"], hi=m["csgd_mc_tol"],
              paper="cost = u(x₀, 0)", where="Sec. 5"),
        Claim("csgd_gain", "(CSGD): u(x₀, 0) lies below SGD's expected terminal loss "
              "(difference)", m["csgd_gain"], lo=0.0, strict=True,
              paper="controlled ≤ SGD", where="Theorem 12"),
    ]
    return out


def prose_values(r: Result) -> dict[str, float]:
    """The measures the prose quotes that are not claims (``report`` glues the claims)."""
    names = {c.name for c in claims(r)}
    return {k: v for k, v in measures(r).items() if k not in names}


# --------------------------------------------------------------------------- tables
def training_frame(r: Result):
    """Per method: loss after k_early iterations, best and final loss, largest and final |theta|."""
    import pandas as pd
    k = r.params.k_early
    rows = [{"method": name, f"loss after {k}": f"{h.loss[k]:.4f}",
             "best loss": f"{min(h.loss):.4f}", "final loss": f"{h.loss[-1]:.4f}",
             "largest |θ|": f"{max(h.theta_norm):.2f}", "final |θ|": f"{h.theta_norm[-1]:.2f}",
             "iterations": len(h.loss) - 1} for name, h in r.runs.items()]
    return pd.DataFrame(rows).set_index("method")


def rho_frame(r: Result):
    """Per rho: iterations with a loss rise > 0.1 %, the largest relative rise, best and final loss."""
    import pandas as pd
    rows = []
    for rho, h in r.rho_runs.items():
        up = rises(h.loss)
        rows.append({"ρ": f"{rho:g}" + (" (basic MSA)" if rho == 0 else ""),
                     "rises > 0.1 %": f"{int(np.sum(up > UP))} of {len(up)}",
                     "largest rise": f"{max(up.max(), 0.0):.1e}",
                     "best loss": f"{min(h.loss):.4f}", "final loss": f"{h.loss[-1]:.4f}"})
    return pd.DataFrame(rows).set_index("ρ")


# --------------------------------------------------------------------------- figures
LEGEND = 10     # legend font size (pt)
STYLE = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11,
         "xtick.labelsize": 10, "ytick.labelsize": 10}   # readable at the text width
STYLES = {"E-MSA": ("tab:red", "-"), "basic MSA": ("tab:purple", ":"),
          "SGD": ("0.4", "-"), "Adagrad": ("tab:green", "--"), "Adam": ("tab:blue", "-.")}


_styled = styled(STYLE)


@_styled
def figure_training(r: Result):
    """Training loss of each method against iterations and against wall-clock seconds."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.8), sharey=True)
    for name, h in r.runs.items():
        c, ls = STYLES.get(name, (None, "-"))
        loss = np.asarray(h.loss)
        axes[0].semilogy(np.arange(len(loss)), loss, color=c, ls=ls, label=name)
        axes[1].semilogy(h.wall, loss, color=c, ls=ls, label=name)
    axes[0].set_xlabel("iteration")
    axes[1].set_xlabel("wall-clock seconds (this machine)")
    axes[0].set_ylabel("training loss $L(\\theta)$")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=LEGEND, ncol=5, loc="lower center", frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@_styled
def figure_rho(r: Result):
    """E-MSA training loss for rho = 0 (basic MSA), rho / 10, rho and 10 rho."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for rho, h in r.rho_runs.items():
        ax.semilogy(h.loss, label=f"$\\rho={rho:g}$" + (" (basic MSA)" if rho == 0 else ""))
    ax.set_xlabel("MSA iteration")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig


@_styled
def figure_lq_msa(r: Result):
    """Spectral radius of the MSA map against rho, and |u^k - u*| for basic MSA and E-MSA."""
    import matplotlib.pyplot as plt
    lq = r.lq
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    axes[0].loglog(lq.rhos, lq.rates, "o", ms=4, label="measured")
    axes[0].loglog(lq.rhos, lq.predicted, "k-", lw=1, label="$\\max_i|a-\\mu_i|/(1+a)$")
    axes[0].axhline(1.0, color="tab:red", lw=0.8)
    axes[0].axvline(lq.rho_star, color="tab:red", ls=":", lw=1, label="$\\rho^*$")
    axes[0].set_xlabel("$\\rho$")
    axes[0].set_ylabel("spectral radius of the MSA map")
    axes[0].legend(fontsize=LEGEND)
    axes[1].semilogy(lq.err_basic, "s-", color="tab:purple", label="basic MSA ($\\rho=0$)")
    axes[1].semilogy(lq.err_ext, "o-", ms=3, color="tab:red",
                     label=f"E-MSA ($\\rho={lq.rho_opt:.1f}$)")
    axes[1].set_xlabel("MSA iteration")
    axes[1].set_ylabel("$\\max_n|u_n - u_n^*|$")
    axes[1].legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig


@_styled
def figure_costate(r: Result):
    """PMP costates against -grad V (continuous and discrete); |V_N - V| against delta."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    lq, cont = r.lq, r.lq.cont
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.8))
    depth = np.arange(lq.N + 1) * lq.lq.T / lq.N
    for i, c in enumerate(("tab:blue", "tab:orange")):
        axes[0].plot(cont["t"], cont["p"][:, i], color=c, lw=3, alpha=0.5,
                     label=f"PMP costate $p_{i + 1}(t)$")
        axes[0].plot(cont["t"], cont["minus_grad_V"][:, i], "k--", lw=1,
                     label="$-\\partial_x V$ (Riccati)" if i == 0 else None)
        axes[0].plot(depth, lq.disc_p[:, i], "o", color=c, ms=4,
                     label=f"discrete $p_{{n,{i + 1}}}$, {lq.N} layers")
    axes[0].set_xlabel("time = depth $t$")
    axes[0].set_ylabel("costate")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=LEGEND, ncol=3, loc="lower center", frameon=False)
    deltas = lq.lq.T / lq.Ns
    loglog_rate(axes[1], deltas, np.abs(lq.v_err), "$|V_N(x_0) - V(x_0,0)|$")
    axes[1].set_xlabel("layer step $\\delta = T/N$")
    axes[1].legend(fontsize=LEGEND)
    axes[1].xaxis.set_minor_formatter(NullFormatter())
    axes[1].set_xticks(list(deltas), [f"{d:.3g}" for d in deltas])
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
