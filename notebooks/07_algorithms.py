# %% [markdown]
# # Sec. 7: the algorithms, and what one update computes
#
# Section 7 of {cite}`chaudhari2018deep` turns the PDEs into training algorithms:
# Entropy-SGD {cite}`chaudhari2017entropy` (the Euler–Maruyama discretisation (32)–(33)
# of the two-time-scale system of Sec. 4), HJ (its noise-free variant, Sec. 7.2, with the
# equivalent form (34) of Remark 21) and HEAT (eq. (35)), plus Nesterov momentum on the
# outer update (Sec. 7.4) and the scoping of $\gamma$ (Sec. 7.5). `deeprelax.train.optim`
# implements them as closure-based `torch.optim` optimizers: one `step` calls the closure
# $L$ times (in training, each call draws a fresh minibatch and back-propagates) and then
# updates the weights once.
#
# This chapter checks, on the one-dimensional loss of the paper's Figure 1, that one update of each
# optimizer moves $x$ along the gradient of the PDE solution it stands for. With step
# $\eta=1$, no momentum and no scoping, the update direction is $d(x) = x - x^+$. The
# optimizers act element-wise, so a tensor holding many copies of the 1-D problem runs
# many independent chains at once; we average $d$ over them and compare with
#
# - **Entropy-SGD**: $d = (x-\langle y\rangle)/\gamma \to \nabla f_\gamma(x)$, the
#   gradient of the local entropy (Lemma 1), computed by the Cole–Hopf formula (eq. (11));
# - **HJ**: $d \to (x-\mathrm{prox}_{\gamma f}(x))/\gamma = \nabla u(x,\gamma)$ of the
#   Hopf–Lax formula (eqs. (HL), (14));
# - **HEAT**: $d = \frac1L\sum_i \nabla f(x+\varepsilon_i) \to
#   \nabla (G_\gamma * f)(x)$ (eq. (23)).
#
# The computations are in `deeprelax.chapters.ch07_algorithms`; the unit tests of
# `deeprelax.train.optim` check single updates against hand computations and the same limits on
# quadratics, where they are closed forms.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, seconds) or "paper" (more chains, longer loops)
device = "cpu"    # unused: these are small CPU computations
chains = None     # independent copies per point x (None: the preset's value)
L = None          # inner steps of Entropy-SGD and HJ (None: the preset's value)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch07_algorithms as ch07
from deeprelax.book.claims import report

P = ch07.Params.from_notebook(globals())
R = ch07.compute(P)
glue_all(ch07.prose_numbers(R))
P.frame()

# %% [markdown]
# ## Calling an optimizer
#
# Every optimizer of `deeprelax.train.optim` is called the same way: build it on the
# parameters, then pass `step` a closure that writes the gradient into `.grad` and
# returns the loss. Here the parameter holds three copies of the 1-D problem, and the
# chapter's `closure` evaluates the exact $\nabla f$ of the loss of the paper's Figure 1 at each entry.
# One step of HJ with the chapter's $\gamma$ and $L$ moves each copy by the Hopf–Lax
# gradient $\nabla u(x,\gamma) = (x-\mathrm{prox}_{\gamma f}(x))/\gamma$, here with the
# proximal point solved by Newton's method:

# %%
import torch
from deeprelax.train import optim

x = torch.tensor([-1.0, 0.0, 1.5], dtype=torch.float64)
w = torch.nn.Parameter(x.clone())  # three copies of the 1-D x
opt = optim.HJ([w], lr=1.0, gamma=P.gamma, L=P.L, lr_y=P.lr_y,
               momentum=0.0, gamma_decay=0.0)
opt.step(ch07.closure(w))   # L calls, each writes ∇f to w.grad
ch07.update_frame(x, w, R)  # d = x − x⁺ and Hopf–Lax ∇u(x, γ)

