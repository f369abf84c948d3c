"""Goodness of fit, calibration and discrimination against R (glm, nnet, pROC) and against
their own in-memory answers on streamed and Dask data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo

from .rscript import run_r

TIGHT = "control=glm.control(epsilon=1e-14, maxit=100)"
FORMULA = "admit ~ gre + gpa + gre:gpa + C(rank)"
R_FORMULA = "admit ~ gre + gpa + gre:gpa + factor(rank)"
# R's statistics of the binary fit `f` on rows `d` (Pearson, df, Hosmer-Lemeshow as
# ResourceSelection::hoslem.test defines it, Brier, recalibration, pROC DeLong interval)
R_BINARY = f"""
lp <- predict(f); p <- fitted(f); y <- d$admit
X2 <- sum(residuals(f, 'pearson')^2)
qq <- unique(quantile(p, probs=seq(0, 1, 0.1))); cg <- cut(p, qq, include.lowest=TRUE)
o <- xtabs(cbind(1 - y, y) ~ cg); e <- xtabs(cbind(1 - p, p) ~ cg); hl <- sum((o - e)^2 / e)
c1 <- glm(y ~ offset(lp), binomial, {TIGHT}); c2 <- glm(y ~ lp, binomial, {TIGHT})
ro <- roc(y, lp, direction='<', quiet=TRUE); ci <- ci.auc(ro, method='delong')
cat(format(c(X2, f$df.residual, hl, length(qq) - 3, mean((y - p)^2),
  coef(summary(c1))[1, 1:2], coef(summary(c2))[2, 1:2], ci[2], sqrt(var(ro)), ci[1], ci[3]),
  digits=17))
