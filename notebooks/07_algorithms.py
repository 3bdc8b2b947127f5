# %% [markdown]
# # Sec. 7: the algorithms, and what one update computes
#
# Section 7 of {cite}`chaudhari2018deep` turns the PDEs into training algorithms:
# Entropy-SGD {cite}`chaudhari2017entropy` (the Euler–Maruyama discretisation (32)–(33) of the
# two-time-scale system of Sec. 4), HJ (its noise-free variant, Sec. 7.2, with the
# equivalent form (34) of Remark 21) and HEAT (eq. (35)), plus Nesterov momentum on the
# outer update (Sec. 7.4) and the scoping of $\gamma$ (Sec. 7.5). `deeprelax.optim` implements
# them as closure-based `torch.optim` optimizers; the closure is called $L$ times per update,
# each time on a fresh minibatch:
#
# ```python
# opt = optim.EntropySGD(model.parameters(), lr=1.0, gamma=1e4, L=20, outer="lua",
#                        momentum=0.0, inner_momentum=0.9)
# def closure():
#     xb, yb = next(batches)
#     opt.zero_grad()
#     loss = F.cross_entropy(model(xb), yb)
#     loss.backward()
#     return loss
# opt.step(closure)       # L gradient evaluations, one update of the weights x
# ```
#
# This chapter checks, on the one-dimensional loss of Figure 1, that one update of each
# optimizer moves $x$ along the gradient of the PDE solution it stands for. With step
# $\eta=1$, no momentum and no scoping, the update direction is $d(x) = x - x^+$. The
# optimizers act element-wise, so a tensor holding many copies of the 1-D problem runs many
# independent chains at once; we average $d$ over them and compare with
#
# - **Entropy-SGD**: $d = (x-\langle y\rangle)/\gamma \to \nabla f_\gamma(x)$, the gradient of
#   the local entropy (Lemma 1), computed by the Cole–Hopf formula (eq. (11));
# - **HJ**: $d \to (x-\mathrm{prox}_{\gamma f}(x))/\gamma = \nabla u(x,\gamma)$ of the
#   Hopf–Lax formula (eqs. (HL), (14));
# - **HEAT**: $d = \frac1L\sum_i \nabla f(x+\varepsilon_i) \to \nabla (G_\gamma * f)(x)$ (eq. (23)).
#
# The unit tests (`tests/test_optim.py`) check single updates against hand computations
# and the same limits on quadratics, where they are closed forms.

# %% tags=["parameters"]
preset = "fast"   # "fast" (CPU, seconds) or "paper" (more chains, longer inner loops)
device = "cpu"    # unused: these are small CPU computations
chains = None     # independent copies per point x; None keeps the preset's value
L = None          # inner steps of Entropy-SGD and HJ; None keeps the preset's value

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from deeprelax.book import glue

from deeprelax.chapters import ch07_algorithms as section7
from deeprelax.chapters.ch07_algorithms import Section7Params

torch.set_num_threads(1)   # small problems; one thread is fastest on the shared machines
P = Section7Params.from_preset(preset, chains=chains, L=L)
P

# %% [markdown]
# ## Parameters
#
# Entropy-SGD's inner chain is Euler–Maruyama for $dy = -\nabla_y H\,ds + \sqrt{\beta_{\rm ex}^{-1}}\,dW$
# with $H(x,y) = f(y) + |x-y|^2/2\gamma$. Its invariant law is proportional to
# $\exp(-2H/\beta_{\rm ex}^{-1})$, so it samples the Gibbs measure of Lemma 1 at
# $\beta = 2/\beta_{\rm ex}^{-1}$ (the factor 2 of the noise convention discussed in the
# Sec. 4 chapter); we set $\beta_{\rm ex}^{-1} = 2/\beta$. We take $\gamma$ below
# $1/\max(-f'')$, where $H(x,\cdot)$ is convex: the inner chain then mixes exponentially
# fast (Remark 6) and the gradient descent of HJ finds the proximal point itself rather
# than a local minimiser of $H$. A small inner step $\eta_y$ keeps the discretisation bias
# of the invariant law small. The average $\langle y\rangle$ uses $\alpha = 0.99$ instead of
# the paper's 0.75: the mean is the same, the variance smaller.

# %%
bound = section7.convexity_bound()
glue("convexity_bound", float(bound), display=False)
print(f"H(x, .) convex for gamma < {bound:.4f}; gamma = {P.gamma}, beta_ex^-1 = {2 / P.beta}")
assert P.gamma < bound

# %%
r = section7.compute(P)
fig, axes = plt.subplots(1, 3, figsize=(15, 3.9), sharex=True)
panels = [("Entropy-SGD", "entropy-sgd", "cole_hopf", r"Cole–Hopf $\nabla f_\gamma$"),
          ("HJ (both forms, converged)", "hj", "hopf_lax", r"Hopf–Lax $\nabla u(\cdot,\gamma)$"),
          ("HEAT", "heat", "heat_smoothed", r"$\nabla(G_\gamma * f)$")]
