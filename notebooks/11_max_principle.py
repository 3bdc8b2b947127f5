# %% [markdown]
# # Training as optimal control: the maximum principle
#
# Deep Relaxation {cite}`chaudhari2018deep` puts *training* in continuous time: the
# weights $x(s)$ follow (SGD), $dx = -\nabla f\,ds + \beta^{-1/2}dW$, and Sec. 5 adds a
# control $\alpha(s)$ whose optimal value comes from a Hamilton–Jacobi–Bellman (HJB)
# equation. Li, Chen, Tai & E {cite}`li2018maximum` use optimal control the other way
# round: the *network* is the dynamical system and its *depth* is time. A residual
# network
#
# $$ x_{n+1} = g_n(x_n,\theta_n) = x_n + \delta\tanh(W_n x_n + b_n),\qquad
#    n=0,\dots,N-1, $$
#
# carries an input $x_0$ to an output $x_N$; the weights $\theta_n=(W_n,b_n)$ are the
# control, and training minimises $L(\theta) = \Phi(x_N) + \sum_n R(\theta_n)$ over the
# data ($\Phi$: mean square loss, $R = \tfrac{\rm reg}{2}|\theta_n|^2$). With the
# Hamiltonian $H_n(x,p,\theta) = p\cdot g_n(x,\theta) - R(\theta)$, Pontryagin's maximum
# principle (PMP) {cite}`pontryagin1962mathematical` says that optimal weights satisfy
#
# $$
# \begin{aligned}
# x_{n+1} &= \nabla_p H_n(x_n,p_{n+1},\theta_n), && \text{(state)}\\
# p_n &= \nabla_x H_n(x_n,p_{n+1},\theta_n),\qquad p_N = -\nabla\Phi(x_N),
#   && \text{(costate)}\\
# \theta_n &\in \arg\max_\theta \textstyle\sum_s H_n(x_n^s,p_{n+1}^s,\theta).
#   && \text{(maximum)}
# \end{aligned}
# $$
#
# The **method of successive approximations** (MSA) iterates these three steps: forward
# pass, backward pass for the costate $p$, then a layer-wise *maximisation* of $H$ (not a
# gradient step). The **extended MSA** (E-MSA) maximises the augmented Hamiltonian
#
# $$
# \begin{aligned}
# \tilde H_n(\theta) = H_n(x_n,p_{n+1},\theta)
#   &- \tfrac\rho2\,|x_{n+1}-g_n(x_n,\theta)|^2 \\
#   &- \tfrac\rho2\,|p_n-\nabla_xH_n(x_n,p_{n+1},\theta)|^2,
# \end{aligned}
# $$
#
# which penalises updates that would invalidate the current states and costates.
# Everything here is our own PyTorch code (`deeprelax.chapters.ch11_max_principle`:
# `compute` runs every experiment below, `claims` turns the chapter's statements into
# checks), following the public facts of the authors' TensorFlow code: input repeated
# over the `width` state components, output summed, zero initial weights, the L-BFGS
# start perturbed by $U(-0.005,0.005)$, 10 L-BFGS iterations per maximisation.

# %% tags=["parameters", "hide-input"]
preset = "fast"     # "fast" (CPU, about 15 s) or "paper" (500 MSA iterations)
device = "cpu"      # unused: these problems are too small for a GPU to help
msa_iters = None    # MSA / E-MSA iterations (None: the preset's)
rho = None          # E-MSA penalty (None: the preset's, 1 as theirs)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch11_max_principle as ch11
from deeprelax.book.claims import report

P = ch11.Params.from_notebook(globals())
R = ch11.compute(P)
glue_all(ch11.prose_values(R))
P.frame()

