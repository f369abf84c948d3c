"""A fit never claims an optimum it has not reached: ``converged_`` means a scale-free
optimality measure is below ``tol``, whatever the columns' scales and locations and the
weights' spread (issue "Trust", part C). References are statsmodels, R (brglm2) and closed
forms, never softlogit itself on the same data."""

import warnings

import numpy as np
import pytest
import statsmodels.api as smapi
from scipy import stats
from scipy.special import expit

import softlogit as sl

from .conftest import make_data
from .rscript import run_r, write_csv_for_r

SOLVERS = ["newton", "lbfgs", "gd", "sgd", "adam"]
#: Scales of the three columns of Z (standard normal): from 1e-8 to 1e8.
SCALES = {"1e-8,1e8,1": [1e-8, 1e8, 1.0], "1e8,1e-8,1e4": [1e8, 1e-8, 1e4]}


def _binary_problem(n=300, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 3))
    y = (rng.random(n) < expit(Z @ [0.8, -0.5, 0.6] + 0.2)).astype(int)
    weights = {
        "none": np.ones(n),
        "class 1e10:1": np.where(y == 0, 1e10, 1.0),
        "class 1e-10:1": np.where(y == 0, 1e-10, 1.0),
        "spread 1e10": np.exp(rng.uniform(0, np.log(1e10), n)),
    }
    return Z, y, weights


def mean_nll(Z, y, w, params):
    """The weighted mean negative log-likelihood at ``[intercept, coef...]`` on Z, in the
    stable softplus form (statsmodels' own llf loses digits at weights of 1e10)."""
    eta = params[0] + Z @ params[1:]
    return float(np.sum(w * np.logaddexp(0.0, -(2 * y - 1) * eta)) / w.sum())


def statsmodels_params(Z, y, w):
    fit = smapi.GLM(y, smapi.add_constant(Z), family=smapi.families.Binomial(), freq_weights=w)
    return np.asarray(fit.fit(tol=1e-14, maxiter=200).params)


@pytest.fixture(scope="module")
def binary_problem():
    Z, y, weights = _binary_problem()
    refs = {name: statsmodels_params(Z, y, w) for name, w in weights.items()}
    return Z, y, weights, refs


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::softlogit.PerfectSeparationWarning")
@pytest.mark.parametrize("weights", ["none", "class 1e10:1", "class 1e-10:1", "spread 1e10"])
@pytest.mark.parametrize("scale", list(SCALES))
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_reaches_the_mle_or_says_it_did_not(binary_problem, solver, scale, weights):
    """Columns scaled from 1e-8 to 1e8, weight ratios up to 1e10: a fit that says it
    converged has the objective of statsmodels' MLE (on the unscaled columns, where the
    problem is well conditioned) to 1e-10 relative."""
    Z, y, all_weights, refs = binary_problem
    w, s = all_weights[weights], np.array(SCALES[scale])
    max_iter = None if solver in ("newton", "lbfgs") else 1500  # enough to say "not yet"
    m = sl.LogisticRegression(solver=solver, random_state=0, max_iter=max_iter)
    m.fit(Z * s, y, sample_weight=w)
    ours = mean_nll(Z, y, w, np.r_[m.intercept_, m.coef_[0] * s])
    best = mean_nll(Z, y, w, refs[weights])
    if solver in ("newton", "lbfgs"):
        assert m.converged_, "the exact solvers reach these optima"
    if m.converged_:
        assert ours - best <= 1e-10 * best, (ours, best)


def test_lopsided_class_weights_are_not_mistaken_for_an_optimum():
    """class_weight={0: 1e8, 1: 1} used to stop at the start (all coefficients 0): the
    gradient of the weight-normalised objective is tiny there. The same as sample weights."""
    Z, y, _ = _binary_problem(n=2000, seed=3)
    w = np.where(y == 0, 1e8, 1.0)
    ref = statsmodels_params(Z, y, w)
    for solver in ("newton", "lbfgs"):
        a = sl.LogisticRegression(solver=solver, class_weight={0: 1e8, 1: 1}).fit(Z, y)
        b = sl.LogisticRegression(solver=solver).fit(Z, y, sample_weight=w)
        for m in (a, b):
            assert m.converged_ and m.n_iter_ > 0
            np.testing.assert_allclose(np.r_[m.intercept_, m.coef_[0]], ref, rtol=1e-7)


