# %% [markdown]
# # Training as optimal control: the maximum principle
#
# Deep Relaxation {cite}`chaudhari2018deep` puts *training* in continuous time: the weights
# $x(s)$ follow (SGD), $dx = -\nabla f\,ds + \beta^{-1/2}dW$, and Sec. 5 adds a control
# $\alpha(s)$ whose optimal value comes from a Hamilton–Jacobi–Bellman (HJB) equation.
# Li, Chen, Tai & E {cite}`li2018maximum` use optimal control the other way round: the
# *network* is the dynamical system and its *depth* is time. A residual network
#
# $$ x_{n+1} = g_n(x_n,\theta_n) = x_n + \delta\tanh(W_n x_n + b_n),\qquad n=0,\dots,N-1, $$
#
# carries an input $x_0$ to an output $x_N$; the weights $\theta_n=(W_n,b_n)$ are the control,
# and training minimises $L(\theta) = \Phi(x_N) + \sum_n R(\theta_n)$ over the data
# ($\Phi$: mean square loss, $R = \tfrac{\rm reg}{2}|\theta_n|^2$). With the Hamiltonian
# $H_n(x,p,\theta) = p\cdot g_n(x,\theta) - R(\theta)$, Pontryagin's maximum principle (PMP)
# {cite}`pontryagin1962mathematical`
# says that optimal weights satisfy
#
# $$ x_{n+1} = \nabla_p H_n,\qquad p_n = \nabla_x H_n(x_n,p_{n+1},\theta_n),\quad
#    p_N = -\nabla\Phi(x_N),\qquad \theta_n \in \arg\max_\theta \textstyle\sum_s H_n(x_n^s,p_{n+1}^s,\theta). $$
#
# The **method of successive approximations** (MSA) iterates these three steps: forward
# pass, backward pass for the costate $p$, then a layer-wise *maximisation* of $H$ (not a
# gradient step). The **extended MSA** (E-MSA) maximises the augmented Hamiltonian
#
# $$ \tilde H_n(\theta) = H_n(x_n,p_{n+1},\theta) - \tfrac\rho2|x_{n+1}-g_n(x_n,\theta)|^2
#    - \tfrac\rho2|p_n-\nabla_xH_n(x_n,p_{n+1},\theta)|^2 $$
#
# which penalises updates that would invalidate the current states and costates.
# Everything here is our own PyTorch code (`deeprelax.msa`), following the public facts of
# the authors' TensorFlow code: input repeated over the `width` state components, output
# summed, zero initial weights, the L-BFGS start perturbed by $U(-0.005,0.005)$, 10
# L-BFGS iterations per maximisation.

# %% tags=["parameters"]
preset = "fast"     # "fast" (CPU, seconds) or "paper" (500 MSA iterations as in their config)
device = "cpu"      # unused: these problems are far too small for a GPU to help
msa_iters = None    # MSA / E-MSA iterations; None keeps the preset's value
rho = None          # E-MSA penalty; None keeps the preset's value (1, theirs)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from deeprelax import plotting, sde
from deeprelax.chapters import ch11_max_principle as msa
from deeprelax.book import glue
from deeprelax.chapters.ch11_max_principle import MSAToyParams
from deeprelax.runtime import seed_everything

torch.set_num_threads(1)   # tiny tensors: one thread is fastest (and deterministic)
seed_everything(0)
P = MSAToyParams.from_preset(preset, device=device, msa_iters=msa_iters, rho=rho)
data = msa.toy_data(P.n_train, P.n_test, P.width, P.seed)
P

# %% [markdown]
# ## The costate is back-propagation
#
# The costate recursion $p_n = \nabla_xH_n = p_{n+1} + \delta W_n^\top\big(p_{n+1}\odot
# \operatorname{sech}^2(W_nx_n+b_n)\big)$ is the chain rule run backwards, so with
# $p_N = -\nabla\Phi(x_N)$ (the *mean* loss, as in their code) we expect
# $p_n^s = -\partial L/\partial x_n^s$ for every sample $s$ and layer $n$, and
# $\nabla_{\theta}\sum_s H_n = -\partial L/\partial\theta_n$ (the regulariser enters both).
# We check both identities in float64 against PyTorch's autograd of $L$ at random
# weights, to $10^{-8}$.

