# %% [markdown]
# # Regularization, widening and semiconcavity (Sec. 6)
#
# Section 6 of the paper {cite}`chaudhari2018deep` quantifies how much (viscous-HJ) and
# (HJ) smooth a loss, using semiconcavity estimates
# {cite}`evans1998pde,cannarsa2004semiconcave`: a function is *semiconcave with
# constant $C$* if $f - \tfrac C2|x|^2$ is concave, so at a local minimum no Hessian
# eigenvalue exceeds $C$; the smaller $C$, the wider the minimum. This chapter checks
# each example and lemma numerically:
#
# | statement | check | expected |
# |---|---|---|
# | Example 13: $u(\cdot,0) = c\lvert x\rvert^2/2$ | closed form vs Cole–Hopf / Hopf–Lax, $n=1,2,3$ | round-off; $\Delta u = n/(t+c^{-1})$ |
# | Example 14: heat equation | $C(t)$ for heat, viscous HJ, HJ from $c_0\sin x$ | $c_0e^{-\lambda_1t}$ vs $1/(c_0^{-1}+t)$ |
# | Example 15: Burgers, shock time (29) | characteristics; $1/\max(-u_{xx})$ from Hopf–Lax | $t^* = 1/\max(-f'')$ |
# | Example 16: widening | convex interval around each minimum, HJ and viscous HJ | $[x_0 + tf'(x_0),\, x_1 + tf'(x_1)]$ |
# | Lemma 18 and eq. (30) | $\sup u_{x_kx_k}$, $\sup\Delta u$ on random landscapes, 1-D and 2-D | ratios $\le 1$ |
# | Lemmas 19–20 | harmonic means on random SPD matrices and Hessians at minima | $\mathrm{HM}(\Lambda) \le \mathrm{HM}(D)$, bound |
#
# The computations are in `deeprelax.chapters.ch06_semiconcavity` (`compute` runs every
# study, `claims` turns the statements into checks), on top of `deeprelax.pde.semiconcavity`,
# `deeprelax.pde.burgers` and the solvers of the Sec. 3 chapter: Cole–Hopf
# (`local_entropy`), Hopf–Lax refined to round-off by Newton (`prox.hopf_lax_exact`) and
# the Gaussian convolution of the heat equation (`heat`). Second derivatives are centred
# second differences, whose truncation error is $\tfrac{dx^2}{12}\sup|\partial^4 u|$.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, seconds) or "paper" (finer grids, more seeds)
device = "cpu"    # unused here: this chapter is NumPy on the CPU
beta = None       # inverse temperature of viscous HJ (None: the preset's)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch06_semiconcavity as ch06
from deeprelax.book.claims import report

P = ch06.Params.from_notebook(globals())
R = ch06.compute(P)
glue_all(ch06.measures(R))
P.frame()

# %% [markdown]
# ## Example 13: a quadratic initial value
#
# **Statement (as printed).** The solution of (viscous-HJ) with $u(x,0) = c|x|^2/2$ in
# $\mathbb R^n$ is
#
# $$ u = \frac{|x|^2}{2(t+c^{-1})} + \frac{\beta^{-1}n}{2}\log(t+c^{-1}), $$
#
# so its semiconcavity constant is $C(t) = 1/(c^{-1}+t)$.
#
# (errata-ex13-constant)=
# **The additive constant.** The printed formula satisfies the PDE, but at $t=0$ it
# equals $c|x|^2/2 - \frac{\beta^{-1}n}{2}\log c$, not $c|x|^2/2$ (unless $c = 1$): the
# constant must be $\frac{\beta^{-1}n}{2}\log(1+ct)$. Cole–Hopf makes this explicit:
# $e^{-\beta c|y|^2/2}$ convolved with $G_{t/\beta}$ is a Gaussian of variance
# $(t+c^{-1})/\beta$ times $(1+ct)^{-n/2}$. We compare Cole–Hopf on grids in
# $n = 1, 2, 3$ (and Hopf–Lax for $\beta^{-1}=0$) with the corrected formula and with
# the printed one; the table lists every case.

