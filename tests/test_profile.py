"""Profile-likelihood intervals (softlogit.stats.profile) against R's MASS profile and by
definition: at each returned end an independent constrained fit (Newton written here) must
give 2 (l(theta_hat) - l_profile(end)) = z^2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit, log_expit, logsumexp

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo

from .rscript import run_r

Z = stats.norm.ppf(0.975)


# ---------------------------------------------------------------- independent references
def newton(nll, x0, n_iter=200):
    """Minimise ``nll`` (returning value, gradient, Hessian) by damped Newton."""
    x = np.array(x0, dtype=float)
    f, g, H = nll(x)
    for _ in range(n_iter):
        s = 1.0 / np.sqrt(np.diag(H))  # equilibrated: columns far from 0 keep their digits
        d = -s * np.linalg.solve(H * s[:, None] * s[None, :], s * g)
        if -g @ d < 1e-26 * max(1.0, abs(f)):
            break
        t = 1.0
        while not nll(x + t * d)[0] <= f + 1e-4 * t * (g @ d):
            t /= 2
            if t < 1e-12:
                return x, -f
        x = x + t * d
        f, g, H = nll(x)
    return x, -f


def binary_nll(X, y, w, offset):
    def nll(b):
        eta = X @ b + offset
        p = expit(eta)
        value = -np.sum(w * (y * log_expit(eta) + (1 - y) * log_expit(-eta)))
        return value, X.T @ (w * (p - y)), (X * (w * p * (1 - p))[:, None]).T @ X

    return nll


def softmax_nll(X, codes, K, w=None, offset=None):
    """Weighted multinomial NLL with class 0 as reference, ``offset`` (n, K) per class;
    parameters (K-1, q) row-major."""
    Y = np.eye(K)[codes][:, 1:]
    w = np.ones(len(X)) if w is None else w
    offset = np.zeros((len(X), K)) if offset is None else offset

    def nll(theta):
        B = theta.reshape(K - 1, X.shape[1])
        eta = np.column_stack([np.zeros(len(X)), X @ B.T]) + offset
        logp = eta - logsumexp(eta, axis=1, keepdims=True)
        P = np.exp(logp[:, 1:])
        value = -np.sum(w * logp[np.arange(len(X)), codes])
        grad = ((w[:, None] * (P - Y)).T @ X).ravel()
        q = X.shape[1]
        H = np.zeros(((K - 1) * q,) * 2)
        for a in range(K - 1):
            for b in range(K - 1):
                s = w * P[:, a] * ((a == b) - P[:, b])
                H[a * q : (a + 1) * q, b * q : (b + 1) * q] = (X * s[:, None]).T @ X
        return value, grad, H

    return nll


def fixed(nll, x_full, k, b):
    """``nll`` over the parameters other than ``k``, which is held at ``b``."""
    keep = np.arange(x_full.size) != k

    def sub(x):
        full = x_full.copy()
        full[keep], full[k] = x, b
        f, g, H = nll(full)
        return f, g[keep], H[np.ix_(keep, keep)]

    return sub, x_full[keep]


def profile_deviance(nll, theta_hat, k, b):
    """2 (l(theta_hat) - max_{theta_k = b} l), by the Newton fit above."""
    full, ll_hat = newton(nll, theta_hat)
    V = np.linalg.inv(nll(full)[2])
    sub, start = fixed(nll, full + V[:, k] / V[k, k] * (b - full[k]), k, b)  # 1st-order start
    _, ll_b = newton(sub, start)
    return 2 * (ll_hat - ll_b)


def admissions_design(adm, interaction=True):
    cols = [np.ones(len(adm)), adm.gre, adm.gpa] + [(adm["rank"] == r) * 1.0 for r in (2, 3, 4)]
    if interaction:
        cols.append(adm.gre * adm.gpa)
    return np.column_stack(cols).astype(float)


def r_profile(tmp_path, data, formula, extra=""):
    """Profile intervals from MASS (confint of a profile on a fine grid, so that its spline
    interpolation error is far below the tolerance)."""
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False, float_format="%.17g")
    script = f"""
        d <- read.csv("{path}")
        f <- glm({formula}, binomial, d{extra}, control = glm.control(epsilon = 1e-14))
        pr <- profile(f, alpha = 0.01, del = qnorm(0.995) / 300, maxsteps = 1000)
        cat(format(c(confint(pr, level = 0.95)), digits = 17), "\\n")
    """
    return run_r(script, packages=["MASS"]).reshape(2, -1).T


def assert_ends_equal(ours, ref, rtol=1e-6):
    """Relative difference (to the value, or to the interval's width near 0)."""
    ours, ref = np.asarray(ours, dtype=float), np.asarray(ref, dtype=float)
    scale = np.maximum(np.abs(ref), (ref[:, 1] - ref[:, 0])[:, None])
    worst = np.max(np.abs(ours - ref) / scale)
    assert worst <= rtol, worst


# ---------------------------------------------------------------- binary vs R
def test_binary_factor_interaction_equals_r(tmp_path):
    adm = load_admissions()
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank) + gre:gpa").fit(adm)
    ours = m.conf_int(method="profile")
    ref = r_profile(tmp_path, adm, "admit ~ gre + gpa + factor(rank) + gre:gpa")
    assert_ends_equal(ours, ref)
    # the Wald intervals differ from them (the test can tell the two apart)
    assert np.max(np.abs(m.conf_int().to_numpy() - ref)) > 1e-3


