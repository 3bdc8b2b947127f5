# %% [markdown]
# # Width of the minima: Hessian spectra and local entropy
#
# The thesis behind the paper {cite}`chaudhari2018deep` is that local entropy biases
# training towards *wide* minima: Entropy-SGD's "wide valleys"
# {cite}`chaudhari2017entropy` (Sec. 1), and Sec. 6, where semiconcavity bounds the
# curvature of the relaxed loss $f_\gamma = u(\cdot,\gamma)$ (Lemma 18) and the harmonic
# mean of its Hessian's spectrum at a local minimum (Lemma 20). The chapters on local entropy
# (Sec. 3) and semiconcavity (Sec. 6) check
# this on one- and two-dimensional landscapes. Here we measure it on trained networks:
# at the final weights $\theta$ of SGD, Entropy-SGD, HJ and HEAT, with the settings of
# the MNIST chapter (Sec. 8.2), we compute
#
# - the top eigenvalues of the Hessian $\nabla^2 f(\theta)$ of the training loss, by
#   Lanczos {cite}`golub2013matrix` on Hessian-vector products (`torch.func`), and the
#   top eigenvalue of
#   $\operatorname{diag}(\theta)\,\nabla^2 f\,\operatorname{diag}(\theta)$, a
#   sharpness that does not change when the weights are rescaled without changing the
#   function;
# - the mean eigenvalue $\operatorname{tr} H/n$ from Rademacher probes, with its
#   standard error;
# - the eigenvalue density, by stochastic Lanczos quadrature
#   {cite}`ghorbani2019investigation`, and the share of eigenvalues near zero
#   (Sec. 6.3, after {cite}`sagun2016eigenvalues`);
# - the loss along the top eigenvector and along random directions, scaled to the
#   weights so that the algorithms are comparable;
# - the local entropy $f_\gamma$ of eq. (11) at several $\gamma$, and the curvature of
#   $f_\gamma$ along the top eigenvector, against Example 13 and Lemma 18.
#
# This paper proves its widening results for the solutions $u(x,t)$ of the PDEs
# (Sec. 6); it states no Hessian result at the weights the algorithms return. That the
# algorithms *find* wider minima is the thesis of the Entropy-SGD paper
# {cite}`chaudhari2017entropy`, so the claims that test it are that paper's
# statements, not this one's.
#
# The loss $f$ is the mean cross-entropy over a fixed subset of the training images,
# with batch normalisation in eval mode (its statistics re-estimated on the training
# images at $\theta$, as the authors do before testing) and dropout off, so that $f$ is
# a plain function of $\theta \in \mathbb{R}^n$. The computations are in
# `deeprelax.train.hessian` (Hessian-vector products, Lanczos, quadrature, Monte Carlo),
# `deeprelax.train.width` (training, measurements, the saved LeNet run) and
# `deeprelax.chapters.ch13_width_of_minima` (tables, figures, claims).

# %% tags=["parameters", "hide-input"]
preset = "fast"         # "fast" (small net, CPU, seconds) or "paper" (LeNet)
device = "cpu"          # "cuda" for the paper preset
net = None              # "mlp7" (fast) or "lenet"; None: the preset's
weights = None          # "auto": results/weights if there; "train": train here
seeds = None            # seeds trained here, e.g. [0, 1, 2]
effective_epochs = None  # training budget when trained here
hessian_images = None   # size of the fixed training subset of f
gammas = None           # the gamma values of f_gamma, e.g. [0.01, 0.1, 1, 10]
beta = None             # beta of f_gamma (heat-kernel variance gamma / beta)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch13_width_of_minima as ch13
from deeprelax.book.claims import report

P = ch13.Params.from_notebook(globals())
R = ch13.compute(P)
L = ch13.lenet_result(R)          # the paper preset's LeNet run (results/)
glue_all(ch13.measures(R))
glue_all(ch13.lenet_measures(L), prefix="lenet_")
P.frame()

# %% tags=["remove-input"] mystnb={"markdown_format": "myst"}
Markdown(ch13.pending_note(R, L))