# %%
g = torch.Generator().manual_seed(P.seed)
W_r = 0.5 * torch.randn(P.layers, P.width, P.width, generator=g, dtype=torch.float64)
b_r = 0.5 * torch.randn(P.layers, P.width, generator=g, dtype=torch.float64)
ident = msa.pmp_identities(W_r, b_r, data[0], data[1], P.delta, P.reg)
print(f"max |p_n + dL/dx_n|             = {ident['costate']:.1e}")
print(f"max |grad_theta H_n + dL/dtheta_n| = {ident['hamiltonian_grad']:.1e}"
      f"  (gradient scale {ident['grad_scale']:.2f})")
assert ident["costate"] < 1e-8 and ident["hamiltonian_grad"] < 1e-8
assert ident["grad_scale"] > 1e-2, "a vanishing gradient would make the check empty"
glue("costate_err", ident["costate"])
glue("ham_err", ident["hamiltonian_grad"])

# %% [markdown]
# Both hold to {glue:text}`costate_err:.0e` and {glue:text}`ham_err:.0e` (round-off): a
# gradient step on $L$ is a step up the Hamiltonian, and back-propagation computes the PMP
# costate. What the MSA changes is the *update*: it maximises $H_n$ in $\theta_n$ instead of
# moving a small step along $\nabla_\theta H_n$.
#
# ## The toy problem: MSA and E-MSA against SGD, Adagrad and Adam
#
# The data are 100 training and 100 test points $x\sim U(-\pi,\pi)$ with $y=\sin x$; the
# network has 20 layers of width 5 with $\delta = 0.25$ and weight decay $10^{-3}$. Back-
# propagation uses full-batch SGD (learning rate 0.1), Adagrad (0.1) and Adam (0.005),
# their settings. One MSA iteration is one forward pass, one backward pass and 10 L-BFGS
# iterations on the separable sum $\sum_n\tilde H_n$ (we solve the 20 independent layer
# problems as one L-BFGS problem; the maximiser is the same).

# %%
runs = {"E-MSA": msa.train_msa(P, data, P.rho), "basic MSA": msa.train_msa(P, data, 0.0)}
for method, lr in (("SGD", P.lr_sgd), ("Adagrad", P.lr_adagrad), ("Adam", P.lr_adam)):
    runs[method] = msa.train_backprop(P, data, method, lr)
msa.plot_training(runs)
plt.show()

# %% [markdown]
# The wall-clock panel uses this machine's timings (not printed: they vary from run to
# run). One E-MSA iteration costs an L-BFGS solve, so per second the comparison is far
# less favourable than per iteration, as the authors also note.

# %%
k = 10
emsa, basic = runs["E-MSA"], runs["basic MSA"]
at_k = {name: h.loss[k] for name, h in runs.items()}
best_bp = min(min(runs[m].loss) for m in ("SGD", "Adagrad", "Adam"))
for name, h in runs.items():
    print(f"{name:>10s}: loss after {k} iterations {h.loss[k]:8.4f}, best {min(h.loss):8.4f}, "
          f"final {h.loss[-1]:8.4f}, final |theta| {h.theta_norm[-1]:7.2f}")
assert all(at_k["E-MSA"] < at_k[m] for m in ("SGD", "Adagrad", "Adam")), \
    "E-MSA should lead per iteration early on"
assert min(emsa.loss) < best_bp, "E-MSA should reach below every back-propagation run"
assert min(basic.loss[1:]) > 10 * min(emsa.loss), "basic MSA should not converge here"
assert max(basic.theta_norm) > 5 * max(emsa.theta_norm), "basic MSA's weights should blow up"
glue("k_early", k)
glue("emsa_k", at_k["E-MSA"])
glue("adam_k", at_k["Adam"])
glue("sgd_k", at_k["SGD"])
glue("emsa_best", min(emsa.loss))
glue("bp_best", best_bp)
glue("basic_best", min(basic.loss[1:]))
glue("basic_theta", max(basic.theta_norm))
glue("emsa_theta", max(emsa.theta_norm))

# %% [markdown]
# After {glue:text}`k_early:.0f` iterations E-MSA is at {glue:text}`emsa_k:.3f`, against
# {glue:text}`adam_k:.3f` for Adam and {glue:text}`sgd_k:.3f` for SGD: the favourable
# *per-iteration* rate the paper reports. E-MSA then leaves the plateau near 0.25 where
# Adagrad and Adam end (SGD stalls higher): its best loss is {glue:text}`emsa_best:.3f`,
# against {glue:text}`bp_best:.3f` for the best back-propagation run, though it gets there
# not monotonically, for a reason the next section explains.
#
# ## Basic MSA diverges, E-MSA with $\rho>0$ does not
#
# The basic MSA maximises $H_n$ itself. Its maximiser ignores that the new weights change
# the states $x_n$ and costates $p_n$ the Hamiltonian was built from, and jumps far: the
# weight norm reaches {glue:text}`basic_theta:.0f` (E-MSA: {glue:text}`emsa_theta:.1f`) and
# the loss never drops below {glue:text}`basic_best:.2f`. Between the two, $\rho$ acts as a step-size
# control; we rerun E-MSA with a smaller and a larger penalty.

# %%
rho_runs = {0.0: runs["basic MSA"], P.rho: runs["E-MSA"]}
for r in (0.1 * P.rho, 10 * P.rho):
    rho_runs[r] = msa.train_msa(P, data, r)
fig, ax = plt.subplots(figsize=(6, 3.6))
for r, h in sorted(rho_runs.items()):
    ax.semilogy(h.loss, label=f"$\\rho={r:g}$" + (" (basic MSA)" if r == 0 else ""))
ax.set_xlabel("MSA iteration"); ax.set_ylabel("training loss"); ax.legend(fontsize=8)
plt.show()
UP = 1e-3    # a "material" increase: the loss rises by more than 0.1 % in one iteration


def rises(loss):
    """Relative one-iteration increases of a loss history."""
    loss = np.asarray(loss)
    return np.diff(loss) / loss[:-1]


ups = {r: int(np.sum(rises(h.loss) > UP)) for r, h in rho_runs.items()}
for r, h in sorted(rho_runs.items()):
    print(f"rho = {r:5g}: loss rose by > 0.1% in {ups[r]:3d} of {len(h.loss) - 1} iterations "
          f"(largest rise {max(rises(h.loss).max(), 0):.1e}x), best {min(h.loss):.4f}, "
          f"final {h.loss[-1]:.4f}")
small_rho, large_rho = 0.1 * P.rho, 10 * P.rho
assert ups[large_rho] == 0, "with a large penalty E-MSA should not increase the loss"
assert ups[small_rho] > ups[large_rho] and ups[0.0] > 0
assert min(rho_runs[large_rho].loss) > min(emsa.loss), "the large penalty is slower"
glue("rho_large", large_rho)
glue("rho_small", small_rho)
glue("ups_small", ups[small_rho])
glue("ups_main", ups[P.rho])
glue("best_large", min(rho_runs[large_rho].loss))
glue("rise_large", max(rises(rho_runs[large_rho].loss).max(), 0.0))
glue("rise_small", rises(rho_runs[small_rho].loss).max())

