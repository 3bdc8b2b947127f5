"""Chapter 12: the plain training loop, its closure and budget, the pitfalls' measurements,
and the chapter's claims on the fast preset."""
import inspect
import math
from types import SimpleNamespace

import pytest
import torch

from deeprelax.book import claims as C
from deeprelax.train import optim
from deeprelax.chapters import ch12_your_training_loop as ch12
from deeprelax.params import ParamError


def _data(n=256, n_test=64, seed=0):
    """A synthetic 10-class problem shaped like MNIST (raw-pixel scale)."""
    g = torch.Generator().manual_seed(seed)
    x = 255 * torch.rand(n + n_test, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n + n_test,), generator=g)
    return SimpleNamespace(train_x=x[:n], train_y=y[:n], test_x=x[n:], test_y=y[n:])


def _params(**kw):
    kw = dict(dict(budget=40, eval_every=20, batch_size=32, net="lenet"), **kw)
    return ch12.Params.from_preset("fast", **kw)


def test_minibatches_cover_the_data_once_per_pass_in_a_new_order():
    x = torch.arange(40).float()
    it = ch12.minibatches(x, x, 8, seed=3)
    first = torch.cat([next(it)[0] for _ in range(5)])
    second = torch.cat([next(it)[0] for _ in range(5)])
    assert sorted(first.tolist()) == list(range(40)) == sorted(second.tolist())
    assert not torch.equal(first, second)


@pytest.mark.parametrize("name", ch12.OPTIMIZERS)
def test_each_optimizer_spends_exactly_the_budget(name):
    P, data = _params(), _data()
    model = ch12.fresh_model(P)
    opt = ch12.make_optimizer(name, model.parameters())
    log = ch12.train(model, opt, data, P)
    L = ch12.grads_per_step(opt)
    assert L == {"SGD": 1, "Entropy-SGD": 20, "HJ": 5, "HEAT": 20}[name]
    assert log["grads"] == [20, 40]
    assert all(math.isfinite(v) for v in log["loss"])
    assert all(0 <= e <= 100 for e in log["error"] + log["stale"])


def test_the_closure_draws_a_fresh_minibatch_per_call_and_counts_them():
    P, data = _params(), _data()
    model = ch12.fresh_model(P)
    opt = ch12.make_optimizer("Entropy-SGD", model.parameters())
    seen = []
    batches = ch12.minibatches(data.train_x, data.train_y, 32, seed=0)
    batches = (seen.append(b[1].clone()) or b for b in batches)
    losses = []
    opt.step(ch12.make_closure(model, opt, batches, losses))
    assert len(losses) == len(seen) == 20
    assert not torch.equal(seen[0], seen[1])


def test_gamma_is_scoped_per_update_and_lr_schedulers_leave_it_alone():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = optim.EntropySGD([w], lr=1.0, gamma=1e4, gamma_decay=1e-3, L=2, momentum=0.0,
                           outer="lua")
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.1)

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss
    for _ in range(3):
        opt.step(closure)
        sched.step()
    assert opt.gamma() == pytest.approx(1e4 * 0.999 ** 3, rel=1e-12)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_noise_of_one_inner_step_is_sqrt_lr_y_beta():
    for beta in (2e-8, 1e-2):
        assert ch12.noise_std(beta) == pytest.approx(math.sqrt(0.1 * beta), rel=0.01)
    assert math.sqrt(0.1 * 2e-8) == pytest.approx(ch12.AUTHORS_NOISE, rel=1e-12)


def test_inner_forms_agree_without_inner_momentum_and_differ_with_it():
    P, data = _params(), _data()
    assert ch12.inner_form_gap(P, data, 0.0) == 0.0
    assert ch12.inner_form_gap(P, data, 0.9) > 0.0


def test_bn_reestimation_gives_the_average_of_the_batch_means():
    P, data = _params(), _data()
    model = ch12.fresh_model(P)
    assert ch12.bn_gap(model, data, batch=64) < 1e-5


def test_the_page_uses_table1_settings():
    P, data = _params(), _data()
    settings = {}
    for name in ch12.OPTIMIZERS:
        opt = ch12.make_optimizer(name, ch12.fresh_model(P).parameters())
        settings[name] = dict(opt.defaults, L=ch12.grads_per_step(opt))
        if name == "HJ":
            settings[name]["form"] = opt.form
    assert all(ch12.same_as_table1(settings, "lenet").values())
    settings["Entropy-SGD"]["beta_ex_inv"] = 1e-8
    assert not ch12.same_as_table1(settings, "lenet")["Entropy-SGD"]


