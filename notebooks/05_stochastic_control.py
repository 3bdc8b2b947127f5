# %% [markdown]
# # Sec. 5: Stochastic control and the improvement of the expected loss
#
# Section 5 of the paper {cite}`chaudhari2018deep` reads local-entropy dynamics as an
# optimal control problem {cite}`fleming2006controlled`. Add a control $\alpha$ to (SGD):
#
# $$ dx(s) = -\nabla f(x(s))\,ds - \alpha(s)\,ds + \beta^{-1/2}\,dW(s)
#    \qquad\text{(CSGD)} $$
#
# for $t\le s\le T$, and minimise the cost $\mathbb E\big[V(x(T)) + \tfrac12\int_t^T|\alpha|^2ds\big]$
# (eq. (24)). The value function solves the Hamilton–Jacobi–Bellman equation
#
# $$ \begin{aligned}
#    -u_t &= -\nabla f\cdot\nabla u - \tfrac12|\nabla u|^2
#            + \tfrac{\beta^{-1}}{2}\Delta u, \\
#    u(\cdot,T) &= V, \end{aligned} \qquad\text{(HJB)} $$
#
# and the optimal control is $\alpha = \nabla u$ (eq. (25)), so the optimally controlled
# particles descend $f + u$. This chapter
#
# 1. solves (HJB) with a monotone scheme and the **forward–backward system (26)** with a
#    mass-conserving Fokker–Planck scheme, and checks them against each other and
#    against Monte Carlo;
# 2. checks **Theorem 12**,
#    $\mathbb E[V(x_{\rm csgd}(T))] \le \mathbb E[V(x_{\rm sgd}(T))] -
#    \tfrac12\mathbb E\int_0^T|\alpha|^2$, by Monte Carlo with confidence intervals on
#    three losses, two horizons and two temperatures;
# 3. compares **scoping** ($\gamma$ decreasing in time, Sec. 1 and 7.5) with a fixed
#    $\gamma$ on the loss of the paper's Figure 1.
#
# Two printed formulas are used in a corrected form: the Fokker–Planck line of (26)
# ({ref}`below <errata-eq26-csgd-density>`) and the generator in the proof of
# Theorem 12 ({ref}`below <errata-thm12-generator>`). The computations are in
# `deeprelax.chapters.ch05_stochastic_control` (the PDE solvers in `deeprelax.pde.hjb`):
# `compute` runs every study, `claims` turns the section's statements into checks.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, seconds) or "paper" (more paths, finer grids)
device = "cpu"    # unused: this chapter is NumPy on the CPU
n_paths = None    # Monte-Carlo paths per case (None: the preset's value)
seed = None       # base seed (None: the preset's value)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch05_stochastic_control as ch05
from deeprelax.book.claims import report

P = ch05.Params.from_notebook(globals())
R = ch05.compute(P)
glue_all(ch05.measures(R))
P.frame()

# %% [markdown]
# ## (HJB) and the forward–backward system (26)
#
# On the loss of the paper's Figure 1 with $V = f$, $T=$ {glue:text}`fb_T:g` and
# $\beta=$ {glue:text}`fb_beta:g` we solve (HJB) backward by the Godunov scheme of
# `deeprelax.pde.fd` (monotone, explicit, CFL-limited; run forward in the time-to-go
# $\tau = T-t$ with the advection $\nabla f$). {numref}`fig-ch05-hjb` shows the value
# function and the optimal control it gives.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The solution of (HJB) on the loss of the paper's Figure 1 with terminal cost $V=f$. Left: the value function $u(\\cdot,t)$ at the start, the middle and the end $t=T$ (where $u=f$). Right: the optimal control $\\alpha=\\partial_x u$ (eq. (25)) at the same times; look at the earlier times: $u$ is smoother than $f$, and over the narrow well at $x\\approx-1.2$ the control is negative, so the drift $-f'-\\alpha$ pushes the particles right, towards the global valley.", "name": "fig-ch05-hjb"}}
ch05.figure_hjb(R)
plt.show()