# %% [markdown]
# ## The nets and where their weights come from
#
# With the LeNet weights of the Table 1 runs in `results/weights/` (one file per
# algorithm and seed, written when a run of the MNIST chapter finishes: a unit of the
# CPU campaign or a GPU sweep), the `paper` preset measures those: the paper's settings
# and budget (100 effective epochs). Without them it trains the four LeNets here with
# the same settings on a reduced budget of 20 effective epochs (the learning-rate
# schedule compressed by the same factor), and says so in its table. The `fast` preset,
# which this page shows by default, trains a small net with mnistfc's layer order —
# 7×7 mean-pooled images → dropout → fc 14 → ReLU → BN → dropout → fc 10,
# $n =$ {glue:text}`n_params:,d` parameters — on 1,000 MNIST images for 40 effective
# epochs, {glue:text}`n_seeds:d` seeds each, with `deeprelax.train.engine.train` and the
# LeNet settings of `deeprelax.train.experiments`. Its numbers exercise every measurement and can
# be checked against the exact Hessian; they say nothing about LeNet.

# %% tags=["hide-input"]
ch13.source_frame(R)

# %% [markdown]
# ## The top of the spectrum
#
# Lanczos with full re-orthogonalisation gives the top eigenvalues of $\nabla^2 f$ from
# Hessian-vector products alone; the residual bounds of the Ritz pairs show that they
# have converged. On the small net we also form the exact Hessian (in float64) and
# check the Lanczos values against its dense eigendecomposition, and the
# Hessian-vector product against central differences of gradients (claims at the
# end). The table gives the top eigenvalues (mean ± standard deviation over seeds);
# {numref}`fig-ch13-top` draws them, raw and multiplied by $|\theta|^2$.

# %% tags=["hide-input"]
ch13.eigen_frame(R)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Top eigenvalues of the Hessian of the training loss at the final weights of each algorithm (mean \u00b1 std over seeds). Left: the eigenvalues; right: times $|\\theta|^2$, the curvature per unit of relative displacement $|\\Delta\\theta|/|\\theta|$. Look at the order of the four curves, and whether it survives the rescaling.", "name": "fig-ch13-top"}}
ch13.figure_top_eigenvalues(R)
plt.show()

# %% [markdown]
# An eigenvalue alone is not a width: multiplying one layer's weights by $c > 0$ and
# the next layer's by $1/c$, with a ReLU or max-pool between (or a batch normalisation's
# scale and shift and the next layer), leaves the function unchanged but changes the
# Hessian, so sharpness depends on the parametrisation {cite}`dinh2017sharp`.
# $\lambda_1|\theta|^2$, the curvature per unit of *relative* displacement that the
# normalised slices below show, changes too, since $|\theta|$ does. The top eigenvalue
# of $\operatorname{diag}(\theta)\,\nabla^2 f\,\operatorname{diag}(\theta)$, the
# curvature per relative change of *each* weight, does not: a rescaling
# $\theta \mapsto D\theta$ ($D$ diagonal) that leaves $f$ unchanged turns the Hessian
# into $D^{-1}\nabla^2 f D^{-1}$ and $\operatorname{diag}(\theta)$ into
# $D\operatorname{diag}(\theta)$, and the product is the same matrix (tested on a
# conv-ReLU-max-pool-BN net, where three such rescalings spread $\lambda_1|\theta|^2$
# by a factor above 2). Batch normalisation in eval mode adds one caveat: a factor on
# the layer *before* it is absorbed only if its running statistics, constants of $f$,
# are rescaled as well; we re-estimate them at every $\theta$, so there the measure is
# invariant up to the normalisation's $\varepsilon$. On this page SGD's $\lambda_1$ is
# {glue:text}`lambda1_sgd:.3g`, Entropy-SGD's {glue:text}`lambda1_esgd:.3g`, HJ's
# {glue:text}`lambda1_hj:.3g` and HEAT's {glue:text}`lambda1_heat:.3g`; the ratios of
# the invariant sharpness to SGD's are
# {glue:text}`ratio_sharpness_entropy_sgd:.2f` (Entropy-SGD),
# {glue:text}`ratio_sharpness_hj:.2f` (HJ) and {glue:text}`ratio_sharpness_heat:.2f`
# (HEAT).
#
# ## The density near zero
#
# Sec. 6.3 recalls that "the Hessian of a typical deep network at a local minimum
# discovered by SGD has a very large proportion of its eigenvalues that are close to
# zero", with an arithmetic mean of 0.0029 for the network of
# {cite}`chaudhari2017entropy`. Stochastic Lanczos quadrature estimates the whole
# spectral measure from a few Rademacher probes: each probe's Lanczos run gives Gauss
# nodes and weights, whose average, broadened by a narrow Gaussian, is the density of
# {numref}`fig-ch13-density`. Where the exact spectrum is known it is drawn dashed.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Eigenvalue density of the Hessian at the final weights (seed 0) by stochastic Lanczos quadrature, in units of $\\lambda_1$ (solid; the exact spectrum, broadened the same way, dashed where it is known). Left: the density, log scale; right: the share of eigenvalues with $|\\lambda| < \\varepsilon$. Look at the peak at zero: almost all of the mass sits on one quadrature node near zero, whose sign the quadrature does not resolve.", "name": "fig-ch13-density"}}
ch13.figure_density(R)
plt.show()

