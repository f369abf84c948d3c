"""The lasso / elastic-net solver at its default settings: R glmnet's solutions on raw and
badly scaled features, a scale-free stopping rule, quadratic outer convergence, glmnet's
default alpha grid, and no Hessian larger than the memory budget."""

import re
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.datasets import load_breast_cancer, load_wine

import softlogit as sl
from softlogit.model.solvers import cd

from .conftest import make_data
from .rscript import run_r, write_csv_for_r

#: glmnet's own convergence threshold for the references: at thresh=1e-14 glmnet stops
#: ~2e-6 (relative) from its optimum on these data; at 1e-24 it agrees with itself at
#: 1e-9, so the comparison measures our error, not glmnet's.
GLMNET_THRESH = "1e-24"
#: Coefficients agree with glmnet's to this fraction of the largest coefficient.
RTOL = 1e-7


@pytest.fixture(scope="module")
def breast_cancer():
    return load_breast_cancer(return_X_y=True)


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


#: (standardize, l1_ratio, alpha) of the breast-cancer references.
BINARY_CASES = [
    (std, ratio, alpha)
    for std in (False, True)
    for ratio in (1.0, 0.5)
    for alpha in (0.5, 0.05, 0.005, 0.01, 0.002)
]


@pytest.fixture(scope="module")
def glmnet_binary(tmp_path_factory, breast_cancer):
    """glmnet's intercept and coefficients on breast cancer for every ``BINARY_CASES`` entry
    (one R run)."""
    X, y = breast_cancer
    path = write_csv_for_r(tmp_path_factory.mktemp("bc") / "d.csv", X, y)
    fits = "\n".join(
        f"f <- glmnet(x, y, family='binomial', alpha={ratio}, lambda={alpha}, "
        f"standardize={'TRUE' if std else 'FALSE'}, thresh={GLMNET_THRESH}, maxit=1e8)\n"
        "cat(format(as.numeric(coef(f)), digits=17), '\\n')"
        for std, ratio, alpha in BINARY_CASES
    )
    script = f"d <- read.csv('{path}'); x <- as.matrix(d[, 1:30]); y <- d$y\n{fits}"
    ref = run_r(script, packages=("glmnet",)).reshape(len(BINARY_CASES), 31)
    return dict(zip(BINARY_CASES, ref, strict=True))


