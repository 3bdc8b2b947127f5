"""Chapter 13 (Secs. 1, 6): the width of the minima SGD, Entropy-SGD, HJ and HEAT find.

At the final weights of each trained net: the top Hessian eigenvalues of the training
loss (Lanczos on Hessian-vector products), the eigenvalue density (stochastic Lanczos
quadrature), the loss along the top eigenvector and along random directions scaled to
the weights, and the local entropy f_γ of eq. (11) with the curvature of f_γ along the
top eigenvector (Monte Carlo), compared with Example 13 / Lemma 18 for a quadratic.

The experiment (training the four nets, the measurements, the saved LeNet result) is
``deeprelax.train.width``; the ``paper`` preset's LeNet run is
``python -m deeprelax width --preset paper``. Here: :class:`Params` (``width.Params``),
:func:`compute` (``width.run``), :func:`claims`, the tables and the ``figure_*``
functions, which read the result and show it.
"""
from __future__ import annotations

import dataclasses
import math

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from deeprelax import paths
from deeprelax.book.claims import Claim, decided, decided_fact, fact, pending
from deeprelax.book.plotting import ALGORITHM_COLORS, styled
from deeprelax.params import ParamError
from deeprelax.train import hessian, width
from deeprelax.train.width import (ALGORITHMS, LABELS, Params, Result, Width, budget_label,
                                   near_zero_mass, summary, trace_mean, trace_seed_mean)
from deeprelax.train.width import eigen_frame, source_frame, width_frame  # noqa: F401 (shown)

