"""The paper's training algorithms (Sec. 7) as closure-based ``torch.optim`` optimizers.

Every optimizer here calls ``closure()`` ``L`` times per ``step`` (``L`` = back-props per
weight update, Remark 22); the closure must draw a *fresh* minibatch, zero the gradients,
compute the loss, call ``backward()`` and return the loss. The book's settings are one
line, a named recipe per Table 1 setting (:data:`RECIPES`; ``"mnist"``: mnistfc and LeNet,
``"cifar10"``: All-CNN), with the first learning rate of the Table 1 schedule::

    opt = EntropySGD.recipe(model.parameters(), "mnist")   # or HJ.recipe, HEAT.recipe
    def closure():
        xb, yb = next(batches)
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        return loss
    for _ in range(n_updates):
        opt.step(closure)      # L gradient evaluations, one update

Algorithms (x: the weights; y: the inner variable; γ: the paper's γ, i.e. the time of
the PDE, so the inner coupling is (y − x)/γ and HEAT's perturbation variance is γ):

- :class:`EntropySGD`: eqs. (32)–(33) with the exponential average ⟨y⟩ (Sec. 7.1);
- :class:`HJ`: non-viscous HJ (Sec. 7.2), the last inner iterate and no noise; with
  ``form="remark21"`` the equivalent system (34) of Remark 21;
- :class:`HEAT`: eq. (35), the average of L gradients at Gaussian perturbations (Sec. 7.3);
- :class:`NesterovSGD`: the SGD baseline, eq. (7) with Nesterov momentum.

Common options: Nesterov momentum δ on the *outer* update (Sec. 7.4; ``momentum``), and
scoping γ_k = γ₀(1 − γ₁)^k with k the number of outer steps, i.e. the paper's exponent
k/L counted in inner steps (Sec. 7.5; ``gamma``, ``gamma_decay``).

Two semantics for the outer step of Entropy-SGD/HJ (``outer``):

- ``"local-entropy"`` (the paper, eq. (33)): x ← x − η γ⁻¹ (x − ⟨y⟩), the gradient of the
  local entropy f_γ by Lemma 1;
- ``"lua"`` (the authors' code): x ← x − η (x − ⟨y⟩), no γ⁻¹, so η is of order 1. Their
  code also puts Nesterov momentum on the *inner* steps (``inner_momentum``, reset every
  outer step) and none on the outer one; the notes of this project record that outer
  Nesterov 0.9 with η = 1 diverges. Both are only choices of η and δ: with ``outer="lua"``
  the update equals the paper's with η_paper = η γ_k.

Two semantics for the *inner* step of Entropy-SGD/HJ (``inner_form``); they differ only
when the inner Nesterov momentum δ′ (``inner_momentum``) is > 0 — with δ′ = 0 they are
the same arithmetic, bit for bit. Step j of outer step k (y₀ = x, the buffer v reset to 0
at every outer step in both; ξ_j standard normal):

- ``"paper"`` (the default): Nesterov on the whole inner direction of (32), the gradient
  of f(y) + |y − x|²/2γ_k plus weight decay:
  d = ∇f_mb(y) + wd·y + (y − x)/γ_k,  v ← δ′v + d,  y ← y − η_y (d + δ′v) + σ ξ_j;
- ``"authors"`` (the authors' Lua ``entropyoptim.lua``): Nesterov on the raw minibatch
  gradient only; coupling, weight decay and noise are added after it:
  g = ∇f_mb(y),  v ← δ′v + g,  y ← y − η_y [g + δ′v + wd·y + (y − x)/γ_k] + σ ξ_j.

In both σ = √(η_y β_ex⁻¹), the convention of (32). The Lua code writes the noise as
ε/√(η_y/2)·ξ inside the bracket, i.e. std ε√(2η_y) per step: its ε = 1e-4 is
β_ex⁻¹ = 2ε² = 2e-8 here. Gradient count: the Lua code (and the PyTorch Entropy-SGD)
also evaluates one minibatch gradient at x before the inner loop and discards it, and the
authors' research code one more after the update (L+1, L+2 per update); here an update
costs L gradients in either form (``grads_per_step``, Remark 22). The Lua scoping
g₀(1+g₁)^(k+1) is 1/γ_k here with γ₀ = 1/(g₀(1+g₁)) and γ₁ = g₁/(1+g₁).

As in ``torch.optim``, a parameter whose ``.grad`` is ``None`` after the first closure call
of a step (``requires_grad=False``, or not used by the loss) is left as it is for that step;
HEAT perturbs only parameters that require a gradient. ``state_dict()`` holds the noise
generator's state when one is given (``generator``), so that save → load → continue
repeats the uninterrupted run exactly (the default ``torch.randn`` draws from torch's
global generator, whose state is the caller's to save).

Settings that cannot work are refused with a :class:`~deeprelax.params.ParamError`
(:func:`stable_fraction`): an inner step with η_y/γ₀ above the bound (the coupling alone
then amplifies y − x at every inner step), at construction; an outer step of Entropy-SGD/HJ
that moves x a fraction h = η/γ₀ (``"local-entropy"``) or h = η (``"lua"``) of the way to
⟨y⟩ with h above the bound, from the second ``step`` on (one step, e.g. reading the
direction x − x⁺ at η = 1, is allowed); 1 < h ≤ the bound (x lands past ⟨y⟩) gives a
warning. The bounds are necessary, not sufficient (γ_k shrinks with scoping, so the ratios
grow; chapter 12 shows a run with h = 1 and outer momentum 0.9 that diverges).

Hyper-parameters ``lr`` may be a Python float or a 0-dim tensor (so that a CUDA graph can
capture a step and the caller changes the tensor in place); every other per-step quantity
(γ_k, the step count) lives in device tensors, so a step never synchronises with the host.
Random draws go through ``noise(tensors) -> list of standard normals`` (default
``torch.randn`` with ``generator``), which the multi-seed engine replaces by per-seed
streams. Entropy-SGD, HJ and HEAT use ``p.grad`` as scratch space during a step (the
closure recomputes it at every call).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer

from deeprelax.params import ParamError

NoiseFn = Callable[[list[Tensor]], list[Tensor]]

#: The two inner-step forms of Entropy-SGD/HJ (``inner_form``; see the module docstring).
INNER_FORMS = ("paper", "authors")   # inner Nesterov on the whole direction / on ∇f_mb only

_LUA = dict(lr=1.0, momentum=0.0, inner_momentum=0.9, outer="lua", inner_form="authors",
            lr_y=0.1)
_MNIST = dict(weight_decay=0.0, gamma_decay=1e-3)
_CIFAR = dict(weight_decay=1e-3)
#: The book's settings of each algorithm per Table 1 setting (``recipe``): ``"mnist"``
#: (mnistfc and LeNet, Secs. 8.2.1–8.2.2) and ``"cifar10"`` (All-CNN, Sec. 8.3); ``lr`` is
#: the first value of the Table 1 schedule. Their sources are in
#: ``deeprelax.train.experiments``: the authors' code for Entropy-SGD/HJ (outer and inner
#: steps, γ₀ = 1/g₀, the noise β_ex⁻¹ = 2ε²), Secs. 7.1–7.5 for L, η_y, α, HEAT and the
#: momentum. Scoping shrinks γ at every update: a run much longer than LeNet's 100
#: effective epochs needs a smaller ``gamma_decay`` (mnistfc's HJ cell: 5e-4), so that
#: η_y/γ stays below 2 (``experiments.inner_step_ratio``).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "entropy-sgd": {
        "mnist": dict(_LUA, **_MNIST, gamma=1e4, L=20, alpha=0.75, beta_ex_inv=2e-8),
        "cifar10": dict(_LUA, **_CIFAR, gamma=1 / 0.03, gamma_decay=1e-4, L=20, alpha=0.75,
                        beta_ex_inv=2e-8)},
    "hj": {
        "mnist": dict(_LUA, **_MNIST, gamma=1e4, L=5, form="prox"),
        "cifar10": dict(_LUA, **_CIFAR, gamma=1 / 0.03, gamma_decay=1e-4, L=5, form="prox")},
    "heat": {
        "mnist": dict(_MNIST, lr=0.1, gamma=1e-4, L=20, momentum=0.9),
        "cifar10": dict(_CIFAR, lr=0.1, gamma=1e-4, gamma_decay=1e-3, L=20, momentum=0.9)},
    "sgd": {
        "mnist": dict(lr=0.1, momentum=0.9, weight_decay=0.0),
        "cifar10": dict(lr=0.1, momentum=0.9, weight_decay=1e-3)},
}


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ParamError(msg)


def _lr_ok(lr) -> bool:
    if isinstance(lr, Tensor):
        return lr.numel() == 1
    return isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr >= 0


def stable_fraction(delta: float) -> float:
    """Largest h for which x ← x − h (x − x*) with Nesterov momentum δ (Sec. 7.4) converges.

    With e = x − x* and u = η v the momentum buffer, one step is u ← δu + h e,
    e ← e − h e − δu: the characteristic polynomial λ² − (1+δ)(1−h)λ + δ(1−h) has both roots
    inside the unit circle iff 0 < h < 2(1 + δ)/(1 + 2δ) (2 without momentum; 1.357 at
    δ = 0.9). h > 1 moves x past x* even without momentum. It applies to the outer step of
    Entropy-SGD/HJ with x* = ⟨y⟩: in a direction of curvature λ ≥ 0 of a quadratic f the
    converged inner loop gives ⟨y⟩ = x/(1 + γλ), so the outer step is this map with
    h = (η/γ)·γλ/(1 + γλ) → η/γ for stiff directions (γλ ≫ 1); and to the inner coupling,
    y ← y − η_y (y − x)/γ, with h = η_y/γ.
    """
    return 2.0 * (1.0 + delta) / (1.0 + 2.0 * delta)


def _pick(xs: list, idx: list[int]) -> list:
    """The entries ``idx`` of ``xs`` (``xs`` itself when nothing is left out)."""
    return xs if len(idx) == len(xs) else [xs[i] for i in idx]


def _scaled_sub_(xs: list[Tensor], ds: list[Tensor], lr) -> None:
    """xs ← xs − lr·ds for a float or 0-dim tensor lr (in place on xs only)."""
    if isinstance(lr, Tensor):
        torch._foreach_sub_(xs, torch._foreach_mul(ds, lr))
    else:
        torch._foreach_add_(xs, ds, alpha=-float(lr))


def _nesterov_(bufs: list[Tensor], ds: list[Tensor], delta: float) -> list[Tensor]:
    """Nesterov momentum (PyTorch form): v ← δv + d; returns d + δv (Sec. 7.4)."""
    torch._foreach_mul_(bufs, delta)
    torch._foreach_add_(bufs, ds)
    return torch._foreach_add(ds, bufs, alpha=delta)


class _Relaxation(Optimizer):
    """Shared machinery: closure calls, outer Nesterov step, γ scoping (Sec. 7.4–7.5).

    γ_k and the step count are float64 device tensors (exact scoping; 0-dim tensors do
    not change the dtype of the float32 updates they multiply).
    """

    name = "?"
    draws_noise = False  # takes a ``noise`` function (the engine's per-seed streams)

    def __init__(self, params, defaults: dict, L: int, noise: NoiseFn | None,
                 generator: torch.Generator | None):
        _check(isinstance(L, int) and not isinstance(L, bool) and L >= 1,
               f"L (back-props per update, Remark 22) must be an integer >= 1, got {L!r}")
        _check(_lr_ok(defaults.get("lr")),
               f"lr must be a number >= 0 or a 0-dim tensor, got {defaults.get('lr')!r}")
        mom = defaults.get("momentum", 0.0)
        _check(0.0 <= mom < 1.0, f"momentum (Nesterov delta) must lie in [0, 1), got {mom!r}")
        _check(defaults.get("weight_decay", 0.0) >= 0,
               f"weight_decay must be >= 0, got {defaults.get('weight_decay')!r}")
        if "gamma" in defaults:
            g = defaults["gamma"]
            _check(isinstance(g, (int, float)) and g > 0 and math.isfinite(g),
                   f"gamma (the PDE time; coupling 1/gamma) must be a finite number > 0, "
                   f"got {g!r}")
            d = defaults.get("gamma_decay", 0.0)
            _check(0.0 <= d < 1.0, f"gamma_decay (gamma_1 of Sec. 7.5) must lie in [0, 1), "
                                   f"got {d!r}")
        super().__init__(params, defaults)
        self.L = L
        self._noise = noise
        self.generator = generator
        self._steps = 0             # step() calls of this object (the outer-step check)

    @classmethod
    def recipe(cls, params: Iterable, setting: str = "mnist", **changes):
        """The optimizer with the book's settings for ``setting`` (:data:`RECIPES`: Table 1's,
        ``"mnist"`` or ``"cifar10"``), with ``changes`` (e.g. ``lr``, ``generator``) on top."""
        table = RECIPES[cls.name]
        if setting not in table:
            raise ParamError(f"no {cls.__name__} recipe {setting!r}; choose one of "
                             f"{sorted(table)}")
        return cls(params, **{**table[setting], **changes})

    def state_dict(self) -> dict[str, Any]:
        """``torch.optim``'s state_dict, plus ``"generator"``: the noise generator's state
        when a ``generator`` was given (so that a resumed run repeats the draws)."""
        sd = super().state_dict()
        if self.generator is not None:
            sd["generator"] = self.generator.get_state()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a :meth:`state_dict`, the generator's state included."""
        state_dict = dict(state_dict)
        gen = state_dict.pop("generator", None)
        if gen is not None:
            if self.generator is None:
                raise ParamError(f"this {type(self).__name__} state holds a noise generator's "
                                 f"state: construct the optimizer with generator="
                                 f"torch.Generator() to restore it")
            self.generator.set_state(gen.cpu())
        super().load_state_dict(state_dict)

    @property
    def grads_per_step(self) -> int:
        """Back-props per weight update, L of Remark 22 (the effective-epoch factor; the
        authors' Entropy-SGD code spends L + 1, see the module docstring)."""
        return self.L

    # ---- helpers -----------------------------------------------------------------
    def _randn(self, tensors: list[Tensor]) -> list[Tensor]:
        if self._noise is not None:
            return self._noise(tensors)
        return [torch.randn(t.shape, generator=self.generator, device=t.device, dtype=t.dtype)
                for t in tensors]

    def _closure(self, closure) -> Tensor:
        if closure is None:
            raise ParamError(f"{type(self).__name__}.step needs a closure that draws a fresh "
                             f"minibatch, zeroes the gradients, computes the loss, calls "
                             f"backward() and returns the loss (it is called L times).")
        with torch.enable_grad():
            return closure()

    @staticmethod
    def _grads(ps: list[Tensor]) -> list[Tensor]:
        return [p.grad if p.grad is not None else torch.zeros_like(p) for p in ps]

    @staticmethod
    def _with_grad(ps: list[Tensor]) -> list[int]:
        """Indices of the parameters that have a gradient (after the first closure call)."""
        return [i for i, p in enumerate(ps) if p.grad is not None]

    def _state(self, p: Tensor, key: str, like: Tensor | None = None) -> Tensor:
        st = self.state[p]
        if key not in st:
            st[key] = torch.zeros_like(p if like is None else like,
                                       memory_format=torch.preserve_format)
        return st[key]

    def _counter(self, group) -> Tensor:
        """Number k of outer steps taken by ``group`` (a device tensor)."""
        p0 = group["params"][0]
        st = self.state[p0]
        if "step" not in st:   # named 'step' so that load_state_dict keeps its float64 dtype
            st["step"] = torch.zeros((), dtype=torch.float64, device=p0.device)
        return st["step"]

    def _gamma_t(self, group) -> Tensor:
        """γ_k = γ₀ (1 − γ₁)^k as a device tensor (Sec. 7.5)."""
        k = self._counter(group)
        return group["gamma"] * torch.pow(1.0 - group["gamma_decay"], k)

    def gamma(self, group_index: int = 0) -> float:
        """Current scoped γ_k of a parameter group (host value; synchronises)."""
        return float(self._gamma_t(self.param_groups[group_index]))

    def _outer_update(self, group, xs: list[Tensor], ds: list[Tensor],
                      ps: list[Tensor] | None = None) -> None:
        """x ← x − η·(Nesterov-δ of d); then the weights ``ps`` (default: the group's) are
        set to x (Sec. 7.4); the group's step count k grows by one."""
        ps = group["params"] if ps is None else ps
        if ps:
            delta = group["momentum"]
            if delta > 0:
                bufs = [self._state(p, "outer_buf") for p in ps]
                ds = _nesterov_(bufs, ds, delta)
            _scaled_sub_(xs, ds, group["lr"])
            torch._foreach_copy_(ps, xs)
        self._counter(group).add_(1)

    def _anchor(self, group) -> list[Tensor]:
        """The outer variable x (a copy of the weights at the start of a step)."""
        xs = [self._state(p, "x") for p in group["params"]]
        torch._foreach_copy_(xs, group["params"])
        return xs