def close_to(coef, ref):
    """Largest difference as a fraction of the largest reference coefficient."""
    return float(np.max(np.abs(coef - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_breast_cancer_raw_features_equal_glmnet(
    glmnet_binary, breast_cancer, standardize, l1_ratio
):
    """Default settings on raw features (columns from 1e-3 to 4e3): converged, and glmnet's
    solution to 1e-7 of the largest coefficient (before: 100 iterations, not converged,
    3.7e-4 from glmnet on the standardised scale at alpha=0.5)."""
    X, y = breast_cancer
    for alpha in (0.5, 0.05, 0.005):
        r = glmnet_binary[standardize, l1_ratio, alpha]
        m = sl.LogisticRegression(
            penalty="elasticnet", l1_ratio=l1_ratio, alpha=alpha, standardize=standardize
        ).fit(X, y)
        assert m.converged_, (alpha, m.n_iter_)
        ours = np.r_[m.intercept_, m.coef_.ravel()]
        assert close_to(ours, r) < RTOL, alpha
        np.testing.assert_array_equal(ours[1:] == 0, r[1:] == 0)


def softmax_objective(X, y, coef, intercept, alpha, l1_ratio, scale):
    """Mean NLL of a symmetric softmax plus glmnet's grouped elastic net (numpy)."""
    logp = log_softmax(X @ coef.T + intercept, axis=1)
    nll = -np.mean(logp[np.arange(len(y)), y])
    B = coef * scale
    return nll + alpha * (
        l1_ratio * np.sum(np.linalg.norm(B, axis=0)) + (1 - l1_ratio) / 2 * np.sum(B * B)
    )


@pytest.mark.parametrize(
    "standardize,l1_ratio,alpha", [(False, 1.0, 0.02), (True, 1.0, 0.02), (False, 0.5, 0.02)]
)
def test_wine_grouped_multinomial_equals_glmnet(tmp_path, wine, standardize, l1_ratio, alpha):
    """glmnet's symmetric multinomial (K coefficient rows, type.multinomial="grouped") is
    our ``reference=None``: the same coefficients (intercepts up to a common shift) and the
    same objective (before: 100 iterations, not converged, at alpha=0.02)."""
    X, y = wine
    path = write_csv_for_r(tmp_path / "w.csv", X, y)
    script = f"""
d <- read.csv('{path}'); x <- as.matrix(d[, 1:13]); y <- factor(d$y)
f <- glmnet(x, y, family='multinomial', type.multinomial='grouped', alpha={l1_ratio},
            lambda={alpha}, standardize={"TRUE" if standardize else "FALSE"},
            thresh={GLMNET_THRESH}, maxit=1e8)
for (k in 1:3) cat(format(as.numeric(coef(f)[[k]]), digits=17), "\\n")"""
    ref = run_r(script, packages=("glmnet",)).reshape(3, 14)
    m = sl.SoftmaxRegression(
        penalty="elasticnet",
        l1_ratio=l1_ratio,
        alpha=alpha,
        grouped=True,
        reference=None,
        standardize=standardize,
    ).fit(X, y)
    assert m.converged_
    assert close_to(m.coef_, ref[:, 1:]) < RTOL
    np.testing.assert_allclose(m.intercept_, ref[:, 0] - ref[:, 0].mean(), atol=1e-5)
    scale = X.std(axis=0) if standardize else 1.0
    ours = softmax_objective(X, y, m.coef_, m.intercept_, alpha, l1_ratio, scale)
    theirs = softmax_objective(X, y, ref[:, 1:], ref[:, 0], alpha, l1_ratio, scale)
    assert ours <= theirs * (1 + 1e-13)
    assert ours == pytest.approx(theirs, rel=1e-12)


def column_factors(p, seed=0):
    return np.random.default_rng(seed).permutation(np.geomspace(1e-8, 1e8, p))


@pytest.mark.parametrize("l1_ratio,alpha", [(1.0, 0.01), (0.5, 0.002)])
def test_scaled_columns_and_weights_give_glmnets_standardised_solution(
    glmnet_binary, breast_cancer, l1_ratio, alpha
):
    """glmnet with standardize=TRUE does not depend on the columns' units: columns scaled
    from 1e-8 to 1e8 and weights scaled by 1e9 converge to its solution (before: not
    converged, 5e-4 off on the standardised scale for the elastic net)."""
    X, y = breast_cancer
    ref = glmnet_binary[True, l1_ratio, alpha]
    c = column_factors(X.shape[1])
    sd = X.std(axis=0)
    for Xs, factor, weight in [(X * c, c, None), (X * c, c, np.full(len(y), 1e9)), (X, 1.0, None)]:
        m = sl.LogisticRegression(
            penalty="elasticnet", l1_ratio=l1_ratio, alpha=alpha, standardize=True
        ).fit(Xs, y, sample_weight=weight)
        assert m.converged_
        assert close_to(m.coef_.ravel() * factor * sd, ref[1:] * sd) < RTOL
        assert m.intercept_[0] == pytest.approx(ref[0], rel=RTOL)


GRID_SHAPES = [(20, 20), (30, 20), (20, 30)]


@pytest.fixture(scope="module")
def glmnet_grids(tmp_path_factory):
    """glmnet's default lambda sequences for ``GRID_SHAPES`` x standardize (one R run)."""
    folder = tmp_path_factory.mktemp("grids")
    lines = []
    for n, p in GRID_SHAPES:
        X, y = make_data(n=n, p=p, n_classes=2, seed=7)
        path = write_csv_for_r(folder / f"g{n}_{p}.csv", X, y)
        for std in ("FALSE", "TRUE"):
            lines.append(
                f"d <- read.csv('{path}'); x <- as.matrix(d[, 1:{p}])\n"
                f"f <- glmnet(x, d$y, family='binomial', standardize={std})\n"
                "cat(length(f$lambda), format(f$lambda, digits=17), '\\n')"
            )
    numbers = list(run_r("\n".join(lines), packages=("glmnet",)))
    grids = {}
    for n, p in GRID_SHAPES:
        for std in (False, True):
            k = int(numbers.pop(0))  # glmnet may stop the path early
            grids[n, p, std] = np.array(numbers[:k])
            del numbers[:k]
    return grids


@pytest.mark.parametrize("n,p", GRID_SHAPES)
@pytest.mark.parametrize("standardize", [False, True])
def test_default_alpha_grid_is_glmnets(glmnet_grids, n, p, standardize):
    """glmnet's lambda sequence, eps = 1e-2 only when n < p (before: also at n = p, whose
    10th value was then 0.280 against glmnet's 0.184)."""
    X, y = make_data(n=n, p=p, n_classes=2, seed=7)
    lam = glmnet_grids[n, p, standardize]
    template = sl.LogisticRegression(standardize=standardize)
    ours = sl.regularization_path(X, y, model=template, n_alphas=100).alphas
    np.testing.assert_allclose(ours[: lam.size], lam, rtol=1e-12)


def kkt_trace(capsys, model, X, y, sample_weight=None):
    """The fit and the KKT violation it printed after each outer iteration."""
    model.set_params(verbose=1).fit(X, y, sample_weight=sample_weight)
    out = capsys.readouterr().out
    return model, [float(v) for v in re.findall(r"KKT ([0-9.e+-]+)", out)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: sl.LogisticRegression(penalty="l1", alpha=0.5),
        lambda: sl.LogisticRegression(penalty="elasticnet", l1_ratio=0.5, alpha=0.5),
        lambda: sl.LogisticRegression(penalty="l1", alpha=0.005),
    ],
)
def test_outer_iteration_converges_fast_near_the_solution(capsys, breast_cancer, make):
    """Once the KKT violation is below 1e-3, at most four more proximal Newton steps reach
    tol = 1e-8 (inner problems solved to a tolerance that shrinks with the violation): a
    superlinear rate, where the old inexact inner solves gave a linear rate of ~0.9."""
    X, y = breast_cancer
    m, trace = kkt_trace(capsys, make(), X, y)
    assert m.converged_ and m.n_iter_ <= 15 and trace[-1] <= 1e-8
    first = next(i for i, v in enumerate(trace) if v <= 1e-3)
    assert len(trace) - 1 - first <= 4, trace


def test_grouped_multinomial_converges_fast(capsys, wine):
    X, y = wine
    model = sl.SoftmaxRegression(penalty="l1", grouped=True, alpha=0.02)
    m, trace = kkt_trace(capsys, model, X, y)
    assert m.converged_ and m.n_iter_ <= 15
    first = next(i for i, v in enumerate(trace) if v <= 1e-3)
    assert len(trace) - 1 - first <= 4, trace


@pytest.mark.parametrize("standardize", [False, True])
def test_stopping_rule_is_scale_free(capsys, breast_cancer, standardize):
    """Rescaling columns by 1e-8 .. 1e8 (with the penalty on the standardised scale) or the
    weights by 1e-10 changes neither the iterations, nor the KKT trace, nor the solution;
    with the penalty on raw coefficients, only the problem's own (scaled) solution."""
    X, y = breast_cancer
    c = column_factors(X.shape[1], seed=1)
    kwargs = {"penalty": "l1", "alpha": 0.01, "standardize": standardize}
    base, trace = kkt_trace(capsys, sl.LogisticRegression(**kwargs), X, y)
    light, trace_w = kkt_trace(capsys, sl.LogisticRegression(**kwargs), X, y, np.full(569, 1e-10))
    assert base.converged_ and light.converged_ and base.n_iter_ == light.n_iter_
    np.testing.assert_allclose(trace_w, trace, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(light.coef_, base.coef_, rtol=1e-9, atol=0)
    if standardize:
        scaled, trace_c = kkt_trace(capsys, sl.LogisticRegression(**kwargs), X * c, y)
        assert scaled.converged_ and scaled.n_iter_ == base.n_iter_
        np.testing.assert_allclose(trace_c, trace, rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(scaled.coef_ * c, base.coef_, rtol=1e-7, atol=0)


# -- the block route for subproblems whose Hessian does not fit the memory budget ------------


def budget_for(n_params):
    """A budget that holds a dense Hessian over ``n_params`` parameters, and no more."""
    return 8.0 * n_params * n_params


BLOCK_CASES = {
    "binary": (dict(), 2, 24, {}),
    "reference": (dict(), 4, 12, {}),
    "symmetric": (dict(reference=None), 3, 12, {}),  # K odd: the lasso's median is unique
    "grouped": (dict(grouped=True), 4, 12, {}),
    "elastic-net": (dict(reference=None, standardize=True), 3, 10, {"l1_ratio": 0.5}),
}


@pytest.mark.parametrize("case", list(BLOCK_CASES))
def test_block_route_finds_the_exact_routes_solution(monkeypatch, case):
    """With a Hessian budget too small for the subproblem, the solver cycles over blocks
    whose exact Hessians fit (classes, or all classes over column ranges), never forming a
    larger one, and reaches the exact route's solution (and its KKT tolerance)."""
    params, K, p, extra = BLOCK_CASES[case]
    X, y = make_data(n=500, p=p, n_classes=K, seed=71, scale=0.4)
    X = X * np.linspace(0.5, 3.0, p) + 1.0  # uncentred columns of several scales
    penalty = "elasticnet" if extra else "l1"
    est = sl.LogisticRegression if K == 2 else sl.SoftmaxRegression
    make = lambda: est(penalty=penalty, alpha=0.01, tol=1e-10, **params, **extra)  # noqa: E731
    exact = make().fit(X, y)
    side = (p + 1) // 2 if K == 2 else p + 1  # binary: half the columns; else one class
    monkeypatch.setattr(cd, "HESSIAN_BUDGET", budget_for(side))
    sizes = []
    original = cd._block_hessian

    def recording(objective, theta, classes, cols):
        H = original(objective, theta, classes, cols)
        sizes.append(H.shape[0])
        return H

    monkeypatch.setattr(cd, "_block_hessian", recording)
    blocks = make().fit(X, y)
    assert sizes and max(sizes) <= side
    assert exact.converged_ and blocks.converged_
    assert blocks.objective(X, y) == pytest.approx(exact.objective(X, y), rel=1e-13)
    np.testing.assert_allclose(blocks.coef_, exact.coef_, atol=1e-7 * np.abs(exact.coef_).max())
    np.testing.assert_allclose(blocks.intercept_, exact.intercept_, atol=1e-6)


def test_large_softmax_lasso_allocates_no_dense_hessian(monkeypatch):
    """The shape of the K=50, p=2000 lasso (98k parameters, a 71.6 GiB Hessian) scaled down
    with the budget: K=8, p=300 has 2107 parameters (a 35.5 MB Hessian); under a budget of
    310 parameters (0.77 MB) the whole fit's traced peak stays below a quarter of that (it
    is ~3.7 MB; the exact route's is ~4 Hessians)."""
    K, p, n = 8, 300, 400
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n, p))
    B = rng.normal(size=(p, K)) * (rng.random((p, K)) < 0.05)
    y = np.argmax(X @ B + rng.gumbel(size=(n, K)), axis=1)
    dense = 8.0 * ((K - 1) * (p + 1)) ** 2
    monkeypatch.setattr(cd, "HESSIAN_BUDGET", budget_for(310), raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracemalloc.start()
        try:
            m = sl.SoftmaxRegression(penalty="l1", alpha=0.01).fit(X, y)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert m.converged_
    assert peak < dense / 4, (peak, dense)
