"""Effects by variable (Stata's margins, R's marginaleffects), against references computed
in the test by definition: predictions of the model's own predict_proba on counterfactual
copies of the data, slopes analytic (binary) or by Richardson extrapolation (multinomial), and
standard errors by a numerical delta method over the parameters (central differences of the
averaged quantity, J V J^T with the model's cov_params). emmeans' counterfactual EMMs cross-check
the factor contrasts and averaged predictions (binary glm and nnet::multinom)."""

import copy
import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from softlogit import LogisticRegression, SoftmaxRegression, load
from softlogit.datasets import load_admissions, load_hsbdemo

from .conftest import make_data
from .rscript import run_r

RTOL = 1e-6
TIGHT = {"tol": 1e-12}
ADMIT = "admit ~ gre + gpa + I(gpa**2) + C(rank) + gre:gpa"
HSB = "prog ~ write + ses + np.log(math) + write:math"
WEIGHTS = 1.0 + np.arange(400) % 3  # admissions has 400 rows


# ---------------------------------------------------------------------- the references


def with_theta(model, theta):
    """A copy of ``model`` whose parameters are ``theta`` (cov_params order: per free class,
    intercept then coefficients)."""
    m = copy.copy(model)
    T = np.asarray(theta, dtype=float).reshape(model.coef_.shape[0], -1)
    m.intercept_, m.coef_ = T[:, 0].copy(), T[:, 1:].copy()
    return m


def theta_of(model):
    return np.column_stack([model.intercept_, model.coef_]).ravel()


def delta(model, quantity, cov_type="nonrobust", groups=None):
    """``quantity(model)`` and its numerical delta-method standard errors: the Jacobian by
    Richardson-extrapolated central differences, steps 1e-3 standard errors."""
    theta = theta_of(model)
    V = model.cov_params(cov_type, groups).to_numpy()

    def central(j, h):
        e = np.zeros_like(theta)
        e[j] = h
        hi, lo = quantity(with_theta(model, theta + e)), quantity(with_theta(model, theta - e))
        return (hi - lo) / (2 * h)

    steps = 1e-3 * np.sqrt(np.diag(V))
    J = np.column_stack([(4 * central(j, h / 2) - central(j, h)) / 3 for j, h in enumerate(steps)])
    return quantity(model), np.sqrt(np.einsum("ij,jk,ik->i", J, V, J))


def mean(values, weights=None):
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
    return (w / w.sum()) @ values


def prob(model, frame):
    return model.predict_proba(frame)


def counterfactual(model, frame, column, value, weights=None):
    """Average predicted probabilities (all classes) with ``column`` set to ``value``."""
    return mean(prob(model, frame.assign(**{column: value})), weights)


def richardson_slope(model, frame, column, h):
    """Per-row dP/dx of every class by Richardson-extrapolated central differences."""
    x = frame[column].to_numpy(dtype=float)

    def central(step):
        hi = prob(model, frame.assign(**{column: x + step}))
        lo = prob(model, frame.assign(**{column: x - step}))
        return (hi - lo) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


def admit_slope(model, frame, variable):
    """Analytic per-row dP(admit)/dx of ADMIT's model, through every term of ``variable``."""
    b = dict(zip(model.feature_names_in_, model.coef_[0], strict=True))
    p = prob(model, frame)[:, 1]
    gre, gpa = frame["gre"].to_numpy(float), frame["gpa"].to_numpy(float)
    if variable == "gpa":
        deta = b["gpa"] + 2 * b["I(gpa ** 2)"] * gpa + b["gre:gpa"] * gre
    else:
        deta = b["gre"] + b["gre:gpa"] * gpa
    return p * (1 - p) * deta


