# %% [markdown]
# # Using the optimizers in your own training loop
#
# The optimizers of `deeprelax.train.optim` (the API is on the {doc}`../api` page) are
# ordinary `torch.optim` optimizers with one difference: `step(closure)` calls the
# closure $L$ times, once per gradient evaluation (Remark 22 of
# {cite}`chaudhari2018deep`). They need only torch and numpy, and `pip install` of the
# package keeps the torch an environment already has. This page trains LeNet
# (Sec. 8.2.2) from one initialisation on the first {glue:text}`n_train:,.0f` MNIST
# training images with Entropy-SGD, HJ, HEAT and `torch.optim.SGD`, each for
# {glue:text}`budget:.0f` gradient evaluations, in a loop written out below; each
# optimizer is built in one line from the book's recipe. Then it shows the pitfalls the
# book ran into. The loop's functions live in
# `deeprelax.chapters.ch12_your_training_loop`; the page prints their source.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, under a minute) or "paper" (all of MNIST)
device = "cpu"    # "cpu" or "cuda"
net = None        # "lenet" or "mnistfc" (None: the preset's, LeNet)
budget = None     # gradient evaluations per optimizer (a multiple of 20)
n_train = None    # training images used (None: the preset's)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch12_your_training_loop as ch12
from deeprelax.book.claims import report

P = ch12.Params.from_notebook(globals())
R = ch12.compute(P)
glue_all(ch12.prose_numbers(R))
P.frame()

# %% [markdown]
# ## The closure
#
# A closure is a function without arguments that the optimizer calls whenever it needs
# a gradient. Each call must draw a **fresh** minibatch, zero the gradients, compute the
# loss, call `backward()` and return the loss. Entropy-SGD calls it $L = 20$ times per
# step (at the inner iterates $y$), HJ 5 times, HEAT 20 times (at perturbed weights
# $x + \varepsilon$), and `torch.optim.SGD` once, so one closure serves all four. The
# closure here also appends each loss to a list: its length is the number of gradient
# evaluations spent, the budget that the comparison keeps equal.

# %% tags=["hide-input"]
ch12.source(ch12.minibatches, ch12.make_closure)

# %% [markdown]
# One step of Entropy-SGD by hand, with the settings of the next section:

# %%
model = ch12.fresh_model(P)
opt = ch12.make_optimizer("Entropy-SGD", model.parameters())
d = R.data
batches = ch12.minibatches(d.train_x, d.train_y, 128, seed=0)
losses = []
gamma_0 = opt.gamma()
opt.step(ch12.make_closure(model, opt, batches, losses))
ch12.step_frame(opt, losses, gamma_0)

# %% [markdown]
# The step called the closure 20 times and moved $\gamma$ one notch along its scoping
# (below). The optimizers use `p.grad` as scratch space during a step, so anything that
# changes the gradient (clipping, accumulation) belongs inside the closure, before it
# returns; `step()` without a closure is refused with a message saying what it needs.
# As in `torch.optim`, a parameter whose gradient is `None` after the first closure
# call (frozen with `requires_grad=False`, or unused by the loss) is left as it is.
#
# ## One line per optimizer: the recipes
#
# The book's settings are named recipes, one per Table 1 setting (`"mnist"`: mnistfc
# and LeNet; `"cifar10"`: All-CNN), with the first learning rate of the Table 1
# schedule. This is all a training loop needs:

# %%
from deeprelax.train import optim

model = ch12.fresh_model(P)
esgd = optim.EntropySGD.recipe(model.parameters(), "mnist")
hj = optim.HJ.recipe(model.parameters(), "mnist")
heat = optim.HEAT.recipe(model.parameters(), "mnist")

# %% [markdown]
# Changes go on top as keywords, e.g.
# `optim.HEAT.recipe(params, "mnist", lr=0.05, generator=torch.Generator())`. The
# constructors' own defaults are the paper's forms (the outer step (33),
# `inner_form="paper"`), not the recipe, and settings that cannot converge are refused
# with one `ParamError`. A step that moves a point a fraction $h$ of the way to a
# target diverges for $h > 2$, and with Nesterov momentum $\delta$ for
# $h > 2(1+\delta)/(1+2\delta)$, {glue:text}`outer_bound_09:.3f` at $\delta = 0.9$
# (`optim.stable_fraction`). The inner coupling step
# $y \leftarrow y - \eta_y (y-x)/\gamma$ has $h = \eta_y/\gamma$ and is checked at
# construction. The outer step
# $x \leftarrow x - \frac{\eta}{\gamma}(x - \langle y\rangle)$ has $h = \eta/\gamma$
# ($\eta$ with `outer="lua"`): on
# $f = \lambda|y|^2/2$ the converged inner loop gives
# $\langle y\rangle = x/(1+\gamma\lambda)$, so the step multiplies $x$ by
# $1 - h\,\gamma\lambda/(1+\gamma\lambda)$, past $\langle y\rangle$ for $h > 1$
# and diverging in stiff directions ($\gamma\lambda \gg 1$) for $h > 2$. It is checked
# from the second `step` on (one step, as {doc}`07_algorithms` takes to read a
# direction at $\eta = 1$, is allowed), with a warning for $1 < h \le$ the bound. The
# bounds are necessary, not sufficient: the momentum pitfall below diverges at $h = 1$.
# What the optimizers say to a few attempts, over two steps on this page's net:

# %% tags=["hide-input"]
ch12.refusals_frame(R)

# %% [markdown]
# ## The optimizers and their settings
#
# The recipes are the settings of the book's Table 1 runs ({doc}`08_mnist`), with each
# schedule's first learning rate. Entropy-SGD and HJ follow the authors' code:
# `outer="lua"` ($x \leftarrow x - \eta\,(x - \langle y\rangle)$, so $\eta = 1$ moves
# $x$ to the average of the inner iterates), no outer momentum, Nesterov momentum 0.9 on
# the inner steps with `inner_form="authors"`, coupling $1/\gamma_0 = 10^{-4}$ and noise
# $\beta_{\rm ex}^{-1} = 2\cdot10^{-8}$. HEAT averages 20 gradients at Gaussian
# perturbations $\varepsilon \sim N(0, \gamma I)$ of eq. (35), so its $\gamma$ is a
# variance: $\gamma_0 = 10^{-4}$ is a standard deviation of 0.01 per weight, the low end
# of Sec. 7.5's range $\gamma_0 \in [10^{-4}, 10^{-1}]$ read as that variance. HEAT
# takes a Nesterov step with $\eta = 0.1$, like the SGD baseline. (Entropy-SGD's and HJ's
# $\gamma_0 = 10^4$ lies outside that range: it is the authors' coupling
# $g_0 = 1/\gamma_0 = 10^{-4}$, the range read as one for $g_0$.)

# %% tags=["hide-input"]
ch12.source(ch12.make_optimizer)

# %% [markdown]
# The optimizers' own `defaults`, read back after construction:

# %% tags=["hide-input"]
ch12.settings_frame(R)

# %% [markdown]
# ## The loop
#
# The loop counts gradient evaluations, not steps: it calls `opt.step(closure)` until
# the closure has run {glue:text}`budget:.0f` times, which is
# {glue:text}`sgd_updates:.0f` weight updates for SGD, {glue:text}`hj_updates:.0f` for HJ
# and {glue:text}`esgd_updates:.0f` for Entropy-SGD and HEAT. Every
# {glue:text}`eval_every:.0f` gradient evaluations it records the mean training loss
# since the last record and the validation error on the first
# {glue:text}`n_test:,.0f` test images, after re-estimating the batch-norm statistics
# (below).

# %% tags=["hide-input"]
ch12.source(ch12.error, ch12.evaluate, ch12.train)

# %% [markdown]
# ## The same budget, four optimizers
#
# {numref}`fig-ch12-training` shows the four runs. After {glue:text}`budget:.0f`
# gradient evaluations the validation errors are {glue:text}`error_sgd:.1f` % (SGD),
# {glue:text}`error_entropysgd:.1f` % (Entropy-SGD), {glue:text}`error_hj:.1f` % (HJ)
# and {glue:text}`error_heat:.1f` % (HEAT). HEAT lags: its {glue:text}`esgd_updates:.0f`
# updates each average 20 gradients at learning rate 0.1, so per gradient evaluation it
# moves the weights far less than SGD. A run this short on a subset shows that the loop
# works, not which optimizer is better; the paper's comparison is Table 1
# ({doc}`08_mnist`), at 100–200 effective epochs on all of MNIST with six seeds.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The four optimizers in the same loop on an MNIST subset, against gradient evaluations (the budget kept equal). (a) Mean minibatch training loss since the previous record (for Entropy-SGD and HJ measured at the inner iterates y, for HEAT at the perturbed weights); (b) validation error at x after re-estimating the batch-norm statistics. Look at SGD, Entropy-SGD and HJ falling together; HEAT, each of whose updates averages 20 gradients at learning rate 0.1, lags behind at this budget.", "name": "fig-ch12-training"}}
ch12.figure_training(R)
plt.show()

# %% tags=["hide-input"]
ch12.results_frame(R)

