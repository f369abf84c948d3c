"""softlogit: binary logistic and multinomial (softmax) regression, one cross-entropy engine
seen as a GLM (Newton/IRLS, Fisher information) and as a neural network (SGD, Adam)."""

from .cv import LogisticRegressionCV, SoftmaxRegressionCV
from .data.stream import scan_csv, scan_parquet
from .estimators import LogisticRegression, SoftmaxRegression
from .exceptions import CollinearityWarning, ConvergenceWarning, PerfectSeparationWarning
from .io import ModelFileError, load, save
from .path import RegularizationPath, regularization_path
from .report import make_report, write_report
from .results import lr_test
from .separation import SeparationReport, check_separation, find_separation

__version__ = "0.1.0"

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
