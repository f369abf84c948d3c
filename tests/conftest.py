"""Shared generated data for the tests."""

import numpy as np
import pytest


def make_data(n=600, p=4, n_classes=2, seed=0, scale=0.7):
    """Well-conditioned logistic/softmax data: standard-normal features, moderate effects."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    B = rng.normal(size=(n_classes, p)) * scale
    b = rng.normal(size=n_classes) * 0.3
    logits = X @ B.T + b
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    return X, y


@pytest.fixture(scope="module")
def admissions():
    """The bundled UCLA admissions data frame."""
    from softlogit.datasets import load_admissions

    return load_admissions()


@pytest.fixture
def binary_data():
    return make_data(n=600, p=4, n_classes=2, seed=1)


@pytest.fixture
def multi_data():
    return make_data(n=800, p=3, n_classes=4, seed=2)


@pytest.fixture
def subsample_starts(monkeypatch):
    """Record, per call of Newton's ``subsample_start``, whether it took the subsample route."""
    from softlogit.model.solvers import newton

    starts = []
    original = newton.subsample_start

    def spy(*args):
        out = original(*args)
        starts.append(out is not None)
        return out

    monkeypatch.setattr(newton, "subsample_start", spy)
    return starts
