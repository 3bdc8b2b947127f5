# %% [markdown]
# # Is gradient descent close to gradient flow?
#
# Every PDE in Deep Relaxation {cite}`chaudhari2018deep` lives in continuous time: (SGD)
# is the diffusion $dx = -\nabla f\,dt + \beta^{-1/2}dW$ (Sec. 2.3), local entropy
# $u(\cdot,\gamma)$ is a viscous Hamilton–Jacobi solution (Sec. 3), and Sec. 5 controls a
# continuous-time flow. The algorithms that run, however, take steps of size $\eta$.
# Gradient descent (GD),
#
# $$ x_{k+1} = x_k - \eta\nabla f(x_k), $$
#
# is the explicit Euler scheme for the gradient flow (GF) $\dot x = -\nabla f(x)$, so for
# a smooth $f$ it tracks the flow with an error of order $\eta$ — but with a constant that
# can grow exponentially in time. Elkabetz & Cohen {cite}`elkabetz2021continuous` make the
# constant explicit. Write $e_k = x_k - x(k\eta)$; to leading order $e = \eta\,e_1$ with
#
# $$ \dot e_1 = -H(t)\,e_1 - \tfrac12 H(t)\nabla f(x(t)),\qquad H = \nabla^2 f(x(t)) $$
#
# (the local error of one Euler step is $\tfrac{\eta^2}2\ddot x = \tfrac{\eta^2}2
# H\nabla f$), and since $\tfrac{d}{dt}|e_1| \le -\lambda_{\min}(t)|e_1| +
# \tfrac12|H\nabla f|$, Grönwall's lemma gives
#
# $$
# \begin{aligned}
# \frac{|x_k - x(t)|}{\eta}
#   &\lesssim \int_0^t e^{-\int_s^t\lambda_{\min}}\,\tfrac12|H\nabla f|(s)\,ds \\
#   &\le \tfrac t2\sup_{s\le t}|H\nabla f|\;e^{-\int_0^t\lambda_-},
#   \qquad \lambda_-=\min(\lambda_{\min},0).
# \end{aligned}
# $$
#
# The second form is theirs: GD stays close to GF as long as the flow does not integrate
# much *negative* curvature. Their experiments compare GD at $\eta_0$ with GD at
# $\eta_0/r$ as a stand-in for the flow. Here we
#
# 1. integrate the flow itself with DOP853 (an adaptive 8th-order Runge–Kutta method
#    {cite}`hairer1993solving`, tight tolerances) and measure the GD–GF gap against
#    $\eta$ for a linear and a ReLU network;
# 2. compute $\lambda_{\min}$ and $\lambda_{\max}$ of the Hessian along the trajectory by
#    Lanczos iterations on Hessian-vector products, and compare the measured gap with
#    both bounds;
# 3. make the same measurement for minibatch SGD and its SDE model (Sec. 2.3), and for
#    the local entropy $u(\cdot,\gamma)$ (Sec. 3) on a two-weight network.
#
# The set-up follows the public facts of their code: the 1,000 MNIST training images with
# indices $0, 50, 100, \dots$, normalised by $(0.1307, 0.3081)$; cross-entropy;
# full-batch GD; fully connected networks 784–$h$–$h$–10 without biases, Xavier-uniform
# weights. All computations are in `deeprelax.chapters.ch10_gd_vs_gf`: `compute` runs
# every experiment below, `claims` turns the chapter's statements into checks.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, about 30 s) or "paper" (their sizes; use a GPU)
device = "cpu"    # torch device of the MNIST networks: "cpu" or "cuda"
hidden = None     # width of the hidden layers (None: the preset's, 16 or 50)
T = None          # horizon of the main runs (None: the preset's, 1 or 10)

# %% tags=["hide-input"]
import warnings

import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch10_gd_vs_gf as ch10
from deeprelax.book.claims import report

warnings.filterwarnings("ignore", message="IProgress")   # tqdm in a kernel
P = ch10.Params.from_notebook(globals())
R = ch10.compute(P)
glue_all(ch10.prose_values(R))
P.frame()