# %% tags=["hide-input"]
ch06.table_example13(R)

# %% [markdown]
# Over the {glue:text}`e13_cases` cases resolved by the grids (the Cole–Hopf integrand
# is a Gaussian of width $\sigma = (\beta/t+\beta c)^{-1/2}$; the grid sum's relative
# error is about $e^{-2\pi^2\sigma^2/dx^2}$, so cases with $\sigma < dx$ are skipped),
# Cole–Hopf matches the corrected closed form to a relative
# {glue:text}`e13_cole_hopf:.0e` and Hopf–Lax to {glue:text}`e13_hopf_lax:.0e`, while
# the printed constant is off by at least {glue:text}`e13_printed_off:.3f` (relative).
#
# (errata-ex13-laplacian)=
# **The Laplacian.** The proof prints $\Delta u = n/(t+1)$. Differentiating
# $|x|^2/2(t+c^{-1})$ twice gives $n/(t+c^{-1})$, and this is what the second
# differences measure (to {glue:text}`e13_laplacian:.0e`; they are exact for
# quadratics): they differ from the printed $n/(t+1)$ by at least
# {glue:text}`e13_laplacian_printed:.0%`.
#
# (errata-ex13-c-big)=
# **Decay of the Hessian bound.** $C(t) = 1/(c^{-1}+t) \le \min(c, 1/t)$: whatever the
# initial curvature, after time $t$ it is below $1/t$. The paper's illustration
# "$c = 10^8$ leads to $C(t=.01)\approx 10$" should read $\approx 100$:
# $1/(10^{-8} + 0.01) =$ {glue:text}`e13_C_exact:.4f`, and we measure
# $C(0.01) =$ {glue:text}`e13_C_hj:.4f` on the Hopf–Lax solution and
# {glue:text}`e13_C_viscous:.4f` on the Cole–Hopf one (a grid fine enough for the
# narrow integrand), both far from 10 ({numref}`fig-ch06-example13`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Example 13: the semiconcavity constant $C(t) = 1/(c^{-1}+t)$ (lines) for each initial curvature $c$, with $u_{xx}$ measured on the 1-D Cole\u2013Hopf solutions (dots). For $c = 10^8$ the star is $C(0.01)$ measured on Cole\u2013Hopf, about 100, and the black cross is the paper's printed value 10. Look at how every curve joins the dotted $1/t$: the larger $c$, the sooner.", "name": "fig-ch06-example13"}}
ch06.figure_example13(R)
plt.show()

# %% [markdown]
# ## Example 14: the heat equation improves semiconcavity slowly
#
# **Statement.** If $v_1$ is an eigenfunction of the heat equation with eigenvalue
# $\lambda_1$, $v = e^{-\lambda_1 t}v_1$ has semiconcavity constant
# $C(t) = c_0e^{-\lambda_1t} \approx c_0(1-\lambda_1 t)$: much slower than the
# $1/(c_0^{-1}+t) \approx c_0(1 - c_0t)$ of (viscous-HJ) when $c_0 \gg \lambda_1$.
#
# **Check.** From the same initial value $f = c_0\sin x$ ($c_0 = 10$, $C(0) = c_0$) we
# solve the heat equation $v_t = \tfrac{\beta^{-1}}{2}v_{xx}$ (so
# $\lambda_1 = \beta^{-1}/2$ for $\sin x$), (viscous-HJ) and (HJ), and measure
# $\sup v_{xx}$, $\sup u_{xx}$ on one period ({numref}`fig-ch06-example14`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Example 14: semiconcavity constants from $f = c_0\\sin x$, $c_0 = 10$. The heat equation (green dots) follows $c_0e^{-\\lambda_1 t}$ (green line) and hardly moves until $t \\approx 1$; HJ (blue crosses) lies on the bound $1/(c_0^{-1}+t)$ of Lemma 18 (black), and viscous HJ (red squares) just below it.", "name": "fig-ch06-example14"}}
ch06.figure_example14(R)
plt.show()