# %% [markdown]
# The table collects the width measures: $\lambda_1|\theta|^2$, the invariant
# sharpness $\lambda_1(\theta H\theta)$ of
# $\operatorname{diag}(\theta)\,H\operatorname{diag}(\theta)$, the mean eigenvalue
# $\operatorname{tr} H/n$ with its standard error from
# {glue:text}`trace_probes:d` Rademacher probes of one Hessian-vector product each
# (SGD's is {glue:text}`trace_mean_sgd:.3g` ± {glue:text}`trace_se_sgd:.1g`), the
# share of eigenvalues near zero, the lowest Ritz value over $\lambda_1$, and the width
# term of the local entropy (next sections). Of the sign of the spectrum near zero we
# give only what Lanczos resolves: the lowest Ritz value bounds $\lambda_{\min}$ from
# above, so a negative one proves a negative eigenvalue. The share of *negative*
# eigenvalues is not resolvable by quadrature: the mass near zero sits on one Gauss node
# per probe, and its sign flips from probe to probe.

# %% tags=["hide-input"]
ch13.width_frame(R)

# %% [markdown]
# The algorithms do not reach the same training loss in the same budget, and the
# curvature of a cross-entropy shrinks with the loss, so the table also measures each
# net at *matched* training loss: training stops every few effective epochs (the engine
# resumes it bit for bit), $f$ is evaluated, and the first weights with
# $f \le f^* =$ {glue:text}`matched_loss:g` get their $\lambda_1$ and
# $\lambda_1(\theta H\theta)$ (means over seeds; "—" where a net never reached $f^*$).

# %% tags=["hide-input"]
ch13.matched_frame(R)

# %% [markdown]
# ## The loss along one-dimensional slices
#
# {numref}`fig-ch13-slices` shows $f(\theta + \alpha d)$ with $|d| = |\theta|$, so that
# $\alpha = |\Delta\theta|/|\theta|$ is the relative displacement, for $d$ along the top
# eigenvector $v_1$ and along random Gaussian directions. At $\alpha = 0$ the slice along
# $v_1$ curves as $\lambda_1|\theta|^2$ (a check at the end compares its second
# difference), a
# random slice as $d^\top \nabla^2 f\, d \approx |\theta|^2 \operatorname{tr}H/n$, far
# less: the random slices are flat over a displacement many times larger.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The training loss along the top eigenvector $v_1$ (left) and along random directions (right, one line each) through the final weights of each algorithm (seed 0), with directions scaled to $|\\theta|$ so that $\\alpha$ is the relative displacement; note the different ranges of $\\alpha$. Look at how fast each curve leaves its minimum value.", "name": "fig-ch13-slices"}}
ch13.figure_slices(R)
plt.show()