# %% [markdown]
# We then carry $\rho_0 = \mathcal N(-1.4, 0.35^2)$ (the initial density of the paper's Figure 1) forward
# with the finite-volume scheme of `deeprelax.pde.fokker_planck` (upwind fluxes, zero flux at
# the walls: mass is conserved to round-off), and we simulate the same start by Monte
# Carlo, (SGD) and (CSGD) with the control $\alpha=\nabla u$ on the same Brownian paths.
#
# (errata-eq26-csgd-density)=
# **The Fokker–Planck line of (26).** The density of (CSGD) with $\alpha=\nabla u$
# solves
#
# $$ \rho_t = \nabla\cdot\big((\nabla f + \nabla u)\,\rho\big)
#    + \tfrac{\beta^{-1}}{2}\Delta\rho, \qquad \rho(\cdot,0)=\rho_0, $$
#
# whereas (26) prints $\rho_t = -\nabla\cdot(\nabla u\,\rho) + \Delta\rho$: the drift has
# the wrong sign, misses $\nabla f$, and the diffusion coefficient is 1 instead of
# $\beta^{-1}/2$. {numref}`fig-ch05-densities` and the table below decide it: the
# corrected equation matches the Monte-Carlo paths, the printed one sends the mass up
# the walls of $u$, to an expected loss of {glue:text}`fb_EVp:.3f` against
# {glue:text}`mc_EVc:.3f` for the (CSGD) paths.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Densities at time $T$ from $\\rho_0=\\mathcal N(-1.4, 0.35^2)$. Monte-Carlo histograms of (SGD) (grey) and (CSGD) with $\\alpha=\\nabla u$ (red steps), the Fokker\u2013Planck solutions for (SGD) (black) and of the corrected (26) (dark red), and (26) as printed (blue, dashed). The corrected curves lie on the histograms; the printed one does not.", "name": "fig-ch05-densities"}}
ch05.figure_densities(R)
plt.show()

# %% tags=["hide-input"]
ch05.fb_frame(R)

# %% [markdown]
# The corrected (26) gives the expected terminal loss {glue:text}`fb_EVs:.3f` for SGD
# and {glue:text}`fb_EVc:.3f` for CSGD (Monte Carlo: {glue:text}`mc_EVs:.3f` and
# {glue:text}`mc_EVc:.3f`), at a control energy of {glue:text}`fb_energy:.3f` (Monte
# Carlo {glue:text}`mc_energy:.3f`); mass is conserved to {glue:text}`fb_mass:.0e`.
# Along the optimal density, dynamic programming gives
#
# $$ \int u(x,0)\rho_0(x)\,dx = \int V\rho(\cdot,T)\,dx
#    + \tfrac12\int_0^T\!\!\int|\nabla u|^2\rho\,dx\,dt, $$
#
# which both first-order schemes satisfy only up to $O(\Delta x + \Delta t)$ ($\Delta t$:
# the spacing of the stored snapshots of $u$, linearly interpolated in time for the
# drift). The gap is {glue:text}`gap_fine:.4f` on {glue:text}`n_fine` points, against
# {glue:text}`gap_coarse:.4f` on {glue:text}`n_coarse` points with a four times coarser
# snapshot grid: it shrinks under refinement.
#
# ## Theorem 12 by Monte Carlo
#
# **Theorem 12.** For (CSGD) with the optimal control and (SGD) started at the same
# $x_0$,
#
# $$ \mathbb E[V(x_{\rm csgd}(T))] \le \mathbb E[V(x_{\rm sgd}(T))] -
#    \tfrac12\mathbb E\int_0^T|\alpha(x_{\rm csgd}(s),s)|^2ds. $$
#
# **A closed form to test against.** With $w = e^{-\beta u}$, (HJB) becomes the backward
# Kolmogorov equation of (SGD),
# $-w_t = -\nabla f\cdot\nabla w + \tfrac{\beta^{-1}}2\Delta w$ (the $|\nabla u|^2$
# terms cancel exactly because the control cost is $\tfrac12|\alpha|^2$ and the noise
# $\beta^{-1/2}$). Hence, by Feynman–Kac,
#
# $$ \begin{aligned}
#    u(x,t) &= -\beta^{-1}\log\mathbb E\big[e^{-\beta V(x_{\rm sgd}(T))}
#              \,\big|\,x_{\rm sgd}(t)=x\big] \\
#    &\le \mathbb E\big[V(x_{\rm sgd}(T))\,\big|\,x_{\rm sgd}(t)=x\big] = v(x,t),
#    \end{aligned} $$
#
# the second step by Jensen: this is Theorem 12 ($u \le v$ is eq. (27)), with the margin
# equal to a Jensen gap, roughly $\tfrac\beta2\operatorname{Var}V(x_{\rm sgd}(T))$.
#
# We take $V=f$, a fixed start $x_0$ in a non-global well, and drive both SDEs with the
# *same* Brownian increments (common random numbers: the expectations are unchanged and
# the margin $M = V(x_{\rm sgd}) - V(x_{\rm csgd}) - \tfrac12\int|\alpha|^2$ becomes a
# paired difference with a small variance). The table gives, for every case, $\mathbb E M$
# with its 95% interval, then its two parts: the gain in expected loss
# $\mathbb E V(x_{\rm sgd}(T)) - \mathbb E V(x_{\rm csgd}(T))$ and the control energy
# $\tfrac12\mathbb E\int|\alpha|^2$, which the gain must exceed.

# %% tags=["hide-input"]
ch05.theorem12_frame(R)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Theorem 12: the margin $\\mathbb E M$ with its 95% confidence interval, for each loss, inverse temperature $\\beta$ and horizon $T$ (log scale). Every interval lies to the right of zero: the controlled dynamics improve the expected loss by more than the control energy in every case.", "name": "fig-ch05-theorem12"}}
ch05.figure_theorem12(R)
plt.show()

# %% [markdown]
# In all {glue:text}`t12_cases` cases the margin is positive and its 95% interval
# excludes zero ({numref}`fig-ch05-theorem12`); the smallest is
# {glue:text}`t12_min_margin:.4f` ± {glue:text}`t12_min_ci:.4f` (at
# $\beta=$ {glue:text}`t12_min_beta:g`, $T=$ {glue:text}`t12_min_T:g`), the largest
# {glue:text}`t12_max_margin:.3f`. The margin is the Jensen gap $v(x_0,0)-u(x_0,0)$ of
# the Feynman–Kac formula above: it is large when SGD paths end in different basins,
# small when they all stay in one.
#
# The value function itself is checked three ways: the PDE solution $u(x_0,0)$, the
# Feynman–Kac estimate $-\beta^{-1}\log\overline{e^{-\beta V(x_{\rm sgd}(T))}}$, and the
# cost achieved by the interpolated control,
# $\mathbb E[V(x_{\rm csgd})] + \tfrac12\mathbb E\int|\alpha|^2$, which cannot be below
# $u$. The 2-D grids are coarse (`n_grid_2d` points per axis), so there the PDE value is
# only indicative; the theorem is checked on the simulated paths.

# %% tags=["hide-input"]
ch05.value_frame(R)

# %% [markdown]
# (errata-thm12-generator)=
# **Which generator?** The proof of Theorem 12 takes
# $\mathcal L = -\nabla f\cdot\nabla + \tfrac12\Delta$ as the generator of (SGD), which
# is the case $\beta=1$; with the noise $\beta^{-1/2}dW$ of (SGD) and (CSGD) the
# generator is $-\nabla f\cdot\nabla + \tfrac{\beta^{-1}}{2}\Delta$, the viscosity of
# (HJB) as printed, which is what we solve. The Feynman–Kac agreement in the table
# above is the check at the consistent $\beta$. For the other reading we solve (HJB)
# with $\tfrac12\Delta$ and simulate the SDEs at $\beta=$ {glue:text}`beta_sim:g`
# ($T=$ {glue:text}`T_sim:g`, loss of the paper's Figure 1): the PDE value $u(x_0,0)=$
# {glue:text}`u_proof:.4f` misses the Feynman–Kac value {glue:text}`u_fk_sim:.4f`
# (the consistent scheme gives {glue:text}`u_consistent:.4f`), the control costs
# {glue:text}`cost_proof:.4f` against {glue:text}`cost_consistent:.4f` on the same
# paths, and the margin of Theorem 12 becomes negative, {glue:text}`margin_proof:.4f`.
#
# (errata-thm12-proof-step)=
# **The step of the proof.** The proof then writes
# $u_t = \mathcal L u - \tfrac12|\nabla u|^2 \le 0$. (HJB) says
# $-u_t = \mathcal L u - \tfrac12|\nabla u|^2$, that is
# $u_t + \mathcal L u = \tfrac12|\nabla u|^2 \ge 0$: $u$ is a subsolution of the backward
# equation $v_t + \mathcal L v = 0$ of $v(x,t) = \mathbb E[V(x(T))\mid x(t)=x]$, with the
# same terminal values, and the comparison principle gives (27), $u \le v$. The printed
# line has the sign of $u_t$ reversed, and $u_t \le 0$ does not hold. On our solution of
# (HJB) (the grid of the table above, centred differences, $|x| \le 2.5$, before the
# terminal layer $T - 0.25$) the corrected identity leaves a relative residual of
# {glue:text}`proof_step_corrected:.3f`, which shrinks as the grid is refined, the printed
# one {glue:text}`proof_step_printed:.2f` (it is $2u_t$ where the corrected one holds), and
# $u_t$ is positive where it is largest in magnitude (largest $u_t$ over largest $|u_t|$:
# {glue:text}`proof_step_sign:.2f`). The theorem stands; only the line of the proof is
# misprinted.
#
# ## Scoping: $\gamma$ decreasing in time
#
# Sec. 1 proposes to *scope* $\gamma$: start with a large $\gamma$ (strong smoothing)
# and let it decrease, replacing (3) by $dx = -\nabla u(x, T-t)\,dt$; Sec. 7.5 uses
# $\gamma = \gamma_0(1-\gamma_1)^{k/L}$, and Remark 10 shows that without the $\nabla f$
# term the optimal control of (CSGD) is exactly $\alpha(x,s) = \nabla u(x, T-s)$ with
# $u$ the solution of (viscous-HJ): a gradient of the local entropy at a $\gamma$ that
# shrinks to zero.
#
# We run $N$ particles from the initial density of the paper's Figure 1 under
# $dx = -\nabla f_{\gamma(t)}(x)\,dt + \beta_{\rm fp}^{-1/2}dW$ (the homogenized
# Entropy-SGD of Theorem 5, plus SGD noise), with $f_\gamma$ from Cole–Hopf at the
# $\beta$ of the paper's Figure 1, for
#
# - $\gamma = 0$ (plain SGD), a small fixed $\gamma = \gamma_0/10$, the fixed
#   $\gamma = \gamma_0$ of the paper's Figure 1;
# - linear scoping $\gamma(t) = \gamma_0(1 - t/T)$ (Sec. 1 with $u(\cdot,T-t)$ rescaled
#   to $\gamma_0$);
# - exponential scoping $\gamma(t) = \gamma_0 e^{-5t/T}$ (the continuous form of
#   Sec. 7.5).
#
# All schedules share the same Brownian paths. We record the final loss $f(x(T))$ and
# whether $x(T)$ lies in the basin of attraction of the global minimum (between its
# neighbouring maxima), {numref}`fig-ch05-scoping`.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Scoping on the loss of the paper's Figure 1. Left: empirical distribution function of the final excess loss $f(x(T))-\\min f$ for each schedule (further left and higher is better). Right: fraction of the particles that end in the basin of the global minimum, with 95% intervals. Look at the two scoping schedules: as many particles in the global basin as the fixed large $\\gamma$, at a much lower final loss.", "name": "fig-ch05-scoping"}}
ch05.figure_scoping(R)
plt.show()