def test_weighted_offset_fit_equals_r_and_definition(tmp_path):
    adm = load_admissions()
    adm["w"] = 1.0 + np.arange(len(adm)) % 3
    adm["o"] = 0.4 * (adm.gpa - 3.0)
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)")
    m.fit(adm, sample_weight=adm.w, offset=adm.o)
    ours = m.coef_table(ci="profile")[["ci_low", "ci_high"]].to_numpy()
    ref = r_profile(tmp_path, adm, "admit ~ gre + gpa + factor(rank)", ", weights = w, offset = o")
    assert_ends_equal(ours, ref)
    X = admissions_design(adm, interaction=False)
    nll = binary_nll(X, adm.admit.to_numpy(float), adm.w.to_numpy(), adm.o.to_numpy())
    theta_hat = m.coef_table()["coef"].to_numpy()
    for k in range(X.shape[1]):
        for end in ours[k]:
            assert profile_deviance(nll, theta_hat, k, end) == pytest.approx(Z**2, abs=1e-8)


# ---------------------------------------------------------------- multinomial by definition
def test_multinomial_hsbdemo_by_definition():
    hsb = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(hsb)
    table = m.coef_table(ci="profile")
    codes = np.searchsorted(m.classes_, hsb.prog.to_numpy())
    X = np.column_stack(
        [np.ones(len(hsb)), hsb.write, hsb.ses == "low", hsb.ses == "middle"]
    ).astype(float)
    assert list(table.index.get_level_values("term")[:4]) == [
        "Intercept", "write", "C(ses)[T.low]", "C(ses)[T.middle]"
    ]  # fmt: skip
    nll = softmax_nll(X, codes, m.classes_.size)
    theta_hat = table["coef"].to_numpy()
    for k, (low, high) in enumerate(table[["ci_low", "ci_high"]].to_numpy()):
        assert low < theta_hat[k] < high
        for end in (low, high):
            assert profile_deviance(nll, theta_hat, k, end) == pytest.approx(Z**2, abs=1e-8)
    # relative-risk ratios: the exponentiated ends; against another base, a refit's
    rrr = m.relative_risk_ratios(ci="profile")
    np.testing.assert_allclose(rrr[["ci_low", "ci_high"]], np.exp(table[["ci_low", "ci_high"]]))
    base = m.classes_[1]
    rebased = m.relative_risk_ratios(ci="profile", base=base)
    refit = sl.SoftmaxRegression(formula="prog ~ write + C(ses)", reference=base).fit(hsb)
    expected = refit.relative_risk_ratios(ci="profile")
    np.testing.assert_allclose(rebased.to_numpy(), expected.to_numpy(), rtol=1e-7)


def test_weighted_multinomial_with_class_offsets_by_definition():
    hsb = load_hsbdemo()
    w = 0.5 + (np.arange(len(hsb)) % 4) / 2.0
    offset = np.column_stack([np.zeros(len(hsb)), 0.02 * hsb.read, -0.01 * hsb.math])
    m = sl.SoftmaxRegression(formula="prog ~ write + female").fit(
        hsb, sample_weight=w, offset=offset
    )
    table = m.coef_table(ci="profile")
    codes = np.searchsorted(m.classes_, hsb.prog.to_numpy())
    X = np.column_stack([np.ones(len(hsb)), hsb.write, hsb.female == "male"]).astype(float)
    assert list(table.index.get_level_values("term")[:3]) == [
        "Intercept",
        "write",
        "female[T.male]",
    ]
    nll = softmax_nll(X, codes, 3, w, offset)
    theta_hat = table["coef"].to_numpy()
    for k in (0, 1, 5):
        for end in table[["ci_low", "ci_high"]].to_numpy()[k]:
            assert profile_deviance(nll, theta_hat, k, end) == pytest.approx(Z**2, abs=1e-8)


