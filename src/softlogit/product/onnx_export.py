r"""ONNX export of a fitted model, as the one-layer network it is.

A fitted :class:`~softlogit.LogisticRegression` is one neuron and a fitted
:class:`~softlogit.SoftmaxRegression` one layer of :math:`K` neurons; :func:`to_onnx` writes
that layer as an ONNX graph that any ONNX runtime can evaluate without softlogit::

    X --Gemm(W, b)--> logits --Sigmoid | Softmax--> probabilities --ArgMax, Gather--> label

The inputs and outputs follow the conventions of ``skl2onnx`` classifiers: one float input
``"X"`` and the outputs ``"label"`` and ``"probabilities"``. ``onnx`` is an optional
dependency (``pip install softlogit[onnx]``) and is imported only when exporting.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["DEFAULT_OPSET", "to_onnx"]

#: Opset of the ``ai.onnx`` domain used when ``opset=None``: recent enough for every operator
#: the graph needs, old enough for any onnxruntime of the last years.
DEFAULT_OPSET = 17

#: Oldest opset accepted: Softmax normalises along one axis (not a flattened 2-D view) from 13.
MIN_OPSET = 13


def to_onnx(model, *, name=None, opset=None):
    r"""Export a fitted model to ONNX as the one-layer network it is.

    The graph takes a float32 input ``"X"`` of shape ``[N, p]`` (the design columns in the
    order of ``feature_names_in_``) and computes the linear layer with one ``Gemm`` node,

    .. math::

        \eta = X W^T + b,

    then, for the binary :class:`~softlogit.LogisticRegression` (one neuron, ``W`` of shape
    ``(1, p)``), the sigmoid and the two class probabilities

    .. math::

        p = \sigma(\eta) = \frac{1}{1 + e^{-\eta}}, \qquad
        \text{probabilities} = [1 - p,\ p],

    and for :class:`~softlogit.SoftmaxRegression` the softmax of all :math:`K` logits,

    .. math::

        \text{probabilities}_k = \frac{e^{\eta_k}}{\sum_{j=1}^K e^{\eta_j}},

    where ``W`` is ``coef_`` with a zero row inserted for the reference class (its logit is
    fixed at 0), or ``coef_`` as stored when ``reference=None``. The ``"label"`` output is
    ``classes_[argmax_k probabilities_k]`` (``ArgMax`` then ``Gather``), as ``predict``.

    Parameters
    ----------
    model : LogisticRegression or SoftmaxRegression
        A fitted estimator (with or without intercept, from arrays, data frames or a
        formula).
    name : str, optional
        Name of the ONNX graph; default ``"softlogit_<ClassName>"``.
    opset : int, optional
        Opset of the default ``ai.onnx`` domain, from 13 to what the installed ``onnx``
        supports; default :data:`DEFAULT_OPSET` (17).

    Returns
    -------
    onnx.ModelProto
        A model that passes ``onnx.checker.check_model``, with outputs

        * ``"label"`` of shape ``[N]``: int64 for integer labels, bool for booleans, double
          for float labels, string for string or object labels;
        * ``"probabilities"`` of shape ``[N, K]``, float32, columns in ``classes_`` order.

        ``metadata_props`` record the feature names, classes, reference class and formula.

    Raises
    ------
    ImportError
        When ``onnx`` is not installed.
    sklearn.exceptions.NotFittedError
        When ``model`` has not been fitted.
    ValueError
        When ``opset`` is out of range.
    TypeError
        When the class labels have a type ONNX cannot hold (e.g. datetimes).

    Notes
    -----
    The input is the *design*: for a model fitted with ``formula=``, the encoded model
    matrix (dummy columns and transformations, without the intercept column), which
    ``model._design(data, None, reset=False)`` returns for a data frame ``data``. Offsets
    are not part of the graph. The graph computes in float32, so probabilities agree with
    :meth:`predict_proba` (float64) to about 1e-7 for moderately scaled features.

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort
    >>> from softlogit import LogisticRegression
    >>> from softlogit.product.onnx_export import to_onnx
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = [0, 1, 0, 1]
    >>> proto = to_onnx(LogisticRegression().fit(X, y))
    >>> sess = ort.InferenceSession(proto.SerializeToString())
    >>> label, proba = sess.run(None, {"X": X.astype(np.float32)})
    """
    onnx = _import_onnx()
    check_is_fitted(model, "coef_")
    opset = _check_opset(onnx, opset)
    weight, bias, binary = _layer(model)
    graph = _graph(onnx, model, name or f"softlogit_{type(model).__name__}", weight, bias, binary)
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="softlogit",
        producer_version=_version(),
        doc_string=_describe(model, binary),
    )
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.helper.set_model_props(proto, _metadata(model))
    onnx.checker.check_model(proto)
    return proto


# --------------------------------------------------------------------------- the layer
def _layer(model):
    """Weights ``(m, p)``, bias ``(m,)`` and whether the graph is the binary sigmoid neuron.

    The binary model is one neuron (``m = 1``); the softmax model gets all ``K`` logit rows,
    with the reference class's row (all zeros) inserted where ``coef_`` skips it.
    """
    coef = np.asarray(model.coef_, dtype=float)
    bias = np.asarray(model.intercept_, dtype=float).reshape(-1)
    n_classes = len(model.classes_)
    if getattr(model, "_binary_only", False):
        return coef, bias, True
    reference = getattr(model, "_reference", 0)
    if reference is not None and coef.shape[0] == n_classes - 1:
        coef = np.insert(coef, reference, 0.0, axis=0)
        bias = np.insert(bias, reference, 0.0)
    if coef.shape[0] != n_classes:
        raise ValueError(
            f"coef_ has {coef.shape[0]} rows, expected {n_classes - 1} or {n_classes} for "
            f"{n_classes} classes"
        )
    return coef, bias, False


def _graph(onnx, model, name, weight, bias, binary):
    """The graph ``X -> Gemm -> Sigmoid/Softmax -> probabilities -> label``."""
    helper, TP = onnx.helper, onnx.TensorProto
    n_features = weight.shape[1]
    label_tensor, label_type = _label_tensor(onnx, model.classes_)
    init = [
        onnx.numpy_helper.from_array(weight.astype(np.float32), "coef"),
        label_tensor,
    ]
    gemm_inputs = ["X", "coef"]
    if np.any(bias != 0):
        init.append(onnx.numpy_helper.from_array(bias.astype(np.float32), "intercept"))
        gemm_inputs.append("intercept")
    nodes = [helper.make_node("Gemm", gemm_inputs, ["logits"], name="linear", transB=1)]
    nodes += _binary_head(onnx, init) if binary else _softmax_head(onnx)
    nodes += [
        helper.make_node("ArgMax", ["probabilities"], ["class_index"], axis=1, keepdims=0),
        helper.make_node("Gather", ["classes", "class_index"], ["label"], axis=0),
    ]
    return helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", TP.FLOAT, [None, n_features])],
        [
            helper.make_tensor_value_info("label", label_type, [None]),
            helper.make_tensor_value_info("probabilities", TP.FLOAT, [None, len(model.classes_)]),
        ],
        initializer=init,
        doc_string=f"features: {', '.join(_feature_names(model, n_features))}",
    )


def _binary_head(onnx, init):
    """``p = Sigmoid(logits)`` (one column), then ``probabilities = [1 - p, p]``."""
    helper = onnx.helper
    init.append(onnx.numpy_helper.from_array(np.ones(1, dtype=np.float32), "one"))
    return [
        helper.make_node("Sigmoid", ["logits"], ["p"], name="sigmoid"),
        helper.make_node("Sub", ["one", "p"], ["one_minus_p"], name="complement"),
        helper.make_node("Concat", ["one_minus_p", "p"], ["probabilities"], axis=1),
    ]


def _softmax_head(onnx):
    """``probabilities = Softmax(logits)`` over the K classes."""
    return [onnx.helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1)]


# --------------------------------------------------------------------------- labels
def _label_tensor(onnx, classes):
    """The constant tensor ``classes`` of labels and its ONNX element type."""
    classes = np.asarray(classes)
    TP = onnx.TensorProto
    kind = classes.dtype.kind
    if kind in "iu":
        values, elem = classes.astype(np.int64), TP.INT64
    elif kind == "b":
        values, elem = classes.astype(bool), TP.BOOL
    elif kind == "f":
        values, elem = classes.astype(np.float64), TP.DOUBLE
    elif kind in "USO":
        return _string_tensor(onnx, classes), TP.STRING
    else:
        raise TypeError(
            f"class labels of dtype {classes.dtype} cannot be exported to ONNX; use integer, "
            "float, boolean or string labels"
        )
    return onnx.numpy_helper.from_array(values, "classes"), elem


def _string_tensor(onnx, classes):
    labels = [str(v).encode("utf-8") for v in classes]
    return onnx.helper.make_tensor("classes", onnx.TensorProto.STRING, [len(labels)], labels)


# --------------------------------------------------------------------------- metadata
def _feature_names(model, n_features):
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [f"x{j}" for j in range(n_features)]
    return [str(v) for v in names]


def _metadata(model):
    """String key/value pairs describing the exported model."""
    reference = getattr(model, "_reference", 0)
    classes = [_plain(v) for v in np.asarray(model.classes_)]
    return {
        "feature_names": json.dumps(_feature_names(model, model.coef_.shape[1])),
        "classes": json.dumps(classes),
        "reference": json.dumps(None if reference is None else classes[reference]),
        "formula": json.dumps(getattr(model, "formula", None)),
    }


def _plain(value):
    """A label as a JSON-serialisable Python value."""
    value = value.item() if isinstance(value, np.generic) else value
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _describe(model, binary):
    kind = "sigmoid neuron" if binary else f"softmax layer of {len(model.classes_)} neurons"
    return (
        f"softlogit {type(model).__name__} exported as a {kind}: "
        "X -> Gemm -> " + ("Sigmoid" if binary else "Softmax") + " -> probabilities, label"
    )


# --------------------------------------------------------------------------- plumbing
def _import_onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.defs
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as exc:  # pragma: no cover - exercised only without onnx
        raise ImportError(
            "ONNX export needs the optional 'onnx' package: pip install softlogit[onnx]"
        ) from exc
    return onnx


def _check_opset(onnx, opset):
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise ValueError(f"opset must be an integer, got {opset!r}")
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(
            f"opset={opset} is not supported: use {MIN_OPSET} to {newest} (the newest the "
            "installed onnx knows)"
        )
    return int(opset)


def _version():
    try:
        from .. import __version__
    except ImportError:  # pragma: no cover - only while the package is half-initialised
        return ""
    return str(__version__)
