"""The proximal Newton outer loop of the lasso / elastic-net solver at default settings, on
raw features (columns with means 5..100 and standard deviations 0.01..1000) and on rows
enough that the Hessian is not "cheap" (so the solver must choose when to recompute it):
it converges, its KKT conditions hold to ``tol`` by an independent check, and the
violation falls quadratically near the solution (before: a reused Hessian gave a linear
rate of ~0.2 and twice the iterations)."""

import re

import numpy as np
import pytest
from scipy.special import expit, softmax

import softlogit as sl

TOL = 1e-8


def raw_data(n, p, n_classes, seed, density=0.5):
    """Features of very different scales and means; about half of the effects non-zero."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, p))
    mean = rng.uniform(5, 100, p)
    sd = rng.permutation(np.geomspace(0.01, 1000, p))
    B = rng.normal(size=(n_classes, p)) * (rng.random((n_classes, p)) < density)
    eta = Z @ B.T
    if n_classes == 2:
        y = (rng.random(n) < expit(eta[:, 0] - eta[:, 1])).astype(int)
    else:
        y = np.argmax(eta + rng.gumbel(size=(n, n_classes)), axis=1)
    return Z * sd + mean, y


@pytest.fixture(scope="module")
def binary():
    return raw_data(20_000, 60, 2, seed=3)


@pytest.fixture(scope="module")
def multinomial():
    return raw_data(20_000, 40, 3, seed=4)


def kkt_trace(capsys, model, X, y):
    model.set_params(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    return model, [float(v) for v in re.findall(r"KKT ([0-9.e+-]+)", out)]


def independent_kkt(X, y, coef, intercept, alpha, l1_ratio):
    """The solver's scale-free KKT measure recomputed with numpy: the gradient of the mean
    NLL plus ridge part in the coefficients of standardised columns, ``(g_j - mu_j g_b) /
    s_j``, against the lasso thresholds ``alpha l1_ratio / s_j``; the intercepts' gradient
    must vanish."""
    n = X.shape[0]
    if coef.shape[0] == 1:
        R = (expit(X @ coef[0] + intercept[0]) - y)[:, None]
    else:  # reference class first: its logit is 0
        eta = np.c_[np.zeros(n), X @ coef.T + intercept]
        R = softmax(eta, axis=1)[:, 1:] - (y[:, None] == np.arange(1, coef.shape[0] + 1))
    G = (X.T @ R).T / n + alpha * (1 - l1_ratio) * coef
    gb = R.mean(axis=0)
    mu, s = X.mean(axis=0), X.std(axis=0)
    Gt = (G - gb[:, None] * mu) / s
    lam = alpha * l1_ratio / s
    viol = np.where(coef != 0, np.abs(Gt + lam * np.sign(coef)), np.maximum(np.abs(Gt) - lam, 0))
    return max(float(viol.max()), float(np.abs(gb).max()))


def assert_quadratic_tail(trace, constant=100.0):
    """Below 1e-3 at most three iterations reach ``TOL``; each squares the violation within
    ``constant`` (a Newton step) or, on the last step that may reuse the Hessian of the
    step before (Shamanskii), raises it to the power 1.5 at least; so the ratios
    v_{k+1}/v_k fall towards 0 (before: ~0.2 at every step)."""
    first = next(i for i, v in enumerate(trace) if v <= 1e-3)
    tail = trace[first:]
    assert len(tail) - 1 <= 3, trace
    for k, (v, v_next) in enumerate(zip(tail, tail[1:], strict=False)):
        power = 1.5 if k == len(tail) - 2 else 2.0
        assert v_next <= constant * v**power, trace
    ratios = [b / a for a, b in zip(trace, trace[1:], strict=False)]
    assert ratios[-1] < 1e-2 and ratios[-1] < 0.1 * max(ratios), ratios


@pytest.mark.parametrize("alpha", [1e-2, 1e-3])
def test_binary_raw_features_converge_quadratically(capsys, binary, alpha):
    X, y = binary
    model = sl.LogisticRegression(penalty="elasticnet", l1_ratio=0.5, alpha=alpha)
    m, trace = kkt_trace(capsys, model, X, y)
    assert m.converged_ and m.n_iter_ <= 8, (m.n_iter_, trace)
    assert trace[-1] <= TOL
    assert independent_kkt(X, y, m.coef_, m.intercept_, alpha, 0.5) <= TOL * (1 + 1e-6)
    assert_quadratic_tail(trace)


def test_multinomial_raw_features_converge_quadratically(capsys, multinomial):
    X, y = multinomial
    alpha = 1e-3
    model = sl.SoftmaxRegression(penalty="elasticnet", l1_ratio=0.5, alpha=alpha)
    m, trace = kkt_trace(capsys, model, X, y)
    assert m.converged_ and m.n_iter_ <= 8, (m.n_iter_, trace)
    assert independent_kkt(X, y, m.coef_, m.intercept_, alpha, 0.5) <= TOL * (1 + 1e-6)
    assert_quadratic_tail(trace)


def test_standardized_fit_converges_quadratically(capsys, binary):
    X, y = binary
    model = sl.LogisticRegression(penalty="elasticnet", l1_ratio=0.5, alpha=1e-3, standardize=True)
    m, trace = kkt_trace(capsys, model, X, y)
    assert m.converged_ and m.n_iter_ <= 8, (m.n_iter_, trace)
    assert_quadratic_tail(trace)


@pytest.mark.parametrize("n_classes,p", [(2, 60), (3, 40)])
def test_path_on_raw_features_takes_few_iterations_per_alpha(n_classes, p):
    """From the warm start, two or three Newton steps per alpha (before: up to 8 and 9
    once the strong set outgrew a cheap Hessian, reused across alphas), and the KKT
    conditions hold to ``TOL`` along the path."""
    X, y = raw_data(20_000, p, n_classes, seed=3, density=1.0)
    model = sl.LogisticRegression() if n_classes == 2 else sl.SoftmaxRegression()
    path = sl.regularization_path(X, y, model=model, l1_ratio=0.5, n_alphas=30)
    assert path.n_nonzero[-1] > 25  # past the cheap Hessians
    assert path.n_iter.max() <= 3, path.n_iter
    for k in range(0, 30, 7):
        coef, intercept = path.coefs[k], path.intercepts[k]
        assert independent_kkt(X, y, coef, intercept, path.alphas[k], 0.5) <= TOL * (1 + 1e-6)