# %% [markdown]
# ## The costate is back-propagation
#
# The costate recursion
# $p_n = \nabla_xH_n = p_{n+1} + \delta W_n^\top\big(p_{n+1}\odot
# \operatorname{sech}^2(W_nx_n+b_n)\big)$ is the chain rule run backwards, so with
# $p_N = -\nabla\Phi(x_N)$ (the *mean* loss, as in their code) we expect
# $p_n^s = -\partial L/\partial x_n^s$ for every sample $s$ and layer $n$, and
# $\nabla_{\theta}\sum_s H_n = -\partial L/\partial\theta_n$ (the regulariser enters
# both). We check both identities in float64 against PyTorch's autograd of $L$ at random
# weights: they hold to {glue:text}`costate_err:.0e` and {glue:text}`ham_err:.0e`
# (round-off), at a gradient scale of {glue:text}`grad_scale:.1f`. A gradient step on $L$
# is a step up the Hamiltonian, and back-propagation computes the PMP costate. What the
# MSA changes is the *update*: it maximises $H_n$ in $\theta_n$ instead of moving a small
# step along $\nabla_\theta H_n$.
#
# ## The toy problem: MSA and E-MSA against SGD, Adagrad and Adam
#
# The data are 100 training and 100 test points $x\sim U(-\pi,\pi)$ with $y=\sin x$; the
# network has 20 layers of width 5 with $\delta = 0.25$ and weight decay $10^{-3}$.
# Back-propagation uses full-batch SGD (learning rate 0.1), Adagrad (0.1) and Adam
# (0.005), their settings. One MSA iteration is one forward pass, one backward pass and
# 10 L-BFGS iterations on the separable sum $\sum_n\tilde H_n$ (we solve the 20
# independent layer problems as one L-BFGS problem; the maximiser is the same).
# {numref}`fig-ch11-training` shows the training losses, the table after it the numbers.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training loss $L(\\theta)$ of the toy problem. Left: against iterations (one MSA iteration is a forward pass, a backward pass and an L-BFGS maximisation; one back-propagation iteration is one optimiser step). Right: against this machine's wall-clock seconds. Look at E-MSA (red) leaving the plateau near 0.25 where Adagrad and Adam end, at the spikes of its loss, and at the basic MSA (dotted purple), which never converges.", "name": "fig-ch11-training"}}
ch11.figure_training(R)
plt.show()

# %% tags=["hide-input"]
ch11.training_frame(R)

# %% [markdown]
# The wall-clock panel uses this machine's timings (not printed: they vary from run to
# run). One E-MSA iteration costs an L-BFGS solve, so per second the comparison is far
# less favourable than per iteration, as the authors also note.
#
# After {glue:text}`k_early:.0f` iterations E-MSA is at {glue:text}`emsa_k:.3f`, against
# {glue:text}`adam_k:.3f` for Adam, {glue:text}`adagrad_k:.3f` for Adagrad and
# {glue:text}`sgd_k:.3f` for SGD (E-MSA's loss is {glue:text}`emsa_vs_adagrad_k:.0%` of
# Adagrad's): the favourable *per-iteration* rate the paper reports. E-MSA then
# leaves the plateau near 0.25 where Adagrad and Adam end (SGD stalls higher): its best
# loss is {glue:text}`emsa_best:.3f`, against {glue:text}`bp_best:.3f` for the best
# back-propagation run, though it gets there not monotonically, for a reason the next
# section explains.
#
# ## Basic MSA diverges, E-MSA with $\rho>0$ does not
#
# The basic MSA maximises $H_n$ itself. Its maximiser ignores that the new weights change
# the states $x_n$ and costates $p_n$ the Hamiltonian was built from, and jumps far: the
# weight norm $|\theta|$ reaches a largest value of {glue:text}`basic_theta_max:.0f`
# during the run and ends at {glue:text}`basic_theta_final:.1f` (E-MSA: largest
# {glue:text}`emsa_theta_max:.1f`, final {glue:text}`emsa_theta_final:.1f`; both columns
# are in the table above), and the loss never drops below {glue:text}`basic_best:.2f`,
# {glue:text}`basic_vs_emsa_best:.0f` times E-MSA's best. Between the two, $\rho$ acts as
# a step-size control; we rerun E-MSA with a smaller and a larger penalty
# ({numref}`fig-ch11-rho`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training loss of the MSA for four penalties: $\\rho=0$ (basic MSA), $\\rho/10$, $\\rho$ and $10\\rho$ with the chapter's $\\rho$. Look at the spikes (iterations that raise the loss), which grow rarer as $\\rho$ grows and vanish for the largest $\\rho$, whose loss decreases monotonically but stalls on the plateau.", "name": "fig-ch11-rho"}}
ch11.figure_rho(R)
plt.show()