class EntropySGD(_Relaxation):
    """Entropy-SGD, eqs. (32)–(33): L Langevin steps on y, exponential average ⟨y⟩, outer step on x.

    Inner step j (y starts at x, ⟨y⟩ at x):
    y ← y − η_y [∇f_mb(y) + wd·y + (y − x)/γ_k] + √(η_y β_ex⁻¹) ξ, ⟨y⟩ ← α⟨y⟩ + (1 − α) y,
    with optional Nesterov momentum on the inner steps (``inner_momentum``; the authors'
    code, reset every outer step), acting on the whole bracket (``inner_form="paper"``) or
    on ∇f_mb(y) only (``inner_form="authors"``, the Lua code; see the module docstring).
    Outer step: d = (x − ⟨y⟩)/γ_k (``outer="local-entropy"``, eq. (33)) or d = x − ⟨y⟩
    (``outer="lua"``), then Nesterov-δ and x ← x − η d.
    """

    name = "entropy-sgd"
    draws_noise = True

    def __init__(self, params: Iterable, lr, gamma: float, *, L: int = 20, lr_y: float = 0.1,
                 alpha: float = 0.75, beta_ex_inv: float = 1e-8, momentum: float = 0.9,
                 inner_momentum: float = 0.0, weight_decay: float = 0.0,
                 gamma_decay: float = 1e-3, outer: str = "local-entropy",
                 inner_form: str = "paper",
                 noise: NoiseFn | None = None, generator: torch.Generator | None = None):
        _check(lr_y > 0, f"lr_y (eta_y, the inner step) must be > 0, got {lr_y!r}")
        _check(0.0 <= alpha < 1.0, f"alpha (weight of the old average) must lie in [0, 1), "
                                   f"got {alpha!r}")
        _check(beta_ex_inv >= 0, f"beta_ex_inv (extrinsic noise) must be >= 0, got "
                                 f"{beta_ex_inv!r}")
        _check(0.0 <= inner_momentum < 1.0,
               f"inner_momentum must lie in [0, 1), got {inner_momentum!r}")
        _check(outer in ("local-entropy", "lua"),
               f"outer must be 'local-entropy' (eq. (33)) or 'lua' (authors' code), got "
               f"{outer!r}")
        _check(inner_form in INNER_FORMS,
               f"inner_form must be 'paper' (Nesterov on the whole inner direction) or "
               f"'authors' (Nesterov on the raw gradient, the Lua code), got {inner_form!r}")
        defaults = dict(lr=lr, gamma=gamma, lr_y=lr_y, alpha=alpha, beta_ex_inv=beta_ex_inv,
                        momentum=momentum, inner_momentum=inner_momentum,
                        weight_decay=weight_decay, gamma_decay=gamma_decay, outer=outer,
                        inner_form=inner_form)
        super().__init__(params, defaults, L, noise, generator)
        self._check_inner(lr_y, gamma, inner_momentum if inner_form == "paper" else 0.0)

    def _check_inner(self, lr_y: float, gamma: float, delta: float) -> None:
        """Refuse η_y/γ₀ above :func:`stable_fraction` (δ: the momentum on the coupling)."""
        h, bound = lr_y / gamma, stable_fraction(delta)
        _check(h <= bound, f"lr_y/gamma = {h:.4g} exceeds {bound:.4g}: the inner coupling "
                           f"step y <- y - lr_y (y - x)/gamma multiplies y - x by "
                           f"{1 - h:.4g} per inner step, so the inner loop diverges; take "
                           f"lr_y <= {bound:.4g} * gamma, or start from "
                           f"{type(self).__name__}.recipe(params, 'mnist')")

    def _check_outer(self) -> None:
        """Refuse an outer step whose fraction h of the way to ⟨y⟩ (η/γ₀ or η) exceeds
        :func:`stable_fraction`; warn for 1 < h (x lands past ⟨y⟩). Float lr only."""
        for g in self.param_groups:
            if isinstance(g["lr"], Tensor):
                continue
            local = g["outer"] == "local-entropy"
            h = g["lr"] / g["gamma"] if local else g["lr"]
            what = "lr/gamma" if local else "lr (outer='lua')"
            bound = stable_fraction(g["momentum"])
            name = type(self).__name__
            _check(h <= bound, f"{what} = {h:.4g} exceeds {bound:.4g}: the outer step "
                               f"x <- x - {h:.4g} (x - <y>) overshoots <y> and diverges "
                               f"(bound 2(1 + momentum)/(1 + 2 momentum)); take a smaller "
                               f"lr, or start from {name}.recipe(params, 'mnist')")
            if h > 1.0 and not getattr(self, "_warned", False):
                self._warned = True
                warnings.warn(f"{name}: {what} = {h:.4g} > 1: each outer step moves x "
                              f"past <y> (it converges in the quadratic model only below "
                              f"{bound:.4g})", stacklevel=3)

    @torch.no_grad()
    def step(self, closure=None):
        """One outer step: L inner steps of (32) (each calls ``closure``), then (33)."""
        if self._steps:
            self._check_outer()
        self._steps += 1
        groups = self.param_groups
        xs = [self._anchor(g) for g in groups]
        mus = []
        for g, x in zip(groups, xs):
            mu = [self._state(p, "mu") for p in g["params"]]
            torch._foreach_copy_(mu, x)
            mus.append(mu)
            if g["inner_momentum"] > 0:
                torch._foreach_zero_([self._state(p, "inner_buf") for p in g["params"]])
        inv_gammas = [1.0 / self._gamma_t(g) for g in groups]
        pss = [g["params"] for g in groups]
        first = None
        for _ in range(self.L):
            loss = self._closure(closure)
            if first is None:                   # skip parameters without a gradient
                first = loss
                keep = [self._with_grad(ps) for ps in pss]
                pss, xs, mus = ([_pick(v, k) for v, k in zip(vs, keep)]
                                for vs in (pss, xs, mus))
            for g, ps, x, mu, ig in zip(groups, pss, xs, mus, inv_gammas):
                if not ps:
                    continue
                ds = self._grads(ps)                # used in place as scratch
                authors = g["inner_form"] == "authors"
                if authors and g["inner_momentum"] > 0:     # Lua: Nesterov on ∇f_mb only
                    ds = _nesterov_([self._state(p, "inner_buf") for p in ps], ds,
                                    g["inner_momentum"])
                if g["weight_decay"]:
                    torch._foreach_add_(ds, ps, alpha=g["weight_decay"])
                diff = torch._foreach_sub(ps, x)
                torch._foreach_mul_(diff, ig)
                torch._foreach_add_(ds, diff)
                if not authors and g["inner_momentum"] > 0:
                    ds = _nesterov_([self._state(p, "inner_buf") for p in ps], ds,
                                    g["inner_momentum"])
                torch._foreach_add_(ps, ds, alpha=-g["lr_y"])
                sigma = math.sqrt(g["lr_y"] * g["beta_ex_inv"])
                if sigma > 0:
                    torch._foreach_add_(ps, self._randn(list(ps)), alpha=sigma)
                torch._foreach_lerp_(mu, ps, 1.0 - g["alpha"])
        for g, ps, x, mu, ig in zip(groups, pss, xs, mus, inv_gammas):
            ds = torch._foreach_sub(x, mu) if ps else []
            if ps and g["outer"] == "local-entropy":
                torch._foreach_mul_(ds, ig)
            self._outer_update(g, x, ds, ps)
        return first


