"""softlogit's warnings."""

from sklearn.exceptions import ConvergenceWarning

__all__ = ["ConvergenceWarning", "PerfectSeparationWarning", "CollinearityWarning"]


class PerfectSeparationWarning(ConvergenceWarning):
    """The data are (quasi-)completely separated: the maximum-likelihood estimate does not
    exist, fitted probabilities reach 0 or 1 and some coefficients diverge."""


class CollinearityWarning(UserWarning):
    """Some columns are linear combinations of others (aliased); their coefficients are
    fixed at 0, as R's ``glm`` reports them as NA."""
