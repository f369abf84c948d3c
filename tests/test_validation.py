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
    # parameters are checked by scikit-learn's _parameter_constraints at fit: the message
    # starts with name=value, then scikit-learn's "The 'name' parameter of ... must be ..."
    X, y = Xy
    with pytest.raises(ValueError, match="penalty='lasso'"):
        sl.LogisticRegression(penalty="lasso").fit(X, y)
    with pytest.raises(ValueError, match="needs solver='cd'"):
        sl.LogisticRegression(penalty="l1", alpha=0.1, solver="newton").fit(X, y)
    with pytest.raises(ValueError, match=r"l1_ratio=2: .* in the range \[0.0, 1.0\]"):
        sl.LogisticRegression(penalty="elasticnet", alpha=0.1, l1_ratio=2).fit(X, y)
    with pytest.raises(ValueError, match="penalty_factor has shape"):
        sl.LogisticRegression(penalty="l1", alpha=0.1, penalty_factor=[1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="alpha=-1: The 'alpha' parameter .* must be"):
        sl.LogisticRegression(penalty="l2", alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="reference='zebra' is not a class label"):
        sl.SoftmaxRegression(reference="zebra").fit(X, y)
    with pytest.raises(ValueError, match="learning_rate="):
        sl.LogisticRegression(solver="sgd", learning_rate="fast").fit(X, y)
    with pytest.raises(ValueError, match="tol=-1: The 'tol' parameter .* must be"):
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


# --------------------------------------------------------------------------- parameters
ESTIMATORS = [
    sl.LogisticRegression(),
    sl.SoftmaxRegression(),
    sl.LogisticRegressionCV(n_alphas=3, cv=2),
    sl.SoftmaxRegressionCV(n_alphas=3, cv=2),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_every_parameter_is_validated_at_fit(estimator):
    """scikit-learn's own check: every parameter has a constraint, and a value of a wrong
    type or outside its range is an InvalidParameterError naming it, raised by fit."""
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "params,name",
    [
        ({"solver": "gd", "learning_rate_init": np.inf}, "learning_rate_init"),
        ({"solver": "sgd", "learning_rate_init": -0.1}, "learning_rate_init"),
        ({"solver": "sgd", "momentum": 1.5}, "momentum"),
        ({"solver": "gd", "momentum": -0.5}, "momentum"),
        ({"tol": -1e-8}, "tol"),
        ({"tol": np.inf}, "tol"),
        ({"penalty": "l2", "alpha": -0.1}, "alpha"),
        ({"penalty": "l2", "alpha": np.inf}, "alpha"),
        ({"max_iter": 0}, "max_iter"),
        ({"solver": "sgd", "batch_size": 0}, "batch_size"),
        ({"verbose": -1}, "verbose"),
        ({"fit_intercept": "yes"}, "fit_intercept"),
        ({"class_weight": "even"}, "class_weight"),
    ],
)
def test_bad_hyperparameters_are_named_before_any_fitting(Xy, params, name):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = Xy
    for cls in (sl.LogisticRegression, sl.SoftmaxRegression):
        model = cls(**params)
        with pytest.raises(InvalidParameterError, match=f"^{name}=.*'{name}' parameter"):
            model.fit(X, y)
        assert not hasattr(model, "coef_")  # refused before anything was fitted
    with pytest.raises(ValueError, match=f"'{name}' parameter of LogisticRegressionCV"):
        sl.LogisticRegressionCV(**params).fit(X, y)


def test_cv_estimators_validate_their_own_parameters(Xy):
    X, y = Xy
    bad = [
        ({"rule": "max"}, "rule"),
        ({"n_alphas": 0}, "n_alphas"),
        ({"eps": 0.0}, "eps"),
        ({"l1_ratios": 1.5}, "l1_ratios"),
        ({"penalty": None}, "penalty"),
        ({"penalty": "firth"}, "penalty"),
        ({"scoring": "no-such-score"}, "scoring"),
    ]
    for params, name in bad:
        with pytest.raises(ValueError, match=f"'{name}' parameter of LogisticRegressionCV"):
            sl.LogisticRegressionCV(**params).fit(X, y)


# --------------------------------------------------------------------------- penalties
@pytest.mark.parametrize("cls", [sl.LogisticRegression, sl.SoftmaxRegression])
def test_a_penalty_that_would_do_nothing_is_refused(Xy, cls):
    X, y = Xy
    for penalty in ("l1", "l2", "elasticnet"):
        with pytest.raises(ValueError, match=f"penalty='{penalty}' needs alpha > 0"):
            cls(penalty=penalty, l1_ratio=0.5).fit(X, y)
    with pytest.raises(ValueError, match="penalty='elasticnet' with l1_ratio=0 is ridge"):
        cls(penalty="elasticnet", alpha=0.01).fit(X, y)
    # what the messages point to fits: the elastic net with a lasso share is not the ridge
    ridge = cls(penalty="l2", alpha=0.01).fit(X, y)
    net = cls(penalty="elasticnet", alpha=0.01, l1_ratio=0.5).fit(X, y)
    assert not np.allclose(net.coef_, ridge.coef_, atol=1e-6)


@pytest.mark.parametrize("penalty", [None, "none", "firth"])
def test_coordinate_descent_without_a_penalty_is_refused(Xy, penalty):
    X, y = Xy
    with pytest.raises(ValueError, match=r"solver='cd' \(coordinate descent\) solves penalised"):
        sl.LogisticRegression(solver="cd", penalty=penalty).fit(X, y)
    ridge = sl.LogisticRegression(solver="cd", penalty="l2", alpha=0.1).fit(X, y)
    newton = sl.LogisticRegression(solver="newton", penalty="l2", alpha=0.1).fit(X, y)
    np.testing.assert_allclose(ridge.coef_, newton.coef_, atol=1e-7)


def test_command_line_solver_cd_without_a_penalty_is_one_clear_line(tmp_path):
    from click.testing import CliRunner

    from softlogit.product import cli

    X, y = make_data(n=60, p=2, n_classes=2, seed=3)
    path = tmp_path / "d.csv"
    pd.DataFrame(X, columns=["a", "b"]).assign(y=y).to_csv(path, index=False)
    result = CliRunner().invoke(cli.main, ["fit", str(path), "--target", "y", "--solver", "cd"])
    assert result.exit_code == 1
    assert "solver='cd' (coordinate descent) solves penalised fits" in result.stderr
    assert "AttributeError" not in result.stderr and "Traceback" not in result.stderr


def test_cv_estimators_and_paths_build_valid_inner_models(Xy):
    """The CV estimators (default penalty='l1', alpha unused) and the path build their
    inner estimators with a penalty that does something: ridge CV refits penalty='l2'."""
    X, y = Xy
    ridge_cv = sl.LogisticRegressionCV(penalty="l2", n_alphas=4, cv=3, random_state=0).fit(X, y)
    assert ridge_cv.l1_ratio_ == 0.0
    ref = sl.LogisticRegression(penalty="l2", alpha=ridge_cv.alpha_selected_).fit(X, y)
    np.testing.assert_allclose(ridge_cv.coef_, ref.coef_, atol=1e-8)
    zero = sl.LogisticRegressionCV(alphas=[0.0], cv=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(zero.coef_, sl.LogisticRegression().fit(X, y).coef_, atol=1e-6)
    path = sl.regularization_path(X, y, model=sl.LogisticRegression(), n_alphas=3)
    assert path.coefs.shape == (3, 1, 3)
    with pytest.raises(ValueError, match="l1_ratio=0 is ridge"):
        sl.LogisticRegressionCV(penalty="elasticnet").fit(X, y)


# --------------------------------------------------------------------------- magnitudes
def test_the_magnitude_bound_is_what_overflows():
    from softlogit.data.design import MAX_ABS_SQRT_ROWS

    big = np.finfo(np.float64).max
    assert MAX_ABS_SQRT_ROWS**2 * 2.0**64 <= big  # n * max|x|^2 stays 2**64 below the range
    assert MAX_ABS_SQRT_ROWS**2 * 2.0**65 > big * 0.99
    # a column scaled by 1e12 with a billion rows is far inside it
    assert 5e12 * np.sqrt(1e9) < MAX_ABS_SQRT_ROWS


@pytest.mark.parametrize("kind", ["array", "frame", "sparse"])
def test_values_that_overflow_the_fit_are_named(Xy, kind):
    X, y = Xy

    def as_kind(A):
        if kind == "frame":
            return pd.DataFrame(A, columns=["a", "b", "gpa"])
        return sp.csr_matrix(A) if kind == "sparse" else A

    Xb = X.copy()
    Xb[17, 2] = 1e308
    name = r" \('gpa'\)" if kind == "frame" else ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any overflow warning
        with pytest.raises(ValueError, match=rf"X has 1e\+308 at row 17, column 2{name}: "):
            fit(as_kind(Xb), y)
    scaled = X * np.array([1.0, 1e200, 1.0])
    row = int(np.argmax(np.abs(scaled[:, 1])))
    with pytest.raises(ValueError, match=rf"at row {row}, column 1.*overflows.*rescale"):
        fit(as_kind(scaled), y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("scale", [1e12, 1e-12, 1e100])
def test_large_and_small_column_scales_are_accepted(scale):
    """Rescaling a column is a reparametrisation: the fit is accepted and its coefficient
    scales inversely (the unscaled fit is the reference)."""
    X, y = make_data(n=400, p=3, n_classes=2, seed=8)
    ref = sl.LogisticRegression().fit(X, y)
    m = sl.LogisticRegression().fit(X * np.array([1.0, scale, 1.0]), y)
    if scale <= 1e12:
        np.testing.assert_allclose(m.coef_[0] * [1.0, scale, 1.0], ref.coef_[0], rtol=1e-6)
    assert np.all(np.isfinite(m.coef_))


# --------------------------------------------------------------------------- labels
def test_class_weights_that_are_not_finite_and_non_negative_are_named(Xy):
    X, _ = Xy
    y3 = np.arange(50) % 3
    for bad in (np.nan, np.inf, -1.0):
        with pytest.raises(ValueError, match=f"class_weight for class 1 is {bad!r}"):
            sl.SoftmaxRegression(class_weight={0: 1.0, 1: bad, 2: 1.0}).fit(X, y3)
    with pytest.raises(ValueError, match="class_weight for class 0 is nan"):
        sl.LogisticRegression(class_weight={0: np.nan, 1: 1}).fit(X, y3 % 2)
    with pytest.raises(ValueError, match="class_weight for class 'b' is -2.0"):
        sl.LogisticRegression(class_weight={"a": 1, "b": -2}).fit(X, np.array(["a", "b"])[y3 % 2])


def test_mixed_label_types_are_named(Xy):
    X, _ = Xy
    y = pd.Series([0, 1] * 25, dtype=object)
    y[3] = "yes"
    for labels in (y, y.to_numpy()):
        with pytest.raises(TypeError, match=r"y mixes label types: number \(0 at row 0\), str"):
            fit(X, labels)
    with pytest.raises(TypeError, match=r"'yes' at row 3"):
        sl.SoftmaxRegression().fit(X, y)


def test_missing_string_labels_name_the_row(Xy):
    X, y = Xy
    labels = pd.Series(np.array(["no", "yes"])[y], dtype="string")
    labels[6] = pd.NA
    with pytest.raises(ValueError, match="y contains a missing label at row 6"):
        fit(X, labels)
    m = sl.LogisticRegression(solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="y contains a missing label at row 6"):
        m.partial_fit(X, labels, classes=["no", "yes"])


def test_duplicate_column_names_are_named(Xy):
    X, y = Xy
    frame = pd.DataFrame(X, columns=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"two columns named 'a' \(columns 0 and 2\)"):
        fit(frame, y)
    with pytest.raises(ValueError, match="two columns named 'a'"):
        sl.LogisticRegression(formula="y ~ a + b").fit(frame.assign(y=y))


# --------------------------------------------------------------------------- dask
def test_dask_arrays_with_unknown_chunk_sizes_say_how_to_fix():
    da = pytest.importorskip("dask.array")
    X, y = make_data(n=400, p=3, n_classes=2, seed=9)
    dX, dy = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    keep = dX[:, 0] > -0.5
    with pytest.raises(
        ValueError,
        match=r"X is a Dask array with unknown chunk sizes.*"
        r"X\.compute_chunk_sizes\(\)",
    ):
        fit(dX[keep], dy[keep])
    with pytest.raises(ValueError, match="y is a Dask array with unknown chunk sizes"):
        fit(dX[keep].compute_chunk_sizes(), dy[keep])
    m = fit(dX[keep].compute_chunk_sizes(), dy[keep].compute_chunk_sizes())
    rows = X[:, 0] > -0.5
    np.testing.assert_allclose(m.coef_, fit(X[rows], y[rows]).coef_, atol=1e-8)


def test_dask_nulls_name_the_column_and_row():
    dd = pytest.importorskip("dask.dataframe")
    X, y = make_data(n=400, p=3, n_classes=2, seed=10)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.loc[257, "b"] = np.nan
    labels = dd.from_pandas(pd.Series(y), npartitions=4)
    with pytest.raises(ValueError, match=r"X contains NaN at row 257, column 1 \('b'\)"):
        fit(dd.from_pandas(frame, npartitions=4), labels)
    w = np.ones(400)
    w[301] = -1.0
    weights = dd.from_pandas(pd.Series(w), npartitions=4)
    good = dd.from_pandas(frame.fillna(0.0), npartitions=4)
    with pytest.raises(ValueError, match="sample_weight contains -1.0 at row 301"):
        fit(good, labels, sample_weight=weights)
    text = pd.Series(np.array(["no", "yes"])[y], dtype=object)
    text[123] = None
    with pytest.raises(ValueError, match="y contains a missing label at row 123"):
        fit(good, dd.from_pandas(text, npartitions=4))