# %% tags=["hide-input"]
ch05.scoping_frame(R)

# %% [markdown]
# SGD leaves only {glue:text}`sc_frac_sgd:.1%` of the particles in the global basin (the
# rest stay in the narrow well they started in, as in the paper's Figure 1). A fixed $\gamma=$
# {glue:text}`gamma0:g` brings {glue:text}`sc_frac_big:.1%` there, but the particles
# then follow the wide, flat minimum of $f_\gamma$ and the noise spreads them over it
# instead of the sharper minimum of $f$: their mean excess loss is
# {glue:text}`sc_loss_big:.4f`. Scoping gets both: {glue:text}`sc_frac_lin:.1%`
# (linear) and {glue:text}`sc_frac_exp:.1%` (exponential) in the global basin, with mean
# excess losses {glue:text}`sc_loss_lin:.4f` and {glue:text}`sc_loss_exp:.4f`. The two
# schedules' fractions in the basin coincide (they reach it while $\gamma$ is still
# large), so one claim compares both with SGD and with the fixed $\gamma_0$; only the
# final losses tell them apart. A small
# fixed $\gamma$ reaches {glue:text}`sc_frac_small:.1%` with excess
# {glue:text}`sc_loss_small:.4f`.
#
# ## Choices we made
#
# - **Consistent generator**: (HJB) at the $\beta$ of the simulated SDE (the proof's
#   $\tfrac12\Delta$ is $\beta=1$); the Fokker–Planck equation of (CSGD) is
#   $\rho_t = \nabla\cdot((\nabla f+\nabla u)\rho) + \tfrac{\beta^{-1}}{2}\Delta\rho$,
#   not (26) as printed. Both corrections are on the [Errata](../errata.md) page.
# - **Another reading of (26).** [The chapter on Figure 1](01_introduction.ipynb) reads the
#   Fokker–Planck line of (26) differently, for another purpose: the densities of the paper's Figure 1
#   are carried by the drift $-\nabla u$ alone, (FP) of Sec. 2.3 with $f$ replaced by
#   $u$, whereas here the density is that of (CSGD), with drift $-\nabla f-\nabla u$.
# - **Sign of the control**: with (CSGD) written with $-\alpha\,ds$, the optimal control
#   is $\alpha = +\nabla u$ (eq. (25)); the drift is $-\nabla(f+u)$.
# - **Terminal cost** $V = f$ and fixed starts $x_0$ in non-global wells: $x_0=-1.4$
#   (the paper's Figure 1), $(-0.8, 0.6)$ (2-D wells), $(1,1)$ (2-D Fourier).
# - **Discretisation**: (HJB) and (26) are first order in space and time (monotone,
#   CFL-limited), with `n_times` snapshots of $u$ linearly interpolated in time for the
#   feedback control; Euler–Maruyama with step `dt` for the SDEs; the running cost uses
#   the same left-point rule.
# - **Scoping dynamics**: $f_\gamma$ tabulated on a geometric grid of $\gamma$ (linear
#   interpolation in $\gamma$), the $\beta=2$ of the paper's Figure 1 for the smoothing and
#   $\beta_{\rm fp}=20$ for the noise, horizon $T=8$; the paper does not give these
#   values for this experiment.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch05.claims(R))