# %% [markdown]
# The heat equation follows $c_0e^{-\lambda_1t}$ (to {glue:text}`e14_heat:.0e`, the
# second-difference error), with $\lambda_1 =$ {glue:text}`e14_lam:.2f`: at $t =$
# {glue:text}`e14_t:.2f` its constant is still {glue:text}`e14_heat_t:.2f`, against
# {glue:text}`e14_hj_t:.2f` for (HJ). Initially $C$ falls at rate
# {glue:text}`e14_slope_heat:.2f` (heat, $\approx c_0\lambda_1$) versus
# {glue:text}`e14_slope_hj:.0f` (HJ, $\approx c_0^2$). For $f = c_0\sin x$ the (HJ)
# solution *attains* Lemma 18's bound (to {glue:text}`e14_hj_attains:.0e`): along the
# characteristic from the maximum of $f''$, $u_{xx} = f''/(1+tf'') = 1/(c_0^{-1}+t)$.
# Viscosity lowers it a little further.
#
# ## Example 15: Burgers' equation and the first shock
#
# **Statement.** $p = u_x$ for (HJ) solves $p_t + pp_x = 0$; for short times
# $p = f'(x - tp)$ (28), classical until the characteristics $x = y + tf'(y)$ cross, at
# the time $t^*$ with $t^*f''(y) + 1 = 0$ (29), i.e. $t^* = 1/\max_y(-f''(y))$ — the
# convexity threshold of Lemma 3.
#
# **Check.** We use a 1-D random landscape with three minima in $[-3,3]$
# ({numref}`fig-ch06-characteristics`). Independently of (29), we measure the shock time
# on the Hopf–Lax solutions: along characteristics $u_{xx} = f''/(1+tf'')$, so
# $1/\max_x(-u_{xx}(\cdot,t)) = 1/\kappa - t$ is affine with slope $-1$ and vanishes at
# $t^*$ (the gradient catastrophe). We fit it on $t \in [0.2, 0.8]\,t^*$ and
# extrapolate ({numref}`fig-ch06-shock-time`). We also check (28) against the Hopf–Lax
# gradient before $t^*$, and that the prox map is continuous before $t^*$ and jumps (a
# shock) after it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Example 15. Left: characteristics $x = y + tf'(y)$ (blue) of the 1-D landscape; they first cross at $t^*$ (dashed) at the black dot, where the shock (red, the jump of the Hopf\u2013Lax prox map) starts. Right: $p = u_x$ of the Hopf\u2013Lax solution at $0.5\\,t^*$, $0.95\\,t^*$ and $1.2\\,t^*$; look at the steepening front near $x \\approx -1.2$, which becomes a jump after $t^*$.", "name": "fig-ch06-characteristics"}}
ch06.figure_example15(R)
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Example 15: the shock time measured without (29). The inverse of the largest negative curvature of the Hopf\u2013Lax solution (dots) is affine in $t$ with slope $-1$; its fit, extrapolated to zero (red cross), lands on the $t^*$ of (29), where the dotted line $1/\\kappa - t$ ends.", "name": "fig-ch06-shock-time"}}
ch06.figure_shock_time(R)
plt.show()