# %% [markdown]
# The fast preset uses hidden width $h=16$ ({glue:text}`n_params:.0f` weights; theirs:
# 50), horizon $T=1$ with $\eta_0 = 0.01$ and $\eta_0/r$ for $r\in\{1,2,4,8\}$ (theirs:
# $T=10$, $\eta_0=10^{-3}$, $r\in\{1,2,5,10,20\}$): the same product
# $\eta\lambda_{\max}\lesssim1$ of step and curvature, at a fraction of the cost.
# `-p preset paper -p device cuda` runs their sizes on a GPU (not run in this build).
#
# ## The linear network: GD against the true flow
#
# {numref}`fig-ch10-gd-vs-gf` shows the training loss along the flow and along GD, and
# the distance between them next to the distance the weights travel.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Linear network, Xavier initialisation. Left: training loss along the DOP853 gradient flow (black line) and along GD at four step sizes (dots), indistinguishable at this scale. Right: the GD\u2013GF distance $|x_{GD}-x_{GF}|$ (coloured) against the distance $|x_{GF}(t)-x(0)|$ travelled by the flow (black); look at the equal spacing of the coloured curves on the log axis: halving $\\eta$ halves the gap.", "name": "fig-ch10-gd-vs-gf"}}
ch10.figure_gd_vs_gf(R)
plt.show()

# %% [markdown]
# DOP853 needs {glue:text}`nfev_lin:.0f` gradient evaluations for the whole flow, and
# loosening both tolerances a thousandfold moves it by only {glue:text}`ref_shift:.1e`,
# {glue:text}`ref_ratio:.1%` of the smallest measured gap ({glue:text}`min_gap:.1e`):
# the reference is exact for our purpose. The gap is proportional to $\eta$
# ({numref}`fig-ch10-gap-order`, left: fitted order {glue:text}`slope_lin:.3f`), and the
# same holds at every checkpoint $t\ge${glue:text}`t_late:.1f` (the local fitted order is
# within {glue:text}`order_lin_dev:.3f` of 1). So $|x_{GD}-x_{GF}|/\eta$ collapses to one
# curve (right panel), {glue:text}`gap_over_eta:.3f` at $t=T$ with a spread of
# {glue:text}`collapse_spread:.1%` over the four step sizes, while the weights travel
# {glue:text}`travelled:.2f`. At $\eta_0=0.01$ GD is thus within {glue:text}`rel_gap:.1%`
# of the distance travelled — the "GD is close to GF" of Elkabetz & Cohen, measured
# against the flow itself.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Linear network. Left: the GD\u2013GF gap at $t=T$ against the step size on log-log axes, with the least-squares slope in the legend (order 1 for an Euler scheme). Right: the gap divided by $\\eta$ against time; the four curves lie on top of each other, which is the leading-order expansion $x_{GD}=x_{GF}+\\eta\\,e_1(t)+o(\\eta)$.", "name": "fig-ch10-gap-order"}}
ch10.figure_gap_order(R)
plt.show()

# %% tags=["hide-input"]
ch10.linear_frame(R)

# %% [markdown]
# ## The ReLU network: the flow has no smooth reference
#
# With ReLU, $\nabla f$ jumps whenever a pre-activation $z_{ij}$ of sample $i$ at unit
# $j$ crosses zero: the weight space is cut by $2\times h\times1000$ surfaces, and the
# flow is a Filippov solution {cite}`filippov1988differential` of a discontinuous vector
# field. An adaptive high-order solver must resolve every crossing; we give DOP853 a
# budget of evaluations and see how far it gets. GD, meanwhile, records how often each
# $(i,j)$ changes sign (table below).

# %% tags=["hide-input"]
ch10.flips_frame(R)

# %% [markdown]
# DOP853 reaches only $t=${glue:text}`t_probe:.3f` in {glue:text}`probe_nfev:.0f`
# evaluations ({glue:text}`t_probe_frac:.1%` of the horizon; the whole linear flow took
# {glue:text}`nfev_ratio:.2f` such budgets). During the run GD crosses
# {glue:text}`crossed:.0f` of the {glue:text}`surfaces:.0f` surfaces,
# {glue:text}`chattering:.0f` of them at least three times, and the most active unit
# flips {glue:text}`max_flips_0:.0f` times at $\eta_0$ but {glue:text}`max_flips_1:.0f`
# times at $\eta_0/${glue:text}`eta_ratio:.0f` ({glue:text}`flip_growth:.1f` times more)
# — a number of flips proportional to $1/\eta$ is the signature of *chattering*: GD
# zig-zags across a surface along which the flow slides. At the probe's pace a
# tight-tolerance reference would need about {glue:text}`probe_rate:.0f` evaluations per
# unit time, so for ReLU we measure the order of convergence without a reference, from
# successive differences $|x_{\eta_i}-x_{\eta_{i+1}}|\approx(\eta_i-\eta_{i+1})|e_1|$
# ({numref}`fig-ch10-orders`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Fitted order in $\\eta$ at each checkpoint. Linear network: of the gap to the DOP853 flow (circles) and of successive differences between step sizes (squares), which agree. ReLU network (triangles): successive differences only; look at the drift below 1 after the first quarter of the run.", "name": "fig-ch10-orders"}}
ch10.figure_orders(R)
plt.show()

