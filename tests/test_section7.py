"""Sec. 7 chapter computations: update directions of the optimizers vs the PDE gradients (1-D)."""

import numpy as np
import pytest
import torch

from deeprelax.chapters import ch07_algorithms as section7
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    torch.set_num_threads(1)
    P = section7.Section7Params.from_preset("fast", chains=200, L=400, n_x=7, L_heat=50)
    return P, section7.compute(P)


def test_entropy_sgd_direction_is_the_local_entropy_gradient(result):
    P, r = result
    z = np.abs(r["entropy-sgd"] - r["cole_hopf"]) / r["entropy-sgd_se"]
    assert z.max() < 4.5
    far = np.sqrt(np.mean((r["entropy-sgd"] - r["grad_f"]) ** 2))
    near = np.sqrt(np.mean((r["entropy-sgd"] - r["cole_hopf"]) ** 2))
    assert far > 2 * near


def test_hj_forms_and_hopf_lax(result):
    P, r = result
    assert np.abs(r["hj"] - r["hj_remark21"]).max() < 1e-6     # converged to ~(1 - 0.015)^400
    assert np.abs(r["hj"] - r["hopf_lax"]).max() < 2 * 0.0005 / P.gamma + 1e-3
    # five inner steps of size eta_y against the pull (y - x)/gamma: (x - y_5)/gamma is about
    # 1 - (1 - eta_y/gamma)^5 of grad f (exact for linear f)
    ratio = r["hj_L5"] / r["grad_f"]
    ok = np.abs(r["grad_f"]) > 0.5
    assert np.allclose(ratio[ok], 1 - (1 - P.lr_y / P.gamma) ** 5, rtol=0.05)


def test_heat_direction_is_the_smoothed_gradient(result):
    P, r = result
    assert (np.abs(r["heat"] - r["heat_smoothed"]) / r["heat_se"]).max() < 4.5


def test_parameters_are_checked():
    assert section7.convexity_bound() == pytest.approx(0.0283, abs=2e-4)
    with pytest.raises(ParamError):
        section7.Section7Params.from_preset("fast", lr_y=1.0)
    with pytest.raises(ValueError, match="unknown algorithm"):
        section7.direction("adam", np.zeros(1), section7.Section7Params())
