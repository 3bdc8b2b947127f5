"""Lemma 1: the Cole-Hopf formula (11) solves (viscous-HJ); Example 13's closed form."""
import numpy as np
import pytest

from deeprelax.pde import fd, landscapes, semiconcavity
from deeprelax.chapters import ch03_local_entropy as ch03
from deeprelax.pde.local_entropy import local_entropy


def test_heat_equation_coefficient_is_half_beta_inverse():
    # The FD scheme for u_t = -|u'|^2/2 + (1/(2 beta)) u'' agrees with (11) (kernel variance
    # t/beta), not with the doubled variance 2t/beta that v_t = beta^-1 v'' would give.
    land = ch03.landscape_1d(1)
    x = np.linspace(-5, 5, 401)
    f = land.on_grid(x)
    u_fd = fd.viscous_hj(f, x, 0.2, 2.0)
    m = np.abs(x) <= 3
    assert np.abs(u_fd - local_entropy(f, x, 0.2, 2.0))[m].max() < 0.02
    assert np.ptp((u_fd - local_entropy(f, x, 0.4, 2.0))[m]) > 0.3


@pytest.mark.parametrize("n, N", [(1, 801), (2, 301)])
def test_example13_closed_form_to_round_off(n, N):
    x = np.linspace(-6, 6, N)
    axes = (x,) * n
    X = landscapes.grid_points(axes)
    r2 = np.sum(X**2, axis=-1)
    m = r2 <= 9
    for c in (0.5, 4.0):
        for t in (0.1, 1.0):
            u = local_entropy(0.5 * c * r2, axes, t, 2.0)
            ex = semiconcavity.example13(X, t, c, 2.0)
            assert np.abs(u - ex)[m].max() / np.abs(ex[m]).max() < 1e-9
            printed = semiconcavity.example13_as_printed(X, t, c, 2.0)
            assert np.abs(printed - ex)[m].max() == pytest.approx(n / 4 * abs(np.log(c)))


def test_local_entropy_reduces_to_f_at_t0_and_rejects_bad_input():
    x = np.linspace(-1, 1, 5)
    assert np.array_equal(local_entropy(x**2, x, 0.0, 1.0), x**2)
    with pytest.raises(ValueError, match="beta"):
        local_entropy(x**2, x, 1.0, 0.0)
    with pytest.raises(ValueError, match="t must be"):
        local_entropy(x**2, x, -1.0, 1.0)


def test_all_minus_infinity_rows_stay_minus_infinity():
    # log-domain convolution of exp(-inf) rows (used by the Gibbs expectations) is exact and fast
    from deeprelax.pde.heat import log_gaussian_smoothing
    x = np.linspace(-2, 2, 41)
    a = np.full((41, 41), -np.inf)
    a[20, 20] = 0.0
    out = log_gaussian_smoothing(a, (x, x), 0.1)
    dx = x[1] - x[0]
    expected = -(x[:, None] ** 2 + x[None, :] ** 2) / 0.2 - np.log(2 * np.pi * 0.1) + 2 * np.log(dx)
    assert np.allclose(out, expected, atol=1e-10)