# %% [markdown]
# ## Scoping $\gamma$
#
# The optimizers shrink $\gamma$ after every **weight update**:
# $\gamma_k = \gamma_0 (1-\gamma_1)^k$ with $k$ the number of updates, which is the
# paper's exponent $k/L$ counted in inner steps (Sec. 7.5). `opt.gamma()` reads the
# current value: after the runs above it is {glue:text}`gamma_k_esgd:.1f` for
# Entropy-SGD ({glue:text}`esgd_updates:.0f` updates) and {glue:text}`gamma_k_hj:.1f`
# for HJ ({glue:text}`hj_updates:.0f` updates), from $\gamma_0 = 10^4$ with
# $\gamma_1 = 10^{-3}$. The same budget therefore scopes HJ four times faster than
# Entropy-SGD. The step count lives in the optimizer's state (`state_dict()` saves it,
# with the noise generator's state when a `generator` is given, so that a run saved,
# loaded and continued repeats the uninterrupted one exactly); the learning rate lives
# in `param_groups` as in every `torch.optim` optimizer, so parameter groups with their
# own learning rate and the schedulers of `torch.optim.lr_scheduler` work unchanged and
# leave $\gamma$ alone.
#
# ## Batch-norm statistics before evaluating
#
# In train mode every forward pass updates the batch-norm running statistics. The
# inner loops of Entropy-SGD and HJ run their forward passes at $y$, HEAT at
# $x + \varepsilon$, so the statistics that training leaves describe other weights than
# the $x$ being evaluated, and they lag behind in any case (momentum 0.1). Before each
# evaluation `models.reestimate_bn` recomputes them at $x$ as the plain average over the
# training set, as the authors do before every test. The table above gives both
# validation errors; at this small budget the two are close at the end, but at the
# first record, after {glue:text}`eval_every:.0f` gradient evaluations, Entropy-SGD's
# statistics as trained give {glue:text}`first_stale_entropysgd:.1f` % and the
# re-estimated ones {glue:text}`first_error_entropysgd:.1f` %.
#
# ## Pitfalls
#
# ### Outer momentum at learning rate 1 diverges
#
# Sec. 7.4 puts Nesterov momentum 0.9 on the outer update. With the authors'
# `outer="lua"` step at $\eta = 1$, the momentum buffer grows to about ten times the
# pull $x - \langle y \rangle$ and every update overshoots. The same Entropy-SGD run with
# `momentum=0.9` ({numref}`fig-ch12-pitfall`) learns at first, then its loss climbs and
# it ends at chance level: validation error {glue:text}`pitfall_final_error:.1f` % after
# {glue:text}`pitfall_budget:.0f` gradient evaluations. Either keep the outer momentum
# at 0 with $\eta = 1$ (the authors' code, used here) or, following Sec. 7.4, use a far
# smaller outer learning rate.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training loss of Entropy-SGD at learning rate 1 with outer='lua': without outer momentum (red circles: the run of the figure above, over its budget) and with the outer Nesterov momentum 0.9 of Sec. 7.4 (orange squares). The dotted line is twice the loss of a uniform guess. Look at the orange curve: it learns at first, then climbs above the line and settles at chance level.", "name": "fig-ch12-pitfall"}}
ch12.figure_pitfall(R)
plt.show()

# %% [markdown]
# ### The noise convention: $\beta_{\rm ex}^{-1} = 2\cdot 10^{-8}$
#
# The inner step of (32) adds noise of standard deviation
# $\sqrt{\eta_y\,\beta_{\rm ex}^{-1}}$. Sec. 7.1 prints $\beta_{\rm ex}^{-1} = 10^8$,
# noise of standard deviation about 3000 on every weight at every inner step; the
# authors' code adds $\varepsilon\sqrt{2\eta_y}$ with $\varepsilon = 10^{-4}$, which is
# $\beta_{\rm ex}^{-1} = 2\varepsilon^2 = 2\cdot 10^{-8}$ in the convention of
# `deeprelax.train.optim` (the [Errata](../errata.md) page and {doc}`08_mnist` say more).
# Measured on one inner step of a zero loss (the claims check our optimizer's noise
# against the authors' update, within {glue:text}`noise_tol_pct:.2f` %, five standard
# errors of the measured std):

# %% tags=["hide-input"]
ch12.noise_frame(R)

# %% [markdown]
# The printed constant cannot be what was run: one Entropy-SGD update of the recipe
# with $\beta_{\rm ex}^{-1} = 10^8$ leaves the net at
# {glue:text}`printed_error:.1f` % validation error, chance level.
#
# ### Two inner-loop forms: `inner_form="authors"`
#
# With inner momentum $\delta' > 0$ the inner step can be read two ways:
# `inner_form="paper"` (the default) applies Nesterov momentum to the whole direction of
# (32), gradient plus coupling $(y-x)/\gamma$; `inner_form="authors"` (the authors' Lua
# code) applies it to the minibatch gradient only and adds the coupling, weight decay
# and noise after it. Without inner momentum the two are the same arithmetic: one step
# from the same weights and minibatches gives identical weights. With $\delta' = 0.9$
# they differ (by {glue:text}`gap_forms_momentum:.1e` in the largest weight after one
# step here, and more as the coupling grows). Table 1's numbers came from the authors'
# code, so the runs here use `"authors"`.
#
# ## Choices we made
#
# - **LeNet on a subset**, raw pixels 0–255 as in the book's Table 1 runs, batches of
#   128, one seed; all optimizers start from the same initial weights and see the same
#   sequence of minibatches.
# - **Constant learning rates**, each Table 1 schedule's first value: the runs are
#   shorter than any schedule's first step.
# - **The budget in gradient evaluations** (Remark 22). The authors' Entropy-SGD code
#   also spends one gradient at $x$ per update that it discards; `deeprelax.train.optim`
#   does not, so an update costs $L$.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch12.claims(R))
