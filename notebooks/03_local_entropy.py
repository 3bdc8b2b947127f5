# %% [markdown]
# # Local entropy as a PDE (Sec. 3)
#
# Local entropy was introduced to study the energy landscape of the discrete
# perceptron, and extended to continuous parameters {cite}`chaudhari2017entropy` by
# replacing the loss $f(x)$ with
#
# $$ f_\gamma(x) := u(x,\gamma)
#    = -\frac1\beta \log\big(G_{\beta^{-1}\gamma} * e^{-\beta f}\big)(x),
#    \qquad (11) $$
#
# where $G_\gamma(x) = (2\pi\gamma)^{-d/2} e^{-|x|^2/2\gamma}$ is the heat kernel.
# Section 3 of the paper {cite}`chaudhari2018deep` reads (11) as the solution of the
# viscous Hamilton–Jacobi equation
#
# $$ u_t = -\tfrac12 |\nabla u|^2 + \tfrac{\beta^{-1}}{2}\,\Delta u,
#    \qquad u(x,0) = f(x), \qquad \text{(viscous-HJ)} $$
#
# (Lemma 1, by the Cole–Hopf transformation {cite}`evans1998pde`), studies its
# inviscid limit through the Hopf–Lax formula and the proximal operator (Lemmas 2
# and 3), and computes the invariant measure of the inner dynamics when $f$ is
# quadratic (Lemma 4). The paper proves these statements; this chapter checks each of
# them by numbers:
#
# | statement | check | expected |
# |---|---|---|
# | Lemma 1: (11) solves (viscous-HJ) | Cole–Hopf vs a monotone scheme | order 1 |
# | Lemma 1: the gradient (12)–(13) | Gibbs averages vs differences of $u$ | order 2 |
# | Lemma 2: (HL) solves (HJ), eq. (15) | Hopf–Lax vs the Godunov scheme | order 1 |
# | Sec. 3.2: $\beta\to\infty$ | viscous HJ vs Hopf–Lax | order $\beta^{-1}$ |
# | Lemma 3: dynamics (16) | contraction bound and rates | bound holds |
# | Lemma 4: Gaussian invariant measure | sampling; Neumann series | order $\gamma^{-3}$ |
#
# The computations are in `deeprelax.chapters.ch03_local_entropy`: `compute` runs every
# study below on top of the package's solvers — `local_entropy` (Cole–Hopf by a
# log-domain Gaussian convolution), `fd` (monotone schemes
# {cite}`oberman2006convergent`), `hopf_lax` (exact grid minimisation
# {cite}`felzenszwalb2012distance`), `prox` (the prox refined by Newton's method, the
# dynamics (16)) and `gibbs` (the measures (13), Lemma 4); `claims` turns the lemmas
# into the checks listed at the end.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, seconds) or "paper" (finer grids, more samples)
device = "cpu"    # unused here: this chapter is NumPy on the CPU
beta = None       # inverse temperature of viscous HJ (None: the preset's)
t = None          # time t (gamma) of Lemmas 1-2 (None: the preset's)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch03_local_entropy as ch03
from deeprelax.book.claims import report

P = ch03.Params.from_notebook(globals())
R = ch03.compute(P)
glue_all(ch03.measures(R))
P.frame()

# %% [markdown]
# ## The test losses
#
# The paper has no numerical examples in this section, so we choose the losses: smooth
# random Fourier landscapes on a quadratic envelope (`landscapes.random_fourier` in
# 1-D, `landscapes.two_d("fourier")` in 2-D). The 1-D loss has $f'' \ge -\kappa$ with
# $\kappa =$ {glue:text}`kappa:.3f`, so the first shock of (HJ) and the convexity
# threshold of Lemma 3 are both at $t = 1/\kappa =$ {glue:text}`t_thr:.3f`. Lemmas 1–2
# use $t =$ {glue:text}`t:g`, below it (smooth solutions), with $\beta =$
# {glue:text}`beta:g`, and $t =$ {glue:text}`t_shock:g` for a solution of (HJ) with
# a shock ({numref}`fig-ch03-losses`). The PDEs are solved on the box $[-5, 5]^n$ and
# errors are measured on $|x|_\infty \le 3$, away from its edges (the Cole–Hopf
# integral is truncated to the box).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The 1-D test loss $f$ (black), the viscous-HJ solution (red) and the HJ (Hopf\u2013Lax) solution (blue) at the time $t$ of Lemmas 1\u20132, and the HJ solution past the first shock (dashed blue). Both smoothings lower and flatten the loss; past the shock the HJ solution has a kink (a concave corner).", "name": "fig-ch03-losses"}}
ch03.figure_overview(R)
plt.show()

