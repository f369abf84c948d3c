r"""Goodness of fit, calibration and discrimination of a fitted model on its rows.

With fitted probabilities :math:`p_{ik}`, observed classes :math:`y_i`, frequency weights
:math:`w_i` (total :math:`W`) and :math:`k` estimated parameters:

- **Pearson** :math:`X^2 = \sum_i w_i \sum_k (y_{ik} - p_{ik})^2 / p_{ik}
  = \sum_i w_i (1 - p_{i y_i}) / p_{i y_i}` (binary: :math:`\sum w (y - p)^2 / (p(1-p))`,
  R's ``sum(residuals(fit, "pearson")^2)``), on :math:`W (K - 1) - k` degrees of freedom
  (binary: ``df.residual`` of R's fit on the frequency-expanded rows).
- **Brier score** :math:`\frac1W \sum_i w_i (y_i - p_i)^2` (binary, on the positive class);
  for K classes :math:`\frac1W \sum_i w_i \sum_k (y_{ik} - p_{ik})^2`.
- **Hosmer-Lemeshow** (binary): the rows are cut into ``g`` groups at the quantiles of the
  fitted probabilities, :math:`q_j = Q(j/g)`, :math:`j = 0..g` (R's default ``quantile``,
  type 7, on the frequency-weighted sample; repeated breaks dropped), intervals closed on
  the right and the lowest closed on both sides (R's ``cut(p, q, include.lowest=TRUE)``, as
  ``ResourceSelection::hoslem.test``); :math:`C = \sum_{\text{groups}, k} (O - E)^2 / E`
  over both classes, on (groups - 2) degrees of freedom.
- **Calibration** (binary): with the linear predictor :math:`\eta_i` (offset included), the
  calibration intercept is :math:`a` of ``glm(y ~ offset(eta), binomial)`` and the slope
  :math:`b` of ``glm(y ~ eta, binomial)`` (logistic recalibration; ideal 0 and 1), with
  their standard errors from the information.
- **AUC** (binary) with DeLong's interval (:mod:`softlogit.stats.auc`).
- **Deviance test for grouped data** (``by_pattern=True``): rows with the same design row
  and offset are pooled into covariate patterns :math:`j` with class counts :math:`n_{jk}`
  and totals :math:`N_j`; :math:`D = 2\sum_{jk} n_{jk} \log(n_{jk} / (N_j p_{jk}))`, and
  Pearson over the patterns :math:`\sum_{jk} (n_{jk} - N_j p_{jk})^2 / (N_j p_{jk})`, both
  on :math:`J (K - 1) - k` degrees of freedom: R's residual deviance and Pearson statistic
  of ``glm(cbind(successes, failures) ~ ..., binomial)``.

All but the pattern statistics are computed in one pass of the data source's ``reduce``
(in memory, streamed Parquet/CSV and Dask alike): the pass adds the Pearson and Brier sums
and, for a binary model, the weighted class counts at each distinct linear predictor
(:class:`~softlogit.stats.auc.ScoreCounts`), from which the AUC, its DeLong variance, the
Hosmer-Lemeshow groups and the calibration fits follow exactly. Its memory grows with the
number of distinct fitted values; ``score_resolution`` rounds the linear predictor to a grid
to bound it (then the AUC counts scores within a grid step as ties).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..data.external import is_external
from ..data.sources import InMemorySource
from ..model.fitting import build_objective
from .auc import AUCResult, ScoreCounts, paired_delong
from .inference import TestResult
from .summary import format_fixed

__all__ = [
    "Calibration",
    "GoodnessOfFit",
    "goodness_of_fit",
    "has_training_rows",
    "model_auc",
    "model_delong_test",
    "report_rows",
]


@dataclass(frozen=True)
class Calibration:
    """Logistic recalibration: intercept ``a`` (``y ~ offset(eta)``) and slope ``b``
    (``y ~ eta``), their standard errors and Wald intervals (coverage ``1 - alpha``)."""

    intercept: float
    intercept_se: float
    slope: float
    slope_se: float
    alpha: float = 0.05

    def table(self):
        """DataFrame with rows ``intercept``, ``slope``: estimate, std_err, ci_low, ci_high."""
        z = stats.norm.ppf(1 - self.alpha / 2)
        est = np.array([self.intercept, self.slope])
        se = np.array([self.intercept_se, self.slope_se])
        return pd.DataFrame(
            {"estimate": est, "std_err": se, "ci_low": est - z * se, "ci_high": est + z * se},
            index=pd.Index(["intercept", "slope"], name="calibration"),
        )


@dataclass(frozen=True)
class GoodnessOfFit:
    """Goodness of fit and discrimination of a model on a set of rows (see the module
    docstring for the definitions).

    Attributes
    ----------
    nobs : float
        Sum of the weights.
    pearson : TestResult
    brier : float
    hosmer_lemeshow : TestResult or None
        Binary models only.
    hl_table : DataFrame or None
        The Hosmer-Lemeshow groups: weight, fitted-probability range, observed and expected
        positives.
    calibration : Calibration or None
    auc : AUCResult or None
    deviance : TestResult or None
        The grouped-data deviance test (``by_pattern=True``).
    pearson_patterns : TestResult or None
        Pearson's statistic over covariate patterns (``by_pattern=True``).
    n_patterns : int or None
    """

    nobs: float
    pearson: TestResult
    brier: float
    hosmer_lemeshow: TestResult | None = None
    hl_table: pd.DataFrame | None = field(default=None, repr=False)
    calibration: Calibration | None = None
    auc: AUCResult | None = None
    deviance: TestResult | None = None
    pearson_patterns: TestResult | None = None
    n_patterns: int | None = None

    def tests(self):
        """DataFrame of the chi-squared tests: statistic, df, p_value."""
        rows = {
            "Pearson": self.pearson,
            "Hosmer-Lemeshow": self.hosmer_lemeshow,
            "Deviance (patterns)": self.deviance,
            "Pearson (patterns)": self.pearson_patterns,
        }
        rows = {k: t for k, t in rows.items() if t is not None}
        return pd.DataFrame(
            {
                "statistic": [t.statistic for t in rows.values()],
                "df": [t.df for t in rows.values()],
                "p_value": [t.pvalue for t in rows.values()],
            },
            index=pd.Index(list(rows), name="test"),
        )

    def lines(self):
        """The text lines of :meth:`__str__` (used by the summary and the report)."""
        out = [
            f"{name}: chi2({t['df']:g}) = {t['statistic']:.4f}, p = {t['p_value']:.4g}"
            for name, t in self.tests().iterrows()
        ]
        out.append(f"Brier score: {format_fixed(self.brier)}")
        if self.calibration is not None:
            c = self.calibration
            a, a_se, b, b_se = (
                format_fixed(v) for v in (c.intercept, c.intercept_se, c.slope, c.slope_se)
            )
            out.append(f"Calibration intercept: {a} (SE {a_se}); slope: {b} (SE {b_se})")
        if self.auc is not None:
            out.append(str(self.auc))
        return out

    def __str__(self):
        return "\n".join(["Goodness of fit", *self.lines()])


def report_rows(results):
    """``(key, label, values)`` rows of the report's goodness-of-fit table, one value per
    :class:`GoodnessOfFit` in ``results`` (None where a statistic does not apply)."""

    def get(g, path):
        for name in path.split("."):
            g = None if g is None else getattr(g, name)
        return g

    rows = [
        ("pearson", "Pearson X2", "pearson.statistic"),
        ("pearson-df", "Pearson df", "pearson.df"),
        ("pearson-p", "Pearson p-value", "pearson.pvalue"),
        ("hl", "Hosmer-Lemeshow X2", "hosmer_lemeshow.statistic"),
        ("hl-df", "Hosmer-Lemeshow df", "hosmer_lemeshow.df"),
        ("hl-p", "Hosmer-Lemeshow p-value", "hosmer_lemeshow.pvalue"),
        ("brier", "Brier score", "brier"),
        ("cal-intercept", "Calibration intercept", "calibration.intercept"),
        ("cal-slope", "Calibration slope", "calibration.slope"),
        ("auc", "AUC", "auc.auc"),
        ("auc-low", "AUC CI low (DeLong)", "auc.ci_low"),
        ("auc-high", "AUC CI high (DeLong)", "auc.ci_high"),
    ]
    out = []
    for key, label, path in rows:
        values = [get(g, path) for g in results]
        if any(v is not None for v in values):
            out.append((key, label, [None if v is None else float(v) for v in values]))
    return out


# ---------------------------------------------------------------------- the rows to evaluate
def has_training_rows(model, in_memory=False):
    """Whether ``model`` still holds its training rows (a fit in this session, not a loaded
    model file); with ``in_memory``, only rows held in memory (not streamed or Dask)."""
    try:
        source = model.results_._objective.source
    except (AttributeError, ValueError):  # unfitted, or a loaded model (NoTrainingDataError)
        return False
    if in_memory:
        return isinstance(source, InMemorySource)
    return source is not None


def _evaluation(model, X, y, sample_weight, offset):
    """``(objective, theta)`` of ``model`` over the rows to evaluate: its training rows
    (``X=None``), or new in-memory, streamed or Dask rows with their labels."""
    if X is None:
        if not has_training_rows(model):
            raise ValueError(
                "this model holds no training rows (a model loaded from a file): pass the "
                "rows to evaluate, X and y"
            )
        res = model.results_
        return res._objective, res._theta
    if is_external(X):
        fitted = getattr(model, "_formula", None) if model.formula is not None else None
        spec, _ = model._external_spec(X, y, sample_weight, offset, fitted_design=fitted)
    else:
        Xd, yd = model._design(X, y, reset=False, need_y=True)
        offset = model._with_formula_offset(X, offset, Xd.shape[0])  # offset(...) terms
        spec = model._spec(Xd, yd, sample_weight, offset, classes=model.classes_)
    return build_objective(spec, model._family), model._stored_theta(spec.fit_intercept)


def _snap(x, resolution):
    """Round ``x`` to a grid of step ``resolution``, or to about 11 significant digits
    (the same row in two chunks may differ in the last bits of a dot product: these count as
    ties)."""
    if resolution:
        return np.round(x / resolution) * resolution
    bits = np.ascontiguousarray(x, dtype=float).view(np.int64)
    return ((bits + (1 << 15)) & ~np.int64((1 << 16) - 1)).view(float)


def _first_pass(objective, theta, resolution):
    """One pass: weight, Pearson and Brier sums and (binary) the counts at each distinct
    linear predictor."""
    binary = objective.family.n_classes == 2

    def fn(chunk):
        eta = objective.linear_predictor(theta, chunk)
        logp = objective.family.log_probabilities(eta)
        w, y = chunk.weight, chunk.y
        logp_y = logp[np.arange(y.size), y]
        pearson = float(w @ np.expm1(-logp_y))
        p = np.exp(logp)
        if binary:
            brier = float(w @ (y - p[:, 1]) ** 2)
            counts = ScoreCounts.of(_snap(eta[:, 0], resolution), y == 1, w)
        else:
            brier = float(w @ (1 - 2 * np.exp(logp_y) + np.sum(p * p, axis=1)))
            counts = None
        return float(w.sum()), pearson, brier, counts

    return objective.reduce(fn)


# ---------------------------------------------------------------------- from the counts
def hosmer_lemeshow(table, groups=10):
    """The Hosmer-Lemeshow test from the class counts at each distinct linear predictor
    (see the module docstring for the grouping); returns ``(TestResult, DataFrame)``."""
    c = table.counts
    n = c.sum(axis=1)
    p, c, n = expit(table.scores[n > 0]), c[n > 0], n[n > 0]
    cum = np.cumsum(n)
    h = (cum[-1] - 1) * np.linspace(0, 1, groups + 1)  # type 7 on the weighted sample
    lo = np.floor(h)
    at_lo = np.minimum(np.searchsorted(cum, lo, side="right"), p.size - 1)
    at_hi = np.minimum(np.searchsorted(cum, lo + 1, side="right"), p.size - 1)
    breaks = p[at_lo] + (h - lo) * (p[at_hi] - p[at_lo])
    breaks[0], breaks[-1] = p[0], p[-1]  # Q(0) and Q(1) (non-integer weights: by definition)
    breaks = np.unique(breaks)
    if breaks.size < 3:  # fewer than two groups (one fitted probability): no test
        return TestResult(float("nan"), 0, float("nan"), "Hosmer-Lemeshow"), pd.DataFrame()
    group = np.maximum(np.searchsorted(breaks, p, side="left") - 1, 0)
    weight = np.bincount(group, n, breaks.size - 1)
    obs1 = np.bincount(group, c[:, 1], breaks.size - 1)
    exp1 = np.bincount(group, n * p, breaks.size - 1)
    keep = weight > 0
    weight, obs1, exp1 = weight[keep], obs1[keep], exp1[keep]
    exp0, obs0 = weight - exp1, weight - obs1
    chi2 = float(np.sum(_chi2_terms(obs1, exp1) + _chi2_terms(obs0, exp0)))
    df = int(keep.sum()) - 2
    frame = pd.DataFrame(
        {
            "weight": weight,
            "p_low": breaks[:-1][keep],
            "p_high": breaks[1:][keep],
            "observed_1": obs1,
            "expected_1": exp1,
            "observed_0": obs0,
            "expected_0": exp0,
        },
        index=pd.RangeIndex(1, weight.size + 1, name="group"),
    )
    return TestResult(chi2, df, float(stats.chi2.sf(chi2, df)), "Hosmer-Lemeshow"), frame


def _chi2_terms(observed, expected):
    """``(o - e)^2 / e``, with 0 where both are 0 and inf where only ``e`` is (a group whose
    fitted probabilities underflow to 0 or 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (observed - expected) ** 2 / expected
    return np.where(expected > 0, terms, np.where(observed > 0, np.inf, 0.0))


def _logistic_fit(y1, n, design, offset, max_iter=50, tol=1e-12):
    """Maximum-likelihood binomial fit of ``y1`` positives out of ``n`` on ``design`` with
    ``offset`` (Newton; a handful of columns): coefficients and standard errors, NaN when
    the maximum does not exist (separation) or the design is singular (constant scores)."""
    beta, missing = np.zeros(design.shape[1]), np.full(design.shape[1], np.nan)
    for _ in range(max_iter):
        eta = design @ beta + offset
        mu = expit(eta)
        info = design.T @ (design * (n * mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(info, design.T @ (y1 - n * mu))
        except np.linalg.LinAlgError:  # a constant score, or a separated recalibration
            return missing, missing
        beta = beta + step
        if np.max(np.abs(step)) <= tol * (1 + np.max(np.abs(beta))):
            break
    else:  # no finite maximum (the scores separate the classes): not estimable
        return missing, missing
    eta = design @ beta + offset
    mu = expit(eta)
    info = design.T @ (design * (n * mu * (1 - mu))[:, None])
    try:
        return beta, np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        return missing, missing


def calibration(table, alpha=0.05):
    """:class:`Calibration` from the class counts at each distinct linear predictor (a
    sufficient statistic for both recalibration fits)."""
    eta, c = table.scores, table.counts
    n = c.sum(axis=1)
    one = np.ones((eta.size, 1))
    a, a_se = _logistic_fit(c[:, 1], n, one, eta)
    b, b_se = _logistic_fit(c[:, 1], n, np.column_stack([one, eta]), np.zeros(eta.size))
    return Calibration(float(a[0]), float(a_se[0]), float(b[1]), float(b_se[1]), alpha)


# ---------------------------------------------------------------------- covariate patterns
def pattern_tests(objective, theta, k_params):
    """Deviance and Pearson tests over covariate patterns (in-memory rows only): rows with
    equal design rows and offsets pooled."""
    source = objective.source
    if not hasattr(source, "X") or not hasattr(source, "chunks"):
        raise ValueError("by_pattern=True needs in-memory rows (not streamed or Dask data)")
    X = source.X.toarray() if hasattr(source.X, "toarray") else np.asarray(source.X)
    key = X if source.offset is None else np.column_stack([X, source.offset])
    rows, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    K = objective.family.n_classes
    counts = np.zeros((rows.shape[0], K))
    np.add.at(counts, (inverse, source.y), source.weight)
    chunk = source._take(first)
    logp = objective.family.log_probabilities(objective.linear_predictor(theta, chunk))
    N = counts.sum(axis=1, keepdims=True)
    keep = N[:, 0] > 0
    counts, N, logp = counts[keep], N[keep], logp[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, counts * (np.log(counts) - np.log(N) - logp), 0.0)
    dev = float(2 * terms.sum())
    expected = N * np.exp(logp)
    pearson = float(np.sum((counts - expected) ** 2 / expected))
    J = int(keep.sum())
    df = J * (K - 1) - k_params
    return (
        TestResult(dev, df, float(stats.chi2.sf(dev, df)), "Deviance"),
        TestResult(pearson, df, float(stats.chi2.sf(pearson, df)), "Pearson"),
        J,
    )


# ---------------------------------------------------------------------- public entry points
def goodness_of_fit(
    model,
    X=None,
    y=None,
    sample_weight=None,
    offset=None,
    groups=10,
    by_pattern=False,
    alpha=0.05,
    score_resolution=None,
):
    """Goodness of fit, calibration and discrimination of a fitted model.

    Parameters
    ----------
    model : LogisticRegression or SoftmaxRegression
    X : array-like, data frame, scan or Dask collection, optional
        The rows to evaluate; None: the training rows (as stored in the fit). Streamed
        (``scan_parquet``/``scan_csv``) and Dask data are read in one pass.
    y, sample_weight, offset
        Labels, frequency weights and offset of ``X`` (a formula model reads ``y`` from the
        frame; a scan names its own columns).
    groups : int
        Hosmer-Lemeshow groups ``g``.
    by_pattern : bool
        Also pool rows into covariate patterns for the grouped-data deviance and Pearson
        tests (in-memory rows).
    alpha : float
        Intervals of the calibration fits and the AUC have coverage ``1 - alpha``.
    score_resolution : float, optional
        Round the linear predictor to this grid before counting distinct values (bounds
        the memory of the pass; the AUC then counts scores within a step as ties).

    Returns
    -------
    GoodnessOfFit
    """
    k_params = model.results_.k_params
    objective, theta = _evaluation(model, X, y, sample_weight, offset)
    W, pearson, brier, table = _first_pass(objective, theta, score_resolution)
    K = objective.family.n_classes
    df = W * (K - 1) - k_params
    out = {
        "nobs": W,
        "pearson": TestResult(pearson, df, float(stats.chi2.sf(pearson, df)), "Pearson"),
        "brier": brier / W,
    }
    if table is not None:
        out["hosmer_lemeshow"], out["hl_table"] = hosmer_lemeshow(table, groups)
        out["calibration"] = calibration(table, alpha)
        out["auc"] = table.delong(alpha)
    if by_pattern:
        out["deviance"], out["pearson_patterns"], out["n_patterns"] = pattern_tests(
            objective, theta, k_params
        )
    return GoodnessOfFit(**out)


def _binary_scorer(evaluations, resolution):
    def scorer(chunk):
        cols = [
            _snap(obj.linear_predictor(theta, chunk)[:, 0], resolution)
            for obj, theta in evaluations
        ]
        return np.column_stack(cols), chunk.y == 1, chunk.weight

    return scorer


def _check_binary(model):
    if model.classes_.size != 2:
        raise ValueError("the AUC needs a binary model (two classes)")


def model_auc(
    model, X=None, y=None, sample_weight=None, offset=None, alpha=0.05, score_resolution=None
):
    """The AUC of a binary model on its training rows (``X=None``) or on new rows, with
    DeLong's interval: :class:`~softlogit.stats.auc.AUCResult` (one pass)."""
    _check_binary(model)
    objective, theta = _evaluation(model, X, y, sample_weight, offset)
    W, pearson, brier, table = _first_pass(objective, theta, score_resolution)
    return table.delong(alpha)


def model_delong_test(
    model_a,
    model_b,
    X=None,
    y=None,
    sample_weight=None,
    offset=None,
    offset_b=None,
    alpha=0.05,
    score_resolution=None,
):
    """DeLong's paired test comparing two binary models' AUCs on the same rows.

    With ``X=None`` both models' training rows (the same rows, in the same order, with the
    same labels: e.g. two formulas on one frame). With new rows, each model builds its own
    design from ``X`` (formula models); with streamed or Dask data both read the same chunks,
    so they must take the same columns. ``offset_b``: model b's offset (default ``offset``).
    Two passes over the rows (the second for the covariance of the two AUCs).
    """
    _check_binary(model_a)
    _check_binary(model_b)
    ob = offset if offset_b is None else offset_b
    ev_a = _evaluation(model_a, X, y, sample_weight, offset)
    ev_b = _evaluation(model_b, X, y, sample_weight, ob)
    src_a, src_b = ev_a[0].source, ev_b[0].source
    if X is not None and is_external(X):
        evaluations = [ev_a, ev_b]
        reduce = ev_a[0].reduce
        scorer = _binary_scorer(evaluations, score_resolution)
        return paired_delong(reduce, scorer, alpha=alpha)
    if src_a.n_rows != src_b.n_rows or not np.array_equal(src_a.y, src_b.y):
        raise ValueError("the two models must be evaluated on the same rows with the same labels")
    scores = np.column_stack(
        [
            _snap(
                np.concatenate([obj.linear_predictor(theta, c)[:, 0] for c in obj.source.chunks()]),
                score_resolution,
            )
            for obj, theta in (ev_a, ev_b)
        ]
    )
    w_a, w_b = src_a.weight, src_b.weight
    if not np.allclose(w_a, w_b):
        raise ValueError("the two models' rows have different weights")
    source = InMemorySource(scores, src_a.y, w_a, chunk_rows=1 << 16)
    return paired_delong(source.reduce, lambda c: (c.X, c.y == 1, c.weight), alpha=alpha)
