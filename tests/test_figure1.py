"""Figure 1's caption as numbers (Sec. 1): convexity, minimiser, metastability, mass."""
import numpy as np
import pytest

from deeprelax import landscapes
from deeprelax.chapters import ch01_introduction as figure1
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def claims():
    p = figure1.Figure1Params.from_preset("fast", n_grid=701)
    return figure1.claims(figure1.compute(p))


def test_viscous_solution_is_convex_with_the_global_minimiser(claims):
    assert claims["min_uxx_viscous"] > 0.05
    assert abs(claims["x_min_viscous"] - claims["x_global_f"]) < 0.05


def test_sgd_is_metastable_and_relaxed_dynamics_are_not(claims):
    assert abs(claims["x_start_well"] - (-1.19)) < 0.02
    assert claims["sgd_mass_start_well"] > 0.8
    assert claims["sgd_mass_global_well"] < 0.15
    assert claims["viscous_mass_global_well"] > 0.95
    assert claims["hj_mass_global_well"] > claims["sgd_mass_global_well"]


def test_mass_conserved(claims):
    assert claims["mass_error"] < 1e-10


def test_solutions_converge_to_f_as_t_to_0():
    x = np.linspace(-3.5, 3.5, 3501)
    f = landscapes.figure1().on_grid(x)
    t = np.geomspace(2e-5, 1e-3, 4)
    c = figure1.convergence_to_f(f, x, 2.0, t)
    slope = np.polyfit(np.log(t), np.log(c["viscous"]), 1)[0]
    assert 0.9 < slope < 1.1
    lip = np.abs(landscapes.figure1().grad(x[:, None])).max()
    assert np.all(c["hj"] <= t * lip**2 / 2 + 1e-12) and c["hj"][-1] > 0


def test_figure1_landscape_minima():
    x = np.linspace(-2.5, 2.5, 5001)
    f = landscapes.figure1().on_grid(x)
    mins = x[landscapes.local_minima(f)]
    assert np.allclose(mins, [-1.19, -0.33, 0.5, 1.57], atol=0.02)
    assert abs(x[np.argmin(f)] - 0.5) < 1e-3


def test_bad_parameters():
    with pytest.raises(ParamError, match="T must lie"):
        figure1.Figure1Params.from_preset("fast", T=-1.0)
