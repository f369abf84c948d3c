"""ONNX export: onnxruntime reproduces predict_proba and predict from the exported layer."""

import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo
from softlogit.product.onnx_export import DEFAULT_OPSET, to_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ATOL = 1e-6


def _run(proto, X):
    """Evaluate an exported model with onnxruntime on float32 features."""
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = sess.run(["label", "probabilities"], {"X": np.asarray(X, dtype=np.float32)})
    return label, proba


def _assert_matches(model, X, data=None):
    """Exported probabilities equal predict_proba, labels equal predict (X: the design)."""
    data = X if data is None else data
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    label, proba = _run(proto, X)
    assert proba.dtype == np.float32
    assert proba.shape == (len(X), len(model.classes_))
    np.testing.assert_allclose(proba, model.predict_proba(data), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, model.predict(data))
    return proto


def _op_types(proto):
    return [node.op_type for node in proto.graph.node]


def _relabel(y, labels):
    return np.asarray(labels, dtype=object)[y]


# --------------------------------------------------------------------------- binary
def test_binary_integer_labels(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    proto = _assert_matches(m, X)
    assert _op_types(proto)[:2] == ["Gemm", "Sigmoid"]
    assert "Softmax" not in _op_types(proto)
    label_type = proto.graph.output[0].type.tensor_type.elem_type
    assert label_type == onnx.TensorProto.INT64


def test_binary_string_labels(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, _relabel(y, ["no", "yes"]))
    proto = _assert_matches(m, X)
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.STRING


def test_binary_float_and_nonconsecutive_integer_labels(binary_data):
    X, y = binary_data
    _assert_matches(sl.LogisticRegression().fit(X, np.where(y == 1, 3.0, -1.0)), X)
    _assert_matches(sl.LogisticRegression().fit(X, np.where(y == 1, 7, 3)), X)


def test_binary_without_intercept(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression(fit_intercept=False).fit(X, y)
    proto = _assert_matches(m, X)
    gemm = proto.graph.node[0]
    assert gemm.op_type == "Gemm" and list(gemm.input) == ["X", "coef"]


def test_binary_penalized_and_extreme_rows(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression(penalty="l2", alpha=0.05).fit(X, y)
    _assert_matches(m, X)
    far = np.vstack([X[:5] * 50, -X[:5] * 50])  # saturated probabilities stay exact
    _assert_matches(m, far)


# --------------------------------------------------------------------------- softmax
def test_softmax_reference_first(multi_data):
    X, y = multi_data
    m = sl.SoftmaxRegression().fit(X, y)
    proto = _assert_matches(m, X)
    assert _op_types(proto)[:2] == ["Gemm", "Softmax"]
    coef = onnx.numpy_helper.to_array(_initializer(proto, "coef"))
    assert coef.shape == (4, 3)
    np.testing.assert_array_equal(coef[0], 0.0)  # the reference row


def test_softmax_non_default_reference_string_labels(multi_data):
    X, y = multi_data
    labels = _relabel(y, ["ant", "bee", "cat", "dog"])
    m = sl.SoftmaxRegression(reference="cat").fit(X, labels)
    proto = _assert_matches(m, X)
    coef = onnx.numpy_helper.to_array(_initializer(proto, "coef"))
    np.testing.assert_array_equal(coef[2], 0.0)
    np.testing.assert_allclose(np.delete(coef, 2, axis=0), m.coef_, rtol=1e-6)
    assert json.loads(_meta(proto)["reference"]) == "cat"


def test_softmax_non_default_reference_integer_label(multi_data):
    X, y = multi_data
    m = sl.SoftmaxRegression(reference=3).fit(X, y + 1)
    _assert_matches(m, X)


def test_softmax_symmetric(multi_data):
    X, y = multi_data
    m = sl.SoftmaxRegression(reference=None).fit(X, y)
    assert m.coef_.shape == (4, 3)
    proto = _assert_matches(m, X)
    coef = onnx.numpy_helper.to_array(_initializer(proto, "coef"))
    np.testing.assert_allclose(coef, m.coef_, rtol=1e-6)
    assert json.loads(_meta(proto)["reference"]) is None


def test_softmax_without_intercept(multi_data):
    X, y = multi_data
    _assert_matches(sl.SoftmaxRegression(fit_intercept=False).fit(X, y), X)
    _assert_matches(sl.SoftmaxRegression(fit_intercept=False, reference=None).fit(X, y), X)


def test_softmax_two_classes_uses_softmax(binary_data):
    X, y = binary_data
    m = sl.SoftmaxRegression().fit(X, y)
    proto = _assert_matches(m, X)
    assert "Softmax" in _op_types(proto) and "Sigmoid" not in _op_types(proto)


# --------------------------------------------------------------------------- formulas
def test_formula_binary_with_categorical_term():
    df = load_admissions()
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(df)
    X, _ = m._design(df, None, reset=False)
    proto = _assert_matches(m, X, df)
    assert proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 5
    assert json.loads(_meta(proto)["feature_names"]) == list(m.feature_names_in_)


def test_formula_softmax_with_categorical_term():
    df = load_hsbdemo()
    m = sl.SoftmaxRegression(formula="prog ~ C(ses) + write").fit(df)
    X, _ = m._design(df, None, reset=False)
    proto = _assert_matches(m, X, df)
    assert json.loads(_meta(proto)["formula"]) == "prog ~ C(ses) + write"


# --------------------------------------------------------------------------- the model proto
def test_model_properties(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    proto = to_onnx(m, name="admission_model")
    assert proto.producer_name == "softlogit"
    assert proto.producer_version == sl.__version__
    assert proto.graph.name == "admission_model"
    assert "softlogit" in proto.doc_string
    assert proto.opset_import[0].version == DEFAULT_OPSET
    assert to_onnx(m).graph.name == "softlogit_LogisticRegression"
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert proto.graph.input[0].name == "X"
    assert not dims[0].HasField("dim_value") and dims[1].dim_value == 4


def test_opset_choice_and_validation(binary_data):
    X, y = binary_data
    m = sl.LogisticRegression().fit(X, y)
    proto = to_onnx(m, opset=13)
    assert proto.opset_import[0].version == 13
    _label, proba = _run(proto, X)
    np.testing.assert_allclose(proba, m.predict_proba(X), rtol=0, atol=ATOL)
    for bad in (12, onnx.defs.onnx_opset_version() + 1, "17", 17.0):
        with pytest.raises(ValueError, match="opset"):
            to_onnx(m, opset=bad)


@pytest.mark.parametrize("model", [sl.LogisticRegression(), sl.SoftmaxRegression()])
def test_unfitted_model_raises(model):
    with pytest.raises(NotFittedError):
        to_onnx(model)


def _initializer(proto, name):
    return next(t for t in proto.graph.initializer if t.name == name)


def _meta(proto):
    return {p.key: p.value for p in proto.metadata_props}


def test_estimator_method_is_the_export(multi_data):
    X, y = multi_data
    model = sl.SoftmaxRegression().fit(X, y)
    proto = model.to_onnx(name="layer")
    assert proto.graph.name == "layer"
    assert proto.SerializeToString() == to_onnx(model, name="layer").SerializeToString()
    _assert_matches(model, X)
