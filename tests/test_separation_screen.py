"""The separation screen after a fit: a certificate of existence from the fitted
probabilities decides most fits, and the LP (Konis) runs only where it cannot.

Two properties: the certificate is sound (whenever it says the MLE exists, the LP finds no
separation, whatever probabilities it is given), and a fit reports exactly what running the
LP on every suspect fit reported before (the same rows, features, classes and kind)."""

import contextlib
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import softlogit as sl
from softlogit.model import fitting, separation
from softlogit.model.separation import certify_existence, find_separation


def strong(n, p, n_classes, seed, scale=8.0):
    """Features and classes drawn from a softmax with strong but finite effects: many
    fitted probabilities within 1e-6 of 0 or 1, yet the classes overlap (the MLE exists)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    B = rng.standard_normal((n_classes - 1, p))
    B *= scale / np.linalg.norm(B, axis=1, keepdims=True)
    eta = np.column_stack([np.zeros(n), X @ B.T])
    P = np.exp(eta - eta.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    return X, np.minimum(y, n_classes - 1)


def separated_cases():
    """Data sets the LP finds separated: complete and quasi-complete, binary and softmax."""
    rng = np.random.default_rng(5)
    x, z = rng.normal(size=300), rng.normal(size=300)
    yield "complete", np.column_stack([x, z]), (x > 0.3).astype(int)
    flag = (rng.random(300) < 0.2).astype(float)
    yq = np.where(flag == 1, 1, (rng.random(300) < 1 / (1 + np.exp(-x))).astype(int))
    yield "quasi, dummy", np.column_stack([x, flag, z]), yq
    tie = np.r_[rng.uniform(-2, -0.1, 60), np.zeros(20), rng.uniform(0.1, 2, 60)]
    yt = np.r_[np.zeros(60, int), np.tile([0, 1], 10), np.ones(60, int)]
    yield "quasi, ties", np.column_stack([tie, rng.normal(size=140)]), yt
    X, y = strong(2000, 5, 2, seed=3)
    X[:, 0] += 8 * (y == 1) - 4  # strong effects plus a hard split: complete
    yield "strong, split", X, y
    X3, y3 = strong(600, 3, 3, seed=4, scale=3.0)
    y3 = np.where(X3[:, 0] > 1.0, 2, np.minimum(y3, 1))  # class 2 exactly where x0 > 1
    yield "softmax, one class", X3, y3
    g = rng.integers(0, 3, 400)
    y4 = np.where(g == 2, 0, rng.integers(0, 3, 400))  # group 2 never shows classes 1, 2
    yield "softmax, dummy", np.column_stack([(g == 1), (g == 2), rng.normal(size=400)]), y4


def fit(X, y):
    model = sl.LogisticRegression() if np.unique(y).size == 2 else sl.SoftmaxRegression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def count_lp(monkeypatch):
    """Count the full LPs the fits run (and the certificates, with their answers)."""
    calls = {"lp": 0, "certified": [], "near": []}
    lp, certify = fitting.find_separation, fitting.certify_existence

    def counted_lp(*args, **kwargs):
        calls["lp"] += 1
        return lp(*args, **kwargs)

    def counted_certify(*args, **kwargs):
        out = certify(*args, **kwargs)
        calls["certified"].append(out)
        return out

    monkeypatch.setattr(fitting, "find_separation", counted_lp)
    monkeypatch.setattr(fitting, "certify_existence", counted_certify)
    return calls


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_extreme_but_finite_fit_runs_no_lp(monkeypatch, n_classes, weighted):
    X, y = strong(6000, 8, n_classes, seed=n_classes)  # more rows than the subsample
    w = np.random.default_rng(0).uniform(0.5, 2.0, y.size) if weighted else None
    assert not find_separation(X, y, n_classes).separated  # the MLE exists
    calls = count_lp(monkeypatch)
    model = sl.LogisticRegression() if n_classes == 2 else sl.SoftmaxRegression()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no separation warning, no convergence warning
        m = model.fit(X, y, sample_weight=w)
    P = m.predict_proba(X)[np.arange(y.size), np.searchsorted(m.classes_, y)]
    assert np.sum(P > 1 - fitting.SEPARATION_TRIGGER) > 20  # the screen was triggered ...
    assert calls["certified"] == [True] and calls["lp"] == 0  # ... and decided without LP
    assert m.converged_ and m.separation_ is None


def test_the_lp_still_runs_where_the_certificate_cannot_decide(monkeypatch):
    calls = count_lp(monkeypatch)
    _, X, y = next(separated_cases())
    m = fit(X, y)
    assert calls["certified"] == [False] and calls["lp"] == 1
    assert m.separation_ is not None and m.separation_.complete


@pytest.mark.parametrize("case", list(separated_cases()), ids=lambda c: c[0])
def test_every_separation_found_before_is_found_with_the_same_report(case):
    _, X, y = case
    before = find_separation(X, y, np.unique(y).size)  # what every suspect fit ran
    assert before.separated
    m = fit(X, y)
    after = m.separation_
    assert after is not None and not m.converged_
    assert after.complete == before.complete
    for field in ("rows", "columns", "classes", "direction"):
        np.testing.assert_array_equal(getattr(after, field), getattr(before, field))


@pytest.mark.parametrize("seed", range(12))
def test_fits_report_what_the_full_lp_reports(seed):
    """Strong effects, some with a hard split added: the fit's report equals the LP's."""
    rng = np.random.default_rng(seed)
    n_classes = 2 + seed % 3
    X, y = strong(int(rng.integers(150, 1500)), int(rng.integers(1, 6)), n_classes, seed)
    if seed % 2:
        X[:, 0] += rng.uniform(2, 12) * (y == n_classes - 1)  # maybe separates the last class
    if np.unique(y).size < n_classes:
        return
    before = find_separation(X, y, n_classes)
    after = fit(X, y).separation_
    assert (after is not None) == before.separated
    if before.separated:
        assert after.complete == before.complete
        np.testing.assert_array_equal(after.rows, before.rows)
        np.testing.assert_array_equal(after.columns, before.columns)


def test_certificate_refuses_separated_data_at_their_fitted_probabilities():
    for name, X, y in separated_cases():
        m = fit(X, y)
        K = np.unique(y).size
        assert not certify_existence(X, y, m.predict_proba(X), K), name


def test_certificate_refuses_a_body_that_does_not_span():
    """Quasi-complete: rows with x1 = 1 all have y = 1. At moderate probabilities everywhere
    but those rows' near 1, the rest cannot pin the x1 direction: no certificate."""
    rng = np.random.default_rng(0)
    x1 = (rng.random(200) < 0.3).astype(float)
    x2 = rng.normal(size=200)
    y = np.where(x1 == 1, 1, rng.integers(0, 2, 200))
    X = np.column_stack([x1, x2])
    P = np.full((200, 2), 0.5)
    P[x1 == 1] = [1e-12, 1 - 1e-12]
    assert find_separation(X, y, 2).separated
    assert not certify_existence(X, y, P, 2)
    P[x1 == 1] = [1e-3, 1 - 1e-3]  # those rows in the body: their weight cannot balance
    assert not certify_existence(X, y, P, 2)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(4, 30),
    p=st.integers(1, 3),
    n_classes=st.integers(2, 3),
    seed=st.integers(0, 2**32 - 1),
    spread=st.sampled_from([0.3, 3.0, 30.0]),
    intercept=st.booleans(),
    few=st.sampled_from([None, 3, 10]),
)
def test_certificate_is_sound_for_any_probabilities(n, p, n_classes, seed, spread, intercept, few):
    """Small integer designs, where separation is common: whatever probabilities the
    certificate is given (near uniform or extreme), and whether it first corrects a
    subsample of ``few`` rows, it never says that separated data are not separated."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, p)).astype(float)
    y = rng.integers(0, n_classes, n)
    P = rng.dirichlet(np.ones(n_classes), n) ** spread
    P /= P.sum(axis=1, keepdims=True)
    with subsample(few):
        certified = certify_existence(X, y, P, n_classes, intercept)
    if certified:
        assert not find_separation(X, y, n_classes, intercept).separated


@contextlib.contextmanager
def subsample(rows):
    """The certificate's subsample set to ``rows`` rows (None: as shipped)."""
    saved = separation.SUBSAMPLE_ROWS, separation.SUBSAMPLE_PER_PARAMETER
    if rows is not None:
        separation.SUBSAMPLE_ROWS, separation.SUBSAMPLE_PER_PARAMETER = rows, 0
    try:
        yield
    finally:
        separation.SUBSAMPLE_ROWS, separation.SUBSAMPLE_PER_PARAMETER = saved


