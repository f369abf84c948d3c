"""softlogit's warnings, and :func:`warn`, which attributes them to the user's line."""

import sys
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

__all__ = ["ConvergenceWarning", "PerfectSeparationWarning", "CollinearityWarning", "warn"]

#: The package folder: frames of files under it are softlogit's own.
PACKAGE_DIR = str(Path(__file__).resolve().parent)
#: scikit-learn's decorators between a user's call and softlogit's method (``_fit_context``'s
#: ``wrapper`` in ``sklearn/base.py``): frames of these functions are skipped too.
WRAPPER_FRAMES = {("base.py", "wrapper")}


class PerfectSeparationWarning(ConvergenceWarning):
    """The data are (quasi-)completely separated: the maximum-likelihood estimate does not
    exist, fitted probabilities reach 0 or 1 and some coefficients diverge."""


class CollinearityWarning(UserWarning):
    """Some columns are linear combinations of others (aliased); their coefficients are
    fixed at 0, as R's ``glm`` reports them as NA."""


def _internal(frame):
    """Whether ``frame`` runs softlogit's code or a scikit-learn decorator around it."""
    filename = str(Path(frame.f_code.co_filename).resolve())
    if filename.startswith(PACKAGE_DIR):
        return True
    name = (Path(filename).name, frame.f_code.co_name)
    return name in WRAPPER_FRAMES and "sklearn" in filename


def user_stacklevel():
    """The ``stacklevel`` of :func:`warnings.warn`, called by the caller of this function,
    that names the innermost frame outside softlogit (the user's line, or the library that
    called softlogit, such as scikit-learn's ``cross_val_score``)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and _internal(frame):
        frame, level = frame.f_back, level + 1
    return level


def warn(message, category=UserWarning):
    """Issue ``warnings.warn(message, category)`` attributed to the user's line, not to the
    softlogit module that raises it (see :func:`user_stacklevel`).

    Parameters
    ----------
    message : str
        The warning's text.
    category : type of Warning
        Its class, e.g. :class:`ConvergenceWarning`.
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())