# %% [markdown]
# ## 3.1 Lemma 1: the viscous Hamilton–Jacobi equation
#
# **Lemma 1.** *The local entropy $f_\gamma(x) = u(x,\gamma)$ defined by (11) solves
# (viscous-HJ) with $u(x,0) = f(x)$.*
#
# We compute $u$ twice, independently: by the Cole–Hopf formula (11) (a grid sum of a
# smooth Gaussian integrand, spectrally accurate) and by an explicit monotone scheme for
# (viscous-HJ) (Godunov Hamiltonian, centred Laplacian, first order in $dx$). If the
# lemma holds, their difference vanishes at the scheme's order, 1, as the grid is
# refined ({numref}`fig-ch03-lemma1`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 1: sup-distance between the monotone scheme for (viscous-HJ) and the Cole\u2013Hopf formula (11), against the grid step, in 1-D (circles) and 2-D (squares). The fitted slopes in the legend are close to 1, the order of the scheme: the two solutions are the same function.", "name": "fig-ch03-lemma1"}}
ch03.figure_lemma1(R)
plt.show()

# %% [markdown]
# The scheme converges to the Cole–Hopf solution with fitted order
# {glue:text}`l1_order_1d:.2f` (1-D) and {glue:text}`l1_order_2d:.2f` (2-D); on the
# finest grids the difference is {glue:text}`l1_err_1d:.1e` and
# {glue:text}`l1_err_2d:.1e`. The Cole–Hopf values themselves change by only
# {glue:text}`ch_refine:.0e` when the grid is refined four times (the Gaussian factor
# has width $\sqrt{t/\beta} \gg dx$), so the error is the scheme's.
#
# (errata-lemma1-heat)=
# ### The heat equation in the proof
#
# The proof sets $v = e^{-\beta u}$ and states that $v$ solves $v_t = \beta^{-1}\Delta v$.
# With $v_t = -\beta v u_t$, $\nabla v = -\beta v\nabla u$ and
# $\Delta v = -\beta v\Delta u + \beta^2 v|\nabla u|^2$, (viscous-HJ) is equivalent to
#
# $$ v_t = \tfrac{\beta^{-1}}{2}\,\Delta v, $$
#
# whose solution $G_{\beta^{-1}t} * v(\cdot,0)$ is (11); the printed
# $v_t = \beta^{-1}\Delta v$ would give the kernel $G_{2\beta^{-1}t}$ instead. Two
# numbers decide it ({numref}`fig-ch03-heat`). Fitting $v_t = c\,\Delta v$ to the
# Cole–Hopf $v$ (centred differences in $t$ and $x$) gives $\beta c =$
# {glue:text}`heat_coefficient:.4f`, not 1; with the printed coefficient the residual is
# {glue:text}`heat_resid_printed:.2f` of $\max|v_t|$, against
# {glue:text}`heat_resid_corrected:.0e` with $\beta^{-1}/2$. And the scheme for
# (viscous-HJ) stays far from the doubled-variance formula: $u_{\rm FD} - u(\cdot,2t)$
# varies by {glue:text}`heat_gap:.2f` over the interior, {glue:text}`heat_gap_ratio:.0f`
# times the scheme's error against (11), and not by a constant offset.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The heat equation behind (11). Left: the scheme for (viscous-HJ) minus the Cole\u2013Hopf solution with the kernel variance $t/\\beta$ of (11) (red, flat at the scheme's error) and with the doubled variance $2t/\\beta$ that the printed $v_t = \\beta^{-1}\\Delta v$ gives (grey, shifted to mean zero: not a constant). Right: $v_t$ against $\\Delta v$ for $v = e^{-\\beta u}$ on the grid; the points lie on the line of slope $\\beta^{-1}/2$, not on the printed slope $\\beta^{-1}$ (dotted).", "name": "fig-ch03-heat"}}
ch03.figure_heat(R)
plt.show()