# %% [markdown]
# ## Parameters
#
# Entropy-SGD's inner chain is Euler–Maruyama for
# $dy = -\nabla_y H\,ds + \sqrt{\beta_{\rm ex}^{-1}}\,dW$ with
# $H(x,y) = f(y) + |x-y|^2/2\gamma$. Its invariant law is proportional to
# $\exp(-2H/\beta_{\rm ex}^{-1})$, so it samples the Gibbs measure of Lemma 1 at
# $\beta = 2/\beta_{\rm ex}^{-1}$ (the factor 2 of the noise convention discussed in the
# Sec. 4 chapter); we set $\beta_{\rm ex}^{-1} = 2/\beta$. We take $\gamma = 0.02$ below
# $1/\max(-f'') =$ {glue:text}`convexity_bound:.4f`, where $H(x,\cdot)$ is convex: the
# inner chain then mixes exponentially fast (Remark 6) and the gradient descent of HJ
# finds the proximal point itself rather than a local minimiser of $H$. A small inner
# step $\eta_y$ keeps the discretisation bias of the invariant law small. The average
# $\langle y\rangle$ uses $\alpha = 0.99$ instead of the paper's 0.75: the mean is the
# same, the variance smaller.
#
# ## One update of each optimizer
#
# {numref}`fig-ch07-directions` shows the mean update direction of each optimizer at 25
# points against the gradient of the PDE solution it discretises. For the stochastic
# methods we measure the largest deviation from the PDE gradient in units of the Monte
# Carlo standard error, and check that the comparison can fail: the directions must be
# much farther from $\nabla f$ than from their PDE gradient. For HJ the two forms must
# coincide once the inner loop has converged (Remark 21 with Lemma 1's two expressions
# for $\nabla u$), and the Hopf–Lax gradient is known up to the grid spacing divided by
# $\gamma$.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Mean update direction $d(x) = x - x^+$ of one step of each optimizer (markers) against the PDE gradient it discretises (solid), with $\\nabla f$ dashed. (a) Entropy-SGD and the Cole\u2013Hopf gradient $\\nabla f_\\gamma$ of the local entropy; (b) HEAT and the heat-smoothed gradient $\\nabla(G_\\gamma * f)$ (error bars: 2 standard errors over the chains); (c) HJ after a converged inner loop, both forms, and the Hopf\u2013Lax gradient $\\nabla u(\\cdot,\\gamma)$; (d) HJ after $L=5$ inner steps: form (32)\u2013(33) follows a fraction of $\\nabla f$, form (34) follows $\\nabla f$ itself. Look at how the markers follow the solid curve, not the dashed one, around the narrow wells.", "name": "fig-ch07-directions"}}
ch07.figure_directions(R)
plt.show()

