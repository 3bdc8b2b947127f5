"""Chapter 07 (Sec. 7): the chapter's claims on a smaller run, and closed forms."""
import numpy as np
import pytest
import torch

from deeprelax.pde import landscapes
from deeprelax.train import optim
from deeprelax.chapters import ch07_algorithms as ch07
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    torch.set_num_threads(1)
    P = ch07.Params.from_preset("fast", chains=200, n_x=9, L_heat=100, n_grid=3501,
                                noise_samples=50_000)
    return ch07.compute(P)


def test_the_chapters_claims_hold_on_a_smaller_run(result):
    claims = ch07.claims(result)
    check(claims)
    assert len(by_name(claims)) == 13
    assert {c.name for c in claims if c.status == "corrected"} == {
        "noise_z_eta", "noise_z_variances", "noise_z_printed"}
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "gamma_convex", "esgd_vs_grad_f", "heat_vs_grad_f", "hj_L5_gain_err"}


def test_the_noise_check_simulates_32_and_rejects_the_sum_without_eta_y(result):
    """One step of (32) with minibatch gradients has β⁻¹ = η_yβ_mb⁻¹ + β_ex⁻¹. The old
    check sampled the sum of two Gaussians with variances 1 and r, which agrees with
    β⁻¹ = β_mb⁻¹ + β_ex⁻¹ by construction and could not see the factor η_y."""
    m = ch07.measures(result)
    assert result.params.noise_lr_y == 0.1
    assert m["noise_z_eta"] <= ch07.Z_MAX and m["noise_z_variances"] >= 10


def test_one_step_of_32_has_variance_eta_y_squared_beta_mb_plus_eta_y_beta_ex():
    r = np.array([0.0, 0.5])
    for lr_y in (0.1, 1.0):
        std, se = ch07.inner_step_noise(r, 40_000, lr_y, seed=3)
        assert np.all(np.abs(std - np.sqrt(lr_y + r)) < 4.5 * se)
        assert np.allclose(se, std / np.sqrt(2 * 40_000), rtol=0.05)   # near Gaussian


def test_converged_hj_is_the_proximal_gradient_on_a_quadratic():
    """f = a x²/2: prox_γ(x) = x/(1 + aγ), so ∇u(x, γ) = a x/(1 + aγ) (eq. (14))."""
    a, gamma = 3.0, 0.1
    quad = landscapes.Quadratic(Q=((a,),))
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    w = torch.nn.Parameter(x.clone())
    opt = optim.HJ([w], lr=1.0, gamma=gamma, L=2000, lr_y=0.01, momentum=0.0,
                   gamma_decay=0.0)
    opt.step(ch07.closure(w, quad))
    assert np.allclose((x - w.detach()).numpy(), a * x.numpy() / (1 + a * gamma),
                       atol=1e-10)


def test_the_newton_prox_agrees_with_the_grid_prox(result):
    """Newton's proximal point and the core's grid prox (eq. (14)) give the same ∇u."""
    from deeprelax.pde.hopf_lax import prox
    P = result.params
    xs = np.linspace(-3.5, 3.5, 7001)
    grid = (xs - prox(landscapes.figure1().on_grid(xs), xs, P.gamma)) / P.gamma
    x = np.linspace(-2, 2, 161)
    exact = ch07.hopf_lax_gradient(x, P)
    assert np.abs(exact - np.interp(x, xs, grid)).max() < (xs[1] - xs[0]) / P.gamma


def test_five_hj_steps_on_a_linear_loss_give_the_flat_gain(result):
    """f linear: (x − y_5)/γ = (1 − (1 − η_y/γ)^5) ∇f exactly (the gain at f'' = 0)."""
    P = result.params
    g = float(ch07.hj_short_gain(P))
    assert g == pytest.approx(1 - (1 - P.lr_y / P.gamma) ** 5, rel=1e-14)
    assert ch07.hj_short_gain(P, 80.0) < g < ch07.hj_short_gain(P, -30.0)
    line = landscapes.Quadratic(Q=((0.0,),), b=(2.0,))
    x = torch.zeros(2, dtype=torch.float64)
    w = torch.nn.Parameter(x.clone())
    opt = optim.HJ([w], lr=1.0, gamma=P.gamma, L=5, lr_y=P.lr_y, momentum=0.0,
                   gamma_decay=0.0)
    opt.step(ch07.closure(w, line))
    assert np.allclose((x - w.detach()).numpy(), 2.0 * g, rtol=1e-12)


def test_the_noise_rules_differ_by_the_cross_term(result):
    """(1 + √r)² − (1 + r) = 2√r: the printed rule adds the cross term of the stds."""
    pred = ch07.noise_predictions(result)
    r = result.noise_ratio
    assert np.allclose(pred["printed"] ** 2 - pred["variances"] ** 2, 2 * np.sqrt(r))
    assert np.all(pred["printed"] > pred["variances"])


def test_update_frame_shows_formatted_strings(result):
    x = torch.tensor([0.0, 1.0], dtype=torch.float64)
    frame = ch07.update_frame(x, torch.nn.Parameter(x.clone()), result)
    assert frame.shape == (2, 3)
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
    assert list(frame.iloc[:, 1]) == ["0.000000", "0.000000"]    # w did not move


def test_parameters_are_checked():
    assert ch07.convexity_bound() == pytest.approx(0.0283, abs=2e-4)
    with pytest.raises(ParamError):
        ch07.Params.from_preset("fast", lr_y=1.0)
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['l'\]"):
        ch07.Params.from_notebook({"preset": "fast", "l": 5})
    with pytest.raises(ValueError, match="unknown algorithm"):
        ch07.direction("adam", np.zeros(1), ch07.Params())
