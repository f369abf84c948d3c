"""Separation (Konis LP) and rank deficiency (aliased columns)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import softlogit as sl

from .conftest import make_data


def complete_binary():
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    noise = rng.normal(size=60)
    y = (x > 0).astype(int)
    return pd.DataFrame({"x": x, "noise": noise}), y


def quasi_binary():
    """x < 0 always fails, x > 0 always passes, x == 0 goes either way: quasi-complete."""
    rng = np.random.default_rng(1)
    x = np.r_[rng.uniform(-2, -0.1, 35), np.zeros(10), rng.uniform(0.1, 2, 35)]
    y = np.r_[np.zeros(35, dtype=int), np.tile([0, 1], 5), np.ones(35, dtype=int)]
    return pd.DataFrame({"x": x, "z": rng.normal(size=80)}), y


@pytest.mark.parametrize("solver", ["newton", "lbfgs", "adam"])
def test_complete_separation_warns_and_is_not_converged(solver):
    X, y = complete_binary()
    with pytest.warns(sl.PerfectSeparationWarning, match=r"complete.*\['x'") as rec:
        m = sl.LogisticRegression(solver=solver, random_state=0).fit(X, y)
    assert "quasi" not in str(rec[0].message)
    assert not m.converged_
    assert m.separation_.complete and "noise" not in str(rec[0].message).split("features")[1]
    assert "all 60 rows" in str(rec[0].message) and "firth" in str(rec[0].message)
    assert np.all(np.isfinite(m.coef_))


def test_quasi_complete_separation_is_detected():
    X, y = quasi_binary()
    with pytest.warns(sl.PerfectSeparationWarning, match=r"quasi-complete.*features \['x'\]"):
        m = sl.LogisticRegression().fit(X, y)
    assert not m.converged_ and not m.separation_.complete
    assert m.separation_.rows.size > 0


def test_softmax_separation_names_classes():
    rng = np.random.default_rng(2)
    x = rng.normal(size=150)
    z = rng.normal(size=150)
    y = np.where(x > 1.0, "high", np.where(rng.random(150) < 0.5, "low", "mid"))
    X = pd.DataFrame({"x": x, "z": z})
    with pytest.warns(sl.PerfectSeparationWarning, match=r"'high'") as rec:
        m = sl.SoftmaxRegression().fit(X, y)
    assert "'x'" in str(rec[0].message)
    assert not m.converged_


def test_penalised_fit_under_separation_is_finite_and_silent():
    X, y = complete_binary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = sl.LogisticRegression(penalty="l2", alpha=0.01).fit(X, y)
    assert m.converged_ and m.separation_ is None


def test_no_false_alarm_on_strong_but_overlapping_signal():
    X, y = make_data(n=2000, p=3, n_classes=2, seed=3, scale=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = sl.LogisticRegression().fit(X, y)
    assert m.converged_


def test_find_separation_direct():
    X, y = complete_binary()
    res = sl.find_separation(X.to_numpy(), y, 2)
    assert res.separated and res.complete and list(res.columns) == [0]
    X2, y2 = make_data(n=300, p=2, n_classes=3, seed=1)
    assert not sl.find_separation(X2, y2, 3).separated


def test_collinear_and_constant_columns_are_aliased_and_fixed_at_zero():
    X, y = make_data(n=300, p=3, n_classes=2, seed=4)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["a_plus_b"] = df["a"] + 2 * df["b"]
    df["const"] = 5.0
    with pytest.warns(sl.CollinearityWarning, match=r"\['a_plus_b', 'const'\]"):
        m = sl.LogisticRegression().fit(df, y)
    assert list(m.aliased_) == [False, False, False, True, True]
    assert np.all(m.coef_[0, 3:] == 0.0)
    ref = sl.LogisticRegression().fit(df[["a", "b", "c"]], y)
    np.testing.assert_allclose(m.coef_[0, :3], ref.coef_[0], atol=1e-8)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-8)
    assert m.converged_


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_aliasing_applies_to_every_solver_and_softmax(solver):
    X, y = make_data(n=400, p=2, n_classes=3, seed=5)
    Xd = np.column_stack([X, X[:, 0] - X[:, 1]])
    with pytest.warns(sl.CollinearityWarning, match=r"\['x2'\]"):
        m = sl.SoftmaxRegression(solver=solver, random_state=0).fit(Xd, y)
    assert np.all(m.coef_[:, 2] == 0.0)
    ref = sl.SoftmaxRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_[:, :2], ref.coef_, rtol=1e-3, atol=1e-4)


def test_constant_column_without_intercept_is_not_aliased():
    X, y = make_data(n=300, p=2, n_classes=2, seed=6)
    Xc = np.column_stack([X, np.ones(300)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = sl.LogisticRegression(fit_intercept=False).fit(Xc, y)
    ref = sl.LogisticRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_[0, 2], ref.intercept_[0], atol=1e-8)


def test_check_separation_before_fitting_names_terms():
    X, y = complete_binary()
    report = sl.check_separation(X, y)
    assert report.separated and report.kind == "complete" and report.features == ["x"]
    assert "all 60 rows" in str(report)
    Xq, yq = quasi_binary()
    q = sl.check_separation(Xq, yq)
    assert q.kind == "quasi-complete" and q.features == ["x"] and 0 < q.rows.size < 80
    data = Xq.assign(outcome=np.where(yq == 1, "pass", "fail"))
    f = sl.check_separation(data, None, formula="outcome ~ x + z")
    assert f.kind == "quasi-complete" and f.classes == ["fail", "pass"]
    none = sl.check_separation(data, None, formula="outcome ~ z")
    assert not none.separated and none.kind == "none" and "exists" in str(none)
