"""Bad input gets a clear error naming the problem."""

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp

import softlogit as sl

from .conftest import make_data


@pytest.fixture
def Xy():
    return make_data(n=50, p=3, n_classes=2, seed=0)


def fit(X, y, **kw):
    return sl.LogisticRegression().fit(X, y, **kw)


@pytest.mark.parametrize("value,word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_X_names_row_and_column(Xy, value, word):
    X, y = Xy
    X = X.copy()
    X[7, 2] = value
    with pytest.raises(ValueError, match=rf"X contains {word} at row 7, column 2"):
        fit(X, y)
    df = pd.DataFrame(X, columns=["a", "b", "gpa"])
    with pytest.raises(ValueError, match=r"row 7, column 2 \('gpa'\)"):
        fit(df, y)
    with pytest.raises(ValueError, match=rf"X contains {word} at row 7, column 2"):
        fit(sp.csr_matrix(X), y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_the_finiteness_check_is_exact_for_huge_and_bad_values(dtype, order):
    """The check's sum of squares overflows for huge finite values: those still pass, with
    no warning; one NaN or infinity anywhere is found and named, in either memory order."""
    from softlogit.data.design import check_finite

    X = np.asarray(np.random.default_rng(5).standard_normal((300, 4)), dtype=dtype, order=order)
    X[10, 1] = np.finfo(dtype).max / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_finite(X, "X")
    for bad, word in ((np.inf, "inf"), (-np.inf, "inf"), (np.nan, "NaN")):
        Xb = X.copy(order=order)
        Xb[250, 3] = bad
        with pytest.raises(ValueError, match=f"X contains {word} at row 250, column 3"):
            check_finite(Xb, "X")


def test_non_finite_X_at_predict_time(Xy):
    X, y = Xy
    m = fit(X, y)
    Xb = X.copy()
    Xb[3, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN at row 3, column 0"):
        m.predict_proba(Xb)


def test_nan_in_y_weights_offset(Xy):
    X, y = Xy
    yf = y.astype(float)
    yf[4] = np.nan
    with pytest.raises(ValueError, match="y contains NaN at row 4"):
        fit(X, yf)
    yo = y.astype(object)
    yo[5] = None
    with pytest.raises(ValueError, match="missing label at row 5"):
        fit(X, yo)
    w = np.ones(50)
    w[6] = np.inf
    with pytest.raises(ValueError, match="sample_weight contains inf at row 6"):
        fit(X, y, sample_weight=w)
    o = np.zeros(50)
    o[8] = np.nan
    with pytest.raises(ValueError, match="offset contains NaN at row 8"):
        fit(X, y, offset=o)
    o2 = np.zeros((50, 3))
    o2[9, 1] = np.nan
    with pytest.raises(ValueError, match="offset contains NaN at row 9, column 1"):
        sl.SoftmaxRegression().fit(X, np.arange(50) % 3, offset=o2)


def test_mismatched_lengths(Xy):
    X, y = Xy
    with pytest.raises(ValueError, match="X has 50 rows but y has 49"):
        fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight has shape \(49,\) but X has 50 rows"):
        fit(X, y, sample_weight=np.ones(49))
    with pytest.raises(ValueError, match=r"offset has shape \(49,\)"):
        fit(X, y, offset=np.ones(49))
    with pytest.raises(ValueError, match=r"offset has shape \(50, 3\)"):
        fit(X, y, offset=np.ones((50, 3)))


def test_fewer_than_two_classes(Xy):
    X, _ = Xy
    with pytest.raises(ValueError, match="only 1 class"):
        fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="only 1 class"):
        sl.SoftmaxRegression().fit(X, ["a"] * 50)


def test_three_classes_in_logistic_names_softmax(Xy):
    X, _ = Xy
    with pytest.raises(ValueError, match="SoftmaxRegression"):
        fit(X, np.arange(50) % 3)


def test_bad_weights(Xy):
    X, y = Xy
    w = np.ones(50)
    w[11] = -1.0
    with pytest.raises(ValueError, match="non-negative; row 11 has -1.0"):
        fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="zero for every row"):
        fit(X, y, sample_weight=np.zeros(50))


def test_non_numeric_columns_without_formula(Xy):
    X, y = Xy
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["city"] = ["x", "y"] * 25
    with pytest.raises(TypeError, match=r"'city'.*formula"):
        fit(df, y)
    with pytest.raises(TypeError, match=r"'city'.*formula"):
        fit(pl.DataFrame({"a": X[:, 0], "city": ["x", "y"] * 25}), y)
    obj = X.astype(object)
    obj[2, 1] = "oops"
    with pytest.raises(TypeError, match=r"'oops' at row 2, column 1"):
        fit(obj, y)


def test_empty_input():
    with pytest.raises(ValueError, match="0 sample"):
        fit(np.empty((0, 3)), np.array([]))
    with pytest.raises(ValueError, match="0 feature"):
        fit(np.empty((5, 0)), np.array([0, 1, 0, 1, 0]))


def test_wrong_number_of_features_at_predict(Xy):
    X, y = Xy
    m = fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting 3"):
        m.predict(X[:, :2])


def test_bad_settings(Xy):
    X, y = Xy
    with pytest.raises(ValueError, match="penalty='lasso'"):
        sl.LogisticRegression(penalty="lasso").fit(X, y)
    with pytest.raises(ValueError, match="needs solver='cd'"):
        sl.LogisticRegression(penalty="l1", alpha=0.1, solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio must be in"):
        sl.LogisticRegression(penalty="elasticnet", alpha=0.1, l1_ratio=2).fit(X, y)
    with pytest.raises(ValueError, match="penalty_factor has shape"):
        sl.LogisticRegression(penalty="l1", alpha=0.1, penalty_factor=[1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="alpha must be"):
        sl.LogisticRegression(penalty="l2", alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="reference='zebra' is not a class label"):
        sl.SoftmaxRegression(reference="zebra").fit(X, y)
    with pytest.raises(ValueError, match="learning_rate="):
        sl.LogisticRegression(solver="sgd", learning_rate="fast").fit(X, y)
    with pytest.raises(ValueError, match="tol must be"):
        sl.LogisticRegression(tol=-1).fit(X, y)


def test_dataframes_give_feature_names(Xy):
    X, y = Xy
    for frame in (
        pd.DataFrame(X, columns=["a", "b", "c"]),
        pl.DataFrame(X, schema=["a", "b", "c"]),
    ):
        m = fit(frame, y)
        assert list(m.feature_names_in_) == ["a", "b", "c"]
        np.testing.assert_allclose(m.coef_, fit(X, y).coef_, atol=1e-12)