# %% [markdown]
# The loss is only piecewise smooth: every ReLU and max-pool switch is a kink, and the
# Hessian of automatic differentiation is that of the smooth piece around $\theta$.
# A second difference along $v_1$ with $|\Delta\theta| = 10^{-6}$ stays inside the
# piece and reproduces $\lambda_1$; with $|\Delta\theta|/|\theta| = 10^{-3}$ it crosses
# kinks and gives between {glue:text}`coarse_min:.2f` and {glue:text}`coarse_max:.2f`
# times $\lambda_1$.
#
# ## Local entropy
#
# By eq. (11), $f_\gamma(\theta) = -\beta^{-1}\log\int G(y-\theta)\,e^{-\beta f(y)}\,dy$
# with $G$ the Gaussian of covariance $\sigma^2 I$, $\sigma^2 = \gamma/\beta$. We
# estimate it by importance sampling: $y = \theta + \sigma u$ is drawn from the
# Gaussian that would be exact if $f$ were its quadratic model at $\theta$ in the span
# of the top eigenvectors (mean $-\gamma(I+\gamma H)^{-1}\nabla f$, the Lanczos
# resolvent), and the weights $w \propto G\,e^{-\beta f}/q$ correct for everything
# else; the effective sample size says where that still works. For the quadratic
# model,
#
# $$
# \begin{aligned}
# f_\gamma - f &= \tfrac{1}{2\beta}\operatorname{tr}\log(I+\gamma H)
#   - \tfrac{\gamma}{2}\,\nabla f^\top (I+\gamma H)^{-1}\nabla f ,\\
# v^\top \nabla^2 f_\gamma\, v &= \frac{\lambda}{1+\gamma\lambda}
#   \quad (Hv = \lambda v),
# \end{aligned}
# $$
#
# the first term measuring the width (Example 13 in $n$ dimensions), the second the
# descent still available, since the final weights are not a critical point. By
# Lemma 1, $\nabla^2 f_\gamma = (I - \operatorname{Cov}_w u)/\gamma$, so the curvature
# of $f_\gamma$ along $v_1$ is $(1 - \operatorname{Var}_w(v_1^\top u))/\gamma$, which
# never exceeds $1/\gamma$ — Lemma 18's bound, true for every $f$
# ({numref}`fig-ch13-entropy`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Local entropy at the final weights (mean over seeds). Left: $f_\\gamma - f$ by Monte Carlo (dots; hollow where the effective sample size is below 5) and for the quadratic model (dashed; negative: the final weights are not a critical point). Right: the curvature of $f_\\gamma$ along $v_1$ by Monte Carlo (dots), Example 13's $\\lambda_1/(1+\\gamma\\lambda_1)$ (dotted) and the bound $1/\\gamma$ (grey). Look at where the filled dots leave the dashed and dotted lines.", "name": "fig-ch13-entropy"}}
ch13.figure_local_entropy(R)
plt.show()

# %% [markdown]
# The table gives the means over seeds and the smallest effective sample size (ESS)
# of the Monte Carlo estimate; κ_γ is the curvature of $f_\gamma$ along $v_1$.

# %% tags=["hide-input"]
ch13.entropy_frame(R)

# %% [markdown]
# The curvature estimate draws the component of the sample along $v_1$ once, uniformly,
# in each of 32 equal-probability strata, and subtracts the same samples' unweighted
# variance from the weighted one, adding back the proposal's exact variance (a control
# variate): it is unbiased, and exact when $f$ is the quadratic its proposal assumes
# (tested on a quadratic and on a quartic, to the Monte Carlo error of 200 repetitions).
# The column ± SE is its standard error. At the smallest $\gamma$ the Monte Carlo
# $f_\gamma - f$ agrees with the quadratic model (a check at the end). Where the ESS
# falls to a few samples the estimate is no better than the proposal: in $n$
# dimensions the weights depend on
# $\tfrac12\gamma\,u^\top H u$ over all directions, and importance sampling fails once
# $\gamma\,|H|_F$ is of order one. Its smallest value on this page is
# {glue:text}`min_ess:.0f`. This is why the algorithms estimate
# $\nabla f_\gamma$ with a Langevin inner loop (Sec. 7.1) rather than by sampling.