# %% [markdown]
# The characteristics first cross at $t^* =$ {glue:text}`t_star:.4f` (black dot); the
# shock time measured on the Hopf–Lax solutions is {glue:text}`t_star_meas:.4f`
# (relative difference {glue:text}`e15_t_star:.0e`, the $O(dx^2)$ error of the second
# differences), with fitted slope {glue:text}`e15_slope:.4f` (predicted $-1$). Before
# $t^*$, $p = f'(x-tp)$ matches the Hopf–Lax gradient to {glue:text}`e15_eq28:.0e` and
# the prox map is continuous (largest gap at $0.95\,t^*$:
# {glue:text}`e15_prox_continuous:.1f` cells, within the bound $dx/(1-0.95)$ = 20
# cells set by its slope $1/(1+tf'')$); at $1.2\,t^*$ it jumps by
# {glue:text}`jump_after:.2f` at $x =$ {glue:text}`shock_x:.2f`, next to the crossing
# point $x_c =$ {glue:text}`x_c:.2f`.
#
# ## Example 16: widening of convex regions
#
# **Statement.** Let $x_m$ be a local minimum of $f$ with convex interval
# $I(x_m,0) = [x_0,x_1]$ ($f''(x_0) = f''(x_1) = 0$). For $t < t^*$ the convex interval
# of the (HJ) solution contains it: differentiating (28), $p_x = f''(y)/(1+tf''(y))$
# with $y = x - tp$ has the sign of $f''(y)$, so the inflection points move along their
# characteristics, to $x_0 + tf'(x_0) < x_0$ and $x_1 + tf'(x_1) > x_1$.
#
# **Check.** For every local minimum of $f$ in $[-3,3]$ we measure the convex interval
# of $u(\cdot,t)$ (zero crossings of the second differences) for (HJ) and (viscous-HJ)
# and compare the (HJ) one with the characteristics' prediction
# ({numref}`fig-ch06-example16`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Example 16. Left: the loss $f$ (black), its HJ solution at $0.95\\,t^*$ (blue) and the convex intervals around the three minima at $t = 0$ (black bars) and for HJ at $0.95\\,t^*$ (blue bars, wider). Right: the widths of the intervals against $t/t^*$: the characteristics' prediction (lines), HJ (dots, on the lines) and viscous HJ (open squares, dashed), which widen too, a little less.", "name": "fig-ch06-example16"}}
ch06.figure_example16(R)
plt.show()

# %% [markdown]
# For the {glue:text}`e16_nmin` minima the (HJ) convex intervals follow the
# characteristics' prediction to {glue:text}`e16_characteristics:.1f` $dx^2$ (less than
# $10\,dx^2$), always contain the initial interval, and are at least
# {glue:text}`e16_grow:.2f` times wider at $0.95\,t^*$. The viscous intervals widen
# too, monotonically in $t$ (by a factor at least {glue:text}`e16_grow_v:.2f`), a
# little less than the inviscid ones here; their minima also drift.
#
# ## Lemma 18: semiconcavity estimates
#
# **Statement.** For (viscous-HJ) with any $\beta^{-1}\ge0$, if
# $C_k = \sup_x f_{x_kx_k}$ and $C_{\rm Lap} = \sup_x\Delta f$, then
#
# $$ \sup_x u_{x_kx_k}(x,t) \le \frac{1}{C_k^{-1}+t}, \qquad
#    \sup_x \Delta u(x,t) \le \frac{1}{C_{\rm Lap}^{-1}+t/n}. $$
#
# (errata-eq30)=
# **The equation behind the proof.** Differentiating (viscous-HJ) twice in $x_k$ gives,
# for $w = u_{x_kx_k}$,
#
# $$ w_t + \nabla u\cdot\nabla w + \sum_{i=1}^n u_{x_ix_k}^2
#    = \frac{\beta^{-1}}{2}\Delta w , $$
#
# where the paper's eq. (30) prints $\sum_i u_{x_ix_i}^2$. The proof's next steps use
# the corrected form: $\sum_i u_{x_ix_k}^2 \ge u_{x_kx_k}^2 = w^2$, and summing over $k$
# gives the $\sum_{i,j}u_{x_ix_j}^2$ of the Laplacian's equation (the printed sum would
# give $n\sum_i u_{x_ix_i}^2$). The inequality $w_t + \dots \le -w^2$ and the lemma are
# unaffected. We check it on the Cole–Hopf solution from a rotated quadratic
# $f = x^\top Qx/2$ (eigenvalues 4 and 0.5, axes turned by 30°), whose $u(\cdot,t)$ is
# quadratic: $w$ is constant in $x$, so (30) reduces to $w_t = -\sum_i u_{x_ix_k}^2$. At
# $t =$ {glue:text}`q_t:.1f` the measured Hessian matches $(Q^{-1}+t)^{-1}$ to
# {glue:text}`q_hessian_error:.0e`, and $w_t$ (a centred difference in $t$) is:

# %% tags=["hide-input"]
ch06.table_eq30(R)