# %% [markdown]
# Entropy-SGD's mean direction lies within {glue:text}`esgd_z:.1f` standard errors of the
# Cole–Hopf gradient of the local entropy at every point, and is
# {glue:text}`esgd_vs_grad_f:.0f` times farther (in RMS) from $\nabla f$: at this small
# $\gamma$ the local entropy rounds off and shifts the extremes of $\nabla f$ around the
# narrow wells ($x\approx-1.2,\,-0.35,\,1.6$) and follows it in the wide valley. HEAT
# follows the Gaussian smoothing of $\nabla f$ to {glue:text}`heat_z:.1f` standard errors
# ({glue:text}`heat_vs_grad_f:.0f` times closer to it than to $\nabla f$); with its
# variance $\gamma = 0.05$ it flattens the narrow wells almost entirely.
#
# HJ's two forms agree to {glue:text}`hj_forms:.1e` once the inner loop has converged
# and match the Hopf–Lax gradient of the grid solution to
# {glue:text}`hj_vs_hopf_lax:.3f` (the grid allows {glue:text}`hj_grid_bound:.3f`), and
# $(x-\mathrm{prox}_{\gamma f}(x))/\gamma$ with the proximal point solved by Newton's
# method to {glue:text}`hj_vs_prox:.1e`. Remark 21 calls the two forms equivalent; at
# the $L = 5$ inner steps of Sec. 7.2 they are different algorithms, which differ by up
# to {glue:text}`hj_forms_L5:.1f` (our claim marked *differs*). The form (32)–(33)
# returns $(x-y_5)/\gamma$, which after five steps of size $\eta_y$ against the pull
# $(y-x)/\gamma$ is $1-(1-\eta_y/\gamma)^5 =$ {glue:text}`hj_L5_gain:.3f` times
# $\nabla f$ where $f$ is flat; over the 25 points the ratio ranges from
# {glue:text}`hj_L5_ratio_min:.3f` to {glue:text}`hj_L5_ratio_max:.3f`, because the
# curvature $f''$ adds to the pull. Five descent steps on the quadratic model of $H$
# predict each ratio to {glue:text}`hj_L5_gain_err:.1%`. The form (34) returns the
# gradient at $y_4$, close to $\nabla f(x)$.
#
# (errata-noise-variances)=
# ## Two sources of noise in the inner chain
#
# With minibatch gradients the inner chain (32) carries two independent noises: the
# minibatch error of $\nabla f_{\rm mb}$, of variance $\beta_{\rm mb}^{-1}$ (Sec. 2.3),
# and the extrinsic Gaussian term $\sqrt{\eta_y\beta_{\rm ex}^{-1}}\,\varepsilon^k$.
# Sec. 7.1 says this is (31) with $\beta^{-1/2} = \beta_{\rm mb}^{-1/2} +
# \beta_{\rm ex}^{-1/2}$, which adds standard deviations. Independent noises add
# variances, and the minibatch error enters (32) multiplied by the step $\eta_y$, while
# (31)'s noise is $\sqrt{\eta_y\beta^{-1}}$: one step has variance
# $\eta_y^2\beta_{\rm mb}^{-1} + \eta_y\beta_{\rm ex}^{-1} = \eta_y\beta^{-1}$, so
#
# $$ \beta^{-1} = \eta_y\,\beta_{\rm mb}^{-1} + \beta_{\rm ex}^{-1}. $$
#
# {numref}`fig-ch07-noise` decides between this, the sum of variances without $\eta_y$
# and the printed rule by simulating one step of (32) at the paper's
# $\eta_y =$ {glue:text}`noise_lr_y:g`, with true minibatch gradients of a finite sum
# (batches of 16 of 1000 terms, drawn with replacement, scaled to
# $\beta_{\rm mb}^{-1} = 1$), for four ratios $\beta_{\rm ex}^{-1}/\beta_{\rm mb}^{-1}$.
# The measured $\beta^{-1/2}$ is within {glue:text}`noise_z_eta:.1f` standard errors of
# $\sqrt{\eta_y\beta_{\rm mb}^{-1}+\beta_{\rm ex}^{-1}}$ at every ratio, and at least
# {glue:text}`noise_z_variances:.0f` standard errors from
# $\sqrt{\beta_{\rm mb}^{-1}+\beta_{\rm ex}^{-1}}$ (too large by up to
# {glue:text}`noise_variances_excess:.0%`) and {glue:text}`noise_z_printed:.0f` from the
# printed rule (too large by up to {glue:text}`noise_printed_excess:.0%`). For the
# experiments of Sec. 8, Sec. 7.1 prints $\beta_{\rm ex}^{-1} = 10^8$, which we read as
# $2\cdot10^{-8}$ (the MNIST chapter explains why); then
# $\beta^{-1} \approx \eta_y\beta_{\rm mb}^{-1}$: the minibatch noise dominates.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The noise of one step of (32) with minibatch gradients ($\\beta_{\\rm mb}^{-1}=1$, $\\eta_y = 0.1$), as the $\\beta^{-1/2}$ of (31), against $\\beta_{\\rm ex}^{-1}/\\beta_{\\rm mb}^{-1}$: simulated (circles, error bars 2 standard errors); $\\beta^{-1} = \\eta_y\\beta_{\\rm mb}^{-1} + \\beta_{\\rm ex}^{-1}$ (solid); the sum of variances without $\\eta_y$ (dotted); the printed rule of Sec. 7.1, the sum of standard deviations (dashed). The circles lie on the solid curve.", "name": "fig-ch07-noise"}}
ch07.figure_noise(R)
plt.show()

# %% [markdown]
# ## Choices we made
#
# - **The same loss as the paper's Figure 1** (`landscapes.figure1`), whose wells have curvatures
#   between about −35 and 80; $\gamma = 0.02$ lies below the convexity bound
#   {glue:text}`convexity_bound:.4f`.
# - **$\alpha = 0.99$** for the exponential average in this chapter (0.75 in the
#   experiments, as the paper).
# - **Gradient without minibatch noise.** Here $\nabla f$ is exact; the noise of the inner
#   chain is only the extrinsic $\beta_{\rm ex}^{-1}$. In training, minibatch gradients
#   add the intrinsic noise $\beta_{\rm mb}^{-1}$ of Sec. 7.1, which counts with the
#   factor $\eta_y$ (the section above).
# - **The HJ update of form (34)** uses the last gradient the inner loop computed,
#   $\nabla f(x - y^{L-1})$, so both forms cost $L$ back-propagations per update
#   (Remark 22); read literally, (34) would reset $y$ to 0 and step with $\nabla f(x)$.
# - **The references** are computed on a uniform grid of $[-3.5, 3.5]$ (`n_grid` in the
#   parameters table) and interpolated to the compared points; the Hopf–Lax tolerance is
#   twice the grid spacing over $\gamma$, plus $10^{-3}$.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch07.claims(R))
