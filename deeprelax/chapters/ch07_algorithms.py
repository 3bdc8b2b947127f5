"""Sec. 7 on a one-dimensional loss: the optimizers' update directions against the PDEs.

One step of each ``deeprelax.optim`` optimizer with η = 1, no momentum and no scoping moves
x by its *update direction* d(x) = x − x⁺. Run on many independent copies of a 1-D loss
at once (the optimizers act element-wise, so a tensor of K·M numbers is K·M chains), the
mean of d over the copies is compared with the PDE object the algorithm discretises:

- Entropy-SGD (eqs. (32)–(33)): d = (x − ⟨y⟩)/γ → ∇f_γ(x), the gradient of the local
  entropy (Lemma 1, Theorem 5), i.e. of the Cole–Hopf solution of viscous HJ (eq. (11)).
  The inner chain is Euler–Maruyama for dy = −∇_y H ds + √(β_ex⁻¹) dW, whose invariant law
  is ∝ exp(−2H/β_ex⁻¹); it matches the local entropy at β = 2/β_ex⁻¹ (the factor 2 of the
  noise convention discussed in the Sec. 4 chapter).
- HJ (Sec. 7.2, both forms): d → (x − prox_γ(x))/γ = ∇u(x, γ), the gradient of the
  Hopf–Lax solution (eqs. (HL), (14)) when the inner descent converges to the proximal
  point — guaranteed when H(x, ·) = f + |x − ·|²/2γ is convex, i.e. γ < 1/max(−f'').
- HEAT (eq. (35)): d = mean of ∇f(x + ε) → ∇(G_γ * f)(x), the heat equation (eq. (23)).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from .. import landscapes, optim
from ..heat import heat
from ..hopf_lax import prox
from ..local_entropy import local_entropy
from ..params import Params, knob


@dataclass(frozen=True)
class Section7Params(Params):
    """Knobs of the Sec. 7 chapter (1-D loss of Figure 1)."""

    gamma: float = knob(0.02, lo=1e-4, hi=0.5, doc="γ of Entropy-SGD and HJ")
    gamma_heat: float = knob(0.05, lo=1e-4, hi=1.0, doc="perturbation variance γ of HEAT")
    beta: float = knob(10.0, lo=0.1, hi=1e4, doc="β of the local entropy; β_ex⁻¹ = 2/β")
    lr_y: float = knob(1e-3, lo=1e-6, hi=0.01, doc="inner step η_y (stable below 2/max H'')")
    L: int = knob(1000, lo=1, hi=100_000, doc="inner steps of Entropy-SGD and HJ")
    L_heat: int = knob(200, lo=1, hi=100_000, doc="perturbations per HEAT update")
    chains: int = knob(400, lo=1, hi=100_000, doc="independent copies per point x")
    n_x: int = knob(25, lo=3, hi=1001, doc="points x in [-x_max, x_max]")
    x_max: float = knob(2.0, lo=0.1, hi=3.0, doc="half-width of the compared range")
    alpha: float = knob(0.99, lo=0.0, hi=0.999, doc="Entropy-SGD's average weight (the paper: "
                                                     "0.75; a longer average, same mean)")
    seed: int = knob(0, lo=0, doc="random seed")

    PRESETS = {"fast": dict(), "paper": dict(chains=4000, L=3000, n_x=81, L_heat=1000)}


def _closure(opt: torch.optim.Optimizer, w: torch.Tensor, f: landscapes.Landscape):
    """Closure that writes ∇f at the current points into ``w.grad`` (no minibatch noise)."""
    def closure():
        x = w.detach().numpy()[:, None]
        w.grad = torch.from_numpy(f.grad(x)[:, 0])
        return torch.from_numpy(f.value(x))
    return closure


def direction(algorithm: str, x: np.ndarray, P: Section7Params, **hyper) -> np.ndarray:
    """Update directions d = x − x⁺ of one step, shape (len(x), chains), float64."""
    torch.manual_seed(P.seed)
    f = landscapes.figure1()
    x0 = torch.tensor(np.repeat(np.asarray(x, float), P.chains), dtype=torch.float64)
    w = torch.nn.Parameter(x0.clone())
    common = dict(lr=1.0, momentum=0.0, gamma_decay=0.0)
    if algorithm == "entropy-sgd":
        opt = optim.EntropySGD([w], gamma=P.gamma, L=P.L, lr_y=P.lr_y, alpha=P.alpha,
                               beta_ex_inv=2.0 / P.beta, **common, **hyper)
    elif algorithm == "hj":
        opt = optim.HJ([w], gamma=P.gamma, L=P.L, lr_y=P.lr_y, **common, **hyper)
    elif algorithm == "heat":
        opt = optim.HEAT([w], gamma=P.gamma_heat, L=P.L_heat, **common, **hyper)
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    opt.step(_closure(opt, w, f))
    return (x0 - w.detach()).numpy().reshape(len(x), P.chains)


def references(x: np.ndarray, P: Section7Params, n_grid: int = 14001) -> dict[str, np.ndarray]:
    """∇f, ∇ of Cole–Hopf f_γ (β), of Hopf–Lax u(·, γ) and of G_γ * f at the points x."""
    f = landscapes.figure1()
    xs = np.linspace(-3.5, 3.5, n_grid)
    fv = f.on_grid(xs)
    ch = np.gradient(local_entropy(fv, xs, P.gamma, P.beta), xs)
    hl = (xs - prox(fv, xs, P.gamma)) / P.gamma
    ht = np.gradient(heat(fv, xs, P.gamma_heat, 1.0), xs)
    return {"grad_f": f.grad(np.asarray(x, float)[:, None])[:, 0],
            "cole_hopf": np.interp(x, xs, ch), "hopf_lax": np.interp(x, xs, hl),
            "heat_smoothed": np.interp(x, xs, ht)}


def convexity_bound() -> float:
    """1/max(−f'') for the Figure 1 loss: H(x, ·) is convex for γ below it (Remark 6)."""
    xs = np.linspace(-3.5, 3.5, 14001)
    return 1.0 / max(1e-12, -landscapes.figure1().hess(xs[:, None])[:, 0, 0].min())


def compute(P: Section7Params) -> dict[str, np.ndarray]:
    """All directions (mean and standard error over chains) and their PDE references."""
    x = np.linspace(-P.x_max, P.x_max, P.n_x)
    out = {"x": x, **references(x, P)}
    short = dataclasses.replace(P, L=5, chains=1)      # deterministic: one chain suffices
    runs = {"entropy-sgd": direction("entropy-sgd", x, P),
            "hj": direction("hj", x, dataclasses.replace(P, chains=1)),
            "hj_remark21": direction("hj", x, dataclasses.replace(P, chains=1),
                                     form="remark21"),
            "hj_L5": direction("hj", x, short),
            "hj_remark21_L5": direction("hj", x, short, form="remark21"),
            "heat": direction("heat", x, P)}
    for name, d in runs.items():
        out[name] = d.mean(1)
        if d.shape[1] > 1:
            out[name + "_se"] = d.std(1, ddof=1) / np.sqrt(d.shape[1])
    return out