"""


def binary_numbers(g):
    c, a = g.calibration, g.auc
    return np.array(
        [g.pearson.statistic, g.pearson.df, g.hosmer_lemeshow.statistic,
         g.hosmer_lemeshow.df, g.brier, c.intercept, c.intercept_se, c.slope, c.slope_se,
         a.auc, a.std_err, a.ci_low, a.ci_high]
    )  # fmt: skip


def assert_binary_matches(g, r):
    mine = binary_numbers(g)
    np.testing.assert_allclose(mine[[5]], r[[5]], atol=1e-9)  # calibration intercept ~ 0
    keep = np.arange(mine.size) != 5
    np.testing.assert_allclose(mine[keep], r[keep], rtol=1e-6)


@pytest.fixture(scope="module")
def admissions(tmp_path_factory):
    d = load_admissions()
    d["w"] = 1 + np.arange(len(d)) % 3
    path = tmp_path_factory.mktemp("gof") / "adm.csv"
    d.to_csv(path, index=False)
    return d, path


def test_binary_with_factor_and_interaction_equals_r(admissions):
    d, path = admissions
    m = sl.LogisticRegression(formula=FORMULA).fit(d)
    g = m.goodness_of_fit(by_pattern=True)
    r = run_r(
        f"d <- read.csv('{path}'); f <- glm({R_FORMULA}, binomial, d, {TIGHT})\n" + R_BINARY
        + "\na <- aggregate(cbind(s=admit, n=1) ~ gre + gpa + rank, d, sum)\n"
        f"gf <- glm(cbind(s, n - s) ~ gre + gpa + gre:gpa + factor(rank), binomial, a, {TIGHT})\n"
        "cat('', format(c(deviance(gf), df.residual(gf), sum(residuals(gf, 'pearson')^2),"
        " nrow(a)), digits=17))",
        packages=["pROC"],
    )  # fmt: skip
    assert_binary_matches(g, r[:13])
    grouped = [g.deviance.statistic, g.deviance.df, g.pearson_patterns.statistic, g.n_patterns]
    np.testing.assert_allclose(grouped, r[13:], rtol=1e-6)
    assert g.deviance.df == g.pearson_patterns.df
    assert g.hl_table["weight"].sum() == len(d)
    np.testing.assert_allclose(g.hl_table["observed_1"].sum(), d["admit"].sum())
    # the AUC equals the method and scikit-learn's
    from sklearn.metrics import roc_auc_score

    assert m.roc_auc().auc == pytest.approx(roc_auc_score(d["admit"], m.predict_proba(d)[:, 1]))
    assert "Hosmer-Lemeshow" in str(g) and list(g.tests().columns) == ["statistic", "df", "p_value"]


def test_weighted_fit_equals_r_on_the_expanded_rows(admissions):
    d, path = admissions
    m = sl.LogisticRegression(formula=FORMULA).fit(d, sample_weight=d["w"])
    g = m.goodness_of_fit()
    r = run_r(
        f"d0 <- read.csv('{path}'); d <- d0[rep(seq_len(nrow(d0)), d0$w), ]\n"
        f"f <- glm({R_FORMULA}, binomial, d, {TIGHT})\n" + R_BINARY,
        packages=["pROC"],
    )
    assert_binary_matches(g, r)
    # the weighted Pearson statistic is also R's on the weighted fit
    r2 = run_r(
        f"d <- read.csv('{path}'); f <- glm({R_FORMULA}, binomial, d, weights=w, {TIGHT})\n"
        "cat(format(sum(residuals(f, 'pearson')^2), digits=17))"
    )
    assert g.pearson.statistic == pytest.approx(r2[0], rel=1e-6)


def test_multinomial_pearson_and_brier_equal_their_definition_on_r_fit(tmp_path):
    d = load_hsbdemo()
    path = tmp_path / "hsb.csv"
    d.to_csv(path, index=False)
    m = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(d)
    g = m.goodness_of_fit()
    r = run_r(
        f"d <- read.csv('{path}'); d$prog <- factor(d$prog)\n"
        "f <- multinom(prog ~ write + ses, d, trace=FALSE, reltol=1e-16, maxit=1000)\n"
        "P <- fitted(f); Y <- model.matrix(~ prog - 1, d); py <- rowSums(Y * P)\n"
        "k <- length(coef(f)); n <- nrow(d); K <- ncol(P)\n"
        "cat(format(c(sum((1 - py) / py), n * (K - 1) - k, mean(rowSums((Y - P)^2)),"
        " sum(rowSums((Y - P)^2 / P))), digits=17))",
        packages=["nnet"],
    )
    np.testing.assert_allclose([g.pearson.statistic, g.pearson.df, g.brier], r[:3], rtol=1e-6)
    assert r[0] == pytest.approx(r[3], rel=1e-12)  # the two forms of Pearson's sum agree
    assert g.hosmer_lemeshow is None and g.auc is None and g.calibration is None
    with pytest.raises(ValueError, match="binary"):
        m.roc_auc()


def test_paired_delong_test_of_two_models_equals_proc(admissions):
    d, path = admissions
    m1 = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(d)
    m2 = sl.LogisticRegression(formula="admit ~ gpa").fit(d)
    t = m1.compare_auc(m2)
    t_new = m1.compare_auc(m2, d)  # the same rows passed again
    r = run_r(
        f"d <- read.csv('{path}')\n"
        f"f1 <- glm(admit ~ gre + gpa + factor(rank), binomial, d, {TIGHT})\n"
        f"f2 <- glm(admit ~ gpa, binomial, d, {TIGHT})\n"
        "r1 <- roc(d$admit, predict(f1), direction='<', quiet=TRUE)\n"
        "r2 <- roc(d$admit, predict(f2), direction='<', quiet=TRUE)\n"
        "t <- roc.test(r1, r2, paired=TRUE, method='delong')\n"
        "cat(format(c(auc(r1), auc(r2), t$statistic, t$p.value, cov(r1, r2)), digits=17))",
        packages=["pROC"],
    )
    for res in (t, t_new):
        mine = [res.auc_a.auc, res.auc_b.auc, res.statistic, res.pvalue, res.cov]
        np.testing.assert_allclose(mine, r, rtol=1e-6)


def test_array_functions_with_ties_and_weights_equal_proc(tmp_path):
    rng = np.random.default_rng(3)
    n = 250
    y = rng.integers(0, 2, n)
    a = np.round(y + rng.normal(size=n), 1)  # many ties
    b = np.round(0.5 * y + rng.normal(size=n), 1)
    w = rng.integers(1, 4, n)
    path = tmp_path / "s.csv"
    pd.DataFrame({"y": y, "a": a, "b": b, "w": w}).to_csv(path, index=False)
    r = run_r(
        f"d0 <- read.csv('{path}'); d <- d0[rep(seq_len(nrow(d0)), d0$w), ]\n"
        "ra <- roc(d$y, d$a, direction='<', quiet=TRUE)\n"
        "rb <- roc(d$y, d$b, direction='<', quiet=TRUE)\n"
        "ci <- ci.auc(ra, method='delong', conf.level=0.9)\n"
        "t <- roc.test(ra, rb, paired=TRUE, method='delong')\n"
        "cat(format(c(ci, t$statistic, t$p.value), digits=17))",
        packages=["pROC"],
    )
    res = sl.roc_auc_ci(y, a, sample_weight=w, alpha=0.1)
    np.testing.assert_allclose([res.ci_low, res.auc, res.ci_high], r[:3], rtol=1e-10)
    t = sl.delong_test(y, a, b, sample_weight=w)
    np.testing.assert_allclose([t.statistic, t.pvalue], r[3:], rtol=1e-10)
    with pytest.raises(ValueError, match="2 classes"):
        sl.roc_auc_ci(np.arange(n) % 3, a)


FEATURES = ["x0", "x1", "x2"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 4000
    frame = pd.DataFrame(rng.standard_normal((n, 3)), columns=FEATURES)
    eta = frame.to_numpy() @ np.array([0.8, -0.5, 0.3]) + 0.2
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame["w"] = rng.uniform(0.2, 2.0, n)
    frame["o"] = rng.normal(0.0, 0.2, n)
    folder = tmp_path_factory.mktemp("gofscan")
    for i, start in enumerate(range(0, n, 1000)):
        frame.iloc[start : start + 1000].to_parquet(folder / f"p-{i}.parquet", row_group_size=300)
    return frame, folder


def _all_numbers(g):
    return np.concatenate(
        [binary_numbers(g), g.hl_table.to_numpy().ravel(), [g.nobs]]
    )  # fmt: skip


def test_streamed_and_dask_data_give_the_in_memory_statistics(written):
    frame, folder = written
    ref = sl.LogisticRegression().fit(
        frame[FEATURES], frame["y"], sample_weight=frame["w"], offset=frame["o"]
    )
    expected = _all_numbers(ref.goodness_of_fit())
    scan = sl.scan_parquet(folder / "p-*.parquet", target="y", weight="w", offset="o")
    streamed = sl.LogisticRegression().fit(scan)
    np.testing.assert_allclose(_all_numbers(streamed.goodness_of_fit()), expected, rtol=1e-7)
    # the reference model evaluated on the scan (new rows)
    np.testing.assert_allclose(_all_numbers(ref.goodness_of_fit(scan)), expected, rtol=1e-9)
    da = pytest.importorskip("dask.array")
    X = da.from_array(frame[FEATURES].to_numpy(), chunks=(700, 3))
    y = da.from_array(frame["y"].to_numpy(), chunks=700)
    w = da.from_array(frame["w"].to_numpy(), chunks=700)
    o = da.from_array(frame["o"].to_numpy(), chunks=700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        g = ref.goodness_of_fit(X, y, sample_weight=w, offset=o)
    np.testing.assert_allclose(_all_numbers(g), expected, rtol=1e-9)
    # the paired test streamed: two models over the same columns
    other = sl.LogisticRegression(penalty="l2", alpha=0.5).fit(
        frame[FEATURES], frame["y"], sample_weight=frame["w"], offset=frame["o"]
    )
    mem = ref.compare_auc(other)
    st = ref.compare_auc(other, scan)
    assert st.statistic == pytest.approx(mem.statistic, rel=1e-9)
    assert st.cov == pytest.approx(mem.cov, rel=1e-9)
    # a grid bounds the distinct scores; the AUC moves little
    coarse = ref.goodness_of_fit(scan, score_resolution=1e-3)
    assert coarse.auc.auc == pytest.approx(expected[9], abs=1e-3)
    with pytest.raises(ValueError, match="in-memory"):
        ref.goodness_of_fit(scan, by_pattern=True)


def test_summary_and_report_show_the_goodness_of_fit(admissions, tmp_path):
    d, _ = admissions
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(d)
    g = m.goodness_of_fit()
    text = str(m.summary(goodness_of_fit=True))
    assert "Goodness of fit" in text and f"{g.hosmer_lemeshow.statistic:.4f}" in text
    assert "Goodness of fit" not in str(m.summary())
    assert "Hosmer-Lemeshow" in m.summary(goodness_of_fit=True)._repr_html_()
    doc = sl.make_report(m, X_test=d.iloc[:100])
    assert f"id='hl-train' data-value='{g.hosmer_lemeshow.statistic!r}'" in doc
    test_g = m.goodness_of_fit(d.iloc[:100])
    assert f"id='auc-test' data-value='{test_g.auc.auc!r}'" in doc
    # a loaded model holds no training rows: new rows give the same numbers
    path = tmp_path / "m.json"
    m.save(path)
    loaded = sl.load(path)
    with pytest.raises(ValueError, match="no training rows"):
        loaded.goodness_of_fit()
    again = loaded.goodness_of_fit(d)
    np.testing.assert_allclose(binary_numbers(again), binary_numbers(g), rtol=1e-9)
    assert "goodness-of-fit" not in sl.make_report(loaded)


def test_offset_fit_equals_r(admissions):
    d, path = admissions
    off = 0.3 * (d["gpa"].to_numpy() - 3.4)  # the offset the R script rebuilds
    m = sl.LogisticRegression(formula="admit ~ gre + C(rank)").fit(d, offset=off)
    g = m.goodness_of_fit()
    r = run_r(
        f"d <- read.csv('{path}'); o <- 0.3 * (d$gpa - 3.4)\n"
        f"f <- glm(admit ~ gre + factor(rank) + offset(o), binomial, d, {TIGHT})\n" + R_BINARY,
        packages=["pROC"],
    )
    assert_binary_matches(g, r)
    assert m.goodness_of_fit(d, offset=off).pearson.statistic == pytest.approx(r[0], rel=1e-6)


def test_printed_statistics_have_no_negative_zero():
    """The recalibration intercept of an ML fit is 0 up to rounding: printed as 0.0000."""
    from softlogit.datasets import load_admissions

    formula = "admit ~ gre + gpa + I(gpa**2) + C(rank)"
    text = str(sl.LogisticRegression(formula=formula).fit(load_admissions()).goodness_of_fit())
    assert "Calibration intercept: 0.0000" in text and "-0.0000" not in text


def test_statistics_that_do_not_exist_are_nan_not_errors():
    """A constant score (an intercept-only model) has no Hosmer-Lemeshow groups and no
    recalibration slope; separated scores have no finite slope: NaN, and the rest stands."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = (x > 0).astype(int)
    with pytest.warns(sl.CollinearityWarning):  # the zero column is aliased: intercept only
        constant = sl.LogisticRegression().fit(np.zeros((200, 1)), y)
    fit = constant.goodness_of_fit()
    assert np.isnan(fit.hosmer_lemeshow.statistic) and np.isnan(fit.calibration.slope)
    assert fit.auc.auc == pytest.approx(0.5) and np.isfinite(fit.brier)
    separated = sl.LogisticRegression(penalty="firth").fit(x[:, None], y)
    fit = separated.goodness_of_fit()
    assert np.isnan(fit.calibration.slope) and fit.auc.auc == 1.0