# %% [markdown]
# ### The gradient of the local entropy, eqs. (12)–(13)
#
# **Lemma 1 (continued).** *The gradient is*
#
# $$ \begin{aligned}
#    \nabla u(x,t) &= \int \frac{x-y}{t}\,\rho_1^\infty(dy;x)
#                   = \int \nabla f(x-y)\,\rho_2^\infty(dy;x), \qquad (12)\\
#    \rho_1^\infty(y;x) &\propto e^{-\beta f(y) - \frac{\beta}{2t}|x-y|^2},
#    \qquad
#    \rho_2^\infty(y;x) \propto e^{-\beta f(x-y) - \frac{\beta}{2t}|y|^2}. \qquad (13)
#    \end{aligned} $$
#
# (errata-eq12-sign)=
# The paper prints the first form of (12) as $\int \frac{y-x}{t}\rho_1^\infty$.
# Differentiating (11) under the integral, $\nabla_x G_{t/\beta}(x-y) =
# -\frac{x-y}{t/\beta}\,G_{t/\beta}(x-y)$, and $\nabla u = -\beta^{-1}\nabla v / v$ gives
# the sign $(x-y)/t$; Theorem 5's $\nabla f_\gamma = \gamma^{-1}(x - \langle y\rangle)$
# agrees. Both expectations are ratios of Gaussian convolutions on the grid
# (`gibbs.grad_u_rho1`, `gibbs.grad_u_rho2`; $y \mapsto x-y$ maps grid points to grid
# points, so the $\rho_2$ form is $\mathbb E_{\rho_1}[\nabla f(Y)]$ there). The centred
# difference of the Cole–Hopf $u$ approximates $\nabla u$ to $O(dx^2)$, so both forms
# must approach it at order 2 and agree with each other to round-off
# ({numref}`fig-ch03-gradient`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The gradient (12). Left: $\\nabla u$ by a centred difference of the Cole\u2013Hopf $u$ (black), the first form of (12) with the sign $(x-y)/t$ (red dashes, on top of it) and with the printed sign $(y-x)/t$ (grey dots: the mirror image $-\\nabla u$). Right: sup-distance of both forms to the centred difference against the grid step, in 1-D and 2-D; the slopes are close to 2, and the two forms coincide.", "name": "fig-ch03-gradient"}}
ch03.figure_gradient(R)
plt.show()

# %% [markdown]
# Both forms converge to the centred difference with order
# {glue:text}`g_order_rho1_1d:.2f` (1-D) and {glue:text}`g_order_rho1_2d:.2f` (2-D), and
# agree with each other to {glue:text}`g_agree:.0e` on the finest grids. With the
# corrected sign the relative error against $\nabla u$ is
# {glue:text}`sign_corrected:.0e` on the finest 1-D grid; with the printed sign it is
# {glue:text}`sign_printed:.3f`: the printed form is $-\nabla u$.
#
# ## 3.2 Hopf–Lax, the proximal point and dynamics for the gradient
#
# As the viscosity $\beta^{-1} \to 0$, (viscous-HJ) becomes the Hamilton–Jacobi
# equation $u_t = -\frac12|\nabla u|^2$ (HJ).
#
# **Lemma 2.** *The viscosity solution of (HJ) with $u(x,0) = f(x)$ is*
#
# $$ u(x,t) = \inf_y \Big\{ f(y) + \frac{1}{2t}|x-y|^2 \Big\}. \qquad \text{(HL)} $$
#
# *If $y^* = \mathrm{prox}_{t,f}(x)$ (the argmin (14)) is a singleton, then*
# $\nabla_x u(x,t) = (x-y^*)/t = \nabla f(y^*)$ (15).
#
# **(HL) against a monotone scheme.** We evaluate (HL) by exact grid minimisation (the
# lower envelope of parabolas), refined by Newton's method on
# $\nabla f(y) + (y-x)/t = 0$ to round-off (`prox.hopf_lax_exact`), and march the
# Godunov scheme for (HJ) independently, to $t =$ {glue:text}`t_shock:g`, past the
# first shock, where $u$
# has kinks ({numref}`fig-ch03-lemma2`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 2: sup-distance between the Godunov scheme for (HJ) and the Hopf\u2013Lax formula (HL) past the first shock, against the grid step, in 1-D (circles) and 2-D (squares). The fitted slopes are close to 1: the scheme converges to (HL) across the kinks.", "name": "fig-ch03-lemma2"}}
ch03.figure_lemma2(R)
plt.show()