def test_shown_source_fits_the_text_width_and_wide_code_is_refused():
    for f in ch12.SHOWN:
        assert max(len(line) for line in inspect.getsource(f).splitlines()) <= ch12.WIDTH
    md = ch12.source_text(ch12.make_closure)
    assert md.startswith("```python\ndef make_closure(") and md.endswith("\n```")
    with pytest.raises(ValueError, match="wider than"):
        ch12.source_text(ch12.compute)


def test_budgets_must_be_multiples_of_20():
    with pytest.raises(ParamError, match="multiple of 20"):
        ch12.Params.from_preset("fast", budget=310)


def test_the_attempts_are_refused_and_the_recipes_accepted():
    P, data = _params(), _data()
    got = ch12.refusals(P, data)
    assert got == {
        "EntropySGD(lr=0.1, gamma=0.03, L=5)": "lr_y/gamma = 3.333 exceeds 2",
        "the same with lr_y=0.01": "lr/gamma = 3.333 exceeds 1.357",
        "HJ(lr=1, gamma=0.3)": "lr/gamma = 3.333 exceeds 2",
        'EntropySGD.recipe(params, "mnist")': "accepted",
        'HJ.recipe(params, "mnist")': "accepted",
        'HEAT.recipe(params, "mnist")': "accepted"}
    assert list(ch12.refusals_frame(SimpleNamespace(refusals=got)).index) == list(got)


def _passing_result(P):
    """A Result-like object whose values pass every claim (to vary one at a time)."""
    log = {"grads": [P.budget], "loss": [0.01], "error": [2.0], "stale": [2.0]}
    steps = {"SGD": 1, "Entropy-SGD": 20, "HJ": 5, "HEAT": 20}
    return SimpleNamespace(
        params=P, logs={n: log for n in ch12.OPTIMIZERS}, grads_per_step=steps,
        updates={n: P.budget // L for n, L in steps.items()},
        refusals={label: ("accepted" if label.endswith('"mnist")') else "refused")
                  for label in ch12.ATTEMPTS},
        table1_settings={n: True for n in ch12.OPTIMIZERS},
        pitfall={"error": [90.0]}, noise={"ours": ch12.AUTHORS_NOISE},
        printed_error=90.0, forms={"no momentum": 0.0, "momentum 0.9": 1e-6},
        gammas={"Entropy-SGD": (1.0, 1.0)}, bn_gap=0.0)


def test_the_claims_say_what_they_check_and_the_noise_claim_can_fail():
    """All claims are checks of this software but the printed-constant one; the noise
    claim fails for the conventions it must tell apart: σ = √β_ex⁻¹ without η_y, or
    the printed-exponent reading β_ex⁻¹ = 1e-8 (std 0.71×), measured as the page does."""
    P = _params()
    cs = C.by_name(ch12.claims(_passing_result(P)))
    C.check(cs.values())
    assert C.labelling_errors(cs.values()) == []
    assert {n for n, c in cs.items() if c.status != "check"} == {"printed_beta_fails"}
    assert cs["printed_beta_fails"].status == "corrected"
    assert all(c.source == "ours" for n, c in cs.items() if n != "printed_beta_fails")
    R = _passing_result(P)
    for wrong in (math.sqrt(2e-8), ch12.noise_std(1e-8)):
        R.noise = {"ours": wrong}
        assert not C.by_name(ch12.claims(R))["noise_std"].passed
    R.noise = {"ours": ch12.noise_std(2e-8)}
    assert C.by_name(ch12.claims(R))["noise_std"].passed
    R.refusals = dict(R.refusals, **{'HJ.recipe(params, "mnist")': "lr/gamma = 3 exceeds 2"})
    assert not C.by_name(ch12.claims(R))["refused_and_accepted"].passed
    R.printed_error = 12.0
    assert not C.by_name(ch12.claims(R))["printed_beta_fails"].passed


def test_the_authors_noise_is_their_update_written_out():
    """η_y·ε/√(η_y/2) = ε√(2η_y) (ε = 1e-4, η_y = 0.1), and the tolerance is 5 s.e. of a
    sample std, 1/√(2(n − 1)) relative."""
    assert ch12.AUTHORS_NOISE == pytest.approx(1e-4 * math.sqrt(0.2), rel=1e-15)
    assert ch12.NOISE_SE == pytest.approx(1 / math.sqrt(2 * 199_999), rel=1e-15)


@pytest.mark.slow
def test_the_chapters_claims_hold_on_the_fast_preset():
    R = ch12.compute(ch12.Params.from_preset("fast"))
    cs = ch12.claims(R)
    C.by_name(cs)
    C.check(cs)
    assert C.labelling_errors(cs) == []
    # the learns_* claims are errors on the same 1,000 images (steps of 0.1 %): two
    # optimizers may make the same number of mistakes without one check written twice
    assert [d for d in C.duplicates(cs) if not all(n.startswith("learns_") for n in d)] == []
    assert len(cs) == 17