# %% [markdown]
# With $\rho=${glue:text}`rho_large:.0f` no iteration raises the loss by more than 0.1 % (the
# largest one-step rise is {glue:text}`rise_large:.1g` times the loss), but it settles at
# {glue:text}`best_large:.3f`, on the plateau; with $\rho=${glue:text}`rho_small:.1f` the loss rises
# in {glue:text}`ups_small:.0f` iterations, once by {glue:text}`rise_small:.0f` times its value (with
# $\rho=1$: {glue:text}`ups_main:.0f` rises). (Over the `paper` preset's 500 iterations the
# $\rho=${glue:text}`rho_large:.0f` run, stalled on the plateau, shows relative wiggles below
# $10^{-3}$ — the per-layer maximisation is a few L-BFGS steps, not exact.) This is the
# trade-off that Li et al.'s error estimate formalises: the penalty must dominate the
# Lipschitz constants of the layers for the Hamiltonian maximisation to be a descent step.
#
# A linear-quadratic (LQ) network shows the mechanism exactly. Take
# $x_{n+1} = (I+\delta A)x_n + \delta B u_n$ (a residual network with linear layers and the
# control $u_n$ as its weights), $A$ an undamped oscillator, $B = (0,1)^\top$, cost
# $\tfrac\delta2\sum_n(x_n^\top Qx_n + ru_n^2) + \tfrac12x_N^\top Q_Tx_N$. Then $\arg\max_u\tilde H_n$
# is explicit, the MSA map $u\mapsto u^{\rm new}$ is affine, and its linear part has
# eigenvalues $-\mu_i\le0$ for the basic MSA ($\mu_i$: eigenvalues of $(\delta r)^{-1}G$, $G\succeq0$ the
# Hessian of the state cost in $u$) and $(a-\mu_i)/(1+a)$, $a=\rho\delta|b|^2/r$, for E-MSA. Hence
# basic MSA diverges as soon as $\mu_{\max}>1$, and E-MSA converges exactly when
# $\rho>\rho^* = r(\mu_{\max}-1)/(2\delta|b|^2)$, fastest at $a = (\mu_{\max}+\mu_{\min})/2$ with rate
# $(\mu_{\max}-\mu_{\min})/(2+\mu_{\max}+\mu_{\min})$.

# %%
A = np.array([[0.0, 1.0], [-1.0, 0.0]])
B = np.array([[0.0], [1.0]])
lq = msa.LQ(A, B, Q=0.1 * np.eye(2), R=np.eye(1), QT=np.eye(2), T=5.0)
x0_lq, N_lq = np.array([1.0, 0.0]), P.layers
delta_lq = lq.T / N_lq
mu = -msa.lq_msa_spectrum(lq, x0_lq, N_lq, 0.0)     # basic MSA map: eigenvalues -mu_i
assert np.abs(mu.imag).max() < 1e-10 and mu.real.min() > -1e-10, "expected real mu_i >= 0"
mu = np.sort(mu.real)
mu_max, mu_min = mu[-1], mu[0]
rho_star = (mu_max - 1) / (2 * delta_lq)
rho_opt = (mu_max + mu_min) / (2 * delta_lq)
rhos = np.geomspace(0.1, 1000, 41)
rates = np.array([msa.lq_msa_rate(lq, x0_lq, N_lq, r) for r in rhos])
a = rhos * delta_lq
predicted = np.abs(a[:, None] - mu[None, :]).max(axis=1) / (1 + a)

P_d, K_d = msa.discrete_riccati(lq, N_lq)
Ab, Bb, _ = msa.discretise(lq, N_lq)
x_opt, u_opt = [x0_lq], []
for n in range(N_lq):
    u_opt.append(-K_d[n] @ x_opt[-1])
    x_opt.append(Ab @ x_opt[-1] + Bb @ u_opt[-1])
u_opt = np.array(u_opt)
it_basic = msa.lq_msa(lq, x0_lq, N_lq, 0.0, 12)
it_ext = msa.lq_msa(lq, x0_lq, N_lq, rho_opt, 80)
err_ext = np.abs(it_ext["u"] - u_opt).max(axis=(1, 2))
err_basic = np.abs(it_basic["u"] - u_opt).max(axis=(1, 2))
msa.plot_lq_msa(rhos, rates, predicted, rho_star, err_basic, err_ext, rho_opt)
plt.show()