# %% tags=["hide-input"]
ch11.rho_frame(R)

# %% [markdown]
# With $\rho=${glue:text}`rho_large:.0f` no iteration raises the loss by more than 0.1 %
# (the largest one-step rise is {glue:text}`rise_large:.1g` times the loss), but it
# settles at {glue:text}`best_large:.3f`, on the plateau
# ({glue:text}`large_vs_emsa_best:.1f` times E-MSA's best); with
# $\rho=${glue:text}`rho_small:.1f` the loss rises in {glue:text}`ups_small:.0f`
# iterations, once by {glue:text}`rise_small:.0f` times its value (with $\rho=1$:
# {glue:text}`ups_main:.0f` rises; the basic MSA: {glue:text}`ups_basic:.0f`). (Over the
# `paper` preset's 500 iterations the $\rho=${glue:text}`rho_large:.0f` run, stalled on
# the plateau, shows relative wiggles below $10^{-3}$ — the per-layer maximisation is a
# few L-BFGS steps, not exact.) This is the trade-off that Li et al.'s error estimate
# formalises: the penalty must dominate the Lipschitz constants of the layers for the
# Hamiltonian maximisation to be a descent step.
#
# A linear-quadratic (LQ) network shows the mechanism exactly. Take
# $x_{n+1} = (I+\delta A)x_n + \delta B u_n$ (a residual network with linear layers and
# the control $u_n$ as its weights), $A$ an undamped oscillator, $B = (0,1)^\top$, cost
# $\tfrac\delta2\sum_n(x_n^\top Qx_n + ru_n^2) + \tfrac12x_N^\top Q_Tx_N$. Then
# $\arg\max_u\tilde H_n$ is explicit, the MSA map $u\mapsto u^{\rm new}$ is affine, and
# its linear part has eigenvalues $-\mu_i\le0$ for the basic MSA ($\mu_i$: eigenvalues of
# $(\delta r)^{-1}G$, $G\succeq0$ the Hessian of the state cost in $u$) and
# $(a-\mu_i)/(1+a)$, $a=\rho\delta|b|^2/r$, for E-MSA. Hence basic MSA diverges as soon
# as $\mu_{\max}>1$, and E-MSA converges exactly when
# $\rho>\rho^* = r(\mu_{\max}-1)/(2\delta|b|^2)$, fastest at
# $a = (\mu_{\max}+\mu_{\min})/2$ with rate
# $(\mu_{\max}-\mu_{\min})/(2+\mu_{\max}+\mu_{\min})$ ({numref}`fig-ch11-lq-msa`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The MSA on the 20-layer LQ network. Left: spectral radius of the E-MSA map against $\\rho$, measured from its eigenvalues (dots) and by the formula $\\max_i|a-\\mu_i|/(1+a)$ (line); the map contracts (radius below the red line at 1) exactly for $\\rho>\\rho^*$ (dotted). Right: distance $\\max_n|u_n-u_n^*|$ of the iterates to the dynamic-programming control, for basic MSA (squares, geometric blow-up) and for E-MSA at the fastest $\\rho$ (dots, geometric convergence).", "name": "fig-ch11-lq-msa"}}
ch11.figure_lq_msa(R)
plt.show()

