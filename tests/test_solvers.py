"""fastlogreg.solvers: every solver reaches the optimum through the fused kernels only.

The optimum is checked with the NumPy reference backend (the oracle): its gradient at
the returned parameters must be at most ``tol`` in max-norm, and the three solvers must
agree. Tolerances: ``tol`` itself for gradients; objectives agree to ``OBJ_RTOL`` (at a
gradient of 1e-10 the objective is within ~g^2/l2 ~ 1e-16 relative of the optimum, so
1e-12 leaves room for float64 summation order); "sgd" stops at tol=1e-6.
"""

import math

import numpy as np
import pytest
from scipy import special

from fastlogreg import solvers
from fastlogreg._problems import BinaryProblem, MultinomialProblem

from conftest import SEED

OBJ_RTOL = 1e-12


def _binary_objective(backend, n=300, d=5, fit_intercept=True, weighted=True, l2=1e-2):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 3.0, d)  # mildly ill-conditioned
    y = (rng.random(n) < special.expit(X @ rng.standard_normal(d) + 0.4)).astype(float)
    sw = rng.uniform(0.1, 2.0, n) if weighted else None
    return solvers.Objective(BinaryProblem(X, y, sw), l2, fit_intercept, backend)


def _multinomial_objective(backend, n=300, d=4, n_classes=3, fit_intercept=True, l2=1e-2):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((n, d))
    P = special.softmax(X @ rng.standard_normal((n_classes, d)).T, axis=1)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return solvers.Objective(MultinomialProblem(X, y, n_classes, rng.uniform(0.1, 2.0, n)), l2,
                             fit_intercept, backend)


def _oracle_grad_max(obj, theta):
    oracle = solvers.Objective(obj.problem, obj.l2, obj.fit_intercept, "numpy")
    return float(np.max(np.abs(oracle.loss_grad(theta)[1])))