class HJ(EntropySGD):
    """Non-viscous HJ (Sec. 7.2): Entropy-SGD with L = 5, β_ex⁻¹ = 0 and ⟨y⟩ = the last iterate.

    ``form="prox"`` runs eqs. (32)–(33) with α = 0 (y descends f(y) + |y − x|²/2γ, a
    proximal point, eq. (14)); ``form="remark21"`` runs the equivalent system (34): z (the
    paper's y) starts at 0, z ← (1 − η_y/γ) z + η_y ∇f_mb(x − z) for L steps, and the
    outer step uses the last gradient, x ← x − η ∇f_mb(x − z) (Nesterov-δ as in Sec. 7.4).
    The inner iterates of both forms coincide (y = x − z); the outer directions
    (x − y_L)/γ and ∇f(y_{L−1}) agree when the inner loop has converged (Lemma 1: both are
    ∇u(x) at the proximal point), not after a finite L. ``inner_form`` as in
    :class:`EntropySGD` (moot for ``form="remark21"``, which has no inner momentum).
    """

    name = "hj"
    draws_noise = False

    def __init__(self, params: Iterable, lr, gamma: float, *, L: int = 5, lr_y: float = 0.1,
                 momentum: float = 0.9, inner_momentum: float = 0.0,
                 weight_decay: float = 0.0, gamma_decay: float = 1e-3,
                 outer: str = "local-entropy", form: str = "prox", inner_form: str = "paper"):
        _check(form in ("prox", "remark21"),
               f"form must be 'prox' (eqs. (32)-(33)) or 'remark21' (eq. (34)), got {form!r}")
        if form == "remark21":
            _check(outer == "local-entropy" and inner_momentum == 0,
                   "form='remark21' implements eq. (34) as printed: it needs "
                   "outer='local-entropy' and inner_momentum=0")
        super().__init__(params, lr, gamma, L=L, lr_y=lr_y, alpha=0.0, beta_ex_inv=0.0,
                         momentum=momentum, inner_momentum=inner_momentum,
                         weight_decay=weight_decay, gamma_decay=gamma_decay, outer=outer,
                         inner_form=inner_form)
        self.form = form

    @torch.no_grad()
    def step(self, closure=None):
        """One outer step of HJ: eqs. (32)–(33) with α = 0, or eq. (34) (``form``)."""
        if self.form == "prox":
            return super().step(closure)
        groups = self.param_groups
        xs = [self._anchor(g) for g in groups]
        zs = []
        for g in groups:
            z = [self._state(p, "z") for p in g["params"]]
            torch._foreach_zero_(z)
            zs.append(z)
        shrink = [1.0 - g["lr_y"] / self._gamma_t(g) for g in groups]
        pss = [g["params"] for g in groups]
        first, last = None, [None] * len(groups)
        for _ in range(self.L):
            for ps, x, z in zip(pss, xs, zs):
                if ps:
                    torch._foreach_copy_(ps, torch._foreach_sub(x, z))
            loss = self._closure(closure)
            if first is None:                   # skip parameters without a gradient
                first = loss
                keep = [self._with_grad(ps) for ps in pss]
                pss, xs, zs = ([_pick(v, k) for v, k in zip(vs, keep)]
                               for vs in (pss, xs, zs))
            for i, (g, ps, z, s) in enumerate(zip(groups, pss, zs, shrink)):
                if not ps:
                    continue
                grad = self._grads(ps)              # used in place as scratch
                if g["weight_decay"]:
                    torch._foreach_add_(grad, ps, alpha=g["weight_decay"])
                torch._foreach_mul_(z, s)
                torch._foreach_add_(z, grad, alpha=g["lr_y"])
                last[i] = grad
        for g, ps, x, grad in zip(groups, pss, xs, last):
            self._outer_update(g, x, grad or [], ps)
        return first


