"""Every solver reaches the same minimiser of the same objective."""

import warnings

import numpy as np
import pytest

import softlogit as sl

from .conftest import make_data

SLOW_KW = {"max_iter": 20_000, "tol": 1e-7, "random_state": 0}


def params(model):
    return np.column_stack([model.coef_, model.intercept_])


def rel_err(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


CASES = {
    "binary": (sl.LogisticRegression, {}, 2),
    "softmax": (sl.SoftmaxRegression, {}, 3),
    "softmax-symmetric": (sl.SoftmaxRegression, {"reference": None}, 3),
    "binary-l2": (sl.LogisticRegression, {"penalty": "l2", "alpha": 0.05}, 2),
    "softmax-l2": (sl.SoftmaxRegression, {"penalty": "l2", "alpha": 0.05}, 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_newton_and_lbfgs_agree_to_1e7(case):
    est, kw, K = CASES[case]
    X, y = make_data(n=500, p=4, n_classes=K, seed=11)
    newton = est(solver="newton", **kw).fit(X, y)
    lbfgs = est(solver="lbfgs", **kw).fit(X, y)
    assert newton.converged_ and lbfgs.converged_
    np.testing.assert_allclose(params(lbfgs), params(newton), atol=1e-7, rtol=0)
    assert newton.solver_ == "newton" and lbfgs.solver_ == "lbfgs"


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
def test_gradient_descent_solvers_reach_newton_solution(case, solver):
    est, kw, K = CASES[case]
    X, y = make_data(n=500, p=4, n_classes=K, seed=11)
    newton = est(solver="newton", **kw).fit(X, y)
    net = est(solver=solver, **kw, **SLOW_KW).fit(X, y)
    assert net.converged_
    assert rel_err(params(net), params(newton)) < 1e-4
    assert len(net.loss_curve_) == net.n_iter_
    assert net.loss_curve_[-1] == pytest.approx(newton.loss_curve_[-1], rel=1e-8)


@pytest.mark.parametrize("solver", ["newton", "lbfgs", "gd", "sgd", "adam"])
def test_loss_curve_records_objective_per_iteration(solver, binary_data):
    X, y = binary_data
    m = sl.LogisticRegression(solver=solver, random_state=0).fit(X, y)
    curve = np.array(m.loss_curve_)
    assert curve.size == m.n_iter_ >= 1
    assert curve[-1] == pytest.approx(m.objective(X, y), rel=1e-12)
    if solver in ("newton", "gd"):
        assert np.all(np.diff(curve) <= 1e-15)


def test_auto_picks_newton_for_small_and_lbfgs_for_large_problems():
    X, y = make_data(n=200, p=3, n_classes=2, seed=1)
    assert sl.LogisticRegression().fit(X, y).solver_ == "newton"
    rng = np.random.default_rng(0)
    Xw = rng.normal(size=(300, 1001)) * 0.01
    m = sl.LogisticRegression(penalty="l2", alpha=1.0).fit(
        Xw, y[:1].repeat(300) ^ (rng.random(300) < 0.5)
    )
    assert m.solver_ == "lbfgs"


def test_convergence_warning_at_max_iter(binary_data):
    X, y = binary_data
    with pytest.warns(sl.ConvergenceWarning, match="did not converge"):
        m = sl.LogisticRegression(solver="lbfgs", max_iter=2).fit(X, y)
    assert not m.converged_
    with pytest.warns(sl.ConvergenceWarning):
        m = sl.LogisticRegression(solver="newton", max_iter=1).fit(X * 5, y)
    assert not m.converged_ and m.n_iter_ == 1


def test_unknown_solver_is_rejected(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="solver='irls'"):
        sl.LogisticRegression(solver="irls").fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_streams_to_the_same_solution(solver):
    X, y = make_data(n=600, p=3, n_classes=3, seed=5)
    target = sl.SoftmaxRegression().fit(X, y)
    m = sl.SoftmaxRegression(
        solver=solver,
        random_state=0,
        learning_rate="constant",
        learning_rate_init=0.02 if solver == "adam" else 0.3,
    )
    rng = np.random.default_rng(0)
    for _ in range(60):
        order = rng.permutation(600)
        for chunk in np.array_split(order, 6):
            m.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert rel_err(params(m), params(target)) < 0.05
    assert m.n_iter_ == len(m.loss_curve_) == 360
    assert not hasattr(sl.SoftmaxRegression(), "partial_fit")
    with pytest.raises(ValueError, match="classes must be passed"):
        sl.SoftmaxRegression(solver=solver).partial_fit(X, y)


def test_warm_start_resumes_from_previous_solution(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression(warm_start=True).fit(X, y)
    first = m.n_iter_
    m.fit(X, y)
    assert m.n_iter_ < first and m.n_iter_ <= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cold = sl.LogisticRegression().fit(X, y)
    np.testing.assert_allclose(params(m), params(cold), atol=1e-10)


def test_verbose_prints_progress(binary_data, capsys):
    X, y = binary_data
    sl.LogisticRegression(verbose=1).fit(X, y)
    assert "newton iter" in capsys.readouterr().out


@pytest.mark.parametrize("n_classes", [2, 4])
def test_newton_on_many_rows_starts_from_a_subsample_and_reaches_the_exact_mle(
    subsample_starts, n_classes
):
    """Above SUBSAMPLE_MIN_ROWS Newton solves a subsample, then refines on all rows; the
    result is the full-data MLE (checked against statsmodels, independent of softlogit)."""
    import statsmodels.api as smapi

    X, y = make_data(n=60_000, p=3, n_classes=n_classes, seed=31)
    model = (sl.LogisticRegression() if n_classes == 2 else sl.SoftmaxRegression()).fit(X, y)
    assert subsample_starts == [True] and model.converged_
    exog = smapi.add_constant(X, prepend=False)
    ref = (smapi.Logit if n_classes == 2 else smapi.MNLogit)(y, exog).fit(disp=0, tol=1e-12)
    params = np.asarray(ref.params).reshape(X.shape[1] + 1, -1).T  # (m, p + 1)
    np.testing.assert_allclose(model.coef_, params[:, :-1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, params[:, -1], rtol=1e-7, atol=1e-9)
    assert model.loglike_ == pytest.approx(ref.llf, rel=1e-12)
    passes = _count_passes(model)
    se = model.coef_table()["std_err"].to_numpy()
    if n_classes == 2:  # here the pass predicted to be the last was: it holds the Hessian
        assert passes == [], "the standard errors made a pass of their own"
    ref_se = np.asarray(ref.bse).reshape(X.shape[1] + 1, -1).T[:, np.r_[-1, : X.shape[1]]]
    np.testing.assert_allclose(se, ref_se.ravel(), rtol=1e-6)


def _count_passes(model):
    """A list that records every pass over the training rows made from now on."""
    passes, source = [], model.results_._objective.source
    original = source.reduce
    source.reduce = lambda fn: passes.append(1) or original(fn)
    return passes


@pytest.mark.parametrize("n_classes", [2, 5])
def test_the_information_reused_from_the_last_pass_equals_a_fresh_one(n_classes):
    """The standard errors read the Hessian off the solver's last pass (at the solution, up
    to rounding); recomputing it from scratch gives the same covariance."""
    from softlogit.stats.inference import information

    X, y = make_data(n=50_000, p=4, n_classes=n_classes, seed=34)
    model = (sl.LogisticRegression() if n_classes == 2 else sl.SoftmaxRegression()).fit(X, y)
    results = model.results_
    reused = results.cov_params().to_numpy()
    objective = results._objective
    fresh = objective.on_source(objective.source)  # the same rows, an empty pass cache
    A_pen, _ = information(fresh, results._theta)  # in centred coordinates: map back
    order = results._order
    expected = fresh.centering.cov_to_theta(np.linalg.inv(A_pen))[np.ix_(order, order)]
    np.testing.assert_allclose(reused, expected, rtol=1e-10)


def test_subsample_rank_deficiency_falls_back_to_the_full_rank_check():
    """A rare dummy that is all zero in the subsample is not aliased in the full data."""
    X, y = make_data(n=50_000, p=2, seed=32)
    rare = np.zeros((50_000, 1))
    rare[[7, 19_000, 49_000], 0] = 1.0  # probably not all in the subsample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = sl.LogisticRegression().fit(np.hstack([X, rare]), y)
    assert not model.aliased_.any() and model.converged_
    dup = np.hstack([X, X[:, :1] * 2.0])  # aliased in any subset of rows
    with pytest.warns(sl.CollinearityWarning, match="x2"):
        model = sl.LogisticRegression().fit(dup, y)
    assert list(model.aliased_) == [False, False, True]


def test_many_parameters_solve_the_subsample_by_lbfgs_and_reach_plain_newton(monkeypatch):
    """Above SUBSAMPLE_NEWTON_MAX_PARAMS the subsample is solved by L-BFGS; the full-data
    answer equals plain Newton's (route switched off, run to 1e-12) to 1e-9."""
    from softlogit.model.solvers import lbfgs, newton

    X, y = make_data(n=60_000, p=30, n_classes=8, seed=33, scale=0.3)
    calls = []
    original = lbfgs.solve
    monkeypatch.setattr(lbfgs, "solve", lambda *a, **k: calls.append(1) or original(*a, **k))
    routed = sl.SoftmaxRegression(solver="newton").fit(X, y)
    assert calls, "the subsample was not solved by L-BFGS"
    monkeypatch.setattr(newton, "SUBSAMPLE_MIN_ROWS", 10**9)
    monkeypatch.setattr(newton, "START_HESSIAN_MIN_PARAMS", 10**9)
    plain = sl.SoftmaxRegression(solver="newton", tol=1e-12).fit(X, y)  # the exact MLE
    np.testing.assert_allclose(routed.coef_, plain.coef_, rtol=0, atol=1e-9)
    assert routed.loglike_ == pytest.approx(plain.loglike_, rel=1e-13)


def test_a_step_too_small_for_the_value_to_judge_is_judged_by_the_gradient():
    """Near the optimum the value's rounding (a sum over many rows) can exceed the predicted
    decrease: the full step then counts as accepted when the gradient shrinks, and only
    then; a resolvable increase is still rejected."""
    from softlogit.model.solvers.newton import _full_step_accepted

    free = np.ones(3, dtype=bool)
    f, g = 0.6, np.array([2e-10, -1e-10, 5e-11])
    noisy = f * (1 + 5e-15)  # up by rounding noise, more than ROUNDING allows
    assert _full_step_accepted(noisy, g / 50, f, g, -1e-19, free)
    assert not _full_step_accepted(noisy, g * 2, f, g, -1e-19, free)
    assert not _full_step_accepted(f + 1e-9, g / 50, f, g, -1e-6, free)
    assert _full_step_accepted(f - 1e-7, g * 2, f, g, -1e-6, free)  # Armijo holds


def test_many_parameters_on_few_rows_refine_from_the_starting_hessian(monkeypatch):
    """Below the subsample's rows but above START_HESSIAN_MIN_PARAMS, Newton takes one
    Hessian at the start and refines with gradient passes: the MLE and standard errors are
    statsmodels' (independent), and equal plain Newton's to 1e-9."""
    import statsmodels.api as smapi

    from softlogit.model.solvers import newton

    X, y = make_data(n=4000, p=30, n_classes=8, seed=35, scale=0.3)  # 7 x 31 = 217 params
    calls = []
    original = newton._start_hessian
    monkeypatch.setattr(newton, "_start_hessian", lambda *a: calls.append(1) or original(*a))
    model = sl.SoftmaxRegression(reference=0).fit(X, y)
    assert calls == [1] and model.converged_
    exog = smapi.add_constant(X, prepend=False)
    ref = smapi.MNLogit(y, exog).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    params = np.asarray(ref.params).T  # (K - 1, p + 1)
    np.testing.assert_allclose(model.coef_, params[:, :-1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, params[:, -1], rtol=1e-7, atol=1e-9)
    se = model.coef_table()["std_err"].to_numpy().reshape(7, 31)
    ref_se = np.asarray(ref.bse).T
    np.testing.assert_allclose(se, ref_se[:, np.r_[-1, :30]], rtol=1e-6)
    monkeypatch.setattr(newton, "START_HESSIAN_MIN_PARAMS", 10**9)
    plain = sl.SoftmaxRegression(reference=0, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, plain.coef_, rtol=0, atol=1e-9)
