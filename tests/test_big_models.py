"""Big models: nothing allocates a dense (number of parameters)^2 matrix unless inference is
asked for and fits in memory; model files store what they can and say what they left out
(issue "Trust", part D)."""

import json
import warnings

import numpy as np
import pytest

import softlogit as sl
from softlogit import memory
from softlogit.product import modelfile as io
from softlogit.stats import results

from .conftest import make_data


@pytest.fixture(scope="module")
def wide_softmax():
    """K = 11 classes over 100 features: 1010 free parameters, more than a model file
    stores a covariance for (io.MAX_STORED_PARAMS)."""
    X, y = make_data(n=3000, p=100, n_classes=11, seed=40, scale=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sl.SoftmaxRegression(max_iter=300).fit(X, y), X


def test_saving_a_big_model_forms_no_covariance_and_says_so(wide_softmax, tmp_path, monkeypatch):
    model, X = wide_softmax
    assert model.coef_.size + model.intercept_.size > io.MAX_STORED_PARAMS

    def refuse(*args, **kwargs):
        raise AssertionError("save formed the information matrix")

    monkeypatch.setattr(results, "information", refuse)
    path = tmp_path / "wide.json"
    model.save(path)
    stored = json.loads(path.read_text())["results"]
    assert stored["covariance"] is None
    assert "1,010 parameters" in stored["covariance_omitted"]
    loaded = sl.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X[:50]), model.predict_proba(X[:50]))
    with pytest.raises(ValueError, match="without a covariance matrix .*1,010 parameters"):
        loaded.coef_table()


def test_a_covariance_too_large_to_form_is_a_clear_error(wide_softmax, monkeypatch):
    model, _ = wide_softmax
    fresh = results.FitResults(
        model.results_._objective,
        model.results_._theta,
        model.results_._free,
        model.results_._names,
        model.results_._rows,
        model.results_.null_loglike,
    )
    monkeypatch.setattr(memory, "physical_memory", lambda: 2**20)  # a machine of 1 MiB
    with pytest.raises(memory.DenseSquareTooLarge, match=r"covariance of 1,010 parameters"):
        fresh.coef_table()


def test_newton_refuses_a_hessian_that_does_not_fit_before_any_pass(monkeypatch):
    X, y = make_data(n=500, p=20, n_classes=5, seed=41)
    monkeypatch.setattr(memory, "physical_memory", lambda: 2**16)
    with pytest.raises(memory.DenseSquareTooLarge, match="solver='lbfgs'"):
        sl.SoftmaxRegression(solver="newton").fit(X, y)
    # the default solver for many parameters forms no Hessian and fits under the same limit
    monkeypatch.setattr(memory, "physical_memory", lambda: 2**30)
    assert sl.SoftmaxRegression(solver="lbfgs").fit(X, y).converged_


def test_check_dense_square_names_the_size():
    expected = r"98,049 x 98,049 .* 286\.5 GiB, more than the 1\.0 GiB"
    with pytest.raises(memory.DenseSquareTooLarge, match=expected):
        memory.check_dense_square(98_049, "the covariance", copies=4, budget=2**30)
    memory.check_dense_square(1000, "the covariance", copies=4, budget=2**30)  # 30 MiB: fine


def test_a_separation_lp_too_large_to_build_is_not_run(monkeypatch):
    """Konis' LP has 2 n (K - 1) q non-zeros (1.2e9 for 6000 rows, 50 classes and 2000
    features): above fitting.LP_MAX_NONZEROS it is skipped, and a fit with fitted
    probabilities of 1 is then not reported as converged."""
    from softlogit.model import fitting

    rng = np.random.default_rng(42)
    X = rng.normal(size=(300, 2))
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # completely separated by x0
    monkeypatch.setattr(fitting, "LP_MAX_NONZEROS", 1000)
    monkeypatch.setattr(fitting, "find_separation", None)  # would raise if called
    with pytest.warns(sl.PerfectSeparationWarning, match="too large"):
        m = sl.SoftmaxRegression().fit(X, y)
    assert not m.converged_ and m.separation_ is None