class HEAT(_Relaxation):
    """HEAT, eq. (35): x ← x − (η/L) Σᵢ ∇f_mb(x + εᵢ), εᵢ ~ N(0, γ_k I), Nesterov-δ (Sec. 7.3)."""

    name = "heat"
    draws_noise = True

    def __init__(self, params: Iterable, lr, gamma: float, *, L: int = 20,
                 momentum: float = 0.9, weight_decay: float = 0.0, gamma_decay: float = 1e-3,
                 noise: NoiseFn | None = None, generator: torch.Generator | None = None):
        defaults = dict(lr=lr, gamma=gamma, momentum=momentum, weight_decay=weight_decay,
                        gamma_decay=gamma_decay)
        super().__init__(params, defaults, L, noise, generator)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of (35): L gradients at Gaussian perturbations of x, averaged."""
        groups = self.param_groups
        xs = [self._anchor(g) for g in groups]
        accs = []
        for g in groups:
            acc = [self._state(p, "acc") for p in g["params"]]
            torch._foreach_zero_(acc)
            accs.append(acc)
        stds = [torch.sqrt(self._gamma_t(g)) for g in groups]
        moved = [[i for i, p in enumerate(g["params"]) if p.requires_grad] for g in groups]
        pss, xs, accs = ([_pick(v, k) for v, k in zip(vs, moved)]
                         for vs in ([g["params"] for g in groups], xs, accs))
        first = None
        for _ in range(self.L):
            for ps, x, std in zip(pss, xs, stds):
                if not ps:
                    continue
                eps = self._randn(list(ps))
                torch._foreach_mul_(eps, std)
                torch._foreach_add_(eps, x)
                torch._foreach_copy_(ps, eps)
            loss = self._closure(closure)
            if first is None:       # skip (and put back) parameters without a gradient
                first = loss
                keep = [self._with_grad(ps) for ps in pss]
                for ps, x, k in zip(pss, xs, keep):
                    out = sorted(set(range(len(ps))) - set(k))
                    if out:
                        torch._foreach_copy_(_pick(ps, out), _pick(x, out))
                pss, xs, accs = ([_pick(v, k) for v, k in zip(vs, keep)]
                                 for vs in (pss, xs, accs))
            for ps, acc in zip(pss, accs):
                if ps:
                    torch._foreach_add_(acc, self._grads(ps))
        for g, ps, x, acc in zip(groups, pss, xs, accs):
            ds = torch._foreach_mul(acc, 1.0 / self.L) if ps else []
            if ps and g["weight_decay"]:
                torch._foreach_add_(ds, x, alpha=g["weight_decay"])
            self._outer_update(g, x, ds, ps)
        return first


class NesterovSGD(_Relaxation):
    """SGD baseline, eq. (7) with Nesterov momentum δ (Sec. 7.4); L = 1 (= torch.optim.SGD)."""

    name = "sgd"

    def __init__(self, params: Iterable, lr, *, momentum: float = 0.9,
                 weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay),
                         1, None, None)

    @torch.no_grad()
    def step(self, closure=None):
        """x ← x − η (Nesterov-δ of ∇f_mb(x) + wd·x); one closure call (or the current grads)."""
        loss = None if closure is None else self._closure(closure)
        for g in self.param_groups:
            ps = _pick(g["params"], self._with_grad(g["params"]))   # as torch.optim.SGD
            if not ps:
                continue
            ds = torch._foreach_add(self._grads(ps), ps, alpha=g["weight_decay"]) \
                if g["weight_decay"] else self._grads(ps)      # not modified below
            delta = g["momentum"]
            if delta > 0:
                ds = _nesterov_([self._state(p, "outer_buf") for p in ps], ds, delta)
            _scaled_sub_(ps, ds, g["lr"])
        return loss


#: The one registry of optimizers by name (Sec. 8.1.3): a new optimizer is a class above
#: and one entry here; :func:`make`, ``TrainParams.algorithm``, the engine and the
#: distributed trainer read it.
OPTIMIZERS = {"entropy-sgd": EntropySGD, "heat": HEAT, "hj": HJ, "sgd": NesterovSGD}
#: The algorithms by name (the keys of :data:`OPTIMIZERS`).
ALGORITHMS = tuple(OPTIMIZERS)


def make(algorithm: str, params: Iterable, **hyper) -> _Relaxation:
    """Build the optimizer for ``algorithm`` (one of :data:`ALGORITHMS`) with ``hyper``."""
    if algorithm not in OPTIMIZERS:
        raise ParamError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    try:
        return OPTIMIZERS[algorithm](params, **hyper)
    except TypeError as err:
        raise ParamError(f"bad hyper-parameters for {algorithm}: {err}") from None


def inner_noise_std(n: int = 200_000, seed: int = 0, **hyper) -> float:
    """Measured standard deviation of the noise one Entropy-SGD inner step adds to a weight.

    :class:`EntropySGD` with ``hyper`` makes one inner step (L = 1) on ``n`` float64
    weights of a zero loss, with the coupling off (γ = 1e30), α = 0, no weight decay and
    an outer step of 1 without momentum, so that the weights end at y = x + σξ; the
    convention of (32) gives σ = √(η_y β_ex⁻¹).
    """
    w = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    hyper = {**hyper, "L": 1, "gamma": 1e30, "alpha": 0.0, "momentum": 0.0,
             "weight_decay": 0.0}
    opt = EntropySGD([w], lr=1.0, generator=torch.Generator().manual_seed(seed), **hyper)

    def closure():
        opt.zero_grad()
        loss = (w * 0.0).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return float(w.detach().std())