# %% [markdown]
# The Godunov scheme converges to the Hopf–Lax solution at order
# {glue:text}`l2_order_1d:.2f` (1-D) and {glue:text}`l2_order_2d:.2f` (2-D).
#
# **Eq. (15).** At $t =$ {glue:text}`t:g` the solution is smooth: $(x-y^*)/t$ and $\nabla f(y^*)$
# must agree to round-off (the first-order condition of the prox) and match the centred
# difference of $u$ to $O(dx^2)$. At $t =$ {glue:text}`t_shock:g` the prox jumps at
# a shock; there $u$ has
# a kink whose one-sided slopes are $(x-y^*_\mp)/t$, the two branches of (15)
# ({numref}`fig-ch03-eq15`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Eq. (15) on the 1-D loss. Left: the proximal point $y^*(x)$ below the first shock (light, continuous) and past it (dark), where it jumps. Right: the two expressions of (15) past the shock, $(x-y^*)/t$ (blue) and $\\nabla f(y^*)$ (black dots), on top of each other; both jump where the prox does.", "name": "fig-ch03-eq15"}}
ch03.figure_eq15(R)
plt.show()

# %% [markdown]
# $(x-y^*)/t$ and $\nabla f(y^*)$ agree to {glue:text}`p15_round:.0e`. The centred
# difference of $u$ matches them to {glue:text}`p15_fd:.1f` $dx^2$ at $t =$
# {glue:text}`t:g` and to {glue:text}`p15_fd_shock:.1f` $dx^2$ at $t =$
# {glue:text}`t_shock:g` away from the shock. At the shock
# ($x \approx$ {glue:text}`shock_x:.2f`) the prox jumps by {glue:text}`prox_jump:.3f`,
# and the one-sided slopes of $u$ match the two branches $(x-y^*_\mp)/t$ to
# {glue:text}`p15_sides:.0e` $dx$: $u$ has a concave kink there, as an infimum of smooth
# functions.
#
# **The inviscid limit.** Laplace's method applied to (11) at the unique prox point
# gives more than the limit:
#
# $$ u_\beta(x,t) = u_{\rm HL}(x,t)
#    + \frac{1}{2\beta}\log\det\big(I + t\,\nabla^2 f(y^*)\big) + O(\beta^{-2}), $$
#
# so the sup-error should fall like $\beta^{-1}$, and like $\beta^{-2}$ once the
# correction is subtracted ({numref}`fig-ch03-beta`). (At $t =$ {glue:text}`t:g`
# there is no shock;
# near a shock an $O(\beta^{-1}\log 2)$ term from two competing minimisers would
# appear instead.)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The limit $\\beta \\to \\infty$ below the first shock: sup-distance between the viscous-HJ solution $u_\\beta$ and the Hopf\u2013Lax solution (circles, slope close to $-1$) and the same after subtracting Laplace's correction $\\frac{1}{2\\beta}\\log\\det(I + t\\nabla^2 f(y^*))$ (squares, slope close to $-2$).", "name": "fig-ch03-beta"}}
ch03.figure_beta_limit(R)
plt.show()

# %% [markdown]
# The viscous solution converges to the Hopf–Lax one like $\beta^{-k}$ with
# $k =$ {glue:text}`beta_order:.2f`, and like $\beta^{-k}$ with
# $k =$ {glue:text}`beta_order_c:.2f` once Laplace's correction is removed.
#
# ### Lemma 3: dynamics for the gradient
#
# **Lemma 3.** *For fixed $x$ let $h(x,y;t) = f(x-ty) + \frac t2|y|^2$. If $h$ is
# $\lambda$-convex in $y$, $p = \nabla_x u(x,t)$ is the unique steady state of*
#
# $$ y'(s) = -\nabla_y h(x,y(s);t) = -t\big(y(s) - \nabla f(x-ty(s))\big), \qquad (16) $$
#
# *and $|y(s)-p| \le |y(0)-p|\,e^{-\lambda s}$.*
#
# Since $D_y^2 h = tI + t^2 D^2 f(x-ty)$, $D^2 f \ge -\kappa I$ makes $h$
# $\lambda$-convex with $\lambda(t) = t(1-\kappa t)$: the lemma applies for
# $t < 1/\kappa$, the same threshold as the first shock time (29). Near the fixed point
# the rate is the local one, $t(1 + t f''(y^*))$ with $y^* = x - tp$. We integrate (16)
# by RK4 from {glue:text}`l3_ny0:.0f` starts $y(0) \in [-4, 4]$ at
# {glue:text}`l3_nx:.0f` points $x \in [-2.5, 2.5]$ for several $t < 1/\kappa$
# ({glue:text}`l3_n_runs:.0f` runs per $t$), with $p$ from the Newton-refined prox, check
# the bound at every recorded time and fit the decay rate of $|y(s)-p|$
# ({numref}`fig-ch03-lemma3`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 3. Left: the guaranteed rate $\\lambda(t) = t(1-\\kappa t)$ (line), which vanishes at $t = 1/\\kappa$ (dashed), the smallest local rate $t(1+tf''(y^*))$ over the points $x$ (circles) and the slowest measured decay rate of (16) (crosses, on the circles and above the line). Right: $|y(s)-p|$ at the slowest point $x$ for the middle time $t$ (title), from every start (blue), under the bound $|y(0)-p|e^{-\\lambda s}$ (dashed).", "name": "fig-ch03-lemma3"}}
ch03.figure_lemma3(R)
plt.show()