def test_intercept_of_a_centred_fit():
    """A column far from 0 (mean 1e5 times its spread) makes the solver centre it; the
    intercept is still profiled at its own value, the slopes are unchanged by the shift."""
    adm = load_admissions()
    adm["far"] = adm.gre + 1e5
    m = sl.LogisticRegression(formula="admit ~ far + gpa").fit(adm)
    assert m.results_._objective.center is not None  # the centred route is the one tested
    near = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(adm)
    ci, ci_near = m.conf_int(method="profile"), near.conf_int(method="profile")
    np.testing.assert_allclose(ci.iloc[1:], ci_near.iloc[1:], rtol=1e-7)
    X = np.column_stack([np.ones(len(adm)), adm.far, adm.gpa])
    nll = binary_nll(X, adm.admit.to_numpy(float), np.ones(len(adm)), np.zeros(len(adm)))
    theta_hat = m.coef_table()["coef"].to_numpy()
    for end in ci.loc["Intercept"]:
        assert profile_deviance(nll, theta_hat, 0, end) == pytest.approx(Z**2, abs=1e-8)


# ---------------------------------------------------------------- separation and Firth
def separated_data():
    """Quasi-complete separation: every row with ``x1 = 1`` has ``y = 1``."""
    rng = np.random.default_rng(3)
    n = 60
    x1 = (rng.random(n) < 0.3).astype(float)
    x2 = rng.normal(size=n)
    y = np.where(x1 == 1, 1.0, (rng.random(n) < expit(-0.5 + x2)).astype(float))
    return np.column_stack([x1, x2]), y


def test_separated_direction_has_an_infinite_end():
    X, y = separated_data()
    with pytest.warns(sl.PerfectSeparationWarning):
        m = sl.LogisticRegression().fit(X, y)
    ci = m.conf_int(method="profile")
    assert ci.loc["x0", "ci_high"] == np.inf
    assert np.all(np.isfinite(ci.drop(index="x0").to_numpy()))
    assert np.isfinite(ci.loc["x0", "ci_low"])
    # the supremum of the likelihood: the rows with x0 = 1 fitted perfectly, the others by
    # their own fit; the finite ends solve 2 (l_sup - l_profile) = z^2
    rows = X[:, 0] == 0
    D = np.column_stack([X[:, 1], np.ones(len(y))])
    _, ll_sup = newton(binary_nll(D[rows], y[rows], np.ones(rows.sum()), 0.0), np.zeros(2))
    full = np.column_stack([X, np.ones(len(y))])
    nll = binary_nll(full, y, np.ones(len(y)), np.zeros(len(y)))
    sub, start = fixed(nll, np.zeros(3), 0, ci.loc["x0", "ci_low"])
    assert 2 * (ll_sup - newton(sub, start)[1]) == pytest.approx(Z**2, abs=1e-8)
    with np.errstate(over="ignore"):  # exp of the diverged estimate and its Wald interval
        ratios = m.odds_ratios(ci="profile")
    assert ratios.loc["x0", "ci_high"] == np.inf
    assert ratios.loc["x0", "ci_low"] == pytest.approx(np.exp(ci.loc["x0", "ci_low"]))


def firth_nll(X, y):
    """Minus the penalised log-likelihood l + log det(I) / 2, its gradient (Firth's modified
    score) and the Fisher information (scoring steps)."""

    def nll(b):
        eta = X @ b
        p = expit(eta)
        info = (X * (p * (1 - p))[:, None]).T @ X
        ll = np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta))
        h = p * (1 - p) * np.sum(np.linalg.solve(info, X.T).T * X, axis=1)
        score = X.T @ (y - p + h * (0.5 - p))
        return -(ll + 0.5 * np.linalg.slogdet(info)[1]), -score, info

    return nll


def test_firth_penalised_profile_by_definition():
    X, y = separated_data()
    m = sl.LogisticRegression(penalty="firth").fit(X, y)
    table = m.coef_table(ci="profile")
    full = np.column_stack([np.ones(len(y)), X])  # table order: Intercept, x0, x1
    nll = firth_nll(full, y)
    theta_hat = table["coef"].to_numpy()
    assert np.all(np.isfinite(table[["ci_low", "ci_high"]].to_numpy()))
    for k, (low, high) in enumerate(table[["ci_low", "ci_high"]].to_numpy()):
        assert low < theta_hat[k] < high
        for end in (low, high):
            assert profile_deviance(nll, theta_hat, k, end) == pytest.approx(Z**2, abs=1e-8)