# %% [markdown]
# For the linear network the reference-free order agrees with the order against the true
# flow. For ReLU it is close to 1 (within {glue:text}`order_relu_dev:.3f`, after the
# first few steps) up to $t=${glue:text}`t_early:.2f` and then drifts down (to
# {glue:text}`order_relu_T:.2f` at $t=T$): after thousands of crossings the error no
# longer has a smooth expansion in $\eta$. The Elkabetz–Cohen analysis needs
# $f\in C^2$ along the path; for ReLU the Hessian we compute below is the piecewise one
# and misses the kinks.
#
# ## Curvature along the trajectory
#
# Lanczos {cite}`golub2013matrix` with full reorthogonalisation
# ({glue:text}`lanczos_k:.0f` Hessian-vector products by double back-propagation) gives
# $\lambda_{\min}$ and $\lambda_{\max}$ at every checkpoint — along the DOP853 flow for
# the linear network, along the finest GD run for ReLU. The extreme Ritz values converge
# from inside the spectrum, so $\lambda_{\min}$ is approached from above; at the end of
# the linear flow, where $|\lambda_{\min}|$ is smallest against $\lambda_{\max}$ and
# convergence slowest, doubling the iterations lowers it by {glue:text}`ritz_shift:.4f`
# ({glue:text}`lanczos_rel:.1%`) and moves $\lambda_{\max}$ by a relative
# {glue:text}`lmax_rel:.0e`, which moves $\int\lambda_-$ by less than that fraction.
# {numref}`fig-ch10-curvature` shows both eigenvalues and the bounds; the table after it
# lists the values.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left: $\\lambda_{\\min}$ of the Hessian (solid, left axis) and $\\lambda_{\\max}$ (dotted, right axis) along the linear flow (blue) and the finest ReLU GD run (orange); look at $\\lambda_{\\min}$ rising towards 0. Right: the linear network's gap$/\\eta$ (coloured, on top of each other) against the Gr\u00f6nwall bound (black), the Elkabetz\u2013Cohen form (dashed) and the amplification factor $e^{-\\int_0^t\\lambda_-}$ (purple): the gap stays well below the bound and even shrinks late in the run.", "name": "fig-ch10-curvature"}}
ch10.figure_curvature(R)
plt.show()

# %% tags=["hide-input"]
ch10.curvature_frame(R)

# %% [markdown]
# Both networks start with clearly negative curvature
# ($\lambda_{\min}=${glue:text}`lmin0_lin:.2f` linear, {glue:text}`lmin0_relu:.2f` ReLU,
# next to $\lambda_{\max}\approx${glue:text}`lmax0_lin:.0f`) and $\lambda_{\min}$ rises
# towards zero along the path ({glue:text}`lminT_lin:.2f` and {glue:text}`lminT_relu:.2f`
# at $t=T$, i.e. {glue:text}`rise_lin:.0%` and {glue:text}`rise_relu:.0%` of the
# initial magnitude): the favourable curvature that Elkabetz & Cohen prove for
# homogeneous networks. Over the run $\int_0^T\lambda_-=${glue:text}`int_lin:.2f`, so
# negative curvature could amplify errors by at most
# $e^{-\int\lambda_-}=${glue:text}`amp_lin:.1f`. The measured gap stays below the
# Grönwall bound (at most {glue:text}`gap_bound_lin:.2f` of it), which itself lies below
# the Elkabetz–Cohen form, but {glue:text}`tight_lin:.0f` times below it at $t=T$: the
# local errors $\tfrac{\eta^2}2H\nabla f$ point mostly along stiff directions
# ($\lambda\approx\lambda_{\max}$), where the flow *contracts* them, and the gap even
# shrinks after $t=${glue:text}`t_peak:.2f`. The bound only uses $\lambda_{\min}$ and
# cannot see this.
#
# ### Near a saddle the negative curvature does predict the gap
#
# Scale the initial weights by {glue:text}`small_init:.1f`: the flow now starts on the
# plateau around the saddle at $x=0$, where $\lambda_{\min}<0$ persists, and only
# escapes after a while ({numref}`fig-ch10-saddle`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Linear network from scaled-down Xavier weights (factor `small_init`). Left: the loss along the flow (black) stays near $\\log 10$ on the plateau while $\\lambda_{\\min}$ (blue, right axis) stays clearly negative. Right: gap$/\\eta$ for two step sizes against the Gr\u00f6nwall bound (black), the Elkabetz\u2013Cohen form (dashed) and $e^{-\\int_0^t\\lambda_-}$ (purple); look at how closely the bound follows the gap until the escape ends and the gap levels off.", "name": "fig-ch10-saddle"}}
ch10.figure_saddle(R)
plt.show()

