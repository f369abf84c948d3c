"""JSON values of model files: arrays, scalars and tagged containers, written so that every
value reads back as it was and read back with a check of every entry's kind and shape.

A value is JSON itself (None, bool, int, str, a finite float, a list) or a one-key object
whose key is a tag: ``$float`` (nan, inf, -inf), ``$scalar`` and ``$array`` (numpy, with
dtype and shape), ``$tuple``, ``$dict`` (key-value pairs). Anything else is refused with a
:class:`ModelFileError` naming where it was found.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ModelFileError"]

_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not JSON, truncated, another format, a newer
    format version, a checksum mismatch or content whose parts do not fit together."""


def _float_out(x):
    x = float(x)
    return x if math.isfinite(x) else ("nan" if x != x else ("inf" if x > 0 else "-inf"))


def _array_out(a, where):
    """``{"dtype", "shape", "data"}`` of a bool, integer, float or string array."""
    a = np.asarray(a)
    kind, flat = a.dtype.kind, a.ravel().tolist()
    if kind == "f":
        flat = [_float_out(v) for v in flat]
    elif kind == "O" and all(isinstance(v, str) for v in flat):
        flat = [str(v) for v in flat]
    elif kind not in "biuU":
        raise TypeError(f"{where}: only bool, int, float and str arrays are stored, not {a.dtype}")
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": flat}


_ELEMENTS = {"f": (int, float), "b": (bool,), "i": (int,), "u": (int,), "U": (str,), "O": (str,)}


def _element_in(v, kind, where):
    if kind == "f" and isinstance(v, str) and v in _FLOAT_WORDS:
        return _FLOAT_WORDS[v]
    ok = isinstance(v, _ELEMENTS[kind]) and (kind == "b" or not isinstance(v, bool))
    _need(ok, f"{where}: {_short(v)} is not a valid entry of a {kind!r}-kind array")
    return v


def _array_in(obj, where, kinds="biufUO"):
    ok = isinstance(obj, dict) and set(obj) == {"dtype", "shape", "data"}
    _need(ok, f"{where} must be an array: an object with keys dtype, shape and data")
    try:
        dtype = np.dtype(obj["dtype"])
    except (TypeError, ValueError):
        raise ModelFileError(f"{where}: unknown dtype {_short(obj['dtype'])}") from None
    _need(dtype.kind in kinds and dtype.fields is None, f"{where}: dtype {dtype} not allowed")
    shape, data = obj["shape"], obj["data"]
    ok = isinstance(shape, list) and all(_is_int(s) and s >= 0 for s in shape)
    _need(ok, f"{where}: shape must be a list of non-negative integers, got {_short(shape)}")
    size, count = math.prod(shape), len(data) if isinstance(data, list) else None
    _need(count == size, f"{where}: shape {tuple(shape)} needs {size} values, not {count}")
    values = [_element_in(v, dtype.kind, where) for v in data]
    if dtype.kind == "U":
        _need(all(len(v) <= dtype.itemsize // 4 for v in values), f"{where}: string too long")
    try:
        return np.array(values, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as err:
        raise ModelFileError(f"{where}: {err}") from None


def _value_out(value, where):
    """A JSON-safe form of a parameter or state value; every JSON object is a tag."""
    if isinstance(value, np.generic):
        return {"$scalar": _array_out(value, where)}
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": _float_out(value)}
    if isinstance(value, (list, tuple)):
        items = [_value_out(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, dict):
        pairs = [[_value_out(k, where), _value_out(v, f"{where}[{k!r}]")] for k, v in value.items()]
        return {"$dict": pairs}
    if isinstance(value, np.ndarray):
        return {"$array": _array_out(value, where)}
    raise TypeError(
        f"{where} = {value!r} cannot be stored in a model file (only None, bool, int, float, str "
        "and lists, tuples, dicts, arrays of those): set a plain value, e.g. cv=5, before saving"
    )


def _value_in(obj, where):
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if isinstance(obj, list):
        return [_value_in(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    _need(isinstance(obj, dict) and len(obj) == 1, f"{where}: unknown value {_short(obj)}")
    ((tag, body),) = obj.items()
    _need(
        tag in ("$float", "$scalar", "$array", "$tuple", "$dict"), f"{where}: unknown tag {tag!r}"
    )
    if tag == "$float":
        _need(body in _FLOAT_WORDS, f"{where}: {_short(body)} is not nan, inf or -inf")
        return _FLOAT_WORDS[body]
    if tag in ("$scalar", "$array"):
        array = _array_in(body, where)
        _need(tag == "$array" or array.ndim == 0, f"{where}: a scalar must have shape []")
        return array if tag == "$array" else array[()]
    _need(isinstance(body, list), f"{where}: {tag} needs a list")
    if tag == "$tuple":
        return tuple(_value_in(v, where) for v in body)
    _need(all(isinstance(p, list) and len(p) == 2 for p in body), f"{where}: bad dict pairs")
    out = {}
    for key, value in body:
        key = _value_in(key, where)
        _need(not isinstance(key, (list, dict, np.ndarray)), f"{where}: unhashable dict key")
        out[key] = _value_in(value, f"{where}[{key!r}]")
    return out


def _need(condition, message):
    if not condition:
        raise ModelFileError(message)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _short(v):
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


_KINDS = {"int": int, "bool": bool, "str": str, "list": list, "dict": dict, "none": type(None)}


def _get(doc, key, kinds, where):
    """``doc[key]``, checked to be one of the JSON ``kinds`` ("int|none", "list", ...)."""
    _need(isinstance(doc, dict), f"{where} must be a JSON object")
    _need(key in doc, f"{where}.{key} is missing")
    value = doc[key]
    ok = any(type(value) is _KINDS[k] for k in kinds.split("|"))  # bool is not an int here
    _need(ok, f"{where}.{key} must be {kinds.replace('|', ' or ')}, got {_short(value)}")
    return value
