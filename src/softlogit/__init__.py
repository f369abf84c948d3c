"""softlogit: binary logistic and multinomial (softmax) regression, one cross-entropy engine
seen as a GLM (Newton/IRLS, Fisher information) and as a neural network (SGD, Adam)."""

import sys

from .data.scans import scan_csv, scan_parquet
from .estimators import LogisticRegression, SoftmaxRegression
from .exceptions import CollinearityWarning, ConvergenceWarning, PerfectSeparationWarning
from .model.separation import SeparationReport, find_separation
from .product import plotting
from .product.modelfile import ModelFileError, load, save
from .product.report import make_report, write_report
from .selection.cv import LogisticRegressionCV, SoftmaxRegressionCV
from .selection.path import RegularizationPath, regularization_path
from .separation_check import check_separation
from .stats.auc import delong_test, roc_auc_ci
from .stats.results import lr_test
from .stats.term_tests import anova_models as anova
from .stats.term_tests import score_test

__version__ = "0.1.0"

# ``softlogit.plotting`` is public (``from softlogit import plotting``); it lives in ``product/``.
sys.modules.setdefault(__name__ + ".plotting", plotting)

__all__ = [
    "CollinearityWarning",
    "ConvergenceWarning",
    "LogisticRegression",
    "LogisticRegressionCV",
    "SoftmaxRegressionCV",
    "PerfectSeparationWarning",
    "SoftmaxRegression",
    "SeparationReport",
    "check_separation",
    "find_separation",
    "load",
    "lr_test",
    "anova",
    "score_test",
    "roc_auc_ci",
    "delong_test",
    "make_report",
    "ModelFileError",
    "save",
    "write_report",
    "scan_csv",
    "scan_parquet",
    "RegularizationPath",
    "regularization_path",
    "__version__",
]