# %% tags=["hide-input"]
ch10.saddle_frame(R)

# %% [markdown]
# Now $|x_{GD}-x_{GF}|/\eta$ grows by a factor {glue:text}`growth:.0f` from
# $t=${glue:text}`t_phase0:.2f` to $t=${glue:text}`t_escape:.2f`, the end of the escape
# (rows marked in the table), and throughout this growth the Grönwall bound — computed
# from nothing but $\lambda_{\min}$ and $|H\nabla f|$ along the flow — is within a factor
# {glue:text}`ratio_max:.2f` of the measured gap, while $\lambda_{\min}$ stays at or
# below {glue:text}`lmin_phase_max:.2f`. Here the error sits in the unstable direction of the
# saddle, which is exactly what $e^{-\int\lambda_-}$ (here up to
# {glue:text}`exp_int_small:.1f`) amplifies. After the escape the flow enters positively
# curved territory, the gap stops growing, and the bound, blind to contraction, becomes
# loose again. So $\int\lambda_-$ tells *where* the gap can grow: on plateaus and saddle
# escapes.
#
# ## SGD and its diffusion model (Sec. 2.3)
#
# Deep Relaxation models minibatch SGD, $x_{k+1} = x_k-\eta\nabla f_{\rm mb}(x_k)$
# (eq. (7)), by the SDE (SGD). With batches of $B$ drawn without replacement from $N$
# samples the minibatch gradient has mean $\nabla f$ and covariance $\tfrac cB\Sigma(x)$,
# $c=\tfrac{N-B}{N-1}$, $\Sigma$ the per-sample gradient covariance; over a time $\eta$
# this is matched by
#
# $$ dX = -\nabla f(X)\,dt + \big(\eta\,c\,\Sigma(X)/B\big)^{1/2}dW, $$
#
# i.e. $\beta^{-1}$ of the paper becomes a state-dependent, anisotropic $\eta c\Sigma/B$.
# We run SGD and Euler–Maruyama {cite}`kloeden1992numerical` for this SDE (step $\eta$;
# the noise $\Sigma^{1/2}z$ is drawn exactly as $N^{-1/2}\sum_i(\zeta_i-\bar\zeta)\nabla
# f_i$ with one weighted backward pass) from the same $x_0$, {glue:text}`sgd_seeds:.0f`
# seeds each, and measure the root-mean-square distance to the DOP853 flow at
# $t=${glue:text}`sgd_T:.1f` ({numref}`fig-ch10-sgd`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Distance from the gradient flow at $t=$ `sgd_T` against the step size, log-log: GD (squares), the root-mean-square distance of minibatch SGD (circles) and of its SDE model (triangles), with fitted slopes in the legend. Look at the slopes (1 for GD, about 1/2 for SGD and the SDE) and at the wide margin between GD and SGD.", "name": "fig-ch10-sgd"}}
ch10.figure_sgd(R)
plt.show()

# %% tags=["hide-input"]
ch10.sgd_frame(R)