# %% [markdown]
# Here $\mu_{\max}=${glue:text}`mu_max:.2f` (and $\mu_{\min}=${glue:text}`mu_min:.4f`;
# all $\mu_i$ are real), so basic MSA diverges geometrically (its error
# grows {glue:text}`basic_lq_growth:.0e` times in 12 iterations), and E-MSA needs
# $\rho>\rho^*=${glue:text}`rho_star:.2f`: at $0.9\rho^*$ its spectral radius is
# {glue:text}`rate_below:.3f`, at $1.1\rho^*$ {glue:text}`rate_above:.3f`, and the
# measured radii match the formula to {glue:text}`rate_formula_err:.0e`. At
# $\rho=${glue:text}`rho_opt:.2f` E-MSA contracts by {glue:text}`emsa_lq_rate:.3f` per
# iteration (predicted {glue:text}`rate_opt:.3f`) and lands on the control that dynamic
# programming gives, to {glue:text}`emsa_lq_err:.0e`. Too large a $\rho$ is safe but slow
# (rates tend to 1): the penalty is a step-size control, which is how Li et al. prove
# that E-MSA decreases the loss for $\rho$ large enough.
#
# ## The costate is $-\nabla_x V$: HJB and the maximum principle agree
#
# Dynamic programming solves the same LQ problem through its value function $V_n(x)$,
# the minimal cost-to-go from state $x$ at layer $n$. For LQ,
# $V_n(x) = \tfrac12x^\top P_nx$ with the discrete Riccati recursion, and in continuous
# time ($\dot x = Ax+Bu$) the HJB equation
#
# $$ -V_t = \min_u\big\{\nabla V\cdot(Ax+Bu) + \tfrac12(x^\top Qx+u^\top Ru)\big\} $$
#
# becomes the Riccati equation $-\dot P = A^\top P+PA-PBR^{-1}B^\top P+Q$, $P(T)=Q_T$.
# Along the optimal path the PMP costate must equal $-\nabla_xV$: $p_n = -P_nx_n$ and
# $p(t) = -P(t)x(t)$. We solve the Riccati ODE backwards, the optimal path forwards and
# the costate ODE $\dot p = -A^\top p+Qx$ backwards, all by DOP853 at tolerance
# $10^{-12}$ ({numref}`fig-ch11-costate`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left: the two components of the PMP costate $p(t)$ of the continuous-depth LQ problem (thick coloured lines) on top of $-\\partial_x V = -P(t)x(t)$ from the Riccati equation (dashed), and the costates $p_n$ of the 20-layer network (dots), which solve the discrete problem and differ from $p(t)$ by the coarse step. Right: the gap between the $N$-layer value $V_N(x_0)$ and the continuous one against the layer step $\\delta=T/N$, log-log, with the fitted slope in the legend.", "name": "fig-ch11-costate"}}
ch11.figure_costate(R)
plt.show()