def check(table, estimate, se, rtol=RTOL):
    np.testing.assert_allclose(table["estimate"].to_numpy(), estimate, rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(table["std_err"].to_numpy(), se, rtol=rtol, atol=1e-14)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def admissions():
    data = load_admissions()
    return LogisticRegression(formula=ADMIT, **TIGHT).fit(data), data


@pytest.fixture(scope="module")
def hsbdemo():
    data = load_hsbdemo()
    return SoftmaxRegression(formula=HSB, **TIGHT).fit(data), data


@pytest.fixture(scope="module")
def weighted():
    data = load_admissions()
    model = LogisticRegression(formula=ADMIT, **TIGHT).fit(data, sample_weight=WEIGHTS)
    return model, data


# ---------------------------------------------------------------------- the issue's numbers


def test_issue_gpa_through_its_square_is_positive_not_the_column_effect():
    """admit ~ gre + gpa + I(gpa**2): the AME of gpa through both terms (about +0.16), not
    the per-column -0.23."""
    data = load_admissions()
    m = LogisticRegression(formula="admit ~ gre + gpa + I(gpa**2)", **TIGHT).fit(data)

    def ame(mm):
        b = dict(zip(mm.feature_names_in_, mm.coef_[0], strict=True))
        p = prob(mm, data)[:, 1]
        return np.array([mean(p * (1 - p) * (b["gpa"] + 2 * b["I(gpa ** 2)"] * data["gpa"]))])

    estimate, se = delta(m, ame)
    ours = m.marginal_effects(data).loc[("gpa", "dY/dX")]
    assert ours["estimate"] == pytest.approx(estimate[0], rel=RTOL)
    assert ours["std_err"] == pytest.approx(se[0], rel=RTOL)
    assert 0.15 < estimate[0] < 0.17
    assert m.marginal_effects(kind="column").loc["gpa", "dy_dx"] < 0


def test_issue_rank_2_vs_1_is_the_counterfactual_contrast():
    data = load_admissions()
    m = LogisticRegression(formula="admit ~ gre + gpa + C(rank)", **TIGHT).fit(data)

    def contrast(mm):
        return counterfactual(mm, data, "rank", 2)[1:] - counterfactual(mm, data, "rank", 1)[1:]

    estimate, se = delta(m, contrast)
    ours = m.marginal_effects(data).loc[("rank", "2 - 1")]
    assert ours["estimate"] == pytest.approx(estimate[0], rel=RTOL)
    assert ours["std_err"] == pytest.approx(se[0], rel=RTOL)
    assert -0.16 < estimate[0] < -0.155  # Stata's -0.157; the per-column effect is -0.126


# ---------------------------------------------------------------------- binary, by definition


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
def test_binary_slopes_and_contrasts_by_definition(admissions, cov_type):
    model, data = admissions
    groups = np.arange(len(data)) % 25 if cov_type == "cluster" else None

    def quantity(mm):
        slopes = [mean(admit_slope(mm, data, v)) for v in ("gre", "gpa")]
        base = counterfactual(mm, data, "rank", 1)[1]
        levels = [counterfactual(mm, data, "rank", r)[1] - base for r in (2, 3, 4)]
        return np.array(slopes + levels)

    estimate, se = delta(model, quantity, cov_type, groups)
    table = model.marginal_effects(data, cov_type=cov_type, groups=groups)
    expected = [("gre", "dY/dX"), ("gpa", "dY/dX"), ("rank", "2 - 1"), ("rank", "3 - 1")]
    assert list(table.index)[:4] == expected and table.index.names == ["term", "contrast"]
    check(table, estimate, se)
    pd.testing.assert_frame_equal(
        table.iloc[:2], model.avg_slopes(data, cov_type=cov_type, groups=groups)
    )


def test_binary_pairwise_contrasts(admissions):
    model, data = admissions

    def quantity(mm):
        levels = {r: counterfactual(mm, data, "rank", r)[1] for r in (1, 2, 3, 4)}
        return np.array([levels[b] - levels[a] for a, b in itertools.combinations(levels, 2)])

    estimate, se = delta(model, quantity, "HC0")
    table = model.avg_comparisons(data, "rank", contrast="pairwise", cov_type="HC0")
    labels = [f"{b} - {a}" for a, b in itertools.combinations((1, 2, 3, 4), 2)]
    assert list(table.index.get_level_values("contrast")) == labels
    check(table, estimate, se)


@pytest.mark.parametrize("slope", ["eyex", "dyex", "eydx"])
def test_binary_elasticities(admissions, slope):
    model, data = admissions

    def quantity(mm):
        p = prob(mm, data)[:, 1]
        out = []
        for v in ("gre", "gpa"):
            d, x = admit_slope(mm, data, v), data[v].to_numpy(float)
            row = {"eyex": d * x / p, "dyex": d * x, "eydx": d / p}[slope]
            out.append(mean(row))
        return np.array(out)

    estimate, se = delta(model, quantity)
    check(model.avg_slopes(data, slope=slope), estimate, se)


def test_binary_at_means_and_representative_values(admissions):
    model, data = admissions
    means = pd.DataFrame({"gre": [data["gre"].mean()], "gpa": [data["gpa"].mean()]})
    means["rank"] = data["rank"].mode()[0]
    grid = list(itertools.product([3.0, 3.5], [1]))

    def quantity(mm):
        at_mean = [admit_slope(mm, means, v)[0] for v in ("gre", "gpa")]
        cells = [
            mean(admit_slope(mm, data.assign(gpa=gpa, rank=rank), v))
            for v in ("gre", "gpa")
            for gpa, rank in grid
        ]
        return np.array(at_mean + cells)

    estimate, se = delta(model, quantity)
    mem = model.avg_slopes(data, at="mean")
    cells = model.avg_slopes(data, at={"gpa": [3.0, 3.5], "rank": [1]})
    assert cells.index.names == ["term", "contrast", "gpa", "rank"]
    check(pd.concat([mem, cells.reset_index(["gpa", "rank"], drop=True)]), estimate, se)


def test_binary_predictions_by_group_and_counterfactual(admissions):
    model, data = admissions

    def quantity(mm):
        p = prob(mm, data)[:, 1]
        by = [p[data["rank"].to_numpy() == r].mean() for r in (1, 2, 3, 4)]
        at = [counterfactual(mm, data, "rank", r)[1] for r in (1, 2, 3, 4)]
        return np.array(by + at)

    estimate, se = delta(model, quantity)
    by = model.avg_predictions(data, by="rank")
    at = model.avg_predictions(data, at={"rank": [1, 2, 3, 4]})
    assert by.index.names == ["class", "rank"]
    check(pd.concat([by, at]), estimate, se)


# ---------------------------------------------------------------------- multinomial


def test_multinomial_slopes_every_class(hsbdemo):
    model, data = hsbdemo
    steps = {v: 1e-2 * data[v].std(ddof=0) for v in ("write", "math")}

    def quantity(mm):
        out = []
        for v in ("write", "math"):
            d = richardson_slope(mm, data, v, steps[v])
            out.append(mean(d))
            out.append(mean(d * data[v].to_numpy(float)[:, None] / prob(mm, data)))
        return np.column_stack(out).ravel()  # class-major, then variable, then slope

    estimate, se = delta(model, quantity, "HC0")
    dydx = model.avg_slopes(data, ["write", "math"], cov_type="HC0")
    eyex = model.avg_slopes(data, ["write", "math"], slope="eyex", cov_type="HC0")
    assert dydx.index.names == ["class", "term", "contrast"]
    assert list(dydx.index.get_level_values("class").unique()) == list(model.classes_)
    table = pd.concat([dydx, eyex]).sort_index(level="class", sort_remaining=False)
    order = [
        (k, v, c) for k in model.classes_ for v in ("write", "math") for c in ("dY/dX", "eY/eX")
    ]
    check(table.loc[order], estimate, se)
    sums = dydx["estimate"].groupby(level="term").sum()
    np.testing.assert_allclose(sums.to_numpy(), 0, atol=1e-12)


def test_multinomial_contrasts_and_predictions(hsbdemo):
    model, data = hsbdemo
    levels = ["high", "low", "middle"]

    def quantity(mm):
        at = {s: counterfactual(mm, data, "ses", s) for s in levels}
        pairs = [at[b] - at[a] for a, b in itertools.combinations(levels, 2)]
        p = prob(mm, data)
        by = [p[data["female"].to_numpy() == g].mean(axis=0) for g in ("female", "male")]
        return np.column_stack(pairs).ravel(), np.column_stack(by).ravel()

    e1, s1 = delta(model, lambda mm: quantity(mm)[0])
    e2, s2 = delta(model, lambda mm: quantity(mm)[1])
    check(model.avg_comparisons(data, "ses", contrast="pairwise"), e1, s1)
    check(model.avg_predictions(data, by="female"), e2, s2)


# ---------------------------------------------------------------------- weighted fit


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1"])
def test_weighted_fit_weighted_averages(weighted, cov_type):
    model, data = weighted

    def quantity(mm):
        slopes = [mean(admit_slope(mm, data, v), WEIGHTS) for v in ("gre", "gpa")]
        base = counterfactual(mm, data, "rank", 1, WEIGHTS)[1]
        contrasts = [counterfactual(mm, data, "rank", r, WEIGHTS)[1] - base for r in (2, 3, 4)]
        p = prob(mm, data)[:, 1]
        preds = [mean(p[data["rank"] == r], WEIGHTS[data["rank"] == r]) for r in (1, 2)]
        return np.array(slopes + contrasts + preds)

    estimate, se = delta(model, quantity, cov_type)
    table = pd.concat(
        [
            model.marginal_effects(data, weights=WEIGHTS, cov_type=cov_type),
            model.avg_predictions(data, by="rank", weights=WEIGHTS, cov_type=cov_type).iloc[:2],
        ]
    )
    check(table, estimate, se)


def test_weight_two_equals_a_duplicated_row():
    data = load_admissions()
    w = np.ones(len(data))
    w[:100] = 2.0
    doubled = pd.concat([data, data.iloc[:100]], ignore_index=True)
    a = LogisticRegression(formula=ADMIT, **TIGHT).fit(data, sample_weight=w)
    b = LogisticRegression(formula=ADMIT, **TIGHT).fit(doubled)
    np.testing.assert_allclose(
        a.marginal_effects(data, weights=w).to_numpy(),
        b.marginal_effects(doubled).to_numpy(),
        rtol=1e-6,
    )


# ---------------------------------------------------------------------- arrays, layouts


def test_array_model_slopes_equal_the_column_effects():
    X, y = make_data(n=300, p=3, n_classes=3, seed=2)
    w = 1.0 + np.arange(300) % 2
    m = SoftmaxRegression(**TIGHT).fit(X, y, sample_weight=w)
    by_variable = m.marginal_effects()  # training rows and weights
    column = m.marginal_effects(kind="column")
    np.testing.assert_allclose(by_variable["estimate"], column["dy_dx"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(by_variable["std_err"], column["std_err"], rtol=1e-6)
    pd.testing.assert_frame_equal(by_variable, m.avg_slopes(X, weights=w))


def test_symmetric_softmax_equals_reference_fit(hsbdemo):
    _, data = hsbdemo
    symmetric = SoftmaxRegression(formula=HSB, reference=None, **TIGHT).fit(data)
    a = symmetric.marginal_effects(data, cov_type="HC1")
    b = hsbdemo[0].marginal_effects(data, cov_type="HC1")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, atol=1e-10)


def test_offset_enters_the_predictions():
    data = load_admissions()
    offset = np.linspace(-0.5, 0.5, len(data))
    m = LogisticRegression(formula="admit ~ gre + gpa + C(rank)", **TIGHT).fit(data, offset=offset)

    def quantity(mm):
        lo = mm.predict_proba(data.assign(rank=1), offset=offset)[:, 1]
        hi = mm.predict_proba(data.assign(rank=3), offset=offset)[:, 1]
        return np.array([np.mean(hi - lo)])

    estimate, se = delta(m, quantity)
    check(m.avg_comparisons(data, "rank", offset=offset).loc[[("rank", "3 - 1")]], estimate, se)
    with pytest.raises(ValueError, match="offset"):
        m.avg_comparisons(data, "rank")


def test_errors_name_the_problem(admissions):
    model, data = admissions
    with pytest.raises(ValueError, match="data frame"):
        model.marginal_effects()
    with pytest.raises(ValueError, match="unknown variable"):
        model.avg_slopes(data, "age")
    with pytest.raises(ValueError, match="factors"):
        model.avg_slopes(data, "rank")
    with pytest.raises(ValueError, match="slope="):
        model.avg_slopes(data, slope="dydy")
    with pytest.raises(ValueError, match="kind="):
        model.marginal_effects(data, kind="row")
    with pytest.raises(ValueError, match="at must be"):
        model.avg_slopes(data, at="median")


# ---------------------------------------------------------------------- emmeans


def test_binary_counterfactual_contrasts_match_emmeans(admissions, tmp_path):
    model, data = admissions
    path = tmp_path / "admit.csv"
    data.to_csv(path, index=False)
    r = run_r(
        f"""
        d <- read.csv("{path}"); d$rank <- factor(d$rank)
        f <- glm(admit ~ gre + gpa + I(gpa^2) + rank + gre:gpa, family=binomial, data=d,
                 control=glm.control(epsilon=1e-14, maxit=100))
        em <- emmeans(ref_grid(f, counterfactuals="rank"), "rank", regrid="response")
        e <- summary(em); c <- summary(contrast(em, "trt.vs.ctrl", ref=1))
        cat(format(c(e$prob, c$estimate, e$SE, c$SE), digits=17))
        """,
        packages=["emmeans"],
    ).reshape(2, 7)
    preds = model.avg_predictions(data, at={"rank": [1, 2, 3, 4]})
    check(preds, r[0, :4], r[1, :4])
    check(model.avg_comparisons(data, "rank"), r[0, 4:], r[1, 4:])


def test_multinomial_counterfactual_predictions_match_emmeans(tmp_path):
    data = load_hsbdemo()
    model = SoftmaxRegression(formula="prog ~ write + ses", **TIGHT).fit(data)
    path = tmp_path / "hsb.csv"
    data.to_csv(path, index=False)
    r = run_r(
        f"""
        d <- read.csv("{path}"); d$ses <- factor(d$ses); d$prog <- factor(d$prog)
        f <- multinom(prog ~ write + ses, data=d, trace=FALSE, reltol=1e-15, maxit=1000)
        em <- emmeans(ref_grid(f, counterfactuals="ses", mode="prob"), ~ ses | prog)
        e <- summary(em); c <- summary(contrast(em, "trt.vs.ctrl", ref=1))
        cat(format(c(e$prob, c$estimate, e$SE, c$SE), digits=17))
        """,
        packages=["emmeans", "nnet"],
    ).reshape(2, 15)
    preds = model.avg_predictions(data, at={"ses": ["high", "low", "middle"]})
    contrasts = model.avg_comparisons(data, "ses")
    check(pd.concat([preds, contrasts]), r[0], r[1])


def test_sparse_rows_equal_dense_rows():
    X, y = make_data(n=200, p=3, n_classes=2, seed=4)
    X[:, 2] = (X[:, 2] > 0).astype(float)
    dense = LogisticRegression(**TIGHT).fit(X, y)
    sparse = LogisticRegression(**TIGHT).fit(sp.csr_matrix(X), y)
    for kwargs in ({}, {"at": "mean"}, {"dummy": True}):
        np.testing.assert_allclose(
            sparse.marginal_effects(**kwargs).to_numpy(),
            dense.marginal_effects(**kwargs).to_numpy(),
            rtol=1e-9,
        )
    a = dense.avg_comparisons(X, "x2")
    assert list(a.index) == [("x2", "1 - 0")]


def test_at_mean_by_group_is_the_mean_row_of_each_group(admissions):
    model, data = admissions
    table = model.avg_slopes(data, at="mean", by="rank")
    for rank in (1, 3):
        part = model.avg_slopes(data[data["rank"] == rank], at="mean")
        np.testing.assert_allclose(
            table.xs(rank, level="rank").to_numpy(), part.to_numpy(), rtol=1e-8
        )


def test_a_loaded_model_gives_the_same_effects(admissions, tmp_path):
    model, data = admissions
    path = tmp_path / "model.json"
    model.save(path)
    loaded = load(path)
    for cov_type in ("nonrobust", "HC1"):
        np.testing.assert_allclose(
            loaded.marginal_effects(data, cov_type=cov_type).to_numpy(),
            model.marginal_effects(data, cov_type=cov_type).to_numpy(),
            rtol=1e-9,
        )


@pytest.mark.parametrize("reload", [False, True])
def test_the_formula_reference_level_is_the_contrast_base(tmp_path, reload):
    data = load_admissions()
    m = LogisticRegression(formula="admit ~ gpa + C(rank, Treatment(reference=3))").fit(data)
    if reload:
        m.save(tmp_path / "m.json")
        m = load(tmp_path / "m.json")
    table = m.avg_comparisons(data, "rank")
    assert list(table.index.get_level_values("contrast")) == ["1 - 3", "2 - 3", "4 - 3"]
    base = m.predict_proba(data.assign(rank=3))[:, 1]
    one = m.predict_proba(data.assign(rank=1))[:, 1]
    assert table["estimate"].iloc[0] == pytest.approx(np.mean(one - base), rel=1e-12)
