r"""Covariance of the estimates, and the Wald and likelihood-ratio tests built on it.

Everything is computed from sums over rows, through the training source's ``reduce``:

* the information :math:`A = \sum_i w_i H_i \otimes \tilde x_i \tilde x_i^T` (observed = expected
  for the canonical link), and with a penalty the penalised :math:`A_\lambda = A + W\Lambda`;
* the score cross-products :math:`B = \sum_i w_i s_i s_i^T` with
  :math:`s_i = g_i \otimes \tilde x_i` (``HC0``), or over cluster sums
  :math:`B = \sum_g (\sum_{i \in g} w_i s_i)(\cdot)^T` (``cluster``).

The covariance is the sandwich :math:`A_\lambda^{-1} M A_\lambda^{-1}` with :math:`M = A`
(``"nonrobust"``: for an unpenalised fit this is :math:`A^{-1}`, the inverse Fisher
information) or :math:`M = B` (robust), times the small-sample factor:

* ``"HC0"``: 1;  ``"HC1"``: :math:`n / (n - k)`;
* ``"cluster"``: :math:`\frac{G}{G-1}\frac{n-1}{n-k}`, as Stata's ``vce(cluster)`` and
  statsmodels' default. (Stata's ``vce(robust)`` for ``logit`` is ``HC0 * n / (n - 1)``, which
  is none of these; softlogit offers ``HC0``, ``HC1`` and ``cluster``.)

Sample weights are frequency weights: a row of weight 2 counts as two identical rows, so
:math:`n` is the sum of the weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import stats

from ..exceptions import warn
from ..model.objective import scaled_design

__all__ = [
    "COV_TYPES",
    "TestResult",
    "covariance",
    "independent_restrictions",
    "information",
    "parse_restriction",
    "score_products",
    "split_hypotheses",
    "wald",
    "z_table",
]

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster", "survey")


@dataclass(frozen=True)
class TestResult:
    """A chi-squared test: statistic, degrees of freedom and p-value."""

    statistic: float
    df: int
    pvalue: float
    name: str = "Wald"

    def __str__(self):
        return f"{self.name} chi2({self.df}) = {self.statistic:.4f}, p = {self.pvalue:.4g}"


def information(objective, theta):
    """Penalised and unpenalised information matrices (sum scale) at ``theta``, in the
    centred coordinates of :mod:`softlogit.coordinates` (``objective.centering`` maps a
    covariance computed from them back: :meth:`~softlogit.coordinates.Centering.cov_to_theta`).
    """
    _, _, H = objective.value_grad_hess_centered(theta)
    A_pen = objective.total_weight * H
    coef, _ = objective.split(theta)
    diag = np.zeros(objective.shape)
    diag[:, : objective.p] = objective.penalty.hessian_diag(coef)
    A = A_pen - np.diag(objective.total_weight * diag.ravel())
    return A_pen, A


def _scores(objective, theta, chunk):
    """Per-row scores ``g_i (x) [x_i - c, 1]`` in centred coordinates, shape (rows, m * q)
    (the loss gradient)."""
    eta = objective.linear_predictor(theta, chunk)
    _, grad = objective.family.loss_gradient(eta, chunk.y)
    X = chunk.X.toarray() if sp.issparse(chunk.X) else chunk.X
    ones = np.ones(X.shape[0])
    X = scaled_design(X, ones, objective.fit_intercept, None, objective.centering.center)
    return (grad[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)


def score_products(objective, theta, groups=None, n_groups=None):
    """``B``: summed weighted score outer products (centred coordinates, as
    :func:`information`), or over cluster sums when ``groups`` (integer codes per row,
    aligned with the source's rows) is given."""
    if groups is None:

        def stats_(chunk):
            S = _scores(objective, theta, chunk) * np.sqrt(chunk.weight)[:, None]
            return (S.T @ S,)

        return objective.reduce(stats_)[0]

    def sums(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        total = np.zeros((n_groups, S.shape[1]))
        np.add.at(total, chunk.groups, S)
        return (total,)

    C = objective.source.with_groups(groups).reduce(sums)[0]
    return C.T @ C


def local_score_products(objective, theta):
    r"""``B`` over the groups each chunk carries in ``chunk.groups`` (codes local to the
    chunk, a group never spanning chunks: the counts rows of a streamed or Dask counts fit,
    :mod:`softlogit.data.counts_stream`): :math:`\sum_g S_g S_g^T` with :math:`S_g` the
    summed weighted scores of group :math:`g`."""

    def sums(chunk):
        S = _scores(objective, theta, chunk) * chunk.weight[:, None]
        n_local = int(chunk.groups.max()) + 1 if chunk.groups.size else 0
        total = np.zeros((n_local, S.shape[1]))
        np.add.at(total, chunk.groups, S)
        return (total.T @ total,)

    return objective.source.reduce(sums)[0]


def _inverse(A):
    """Inverse of a symmetric positive definite matrix by Cholesky (least squares if singular)."""
    try:
        factor = sla.cho_factor(A, check_finite=False)
        return sla.cho_solve(factor, np.eye(A.shape[0]), check_finite=False)
    except (np.linalg.LinAlgError, sla.LinAlgError):
        return np.linalg.pinv(A, hermitian=True)


def covariance(A_pen, meat, free, factor=1.0):
    """Sandwich covariance over the free parameters; fixed (aliased) ones get NaN."""
    bread = _inverse(A_pen[np.ix_(free, free)])
    V = np.full(A_pen.shape, np.nan)
    V[np.ix_(free, free)] = factor * bread @ meat[np.ix_(free, free)] @ bread
    return V


def small_sample_factor(cov_type, nobs, k, n_groups=None):
    """The correction multiplying HC0 for ``cov_type`` (see the module docstring)."""
    if cov_type == "HC1":
        return nobs / (nobs - k)
    if cov_type == "cluster":
        return n_groups / (n_groups - 1) * (nobs - 1) / (nobs - k)
    return 1.0


def z_table(estimate, se, alpha, index, name="coef"):
    r"""The table of a normal (Wald) approximation: ``name, std_err, z, p_value, ci_low,
    ci_high`` with :math:`z = \hat\beta / \mathrm{se}`, two-sided p-values and
    :math:`\hat\beta \pm z_{1-\alpha/2}\,\mathrm{se}` intervals."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = estimate / se
    crit = stats.norm.ppf(1 - alpha / 2)
    columns = {
        name: estimate,
        "std_err": se,
        "z": z,
        "p_value": 2 * stats.norm.sf(np.abs(z)),
        "ci_low": estimate - crit * se,
        "ci_high": estimate + crit * se,
    }
    return pd.DataFrame(columns, index=index)


def wald(estimate, cov, R, r=None, name="Wald"):
    r"""Wald test of :math:`R\theta = r`: :math:`(R\hat\theta - r)^T (R V R^T)^{-1}
    (R\hat\theta - r) \sim \chi^2_{\operatorname{rank}(R)}`."""
    R = np.atleast_2d(np.asarray(R, dtype=float))
    r = np.zeros(R.shape[0]) if r is None else np.asarray(r, dtype=float)
    diff = R @ estimate - r
    middle = R @ cov @ R.T
    stat = float(diff @ np.linalg.pinv(middle, hermitian=True) @ diff)
    df = int(np.linalg.matrix_rank(middle))
    return TestResult(stat, df, float(stats.chi2.sf(stat, df)), name)


# ---------------------------------------------------------------------------- hypotheses
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TOKEN = re.compile(r"[^\s+*/=]+")
#: What may follow a term name (or a number) in a restriction.
_AFTER = " \t\n+-*/="
#: Rows of a restriction matrix closer than this (relative) to the span of the others
#: count as dependent on them.
DEPENDENCE_RTOL = 1e-10


def _top_level(text, char):
    """Positions of ``char`` in ``text`` outside parentheses and brackets."""
    depth, hits = 0, []
    for i, c in enumerate(text):
        depth += c in "([{"
        depth -= c in ")]}"
        if c == char and depth == 0:
            hits.append(i)
    return hits


def split_hypotheses(hypotheses):
    """The equations of ``"a = 0, b - 2*c = 1"`` (commas inside parentheses or brackets,
    as in ``C(g, Treatment(2))[T.1]``, do not split); a list or tuple holds one equation per
    item. As in patsy (statsmodels) and car, an expression without ``=`` means
    ``expression = 0``, and a chain ``a = b = c`` means ``a = b, b = c``."""
    if isinstance(hypotheses, (list, tuple)):
        parts = [str(h).strip() for h in hypotheses]
    else:
        text = str(hypotheses)
        cuts = [-1, *_top_level(text, ","), len(text)]
        parts = [text[a + 1 : b].strip() for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    return [eq for part in parts for eq in _equations(part)]


def _equations(text):
    """``text`` as equations with one ``=`` each (see :func:`split_hypotheses`)."""
    cuts = _top_level(text, "=")
    if not cuts:
        return [f"{text} = 0"]
    if len(cuts) == 1:
        return [text]
    sides = [text[a + 1 : b].strip() for a, b in zip([-1, *cuts], [*cuts, len(text)], strict=True)]
    return [f"{a} = {b}" for a, b in zip(sides[:-1], sides[1:], strict=True)]


def _skip(text, pos):
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


class _UnknownTermError(ValueError):
    """A token that is neither a term name nor a number (the caller names the terms)."""


def _factor(text, pos, names, equation):
    """A term name (the longest that matches), a number or a parenthesised expression at
    ``pos``, as a linear form ``(({name: coefficient}, constant), end)``."""
    for name in names:
        end = pos + len(name)
        if text.startswith(name, pos) and (end == len(text) or text[end] in _AFTER):
            return ({name: 1.0}, 0.0), end
    number = _NUMBER.match(text, pos)
    if number and (number.end() == len(text) or text[number.end()] in _AFTER):
        return ({}, float(number.group())), number.end()
    if text.startswith("(", pos):
        close = _closing(text, pos)
        if close is None:
            raise ValueError(f"hypothesis {equation!r}: unbalanced parenthesis at {text[pos:]!r}")
        return _linear_side(text[pos + 1 : close], names, equation), close + 1
    token = _TOKEN.match(text, pos)
    if token is None:
        raise ValueError(f"hypothesis {equation!r}: expected a term or a number at {text[pos:]!r}")
    raise _UnknownTermError(token.group())


def _closing(text, pos):
    """Position of the parenthesis closing the one at ``pos`` (None if unbalanced)."""
    depth = 0
    for i in range(pos, len(text)):
        depth += (text[i] == "(") - (text[i] == ")")
        if depth == 0:
            return i
    return None


def _times(a, b, op, equation):
    """The linear form ``a * b`` or ``a / b``: one side at most holds terms, and a
    division is by a number."""
    (ca, ka), (cb, kb) = a, b
    if (ca and cb) or (op == "/" and cb):
        raise ValueError(
            f"hypothesis {equation!r} is not linear: it multiplies or divides by a term"
        )
    if op == "/":
        if kb == 0:
            raise ValueError(f"hypothesis {equation!r} divides by zero")
        return {n: v / kb for n, v in ca.items()}, ka / kb
    coefs, scale = (ca, kb) if ca else (cb, ka)
    return {n: v * scale for n, v in coefs.items()}, ka * kb


def _product(text, pos, names, equation):
    """``factor (* or / factor)*``, linear: ``(({name: coefficient}, constant), end)``."""
    form, op = ({}, 1.0), "*"
    while True:
        factor, pos = _factor(text, _skip(text, pos), names, equation)
        form = _times(form, factor, op, equation)
        pos = _skip(text, pos)
        if pos == len(text) or text[pos] not in "*/":
            return form, pos
        op, pos = text[pos], pos + 1


def _linear_side(text, names, equation):
    """One side of an equation (or a parenthesised part) as ``({name: coefficient},
    constant)``."""
    coefs, const, pos, first = {}, 0.0, _skip(text, 0), True
    if pos == len(text):
        raise ValueError(f"hypothesis {equation!r} is not of the form 'a = 0'")
    while pos < len(text):
        sign, signed = 1.0, False
        while pos < len(text) and text[pos] in "+-":
            sign, signed, pos = (-sign if text[pos] == "-" else sign), True, _skip(text, pos + 1)
        if not (first or signed):
            raise ValueError(f"hypothesis {equation!r}: expected + or - before {text[pos:]!r}")
        (part, value), pos = _product(text, pos, names, equation)
        const += sign * value
        for name, coef in part.items():
            coefs[name] = coefs.get(name, 0.0) + sign * coef
        pos, first = _skip(text, pos), False
    return coefs, const


def parse_restriction(equation, names):
    """A linear restriction such as ``"a = b"``, ``"a - 2*b = 1"`` or ``"2 * a + b = 0"`` as
    ``({name: coefficient}, rhs)`` with every term moved to the left.

    Parameters
    ----------
    equation : str
        Terms (names from ``names``, matched longest first, so names may hold spaces,
        operators or brackets), numbers, ``+``, ``-``, ``*``, ``/`` by numbers and
        parentheses (``"2*(a - b) = 1"``), on both sides of one ``=``.
    names : list of str
        The term names the equation may use.
    """
    cuts = _top_level(equation, "=")
    if len(cuts) != 1:
        raise ValueError(f"hypothesis {equation!r} is not of the form 'a = 0'")
    candidates = sorted(set(names), key=len, reverse=True)
    try:
        left, lconst = _linear_side(equation[: cuts[0]], candidates, equation)
        right, rconst = _linear_side(equation[cuts[0] + 1 :], candidates, equation)
    except _UnknownTermError as err:
        raise ValueError(
            f"unknown term {err.args[0]!r} in hypothesis {equation!r}; terms are {list(names)}"
        ) from None
    for name, value in right.items():
        left[name] = left.get(name, 0.0) - value
    left = {k: v for k, v in left.items() if v != 0}
    if not left:
        raise ValueError(f"hypothesis {equation!r} restricts no coefficient")
    return left, rconst - lconst


def independent_restrictions(R, r, labels):
    r"""The rows of :math:`R\theta = r` that are linearly independent, in order.

    A restriction implied by earlier ones (``"a = 0, 2*a = 0"``) is dropped with a
    warning, as it adds no information (statsmodels keeps it and warns; the test is the
    same); one that contradicts them (``"a = 0, a = 1"``) is a ValueError naming both, as
    no coefficients satisfy all of them."""
    kept = []
    for i in range(R.shape[0]):
        if kept:
            B = R[kept]
            c = np.linalg.lstsq(B.T, R[i], rcond=None)[0]
            dependent = np.linalg.norm(B.T @ c - R[i]) <= DEPENDENCE_RTOL * np.linalg.norm(R[i])
            if dependent:
                _dependent_row(labels, kept, i, c, r)
                continue
        kept.append(i)
    return R[kept], r[kept]


def _dependent_row(labels, kept, i, c, r):
    """Refuse (inconsistent) or warn about (redundant) row ``i``, a combination ``c`` of
    the ``kept`` rows."""
    scale = max(1.0, abs(r[i]), float(np.abs(c) @ np.abs(r[kept])))
    used = [labels[kept[j]] for j in np.flatnonzero(np.abs(c) > DEPENDENCE_RTOL)]
    earlier = ", ".join(repr(label) for label in used)
    if abs(float(c @ r[kept]) - r[i]) > DEPENDENCE_RTOL * scale:
        raise ValueError(
            f"inconsistent restrictions: {labels[i]!r} contradicts {earlier} (no coefficients "
            "satisfy them all)"
        )
    warn(
        f"restriction {labels[i]!r} follows from {earlier}: it is dropped (the test's df "
        "counts independent restrictions)",
        UserWarning,
    )