print(f"basic-MSA spectral radius mu_max = {mu_max:.4f}; rho* = {rho_star:.3f}")
print(f"max |rate - formula| over the rho grid = {np.abs(rates - predicted).max():.1e}")
assert mu_max > 1, "basic MSA should diverge on this LQ problem"
assert np.abs(rates - predicted).max() < 1e-8
assert msa.lq_msa_rate(lq, x0_lq, N_lq, 0.9 * rho_star) > 1 > msa.lq_msa_rate(lq, x0_lq, N_lq, 1.1 * rho_star)
assert err_basic[-1] > 1e3 * err_basic[0], "basic MSA should blow up"
assert err_ext[-1] < 1e-8, "E-MSA should converge to the Riccati (dynamic-programming) control"
fit = np.polyfit(np.arange(20, 60), np.log(err_ext[20:60]), 1)[0]
rate_opt = (mu_max - mu_min) / (2 + mu_max + mu_min)
assert abs(np.exp(fit) - rate_opt) < 0.02, "E-MSA's contraction rate"
glue("mu_max", mu_max)
glue("rho_star", rho_star)
glue("rho_opt", rho_opt)
glue("emsa_lq_err", err_ext[-1])
glue("emsa_lq_rate", np.exp(fit))
glue("rate_opt", rate_opt)

# %% [markdown]
# Here $\mu_{\max}=${glue:text}`mu_max:.2f`, so basic MSA diverges geometrically, and E-MSA
# needs $\rho>\rho^*=${glue:text}`rho_star:.2f`; the measured spectral radii match the formula
# to round-off. At $\rho=${glue:text}`rho_opt:.2f` E-MSA contracts by
# {glue:text}`emsa_lq_rate:.3f` per iteration (predicted {glue:text}`rate_opt:.3f`) and lands
# on the control that dynamic programming gives, to {glue:text}`emsa_lq_err:.0e`. Too large a
# $\rho$ is safe but slow (rates tend to 1): the penalty is a step-size control, which is
# how Li et al. prove that E-MSA decreases the loss for $\rho$ large enough.
#
# ## The costate is $-\nabla_x V$: HJB and the maximum principle agree
#
# Dynamic programming solves the same LQ problem through its value function $V_n(x)$,
# the minimal cost-to-go from state $x$ at layer $n$. For LQ, $V_n(x) = \tfrac12x^\top P_nx$ with the
# discrete Riccati recursion, and in continuous time ($\dot x = Ax+Bu$) the HJB equation
# $-V_t = \min_u\{\nabla V\cdot(Ax+Bu) + \tfrac12(x^\top Qx+u^\top Ru)\}$ becomes the Riccati
# equation $-\dot P = A^\top P+PA-PBR^{-1}B^\top P+Q$, $P(T)=Q_T$. Along the optimal path the PMP
# costate must equal $-\nabla_xV$: $p_n = -P_nx_n$ and $p(t) = -P(t)x(t)$. We solve the Riccati
# ODE backwards, the optimal path forwards and the costate ODE $\dot p = -A^\top p+Qx$
# backwards, all by DOP853 at tolerance $10^{-12}$.

# %%
disc_x, disc_p, disc_cost = msa.discrete_lq_rollout(lq, x0_lq, u_opt)
disc_err = np.abs(disc_p + np.einsum("nij,nj->ni", P_d, disc_x)).max()
cont = msa.lq_pmp_check(lq, x0_lq)
Ns = np.array([80, 160, 320, 640, 1280])
v_err = np.array([0.5 * x0_lq @ msa.discrete_riccati(lq, n)[0][0] @ x0_lq for n in Ns]) - cont["value"]
fig, axs = plt.subplots(1, 2, figsize=(10, 3.6))
for i, c in enumerate(("tab:blue", "tab:orange")):
    axs[0].plot(cont["t"], cont["p"][:, i], color=c, lw=2.5, alpha=0.5,
                label=f"PMP costate $p_{i + 1}(t)$")
    axs[0].plot(cont["t"], cont["minus_grad_V"][:, i], "k--", lw=1,
                label="$-\\partial_x V$ (Riccati)" if i == 0 else None)
    axs[0].plot(np.arange(N_lq + 1) * delta_lq, disc_p[:, i], "o", color=c, ms=3,
                label=f"discrete $p_{{n,{i + 1}}}$, {N_lq} layers")
