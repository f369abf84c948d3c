"""The report's tables about data and predictions: the data section (rows, class balance,
feature summaries, missing values), metrics of the training and test rows side by side,
and the decision threshold with precision, recall and F1.

Each function returns ``(key, label, values)`` rows or HTML; :mod:`softlogit.product.report`
lays them out. All metrics come from :mod:`sklearn.metrics`.
"""

from __future__ import annotations

import html

import numpy as np

from ..stats.summary import format_number
from .plot_base import true_labels

__all__ = [
    "FEATURE_ROWS_MAX",
    "THRESHOLDS",
    "OffsetPredictor",
    "number_cell",
    "data_section",
    "with_offsets",
    "metric_rows",
    "threshold_rows",
    "values_table",
]

#: Feature summaries list at most this many columns (the rest are counted).
FEATURE_ROWS_MAX = 60
#: Thresholds of the threshold table (binary models), besides the model's own 0.5.
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Cells (rows x columns) up to which sparse features are densified for their summaries.
DENSE_CELLS_MAX = 5_000_000


def _esc(value):
    return html.escape(str(value), quote=True)


def number_cell(value, key=None):
    """A ``<td>`` with the summary's format shown and the exact value in ``data-value``.

    Parameters
    ----------
    value : float, int, str or None
        A number (formatted by :func:`softlogit.stats.summary.format_number`), text (left
        aligned) or None (an empty cell).
    key : str, optional
        The cell's ``id`` (tests and readers find values by it).

    Returns
    -------
    str
    """
    ident = f" id='{_esc(key)}'" if key else ""
    if value is None:
        return f"<td{ident}></td>"
    if isinstance(value, str):
        return f"<td{ident} class='text'>{_esc(value)}</td>"
    return f"<td{ident} data-value='{_esc(repr(float(value)))}'>{_esc(format_number(value))}</td>"