# ---------------------------------------------------------------- API
def test_api_and_refusals():
    adm = load_admissions()
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(adm)
    ci = m.conf_int(method="profile", alpha=0.1)
    pd.testing.assert_frame_equal(m.coef_table(alpha=0.1, ci="profile")[ci.columns], ci)
    np.testing.assert_allclose(m.odds_ratios(alpha=0.1, ci="profile")[ci.columns], np.exp(ci))
    pd.testing.assert_frame_equal(m.coef_table(), m.coef_table(ci="wald"))
    assert np.all(ci["ci_low"] < m.coef_table()["coef"])
    some = m.conf_int(method="profile", alpha=0.1, terms=["gpa", "C(rank)[T.3]"])
    pd.testing.assert_frame_equal(some, ci.loc[["gpa", "C(rank)[T.3]"]])
    with pytest.raises(KeyError, match="not rows"):
        m.conf_int(method="profile", terms=["GPA"])
    with pytest.raises(ValueError, match="interval method"):
        m.conf_int(method="spline")
    ridge = sl.LogisticRegression(formula="admit ~ gre + gpa", penalty="l2", alpha=0.1).fit(adm)
    with pytest.raises(ValueError, match="unpenalised or Firth"):
        ridge.conf_int(method="profile")


def test_aliased_terms_and_streamed_rows(tmp_path):
    adm = load_admissions()
    adm["gpa2"] = 2 * adm.gpa
    with pytest.warns(sl.CollinearityWarning):
        m = sl.LogisticRegression(formula="admit ~ gre + gpa + gpa2").fit(adm)
    plain = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(adm)
    ci, expected = m.conf_int(method="profile"), plain.conf_int(method="profile")
    assert ci.loc["gpa2"].isna().all()
    np.testing.assert_allclose(ci.loc[expected.index], expected, rtol=1e-8)
    pytest.importorskip("pyarrow")
    adm.to_parquet(tmp_path / "adm.parquet")
    source = sl.scan_parquet(tmp_path / "adm.parquet", "admit", features=["gre", "gpa"])
    streamed = sl.LogisticRegression().fit(source).conf_int(method="profile")
    np.testing.assert_allclose(streamed, expected, rtol=1e-8)


FIRTH_R = """
d <- read.csv("{path}"); ends <- as.matrix(read.csv("{ends}"))
X <- cbind(1, d$x0, d$x1); y <- d$y
pll <- function(b) {{
  eta <- drop(X %*% b); W <- plogis(eta) * plogis(-eta)
  sum(y * plogis(eta, log.p = TRUE) + (1 - y) * plogis(-eta, log.p = TRUE)) +
    0.5 * determinant(crossprod(X, X * W))$modulus[1]
}}
# Firth's modified score and the Fisher information, over the parameters in `keep`
scoring <- function(b, keep) {{
  for (it in 1:2000) {{
    eta <- drop(X %*% b); p <- plogis(eta); W <- p * (1 - p)
    I <- crossprod(X, X * W); h <- W * rowSums((X %*% solve(I)) * X)
    U <- crossprod(X, y - p + h * (0.5 - p))[keep]
    step <- solve(I[keep, keep], U); b[keep] <- b[keep] + step
    if (max(abs(step)) < 1e-13) break
  }}
  b
}}
fit <- glm(y ~ x0 + x1, binomial, d, method = "brglmFit", type = "AS_mean", epsilon = 1e-14)
bhat <- unname(coef(fit))
dev <- c()
for (j in 1:3) for (e in ends[j, ]) {{
  b <- bhat; b[j] <- e
  dev <- c(dev, 2 * (pll(bhat) - pll(scoring(b, setdiff(1:3, j)))))
}}
cat(format(c(bhat, dev), digits = 17), "\\n")
"""


def test_firth_profile_equals_r_penalised_profile(tmp_path):
    """R: the Firth estimate of brglm2 (AS_mean), and at our ends logistf's penalised
    profile (constrained scoring on Firth's modified score, full information) written out."""
    X, y = separated_data()
    m = sl.LogisticRegression(penalty="firth").fit(X, y)
    table = m.coef_table(ci="profile")
    pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y}).to_csv(
        tmp_path / "d.csv", index=False, float_format="%.17g"
    )
    table[["ci_low", "ci_high"]].to_csv(tmp_path / "e.csv", index=False, float_format="%.17g")
    out = run_r(FIRTH_R.format(path=tmp_path / "d.csv", ends=tmp_path / "e.csv"), ["brglm2"])
    np.testing.assert_allclose(table["coef"], out[:3], rtol=1e-6)
    np.testing.assert_allclose(out[3:], Z**2, atol=1e-8)