def test_columns_scaled_1e12_converge_in_a_few_newton_steps():
    """Rounding of the raw gradient of a column scaled 1e12 exceeds any absolute tol: Newton
    used to run 100 iterations and warn although it had the MLE."""
    Z, y, _ = _binary_problem(n=500, seed=4)
    s = np.array([1e-12, 1e12, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = sl.LogisticRegression().fit(Z * s, y)
    assert m.converged_ and m.n_iter_ <= 10
    ref = statsmodels_params(Z, y, np.ones(len(y)))
    np.testing.assert_allclose(m.coef_[0] * s, ref[1:], rtol=1e-7)
    np.testing.assert_allclose(m.intercept_, ref[:1], rtol=1e-7)


def test_auto_softmax_with_more_than_1000_parameters_on_badly_scaled_columns():
    """solver='auto' picks L-BFGS above 1000 parameters; with one column scaled 1e-6 and one
    1e6 it used to stop 4% above the optimum and say it converged."""
    X, y = make_data(n=4000, p=30, n_classes=40, seed=5, scale=0.3)
    s = np.ones(30)
    s[0], s[1] = 1e-6, 1e6
    auto = sl.SoftmaxRegression().fit(X * s, y)
    assert auto.solver_ == "lbfgs"
    newton = sl.SoftmaxRegression(solver="newton").fit(X, y)  # unscaled: well conditioned
    assert newton.converged_
    f_newton = newton.objective(X, y)
    f_auto = auto.objective(X * s, y)
    if auto.converged_:
        assert f_auto - f_newton <= 1e-10 * f_newton
    np.testing.assert_allclose(auto.coef_ * s, newton.coef_, rtol=1e-5, atol=1e-6)


def _timestamp_data(n=3000, seed=6):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    t = 1.7e9 + 60.0 * z[:, 0]  # Unix timestamps: sd 60 s around 2023-11
    y = (rng.random(n) < expit(0.02 * (t - 1.7e9) + 0.5 * z[:, 1])).astype(int)
    return t, z, y


def _fit_as(kind, X, y, tmp_path):
    if kind == "memory":
        return sl.LogisticRegression().fit(X, y)
    if kind == "dask":
        da = pytest.importorskip("dask.array")
        return sl.LogisticRegression().fit(
            da.from_array(X, chunks=(700, X.shape[1])), da.from_array(y, chunks=700)
        )
    frame = {f"x{j}": X[:, j] for j in range(X.shape[1])} | {"y": y}
    path = tmp_path / "rows.parquet"
    pytest.importorskip("pandas").DataFrame(frame).to_parquet(path)
    return sl.LogisticRegression().fit(sl.scan_parquet(path, target="y"))


@pytest.mark.parametrize("kind", ["memory", "dask", "parquet"])
def test_a_column_far_from_zero_is_not_aliased_with_the_intercept(kind, tmp_path):
    """Unix timestamps (sd 3.5e-8 of the mean) used to be declared aliased and fixed at 0.
    statsmodels on the centred column is the reference; softlogit gets the same coefficient
    and standard error from the raw column, in memory, on Dask and streamed."""
    t, z, y = _timestamp_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CollinearityWarning
        m = _fit_as(kind, np.column_stack([t, z[:, 1]]), y, tmp_path)
    assert m.converged_ and not m.aliased_.any()
    centred = np.column_stack([t - 1.7e9, z[:, 1]])  # exact: Sterbenz
    ref = smapi.Logit(y, smapi.add_constant(centred)).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(m.coef_[0], ref.params[1:], rtol=1e-6)
    se = m.coef_table()["std_err"].to_numpy()[1:]
    np.testing.assert_allclose(se, ref.bse[1:], rtol=1e-6)


@pytest.mark.parametrize("solver", ["newton", "lbfgs", "adam"])
@pytest.mark.parametrize("location", [0.0, 1e6])
@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_rank_detection_is_invariant_to_location_and_scale(solver, location, scale):
    """A column that is a combination of the others (and the intercept) is aliased, and
    only that one, wherever the columns lie (a million standard deviations from 0) and
    however they are scaled."""
    X, y = make_data(n=400, p=2, n_classes=2, seed=7)
    X = np.column_stack([X, 3.0 * X[:, 0] - X[:, 1] + 2.0])  # aliased with x0, x1, 1
    X = (X + location) * scale
    with pytest.warns(sl.CollinearityWarning, match="x2"):
        m = sl.LogisticRegression(solver=solver, max_iter=20_000).fit(X, y)
    assert m.aliased_.tolist() == [False, False, True]


def test_prediction_intervals_come_from_the_linear_predictor():
    """The interval used to be rebuilt from the rounded probability: digits lost beyond
    |eta| ~ 20, NaN beyond ~ 37. Binary: expit(eta -+ z se), se^2 = x~' V x~ (closed form
    from the coefficient covariance)."""
    X, y = make_data(n=400, p=2, n_classes=2, seed=8, scale=1.0)
    m = sl.LogisticRegression().fit(X, y)
    far = np.array([[40.0, -30.0], [-60.0, 50.0], [200.0, 0.0], [0.3, -0.2]])
    proba, low, high = m.predict_proba(far, return_ci=True)
    V = m.cov_params().to_numpy()  # rows: Intercept, x0, x1
    X1 = np.column_stack([np.ones(len(far)), far])
    eta = X1 @ np.r_[m.intercept_, m.coef_[0]]
    se = np.sqrt(np.einsum("ij,jk,ik->i", X1, V, X1))
    crit = stats.norm.ppf(0.975)
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    # class 0 has probability expit(-eta): representable however small
    np.testing.assert_allclose(low[:, 0], expit(-eta - crit * se), rtol=1e-9)
    np.testing.assert_allclose(high[:, 0], expit(-eta + crit * se), rtol=1e-9)
    assert np.all(low <= proba) and np.all(proba <= high)


def test_softmax_prediction_intervals_stay_finite_and_ordered_at_extreme_logits():
    X, y = make_data(n=600, p=2, n_classes=3, seed=9, scale=1.0)
    m = sl.SoftmaxRegression().fit(X, y)
    rows = np.array([[0.2, -0.1], [60.0, -40.0], [-80.0, 90.0], [300.0, 300.0]])
    proba, low, high = m.predict_proba(rows, return_ci=True)
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    assert np.all(low <= proba * (1 + 1e-12)) and np.all(proba <= high * (1 + 1e-12))
    # on an ordinary row the interval is the delta-method one on the logit of p_k
    p, V = proba[0], m.cov_params().to_numpy()
    logit = np.log(p) - np.log1p(-p)
    x1 = np.r_[1.0, rows[0]]
    J = np.zeros((3, 2))  # d logit_k / d eta_a over the free classes 1, 2
    for k in range(3):
        for a, cls in enumerate([1, 2]):
            J[k, a] = ((k == cls) - p[cls]) / (1 - p[k])
    # V is ordered (class, term); per class: Intercept, x0, x1
    G = np.kron(np.eye(2), x1)  # (2 free logits, 6 parameters)
    se = np.sqrt(np.einsum("ka,ab,kb->k", J, G @ V @ G.T, J))
    crit = stats.norm.ppf(0.975)
    np.testing.assert_allclose(low[0], expit(logit - crit * se), rtol=1e-8)
    np.testing.assert_allclose(high[0], expit(logit + crit * se), rtol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd", "gd"])
def test_network_solvers_at_their_defaults_reach_the_mle_to_1e_4_or_say_not(solver):
    """SoftmaxRegression(solver='adam') on 3000 x 6, K=4 used to stop 3e-3 (relative) from
    the MLE and say it converged: a plateau of the training loss is not convergence."""
    X, y = make_data(n=3000, p=6, n_classes=4, seed=3)
    ref = smapi.MNLogit(y, smapi.add_constant(X, prepend=False)).fit(disp=0, tol=1e-12)
    coef = np.asarray(ref.params).T[:, :-1]
    m = sl.SoftmaxRegression(solver=solver, random_state=0).fit(X, y)
    if m.converged_:
        assert np.max(np.abs(m.coef_ - coef)) <= 1e-4 * np.max(np.abs(coef))


def test_firth_at_the_default_tol_equals_brglm2():
    """Firth on iris setosa vs versicolor (completely separated: only the penalised
    estimate exists) used to stop 7e-6 (relative) from brglm2 at the default tol."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X, y = X[y < 2], y[y < 2]
    path = write_csv_for_r("/tmp/softlogit-iris01.csv", X, y)
    ref = run_r(
        f"d <- read.csv('{path}')\n"
        "f <- glm(y ~ x0 + x1 + x2 + x3, data=d, family=binomial, method='brglmFit', "
        "type='AS_mean', control=brglmControl(epsilon=1e-14, maxit=1000))\n"
        "cat(format(coef(f), digits=17), '\\n')",
        packages=("brglm2",),
    )
    m = sl.LogisticRegression(penalty="firth").fit(X, y)
    assert m.converged_
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_[0]], ref, rtol=1e-8)


def test_dask_separated_softmax_is_not_reported_as_converged():
    """In memory the LP confirms the separation (converged_=False); on Dask it cannot run,
    and a fit with fitted probabilities of 1 used to say converged_=True."""
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(10)
    X = rng.normal(size=(600, 2))
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # classes split by x0: completely separated
    with pytest.warns(sl.PerfectSeparationWarning):
        in_memory = sl.SoftmaxRegression().fit(X, y)
    assert not in_memory.converged_ and in_memory.separation_ is not None
    with pytest.warns(sl.PerfectSeparationWarning, match="may be separated"):
        on_dask = sl.SoftmaxRegression().fit(
            da.from_array(X, chunks=(200, 2)), da.from_array(y, chunks=200)
        )
    assert not on_dask.converged_