def values_table(rows, columns, css="numbers"):
    """A table of ``(key, label, values)`` rows under ``columns`` (one value per column;
    None leaves a cell empty). Cell ids are ``<key>-<column id>``; the exact numbers are
    kept in ``data-value``.

    Parameters
    ----------
    rows : list of (str, str, sequence)
    columns : list of (str, str)
        ``(column id, heading)``.
    css : str

    Returns
    -------
    str
    """
    head = "".join(f"<th scope='col'>{_esc(title)}</th>" for _, title in columns)
    body = []
    for key, label, values in rows:
        cells = "".join(
            number_cell(v, f"{key}-{cid}") for (cid, _), v in zip(columns, values, strict=True)
        )
        body.append(f"<tr id='{_esc(key)}'><th scope='row'>{_esc(label)}</th>{cells}</tr>")
    return (
        f"<table class='{_esc(css)}'><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# --------------------------------------------------------------------------- data
def _frame(X, model):
    """``X`` as a pandas DataFrame with the model's feature names (None if it cannot be)."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "to_pandas"):  # polars and friends
        return X.to_pandas()
    if hasattr(X, "toarray"):
        if X.shape[0] * X.shape[1] > DENSE_CELLS_MAX:
            return None
        X = X.toarray()
    values = np.asarray(X)
    if values.ndim != 2:
        return None
    names = [str(v) for v in getattr(model, "feature_names_in_", [])]
    if len(names) != values.shape[1]:
        names = [f"x{j}" for j in range(values.shape[1])]
    return pd.DataFrame(values, columns=names)


def _class_rows(model, labels):
    """(key, label, [count, share] per data set) per class."""
    rows = []
    for k, c in enumerate(model.classes_):
        values = []
        for y in labels:
            if y is None:
                values += [None, None]
            else:
                n = int(np.sum(y == c))
                values += [n, n / y.size if y.size else float("nan")]
        rows.append((f"class-{k}", str(c), values))
    return rows


def _feature_rows(frame):
    """(column, dtype, missing, mean, sd, min, max or levels) per column."""
    import pandas as pd

    rows = []
    for name in frame.columns[:FEATURE_ROWS_MAX]:
        column = frame[name]
        missing = int(column.isna().sum())
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            v = column.to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            stats = [v.mean(), v.std(ddof=1), v.min(), v.max()] if v.size > 1 else [None] * 4
        else:
            counts = column.value_counts()
            top = f"{counts.index[0]} ({counts.iloc[0]})" if counts.size else ""
            stats = [f"{counts.size} levels", "", f"most frequent: {top}", ""]
        rows.append((str(name), str(column.dtype), missing, *stats))
    return rows


def _feature_table(frame):
    head = "".join(
        f"<th scope='col'>{t}</th>"
        for t in ("column", "type", "missing", "mean", "sd", "min", "max")
    )
    body = []
    for j, (name, dtype, missing, *stats) in enumerate(_feature_rows(frame)):
        cells = number_cell(missing, f"feature-{j}-missing")
        cells += "".join(number_cell(s) for s in stats)
        body.append(
            f"<tr id='feature-{j}'><th scope='row'>{_esc(name)}</th>"
            f"<td class='text'>{_esc(dtype)}</td>{cells}</tr>"
        )
    more = frame.shape[1] - FEATURE_ROWS_MAX
    note = f"<p class='note'>... and {more} more columns.</p>" if more > 0 else ""
    return (
        f"<table class='numbers features'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def data_section(model, sets):
    """The data section's HTML.

    Parameters
    ----------
    model : fitted estimator
    sets : list of (id, heading, X, y)
        The data sets shown (training, test); ``y`` is the labels array (None when ``X`` is
        None).

    Returns
    -------
    str
    """
    sets = [s for s in sets if s[2] is not None]
    columns = [(cid, heading) for cid, heading, _, _ in sets]
    labels = [y for *_, y in sets]
    frames = [_frame(X, model) for _, _, X, _ in sets]
    rows = [("data-rows", "Rows", [int(y.size) for y in labels])]
    rows.append(
        (
            "data-missing",
            "Missing values (cells)",
            [int(f.isna().sum().sum()) if f is not None else "n/a" for f in frames],
        )
    )
    share_columns = [
        (f"{cid}-{part}", f"{title}: {part}")
        for cid, title in columns
        for part in ("count", "share")
    ]
    out = "<h3>Rows and missing values</h3>" + values_table(rows, columns)
    out += "<h3>Class balance</h3>" + values_table(_class_rows(model, labels), share_columns)
    if frames[0] is not None:
        out += f"<h3>Features ({_esc(sets[0][1])})</h3>" + _feature_table(frames[0])
    else:
        out += "<p class='note'>Sparse data too large to summarise per feature.</p>"
    return out


# --------------------------------------------------------------------------- metrics
METRICS = (
    ("metric-n", "Rows"),
    ("metric-log-loss", "Log-loss"),
    ("metric-accuracy", "Accuracy"),
    ("metric-auc", "AUC"),
    ("metric-auc-ovr", "AUC (one-vs-rest, macro)"),
    ("metric-brier", "Brier score"),
    ("metric-precision", "Precision (positive class, threshold 0.5)"),
    ("metric-recall", "Recall (positive class, threshold 0.5)"),
    ("metric-f1", "F1 (positive class, threshold 0.5)"),
)


def _metrics(model, X, y):
    """{key: value} of one data set, from :mod:`sklearn.metrics`."""
    from sklearn.metrics import (
        accuracy_score,
        brier_score_loss,
        log_loss,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    classes = model.classes_
    order = np.argsort(classes, kind="stable")
    proba = model.predict_proba(X)
    out = {
        "metric-n": int(y.size),
        # log_loss reads the columns in sorted label order (classes_ may be [other, positive])
        "metric-log-loss": float(log_loss(y, proba[:, order], labels=classes[order])),
        "metric-accuracy": float(accuracy_score(y, model.predict(X))),
    }
    present = np.isin(classes, y)
    if classes.size == 2:
        positive = (y == classes[1]).astype(int)
        auc = roc_auc_score(positive, proba[:, 1]) if present.all() else None
        out["metric-auc"] = _undefined(auc, classes, present)
        out["metric-brier"] = float(brier_score_loss(positive, proba[:, 1]))
        p, r, f, _ = precision_recall_fscore_support(
            positive, (proba[:, 1] > 0.5).astype(int), average="binary", zero_division=0
        )
        out.update({"metric-precision": p, "metric-recall": r, "metric-f1": f})
    else:
        auc = None
        if present.all():
            auc = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        out["metric-auc-ovr"] = _undefined(auc, classes, present)
    return out


def _undefined(value, classes, present):
    if value is not None:
        return float(value)
    missing = ", ".join(str(c) for c in classes[~present])
    return f"undefined: no rows of class {missing}"


def metric_rows(model, sets):
    """(key, label, values) rows: one value per data set in ``sets`` ((id, X, y) each)."""
    values = [_metrics(model, X, y) for _, X, y in sets]
    return [
        (key, label, [v.get(key) for v in values])
        for key, label in METRICS
        if any(key in v for v in values)
    ]


def threshold_rows(model, X, y):
    """(key, label, values) rows of the threshold table for a binary model: predicted
    positives, precision, recall and F1 when P(positive) > t predicts the positive class."""
    from sklearn.metrics import precision_recall_fscore_support

    positive = (y == model.classes_[1]).astype(int)
    score = model.predict_proba(X)[:, 1]
    rows = []
    for t in THRESHOLDS:
        predicted = (score > t).astype(int)
        p, r, f, _ = precision_recall_fscore_support(
            positive, predicted, average="binary", zero_division=0
        )
        key = f"threshold-{round(100 * t)}"
        rows.append((key, f"{t:g}", [int(predicted.sum()), float(p), float(r), float(f)]))
    return rows


def class_rows(model, X, y):
    """(key, label, values) rows for a softmax model: precision, recall, F1 and support of
    each class at the predicted (most probable) class."""
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(
        y, model.predict(X), labels=model.classes_, zero_division=0
    )
    return [
        (f"class-metric-{k}", str(c), [float(p[k]), float(r[k]), float(f[k]), int(s[k])])
        for k, c in enumerate(model.classes_)
    ]


def labels_of(model, X, y):
    """The true labels of a data set (None without rows)."""
    return None if X is None else true_labels(model, X, y)


class OffsetPredictor:
    """A fitted model whose predictions on given rows use those rows' offsets.

    Parameters
    ----------
    model : fitted estimator
    pairs : list of (X, offset)
        Each data set the report predicts on, with its offset (matched by identity).

    Any other attribute is the model's own.
    """

    def __init__(self, model, pairs):
        self._model, self._pairs = model, pairs

    def __getattr__(self, name):
        return getattr(self._model, name)

    def _offset(self, X):
        for rows, offset in self._pairs:
            if rows is X:
                return offset
        raise ValueError("the model was fitted with an offset, and these rows have none")

    def decision_function(self, X):
        """The model's ``decision_function`` with the rows' offset."""
        return self._model.decision_function(X, offset=self._offset(X))

    def predict_proba(self, X, **kwargs):
        """The model's ``predict_proba`` with the rows' offset."""
        return self._model.predict_proba(X, offset=self._offset(X), **kwargs)

    def predict_log_proba(self, X):
        """The model's ``predict_log_proba`` with the rows' offset."""
        return self._model.predict_log_proba(X, offset=self._offset(X))

    def predict(self, X):
        """The model's ``predict`` with the rows' offset."""
        return self._model.predict(X, offset=self._offset(X))


def with_offsets(model, sets):
    """``model`` itself, or an :class:`OffsetPredictor` when it was fitted with an offset.

    Parameters
    ----------
    model : fitted estimator
    sets : list of (X, offset, name)
        The rows the report predicts on, their offsets and the parameter names that give
        them; a missing offset for given rows is a ValueError naming that parameter.
    """
    if not getattr(model, "has_offset_", False):
        return model
    for X, offset, name in sets:
        if X is not None and offset is None:
            raise ValueError(
                f"the model was fitted with an offset: pass {name}= for the rows of the "
                "report, as its predict needs"
            )
    return OffsetPredictor(model, [(X, offset) for X, offset, _ in sets if X is not None])
