"""Formulas (formulaic) and data frames."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.formula.api as smf

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo


@pytest.fixture
def adm():
    return load_admissions()


def test_formula_matches_dummy_columns_and_names_flow_through(adm):
    f = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(adm)
    d = sl.LogisticRegression().fit(adm[["gre", "gpa", "rank_2", "rank_3", "rank_4"]], adm["admit"])
    np.testing.assert_allclose(f.coef_, d.coef_, rtol=1e-10)
    assert list(f.feature_names_in_) == [
        "gre",
        "gpa",
        "C(rank)[T.2]",
        "C(rank)[T.3]",
        "C(rank)[T.4]",
    ]
    assert list(f.coef_table().index) == ["Intercept", *f.feature_names_in_]
    np.testing.assert_allclose(
        f.predict_proba(adm.head(5)),
        d.predict_proba(adm[["gre", "gpa", "rank_2", "rank_3", "rank_4"]].head(5)),
        rtol=1e-10,
    )


def test_treatment_reference_interactions_and_transforms(adm):
    formula = "admit ~ np.log(gre) + gpa * C(rank, Treatment(reference=4))"
    m = sl.LogisticRegression(formula=formula).fit(adm)
    r = smf.logit(formula, adm).fit(disp=0, method="newton", tol=1e-12)
    names = list(m.coef_table().index)
    np.testing.assert_allclose(m.coef_table()["coef"], r.params[names], rtol=1e-6)
    np.testing.assert_allclose(m.coef_table()["std_err"], r.bse[names], rtol=1e-6)


def test_no_intercept_formula(adm):
    m = sl.LogisticRegression(formula="admit ~ gre + gpa - 1").fit(adm)
    assert np.all(m.intercept_ == 0) and "Intercept" not in m.coef_table().index
    ref = sl.LogisticRegression(fit_intercept=False).fit(adm[["gre", "gpa"]], adm["admit"])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-10)
    with pytest.raises(ValueError, match="fit_intercept=False but the formula has an"):
        sl.LogisticRegression(formula="admit ~ gre", fit_intercept=False).fit(adm)


def test_softmax_formula_with_string_response():
    h = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write", reference="vocation").fit(h)
    assert m.reference_ == "vocation"
    assert list(m.coef_table().index.get_level_values("class").unique()) == ["academic", "general"]
    assert set(m.predict(h)) <= {"academic", "general", "vocation"}
    assert m.objective(h) == pytest.approx(-m.loglike_ / len(h), rel=1e-12)


def test_polars_data_with_formula(adm):
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(
        pl.from_dict({c: adm[c].to_numpy() for c in adm.columns})
    )
    ref = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(adm)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)


def test_formula_errors_are_clear(adm):
    m = sl.LogisticRegression(formula="admit ~ gre + C(rank)").fit(adm)
    new = adm.head(3).assign(rank=[1, 2, 9])
    with pytest.raises(ValueError, match="unseen category"):
        m.predict(new)
    gap = adm.copy()
    gap.loc[5, "gre"] = np.nan
    with pytest.raises(ValueError, match="null values.*row: 5"):
        sl.LogisticRegression(formula="admit ~ gre").fit(gap)
    with pytest.raises(ValueError, match="formula error"):
        sl.LogisticRegression(formula="admit ~ gre + nosuchcolumn").fit(adm)
    with pytest.raises(ValueError, match="formula error"):
        sl.LogisticRegression(formula="admit ~ gre +").fit(adm)
    with pytest.raises(ValueError, match="takes the response from the data"):
        sl.LogisticRegression(formula="admit ~ gre").fit(adm, 1 - adm["admit"])
    with pytest.raises(ValueError, match="formula must be a string like"):
        sl.LogisticRegression(formula="admit").fit(adm)
    with pytest.raises(TypeError, match="must be a data frame"):
        sl.LogisticRegression(formula="admit ~ gre").fit(adm.to_numpy())


def test_dataframe_without_formula_uses_numeric_columns_by_name(adm):
    m = sl.LogisticRegression().fit(adm[["gpa", "gre"]], adm["admit"])
    assert list(m.coef_table().index) == ["Intercept", "gpa", "gre"]
    with pytest.raises(ValueError, match="feature names"):
        m.predict(adm[["gre", "gpa"]].rename(columns={"gre": "GRE"}))
    frame = adm.assign(rank=adm["rank"].astype(str))
    with pytest.raises(TypeError, match=r"'rank'.*formula="):
        sl.LogisticRegression().fit(frame[["gre", "rank"]], frame["admit"])


def test_formula_model_has_all_statistics():
    h = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(h)
    assert isinstance(m.coef_table(), pd.DataFrame)
    assert m.nobs_ == 200 and m.df_model_ == 6


def test_intercept_only_formula_is_the_null_model(adm, tmp_path):
    m = sl.LogisticRegression(formula="admit ~ 1").fit(adm)
    r = smf.logit("admit ~ 1", adm).fit(disp=0, method="newton", tol=1e-12)
    rate = adm["admit"].mean()
    assert m.coef_.shape == (1, 0) and list(m.feature_names_in_) == []
    np.testing.assert_allclose(m.intercept_, [np.log(rate / (1 - rate))], rtol=1e-10)
    np.testing.assert_allclose(m.coef_table()["std_err"], r.bse, rtol=1e-8)
    closed = len(adm) * (rate * np.log(rate) + (1 - rate) * np.log(1 - rate))
    np.testing.assert_allclose([m.loglike_, m.null_loglike_, r.llf], closed, rtol=1e-12)
    np.testing.assert_allclose(m.predict_proba(adm)[:, 1], rate, rtol=1e-10)
    assert "Intercept" in str(m.summary())
    m.save(tmp_path / "null.json")
    loaded = sl.load(tmp_path / "null.json")
    assert loaded.predict_proba(adm).tobytes() == m.predict_proba(adm).tobytes()


def test_intercept_only_softmax(tmp_path):
    h = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ 1").fit(h)
    counts = h["prog"].value_counts()
    expected = np.log(counts[m.classes_[1:]].to_numpy() / counts[m.classes_[0]])
    np.testing.assert_allclose(m.intercept_, expected, rtol=1e-9)
    m.save(tmp_path / "null.json")
    assert (
        sl.load(tmp_path / "null.json").predict_proba(h).tobytes() == m.predict_proba(h).tobytes()
    )


def test_formula_without_intercept_fits_saves_and_loads(adm, tmp_path):
    m = sl.LogisticRegression(formula="admit ~ 0 + gre").fit(adm)
    r = smf.logit("admit ~ 0 + gre", adm).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(m.coef_.ravel(), r.params, rtol=1e-8)
    np.testing.assert_array_equal(m.intercept_, [0.0])
    m.save(tmp_path / "m.json")  # the file used to be refused on load: "'1 + gre' != 'gre'"
    loaded = sl.load(tmp_path / "m.json")
    assert loaded.predict_proba(adm).tobytes() == m.predict_proba(adm).tobytes()
    assert list(loaded.coef_table().index) == ["gre"]


def test_formula_without_terms_or_intercept_is_refused(adm):
    with pytest.raises(ValueError, match="neither terms nor an intercept.*'admit ~ 1'"):
        sl.LogisticRegression(formula="admit ~ 0").fit(adm)


def test_multi_part_formula_is_refused_clearly(adm):
    with pytest.raises(ValueError, match=r"2 parts separated by '\|'"):
        sl.LogisticRegression(formula="admit ~ gre | gpa").fit(adm)