def test_a_subsample_certifies_a_large_fit_alone(monkeypatch):
    """On an extreme but finite fit the subsample's correction suffices: the weights of
    all rows are never corrected (no second, full Gram matrix)."""
    X, y = strong(6000, 8, 2, seed=2)
    m = fit(X, y)
    sizes = []
    step = separation._balancing_step

    def recorded(design, *args):
        sizes.append(design.n_rows)
        return step(design, *args)

    monkeypatch.setattr(separation, "_balancing_step", recorded)
    assert certify_existence(X, y, m.predict_proba(X), 2)
    assert sizes == [separation.SUBSAMPLE_ROWS]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(8, 60), n_classes=st.integers(2, 3), seed=st.integers(0, 2**32 - 1))
def test_fitted_probabilities_certify_only_existing_estimates(n, n_classes, seed):
    """At the probabilities of an actual fit (converged or diverging), same soundness; and
    when the fit is not separated and the certificate fails, the LP decides."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 3, n), rng.normal(size=n)]).astype(float)
    y = rng.integers(0, n_classes, n)
    if np.unique(y).size < n_classes:
        return
    m = fit(X, y)
    if certify_existence(X, y, m.predict_proba(X), n_classes):
        assert not find_separation(X, y, n_classes).separated
    assert (m.separation_ is not None) == find_separation(X, y, n_classes).separated or (
        m.converged_ and m.separation_ is None  # not suspect: no screen at all
    )


VARIANTS = {
    "symmetric softmax": lambda X, y, Xb, yb: sl.SoftmaxRegression(reference=None).fit(X, y),
    "last class reference": lambda X, y, Xb, yb: sl.SoftmaxRegression(reference=2).fit(X, y),
    "sparse": lambda X, y, Xb, yb: sl.LogisticRegression().fit(sp.csr_matrix(Xb), yb),
    "offset": lambda X, y, Xb, yb: sl.LogisticRegression().fit(
        Xb, yb, offset=np.random.default_rng(0).normal(size=yb.size)
    ),
    "no intercept": lambda X, y, Xb, yb: sl.LogisticRegression(fit_intercept=False).fit(Xb, yb),
    "far from 0": lambda X, y, Xb, yb: sl.LogisticRegression().fit(Xb + 1e4, yb),
    "zero weights": lambda X, y, Xb, yb: sl.LogisticRegression().fit(
        Xb, yb, sample_weight=np.arange(yb.size) % 3 > 0
    ),
    "aliased column": lambda X, y, Xb, yb: sl.LogisticRegression().fit(
        np.column_stack([Xb, Xb[:, 0] + Xb[:, 1]]), yb
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_certificate_decides_every_kind_of_fit(monkeypatch, variant):
    X, y = strong(3000, 6, 3, seed=1)
    Xb, yb = strong(3000, 6, 2, seed=1)
    calls = count_lp(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", sl.CollinearityWarning)
        m = VARIANTS[variant](X, y, Xb, yb)
    assert calls["certified"] == [True] and calls["lp"] == 0
    assert m.converged_ and m.separation_ is None


@contextlib.contextmanager
def row_generation(smallest, first):
    """Row generation for LPs of more than ``smallest`` rows, from ``first`` rows."""
    saved = separation.ROW_GENERATION_MIN, separation.ROW_GENERATION_ROWS
    separation.ROW_GENERATION_MIN, separation.ROW_GENERATION_ROWS = smallest, first
    try:
        yield
    finally:
        separation.ROW_GENERATION_MIN, separation.ROW_GENERATION_ROWS = saved


def assert_same_report(a, b):
    assert (a.separated, a.complete) == (b.separated, b.complete)
    for field in ("rows", "columns", "classes", "direction"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("case", list(separated_cases()), ids=lambda c: c[0])
def test_row_generation_leaves_the_report_as_the_whole_lp_gives_it(case):
    _, X, y = case
    K = np.unique(y).size
    whole = find_separation(X, y, K)
    with row_generation(10, 20):
        assert_same_report(find_separation(X, y, K), whole)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(20, 80),
    p=st.integers(1, 3),
    n_classes=st.integers(2, 3),
    seed=st.integers(0, 2**32 - 1),
    first=st.sampled_from([3, 10]),
)
def test_row_generation_agrees_on_random_designs(n, p, n_classes, seed, first):
    """Integer designs with a split (separated, often with ties) or without."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, p)).astype(float)
    y = rng.integers(0, n_classes, n)
    if seed % 2:
        y = np.where(X[:, 0] > 0, n_classes - 1, np.minimum(y, n_classes - 2))
    whole = find_separation(X, y, n_classes)
    with row_generation(10, first):
        assert_same_report(find_separation(X, y, n_classes), whole)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_row_generation_decides_a_large_lp_without_solving_it_whole(monkeypatch, n_classes):
    X, y = strong(3000, 6, n_classes, seed=5)
    sizes = []
    lp = separation._max_total_margin

    def recorded(A, *args):
        sizes.append(A.shape[0])
        return lp(A, *args)

    monkeypatch.setattr(separation, "_max_total_margin", recorded)
    assert not find_separation(X, y, n_classes).separated
    assert sizes and max(sizes) < 3000 * (n_classes - 1) / 2