@pytest.mark.parametrize("make", [_binary_objective, _multinomial_objective], ids=["binary", "multinomial"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_solvers_reach_the_same_optimum(backend, make, fit_intercept):
    results = {}
    for solver, tol in (("lbfgs", 1e-9), ("newton", 1e-10), ("sgd", 1e-6)):
        obj = make(backend, fit_intercept=fit_intercept)
        r = solvers.minimize(obj, np.zeros(obj.n_params), solver, tol=tol, max_iter=2000, random_state=0)
        assert r.converged and not r.hit_max_iter, (solver, r.message)
        if solver != "lbfgs":  # L-BFGS-B may also stop on its relative-decrease test
            assert r.grad_max <= tol
            assert _oracle_grad_max(obj, r.theta) <= tol * (1 + 1e-6) + 1e-15
        assert r.theta.shape == (obj.n_params,)
        results[solver] = r
    best = results["newton"].loss
    assert results["lbfgs"].loss == pytest.approx(best, rel=OBJ_RTOL)
    assert results["sgd"].loss == pytest.approx(best, rel=1e-8)
    # strong convexity (l2): |theta - theta*| <= |g| / l2
    obj = make(backend, fit_intercept=fit_intercept)
    bound = math.sqrt(obj.n_params) * 1e-10 / obj.l2
    assert np.linalg.norm(results["lbfgs"].theta - results["newton"].theta) <= 1e-6 * np.linalg.norm(
        results["newton"].theta) + bound + 1e-7


def test_newton_converges_quadratically(backend):
    obj = _binary_objective(backend)
    r = solvers.newton(obj, np.zeros(obj.n_params), tol=1e-12, max_iter=50)
    assert r.converged and r.n_iter <= 12
    # few passes: one loss_grad per iteration (+ rare backtracking) and a few CG products
    assert r.n_loss_grad <= 2 * r.n_iter + 1
    assert r.n_hessp <= 10 * r.n_iter


def _large_multinomial_objective(backend, n=8000, rare_sampled_rows=False):
    """Enough rows per parameter for Newton's sampled Hessian (every 20th row). With
    ``rare_sampled_rows`` the sampled rows are near zero: their Hessian is about the
    penalty alone, a poor model of the full one."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((n, 4))
    if rare_sampled_rows:
        X[:: solvers.HESSIAN_STRIDE] *= 1e-3
    P = special.softmax(X @ rng.standard_normal((3, 4)).T, axis=1)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    problem = MultinomialProblem(X, y, 3, rng.uniform(0.1, 2.0, n))
    return solvers.Objective(problem, 1e-3, True, backend)


@pytest.mark.parametrize("rare_sampled_rows", [False, True], ids=["sample", "poor-sample"])
def test_newton_with_sampled_hessian_reaches_the_optimum(backend, rare_sampled_rows, monkeypatch):
    """The sampled Hessian only steers the steps: the gradient and the stopping test stay
    exact, so the optimum is the one L-BFGS reaches. A sample that misrepresents the
    Hessian is abandoned for the full one."""
    rows_seen = []
    original = solvers.Objective.hessp

    def spy(self, theta, v):
        rows_seen.append(self.problem.n_samples)
        return original(self, theta, v)

    monkeypatch.setattr(solvers.Objective, "hessp", spy)
    obj = _large_multinomial_objective(backend, rare_sampled_rows=rare_sampled_rows)
    n = obj.problem.n_samples
    assert solvers.hessian_sample_stride(n, obj.n_params) == solvers.HESSIAN_STRIDE
    r = solvers.newton(obj, np.zeros(obj.n_params), tol=1e-10, max_iter=200)
    assert r.converged and r.grad_max <= 1e-10
    assert _oracle_grad_max(obj, r.theta) <= 1e-10 * (1 + 1e-6) + 1e-15
    sampled = -(-n // solvers.HESSIAN_STRIDE)
    assert rows_seen[0] == sampled
    assert set(rows_seen) == ({sampled, n} if rare_sampled_rows else {sampled})
    # the pass count charges each sampled product 1/20 of a pass
    assert r.n_hessp == pytest.approx(rows_seen.count(sampled) / solvers.HESSIAN_STRIDE
                                      + rows_seen.count(n))
    reference = _large_multinomial_objective(backend, rare_sampled_rows=rare_sampled_rows)
    lb = solvers.lbfgs(reference, np.zeros(reference.n_params), tol=1e-10, max_iter=2000)
    assert lb.loss == pytest.approx(r.loss, rel=OBJ_RTOL)


def test_newton_skips_a_sample_without_weight():
    """Every sampled row has zero weight: no sampled Hessian (its weights sum to zero)."""
    obj = _large_multinomial_objective("numpy")
    problem = obj.problem
    sw = problem.sample_weight.copy()
    sw[:: solvers.HESSIAN_STRIDE] = 0.0
    obj = solvers.Objective(MultinomialProblem(problem.X, problem.labels, 3, sw), obj.l2)
    stride, hess_obj = solvers._hessian_sample(obj)
    assert stride == 1 and hess_obj is obj
    r = solvers.newton(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=50)
    assert r.converged


def test_auto_picks_sampled_newton_for_many_rows_and_classes():
    assert solvers.choose_solver(200_000, 50, 10) == "newton"
    assert solvers.choose_solver(20_000, 50, 10) == "lbfgs"  # too few rows per parameter
    assert solvers.choose_solver(500_000, 100, 2) == "lbfgs"  # binary: L-BFGS ties or wins
    assert solvers.choose_solver(500, 5, 2, tol=1e-10) == "newton"
    # the sample: every 20th row, or sparser to stay at 128 rows per parameter
    assert solvers.hessian_sample_stride(200_000, 510) == 20
    assert solvers.hessian_sample_stride(8_000_000, 510) == 8_000_000 // (128 * 510)
    assert solvers.hessian_sample_stride(100_000, 510) == 1


def test_lbfgs_does_one_pass_per_evaluation(backend):
    obj = _multinomial_objective(backend)
    r = solvers.lbfgs(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=500)
    assert r.converged
    assert r.n_hessp == 0
    assert r.n_loss_grad <= r.n_iter + 5  # the line search almost always takes the first step


@pytest.mark.parametrize("solver", solvers.SOLVERS)
def test_max_iter_stops_and_is_reported(solver):
    obj = _binary_objective("numpy")
    r = solvers.minimize(obj, np.zeros(obj.n_params), solver, tol=1e-14, max_iter=2, random_state=0)
    assert r.hit_max_iter and not r.converged
    assert r.n_iter == 2
    assert r.grad_max > 1e-14


def test_objective_flat_layout_matches_problem(backend):
    obj = _multinomial_objective(backend)
    rng = np.random.default_rng(SEED)
    theta = rng.standard_normal(obj.n_params)
    loss, grad = obj.loss_grad(theta)
    W = theta[:12].reshape(3, 4)
    b = theta[12:]
    loss_ref, gW, gb = obj.problem.loss_grad(W, b, l2=obj.l2, backend="numpy")
    assert loss == pytest.approx(float(loss_ref), rel=1e-13)
    np.testing.assert_allclose(grad, np.concatenate([gW.ravel(), gb]), rtol=1e-11, atol=1e-14)
    # hessp against central differences of the oracle's gradient
    v = rng.standard_normal(obj.n_params)
    h = 1e-5
    oracle = solvers.Objective(obj.problem, obj.l2, True, "numpy")
    fd = (oracle.loss_grad(theta + h * v)[1] - oracle.loss_grad(theta - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(obj.hessp(theta, v), fd, rtol=1e-6, atol=1e-8)


def test_conjugate_gradient_solves_spd_system():
    rng = np.random.default_rng(SEED)
    A = rng.standard_normal((8, 8))
    H = A @ A.T + 0.1 * np.eye(8)
    g = rng.standard_normal(8)
    p = solvers._conjugate_gradient(lambda v: H @ v, g, 1e-12, 100)
    np.testing.assert_allclose(H @ p, -g, atol=1e-10)


@pytest.mark.parametrize("make", [_binary_objective, _multinomial_objective], ids=["binary", "multinomial"])
def test_curvature_bound_bounds_the_hessian(make):
    """The SGD step comes from L: it must bound the largest Hessian eigenvalue anywhere.
    The dense Hessian is built independently here, column by column from the oracle."""
    obj = make("numpy")
    L = solvers.curvature_bound(obj, n_rows=10_000)
    rng = np.random.default_rng(SEED)
    oracle = solvers.Objective(obj.problem, obj.l2, obj.fit_intercept, "numpy")
    for theta in (np.zeros(obj.n_params), rng.standard_normal(obj.n_params)):
        H = np.column_stack([oracle.hessp(theta, e) for e in np.eye(obj.n_params)])
        top = np.linalg.eigvalsh((H + H.T) / 2).max()
        assert top <= L * (1 + 1e-6)
    if not obj.multinomial:  # tight for the logistic model: the maximum is at theta = 0
        H0 = np.column_stack([oracle.hessp(np.zeros(obj.n_params), e) for e in np.eye(obj.n_params)])
        assert L == pytest.approx(np.linalg.eigvalsh(H0).max(), rel=1e-3)


def test_sgd_recovers_from_a_too_long_step():
    obj = _binary_objective("numpy")
    state = {"eta": 1e3}  # far beyond 1/L: epochs are undone and the step halves
    r = solvers.sgd(obj, np.zeros(obj.n_params), tol=1e-6, max_iter=500, random_state=0, state=state)
    assert r.converged
    assert state["eta"] < 1e3


def test_verbose_lines(capsys):
    obj = _binary_objective("numpy")
    r = solvers.newton(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=50, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == r.n_iter + 2  # header, start, one per iteration
    assert lines[0].split()[2:] == ["iter", "objective", "grad_max", "time_s"]
    times = [float(line.split()[5]) for line in lines[1:]]
    assert times == sorted(times)


def test_unknown_solver():
    obj = _binary_objective("numpy")
    with pytest.raises(ValueError, match="solver must be one of"):
        solvers.minimize(obj, np.zeros(obj.n_params), "bfgs")
