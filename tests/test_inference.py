"""Fit statistics, covariance, tables and tests against statsmodels, finite differences and
expanded data."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as smapi
import statsmodels.formula.api as smf

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo, load_mtcars

from .conftest import make_data

RTOL = 1e-6


def binary_cases():
    X, y = make_data(n=500, p=3, n_classes=2, seed=21)
    gen = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    return [
        ("admit ~ gre + gpa + C(rank)", load_admissions()),
        ("vs ~ wt + disp", load_mtcars()),
        ("y ~ a + b + c", gen),
    ]


def multi_cases():
    X, y = make_data(n=600, p=2, n_classes=4, seed=22)
    gen = pd.DataFrame(X, columns=["a", "b"]).assign(y=y)
    return [("prog ~ C(ses) + write", load_hsbdemo()), ("y ~ a + b", gen)]


def check_statistics(m, r, llnull, deviance=None):
    np.testing.assert_allclose(m.loglike_, r.llf, rtol=RTOL)
    np.testing.assert_allclose(m.null_loglike_, llnull, rtol=RTOL)
    np.testing.assert_allclose(m.aic_, r.aic, rtol=RTOL)
    np.testing.assert_allclose(m.bic_, r.bic, rtol=RTOL)
    np.testing.assert_allclose(m.pseudo_r2_, r.prsquared, rtol=RTOL)
    np.testing.assert_allclose(m.lr_stat_, r.llr, rtol=RTOL)
    np.testing.assert_allclose(m.lr_pvalue_, r.llr_pvalue, rtol=1e-5, atol=1e-300)
    assert m.df_model_ == r.df_model and m.df_resid_ == r.df_resid and m.nobs_ == r.nobs
    if deviance is not None:
        np.testing.assert_allclose(m.deviance_, deviance, rtol=RTOL)


@pytest.mark.parametrize("formula,data", binary_cases())
def test_binary_statistics_and_tables_equal_statsmodels(formula, data):
    m = sl.LogisticRegression(formula=formula).fit(data)
    r = smf.logit(formula, data).fit(disp=0, method="newton", tol=1e-12)
    glm = smf.glm(formula, data, family=smapi.families.Binomial()).fit(tol=1e-12)
    check_statistics(m, r, r.llnull, deviance=glm.deviance)
    table = m.coef_table()
    assert list(table.columns) == ["coef", "std_err", "z", "p_value", "ci_low", "ci_high"]
    assert table.index[0] == "Intercept"
    names = list(table.index)  # patsy orders terms differently: compare by name
    ref = r.summary2().tables[1].loc[names].to_numpy()
    np.testing.assert_allclose(table.to_numpy(), ref, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(
        m.cov_params().to_numpy(), r.cov_params().loc[names, names].to_numpy(), rtol=1e-5
    )
    for cov_type in ("HC0", "HC1"):
        rr = smf.logit(formula, data).fit(disp=0, method="newton", cov_type="HC0")
        factor = 1.0 if cov_type == "HC0" else np.sqrt(r.nobs / (r.nobs - len(r.params)))
        np.testing.assert_allclose(
            m.coef_table(cov_type=cov_type)["std_err"], rr.bse[names].to_numpy() * factor, rtol=RTOL
        )
    groups = np.arange(len(data)) % 7
    rc = smf.logit(formula, data).fit(
        disp=0, method="newton", cov_type="cluster", cov_kwds={"groups": groups}
    )
    np.testing.assert_allclose(
        m.coef_table(cov_type="cluster", groups=groups)["std_err"],
        rc.bse[names].to_numpy(),
        rtol=RTOL,
    )
    odds = m.odds_ratios()
    np.testing.assert_allclose(odds["odds_ratio"], np.exp(r.params[names]), rtol=RTOL)
    np.testing.assert_allclose(odds["ci_high"], np.exp(r.conf_int()[1][names]), rtol=RTOL)


@pytest.mark.parametrize("formula,data", multi_cases())
def test_softmax_statistics_and_tables_equal_statsmodels(formula, data):
    m = sl.SoftmaxRegression(formula=formula).fit(data)
    response = formula.split("~")[0].strip()
    coded = data.assign(**{response: pd.Categorical(data[response]).codes})
    r = smf.mnlogit(formula, coded).fit(disp=0, method="newton", tol=1e-12)
    check_statistics(m, r, r.llnull)
    table = m.coef_table()
    assert table.index.names == ["class", "term"]
    assert list(table.index.get_level_values("class").unique()) == list(m.classes_[1:])
    terms = list(table.loc[m.classes_[1]].index)

    def flat(frame):  # statsmodels: terms x classes, in patsy's term order
        return frame.loc[terms].to_numpy().T.ravel()

    np.testing.assert_allclose(table["coef"], flat(r.params), rtol=RTOL)
    np.testing.assert_allclose(table["std_err"], flat(r.bse), rtol=RTOL)
    np.testing.assert_allclose(table["p_value"], flat(r.pvalues), rtol=1e-5)
    rr = smf.mnlogit(formula, coded).fit(disp=0, method="newton", cov_type="HC0")
    np.testing.assert_allclose(m.coef_table(cov_type="HC0")["std_err"], flat(rr.bse), rtol=RTOL)
    rrr = m.relative_risk_ratios()
    np.testing.assert_allclose(rrr["rrr"], np.exp(table["coef"]), rtol=1e-12)


def test_two_class_softmax_gives_the_binary_tables_and_statistics():
    data = load_admissions()
    f = "admit ~ gre + gpa + C(rank)"
    b = sl.LogisticRegression(formula=f).fit(data)
    s = sl.SoftmaxRegression(formula=f).fit(data)
    np.testing.assert_allclose(s.coef_table().to_numpy(), b.coef_table().to_numpy(), rtol=1e-7)
    for name in (
        "loglike_",
        "null_loglike_",
        "aic_",
        "bic_",
        "pseudo_r2_",
        "lr_stat_",
        "df_model_",
        "df_resid_",
        "nobs_",
    ):
        np.testing.assert_allclose(getattr(s, name), getattr(b, name), rtol=1e-10)


def loglike_by_hand(theta, X, y, K):
    """Log-likelihood of a reference-class softmax model written out with numpy only."""
    p = X.shape[1]
    B = np.vstack([np.zeros(p + 1), theta.reshape(K - 1, p + 1)])
    eta = X @ B[:, 1:].T + B[:, 0]
    top = eta.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(eta - top).sum(axis=1))
    return float(np.sum(eta[np.arange(len(y)), y] - lse))


@pytest.mark.parametrize("K", [2, 3])
def test_standard_errors_equal_numerical_second_derivatives(K):
    X, y = make_data(n=300, p=2, n_classes=K, seed=23)
    model = sl.SoftmaxRegression() if K > 2 else sl.LogisticRegression()
    m = model.fit(X, y)
    theta = np.column_stack([m.intercept_, m.coef_]).ravel()
    h, k = 1e-4, theta.size
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(k):
            H[i, j] = (
                loglike_by_hand(theta + E[i] + E[j], X, y, K)
                - loglike_by_hand(theta + E[i] - E[j], X, y, K)
                - loglike_by_hand(theta - E[i] + E[j], X, y, K)
                + loglike_by_hand(theta - E[i] - E[j], X, y, K)
            ) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    np.testing.assert_allclose(m.coef_table()["std_err"], se, rtol=1e-5)


@pytest.mark.parametrize("K", [2, 3])
def test_frequency_weights_reproduce_the_expanded_data(K):
    X, y = make_data(n=120, p=2, n_classes=K, seed=24)
    w = np.random.default_rng(0).integers(1, 4, size=120)
    model = sl.SoftmaxRegression if K > 2 else sl.LogisticRegression
    weighted = model().fit(X, y, sample_weight=w)
    expanded = model().fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for cov_type in ("nonrobust", "HC0"):
        np.testing.assert_allclose(
            weighted.coef_table(cov_type=cov_type).to_numpy(),
            expanded.coef_table(cov_type=cov_type).to_numpy(),
            rtol=1e-7,
            atol=1e-10,
        )
    for name in ("loglike_", "null_loglike_", "aic_", "bic_", "nobs_", "df_resid_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(expanded, name), rtol=1e-9)


def test_wald_and_likelihood_ratio_tests():
    data = load_admissions()
    full = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(data)
    r = smf.logit("admit ~ gre + gpa + C(rank)", data).fit(disp=0)
    terms = ["C(rank)[T.2]", "C(rank)[T.3]", "C(rank)[T.4]"]
    ours = full.wald_test(terms)
    theirs = r.wald_test(", ".join(f"{t} = 0" for t in terms), scalar=True)
    np.testing.assert_allclose(ours.statistic, theirs.statistic, rtol=RTOL)
    np.testing.assert_allclose(ours.pvalue, theirs.pvalue, rtol=1e-5)
    assert ours.df == 3
    diff = full.wald_test("C(rank)[T.2] - C(rank)[T.3] = 0")
    theirs = r.wald_test("C(rank)[T.2] - C(rank)[T.3] = 0", scalar=True)
    np.testing.assert_allclose(diff.statistic, theirs.statistic, rtol=RTOL)
    restricted = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(data)
    lr = sl.lr_test(restricted, full)
    np.testing.assert_allclose(lr.statistic, 2 * (full.loglike_ - restricted.loglike_))
    assert lr.df == 3 and 0 < lr.pvalue < 1e-3
    with pytest.raises(ValueError, match="pass \\(restricted, full\\)"):
        sl.lr_test(full, restricted)
    with pytest.raises(ValueError, match="unknown term 'rank'"):
        full.wald_test("rank = 0")


def test_softmax_wald_test_spans_every_equation():
    data = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(data)
    ours = m.wald_test("write = 0")
    V = m.cov_params()
    rows = [("general", "write"), ("vocation", "write")]
    b = m.coef_table().loc[rows, "coef"].to_numpy()
    stat = b @ np.linalg.solve(V.loc[rows, rows].to_numpy(), b)
    np.testing.assert_allclose(ours.statistic, stat, rtol=RTOL)
    assert ours.df == 2
    single = m.wald_test("general:write = 0")
    assert single.df == 1


def test_aliased_terms_have_missing_standard_errors():
    X, y = make_data(n=300, p=2, n_classes=2, seed=25)
    df = pd.DataFrame(X, columns=["a", "b"]).assign(a2=lambda d: 2 * d["a"])
    with pytest.warns(sl.CollinearityWarning):
        m = sl.LogisticRegression().fit(df, y)
    table = m.coef_table()
    assert np.isnan(table.loc["a2", "std_err"]) and table.loc["a2", "coef"] == 0
    ref = sl.LogisticRegression().fit(df[["a", "b"]], y).coef_table()
    np.testing.assert_allclose(table.loc[["Intercept", "a", "b"]], ref, rtol=1e-7)
    assert m.df_model_ == 2


def test_symmetric_softmax_refuses_a_coefficient_table(multi_data):
    X, y = multi_data
    m = sl.SoftmaxRegression(reference=None).fit(X, y)
    with pytest.raises(ValueError, match="reference='first'"):
        m.coef_table()
    ref = sl.SoftmaxRegression().fit(X, y)
    np.testing.assert_allclose(m.loglike_, ref.loglike_, rtol=1e-10)


def test_bad_inference_arguments(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="cov_type='HC9'"):
        m.coef_table(cov_type="HC9")
    with pytest.raises(ValueError, match="needs groups"):
        m.coef_table(cov_type="cluster")
    with pytest.raises(ValueError, match="groups has shape"):
        m.coef_table(cov_type="cluster", groups=[1, 2])
    with pytest.raises(ValueError, match="alpha must be"):
        m.coef_table(alpha=1.5)


def test_probability_intervals_equal_statsmodels_for_binary():
    data = load_admissions()
    f = "admit ~ gre + gpa + C(rank)"
    m = sl.LogisticRegression(formula=f).fit(data)
    P, lo, hi = m.predict_proba(data.head(20), return_ci=True, alpha=0.1)
    frame = smf.logit(f, data).fit(disp=0).get_prediction(data.head(20)).summary_frame(0.1)
    np.testing.assert_allclose(P[:, 1], frame["predicted"], rtol=1e-7)
    np.testing.assert_allclose(lo[:, 1], frame["ci_lower"], rtol=1e-6)
    np.testing.assert_allclose(hi[:, 1], frame["ci_upper"], rtol=1e-6)
    np.testing.assert_allclose(lo[:, 0], 1 - hi[:, 1], rtol=1e-9)


def test_softmax_probability_intervals_by_numerical_delta_method():
    data = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(data)
    new = data.head(6)
    P, lo, hi = m.predict_proba(new, return_ci=True)
    assert np.all((lo <= P) & (P <= hi))
    X = m._design(new, None, reset=False)[0]
    theta = np.column_stack([m.coef_, m.intercept_]).ravel()
    V = m.results_._cov_theta()

    def logit_p(t):
        T = t.reshape(2, -1)
        eta = X @ T[:, :-1].T + T[:, -1]
        p = m._family.probabilities(eta)
        return np.log(p / (1 - p)).ravel()

    h = 1e-6
    J = np.column_stack(
        [(logit_p(theta + h * e) - logit_p(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    )
    se = np.sqrt(np.einsum("ij,jk,ik->i", J, V, J)).reshape(P.shape)
    z = 1.959963984540054
    expected_hi = 1 / (1 + np.exp(-(np.log(P / (1 - P)) + z * se)))
    np.testing.assert_allclose(hi, expected_hi, rtol=1e-6)


def test_null_loglike_honours_weights_and_offset():
    X, y = make_data(n=300, p=2, n_classes=2, seed=26)
    rng = np.random.default_rng(1)
    off = rng.normal(size=300) * 0.5
    w = rng.integers(1, 4, size=300).astype(float)
    m = sl.LogisticRegression().fit(X, y, sample_weight=w, offset=off)
    glm = smapi.GLM(
        y, smapi.add_constant(X), family=smapi.families.Binomial(), offset=off, freq_weights=w
    ).fit(tol=1e-12)
    np.testing.assert_allclose(m.loglike_, glm.llf, rtol=RTOL)
    np.testing.assert_allclose(m.null_loglike_, glm.llnull, rtol=RTOL)
    np.testing.assert_allclose(m.coef_table()["std_err"], glm.bse, rtol=RTOL)
    assert m.nobs_ == w.sum()


@pytest.fixture(scope="module")
def spector():
    """statsmodels' spector data: ours and statsmodels' logit of GRADE ~ GPA + TUCE + PSI."""
    data = smapi.datasets.spector.load_pandas().data
    formula = "GRADE ~ GPA + TUCE + PSI"
    ours = sl.LogisticRegression(formula=formula).fit(data)
    theirs = smf.logit(formula, data).fit(disp=0, method="newton", tol=1e-12)
    return ours, theirs


@pytest.mark.parametrize(
    "hypothesis",
    [
        "GPA = TUCE",
        "GPA - 2*TUCE = 1",
        "GPA + TUCE = 0",
        "2 * GPA = 1 + TUCE",
        "GPA = TUCE, PSI = 1",
        "Intercept + GPA = -10, TUCE - PSI = 0",
    ],
)
def test_restrictions_between_coefficients_equal_statsmodels(spector, hypothesis):
    ours, theirs = spector
    mine, ref = ours.wald_test(hypothesis), theirs.wald_test(hypothesis, scalar=True)
    np.testing.assert_allclose(mine.statistic, ref.statistic, rtol=RTOL)
    np.testing.assert_allclose(mine.pvalue, ref.pvalue, rtol=1e-5)
    assert mine.df == ref.df_denom == hypothesis.count("=")


def test_contradictory_restrictions_are_refused(spector):
    ours, _ = spector
    with pytest.raises(ValueError, match="inconsistent restrictions: 'GPA = 1' contradicts"):
        ours.wald_test("GPA = 0, GPA = 1")
    with pytest.raises(
        ValueError, match="'GPA = PSI \\+ 1' contradicts 'GPA = TUCE', 'TUCE = PSI'"
    ):
        ours.wald_test("GPA = TUCE, TUCE = PSI, GPA = PSI + 1")
    with pytest.raises(ValueError, match="inconsistent"):
        ours.wald_test(["GPA = 0", "2 * GPA = 1e-9"])


def test_redundant_restrictions_are_dropped_as_statsmodels_counts_them(spector):
    """A restriction implied by the others adds nothing: statsmodels warns and its df is the
    rank; ours drops the row with a warning, same statistic and df."""
    ours, theirs = spector
    hypothesis = "GPA = TUCE, TUCE = PSI, GPA - PSI = 0"
    with pytest.warns(UserWarning, match="'GPA - PSI = 0' follows from 'GPA = TUCE', 'TUCE"):
        mine = ours.wald_test(hypothesis)
    with pytest.warns(Warning, match="does not have full rank"):
        ref = theirs.wald_test(hypothesis, scalar=True)
    np.testing.assert_allclose(mine.statistic, ref.statistic, rtol=RTOL)
    assert mine.df == 2 == np.linalg.matrix_rank(np.array([[1, -1, 0], [0, 1, -1], [1, 0, -1]]))


def test_hypotheses_name_what_they_cannot_read(spector):
    ours, _ = spector
    for text, message in [
        ("gre = 0", "unknown term 'gre' in hypothesis 'gre = 0'"),
        ("GPA * TUCE = 0", "not linear"),
        ("GPA = GPA", "restricts no coefficient"),
        ("GPA 2 = 0", "expected \\+ or -"),
        ("GPA =", "not of the form 'a = 0'"),
        ("GPA = 0 = 1", "restricts no coefficient"),  # a chain: GPA = 0 and 0 = 1
        ("GPA / (TUCE - 1) = 0", "not linear"),
    ]:
        with pytest.raises(ValueError, match=message):
            ours.wald_test(text)


def test_term_names_with_operators_and_commas_are_read_whole():
    """Names are matched whole, longest first: formula terms holding '-', ':' or a comma
    inside parentheses are single terms (statsmodels' own names as the reference)."""
    data = load_admissions().assign(rank=lambda d: d["rank"].astype(int))
    formula = "admit ~ I(gre - 500) + gpa + gpa:I(gre - 500) + C(rank, Treatment(4))"
    m = sl.LogisticRegression(formula=formula).fit(data)
    r = smf.logit(formula, data).fit(disp=0, method="newton", tol=1e-12)
    terms = list(r.params.index)
    assert sorted(m.coef_table().index) == sorted(terms)
    rank1, rank2 = "C(rank, Treatment(4))[T.1]", "C(rank, Treatment(4))[T.2]"
    centred, product = "I(gre - 500)", "gpa:I(gre - 500)"
    hypothesis = f"{centred} = 0, {rank1} - {rank2} = 0, {product} = 2 * gpa"
    mine = m.wald_test(hypothesis)
    R = np.zeros((3, len(terms)))
    for row, weights in enumerate([{centred: 1}, {rank1: 1, rank2: -1}, {product: 1, "gpa": -2}]):
        for name, weight in weights.items():
            R[row, terms.index(name)] = weight
    ref = r.wald_test(R, scalar=True)
    np.testing.assert_allclose(mine.statistic, ref.statistic, rtol=RTOL)
    assert mine.df == 3


def test_softmax_restrictions_across_classes():
    data = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(data)
    V, b = m.cov_params(), m.coef_table()["coef"]
    rows = [("general", "write"), ("vocation", "write")]
    diff = np.array([1.0, -1.0])
    expected = (diff @ b[rows]) ** 2 / (diff @ V.loc[rows, rows].to_numpy() @ diff)
    across = m.wald_test("general:write = vocation:write")
    np.testing.assert_allclose(across.statistic, expected, rtol=RTOL)
    assert across.df == 1
    with pytest.raises(ValueError, match="inconsistent"):
        m.wald_test("write = 0, general:write = 1")
