"""Counts responses (grouped binomial, multinomial counts) against R and the expanded 0/1 data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import softlogit as sl

from .rscript import run_r

RTOL = 1e-6


def _binomial_data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    N = rng.integers(1, 9, n)
    p = 1 / (1 + np.exp(-(0.3 + X @ [0.8, -0.5])))
    s = rng.binomial(N, p)
    w = rng.uniform(0.5, 2.0, n)
    return X, s, N, w


def _multinomial_data(seed=1, n=50, K=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    B = np.array([[0.0, 0.0], [0.7, -0.4], [-0.5, 0.6]])[:K]
    eta = X @ B.T + np.array([0.0, 0.2, -0.3])[:K]
    P = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    N = rng.integers(1, 7, n)
    C = np.array([rng.multinomial(N[i], P[i]) for i in range(n)])
    w = rng.uniform(0.5, 2.0, n)
    return X, C, w


def _frame(tmp_path, cols, name="d.csv"):
    path = tmp_path / name
    pd.DataFrame(cols).to_csv(path, index=False, float_format="%.17g")
    return path


def _expanded(X, C, w):
    """One 0/1 row per unit of count (integer counts), each with the row's weight."""
    rows = [(i, k) for i in range(C.shape[0]) for k in range(C.shape[1]) for _ in range(C[i, k])]
    idx = np.array([r[0] for r in rows])
    return X[idx], np.array([r[1] for r in rows]), w[idx], idx


# ------------------------------------------------------------------ expansion equalities
def test_binomial_counts_equal_expanded_rows():
    X, s, N, w = _binomial_data()
    m = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]), sample_weight=w)
    Xe, ye, we, _ = _expanded(X, np.column_stack([N - s, s]), w)
    e = sl.LogisticRegression().fit(Xe, ye, sample_weight=we)
    np.testing.assert_allclose(m.coef_, e.coef_, rtol=1e-9)
    np.testing.assert_allclose(m.intercept_, e.intercept_, rtol=1e-9)
    np.testing.assert_allclose(m.coef_table()["std_err"], e.coef_table()["std_err"], rtol=1e-9)
    assert m.loglike_bernoulli_ == pytest.approx(e.loglike_, rel=1e-10)
    assert m.null_loglike_bernoulli_ == pytest.approx(e.null_loglike_, rel=1e-10)
    assert m.nobs_bernoulli_ == pytest.approx(e.nobs_, rel=1e-12)
    assert m.pseudo_r2_ == pytest.approx(e.pseudo_r2_, rel=1e-9)
    assert m.lr_stat_ == pytest.approx(e.lr_stat_, rel=1e-9)


def test_count_of_three_equals_three_rows():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    m = sl.LogisticRegression().fit(X, np.array([[3, 1], [1, 2], [2, 2], [1, 3]]))
    Xe = np.repeat(X, [4, 3, 4, 4], axis=0)
    ye = np.array([1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0])
    e = sl.LogisticRegression().fit(Xe, ye)
    np.testing.assert_allclose(m.coef_, e.coef_, rtol=1e-9)
    np.testing.assert_allclose(m.cov_params(), e.cov_params(), rtol=1e-9)


def test_proportion_with_trials_equals_cbind():
    X, s, N, w = _binomial_data()
    a = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]), sample_weight=w)
    b = sl.LogisticRegression().fit(X, s / N, sample_weight=w, trials=N)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    for name in ("loglike_", "deviance_", "null_deviance_", "aic_", "bic_", "df_resid_"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-10), name


def test_zero_trials_rows_contribute_nothing():
    X, s, N, w = _binomial_data()
    Xz = np.vstack([X, [[5.0, -5.0]]])
    y = np.vstack([np.column_stack([s, N - s]), [[0, 0]]])
    a = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]))
    b = sl.LogisticRegression().fit(Xz, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    assert b.nobs_ == a.nobs_ == X.shape[0]
    assert b.aic_ == pytest.approx(a.aic_, rel=1e-12)


def test_multinomial_counts_equal_expanded_rows():
    X, C, w = _multinomial_data()
    m = sl.SoftmaxRegression().fit(X, C, sample_weight=w)
    Xe, ye, we, _ = _expanded(X, C, w)
    e = sl.SoftmaxRegression().fit(Xe, ye, sample_weight=we)
    np.testing.assert_allclose(m.coef_, e.coef_, rtol=1e-8)
    np.testing.assert_allclose(m.cov_params(), e.cov_params(), rtol=1e-8)
    assert m.loglike_bernoulli_ == pytest.approx(e.loglike_, rel=1e-10)
    assert list(m.classes_) == [0, 1, 2]


def test_multinomial_counts_frame_names_are_the_classes():
    X, C, _ = _multinomial_data()
    Y = pd.DataFrame(C, columns=["b", "a", "c"])
    m = sl.SoftmaxRegression().fit(X, Y)
    assert list(m.classes_) == ["a", "b", "c"]
    ref = sl.SoftmaxRegression().fit(X, C[:, [1, 0, 2]])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-10)


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        (np.array([[1, 2], [-1, 3], [0, 1]]), {}, "row 1, column 0 has -1.0"),
        (np.array([[1, 2], [np.nan, 3], [0, 1]]), {}, "finite"),
        (np.array([0.5, 1.5, 0.2]), {"trials": [2, 2, 5]}, "proportion of successes"),
        (np.array([0.5, 0.5, 0.2]), {"trials": [2, -2, 5]}, "trials must be finite"),
        (np.array([[1, 2, 3]] * 3), {}, "2 columns"),
    ],
)
def test_counts_validation_names_the_value(y, kwargs, match):
    X = np.arange(3.0)[:, None]
    with pytest.raises(ValueError, match=match):
        sl.LogisticRegression().fit(X, y, **kwargs)


def test_non_integer_counts_warn():
    X = np.arange(4.0)[:, None]
    with pytest.warns(UserWarning, match="non-integer"):
        sl.LogisticRegression().fit(X, np.array([[1.5, 2], [1, 2], [2, 1], [3, 1]]))


def test_per_row_diagnostics_refused():
    X, s, N, _ = _binomial_data()
    m = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]))
    with pytest.raises(ValueError, match="counts response"):
        m.residuals()
    with pytest.raises(ValueError, match="counts response"):
        m.influence()


def test_summary_names_the_grouped_scale():
    X, s, N, _ = _binomial_data()
    m = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]))
    text = str(m.summary())
    assert "grouped" in text
    assert "Null deviance" in text


# ------------------------------------------------------------------ against R
def _r_binomial(tmp_path, X, s, N, w):
    path = _frame(tmp_path, {"x0": X[:, 0], "x1": X[:, 1], "s": s, "f": N - s, "w": w})
    script = f"""
    d <- read.csv('{path}')
    m <- glm(cbind(s, f) ~ x0 + x1, family=binomial, data=d, weights=w,
             control=glm.control(epsilon=1e-14, maxit=100))
    out <- c(coef(m), sqrt(diag(vcov(m))), deviance(m), m$null.deviance, logLik(m),
             AIC(m), BIC(m), df.residual(m), nobs(m),
             sqrt(diag(sandwich::vcovHC(m, type='HC0'))),
             sqrt(diag(sandwich::vcovHC(m, type='HC1'))))
    cat(format(out, digits=17), '\\n')
    """
    return run_r(script, packages=("sandwich",))


def test_binomial_cbind_against_r_glm(tmp_path):
    X, s, N, w = _binomial_data()
    r = _r_binomial(tmp_path, X, s, N, w)
    m = sl.LogisticRegression(formula=None).fit(X, np.column_stack([s, N - s]), sample_weight=w)
    t = m.coef_table()
    np.testing.assert_allclose(t["coef"], r[0:3], rtol=RTOL)
    np.testing.assert_allclose(t["std_err"], r[3:6], rtol=RTOL)
    got = [m.deviance_, m.null_deviance_, m.loglike_, m.aic_, m.bic_, m.df_resid_, m.nobs_]
    np.testing.assert_allclose(got, r[6:13], rtol=RTOL)
    np.testing.assert_allclose(m.coef_table(cov_type="HC0")["std_err"], r[13:16], rtol=RTOL)
    np.testing.assert_allclose(m.coef_table(cov_type="HC1")["std_err"], r[16:19], rtol=RTOL)


def test_binomial_cbind_formula_against_r_glm(tmp_path):
    X, s, N, w = _binomial_data(seed=3)
    r = _r_binomial(tmp_path, X, s, N, w)
    data = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "s": s, "f": N - s})
    m = sl.LogisticRegression(formula="cbind(s, f) ~ x0 + x1").fit(data, sample_weight=w)
    np.testing.assert_allclose(m.coef_table()["coef"], r[0:3], rtol=RTOL)
    np.testing.assert_allclose(m.loglike_, r[8], rtol=RTOL)


def test_multinomial_counts_against_vgam_and_nnet(tmp_path):
    X, C, w = _multinomial_data()
    path = _frame(
        tmp_path,
        {"x0": X[:, 0], "x1": X[:, 1], "n1": C[:, 0], "n2": C[:, 1], "n3": C[:, 2], "w": w},
    )
    script = f"""
    d <- read.csv('{path}')
    v <- vglm(cbind(n1, n2, n3) ~ x0 + x1, multinomial(refLevel=1), data=d, weights=w,
              control=vglm.control(epsilon=1e-13, maxit=100))
    cf <- coef(v); se <- sqrt(diag(vcov(v)))
    ord <- c('(Intercept):1', 'x0:1', 'x1:1', '(Intercept):2', 'x0:2', 'x1:2')
    mn <- nnet::multinom(cbind(n1, n2, n3) ~ x0 + x1, data=d, weights=w, trace=FALSE,
                         reltol=1e-15, abstol=1e-15, maxit=2000)
    cat(format(c(cf[ord], se[ord], logLik(v), AIC(v), t(coef(mn)), BIC(v), deviance(v),
                 df.residual(v), nobs(v)), digits=17), '\\n')
    """
    r = run_r(script, packages=("VGAM", "nnet"))
    m = sl.SoftmaxRegression().fit(X, C, sample_weight=w)
    t = m.coef_table()
    np.testing.assert_allclose(t["coef"], r[0:6], rtol=RTOL)
    np.testing.assert_allclose(t["std_err"], r[6:12], rtol=RTOL)
    np.testing.assert_allclose(m.loglike_, r[12], rtol=RTOL)
    np.testing.assert_allclose(m.aic_, r[13], rtol=RTOL)
    np.testing.assert_allclose(t["coef"], r[14:20], rtol=1e-5)  # nnet's BFGS tolerance
    got = [m.bic_, m.deviance_, m.df_resid_, m.nobs_]
    np.testing.assert_allclose(got, r[20:24], rtol=RTOL)


def test_model_file_keeps_the_grouped_scale(tmp_path):
    X, s, N, w = _binomial_data()
    m = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]), sample_weight=w)
    m.save(tmp_path / "m.json")
    back = sl.load(tmp_path / "m.json")
    for name in (
        "loglike_",
        "deviance_",
        "null_deviance_",
        "aic_",
        "bic_",
        "nobs_",
        "loglike_bernoulli_",
        "deviance_bernoulli_",
        "nobs_bernoulli_",
    ):
        assert getattr(back, name) == pytest.approx(getattr(m, name), rel=1e-12), name
    np.testing.assert_allclose(
        back.coef_table(cov_type="HC1")["std_err"],
        m.coef_table(cov_type="HC1")["std_err"],
        rtol=1e-10,
    )
    assert str(back.summary()) == str(m.summary())


# ------------------------------------------------------------------ streamed
def _assert_same_fit(a, b, tol=1e-8):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.coef_table()["std_err"], b.coef_table()["std_err"], rtol=tol)
    for name in (
        "loglike_",
        "deviance_",
        "null_deviance_",
        "aic_",
        "bic_",
        "nobs_",
        "df_resid_",
        "loglike_bernoulli_",
    ):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=tol), name


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streamed_binomial_counts_equal_in_memory(tmp_path, fmt):
    X, s, N, w = _binomial_data()
    frame = pd.DataFrame(
        {"x0": X[:, 0], "x1": X[:, 1], "s": s, "f": N - s, "n": N, "p": s / N, "w": w}
    )
    path = tmp_path / f"d.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path, row_group_size=7)
        scan = sl.scan_parquet
    else:
        frame.to_csv(path, index=False, float_format="%.17g")
        scan = sl.scan_csv
    ref = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]), sample_weight=w)
    feats = ["x0", "x1"]
    a = sl.LogisticRegression().fit(
        scan(path, target=["s", "f"], features=feats, weight="w", batch_rows=7)
    )
    _assert_same_fit(a, ref)
    b = sl.LogisticRegression().fit(
        scan(path, target="p", trials="n", features=feats, weight="w", batch_rows=7)
    )
    _assert_same_fit(b, ref)
    for cov_type in ("HC0", "HC1"):
        np.testing.assert_allclose(
            a.coef_table(cov_type=cov_type)["std_err"],
            ref.coef_table(cov_type=cov_type)["std_err"],
            rtol=1e-8,
        )
    with pytest.raises(ValueError, match="cluster covariances"):
        a.coef_table(cov_type="cluster", groups=np.arange(40) // 2)


def test_streamed_multinomial_counts_equal_in_memory(tmp_path):
    X, C, w = _multinomial_data()
    frame = pd.DataFrame(
        {"x0": X[:, 0], "x1": X[:, 1], "c": C[:, 0], "a": C[:, 1], "b": C[:, 2], "w": w}
    )
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, row_group_size=9)
    ref = sl.SoftmaxRegression().fit(X, frame[["c", "a", "b"]], sample_weight=w)
    m = sl.SoftmaxRegression().fit(
        sl.scan_parquet(path, target=["c", "a", "b"], weight="w", batch_rows=9)
    )
    assert list(m.classes_) == ["a", "b", "c"]
    _assert_same_fit(m, ref)
    np.testing.assert_allclose(
        m.coef_table(cov_type="HC1")["std_err"],
        ref.coef_table(cov_type="HC1")["std_err"],
        rtol=1e-8,
    )


def test_dask_counts_equal_in_memory():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    X, s, N, w = _binomial_data()
    Y = np.column_stack([s, N - s])
    ref = sl.LogisticRegression().fit(X, Y, sample_weight=w)
    m = sl.LogisticRegression().fit(
        da.from_array(X, chunks=(9, 2)),
        da.from_array(Y, chunks=(9, 1)),
        sample_weight=da.from_array(w, chunks=9),
    )
    _assert_same_fit(m, ref)
    Xm, C, wm = _multinomial_data()
    frame = pd.DataFrame(C, columns=["c", "a", "b"])
    ref = sl.SoftmaxRegression().fit(Xm, frame, sample_weight=wm)
    m = sl.SoftmaxRegression().fit(
        da.from_array(Xm, chunks=(11, 2)),
        dd.from_pandas(frame, npartitions=4),
        sample_weight=da.from_array(wm, chunks=11),
    )
    assert list(m.classes_) == ["a", "b", "c"]
    _assert_same_fit(m, ref)
    np.testing.assert_allclose(
        m.coef_table(cov_type="HC0")["std_err"],
        ref.coef_table(cov_type="HC0")["std_err"],
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        m.coef_table(cov_type="HC1")["std_err"],
        ref.coef_table(cov_type="HC1")["std_err"],
        rtol=1e-8,
    )


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize(
    "options",
    [
        ["--target", "s,f"],
        ["--target", "p", "--trials", "n"],
        ["--formula", "cbind(s, f) ~ x0 + x1"],
        ["--target", "s,f", "--stream"],
    ],
)
def test_cli_counts_round_trip(tmp_path, options):
    from click.testing import CliRunner

    from softlogit.product import cli

    X, s, N, w = _binomial_data()
    path = _frame(
        tmp_path, {"x0": X[:, 0], "x1": X[:, 1], "s": s, "f": N - s, "n": N, "p": s / N, "w": w}
    )
    features = [] if options[0] == "--formula" else ["--features", "x0,x1"]
    out = tmp_path / "m.json"
    args = ["fit", str(path), *options, *features, "--weight", "w", "--out", str(out)]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    ref = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]), sample_weight=w)
    back = sl.load(out)
    np.testing.assert_allclose(back.coef_, ref.coef_, rtol=1e-8)
    assert back.deviance_ == pytest.approx(ref.deviance_, rel=1e-8)
    shown = CliRunner().invoke(cli.main, ["summary", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "grouped scale" in shown.output
    assert f"{ref.null_deviance_:.4f}"[:6] in shown.output


def test_binomial_counts_with_offset_against_r_glm(tmp_path):
    X, s, N, w = _binomial_data(seed=5)
    off = np.linspace(-0.5, 0.5, X.shape[0])
    path = _frame(tmp_path, {"x0": X[:, 0], "x1": X[:, 1], "s": s, "f": N - s, "o": off})
    script = f"""
    d <- read.csv('{path}')
    m <- glm(cbind(s, f) ~ x0 + x1 + offset(o), family=binomial, data=d,
             control=glm.control(epsilon=1e-14, maxit=100))
    cat(format(c(coef(m), sqrt(diag(vcov(m))), deviance(m), m$null.deviance, logLik(m),
                 sqrt(diag(sandwich::vcovCL(m, cluster=~ceiling(seq_len(nrow(d)) / 4),
                                            type='HC1')))),
               digits=17), '\\n')
    """
    r = run_r(script, packages=("sandwich",))
    m = sl.LogisticRegression().fit(X, np.column_stack([s, N - s]), offset=off)
    t = m.coef_table()
    np.testing.assert_allclose(t["coef"], r[0:3], rtol=RTOL)
    np.testing.assert_allclose(t["std_err"], r[3:6], rtol=RTOL)
    np.testing.assert_allclose([m.deviance_, m.null_deviance_, m.loglike_], r[6:9], rtol=RTOL)
    groups = np.ceil(np.arange(1, X.shape[0] + 1) / 4)
    cl = m.coef_table(cov_type="cluster", groups=groups)["std_err"]
    np.testing.assert_allclose(cl, r[9:12], rtol=RTOL)


def test_dask_counts_validation_names_the_row():
    da = pytest.importorskip("dask.array")
    X, s, N, _ = _binomial_data()
    Y = np.column_stack([s, N - s]).astype(float)
    Y[17, 1] = -2.0
    with pytest.raises(ValueError, match="row 8, column 1 has -2.0.*from row 9"):
        sl.LogisticRegression().fit(da.from_array(X, chunks=(9, 2)), da.from_array(Y, chunks=9))
    X[20, 0] = np.inf
    Y[17, 1] = 1.0
    with pytest.raises(ValueError, match="X has the invalid value inf at row 20"):
        sl.LogisticRegression().fit(da.from_array(X, chunks=(9, 2)), da.from_array(Y, chunks=9))


def test_model_file_of_a_multinomial_counts_fit(tmp_path):
    X, C, w = _multinomial_data()
    m = sl.SoftmaxRegression().fit(X, pd.DataFrame(C, columns=["a", "b", "c"]), sample_weight=w)
    assert m.df_resid_ == m.nobs_ * 2 - 6
    m.save(tmp_path / "m.json")
    back = sl.load(tmp_path / "m.json")
    assert str(back.summary()) == str(m.summary())
    assert back.df_resid_ == m.df_resid_ and back.deviance_ == m.deviance_


def test_formulas_with_counts():
    X, C, _ = _multinomial_data()
    data = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "n1": C[:, 0], "n2": C[:, 1], "n3": C[:, 2]})
    m = sl.SoftmaxRegression(formula="cbind(n1, n2, n3) ~ x0 + x1").fit(data)
    ref = sl.SoftmaxRegression().fit(X, data[["n1", "n2", "n3"]])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-10)
    assert list(m.classes_) == ["n1", "n2", "n3"] and m.response_name_ == "cbind(n1, n2, n3)"
    data["p"], data["n"] = C[:, 1] / C[:, :2].sum(1).clip(1), C[:, :2].sum(1)
    b = sl.LogisticRegression(formula="p ~ x0 + x1").fit(data, trials=data["n"])
    a = sl.LogisticRegression().fit(X, C[:, [1, 0]])
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-9)
    for bad in ("cbind(n1 + 1, n2) ~ x0", "cbind(n1) ~ x0", "cbind(__x, n2) ~ x0"):
        with pytest.raises(ValueError, match="cbind|response"):
            sl.LogisticRegression(formula=bad).fit(data)


def test_new_in_memory_counts_rows_get_a_clear_error_in_goodness_of_fit_and_auc():
    """goodness_of_fit / roc_auc of a counts model: the training rows work; new in-memory
    counts rows (a 2-column y, a cbind formula's frame) are refused by name, not deep in
    scikit-learn ("y should be a 1d array")."""
    rng = np.random.default_rng(3)
    n = 80
    x = rng.normal(size=n)
    trials = rng.integers(1, 9, n)
    s = rng.binomial(trials, 1 / (1 + np.exp(-x)))
    frame = pd.DataFrame({"x": x, "s": s, "f": trials - s})
    m = sl.LogisticRegression(formula="cbind(s, f) ~ x").fit(frame)
    assert np.isfinite(m.goodness_of_fit().pearson.statistic)
    for method in ("goodness_of_fit", "roc_auc"):
        with pytest.raises(ValueError, match=f"{method} on new in-memory counts rows"):
            getattr(m, method)(frame)
    a = sl.LogisticRegression().fit(frame[["x"]], frame[["s", "f"]].to_numpy())
    with pytest.raises(ValueError, match="new in-memory counts rows"):
        a.goodness_of_fit(frame[["x"]], frame[["s", "f"]].to_numpy())


def test_counts_response_is_named_as_r_names_it(tmp_path):
    """The summary's response of counts columns reads ``cbind(s, f)`` (R's left side) for a
    frame y, a cbind formula and a counts scan; a proportion with trials keeps its name."""
    rng = np.random.default_rng(4)
    trials = rng.integers(1, 6, 40)
    s = rng.binomial(trials, 0.4)
    frame = pd.DataFrame({"x": rng.normal(size=40), "s": s, "f": trials - s})
    frame.assign(p=s / trials, n=trials).to_parquet(tmp_path / "g.parquet")
    fits = [
        sl.LogisticRegression().fit(frame[["x"]], frame[["s", "f"]]),
        sl.LogisticRegression(formula="cbind(s, f) ~ x").fit(frame),
        sl.LogisticRegression().fit(
            sl.scan_parquet(tmp_path / "g.parquet", target=["s", "f"], features=["x"])
        ),
    ]
    for m in fits:
        assert m.response_name_ == "cbind(s, f)"
        assert "Response:             cbind(s, f)" in str(m.summary())
    scan = sl.scan_parquet(tmp_path / "g.parquet", target="p", trials="n", features=["x"])
    assert sl.LogisticRegression().fit(scan).response_name_ == "p"