FIGURE_RC = {"font.size": 10.5, "axes.titlesize": 11, "axes.labelsize": 10.5,
             "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
FIGSIZE = (7.6, 3.6)
ESS_MIN = 5            # Monte Carlo points with a smaller effective sample size: hollow
ESS_RELIABLE = 12      # the prose calls f_γ reliable from this effective sample size


def compute(P: Params) -> Result:
    """Train (or load) the four nets and measure every seed's curvature (``width.run``)."""
    return width.run(P)


def lenet_result(R: Result) -> Result:
    """The LeNet result the page discusses: ``R`` itself when it is LeNet (the ``paper``
    preset), else the saved run ``results/width-of-minima-lenet.json``."""
    if R.params.net == "lenet":
        return R
    L = width.load_lenet()
    if L is None:
        raise ParamError(f"{paths.WIDTH_RESULT} is missing or incomplete: run `python -m "
                         "deeprelax width --preset paper` (one to two hours on two CPU cores; "
                         "it resumes if stopped)")
    return L


def lenet_measures(L: Result) -> dict[str, float]:
    """The LeNet numbers the prose quotes: :func:`measures`, validation errors, and the
    wall-clock times of training and of the curvature stages (seed 0)."""
    out = measures(L)
    t = [L.widths[a][0].timings for a in ALGORITHMS]
    out.update({"hvp_s": float(np.mean([x["hvp"] for x in t])),
                "lanczos_s": float(np.mean([x["lanczos"] for x in t])),
                "slq_s": float(np.mean([x["slq"] for x in t])),
                "curvature_min": float(np.mean([sum(x.values()) for x in t]) / 60),
                "train_min_max": float(max(L.train_s.values(), default=float("nan")) / 60),
                "train_min_min": float(min(L.train_s.values(), default=float("nan")) / 60),
                "effective_epochs": L.params.effective_epochs,
                "fd_error_pct": 100 * max(abs(w.curv_top_fd / w.top[0] - 1)
                                          for a in ALGORITHMS for w in L.widths[a]),
                "hessian_images": L.params.hessian_images,
                "lanczos_steps": L.params.lanczos_steps})
    for alg in ALGORITHMS:
        out[f"val_error_{alg.replace('-', '_')}"] = float(np.mean(L.val_error[alg]))
    return out


def lenet_findings(L: Result) -> str:
    """What the LeNet run measured, in sentences written from its numbers (MyST): the
    order of λ₁, the invariant sharpness and the training losses relative to SGD's, and
    what the Hutchinson trace resolves. Seed means; the ratios are :func:`ratios`."""
    S, r, b = summary(L), ratios(L), budget_label(L)
    lam = {a: float(S[a]["lambda1"].mean()) for a in ALGORITHMS}
    loss = {a: float(S[a]["loss"].mean()) for a in ALGORITHMS}
    key = {a: a.replace("-", "_") for a in ALGORITHMS}
    least = min(lam, key=lam.get)
    times = ", ".join(f"{LABELS[a]}'s {r['ratio_' + key[a]]:.3g} times it" for a in
                      ("entropy-sgd", "hj", "heat"))
    out = [f"At the final weights ({b}) the top eigenvalue of the Hessian at SGD's minimum "
           f"is $\\lambda_1 =$ {lam['sgd']:.3g}; {times}: the smallest is "
           f"{LABELS[least]}'s."]
    sharp = [a for a in ("entropy-sgd", "hj", "heat")
             if math.isfinite(r["ratio_sharpness_" + key[a]])]
    if sharp:
        words = "; ".join(
            f"{LABELS[a]}'s is {r['ratio_sharpness_' + key[a]]:.3g} times SGD's "
            f"({'wider' if r['ratio_sharpness_' + key[a]] < 1 else 'not wider'})"
            for a in sharp)
        out.append("The invariant sharpness $\\lambda_1(\\mathrm{diag}\\,\\theta\\,H\\,"
                   "\\mathrm{diag}\\,\\theta)$, which a rescaling of the weights that "
                   f"leaves the function unchanged does not move: {words}.")
    same = np.array_equal(np.argsort([lam[a] for a in ALGORITHMS]),
                          np.argsort([loss[a] for a in ALGORITHMS]))
    lo = ", ".join(f"{LABELS[a]} {loss[a]:.2g}" for a in ALGORITHMS)
    out.append(f"The training losses at these weights are {lo}; $\\lambda_1$ is "
               f"{'' if same else 'not '}in the order of the training loss.")
    z = {a: trace_z(L, a) for a in ("entropy-sgd", "hj", "heat")}
    zs = ", ".join(f"{LABELS[a]} {v:+.1f}" for a, v in z.items())
    resolved = [LABELS[a] for a, v in z.items() if abs(v) >= 2]
    if len(resolved) == len(z):
        tail = "; each of the three differs from SGD's by two or more."
    elif resolved:
        tail = (f"; only {' and '.join(resolved)} differ{'s' if len(resolved) == 1 else ''}"
                " from SGD's by two or more.")
    else:
        tail = "; none differs from SGD's by two or more."
    out.append(f"The mean eigenvalue $\\operatorname{{tr}}H/n$ minus SGD's, in standard "
               f"errors of the {L.params.trace_probes} Hutchinson probes: {zs}" + tail)
    return " ".join(out)


def lenet_shape(L: Result) -> str:
    """The slices and the local entropy of the LeNet run in sentences written from its
    numbers (MyST, seed means): the rise of f along v₁ at half the slice's range, and
    along the random directions at its end relative to f(θ); then where the Monte Carlo
    f_γ − f is reliable (effective sample size ≥ ESS_RELIABLE for every net) its largest
    relative distance from the quadratic model's, and its sign."""
    P = L.params

    def rise(alphas, f, a, ratio=False):     # f(±a) − f(0) (or / f(0)), mean of the sides
        at = lambda x: float(np.interp(x, alphas, f))                  # noqa: E731
        side = 0.5 * (at(-a) + at(a))
        return side / at(0.0) if ratio else side - at(0.0)

    half = P.slice_top / 2
    top = {a: float(np.mean([rise(w.alphas_top, w.slice_top, half) for w in L.widths[a]]))
           for a in ALGORITHMS}
    rand = max(rise(w.alphas_random, s, P.slice_random, ratio=True)
               for a in ALGORITHMS for w in L.widths[a] for s in w.slices_random)
    least = min(top, key=top.get)
    words = ", ".join(f"{LABELS[a]} {top[a]:.2g}" for a in ALGORITHMS)
    out = [f"Along $v_1$ ({{numref}}`fig-ch13-lenet-slices`, left) the loss rises by "
           f"{words} at $|\\alpha| = {half:g}$ (a displacement of {100 * half:g} % of "
           f"$|\\theta|$); {LABELS[least]}'s rises least. Along the random directions "
           f"(right) every loss stays within {rand:.2g} times its value at $\\alpha = 0$ up "
           f"to $|\\alpha| = {P.slice_random:g}$."]
    ess = np.array([[np.mean([w.ess[j] for w in L.widths[a]]) for j in range(len(P.gammas))]
                    for a in ALGORITHMS])
    ok = [j for j in range(len(P.gammas)) if ess[:, j].min() >= ESS_RELIABLE]
    if ok:
        gap = {(a, j): (float(np.mean([w.f_gamma[j] - w.loss for w in L.widths[a]])),
                        float(np.mean([w.f_gamma_quadratic[j] for w in L.widths[a]])))
               for a in ALGORITHMS for j in ok}
        err = max(abs(mc / q - 1) for mc, q in gap.values())
        neg = all(mc < 0 for mc, _ in gap.values())
        gs = ", ".join(f"{P.gammas[j]:g}" for j in ok)
        out.append(f"Where the Monte Carlo estimate of $f_\\gamma$ is reliable (effective "
                   f"sample size at least {ESS_RELIABLE} of {P.mc_samples} for every net: "
                   f"$\\gamma =$ {gs}) it agrees with the quadratic model's $f_\\gamma - f$ "
                   f"to within {100 * err:.2g} %"
                   + (", and it is negative for every net: the final weights are not "
                      "critical points, and at $\\beta = "
                      f"{_sci(P.beta)}$ the descent term outweighs the width term (table "
                      "below)." if neg else "; its sign differs between the nets (table "
                      "below)."))
    else:
        out.append("At no $\\gamma$ is the Monte Carlo estimate of $f_\\gamma$ reliable "
                   f"for every net (effective sample size below {ESS_RELIABLE}).")
    return " ".join(out)


def lenet_kappa(L: Result) -> str:
    """κ_γ at the smallest γ against Example 13's λ₁/(1 + γλ₁) (the quadratic model with
    the local constant λ₁), in a sentence from the run's numbers (MyST, seed means): the
    differences in Monte Carlo standard errors say whether they resolve kinks of f."""
    g, m = L.params.gammas[0], measures(L)      # κ and the model's, seed means at γ₀
    rows, zs = [], []
    for a in ALGORITHMS:
        ws = L.widths[a]
        k, q = m[f"kappa_{SHORT[a]}"], m[f"kappa_quadratic_{SHORT[a]}"]
        se = float(np.sqrt(np.sum([w.kappa_se[0] ** 2 for w in ws])) / len(ws))
        rows.append(f"{k:.2g} ± {se:.1g} against {q:.2g} ({LABELS[a]})")
        zs.append((k - q) / se if se > 0 else float("nan"))
    if not all(np.isfinite(zs)):
        return ("The run kept no standard error of $\\kappa_\\gamma$, so its distance "
                "from the quadratic model is not resolved.")
    z = max(abs(v) for v in zs)
    verdict = ("so at this $\\gamma$ the Monte Carlo estimate does not resolve a departure "
               "from the quadratic model, and says nothing about kinks" if z < 3 else
               "more than three standard errors: at this $\\gamma$ $f_\\gamma$ is not "
               "the quadratic model's along $v_1$")
    return (f"At $\\gamma = {g:g}$ the Monte Carlo $\\kappa_\\gamma$ on LeNet is "
            + "; ".join(rows) + f"; the largest difference is {z:.1f} standard errors of "
            f"its {L.params.mc_samples} samples, {verdict}.")


def _sci(x: float) -> str:
    """``x`` as LaTeX, 10^k when it is a power of ten (1e6 -> 10^{6})."""
    k = math.log10(x)
    return f"10^{{{int(round(k))}}}" if abs(k - round(k)) < 1e-12 else f"{x:g}"


# ---------------------------------------------------------------------------------------
# Reductions, tables, claims (what the page shows)
# ---------------------------------------------------------------------------------------
def trace_z(R: Result, alg: str, other: str = "sgd") -> float:
    """(tr H/n of ``alg`` − that of ``other``, seed means) / the probes' standard error
    of the difference: |z| < 2 means the probes do not order the two."""
    (a, sa), (b, sb) = trace_seed_mean(R.widths[alg]), trace_seed_mean(R.widths[other])
    return float((a - b) / math.hypot(sa, sb))


def entropy_frame(R: Result):
    """f_γ − f and the curvature κ_γ of f_γ along v₁ (Monte Carlo, means over seeds)
    against the quadratic model, with the smallest effective sample size."""
    num = lambda v: "—" if not np.isfinite(v) else f"{v:.3g}"        # noqa: E731
    rows = []
    for alg in ALGORITHMS:
        ws = R.widths[alg]
        lam = np.mean([w.top[0] for w in ws])
        for j, gm in enumerate(R.params.gammas):
            rows.append({"algorithm": LABELS[alg], "γ": f"{gm:g}",
                         "f_γ − f": num(np.mean([w.f_gamma[j] - w.loss for w in ws])),
                         "quadratic": num(np.mean([w.f_gamma_quadratic[j] for w in ws])),
                         "κ_γ": num(np.mean([w.kappa[j] for w in ws])),
                         "± SE": num(math.sqrt(np.mean([w.kappa_se[j] ** 2 for w in ws])
                                               / len(ws))),
                         "λ₁/(1+γλ₁)": num(lam / (1 + gm * lam)),
                         "ESS": f"{min(w.ess[j] for w in ws):.0f}"})
    return pd.DataFrame(rows).set_index(["algorithm", "γ"])


def ratios(R: Result) -> dict[str, float]:
    """λ₁, λ₁|θ|², the invariant sharpness and the training loss of each algorithm over
    SGD's (seed means; the sharpness ratio NaN where it was not measured)."""
    S = summary(R)
    out = {}
    for alg in ("entropy-sgd", "hj", "heat"):
        key = alg.replace("-", "_")
        for name, what in (("ratio", "lambda1"), ("ratio_scaled", "lambda1_scaled"),
                           ("ratio_sharpness", "sharpness"), ("ratio_loss", "loss")):
            out[f"{name}_{key}"] = float(S[alg][what].mean() / S["sgd"][what].mean())
    return out


SHORT = {"entropy-sgd": "esgd", "heat": "heat", "hj": "hj", "sgd": "sgd"}   # glue names


def measures(R: Result) -> dict[str, float]:
    """The numbers the prose quotes (claims are glued by ``report``)."""
    S = summary(R)
    all_w = [w for ws in R.widths.values() for w in ws]
    out = {"n_params": all_w[0].n, "n_seeds": len(R.seeds),
           "lambda1_sgd": float(S["sgd"]["lambda1"].mean()),
           "lambda1_esgd": float(S["entropy-sgd"]["lambda1"].mean()),
           "lambda1_hj": float(S["hj"]["lambda1"].mean()),
           "lambda1_heat": float(S["heat"]["lambda1"].mean()),
           "trace_mean_sgd": float(S["sgd"]["trace_mean"].mean()),
           "trace_se_sgd": trace_seed_mean(R.widths["sgd"])[1],
           "trace_z_esgd": trace_z(R, "entropy-sgd"),
           "trace_z_hj": trace_z(R, "hj"),
           "trace_z_heat": trace_z(R, "heat"),
           "trace_probes": R.params.trace_probes,
           "matched_loss": R.params.matched_loss,
           "min_ess": float(min(w.ess.min() for w in all_w)),
           "coarse_min": float(min(S[a]["coarse"].min() for a in ALGORITHMS)),
           "coarse_max": float(max(S[a]["coarse"].max() for a in ALGORITHMS)),
           **{f"kappa_{short}": float(np.mean([w.kappa[0] for w in R.widths[a]]))
              for a, short in SHORT.items()},
           **{f"kappa_stored_{short}": float(np.mean([k[0] for k in R.kappa_stored.get(
               a, [w.kappa for w in R.widths[a]])])) for a, short in SHORT.items()},
           **{f"kappa_quadratic_{short}": float(np.mean([w.top[0] / (1 + w.gammas[0] * w.top[0])
                                                        for w in R.widths[a]]))
              for a, short in SHORT.items()},
           "max_relative_shift": float(max(math.sqrt(R.params.gammas[-1] / R.params.beta
                                                     * w.n) / w.theta_norm for w in all_w))}
    out.update(ratios(R))
    return out


def _dense_widths(R: Result) -> list[Width]:
    return [ws[0] for ws in R.widths.values() if ws[0].dense is not None]


def claims(R: Result, lenet: Result | None = None) -> list[Claim]:
    """The checks of this chapter: our machinery against exact values (status "check"),
    Sec. 6.3's spectrum statement, where Lemma 20's hypotheses fail, and the wide-valley
    thesis of the Entropy-SGD paper (a companion paper) on LeNet (``R`` itself when it is
    LeNet, else ``lenet``; pending without either)."""
    P, S = R.params, summary(R)
    all_w = [w for ws in R.widths.values() for w in ws]
    out: list[Claim] = []
    dw = _dense_widths(R)
    if dw:
        out += [
            Claim("hvp_fd_error", "Hessian-vector product = central difference of "
                  "gradients (float64, relative error)",
                  max(w.dense["hvp_fd_rel_error"] for w in dw), hi=1e-6, status="check"),
            Claim("hvp_dense_error", "Hessian-vector product = exact Hessian times v "
                  "(float64, relative error)",
                  max(w.dense["hvp_dense_rel_error"] for w in dw), hi=1e-10,
                  status="check"),
            Claim("lanczos_dense_error", f"Lanczos top-{P.top_k} = dense eigenvalues "
                  "(float32 HVPs; max error / λ₁)",
                  max(w.dense["lanczos_rel_error"] for w in dw), hi=1e-4, status="check"),
        ]
        z = []
        for w in dw:
            mean, se = trace_mean(w)
            z.append(abs(mean * w.n - w.dense["trace"]) / (se * w.n))
        out.append(Claim("trace_z", f"Hutchinson tr H ({P.trace_probes} probes) = exact "
                         "trace, within 3 standard errors (largest |z|)", max(z), hi=3.0,
                         status="check"))
        zm = []
        for w in dw:
            eps = P.near_zero * w.top[0]
            exact = hessian.smoothed_mass(w.dense["eigenvalues"],
                                          np.full(w.n, 1.0 / w.n), eps, eps / 4)
            m, se = near_zero_mass(w, P)
            zm.append(abs(m - exact) / max(se, 0.01))
        out.append(Claim("slq_near_zero_z", "SLQ mass near zero = exact (same broadening), "
                         "within 3 standard errors (floor 0.01; largest |z|)", max(zm),
                         hi=3.0, status="check"))
    out.append(Claim("lanczos_residual", "Lanczos top eigenvalues converged (largest "
                     "residual bound / λ₁)",
                     max(float(w.residuals.max() / w.top[0]) for w in all_w), hi=1e-2,
                     status="check"))
    if P.net != "lenet":      # on LeNet a step of 1e-6 crosses a max-pool/ReLU switch
        out.append(Claim("slice_curvature_error", "second difference of f along v₁ "
                         "(|Δθ| = 1e-6) = λ₁ (largest relative error)",
                         max(abs(w.curv_top_fd / w.top[0] - 1) for w in all_w), hi=1e-3,
                         status="check"))
    out += [
        Claim("near_zero_min", f"most eigenvalues lie near zero (smallest SLQ mass with "
              f"|λ| < {P.near_zero:g}λ₁)",
              float(min(S[a]["near_zero"].min() for a in ALGORITHMS)), lo=0.5,
              paper="a very large proportion of eigenvalues close to zero",
              where="Sec. 6.3"),
        fact("not_a_minimum", "the final weights are not a local minimum (as Lemmas 19–20 "
             "assume): a Ritz value < 0 proves λ_min < 0", all(w.ritz_min < 0 for w in all_w),
             status="check"),
    ]
    gap_err = []
    for w in all_w:
        q = w.dense["quadratic_gap"] if w.dense is not None else w.f_gamma_quadratic
        gap_err.append(abs((w.f_gamma[0] - w.loss) / q[0] - 1))
    out.append(Claim("gap_quadratic_error", f"Monte Carlo f_γ − f at γ = {P.gammas[0]:g} "
                     "= the quadratic model ½β⁻¹ tr log(I + γH) − (γ/2) gᵀ(I + γH)⁻¹g "
                     "(largest relative error)", max(gap_err), hi=0.2, status="check"))
    if lenet is not None and lenet is not R:        # the same checks on the LeNet run
        out += [dataclasses.replace(c, name="lenet_" + c.name,
                                    statement="LeNet: " + c.statement)
                for c in claims(lenet) if c.name in LENET_CHECKS]
    out += thesis_claims(R if P.net == "lenet" else lenet)
    return out


LENET_CHECKS = ("lanczos_residual", "near_zero_min", "not_a_minimum", "gap_quadratic_error")
# (not slice_curvature_error: on LeNet a step of 1e-6 along v₁ crosses a max-pooling or
# ReLU switch for two of the four nets, the chapter's prose)
WIDE_VALLEYS = "Entropy-SGD paper, Sec. 1"    # where the wide-valley thesis is stated


def thesis_claims(lenet: Result | None) -> list[Claim]:
    """The wide-valley thesis on LeNet, a statement of the Entropy-SGD paper (source
    "companion"; this paper states no Hessian result at the algorithms' outputs):
    Entropy-SGD's and HJ's minima wider than SGD's by the invariant sharpness
    λ₁(diag θ·H·diag θ), or by λ₁|θ|² where a run did not measure it (pending without a
    LeNet result), at the final weights and, with snapshots, at matched training loss;
    and SGD's minimum not the flattest of the four. Each is decided by the measured
    number (``decided``: 'reproduced', or 'differs' saying what we found), whatever the
    weights: the Table 1 runs' at the paper's budget, or nets trained here on a reduced
    one (the budget is part of every statement)."""
    if lenet is None:
        return [pending(name, f"{label}'s minimum is wider than SGD's on the paper's LeNet "
                        "(sharpness ratio < 1)", paper="wide valleys", where=WIDE_VALLEYS,
                        source="companion")
                for name, label in (("esgd_over_sgd", "Entropy-SGD"), ("hj_over_sgd", "HJ"))]
    r, b = ratios(lenet), budget_label(lenet)
    thesis = dict(paper="wide valleys", where=WIDE_VALLEYS, source="companion")
    out = []
    for name, alg in (("esgd_over_sgd", "entropy_sgd"), ("hj_over_sgd", "hj")):
        label = LABELS[alg.replace("_", "-")]
        invariant = math.isfinite(r[f"ratio_sharpness_{alg}"])
        ratio = r[f"ratio_sharpness_{alg}"] if invariant else r[f"ratio_scaled_{alg}"]
        what = "λ₁(diag θ·H·diag θ)" if invariant else "λ₁|θ|²"
        out.append(decided(name, f"{label}'s minimum is wider than SGD's on LeNet ({what} "
                           f"ratio < 1; {b})", ratio, hi=1.0, strict=True,
                           differs=f"{label}'s minimum is not wider than SGD's on LeNet "
                                   f"({what} ratio ≥ 1; {b})", **thesis))
    matched = {a: np.mean([w.matched_sharpness for w in lenet.widths[a]])
               for a in ALGORITHMS}
    for name, alg in (("esgd_over_sgd_matched", "entropy-sgd"), ("hj_over_sgd_matched", "hj")):
        label = LABELS[alg]
        if not (math.isfinite(matched[alg]) and math.isfinite(matched["sgd"])):
            out.append(pending(name, f"{label}'s minimum is wider than SGD's on LeNet at "
                               "matched training loss (λ₁(diag θ·H·diag θ) ratio < 1); "
                               "needs a run with snapshots", **thesis))
            continue
        at = f"each net at its first f ≤ {lenet.params.matched_loss:g} ({b})"
        out.append(decided(name, f"{label}'s minimum is wider than SGD's on LeNet at matched "
                           f"training loss: λ₁(diag θ·H·diag θ) ratio < 1, {at}",
                           float(matched[alg] / matched["sgd"]), hi=1.0, strict=True,
                           differs=f"{label}'s minimum is not wider than SGD's on LeNet at "
                                   f"matched training loss: λ₁(diag θ·H·diag θ) ratio ≥ 1, "
                                   f"{at}", **thesis))
    k = lenet.params.top_k
    out.append(decided_fact("sgd_flattest", f"SGD's minimum is not the flattest of the four "
                            f"on LeNet: some other net has a smaller λᵢ for some i ≤ {k} ({b})",
                            not sgd_flattest(lenet),
                            differs=f"SGD's minimum is the flattest of the four on LeNet: "
                                    f"the smallest λᵢ for every i ≤ {k} ({b})", **thesis))
    return out


def matched_frame(R: Result):
    """Each net at its first snapshot with f ≤ matched_loss (seed means): the effective
    epoch, f there, λ₁ and λ₁(diag θ·H·diag θ), beside the final f and λ₁."""
    num = lambda v: "—" if not np.isfinite(v) else f"{v:.3g}"        # noqa: E731
    rows = []
    for alg in ALGORITHMS:
        ws = R.widths[alg]
        mean = lambda key: float(np.mean([getattr(w, key) for w in ws]))   # noqa: E731
        rows.append({"algorithm": LABELS[alg], "epoch": num(mean("matched_epoch")),
                     "f there": num(mean("matched_f")),
                     "λ₁ there": num(mean("matched_lambda1")),
                     "λ₁(θHθ) there": num(mean("matched_sharpness")),
                     "final f": num(mean("loss")),
                     "final λ₁": num(float(np.mean([w.top[0] for w in ws])))})
    return pd.DataFrame(rows).set_index("algorithm")


def sgd_flattest(R: Result) -> bool:
    """SGD's seed-mean top-k eigenvalues (Lanczos, converged) are each the smallest of
    the four (the SLQ trace and width terms do not resolve an order with a few probes)."""
    tops = {a: np.mean([w.top for w in R.widths[a]], axis=0) for a in ALGORITHMS}
    return all(bool(np.all(tops["sgd"] < tops[a])) for a in ALGORITHMS if a != "sgd")


def timing_frame(R: Result):
    """Wall-clock seconds of training and of each curvature stage, per algorithm (seed 0)."""
    rows = []
    for alg in ALGORITHMS:
        t = R.widths[alg][0].timings
        row = {"algorithm": LABELS[alg]}
        if R.train_s.get(alg) is not None:
            row["training (s)"] = f"{R.train_s[alg]:.0f}"
        sec = lambda key, fmt=".0f": format(t[key], fmt) if key in t else "—"  # noqa: E731
        P = R.params
        row.update({"one HVP (s)": sec("hvp", ".2f"),
                    f"top-{P.top_k}, {P.lanczos_steps} steps (s)": sec("lanczos"),
                    f"SLQ {P.slq_probes}×{P.slq_steps} (s)": sec("slq"),
                    f"tr H, {P.trace_probes} probes (s)": sec("trace"),
                    "λ₁(θHθ) (s)": sec("scaled_lanczos"),
                    "Lanczos on ∇f (s)": sec("gradient_lanczos"),
                    "slices (s)": sec("slices"), "f_γ (s)": sec("local_entropy")})
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("algorithm")
    return frame.loc[:, (frame != "—").any()]          # stages a run did not have


def pending_note(R: Result, lenet: Result | None = None) -> str:
    """An admonition (MyST) saying which numbers come from which weights and budget."""
    P = R.params
    if R.source == width.PAPER_RUNS:
        return ""
    if width.saved_seeds(width.Params.from_preset("paper")):
        later = (" The seed-0 weights of the four LeNet cells of Table 1 are now in "
                 "`results/weights/` (100 effective epochs, from the runs of the MNIST "
                 "chapter); the `paper` preset measures them and replaces that run.")
    else:
        later = (" Once the seed-0 weights of the four LeNet cells of Table 1 are in "
                 "`results/weights/` (100 effective epochs; the CPU campaign writes them), "
                 "the `paper` preset measures those instead.")
    if P.net == "lenet":
        first = (f"The numbers on this page come from LeNet {budget_label(R)}, not from "
                 "the Table 1 runs." + later)
    else:
        first = ("The first sections measure the small net `mlp7` on 1,000 MNIST images "
                 "(the `fast` preset, computed when the page is built); ")
        first += ("the section *On the paper's LeNet* reads the `paper` preset's run, "
                  f"LeNet {budget_label(lenet)} "
                  f"(`{paths.WIDTH_RESULT.relative_to(paths.REPO_ROOT)}`)."
                  if lenet is not None else
                  "the LeNet comparison is pending until the `paper` preset has run.")
        if lenet is None or lenet.source != width.PAPER_RUNS:
            first += later
    return "\n".join(["```{admonition} Which weights", ":class: note", first, "```"])


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
def _plain_log(ax, axis: str = "y") -> None:
    """Tick labels of a log axis as plain numbers (0.5, 2, 10) rather than 5×10⁻¹."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(mticker.NullFormatter())


def _legend_below(fig, axes, ncol=4):
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)


@styled(FIGURE_RC)
def figure_top_eigenvalues(R: Result):
    """Top-k eigenvalues per algorithm (mean ± std over seeds): raw and times |θ|²."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    for alg in ALGORITHMS:
        ws = R.widths[alg]
        tops = np.array([w.top for w in ws])
        scaled = np.array([w.top * w.theta_norm ** 2 for w in ws])
        i = np.arange(1, tops.shape[1] + 1)
        for ax, vals in zip(axes, (tops, scaled)):
            err = vals.std(0, ddof=1) if vals.shape[0] > 1 else None
            ax.errorbar(i, vals.mean(0), yerr=err, marker="o", ms=4, capsize=3, lw=1.2,
                        color=ALGORITHM_COLORS[alg], label=LABELS[alg])
    for ax, lab in zip(axes, ("eigenvalue $\\lambda_i$ of $\\nabla^2 f$",
                              "$\\lambda_i\\,|\\theta|^2$")):
        ax.set_yscale("log")
        _plain_log(ax)
        ax.set_xlabel("index $i$")
        ax.set_ylabel(lab)
        ax.grid(alpha=0.3, which="both")
    _legend_below(fig, axes)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled(FIGURE_RC)
def figure_density(R: Result):
    """SLQ eigenvalue density (seed 0) of each algorithm, and the spectral mass within
    |λ| < ε as a function of ε/λ₁; the exact spectrum dashed where it is known."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    for alg in ALGORITHMS:
        w = R.widths[alg][0]
        lam1 = w.top[0]
        grid = np.linspace(-0.15 * lam1, 1.1 * lam1, 600)
        width = 0.03 * lam1
        axes[0].semilogy(grid / lam1, lam1 * hessian.slq_density(w.slq_nodes,
                                                                 w.slq_weights, grid, width),
                         color=ALGORITHM_COLORS[alg], lw=1.3, label=LABELS[alg])
        eps = np.geomspace(1e-4, 1, 40)
        mass = [np.mean([hessian.smoothed_mass(nd, wt, e * lam1, e * lam1 / 4)
                         for nd, wt in zip(w.slq_nodes, w.slq_weights)]) for e in eps]
        axes[1].semilogx(eps, mass, color=ALGORITHM_COLORS[alg], lw=1.3, label=LABELS[alg])
        if w.dense is not None:
            ev = w.dense["eigenvalues"]
            axes[0].semilogy(grid / lam1, lam1 * hessian.broadened(ev, np.full(ev.size,
                             1 / ev.size), grid, width), color=ALGORITHM_COLORS[alg],
                             lw=0.9, ls="--")
            exact = [hessian.smoothed_mass(ev, np.full(ev.size, 1 / ev.size), e * lam1,
                                           e * lam1 / 4) for e in eps]
            axes[1].semilogx(eps, exact, color=ALGORITHM_COLORS[alg], lw=0.9, ls="--")
    axes[0].set_ylim(1e-2, None)
    axes[0].set_xlabel("$\\lambda / \\lambda_1$")
    axes[0].set_ylabel("density of $\\lambda/\\lambda_1$ (log)")
    axes[1].set_xlabel("$\\varepsilon / \\lambda_1$")
    axes[1].set_ylabel("mass of $|\\lambda| < \\varepsilon$")
    for ax in axes:
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled(FIGURE_RC)
def figure_slices(R: Result):
    """f(θ + α d), |d| = |θ|: along the top eigenvector (left) and random directions
    (right, one thin line each), for every algorithm (seed 0)."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    for alg in ALGORITHMS:
        w, c = R.widths[alg][0], ALGORITHM_COLORS[alg]
        axes[0].plot(w.alphas_top, w.slice_top, color=c, lw=1.4, label=LABELS[alg])
        for k, s in enumerate(w.slices_random):
            axes[1].plot(w.alphas_random, s, color=c, lw=1.0, alpha=0.8,
                         label=LABELS[alg] if k == 0 else None)
    axes[0].set_title("top eigenvector $v_1$")
    axes[1].set_title("random directions")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("$\\alpha = |\\Delta\\theta| / |\\theta|$")
        ax.set_ylabel("training loss $f$")
        ax.grid(alpha=0.3, which="both")
    _legend_below(fig, axes)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled(FIGURE_RC)
def figure_local_entropy(R: Result):
    """f_γ − f against γ (MC, with the quadratic model dashed) and the curvature of f_γ
    along v₁ against Example 13's λ₁/(1+γλ₁) (dotted) and the bound 1/γ (grey)."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    g = np.asarray(R.params.gammas, float)
    for alg in ALGORITHMS:
        ws, c = R.widths[alg], ALGORITHM_COLORS[alg]
        gap = np.array([w.f_gamma - w.loss for w in ws]).mean(0)
        quad = np.array([w.f_gamma_quadratic for w in ws]).mean(0)
        kap = np.array([w.kappa for w in ws]).mean(0)
        lam = np.mean([w.top[0] for w in ws])
        ess = np.array([w.ess for w in ws]).min(0)
        axes[0].plot(g, gap, "-", color=c, lw=1.3, label=LABELS[alg])
        axes[0].plot(g[ess >= ESS_MIN], gap[ess >= ESS_MIN], "o", color=c, ms=5)
        axes[0].plot(g[ess < ESS_MIN], gap[ess < ESS_MIN], "o", color=c, ms=5, mfc="white")
        axes[0].plot(g, quad, "--", color=c, lw=0.9)
        kap = np.maximum(kap, 1e-6)
        axes[1].loglog(g, kap, "-", color=c, lw=1.3, label=LABELS[alg])
        axes[1].plot(g[ess >= ESS_MIN], kap[ess >= ESS_MIN], "o", color=c, ms=5)
        axes[1].plot(g[ess < ESS_MIN], kap[ess < ESS_MIN], "o", color=c, ms=5, mfc="white")
        gg = np.geomspace(g[0], g[-1], 50)
        axes[1].loglog(gg, lam / (1 + gg * lam), ":", color=c, lw=1.0)
    gg = np.geomspace(g[0], g[-1], 50)
    axes[1].loglog(gg, 1 / gg, color="0.6", lw=2, alpha=0.6, label="$1/\\gamma$")
    axes[0].set_xscale("log")
    axes[0].set_yscale("symlog", linthresh=1e-3)
    axes[0].set_ylabel("$f_\\gamma - f$ (symlog)")
    axes[1].set_ylabel("$v_1^\\top \\nabla^2 f_\\gamma\\, v_1$")
    for ax in axes:
        ax.set_xlabel("$\\gamma$")
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig

