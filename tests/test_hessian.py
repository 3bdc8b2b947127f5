"""deeprelax.hessian: HVPs against the exact Hessian and finite differences, Lanczos against
dense eigendecompositions, quadrature and local entropy against closed forms."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from deeprelax import hessian


def small_net(seed=0):
    """A float64 MLP with BN and dropout (n = 131): small enough for torch.func.hessian."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(6, 10), nn.ReLU(),
                        nn.BatchNorm1d(10), nn.Dropout(0.3), nn.Linear(10, 5)).double()
    x = torch.randn(64, 1, 2, 3, dtype=torch.float64)
    y = torch.randint(0, 5, (64,))
    net.train()
    for _ in range(3):                 # give BN running statistics that are not the default
        net(x)
    return net, x, y


@pytest.fixture(scope="module")
def objective():
    net, x, y = small_net()
    return hessian.Objective(net, x, y, chunk=25)    # three chunks, the last one short


@pytest.fixture(scope="module")
def dense(objective):
    return objective.dense_hessian().numpy()


def test_objective_is_the_eval_mode_loss(objective):
    net = objective.model
    assert not net.training
    ref = nn.functional.cross_entropy(net(objective.x), objective.y).item()
    assert objective.loss() == pytest.approx(ref, rel=1e-12)
    assert objective.n == 6 * 10 + 10 + 20 + 10 * 5 + 5


def test_dense_hessian_is_torch_func_hessian_of_the_whole_loss(objective, dense):
    from torch.func import hessian as th
    full = th(lambda t: objective._chunk_loss(t, 0, objective.N))(objective.theta).numpy()
    assert np.abs(dense - full).max() <= 1e-12 * np.abs(full).max()
    assert np.abs(dense - dense.T).max() <= 1e-12 * np.abs(dense).max()


def test_hvp_is_the_exact_hessian_times_v(objective, dense):
    v = np.random.default_rng(0).standard_normal(objective.n)
    hv = objective.matvec(v)
    assert np.linalg.norm(hv - dense @ v) <= 1e-12 * np.linalg.norm(hv)
    V = np.random.default_rng(1).standard_normal((3, objective.n))
    assert np.abs(objective.matmat(V) - V @ dense).max() <= 1e-12 * np.abs(V @ dense).max()


def test_hvp_is_the_central_difference_of_gradients(objective):
    v = torch.from_numpy(np.random.default_rng(2).standard_normal(objective.n))
    h, th = 1e-6, objective.theta
    fd = (objective.grad(th + h * v) - objective.grad(th - h * v)) / (2 * h)
    hv = objective.hvp(v)
    assert float((fd - hv).norm() / hv.norm()) <= 1e-6


def test_lanczos_top_eigenvalues_match_the_dense_eigendecomposition(objective, dense):
    eig = np.linalg.eigvalsh(dense)[::-1]
    top = hessian.top_eigenpairs(objective.matvec, objective.n, 4, 60, seed=3)
    assert np.abs(top["values"] - eig[:4]).max() <= 1e-8 * eig[0]
    assert top["residuals"].max() <= 1e-6 * eig[0]
    for lam, vec in zip(top["values"], top["vectors"]):
        assert np.linalg.norm(dense @ vec - lam * vec) <= 1e-6 * eig[0]
    assert top["ritz"].min() >= eig[-1] - 1e-10       # Ritz values lie in [λ_min, λ_max]


def test_lanczos_stops_on_an_invariant_subspace():
    A = np.diag(np.arange(1.0, 11.0))
    v0 = np.zeros(10)
    v0[[2, 7]] = 1.0                                    # spans a 2-dimensional invariant space
    alpha, beta, Q = hessian.lanczos(lambda v: A @ v, v0, 8)
    assert len(alpha) == 2
    assert np.allclose(np.linalg.eigvalsh(hessian._tridiagonal(alpha, beta)), [3.0, 8.0])
    assert np.allclose(Q @ Q.T, np.eye(2))


def test_slq_is_exact_for_the_trace_and_log_det_of_a_diagonal_matrix():
    d = np.linspace(0.01, 3.0, 40)
    nodes, weights = hessian.slq(lambda v: d * v, d.size, 40, 3, seed=0)
    assert np.allclose(weights.sum(1), 1.0)
    # Rademacher probes: vᵀDv/|v|² = tr D / n for every probe; m = n nodes integrate log
    assert hessian.slq_sum(nodes, weights, lambda t: t, d.size) == pytest.approx(d.sum(),
                                                                                rel=1e-10)
    assert hessian.slq_sum(nodes, weights, np.log, d.size) == pytest.approx(
        np.log(d).sum(), rel=1e-8)
    batched = hessian.slq(None, d.size, 40, 3, seed=0, matmat=lambda V: V * d)
    assert np.allclose(batched[0], nodes) and np.allclose(batched[1], weights)


def test_broadened_density_and_smoothed_mass():
    lam = np.array([-1.0, 0.0, 0.0, 2.0])
    w = np.full(4, 0.25)
    grid = np.linspace(-5, 7, 4001)
    dens = hessian.broadened(lam, w, grid, 0.1)
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-8)
    assert hessian.smoothed_mass(lam, w, 0.5, 0.1) == pytest.approx(0.5, abs=1e-6)


def quadratic(n=30, seed=0):
    """f(θ) = gᵀθ + ½θᵀAθ with A = V diag(λ) Vᵀ, λ in [0, 5]; f(0) = 0."""
    rng = np.random.default_rng(seed)
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.sort(rng.uniform(0, 5, n))[::-1]
    A = V @ np.diag(lam) @ V.T
    g = 0.1 * rng.standard_normal(n)
    losses = lambda Th: Th @ g + 0.5 * np.einsum("mi,ij,mj->m", Th, A, Th)  # noqa: E731
    return A, g, lam, V.T, losses


def exact_local_entropy(A, g, gamma, beta):
    """Example 13 in n dimensions, with a gradient: f_γ(0) for the quadratic."""
    n = len(g)
    M = np.eye(n) + gamma * A
    return 0.5 / beta * np.linalg.slogdet(M)[1] - 0.5 * gamma * g @ np.linalg.solve(M, g)


def test_local_entropy_is_exact_with_the_quadratic_proposal():
    A, g, lam, V, losses = quadratic()
    gamma, beta = 0.7, 50.0
    shift = -gamma * np.linalg.solve(np.eye(len(g)) + gamma * A, g)
    le = hessian.local_entropy(losses, np.zeros(len(g)), gamma, beta, 200, v=V[0], seed=1,
                               shift=shift, eigvecs=V, eigvals=lam)
    assert le["ess"] == pytest.approx(200, rel=1e-9)            # all weights equal
    assert le["f_gamma"] == pytest.approx(exact_local_entropy(A, g, gamma, beta), rel=1e-9)
    # the curvature along v₁ is λ₁/(1 + γλ₁) up to the stratified sample variance of c
    assert le["curvature"] == pytest.approx(lam[0] / (1 + gamma * lam[0]), rel=0.03)
    assert le["curvature"] <= 1 / gamma


def test_local_entropy_without_a_proposal_converges_to_the_closed_form():
    A, g, lam, V, losses = quadratic(seed=2)
    gamma, beta = 0.05, 20.0
    le = hessian.local_entropy(losses, np.zeros(len(g)), gamma, beta, 4000, v=V[0], seed=4)
    exact = exact_local_entropy(A, g, gamma, beta)
    assert le["f_gamma"] == pytest.approx(exact, rel=0.05)
    assert le["curvature"] == pytest.approx(lam[0] / (1 + gamma * lam[0]), abs=0.2 / gamma
                                            / math.sqrt(4000) * 10)


def test_resolvent_from_lanczos_solves_the_shifted_system():
    A, g, lam, V, _ = quadratic(n=25, seed=5)
    alpha, beta, Q = hessian.lanczos(lambda v: A @ v, g, 25)
    x = hessian.resolvent_times(alpha, beta, Q, np.linalg.norm(g), 0.3)
    assert np.allclose(x, np.linalg.solve(np.eye(25) + 0.3 * A, g), atol=1e-10)


def test_slices_and_normalised_directions():
    A, g, lam, V, losses = quadratic(seed=6)
    theta = np.random.default_rng(0).standard_normal(len(g))
    d = hessian.normalised_direction(V[0], theta)
    assert np.linalg.norm(d) == pytest.approx(np.linalg.norm(theta))
    a = np.linspace(-1, 1, 5)
    f = hessian.slice_1d(losses, theta, d, a)
    f0 = losses(theta[None])[0]
    slope = (g + A @ theta) @ d
    assert np.allclose(f, f0 + a * slope + 0.5 * a ** 2 * lam[0] * (d @ d))
    layers = [(0, 10, 1.0), (10, 30, 2.0)]
    dl = hessian.normalised_direction(np.ones(30), theta, "layer", layers)
    assert np.linalg.norm(dl[:10]) == pytest.approx(1.0)
    assert np.linalg.norm(dl[10:]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="mode"):
        hessian.normalised_direction(d, theta, "filter")


def test_weights_round_trip_and_bad_files(tmp_path):
    net, x, _ = small_net(1)
    path = hessian.save_weights(net, hessian.weights_path("tiny", "sgd", 0, tmp_path))
    assert path.name == "tiny-sgd-seed0.pt"
    other, _, _ = small_net(2)
    hessian.load_weights(other, path)
    other.eval(), net.eval()
    assert torch.equal(other(x), net(x))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        hessian.load_weights(other, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="does not fit"):
        hessian.load_weights(nn.Linear(3, 2), path)


def test_bad_objective_and_dense_limits():
    net, x, y = small_net()
    with pytest.raises(ValueError, match="labels"):
        hessian.Objective(net, x, y[:3])
    big = nn.Linear(100, 60).double()
    ob = hessian.Objective(big, torch.randn(4, 100, dtype=torch.float64), torch.zeros(4).long())
    with pytest.raises(ValueError, match="small nets"):
        ob.dense_hessian()