# %% [markdown]
# ## On the paper's LeNet
#
# The `paper` preset measures the paper's LeNet (Sec. 8.2.2: $n =$
# {glue:text}`lenet_n_params:,d` parameters, as the paper states) at the final weights of
# seed 0 of the four LeNet cells of Table 1: 100 effective epochs with the paper's
# settings, trained by the MNIST chapter's campaign on this project's CPU and kept in
# `results/weights/`. $f$ is the training loss on the first
# {glue:text}`lenet_hessian_images:,d` training images. The measurement
# (`python -m deeprelax width --preset paper`; one to two hours on two CPU cores,
# depending on the CPU; it resumes if stopped) is saved with its provenance in
# `results/width-of-minima-lenet.json`, which this page reads. The validation errors of
# these final weights are {glue:text}`lenet_val_error_entropy_sgd:.2f` % (Entropy-SGD),
# {glue:text}`lenet_val_error_heat:.2f` % (HEAT), {glue:text}`lenet_val_error_hj:.2f` %
# (HJ) and {glue:text}`lenet_val_error_sgd:.2f` % (SGD); Table 1 reports the best over a
# run, 0.50 % for Entropy-SGD, HJ and SGD and 0.59 % for HEAT
# {cite}`chaudhari2018deep`.

# %% tags=["hide-input"]
ch13.source_frame(L)

# %% tags=["remove-input"] mystnb={"markdown_format": "myst"}
Markdown(ch13.lenet_findings(L))

# %% [markdown]
# The eigenvalues of the first table below are plotted in
# {numref}`fig-ch13-lenet-top`. For a cross-entropy near zero the Hessian shrinks with
# the loss: where $\lambda_1$ follows the training loss (the sentences above say whether it
# does), it measures how far
# each optimiser has converged as much as how wide its minimum is. The comparison at
# *matched* training loss (each net measured at its first $f \le 0.02$, as the `paper`
# preset does when it trains) needs snapshots during training, which the Table 1 runs do
# not keep (only their final weights): the matched-loss claims at the end are pending.
# $\lambda_1|\theta|^2$ (table and right panel) is not invariant under rescalings that
# keep the function; the invariant sharpness is.

# %% tags=["hide-input"]
ch13.eigen_frame(L, k=6)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "LeNet (the paper preset, seed 0): the top eigenvalues of the Hessian of the training loss at the final weights of each algorithm, raw (left) and times $|\\theta|^2$ (right). Look at the order of the four curves on the right.", "name": "fig-ch13-lenet-top"}}
ch13.figure_top_eigenvalues(L)
plt.show()

# %% tags=["hide-input"]
ch13.width_frame(L)

# %% tags=["remove-input"] mystnb={"markdown_format": "myst"}
Markdown(ch13.lenet_shape(L))

# %% [markdown]
# Almost all of the spectrum lies within $10^{-2}\lambda_1$ of zero for every algorithm
# ({numref}`fig-ch13-lenet-density`; the claim on the near-zero mass at the end), as
# Sec. 6.3 recalls for SGD.
#
# Three caveats bound what this says. There is one seed per algorithm, so no error bar
# over seeds (the MNIST chapter shows how much six seeds spread). The comparison is at
# the same budget, not at the same training loss. And $\lambda_1$,
# $\operatorname{tr}H$ and the slices are local measures; the local entropy the
# algorithms minimise is the width the authors mean, and at the $\gamma$ where we can
# estimate it, it is dominated by the gradient that remains.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "LeNet (the paper preset, seed 0): the training loss along the top eigenvector (left) and along two random directions (right), directions scaled to $|\\theta|$. Look at how far each curve goes before it rises.", "name": "fig-ch13-lenet-slices"}}
ch13.figure_slices(L)
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "LeNet (the paper preset, seed 0): the eigenvalue density by stochastic Lanczos quadrature in units of $\\lambda_1$ (left) and the share of eigenvalues with $|\\lambda| < \\varepsilon$ (right). Look at the mass at zero.", "name": "fig-ch13-lenet-density"}}
ch13.figure_density(L)
plt.show()

# %% tags=["hide-input"]
ch13.entropy_frame(L)

