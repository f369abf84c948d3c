"""Bias-reduced multinomial logistic regression (penalty='firth' with K >= 3) against R's
brglm2::brmultinom and against a direct maximisation of the penalised likelihood."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

import softlogit as sl
from softlogit.datasets import load_hsbdemo
from softlogit.exceptions import PerfectSeparationWarning

from .rscript import run_r

R_FIT = (
    "f <- brmultinom({formula}, data=d, ref=1{weights},\n"
    "                control=brglmControl(epsilon=1e-13, maxit=500))\n"
    "cat(format(c(f$converged, as.vector(t(coef(f))), sqrt(diag(vcov(f)))), digits=17))"
)


def brmultinom(frame, formula, tmp_path, weights=False):
    """Coefficients (class-major, intercept first) and standard errors from brmultinom."""
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    script = f"d <- read.csv('{path}', stringsAsFactors=TRUE)\n" + R_FIT.format(
        formula=formula, weights=", weights=w" if weights else ""
    )
    out = run_r(script, packages=("brglm2",))
    assert out[0] == 1  # converged
    k = (out.size - 1) // 2
    return out[1 : 1 + k], out[1 + k :]


def ours(model):
    table = model.coef_table()
    return table["coef"].to_numpy(), table["std_err"].to_numpy()


def separated_frame(n=60, seed=5):
    """Three classes; class 'c' is exactly the rows with x1 > 0.8 (complete separation of
    one class), the others depend on x2."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = np.where(x1 > 0.8, "c", np.where(rng.random(n) < 1 / (1 + np.exp(-x2)), "b", "a"))
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2})


def test_hsbdemo_against_brmultinom(tmp_path):
    d = load_hsbdemo()[["prog", "write", "ses"]]
    m = sl.SoftmaxRegression(penalty="firth", formula="prog ~ write + C(ses)", tol=1e-12).fit(d)
    assert m.converged_
    coef, se = brmultinom(d, "prog ~ write + ses", tmp_path)
    np.testing.assert_allclose(ours(m)[0], coef, rtol=1e-6)
    np.testing.assert_allclose(ours(m)[1], se, rtol=1e-6)
    mle = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(d)
    assert m.loglike_ < mle.loglike_  # the penalised fit does not maximise the likelihood
    assert "penalty='firth'" in str(m.summary())


def test_separated_multinomial_is_finite_and_matches_brmultinom(tmp_path):
    d = separated_frame()
    with pytest.warns(PerfectSeparationWarning):
        sl.SoftmaxRegression(formula="y ~ x1 + x2").fit(d)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bias-reduced estimate exists: no warning
        m = sl.SoftmaxRegression(penalty="firth", formula="y ~ x1 + x2", tol=1e-12).fit(d)
    assert m.converged_ and np.all(np.isfinite(m.coef_)) and np.abs(m.coef_).max() < 50
    coef, se = brmultinom(d, "y ~ x1 + x2", tmp_path)
    np.testing.assert_allclose(ours(m)[0], coef, rtol=1e-6)
    np.testing.assert_allclose(ours(m)[1], se, rtol=1e-6)


def test_weighted_fit_against_brmultinom_and_duplicated_rows(tmp_path):
    rng = np.random.default_rng(13)
    d = load_hsbdemo()[["prog", "write", "math", "ses"]]
    d = d.assign(w=rng.integers(1, 4, size=len(d)).astype(float))
    formula = "prog ~ write + math + C(ses)"
    m = sl.SoftmaxRegression(penalty="firth", formula=formula, tol=1e-12)
    m.fit(d, sample_weight=d["w"].to_numpy())
    coef, se = brmultinom(d, "prog ~ write + math + ses", tmp_path, weights=True)
    np.testing.assert_allclose(ours(m)[0], coef, rtol=1e-6)
    np.testing.assert_allclose(ours(m)[1], se, rtol=1e-6)
    long = d.loc[d.index.repeat(d["w"].astype(int))]
    dup = sl.SoftmaxRegression(penalty="firth", formula=formula, tol=1e-12).fit(long)
    np.testing.assert_allclose(ours(dup)[0], ours(m)[0], rtol=1e-8)


