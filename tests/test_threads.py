"""One estimator object fitted from several threads: every reader sees one whole model."""

import sys
import threading

import numpy as np
import pandas as pd
import pytest

import softlogit as sl

from .conftest import make_data

WIDTHS = (3, 5, 8)


def _datasets(n_classes):
    """Data of three widths; the 5-column one is a named data frame, so that
    ``feature_names_in_`` comes and goes between fits."""
    out = {}
    for p in WIDTHS:
        X, y = make_data(n=300, p=p, n_classes=n_classes, seed=40 + p)
        out[p] = (pd.DataFrame(X, columns=[f"f{j}" for j in range(p)]) if p == 5 else X, y)
    return out


def _check_whole(state, references):
    """``state`` (one read of an estimator's attributes) is exactly one of the reference
    fits: every fitted attribute agrees with the others and with that fit."""
    p = state["n_features_in_"]
    ref = vars(references[p])
    assert state["coef_"].shape == ref["coef_"].shape == (ref["coef_"].shape[0], p)
    np.testing.assert_allclose(state["coef_"], ref["coef_"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(state["intercept_"], ref["intercept_"], rtol=1e-9, atol=1e-12)
    assert ("feature_names_in_" in state) == ("feature_names_in_" in ref)
    if "feature_names_in_" in ref:
        assert list(state["feature_names_in_"]) == list(ref["feature_names_in_"])
    assert state["aliased_"].shape == (p,)
    results = state["results_"]
    assert results.params.size == state["coef_"].size + state["intercept_"].size
    assert list(results.params.index) == list(ref["results_"].params.index)
    np.testing.assert_allclose(results.loglike, ref["loglike_"], rtol=1e-12)
    for name in ("loglike_", "null_loglike_", "aic_", "nobs_", "df_model_"):
        np.testing.assert_allclose(state[name], ref[name], rtol=1e-9)
    assert state["loglike_"] == results.loglike
    np.testing.assert_array_equal(state["classes_"], ref["classes_"])


@pytest.mark.parametrize(
    "make,n_classes",
    [(sl.LogisticRegression, 2), (lambda: sl.SoftmaxRegression(solver="newton"), 3)],
    ids=["logistic", "softmax"],
)
def test_concurrent_fits_publish_whole_models(make, n_classes, tmp_path):
    data = _datasets(n_classes)
    references = {p: make().fit(X, y) for p, (X, y) in data.items()}
    model = make()
    errors, n_threads, rounds = [], 4, 15
    start = threading.Barrier(n_threads + 1)

    def fitter(k):
        start.wait()
        for i in range(rounds):
            X, y = data[WIDTHS[(k + i) % len(WIDTHS)]]
            try:
                model.fit(X, y)
                _check_whole(dict(vars(model)), references)  # whichever fit published last
            except Exception as err:  # noqa: BLE001 - collected, reported below
                errors.append(repr(err))

    def saver():
        start.wait()
        for i in range(rounds):
            path = tmp_path / f"m{i}.json"
            try:
                if hasattr(model, "coef_"):
                    model.save(path)
                    _check_whole(vars(sl.load(path)), references)
            except Exception as err:  # noqa: BLE001
                errors.append(f"save/load: {err!r}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: races show up within a few fits
    try:
        threads = [threading.Thread(target=fitter, args=(k,)) for k in range(n_threads)]
        threads.append(threading.Thread(target=saver))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    _check_whole(vars(model), references)
    model.save(tmp_path / "final.json")
    loaded = sl.load(tmp_path / "final.json")
    _check_whole(vars(loaded), references)
    X, _ = data[model.n_features_in_]
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-12)


def test_a_refit_removes_the_attributes_of_the_old_fit():
    """Fitted attributes the new fit does not have (names of a data frame, a formula's
    design) are gone after it, so nothing mixes the two fits."""
    X, y = make_data(n=200, p=3, n_classes=2, seed=50)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = sl.LogisticRegression().fit(frame, y)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    model.fit(X[:, :2], y)
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == 2
    assert list(model.coef_table().index) == ["Intercept", "x0", "x1"]
    model.set_params(formula="y ~ a + b").fit(frame.assign(y=y))
    assert hasattr(model, "_formula") and list(model.feature_names_in_) == ["a", "b"]
    model.set_params(formula=None).fit(X, y)
    assert not hasattr(model, "_formula") and not hasattr(model, "feature_names_in_")


def test_fit_sets_nothing_before_it_publishes(monkeypatch):
    """Until the solver returns, the estimator holds no attribute of the new fit."""
    from softlogit import estimators

    X, y = make_data(n=200, p=3, n_classes=2, seed=51)
    model = sl.LogisticRegression()
    seen = []
    original = estimators.fit_model

    def spy(spec, **kwargs):
        seen.append(sorted(k for k in vars(model) if k.endswith("_") or k.startswith("_")))
        return original(spec, **kwargs)

    monkeypatch.setattr(estimators, "fit_model", spy)
    model.fit(pd.DataFrame(X, columns=["a", "b", "c"]), pd.Series(y, name="admit"))
    assert seen == [[]]
    assert model.response_name_ == "admit" and model.n_features_in_ == 3