# %% [markdown]
# The corrected sum matches $w_t$ to a relative {glue:text}`eq30_corrected:.0e`; the
# printed one misses it by at least {glue:text}`eq30_printed:.0%`, and $-u_{x_kx_k}^2$
# alone by {glue:text}`q_diag_off:.0%` (the cross term $u_{x_1x_2}$ is needed).
#
# **Check of the lemma.** On random Fourier landscapes (`landscapes.random_fourier`,
# unit quadratic envelope) in 1-D and 2-D we solve (viscous-HJ) by Cole–Hopf and (HJ)
# by Hopf–Lax, take $C_k$, $C_{\rm Lap}$ as the sups of $f$'s analytic second
# derivatives over the box $[-6,6]^n$, the sups of $u$'s second differences over
# $[-3,3]^n$, and report the ratios measured/bound ({numref}`fig-ch06-lemma18`). The
# second differences err by at most $\tfrac{dx^2}{12}\sup|\partial_k^4 f|$ (bounded
# from the Fourier coefficients); the check allows twice that, relative to the bound.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Lemma 18: measured $\\sup u_{x_kx_k}$ and $\\sup \\Delta u$ over their bounds, for each random landscape and time, in 1-D (left) and 2-D (right). Every ratio stays at or below 1 (black line): viscous HJ (red) strictly below, HJ (blue) touching it where the extremal characteristic reaches the measurement window.", "name": "fig-ch06-lemma18"}}
ch06.figure_lemma18(R)
plt.show()

# %% [markdown]
# Over {glue:text}`l18_n` random landscapes per dimension (HJ in 2-D:
# {glue:text}`l18_n_hj`) and {glue:text}`l18_nt` times, the worst ratios are:

# %% tags=["hide-input"]
ch06.table_lemma18(R)

# %% [markdown]
# They lie within the discretisation tolerances ({glue:text}`l18_tol_1d:.0e` in 1-D,
# {glue:text}`l18_tol_2d:.0e` in 2-D). The (HJ) ratios are 1 up to that error: the
# bound is attained along the characteristic leaving the point where
# $f_{x_kx_k} = C_k$ (when it reaches the measurement window before being overtaken by
# a shock), as in Example 14. Viscosity strictly helps.
#
# ## Lemmas 19–20: the harmonic mean of the spectrum
#
# **Lemma 19.** For an SPD matrix with eigenvalues $\Lambda$ and diagonal $D$,
# $\mathrm{HM}(\Lambda) \le \mathrm{HM}(D)$ (the diagonal is majorized by the spectrum
# and HM is Schur-concave {cite}`marshall1979inequalities`). Also
# $\min_i x_i \le \mathrm{HM}(x) \le n\min_i x_i$.
#
# **Lemma 20.** At a local minimum $x^*$ of $u(\cdot,t)$,
# $\mathrm{HM}(\Lambda(\nabla^2u(x^*,t))) \le 1/(t + \mathrm{HM}(C)^{-1})$ with
# $C_k = \sup f_{x_kx_k}$.
#
# **Check.** Random SPD matrices $Q\,\mathrm{diag}(\lambda)Q^\top$ with Haar-random $Q$
# and eigenvalues spread over six decades (like the near-degenerate spectra of deep
# networks that motivate the section); then every strict grid local minimum of the
# Cole–Hopf $u(\cdot,t)$ in $[-3,3]^2$ for the 2-D landscapes above, with the Hessian by
# centred differences ({numref}`fig-ch06-lemmas19-20`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left, Lemma 19: the smallest and the median ratio $\\mathrm{HM}(D)/\\mathrm{HM}(\\Lambda)$ over random SPD matrices with spectra spread over six decades, against the size $n$; the smallest never drops below 1 and the median grows by orders of magnitude. Right, Lemma 20: at each local minimum of the smoothed 2-D landscapes, $\\mathrm{HM}(\\Lambda)$ (dots) and $\\mathrm{HM}(D)$ (crosses) against the bound $1/(t+\\mathrm{HM}(C)^{-1})$; every dot lies below the diagonal.", "name": "fig-ch06-lemmas19-20"}}
ch06.figure_lemmas19_20(R)
plt.show()