axs[0].set_xlabel("time = depth $t$"); axs[0].legend(fontsize=7)
slope_v = plotting.loglog_rate(axs[1], lq.T / Ns, np.abs(v_err), "$|V_N(x_0) - V(x_0,0)|$")
axs[1].set_xlabel("layer step $\\delta = T/N$"); axs[1].legend(fontsize=8)
axs[1].xaxis.set_minor_formatter(plt.NullFormatter())
plt.tight_layout()
plt.show()

print(f"discrete:   max |p_n + P_n x_n|  = {disc_err:.1e}; cost {disc_cost:.6f} = V_0(x_0) "
      f"{0.5 * x0_lq @ P_d[0] @ x0_lq:.6f}")
print(f"continuous: max |p(t) + P(t)x(t)| = {cont['max_err']:.1e}; "
      f"order of V_N -> V in delta: {slope_v:.3f}")
assert disc_err < 1e-12 and abs(disc_cost - 0.5 * x0_lq @ P_d[0] @ x0_lq) < 1e-12
assert cont["max_err"] < 1e-8
assert 0.95 < slope_v < 1.05
glue("disc_err", disc_err)
glue("cont_err", cont["max_err"])
glue("slope_v", slope_v)

# %% [markdown]
# The discrete costate equals $-P_nx_n$ to {glue:text}`disc_err:.0e` and the continuous one
# $-P(t)x(t)$ to {glue:text}`cont_err:.0e`; the $N$-layer value converges to the
# continuous-depth one at order {glue:text}`slope_v:.2f` in $\delta$ (the residual network is the
# explicit Euler scheme of $\dot x = Ax+Bu$). This is the classical link: the maximum
# principle's costate is the gradient of the HJB value function along optimal paths, so
# MSA solves, by iterating along one trajectory, the equation that dynamic programming
# solves over the whole state space.
#
# ## Time = depth versus time = training
#
# Deep Relaxation's Sec. 5 uses the *same* HJB machinery with every role exchanged:
#
# | | Li et al. (this chapter) | Deep Relaxation, Sec. 5 |
# |---|---|---|
# | time | depth $n$ (layer index) | training time $s$ |
# | state | features $x_n$ of one input | weights $x(s)$ of the whole network |
# | control | the weights $\theta_n$ | a drift correction $\alpha(s)$ |
# | dynamics | $x_{n+1}=x_n+\delta\tanh(W_nx_n+b_n)$, deterministic | (CSGD): $dx=-(\nabla f+\alpha)ds+\beta^{-1/2}dW$ |
# | cost | $\Phi(x_N)+\sum R(\theta_n)$ | $\mathbb E[V(x(T))+\tfrac12\int\lvert\alpha\rvert^2]$ |
# | solved by | PMP along a trajectory (MSA) | HJB over all weights: $u$, $\alpha=\nabla u$ |
# | outcome | the trained weights | an algorithm (local entropy, Entropy-SGD) |
#
# For a quadratic loss $f = \tfrac12x^\top Hx$ and $V = \tfrac12x^\top Q_Tx$, (CSGD) is itself an LQ
# problem: $A=-H$, $B=-I$, $R=I$, $Q=0$. Its value function is $u = \tfrac12x^\top P(t)x + c(t)$
# with the same Riccati equation, and the noise only adds
# $c(t) = \tfrac{\beta^{-1}}2\int_t^T\operatorname{tr}P$ (certainty equivalence): the optimal control
# $\alpha = \nabla u = Px$ (eq. (25)) and the costate identity $p = -\nabla u$ do not see $\beta$.
# We take a saddle, $H = \operatorname{diag}(1,-\tfrac12)$, $Q_T = I$, check the costate, and
# simulate (CSGD) with that feedback using `deeprelax.sde.csgd` (Euler–Maruyama) to check
# that the expected cost is $u(x_0,0)$, below the expected terminal loss of (SGD)
# (Theorem 12).