# %% [markdown]
# Every run obeys the bound: its mean rate $-\log(|y(s)-p|/|y(0)-p|)/s$ exceeds
# $\lambda(t)$ at every recorded $s > 0$, by a relative margin of at least
# {glue:text}`l3_ratio:.1e`. The bound is nearly attained: at the smallest $t$ some $x$
# has its fixed point where $f''$ is close to its minimum $-\kappa$. Every run reaches
# $p$, and decays at the local rate $t(1+tf''(y^*))$ to a relative
# {glue:text}`l3_dev:.0e`. The bound $\lambda(t)$ is a worst case over all $x$: it
# peaks at $t = 1/(2\kappa) =$ {glue:text}`t_half:.3f` and vanishes at $1/\kappa$.
#
# **Past the threshold.** For $t > 1/\kappa$, $h$ is no longer convex for every $x$. At
# the point $x$ reached at time $t$ by the characteristic from the minimiser of $f''$,
# (16) has two stable steady states; runs from different starts converge to different
# limits, and only one of them is $p = \nabla_x u$, the global prox
# ({numref}`fig-ch03-lemma3-failure`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 3 past its threshold: runs of (16) at a time $t > 1/\\kappa$ (title) from starts $y(0) \\in [-4, 4]$ (blue; the time axis is linear up to $s = 1$, logarithmic after). They settle on two different steady states; only the upper ones reach $p = \\nabla_x u(x, t)$ (dashed).", "name": "fig-ch03-lemma3-failure"}}
ch03.figure_lemma3_failure(R)
plt.show()

# %% [markdown]
# At $t =$ {glue:text}`t_shock:g` $> 1/\kappa$ and $x =$ {glue:text}`fail_x:.2f`, the
# runs end at
# {glue:text}`l3_n_limits:.0f` distinct limits and {glue:text}`l3_missed:.0%` of them
# miss $p$: without the convexity condition the dynamics (16) are no longer a reliable
# way to compute $\nabla u$.
#
# ## 3.3 The invariant measure for a quadratic function
#
# (errata-lemma4-mean)=
# **Lemma 4.** *Suppose $f$ is quadratic with $p = \nabla f(x)$, $Q = \nabla^2 f(x)$.
# Then the invariant measure of (13) is normal with mean $\mu = x - \Sigma p$ and
# covariance $\Sigma = (Q + \gamma I)^{-1}$; for $\gamma > |Q|_2$,
# $\Sigma \approx \gamma^{-1}I - \gamma^{-2}Q$ up to $O(\gamma^{-3})$.*
#
# The lemma is written with $\beta = 1$ and $\gamma = 1/t$, and prints the law as
# $\rho_2^\infty$. Completing the square in
# $\rho_1^\infty(y;x) \propto e^{-\beta[f(y) + \gamma|x-y|^2/2]}$ gives
# $Y \sim \mathcal N(x - \Sigma p,\ \beta^{-1}\Sigma)$: the mean $x - \Sigma p$ is that
# of $\rho_1^\infty$ (the $y$ of Entropy-SGD), while $\rho_2^\infty$, the law of
# $x - Y$, has mean $\Sigma p$ and the same covariance. A direct quadrature of
# $\rho_2^\infty$ from (13) gives a mean within {glue:text}`rho2_mean:.0e` of
# $\Sigma p$ and {glue:text}`rho2_err_printed:.2f` away from $x - \Sigma p$.
#
# We sample $\rho_1^\infty$ with the Langevin dynamics
# $dY = -\nabla_y H\,ds + \sqrt{2/\beta}\,dW$, $H = f(y) + \gamma|x-y|^2/2$, whose
# invariant density is exactly $\propto e^{-\beta H}$ (`gibbs.langevin_rho1`). With
# step $dt$, Euler–Maruyama keeps the mean exact but inflates the covariance to
# $V\,\mathrm{diag}\big(1/(\beta a(1 - a\,dt/2))\big)V^\top$ along the eigenpairs
# $(a, V)$ of $Q + \gamma I$ (`gibbs.em_stationary_covariance`): an $O(dt)$ bias we
# compare against. The test problem is 2-D, with $Q$ of eigenvalues of both signs,
# $\gamma =$ {glue:text}`gamma:g` and $\beta = 1$ ({numref}`fig-ch03-lemma4`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 4 by sampling. Left: Euler\u2013Maruyama samples of $\\rho_1^\\infty$ at the coarsest step (grey) with the mean $x - \\Sigma p$ (cross) and the $2\\sigma$ ellipse of $\\mathcal N(x-\\Sigma p, \\beta^{-1}\\Sigma)$ (black). Right: relative error of the covariance against Lemma 4's $\\beta^{-1}\\Sigma$ as the step $dt$ shrinks, sampled (circles) and EM's exact stationary covariance (squares); both fall at order about 1, the sampled one down to the sampling standard error (dotted).", "name": "fig-ch03-lemma4"}}
ch03.figure_lemma4(R)
plt.show()