# %% [markdown]
# The time of the measurement (this project's two-core CPU, on one or two threads
# beside other work): one Hessian-vector product over 5,000 images takes
# {glue:text}`lenet_hvp_s:.1f` s, the top ten eigenvalues by
# {glue:text}`lenet_lanczos_steps:d` Lanczos steps about
# {glue:text}`lenet_lanczos_s:.0f` s, the density (three probes, vectorised) about
# {glue:text}`lenet_slq_s:.0f` s, and all measurements of one net about
# {glue:text}`lenet_curvature_min:.0f` minutes (seconds per stage below); the product is
# mostly the convolutions' backward pass, whose speed differs several-fold between
# CPUs. The second difference along $v_1$ with $|\Delta\theta| = 10^{-6}$ agrees with
# $\lambda_1$ to within {glue:text}`lenet_fd_error_pct:.2g` % at these weights; since a
# step that small can still cross a max-pooling or ReLU switch (at an earlier run's
# weights, trained for a fifth of the budget, HEAT's was off by a factor 2), on LeNet
# that check is not among the claims.

# %% tags=["hide-input"]
ch13.timing_frame(L)

# %% [markdown]
# ## What the theory assumes, and what a real net does
#
# - **A local minimum.** Lemmas 19 and 20 are stated at a local minimum with a positive
#   definite Hessian. At every final weight vector on this page, some Ritz value is
#   negative, which proves that $\nabla^2 f$ has a negative eigenvalue (a check), and
#   the gradient is not zero (the descent term above); how much of the spectrum is
#   negative the quadrature does not resolve. The harmonic mean of Lemma 20 is not
#   defined for such a spectrum, and it is dominated by the eigenvalues nearest zero,
#   which quadrature with $m$ nodes does not resolve below about $\lambda_1/m$.
# - **A bound on $\sup_x f_{x_k x_k}$ over all of $\mathbb{R}^n$.** Lemma 18 needs
#   $C_k = \sup_x u_{x_kx_k}(x,0)$. For a network, second derivatives in one layer's
#   weights grow with the other layers' weights, so the supremum is infinite and the
#   bound reduces to $1/t$, which holds for every $f$ (a variance is never negative),
#   so no check on this page could fail it. With the *local* constant $\lambda_1$
#   instead of the supremum, Example 13's $\lambda_1/(1+\gamma\lambda_1)$ is what the
#   quadratic model predicts for the curvature $\kappa_\gamma$ of $f_\gamma$ along
#   $v_1$ (compared on LeNet after this list).
# - **Smoothness.** $f$ has kinks (ReLU, max-pooling), so its Hessian is defined only
#   almost everywhere; semiconcavity estimates for $u$ still hold, but $\lambda_1$ of
#   the smooth piece is only a local measure of width.

# %% tags=["remove-input"] mystnb={"markdown_format": "myst"}
Markdown(ch13.lenet_kappa(L))

# %% [markdown]
# Sec. 6.3's statement that most eigenvalues lie near zero holds on both nets (claims).
# On the small net of the fast preset, trained for a few hundred updates, the ratios
# between the algorithms carry no information about the thesis. On LeNet, at the
# Table 1 budget, the thesis claims below (a statement of the Entropy-SGD paper) are
# decided by the ratios of $\lambda_1$ and of the invariant sharpness to SGD's, which
# the findings above give; where $\lambda_1$ follows the training loss, it says how far
# each optimiser converged as much as how wide its minimum is.
#
# ## Choices we made
#
# - **The loss.** Mean cross-entropy over the first `hessian_images` training images
#   (1,000 in the fast preset, 5,000 in the paper preset), BN in eval mode with
#   statistics re-estimated on all training images used, dropout off.
# - **Normalisation.** Slices use $|d| = |\theta|$ over the whole vector; per-tensor
#   scaling (the filter normalisation of {cite}`li2018visualizing`) is available as
#   `hessian.normalised_direction(..., mode="layer")`.
# - **$\beta$ and $\gamma$.** The paper's Entropy-SGD runs at
#   $\beta_{\rm ex}^{-1} = 2\cdot10^{-8}$ with a coupling of $10^{-4}$ (the MNIST chapter), a
#   regime no sampler reaches in $n$ dimensions; we take $\beta = 10^4$ (fast) and
#   $10^6$ (paper) so that the Gaussian of $f_\gamma$ moves the weights by at most a
#   few per cent of $|\theta|$ for the largest $\gamma$, and several $\gamma$ around
#   $1/\lambda_1$.
# - **Reduced budget.** When the paper preset trains here, the learning-rate
#   schedule's epochs are scaled by budget/100, so that every step of the annealing
#   happens; γ scoping counts updates as in the paper.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch13.claims(R, L))