def penalised_loglike(theta, X1, y, K):
    """l + 1/2 log det I by definition: I = sum_i V_i kron x_i x_i^T (reference class 0)."""
    B = theta.reshape(K - 1, X1.shape[1])
    full = np.column_stack([np.zeros(len(y)), X1 @ B.T])
    ll = np.sum(log_softmax(full, axis=1)[np.arange(len(y)), y])
    p = softmax(full, axis=1)[:, 1:]
    V = [np.diag(pi) - np.outer(pi, pi) for pi in p]
    info = sum(np.kron(v, np.outer(x, x)) for v, x in zip(V, X1, strict=True))
    return ll + 0.5 * np.linalg.slogdet(info)[1]


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_matches_direct_maximisation_with_four_classes(solver):
    rng = np.random.default_rng(21)
    X = rng.normal(size=(50, 2))
    y = rng.integers(0, 4, size=50)
    X1 = np.column_stack([np.ones(50), X])
    direct = minimize(
        lambda t: -penalised_loglike(t, X1, y, 4),
        np.zeros(9),
        method="BFGS",
        options={"gtol": 1e-9},
    ).x.reshape(3, 3)
    m = sl.SoftmaxRegression(penalty="firth", solver=solver, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(m.intercept_, direct[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.coef_, direct[:, 1:], rtol=1e-5, atol=1e-6)


def test_reference_and_symmetric_parameterisations_agree():
    """The Jeffreys prior is invariant to the parameterisation: another reference class or
    the symmetric softmax give the same fitted probabilities."""
    d = separated_frame(seed=8)
    X, y = d[["x1", "x2"]].to_numpy(), d["y"].to_numpy()
    first = sl.SoftmaxRegression(penalty="firth", tol=1e-12).fit(X, y)
    last = sl.SoftmaxRegression(penalty="firth", reference="c", tol=1e-12).fit(X, y)
    sym = sl.SoftmaxRegression(penalty="firth", reference=None, tol=1e-12).fit(X, y)
    assert sym.coef_.shape == (3, 2)
    np.testing.assert_allclose(sym.coef_.sum(axis=0), 0.0, atol=1e-12)
    for other in (last, sym):
        np.testing.assert_allclose(other.predict_proba(X), first.predict_proba(X), atol=1e-9)


def test_streamed_fit_equals_the_in_memory_one(tmp_path):
    """The penalty's gradient is a sum over chunks: a CSV stream in small batches gives the
    in-memory estimate and standard errors (FLIC too; FLAC needs the rows in memory)."""
    hsb = load_hsbdemo()
    cols = ["write", "math", "ses_middle", "ses_high"]
    hsb[[*cols, "prog", "honcomp"]].to_csv(tmp_path / "h.csv", index=False)
    for target, penalty, cls in (
        ("prog", "firth", sl.SoftmaxRegression),
        ("honcomp", "flic", sl.LogisticRegression),
    ):
        scan = sl.scan_csv(tmp_path / "h.csv", target=target, features=cols, batch_rows=37)
        streamed = cls(penalty=penalty, tol=1e-10).fit(scan)
        memory = cls(penalty=penalty, tol=1e-10).fit(hsb[cols], hsb[target])
        np.testing.assert_allclose(ours(streamed)[0], ours(memory)[0], rtol=1e-9)
        np.testing.assert_allclose(ours(streamed)[1], ours(memory)[1], rtol=1e-9)
    with pytest.raises(ValueError, match="needs the rows in memory"):
        sl.LogisticRegression(penalty="flac").fit(scan)


def test_aliased_sparse_and_far_from_zero_columns():
    """An aliased column is fixed at 0 and the others are the fit without it; sparse input
    and a column far from 0 (centred coordinates) give the dense estimate."""
    hsb = load_hsbdemo()
    X = hsb[["write", "math", "ses_middle", "ses_high"]].to_numpy(float)
    y = hsb["prog"]
    plain = sl.SoftmaxRegression(penalty="firth", tol=1e-10).fit(X, y)
    with pytest.warns(sl.exceptions.CollinearityWarning):
        aliased = sl.SoftmaxRegression(penalty="firth", tol=1e-10).fit(
            np.column_stack([X, X[:, 0] + X[:, 1]]), y
        )
    np.testing.assert_allclose(aliased.coef_[:, :4], plain.coef_, atol=1e-10)
    assert np.all(aliased.coef_[:, 4] == 0)
    sparse = sl.SoftmaxRegression(penalty="firth", tol=1e-10).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, plain.coef_, atol=1e-10)
    far = sl.SoftmaxRegression(penalty="firth", tol=1e-10).fit(X + [1e6, 0, 0, 0], y)
    np.testing.assert_allclose(far.coef_, plain.coef_, atol=1e-9)
