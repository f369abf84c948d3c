"""The separation test as users call it: before a fit, on the design and labels the
estimators would build (:func:`softlogit.model.separation.find_separation` does the work)."""

from __future__ import annotations

from .estimators import SoftmaxRegression
from .model.separation import SeparationReport, find_separation

__all__ = ["check_separation"]


def check_separation(X, y, fit_intercept=True, formula=None):
    """Test, before fitting, whether the maximum-likelihood estimate exists (Konis 2007).

    Parameters
    ----------
    X : array-like, sparse matrix or data frame of shape (n, p)
        Features; with ``formula``, the data frame it refers to.
    y : array-like of shape (n,), optional with ``formula``
        Class labels.
    fit_intercept : bool
        Whether the model has an intercept (a formula decides this itself).
    formula : str, optional
        ``"y ~ x1 + C(g)"``: the design and response are built as the estimators build them.

    Returns
    -------
    SeparationReport
    """
    probe = SoftmaxRegression(formula=formula, fit_intercept=fit_intercept)
    Xv, y = probe._design(X, y, reset=True)
    spec = probe._spec(Xv, y, None, None)
    result = find_separation(Xv, spec.codes, spec.classes.size, spec.fit_intercept)
    return SeparationReport.from_result(result, spec.classes, spec.feature_names)
