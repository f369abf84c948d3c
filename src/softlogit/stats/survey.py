r"""Typed weights: what a weight means, and the covariance each meaning calls for.

Three meanings of a per-row weight :math:`w_i` share one point estimate (the weighted
maximum-likelihood fit, :math:`\sum_i w_i \ell_i` maximised) and differ in what the weights
say about the sampling, hence in the standard errors, ``nobs`` and the valid tests:

``"frequency"`` (``sample_weight``, scikit-learn's meaning)
    A row of weight 2 is two identical rows. ``nobs`` is :math:`\sum_i w_i`; the
    inverse information :math:`A^{-1}`, :math:`A = \sum_i w_i H_i \tilde x_i \tilde x_i^T`,
    is the covariance; likelihood-ratio tests, AIC and BIC hold.
``"analytic"`` (``analytic_weight``; statsmodels' ``GLM(var_weights=)``)
    The variance of row :math:`i` is :math:`v(\mu_i) / w_i` (a row that is the mean of
    :math:`w_i` observations). For the binomial family with scale 1 the estimate and the
    ``"nonrobust"`` covariance :math:`A^{-1}` are those of frequency weights, but ``nobs``
    counts rows (with positive weight), ``df_resid = nobs - k`` and the sandwiches
    square the weights: :math:`B = \sum_i w_i^2 s_i s_i^T` (``"HC0"``), times
    :math:`n/(n-k)` with :math:`n` rows (``"HC1"``), as statsmodels computes them. Stata's
    ``glm [aweight=]`` rescales the weights to sum to the number of rows first; pass
    ``w * n / w.sum()`` for its numbers.
``"probability"`` (``probability_weight``; R's ``survey::svyglm``)
    :math:`w_i` is the inverse of row :math:`i`'s inclusion probability in a survey
    sample. The covariance is the design-based sandwich (``cov_type="survey"``) that
    ``svyglm(family=quasibinomial())`` reports (survey's ``svy.varcoef``/``svyrecvar``):

    .. math::

        V = A^{-1} \Bigl[\sum_h \frac{n_h}{n_h - 1} \sum_{j \in h}
        (u_{hj} - \bar u_h)(u_{hj} - \bar u_h)^T\Bigr] A^{-1},
        \qquad u_{hj} = \sum_{i \in \mathrm{PSU}\ j} w_i s_i,

    with :math:`s_i` the score of row :math:`i`, :math:`n_h` the PSUs (clusters) of
    stratum :math:`h` and :math:`\bar u_h` their mean; without ``clusters`` every row is a
    PSU, without ``strata`` the sample is one stratum. Clusters are nested in strata
    (``svydesign(nest=TRUE)``); a stratum with one PSU is an error (survey's default
    ``options(survey.lonely.psu="fail")``). It does not change when the weights are
    multiplied by a constant. ``nobs`` counts rows with positive weight; there is no
    likelihood, so no likelihood-ratio test, AIC or BIC (NaN, as ``svyglm`` gives none):
    use the Wald test (:meth:`wald_test`, survey's ``regTermTest``). Streamed scans read
    the design from columns (:mod:`softlogit.data.survey_scan`), Dask fits from Dask arrays
    (:mod:`softlogit.data.survey_dask`): one score total per PSU is kept. softlogit's p-values
    and intervals use the normal distribution where ``svyglm``'s summary uses a t with the
    design's degrees of freedom; the standard errors are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inference import _scores

__all__ = [
    "WEIGHT_TYPES",
    "WeightDesign",
    "resolve_weights",
    "survey_meat",
    "weighted_hc_meat",
    "weights_header",
]

WEIGHT_TYPES = ("frequency", "probability", "analytic")


@dataclass(frozen=True)
class WeightDesign:
    """What the fit's weights mean, and the survey design of probability weights.

    Attributes
    ----------
    weight_type : {"frequency", "probability", "analytic"}
    psu : ndarray of int or None
        Per training row, the code of its PSU (cluster within stratum), ``0..n_psu-1``;
        None: every row is its own PSU.
    psu_stratum : ndarray of int or None
        Per PSU (or per row when ``psu`` is None), its stratum code; None: one stratum.
    has_clusters, has_strata : bool
        Whether ``clusters=`` and ``strata=`` were given.
    labelled : bool
        The design travels with the chunks as labels (``chunk.groups``, a record array
        with fields ``stratum`` and ``psu``: streamed scans) instead of ``psu`` codes.
    """

    weight_type: str = "frequency"
    psu: np.ndarray | None = None
    psu_stratum: np.ndarray | None = None
    has_clusters: bool = False
    has_strata: bool = False
    labelled: bool = False

    @property
    def default_cov_type(self):
        """The covariance a model of these weights reports unless told otherwise."""
        return "survey" if self.weight_type == "probability" else "nonrobust"

    def describe(self):
        """A short text for summaries: the weight type and, for probability weights, the
        design."""
        if self.weight_type != "probability":
            return self.weight_type
        parts = [
            "clusters" if self.has_clusters else "rows as PSUs",
            *(["strata"] if self.has_strata else []),
        ]
        return f"probability ({', '.join(parts)})"


FREQUENCY = WeightDesign()


def _labels(values, name, n_rows):
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != n_rows:
        raise ValueError(f"{name} has shape {values.shape}; expected ({n_rows},), one per row")
    if values.dtype.kind == "f" and np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise ValueError(f"{name} is missing (NaN) at row {row}")
    if values.dtype == object and any(v is None for v in values):
        row = next(i for i, v in enumerate(values) if v is None)
        raise ValueError(f"{name} is missing (None) at row {row}")
    return np.unique(values, return_inverse=True)[1].ravel()


def _check_lonely(stratum_of_psu):
    counts = np.bincount(stratum_of_psu)
    if np.any(counts < 2):
        h = int(np.flatnonzero(counts < 2)[0])
        raise ValueError(
            f"strata: stratum {h} (in sorted order) has only one PSU; the design-based "
            "variance needs at least 2 PSUs per stratum (as survey's lonely.psu='fail')"
        )


def design_of(n_rows, clusters=None, strata=None):
    """The :class:`WeightDesign` of probability weights from per-row cluster and stratum
    labels (any sortable values; clusters are nested in strata)."""
    h = None if strata is None else _labels(strata, "strata", n_rows)
    if clusters is None:
        if h is not None:
            _check_lonely(h)
        elif n_rows < 2:
            raise ValueError("probability weights need at least 2 rows (PSUs)")
        return WeightDesign("probability", None, h, False, strata is not None)
    c = _labels(clusters, "clusters", n_rows)
    pairs = c if h is None else h.astype(np.int64) * (int(c.max()) + 1) + c
    _, first, psu = np.unique(pairs, return_index=True, return_inverse=True)
    psu_stratum = np.zeros(first.size, dtype=int) if h is None else h[first]
    _check_lonely(psu_stratum)
    return WeightDesign("probability", psu.ravel(), psu_stratum, True, strata is not None)


def resolve_weights(
    n_rows, sample_weight, probability_weight, analytic_weight, clusters=None, strata=None
):
    """The weights the fit uses and their :class:`WeightDesign` from ``fit``'s keywords.

    At most one of ``sample_weight``, ``probability_weight`` and ``analytic_weight`` may be
    given; ``clusters`` and ``strata`` only with ``probability_weight``. ``n_rows`` None
    (streamed or Dask data) skips the per-row checks and the design, which then must be
    empty.
    """
    given = [
        name
        for name, value in (
            ("sample_weight", sample_weight),
            ("probability_weight", probability_weight),
            ("analytic_weight", analytic_weight),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError(
            f"pass one weight type per fit, got {' and '.join(given)}: sample_weight "
            "(frequency), probability_weight (survey) or analytic_weight (inverse variance)"
        )
    if (clusters is not None or strata is not None) and probability_weight is None:
        raise ValueError(
            "clusters= and strata= describe a survey design: they need probability_weight="
        )
    if probability_weight is not None:
        if n_rows is None:
            design = WeightDesign("probability")
        else:
            design = design_of(n_rows, clusters, strata)
        return probability_weight, design
    if analytic_weight is not None:
        return analytic_weight, WeightDesign("analytic")
    return sample_weight, FREQUENCY


def weighted_hc_meat(objective, theta):
    r""":math:`\sum_i w_i^2 s_i s_i^T`: the meat of analytic and probability weights (the
    weights are not replicates, so they enter the scores once each), centred coordinates."""

    def stats_(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        return (S.T @ S,)

    return objective.reduce(stats_)[0]


def _rows_as_psus(objective, theta, strata):
    r"""Per stratum (one without ``strata``): :math:`\sum u u^T`, :math:`\sum u` and the
    count of rows, each row a PSU; one pass through the source's ``reduce``."""
    n_strata = 1 if strata is None else int(strata.max()) + 1
    source = objective.source if strata is None else objective.source.with_groups(strata)

    def stats_(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        codes = np.zeros(S.shape[0], dtype=int) if chunk.groups is None else chunk.groups
        d = S.shape[1]
        outer, total = np.zeros((n_strata, d, d)), np.zeros((n_strata, d))
        for h in np.unique(codes):
            Sh = S[codes == h]
            outer[h] += Sh.T @ Sh
            total[h] += Sh.sum(axis=0)
        return outer, total, np.bincount(codes, minlength=n_strata).astype(float)

    return source.reduce(stats_)


def _psu_totals(objective, theta, psu, n_psu):
    r""":math:`u_j = \sum_{i \in j} w_i s_i` per PSU, shape (n_psu, d)."""

    def sums(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        total = np.zeros((n_psu, S.shape[1]))
        np.add.at(total, chunk.groups, S)
        return (total,)

    return objective.source.with_groups(psu).reduce(sums)[0]


def survey_meat(objective, theta, design):
    """The stratified between-PSU meat of ``cov_type="survey"`` (see the module docstring),
    in centred coordinates."""
    if design.labelled:
        return _labelled_meat(objective, theta, design.has_clusters)
    if design.psu is None:
        outer, total, count = _rows_as_psus(objective, theta, design.psu_stratum)
        meat = np.zeros(outer.shape[1:])
        for h in range(count.size):
            n_h = count[h]
            meat += n_h / (n_h - 1) * (outer[h] - np.outer(total[h], total[h]) / n_h)
        return meat
    U = _psu_totals(objective, theta, design.psu, design.psu_stratum.size)
    meat = np.zeros((U.shape[1], U.shape[1]))
    for h in range(int(design.psu_stratum.max()) + 1):
        Uh = U[design.psu_stratum == h]
        n_h = Uh.shape[0]
        Uh = Uh - Uh.mean(axis=0)
        meat += n_h / (n_h - 1) * (Uh.T @ Uh)
    return meat


def weights_header(model, header, cov_type, groups=None):
    """The summary header and notes of a model with probability or analytic weights: the
    weight type is shown; under probability weights the LR test gives way to the Wald
    test of all slopes and AIC/BIC are left out, with notes saying why."""
    results = model.results_
    weights = results.weights
    rows, notes = [], []
    for label, value in header:
        if weights.weight_type == "probability" and (
            label.startswith("LR chi2") or label in ("Prob > chi2", "AIC", "BIC")
        ):
            if label == "Prob > chi2":
                test = None if model.has_lasso_penalty else results.slopes_test(cov_type, groups)
                if test is not None:
                    rows.append((f"Wald chi2({test.df})", float(test.statistic)))
                    rows.append(("Prob > chi2", f"{test.pvalue:.4g}"))
            continue
        rows.append((label, value))
    rows.insert(2, ("Weights", weights.describe()))
    if weights.weight_type == "probability":
        notes.append(
            "probability (survey) weights: design-based standard errors as survey::svyglm; "
            "the weighted log-likelihood is a pseudo-likelihood, so no LR test, AIC or BIC: "
            "the model test is the Wald test that all slopes are 0 (use wald_test)"
        )
    else:
        notes.append(
            "analytic weights (statsmodels' var_weights): nobs counts rows; the estimate "
            "and nonrobust covariance are those of frequency weights"
        )
    return rows, notes


def external_weights(
    X, y, sample_weight, offset, probability_weight, analytic_weight, clusters, strata
):
    """The streamed or Dask data of a fit with typed weights: ``(X, y, sample_weight,
    offset, WeightDesign)`` for ``_external_spec``. A ``scan_parquet``/``scan_csv`` scan
    takes column names (the weight column: the scan's own ``weight=`` or another column
    that is not a feature; ``clusters``, ``strata``); Dask arrays take Dask arrays."""
    from ..data.dask_source import DaskData
    from ..data.stream import TableScan

    has_design = clusters is not None or strata is not None
    weight, design = resolve_weights(
        None, sample_weight, probability_weight, analytic_weight, clusters, strata
    )
    if design.weight_type == "frequency":
        return X, y, sample_weight, offset, design
    if isinstance(X, TableScan):
        X, weight = _scan_with_weight(X, weight, design.weight_type), None  # read by the scan
        if has_design:
            from ..data.survey_scan import with_design

            X = with_design(X, strata, clusters)
    elif isinstance(weight, str) or isinstance(X, DaskData):
        raise ValueError(
            f"{design.weight_type}_weight= with Dask data is an array of weights (pass X and "
            "y as Dask arrays or frames); a column name needs a scan_parquet/scan_csv scan"
        )
    elif has_design:
        from ..data.survey_dask import DesignDaskData

        X = DesignDaskData(X, y, weight, offset, strata, clusters).persist()
        y = weight = offset = None
    else:
        return X, y, weight, offset, design
    if has_design:
        design = WeightDesign(
            "probability", None, None, clusters is not None, strata is not None, labelled=True
        )
    return X, y, weight, offset, design


def _scan_with_weight(scan, column, weight_type):
    """``scan`` reading ``column`` as its weight column."""
    import copy

    name = f"{weight_type}_weight"
    if not isinstance(column, str):
        raise ValueError(f"with a scan, {name}= is the name of the weight column")
    if scan.weight == column:
        return scan
    if scan.weight is not None:
        raise ValueError(
            f"{name}={column!r} but the scan already has weight={scan.weight!r}: one weight "
            "column per fit"
        )
    if column in scan.feature_names:
        raise ValueError(
            f"{name}={column!r} is one of the scan's features: name features= in the scan "
            "without it (or pass weight= to the scan)"
        )
    new = copy.copy(scan)
    new.weight = column
    new._check_columns(new.files.names, [new.target, column, *new.offset])
    return new


class KeyedSums:
    """A summary that adds: arrays keyed by labels (``+`` adds those with equal keys)."""

    def __init__(self, sums):
        self.sums = sums

    def __add__(self, other):
        out = dict(self.sums)
        for key, value in other.sums.items():
            out[key] = out[key] + value if key in out else value
        return KeyedSums(out)


def _labelled_meat(objective, theta, has_clusters):
    """:func:`survey_meat` from design labels in the chunks: per PSU its score total, or
    (rows as PSUs) per stratum ``[sum u u^T, sum u, rows]``, in one pass."""

    def keyed(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        groups = chunk.groups if has_clusters else chunk.groups["stratum"]
        keys, inv = np.unique(groups, return_inverse=True)
        inv = inv.ravel()
        out = {}
        for i, key in enumerate(keys.tolist()):
            Si = S[inv == i]
            if has_clusters:
                out[tuple(key)] = Si.sum(axis=0)
            else:
                out[key] = np.concatenate([(Si.T @ Si).ravel(), Si.sum(axis=0), [len(Si)]])
        return (KeyedSums(out),)

    sums = objective.source.reduce(keyed)[0].sums
    d = objective.m * objective.q
    meat = np.zeros((d, d))
    if not has_clusters:
        for packed in sums.values():
            outer, total, n_h = packed[: d * d].reshape(d, d), packed[d * d : -1], packed[-1]
            _need_two(n_h)
            meat += n_h / (n_h - 1) * (outer - np.outer(total, total) / n_h)
        return meat
    for h in {key[0] for key in sums}:
        U = np.array([v for key, v in sums.items() if key[0] == h])
        _need_two(U.shape[0])
        U = U - U.mean(axis=0)
        meat += U.shape[0] / (U.shape[0] - 1) * (U.T @ U)
    return meat


def _need_two(n_h):
    if n_h < 2:
        raise ValueError(
            "strata: a stratum has only one PSU; the design-based variance needs at least 2 "
            "PSUs per stratum (as survey's lonely.psu='fail')"
        )