# %%
H = np.diag([1.0, -0.5])
beta_c, T_c, dt_c, n_paths = 4.0, 1.0, 1e-3, 4000
csgd_lq = msa.LQ(-H, -np.eye(2), Q=np.zeros((2, 2)), R=np.eye(2), QT=np.eye(2), T=T_c)
x0_c = np.array([1.0, 0.5])
chk = msa.lq_pmp_check(csgd_lq, x0_c)
u0 = chk["value"] + msa.lq_noise_constant(chk["P"], T_c, beta_c)
rng = np.random.default_rng(P.seed)
X0 = np.tile(x0_c, (n_paths, 1))
V = lambda x: 0.5 * np.sum(x * x, axis=1)           # noqa: E731
xc, energy = sde.csgd(lambda x: x @ H, lambda x, s: x @ chk["P"](s), X0, T_c, dt_c, beta_c,
                      np.random.default_rng([P.seed, 1]))
xs_, _ = sde.csgd(lambda x: x @ H, None, X0, T_c, dt_c, beta_c, np.random.default_rng([P.seed, 1]))
cost = V(xc) + 0.5 * energy
mc, se = cost.mean(), cost.std(ddof=1) / np.sqrt(n_paths)
ev_sgd = V(xs_).mean()
print(f"costate vs -grad u along the optimal path: {chk['max_err']:.1e}")
print(f"u(x0, 0) = {u0:.4f} (Riccati) ; Monte Carlo E[V + |alpha|^2/2] = {mc:.4f} +- {se:.4f}"
      f" ; E V(x_sgd(T)) = {ev_sgd:.4f}")
assert chk["max_err"] < 1e-8
assert abs(mc - u0) < 3 * se + 5 * dt_c, "Monte Carlo cost of (CSGD) should equal u(x0, 0)"
assert u0 < ev_sgd, "Theorem 12: the controlled cost is below SGD's terminal loss"
glue("csgd_err", chk["max_err"])
glue("csgd_u0", u0)
glue("csgd_mc", mc)
glue("csgd_sgd", ev_sgd)

# %% [markdown]
# The costate matches $-\nabla u$ to {glue:text}`csgd_err:.0e`; the Monte Carlo cost of the
# Riccati feedback, {glue:text}`csgd_mc:.4f`, agrees with $u(x_0,0)=${glue:text}`csgd_u0:.4f`, which
# lies below the expected terminal loss of plain (SGD), {glue:text}`csgd_sgd:.4f`. The same
# equation thus answers two different questions: Li et al. ask *which weights* make a
# network map inputs well (state = features, time = depth) and solve it along one
# trajectory per iteration; Deep Relaxation asks *how to move the weights* during training
# (state = weights, time = training) and reads the answer off the value function — for a
# non-quadratic $f$ that is the viscous HJB solution, i.e. local entropy (Remark 10),
# which the Sec. 5 chapter solves on grids and by Monte Carlo.
#
# ## Choices we made
#
# - **One L-BFGS problem for all layers.** Given $(x,p)$ the layer problems are
#   independent, so maximising $\sum_n\tilde H_n$ has the same maximiser; we run L-BFGS-B
#   (SciPy) on the joint vector with 10 iterations rather than 20 separate solves.
# - **Scaling of $\rho$.** As in their code, $H$ sums $p\cdot g$ over samples with $p$ built
#   from the *mean* loss, while both penalties sum over samples; $\rho$ is therefore not
#   scale-free, and $\rho=1$ is theirs.
# - **Iterations.** The fast preset runs 100 MSA iterations (theirs: 500 epochs); back-
#   propagation runs 500 steps in both presets. `-p preset paper` runs 500 MSA iterations
#   on the CPU (a few minutes).
# - **LQ example.** The oscillator, $Q=0.1I$, $r=1$, $Q_T=I$, $T=5$ and 20 layers are ours;
#   they make the basic MSA's map expansive ($\mu_{\max}>1$).