# %% [markdown]
# The discrete costate equals $-P_nx_n$ to {glue:text}`disc_err:.0e` (and the cost of
# the Riccati control is $V_0(x_0)$ to {glue:text}`disc_cost_err:.0e`), and the
# continuous one $-P(t)x(t)$ to {glue:text}`cont_err:.0e`; the $N$-layer value converges
# to the continuous-depth one at order {glue:text}`slope_v:.2f` in $\delta$ (the residual
# network is the explicit Euler scheme of $\dot x = Ax+Bu$). This is the classical link:
# the maximum principle's costate is the gradient of the HJB value function along
# optimal paths, so MSA solves, by iterating along one trajectory, the equation that
# dynamic programming solves over the whole state space.
#
# ## Time = depth versus time = training
#
# Deep Relaxation's Sec. 5 uses the *same* HJB machinery with every role exchanged:
#
# | | Li et al. (this chapter) | Deep Relaxation, Sec. 5 |
# |---|---|---|
# | time | depth $n$ | training time $s$ |
# | state | features $x_n$ of one input | weights $x(s)$ |
# | control | weights $\theta_n$ | drift correction $\alpha(s)$ |
# | dynamics | $x_{n+1}=g_n(x_n,\theta_n)$ | (CSGD), a diffusion |
# | cost | $\Phi(x_N)+\sum_n R(\theta_n)$ | $\mathbb E[V(x(T))+\tfrac12\int\lvert\alpha\rvert^2]$ |
# | solved by | PMP on one path (MSA) | HJB for $u$; $\alpha=\nabla u$ |
# | outcome | trained weights | an algorithm (Entropy-SGD) |
#
# Here (CSGD) is $dx=-(\nabla f+\alpha)\,ds+\beta^{-1/2}dW$.
#
# For a quadratic loss $f = \tfrac12x^\top Hx$ and $V = \tfrac12x^\top Q_Tx$, (CSGD) is
# itself an LQ problem: $A=-H$, $B=-I$, $R=I$, $Q=0$. Its value function is
# $u = \tfrac12x^\top P(t)x + c(t)$ with the same Riccati equation, and the noise only
# adds $c(t) = \tfrac{\beta^{-1}}2\int_t^T\operatorname{tr}P$ (certainty equivalence): the
# optimal control $\alpha = \nabla u = Px$ (eq. (25)) and the costate identity
# $p = -\nabla u$ do not see $\beta$. We take a saddle, $H =
# \operatorname{diag}(1,-\tfrac12)$, $Q_T = I$, $\beta=4$, check the costate, and
# simulate (CSGD) with that feedback using `deeprelax.pde.sde.csgd` (Euler–Maruyama, 4000
# paths) to check that the expected cost is $u(x_0,0)$, below the expected terminal loss
# of (SGD) (Theorem 12).
#
# The costate matches $-\nabla u$ to {glue:text}`csgd_err:.0e`; the Monte Carlo cost of
# the Riccati feedback, {glue:text}`csgd_mc:.4f` $\pm$ {glue:text}`csgd_se:.4f`, agrees
# with $u(x_0,0)=${glue:text}`csgd_u0:.4f` (the difference,
# {glue:text}`csgd_mc_err:.4f`, is within three standard errors plus the time-step
# bias allowance, {glue:text}`csgd_mc_tol:.4f`), which lies below the expected terminal
# loss of plain (SGD), {glue:text}`csgd_sgd:.4f`. The same equation thus answers two
# different questions: Li et al. ask *which weights* make a network map inputs well
# (state = features, time = depth) and solve it along one trajectory per iteration; Deep
# Relaxation asks *how to move the weights* during training (state = weights, time =
# training) and reads the answer off the value function — for a non-quadratic $f$ that
# is the viscous HJB solution, i.e. local entropy (Remark 10), which the Sec. 5 chapter
# solves on grids and by Monte Carlo.
#
# ## Choices we made
#
# - **One L-BFGS problem for all layers.** Given $(x,p)$ the layer problems are
#   independent, so maximising $\sum_n\tilde H_n$ has the same maximiser; we run
#   L-BFGS-B (SciPy) on the joint vector with 10 iterations rather than 20 separate
#   solves.
# - **Scaling of $\rho$.** As in their code, $H$ sums $p\cdot g$ over samples with $p$
#   built from the *mean* loss, while both penalties sum over samples; $\rho$ is
#   therefore not scale-free, and $\rho=1$ is theirs.
# - **Iterations.** The fast preset runs 100 MSA iterations (theirs: 500 epochs);
#   back-propagation runs 500 steps in both presets. `-p preset paper` runs 500 MSA
#   iterations on the CPU (a few minutes).
# - **LQ example.** The oscillator, $Q=0.1I$, $r=1$, $Q_T=I$, $T=5$ and 20 layers are
#   ours; they make the basic MSA's map expansive ($\mu_{\max}>1$).
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch11.claims(R))
