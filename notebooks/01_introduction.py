# %% [markdown]
# # The paper's Figure 1: smoothing a non-convex loss
#
# The paper's first figure {cite}`chaudhari2018deep` shows, on a one-dimensional loss
# $f$, what the two PDE relaxations do. The viscous Hamilton–Jacobi equation
#
# $$ u_t = -\tfrac12 |\nabla u|^2 + \tfrac{\beta^{-1}}{2}\,\Delta u,
#    \qquad u(x,0)=f(x), $$
#
# is solved exactly by the Cole–Hopf formula
# $u(x,t) = -\beta^{-1}\log\big(G_{\beta^{-1}t} * e^{-\beta f}\big)(x)$ (eq. (11):
# $u(\cdot,\gamma)$ is the *local entropy* $f_\gamma$), and its inviscid limit
# $u_t = -\tfrac12|\nabla u|^2$ by the Hopf–Lax formula
# $u(x,t) = \inf_y \{ f(y) + |x-y|^2/2t \}$ (eq. (HL)). A density of initial guesses is
# then carried by the Fokker–Planck equation of
# $dx = -\nabla\phi(x)\,ds + \beta_{\rm fp}^{-1/2}\,dW$, with $\phi = f$ (SGD) and
# $\phi = u(\cdot, T)$ (the relaxed dynamics).
#
# The computations are in `deeprelax.chapters.ch01_introduction`: `compute` solves both
# PDEs (Cole–Hopf by a log-domain convolution, Hopf–Lax by the lower envelope of
# parabolas) and the three Fokker–Planck runs (a monotone, mass-conserving finite-volume
# scheme); `claims` turns the caption into checks.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, seconds) or "paper" (finer grid)
device = "cpu"    # unused here: this chapter is NumPy on the CPU
T = None          # smoothing time (None: the preset's value)
beta = None       # inverse viscosity of viscous HJ (None: the preset's)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch01_introduction as ch01
from deeprelax.book.claims import report

P = ch01.Params.from_notebook(globals())
R = ch01.compute(P)
glue_all(ch01.prose_numbers(R))
P.frame()

# %% [markdown]
# ## The figure
#
# The loss has a wide global valley at $x=0.5$, a narrow local valley at
# $x\approx-1.19$ and two shallow ones. The initial density sits over the narrow valley.
# {numref}`fig-ch01-smoothing` is our version of the paper's Figure 1.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 1, recomputed. Top: the loss $f$ (black), its viscous-HJ smoothing $u(\\cdot,T)$ (red, convex on the plotted range) and its non-viscous HJ smoothing (blue, which keeps the narrow local minimum). Bottom: the initial density (light grey) and the terminal densities of the Fokker\u2013Planck equation with drift $-f'$ (SGD, dark grey: stuck in the narrow valley), $-u'_{\\rm viscous}$ (red) and $-u'_{\\rm HJ}$ (blue); look at where the mass ends up.", "name": "fig-ch01-smoothing"}}
ch01.figure_1(R)
plt.show()

# %% [markdown]
# The caption of the paper's Figure 1 makes four statements that we turn into numbers:
#
# 1. $u_{\text{viscous HJ}}(\cdot, T)$ is convex on the plotted range: its smallest
#    second difference there is {glue:text}`min_uxx_viscous:.3f`, positive;
# 2. its minimiser, at {glue:text}`x_min_viscous:.3f`, is close to the global
#    minimiser of $f$ at {glue:text}`x_global_f:.3f`;
# 3. the SGD terminal density stays in the local minimum it started in: it keeps
#    {glue:text}`sgd_mass_start_well:.1%` of the mass in that well's basin of attraction;
# 4. the relaxed terminal density concentrates in the global valley:
#    {glue:text}`viscous_mass_global_well:.1%` of the mass (viscous HJ) and
#    {glue:text}`hj_mass_global_well:.1%` (HJ) reach it, against
#    {glue:text}`sgd_mass_global_well:.1%` for SGD.
#
# The finite-volume scheme conserves mass to {glue:text}`mass_error:.1e`.
#
# The non-viscous solution is not convex: the Hopf–Lax formula keeps the value and the
# location of the narrow local minimum for small $T$ (Sec. 6.1), and its flat shelf
# there holds back a little of the mass, as the caption says.
#
# ## Both solutions converge to $f$ as $t \to 0$
#
# For a smooth $f$, Cole–Hopf gives
# $u(\cdot,t) - f = t\,(-\tfrac12|f'|^2 + \tfrac{\beta^{-1}}{2}f'') + O(t^2)$, so the
# sup-error should fall like $t$. For Hopf–Lax the exact bound
# $0 \le f - u(\cdot,t) \le t\,\mathrm{Lip}(f)^2/2$ holds for every $t$ (take $y=x$ for
# the first inequality; $f(y) \ge f(x) - L|x-y|$ for the second). We measure both on a
# fine grid ({numref}`fig-ch01-convergence`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Sup-error of $u(\\cdot,t)$ against $f$ on the plotted range as $t \\to 0$. Cole\u2013Hopf (circles) falls at the fitted order given in the legend, close to 1; Hopf\u2013Lax (squares) stays under the bound $t\\,L^2/2$ (dashed). Hopf\u2013Lax errors that are exactly zero on the grid (the smallest $t$) are not drawn.", "name": "fig-ch01-convergence"}}
ch01.figure_convergence(R)
plt.show()

# %% [markdown]
# The Cole–Hopf error falls with fitted order {glue:text}`ch_order:.2f` in $t$, and the
# Hopf–Lax error stays under its bound (it is exactly zero on the grid for the smallest
# $t$, where moving to a neighbouring grid point costs more than it gains).
#
# (errata-fp26-figure1)=
# ## Choices we made
#
# - **The loss** is ours: the paper does not give its formula. It is a sum of Gaussian
#   wells on a quadratic envelope (`deeprelax.pde.landscapes.figure1`), with a wide global
#   valley and a narrow local one, as in the figure.
# - **Two temperatures.** The smoothing uses $\beta = 2$; the Fokker–Planck runs use a
#   smaller noise, $\beta_{\rm fp}=20$, so that the SGD density is visibly metastable
#   over the horizon $T_{\rm fp}=8$. The paper does not state either value.
# - **Sign of the drift.** Eq. (26) prints
#   $\rho_t = -\nabla\cdot(\nabla u\,\rho) + \Delta\rho$, whose drift $+\nabla u$ would
#   climb $u$. The paper's Figure 1 shows densities descending $u$, so here we use the drift
#   $-\nabla u$, i.e.
#   $\rho_t = \nabla\cdot(\nabla u\,\rho) + \tfrac{\beta_{\rm fp}^{-1}}{2}\Delta\rho$, the
#   Fokker–Planck equation (FP) of Sec. 2.3 with $f$ replaced by $u$. The chapter on Sec. 5 reads
#   (26) differently, for another purpose: there the density is that of the controlled
#   SDE (CSGD), whose drift is $-\nabla f - \nabla u$. Both readings are on the
#   {doc}`../errata` page.
# - **Boundaries.** The PDEs are solved on $[-3.5, 3.5]$ and shown on $[-2.5, 2.5]$; the
#   Cole–Hopf integral is truncated to the box, which only affects points near its edges.
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch01.claims(R))