# %% [markdown]
# The sampled means agree with $x - \Sigma p$ (largest $|z|$-score
# {glue:text}`l4_mean_z:.2f` over all steps and coordinates) and the sampled
# covariances with EM's exact stationary covariance (largest $|z|$
# {glue:text}`l4_cov_z:.2f`). Their distance to $\beta^{-1}\Sigma$ falls with $dt$ at
# order {glue:text}`l4_order:.2f` (closed form: {glue:text}`l4_order_em:.2f`), down to
# the sampling floor {glue:text}`l4_rel_se:.3f`. The Neumann approximation's errors
# fall like $\gamma^{-k}$ with $k =$ {glue:text}`l4_neumann:.2f` (covariance) and
# {glue:text}`l4_neumann_mu:.2f` (mean), the $O(\gamma^{-3})$ of the lemma
# ({numref}`fig-ch03-neumann`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 4's Neumann approximation $\\Sigma_N = \\gamma^{-1}I - \\gamma^{-2}Q$: errors of the covariance (circles) and of the mean $x - \\Sigma_N p$ (squares) against $\\gamma$, from $2|Q|_2$ to $200|Q|_2$. The slopes are close to $-3$: the leading error is $\\gamma^{-3}Q^2$.", "name": "fig-ch03-neumann"}}
ch03.figure_neumann(R)
plt.show()

# %% [markdown]
# ## Choices we made
#
# - **Sign in (12).** The first form is $\int \frac{x-y}{t}\rho_1^\infty(dy;x)$; the
#   printed $(y-x)/t$ gives $-\nabla u$ ({ref}`the check <errata-eq12-sign>`).
# - **The heat equation in Lemma 1's proof** is $v_t = \frac{\beta^{-1}}{2}\Delta v$,
#   consistent with (viscous-HJ) and with the kernel $G_{\beta^{-1}t}$ in (11), not
#   $v_t = \beta^{-1}\Delta v$ ({ref}`the check <errata-lemma1-heat>`). The proof's $G_t$ in the
#   gradient computation likewise stands for $G_{\beta^{-1}t}$.
# - **Lemma 4** is stated with $\beta = 1$; its mean $x - \Sigma p$ is that of
#   $\rho_1^\infty$, and $\rho_2^\infty$ (its mirror image $x - y$) has mean $\Sigma p$
#   ({ref}`the quadrature <errata-lemma4-mean>`); for general $\beta$ the covariance is
#   $\beta^{-1}\Sigma$.
# - **Noise convention for sampling.** (13) is sampled with noise $\sqrt{2/\beta}\,dW$,
#   whose invariant density is $\propto e^{-\beta H}$ exactly as written in (13). (With
#   the paper's $\beta^{-1/2}dW$, as in (SGD), the Gibbs exponent would carry $2\beta$.)
# - **Lemma 3's threshold.** The lemma asks for $\lambda$-convexity of $h$; for
#   $f'' \ge -\kappa$ this holds for $t < 1/\kappa$ with $\lambda = t(1-\kappa t)$, the
#   condition (29) of Example 15.
# - **Landscapes and boxes** are ours (the paper has no numerical examples here). The
#   PDEs are solved on $[-5,5]^n$, errors are measured on $[-3,3]^n$. The corrections
#   are collected on the [Errata](../errata.md) page.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch03.claims(R))
