"""Which class a fitted model's coefficients describe, in words every output shows.

A binary model's coefficients are the log-odds of ``classes_[1]``,
:math:`\\log\\{P(y = c_1) / P(y = c_0)\\}`: :func:`modelled_text` says ``P(admit = 'yes')``.
A softmax model's rows are log relative risks against its reference class :math:`r`,
:math:`\\log\\{P(y = k) / P(y = r)\\}`: :func:`modelled_text` names it. The summary header,
the coefficient and odds-ratio tables (:func:`label_table`), the HTML report and the command
line all use these words.
"""

from __future__ import annotations

import numpy as np

__all__ = ["label_table", "modelled_cell", "modelled_text", "shown_label"]


def shown_label(label):
    """A label as Python writes it (``'yes'``, ``1``, ``True``), numpy scalars unwrapped."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def modelled_text(model):
    """``"P(admit = 'yes')"`` for a binary model (the response's name, else ``y``);
    ``"reference class 'academic'"`` for a softmax model (``"no reference class
    (symmetric)"`` when ``reference=None``)."""
    if model._binary_only:
        name = getattr(model, "response_name_", None) or "y"
        return f"P({name} = {shown_label(model.classes_[1])})"
    if model._reference is None:
        return "no reference class (symmetric)"
    return f"reference class {shown_label(model.classes_[model._reference])}"


def modelled_cell(model):
    """The summary header's cell: ``("Modelled", "P(admit = 'yes')")`` (binary) or
    ``("Reference class", "'academic'")`` (softmax)."""
    if model._binary_only:
        return "Modelled", modelled_text(model)
    if model._reference is None:
        return "Reference class", "none (symmetric)"
    return "Reference class", shown_label(model.classes_[model._reference])


def label_table(table, model, text=None):
    """A copy of ``table`` (a coefficient or ratio table) naming what it describes: the columns'
    name (shown at the top left of ``str(table)``) and ``table.attrs["modelled"]`` are
    ``text``, default :func:`modelled_text`."""
    text = modelled_text(model) if text is None else text
    table = table.rename_axis(columns=text)
    table.attrs["modelled"] = text
    return table