# %% [markdown]
# No random SPD matrix violates Lemma 19 (smallest ratio
# {glue:text}`l19_min_ratio:.6f`, attained by nearly diagonal $2\times2$ matrices); for
# spread-out spectra the diagonal's harmonic mean overestimates the spectrum's by
# orders of magnitude (median {glue:text}`l19_med:.0f` for $n =$
# {glue:text}`l19_n_max`) — which is why the harmonic mean of the spectrum, not of the
# diagonal, is the sensitive width measure. At the {glue:text}`l20_n` local minima of
# the smoothed 2-D landscapes, $\mathrm{HM}(\Lambda)$ stays below the Lemma 20 bound
# (largest ratio {glue:text}`l20_bound:.3f`) and below $\mathrm{HM}(D)$ (largest ratio
# {glue:text}`l20_diag:.4f`).
#
# (errata-lemma20-hypothesis)=
# **Lemma 20's hypothesis.** The lemma as printed takes $C$ with
# $\sup_x u_{x_kx_k}(x, t) \le C_k$, a bound *at time $t$*; its proof then applies
# Lemma 18, which needs $C_k \ge \sup_x u_{x_kx_k}(x, 0) = \sup_x f_{x_kx_k}$. With $C$
# at time $t$ the bound is false: for the rotated quadratic above, $C_k =
# u_{x_kx_k}(\cdot, t)$ gives a bound that $\mathrm{HM}(\Lambda)$ exceeds by a factor
# {glue:text}`l20_printed_hyp:.3f`, while with $C_k = \sup f_{x_kx_k}$ the ratio is
# {glue:text}`l20_corrected_hyp:.3f`. (For Example 13 in any dimension the printed
# form fails by the factor $1 + t/(t + c^{-1})$.) So the hypothesis should read
# $\sup_x u_{x_kx_k}(x, 0) \le C_k$.
#
# ## Choices and corrections
#
# - **Example 13's constant** is $\frac{\beta^{-1}n}{2}\log(1+ct)$; the printed
#   $\log(t+c^{-1})$ violates the initial condition unless $c=1$. The proof's
#   $\Delta u = n/(t+1)$ should read $n/(t+c^{-1})$, and "$c=10^8$ leads to
#   $C(t=.01)\approx10$" should read $\approx 100$.
# - **Eq. (30)** should read $\sum_i u_{x_ix_k}^2$ for $\sum_i u_{x_ix_i}^2$; **Lemma
#   20's** hypothesis should bound $u_{x_kx_k}$ at time 0, not $t$ (its proof also
#   writes $\mathrm{HM}(L)$ and $x_{\min}$ for $\mathrm{HM}(\Lambda)$ and $x^*$). All
#   five are on the [Errata](../errata.md) page.
# - **Example 14** uses $f = c_0\sin x$ with $c_0 = 10$ for all three equations and the
#   heat equation $v_t = \tfrac{\beta^{-1}}{2}v_{xx}$ of eq. (23), so
#   $\lambda_1 = \beta^{-1}/2$.
# - **Example 15's shock time** is measured from the blow-up of $u_{xx}$ of the Hopf–Lax
#   solution (extrapolating $1/\max(-u_{xx})$, which is affine in $t$), not by
#   thresholding a jump: near $t^*$ the jump grows from zero through a cusp and a grid
#   threshold would bias the time by $O(dx^{1/2})$.
# - **Semiconcavity constants** $C_k$ are sups over the computational box $[-6,6]^n$
#   (the Fourier landscapes are quasi-periodic, so the sup over $\mathbb R^n$ is
#   slightly larger; using the box's makes the checked bound stricter). Sups of $u$ are
#   over $[-3,3]^n$, away from the box's edges, where the truncation of the Cole–Hopf
#   integral acts.
# - **Lemma 20** is checked with $C_k = \sup_x f_{x_kx_k}$ (as in its proof), at strict
#   grid minima whose difference Hessian is positive definite.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch06.claims(R))