# %% [markdown]
# SGD's distance from the flow scales like $\eta^{1/2}$ (fitted
# {glue:text}`slope_sgd:.2f`), not $\eta$ (GD: {glue:text}`slope_gd:.2f`), and is at
# least {glue:text}`noise_factor:.0f` times GD's: the noise, not the discretisation,
# separates SGD from GF. The diffusion model reproduces SGD's spread (ratio of rms
# distances {glue:text}`ratio_lo:.2f`–{glue:text}`ratio_hi:.2f`, order
# {glue:text}`slope_sde:.2f`), so at these step sizes Sec. 2.3's continuous-time picture
# is quantitatively right — provided the diffusion coefficient is $\eta c\Sigma(x)/B$,
# which vanishes as $\eta\to0$ at fixed $B$: the "temperature" $\beta^{-1}$ is set by the
# step size and the batch.
#
# ## Does local entropy raise $\lambda_{\min}$ along the path?
#
# Sec. 3 replaces $f$ by
# $f_\gamma = u(\cdot,\gamma) = -\beta^{-1}\log\big(G_{\beta^{-1}\gamma}*e^{-\beta f}\big)$
# (eq. (11)). On a network with two weights we can compute $u$ exactly on a grid (the
# Cole–Hopf formula, `deeprelax.pde.local_entropy`) and ask whether the flow of $u$ sees less
# negative curvature than the flow of $f$. The network is $\hat y = w_2\tanh(w_1\xi)$
# fitted to $\sin\xi$ on 100 points of $[-\pi,\pi]$ with the mean square loss; its
# landscape has a saddle at the origin ($\lambda_{\min}\approx-0.9$ nearby) between two
# symmetric valleys. We start every flow at $w_0=(0.1, 0.05)$, near the saddle, take
# $\beta=5$, and evaluate gradients and Hessians of $u$ from a quintic spline of the grid
# values, which matches the analytic Hessian of $f$ along its flow to
# {glue:text}`spline_hess_error:.0e` ({numref}`fig-ch10-smoothing`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Two-weight network $\\hat y = w_2\\tanh(w_1\\xi)$. Left: level lines of $f$ and the gradient flows of $f$ and of its local entropy $u(\\cdot,\\gamma)$ from the start $w_0$ (star) near the saddle at the origin. Right: $\\lambda_{\\min}$ of the Hessian of $f$ or $u(\\cdot,\\gamma)$ along each flow; look at the rising minimum and at the slower escape (the curves cross zero later) as $\\gamma$ grows.", "name": "fig-ch10-smoothing"}}
ch10.figure_smoothing(R)
plt.show()

# %% tags=["hide-input"]
ch10.smoothing_frame(R)

# %% [markdown]
# Pointwise, yes: the most negative eigenvalue met along the path rises from
# {glue:text}`lmin_f:.2f` ($f$) to {glue:text}`lmin_u:.2f`
# ($\gamma=${glue:text}`gamma_max:.1f`), steadily with $\gamma$ (by at least
# {glue:text}`lmin_step:.2f` per step) — smoothing flattens the saddle. Integrated along
# the path, no: $\int_0^T\lambda_-$ goes from {glue:text}`int_f:.2f` to
# {glue:text}`int_u:.2f` (within {glue:text}`int_rel:.0%` over all $\gamma$), and the
# GD–GF gap grows slightly ({glue:text}`gap_f:.1e` to {glue:text}`gap_u:.1e` at the
# smallest $\eta$, at least {glue:text}`gap_growth:.2f` times larger at every $\eta$). The
# reason is the saddle escape itself: starting at distance $d_0$ along the unstable
# direction with $\lambda_{\min}=-\mu$, the flow needs a time $\approx\mu^{-1}\log(1/d_0)$
# to escape, so $\int\lambda_-\approx-\log(1/d_0)$ *whatever* $\mu$ is. Flattening the
# saddle slows the escape by as much as it weakens the curvature. In the Elkabetz–Cohen
# sense local entropy does not make GD a better approximation of its own flow; its
# benefits claimed in the paper (wider minima, Sec. 6; the control view, Sec. 5) are of a
# different kind.
#
# ## Choices we made
#
# - **Smaller networks and horizons.** Fast preset: $h=16$, $T=1$, $\eta_0=0.01$,
#   $r\le8$ (theirs: $h=50$, $T=10$, $\eta_0=10^{-3}$, $r\le20$); the small CNN and
#   LeNet-5 of their paper are not run. `-p preset paper -p device cuda` restores their
#   sizes; it has not been run in this build (no GPU here).
# - **No DOP853 reference for ReLU.** The discontinuous vector field (sliding modes)
#   defeats high-order solvers; we measure the order from successive GD differences
#   instead and report the DOP853 probe.
# - **Bounds are leading order.** Both bounds drop $O(\eta)$ relative corrections, and
#   their integrals use the trapezoidal rule on the (square-root spaced) checkpoints; we
#   allow 2% slack when checking them.
# - **The SDE is simulated at step $\eta$** (Euler–Maruyama), so it matches SGD's first
#   two moments per step exactly; with only {glue:text}`sgd_seeds:.0f` seeds per step size
#   the rms distances carry sampling noise of roughly 10%.
# - **Two-weight network.** The loss, $\beta$, $\gamma$ and $w_0$ are ours; $u$ is
#   computed on a uniform grid on $[-4,4]^2$ (401 points per axis in the fast preset; the
#   Cole–Hopf integral is truncated to the box).
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch10.claims(R))