xf = np.linspace(-P.x_max, P.x_max, 801)
ref_fine = section7.references(xf, P)
for ax, (title, key, ref, label) in zip(axes, panels):
    ax.plot(xf, ref_fine["grad_f"], color="0.6", ls="--", lw=1, label=r"$\nabla f$")
    ax.plot(xf, ref_fine[ref], color="C0", lw=1.5, label=label)
    se = r.get(key + "_se", np.zeros_like(r[key]))
    ax.errorbar(r["x"], r[key], yerr=2 * se, fmt="o", ms=3.5, color="C3",
                label="optimizer, mean d(x)" + (" ± 2 s.e." if key != "hj" else ""))
    if key == "hj":
        ax.plot(r["x"], r["hj_remark21"], "x", color="k", ms=5, label="form (34)")
        ax.plot(r["x"], r["hj_L5"], "s", color="C2", ms=3, label="L = 5, form (32)–(33)")
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.legend(fontsize=7)
axes[0].set_ylabel("update direction")
plt.tight_layout()
plt.show()


# %% [markdown]
# ## The claims, measured
#
# For the stochastic methods we measure the largest deviation from the PDE gradient in
# units of the Monte Carlo standard error, and check that the comparison can fail: the
# methods' directions are much farther from $\nabla f$ than from their PDE gradient. For
# HJ the two forms must coincide once the inner loop has converged (Remark 21 with
# Lemma 1's two expressions for $\nabla u$), and the Hopf–Lax gradient is known up to the
# grid spacing divided by $\gamma$.

# %%
def rms(a):
    return float(np.sqrt(np.mean(a ** 2)))


claims = {
    "esgd_z": float(np.max(np.abs(r["entropy-sgd"] - r["cole_hopf"]) / r["entropy-sgd_se"])),
    "esgd_vs_grad_f": rms(r["entropy-sgd"] - r["grad_f"]) / rms(r["entropy-sgd"] - r["cole_hopf"]),
    "heat_z": float(np.max(np.abs(r["heat"] - r["heat_smoothed"]) / r["heat_se"])),
    "heat_vs_grad_f": rms(r["heat"] - r["grad_f"]) / rms(r["heat"] - r["heat_smoothed"]),
    "hj_forms": float(np.max(np.abs(r["hj"] - r["hj_remark21"]))),
    "hj_vs_hopf_lax": float(np.max(np.abs(r["hj"] - r["hopf_lax"]))),
    "hj_forms_L5": float(np.max(np.abs(r["hj_L5"] - r["hj_remark21_L5"]))),
}
for key, value in claims.items():
    print(f"{key:>16s}: {value:.3g}")
    glue(key, value, display=False)

assert claims["esgd_z"] < 4.5            # 25 points: 4.5 s.e. is a ~1e-4 false alarm each
assert claims["esgd_vs_grad_f"] > 3
assert claims["heat_z"] < 4.5
assert claims["heat_vs_grad_f"] > 3
assert claims["hj_forms"] < 1e-9
assert claims["hj_vs_hopf_lax"] < 2 * 0.0005 / P.gamma + 1e-3   # grid spacing / gamma
assert claims["hj_forms_L5"] > 1.0

# %% [markdown]
# Entropy-SGD's mean direction lies within {glue:text}`esgd_z:.1f` standard errors of the
# Cole–Hopf gradient of the local entropy at every point, and is
# {glue:text}`esgd_vs_grad_f:.0f` times farther (in RMS) from $\nabla f$: at this small
# $\gamma$ the local entropy rounds off and shifts the extremes of $\nabla f$ around the
# narrow wells ($x\approx-1.2,\,-0.35,\,1.6$) and follows it in the wide valley. HEAT
# follows the Gaussian smoothing of $\nabla f$ to {glue:text}`heat_z:.1f` standard errors
# ({glue:text}`heat_vs_grad_f:.0f` times closer to it than to $\nabla f$); with its
# variance $\gamma = 0.05$ it flattens the narrow wells almost entirely. HJ's two forms
# agree to {glue:text}`hj_forms:.1e` once the inner loop has converged and match the
# Hopf–Lax gradient to {glue:text}`hj_vs_hopf_lax:.3f`, the accuracy of the grid
# minimisation. After only $L = 5$ inner steps they are different algorithms (they differ
# by up to {glue:text}`hj_forms_L5:.1f`): the form (32)–(33) returns $(x-y_5)/\gamma$,
# which after five steps of size $\eta_y$ against the pull $(y-x)/\gamma$ is about
# $1-(1-\eta_y/\gamma)^5 \approx 0.23$ times $\nabla f$, while (34) returns the gradient at
# $y_4$, close to $\nabla f(x)$.
#
# ## Choices we made
#
# - **The same loss as Figure 1** (`landscapes.figure1`), whose wells have curvatures
#   between about −35 and 80; $\gamma = 0.02$ lies below the convexity bound
#   {glue:text}`convexity_bound:.4f`.
# - **$\alpha = 0.99$** for the exponential average in this chapter (0.75 in the
#   experiments, as the paper).
# - **Gradient without minibatch noise.** Here $\nabla f$ is exact; the noise of the inner
#   chain is only the extrinsic $\beta_{\rm ex}^{-1}$. In training, minibatch gradients add
#   the intrinsic noise $\beta_{\rm mb}^{-1}$ of Sec. 7.1.
# - **The HJ update of form (34)** uses the last gradient the inner loop computed,
#   $\nabla f(x - y^{L-1})$, so both forms cost $L$ back-propagations per update
#   (Remark 22); read literally, (34) would reset $y$ to 0 and step with $\nabla f(x)$.
