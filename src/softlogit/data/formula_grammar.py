"""The closed grammar of the formulas softlogit evaluates, so that a formula is data.

formulaic evaluates a formula's terms as Python code. Before anything is evaluated (at fit, at
save and at load of a model file) :func:`check_formula` parses the formula with formulaic's
own parser, and each Python-evaluated factor with Python's :mod:`ast` after formulaic's own
rewriting of backtick-quoted names, so it sees exactly the code formulaic would run. It then
accepts only this grammar:

- column names (backtick-quoted ones included), checked as names: none starting with ``__``,
  and not ``np`` or ``contr`` on their own;
- numeric literals (finite, at most :data:`MAX_MAGNITUDE` in size);
- the operators ``+ - * / // % **``, unary ``+ -`` and the comparisons ``< <= > >= == !=``
  (``//`` and ``%`` are allowed: their results are never larger than their operands);
  ``**`` needs a numeric exponent of at most :data:`MAX_EXPONENT`, and constant arithmetic
  must stay below :data:`MAX_MAGNITUDE`, so ``9**9**9`` is refused instead of computed;
- the functions of :data:`FUNCTIONS` (``I``, ``C``, ``poly``, ``bs``, ``cr``, ``cs``, ``cc``,
  ``center``, ``scale``, ``standardize``, formulaic's ``log``/``exp`` family, ``abs``, and
  ``offset``, R's offset term, which softlogit itself supplies as the identity) and
  ``np.<name>`` for the numpy functions of :data:`NUMPY_FUNCTIONS`, with the keyword
  arguments listed there; spline and polynomial sizes are at most :data:`MAX_BASIS`;
- in ``C(x, contrasts, levels=[...])``: the contrasts ``Treatment``, ``Sum``, ``Helmert``,
  ``Diff``, ``Poly`` and ``contr.treatment``/``sum``/``helmert``/``diff``/``poly``/``SAS``
  with literal arguments, and a list of literal levels. String literals appear only there
  and as the spline options ``extrapolation=`` / ``constraints="center"``.

Anything else (attributes, subscripts, other calls, lambdas, comprehensions, f-strings,
``:=``, shifts and bitwise operators, ``and``/``or``, strings elsewhere) is refused with a
``ValueError`` naming the term. At the formula level, the operators of Wilkinson formulas are
accepted, but an expansion to more than :data:`MAX_TERMS` terms (``(a+b)**30`` takes
formulaic minutes) and multi-part ``|`` formulas are refused before formulaic expands them.
"""

from __future__ import annotations

import ast
import math
import operator
import re

from formulaic import Formula
from formulaic.errors import FormulaicError
from formulaic.formula import DEFAULT_PARSER, SimpleFormula
from formulaic.parser.types import ASTNode, Token
from formulaic.utils.code import sanitize_variable_names

__all__ = ["FUNCTIONS", "NUMPY_FUNCTIONS", "cbind_columns", "check_formula"]

#: Longest formula accepted, in characters.
MAX_FORMULA_CHARS = 100_000
#: Most terms (and most term products formulaic forms) a formula may expand to.
MAX_TERMS = 10_000
#: Largest ``|exponent|`` of ``**``; the polynomial degree of a term is at most this too.
MAX_EXPONENT = 100
#: Largest constant: literals and constant arithmetic beyond it are refused.
MAX_MAGNITUDE = 1e300
#: Largest ``poly`` degree, spline ``df`` and number of spline knots.
MAX_BASIS = 50
#: Largest number of levels of ``C(..., levels=[...])`` or of ``Poly(scores=[...])``.
MAX_LEVELS = 10_000
#: Longest column name or string literal.
MAX_NAME_CHARS = 1_000

_ELEMENTWISE = (
    "abs absolute arccos arcsin arctan cbrt ceil cos cosh exp exp2 expm1 floor isfinite "
    "isnan log log10 log1p log2 reciprocal sign sin sinh sqrt square tan tanh"
).split()
_X = (("x", "value"),)
_DDOF = ("ddof", ("int", 0, 10))
_SPLINE_OPTIONS = ("raise", "clip", "na", "zero", "extend")
_SPLINE = (
    ("x", "value"),
    ("df", ("int", 1, MAX_BASIS)),
    ("knots", ("numbers", MAX_BASIS)),
    ("lower_bound", "number"),
    ("upper_bound", "number"),
)
#: numpy functions allowed as ``np.<name>(...)``: name -> ((parameter, kind), ...).
NUMPY_FUNCTIONS = {
    **{name: _X for name in _ELEMENTWISE},
    **{name: (("x1", "value"), ("x2", "value")) for name in ("maximum", "minimum")},
    "clip": (("a", "value"), ("a_min", "value"), ("a_max", "value")),
    "where": (("condition", "value"), ("x", "value"), ("y", "value")),
    "round": (("a", "value"), ("decimals", ("int", -20, 20))),
}
#: numpy constants allowed as ``np.<name>``.
NUMPY_CONSTANTS = {"pi": math.pi, "e": math.e}
#: Functions allowed by name: name -> ((parameter, kind), ...), in positional order.
FUNCTIONS = {
    **{name: _X for name in ("I", "abs", "center", "log", "log10", "log2", "exp", "exp2")},
    "exp10": _X,  # formulaic's exp10(x) is x**10
    "offset": _X,  # R's offset term: softlogit's identity, split off the design
    "C": (
        ("data", "value"),
        ("contrasts", "contrast"),
        ("levels", ("literals", MAX_LEVELS)),
        ("spans_intercept", "bool"),
    ),
    "poly": (("x", "value"), ("degree", ("int", 1, MAX_BASIS)), ("raw", "bool")),
    "scale": (("data", "value"), ("center", "bool"), ("scale", "bool"), _DDOF),
    "standardize": (("x", "value"), ("center", "bool"), ("rescale", "bool"), _DDOF),
    "bs": (
        *_SPLINE,
        ("degree", ("int", 0, 10)),
        ("include_intercept", "bool"),
        ("extrapolation", ("choice", _SPLINE_OPTIONS)),
    ),
    **{
        name: (
            *_SPLINE,
            ("constraints", ("choice", ("center",))),
            ("extrapolation", ("choice", _SPLINE_OPTIONS)),
        )
        for name in ("cr", "cs", "cc")
    },
}  # fmt: skip
_REFERENCE = (("reference", "literal"),)
_BASE = (("base", "literal"),)
_HELMERT = (("reverse", "bool"), ("scale", "bool"))
_DIFF = (("backward", "bool"),)
_POLY = (("scores", ("numbers", MAX_LEVELS)),)
#: Contrasts allowed as the second argument of ``C``, bare or called with these arguments.
CONTRASTS = {"Treatment": _REFERENCE, "Sum": (), "Helmert": _HELMERT, "Diff": _DIFF, "Poly": _POLY}
#: The same as ``contr.<name>``.
CONTR_ATTRIBUTES = {
    "treatment": _BASE, "SAS": _BASE, "sum": (), "helmert": _HELMERT, "diff": _DIFF, "poly": _POLY,
}  # fmt: skip
_MODULES = ("np", "contr")
_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_FOLD = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: math.pow,
}  # fmt: skip
_SYMBOLS = {
    ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.MatMult: "@", ast.Invert: "~", ast.Not: "not", ast.Is: "is", ast.IsNot: "is not",
    ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
_NOT_LITERAL = object()
_NUMBER = re.compile(r"\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?")
_HINT = "outside the formula grammar (see softlogit.data.formula_grammar)"


class _Refused(Exception):
    """Why a factor is outside the grammar (turned into a ValueError naming the term)."""


def _short(text, limit=120):
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------- the whole formula
#: A counts response on the left side: ``cbind(s, f)`` or ``cbind(n1, n2, n3)``, of plain
#: column names (identifiers) only, as R's ``glm`` / ``VGAM::vglm`` write it.
_CBIND = re.compile(r"\s*cbind\s*\(([^()]*)\)\s*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def cbind_columns(lhs):
    """The column names of a ``cbind(a, b, ...)`` left side (at least two plain names),
    or None when ``lhs`` is not a ``cbind`` call; a ValueError for a ``cbind`` of anything
    but two or more column names."""
    match = _CBIND.fullmatch(lhs)
    if match is None:
        return None
    names = [part.strip() for part in match.group(1).split(",")]
    if len(names) < 2 or not all(_IDENTIFIER.fullmatch(n) for n in names):
        raise ValueError(
            f"the response {_short(lhs.strip())!r}: cbind() on the left side takes two or "
            "more column names (counts: 'cbind(successes, failures) ~ x')"
        )
    for name in names:
        try:
            _check_name(name)
        except _Refused as why:
            raise ValueError(f"the response {_short(lhs.strip())!r} uses {why}") from None
    return names


def _without_cbind(formula):
    """``formula`` with a ``cbind(...)`` left side replaced by its first column (the grammar
    and formulaic see a one-column response; the counts are read by name)."""
    lhs, sep, rhs = formula.partition("~")
    names = cbind_columns(lhs) if sep else None
    return formula if names is None else f"{names[0]} ~{rhs}"


def check_formula(formula, columns=None, max_levels=MAX_LEVELS):
    """Check ``formula`` against the closed grammar before anything in it is evaluated.

    Parameters
    ----------
    formula : str
        A two-sided Wilkinson formula such as ``"admit ~ gre + np.log(gpa) + C(rank)"``.
    columns : sequence of str, optional
        The data's column names, for the ``.`` operator (all other columns). Without them,
        as in a model file, ``.`` is refused: a model file holds its terms written out.
    max_levels : int, optional
        The longest list of literal levels or scores accepted.

    Returns
    -------
    formulaic.formula.StructuredFormula
        The parsed formula (``.lhs`` and ``.rhs``, one part each).

    Raises
    ------
    ValueError
        For a formula outside the grammar (the message names the term and what it uses), one
        that does not parse, has no response, more than one ``|`` part or too many terms.
    """
    if not isinstance(formula, str):
        raise ValueError(f"formula must be a string, got {_short(repr(formula))}")
    if len(formula) > MAX_FORMULA_CHARS:
        raise ValueError(f"formula has {len(formula)} characters, more than {MAX_FORMULA_CHARS}")
    formula = _without_cbind(formula)
    context = None if columns is None else {"__formulaic_variables_available__": list(columns)}
    try:
        _check_expansion(DEFAULT_PARSER.get_ast(formula), columns)
        parsed = Formula(formula, _context=context)
    except _Refused as why:
        raise ValueError(f"formula {_short(formula)!r}: {why}") from None
    except (FormulaicError, SyntaxError, ValueError, TypeError, RecursionError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"formula error: {_short(formula)!r} does not parse: {first}") from None
    for side in ("lhs", "rhs"):
        part = getattr(parsed, side, None)
        if part is None:
            raise ValueError(f"formula {_short(formula)!r} needs a response: 'y ~ x1 + x2'")
        if not isinstance(part, SimpleFormula):
            raise ValueError(
                f"formula {_short(formula)!r} has {len(part)} parts separated by '|' on its "
                f"{'left' if side == 'lhs' else 'right'} side: softlogit fits one response "
                "on one design, so write a single part such as 'y ~ x1 + x2'"
            )
        for term in part:
            for factor in term.factors:
                _check_factor(factor, max_levels)
    return parsed


def _check_expansion(tree, columns):
    """Refuse a formula whose operators expand to more than :data:`MAX_TERMS` terms, from an
    upper bound computed on formulaic's syntax tree before formulaic expands anything."""
    sizes, stack = {}, [(tree, False)]
    while stack:  # post-order without recursion: a long sum is a deep tree
        node, ready = stack.pop()
        if not isinstance(node, ASTNode):
            sizes[id(node)] = 1
        elif not ready:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args)
        else:
            args = [sizes[id(a)] for a in node.args]
            sizes[id(node)] = size = _terms_bound(node, args, columns)
            if size > MAX_TERMS:
                raise _Refused(f"its operators expand to up to {size} terms, more than {MAX_TERMS}")


def _terms_bound(node, args, columns):
    """An upper bound on the terms (and on the term products formed) at ``node``."""
    symbol, arity = node.operator.symbol, node.operator.arity
    if symbol in ("~", "|", "+", "/", "in"):  # "/" and "in": the parents plus one per nested
        return sum(args)
    if symbol == "-":
        return args[0] if arity == 2 else 0
    if symbol == ":":
        return args[0] * args[1]
    if symbol == "*":
        return args[0] + args[1] + args[0] * args[1]
    if symbol in ("**", "^"):
        power = node.args[1]
        token = power.token if isinstance(power, Token) else ""
        if not (token.isdigit() and 1 <= int(token) <= 64):
            raise _Refused(f"the right side of {symbol!r} must be an integer from 1 to 64")
        return args[0] ** int(token)
    if symbol == "." and columns is not None:
        return max(len(columns), 1)
    if symbol == ".":
        raise _Refused(
            "'.' (all other columns) needs the data: a model file holds its terms written out"
        )
    raise _Refused(f"the formula operator {symbol!r}, which softlogit does not support")


def _check_factor(factor, max_levels):
    """Check one factor as formulaic will evaluate it: a lookup, a literal or Python code."""
    expr, method = factor.expr, factor.eval_method.value
    try:
        if method == "lookup":
            _check_name(expr)
        elif method == "literal":
            _literal_factor(expr)
        elif method == "python":
            _Checker(expr, max_levels).check()
        else:
            raise _Refused(f"a factor evaluated by {method!r}")
    except _Refused as why:
        raise ValueError(f"formula term {_short(expr)!r} uses {why}, {_HINT}") from None


def _check_name(name):
    if not name or len(name) > MAX_NAME_CHARS:
        raise _Refused(f"a column name of {len(name)} characters (1 to {MAX_NAME_CHARS})")
    if name.startswith("__"):
        raise _Refused(f"the name {_short(name, 40)!r} (names may not start with '__')")
    if name in _MODULES:
        raise _Refused(f"the module {name!r} as a value (only its listed functions)")


def _literal_factor(expr):
    if not _NUMBER.fullmatch(expr) or len(expr) > 40:
        raise _Refused(f"the literal {_short(expr, 40)!r} (only numbers)")
    _finite(float(expr))


def _finite(value):
    if not (isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
        raise _Refused(f"a constant beyond {MAX_MAGNITUDE:g} or not a real number")
    return value


# ---------------------------------------------------------------------- Python factors

_DESCRIPTIONS = {
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Subscript: "a subscript",
    ast.IfExp: "a conditional expression",
    ast.BoolOp: "'and'/'or'",
    ast.Starred: "unpacking with '*'",
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.Slice: "a slice",
}


def _describe(node):
    """How a refused node is named in the message."""
    if isinstance(node, ast.Attribute):
        return f"the attribute {_short(ast.unparse(node), 60)!r}"
    if isinstance(node, ast.Constant):
        kind = "string" if isinstance(node.value, (str, bytes)) else type(node.value).__name__
        return f"the {kind} literal {_short(repr(node.value), 40)}"
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)):
        ops = node.ops if isinstance(node, ast.Compare) else [node.op]
        op = next((o for o in ops if type(o) in _SYMBOLS), ops[0])
        return f"the operator {_SYMBOLS.get(type(op), type(op).__name__)!r}"
    return _DESCRIPTIONS.get(type(node), f"a {type(node).__name__} expression")


class _Checker:
    """Walks the Python code of one factor (formulaic's rewriting of backticks applied)."""

    def __init__(self, expr, max_levels):
        self.aliases, self.max_levels = {}, max_levels
        code = sanitize_variable_names(expr, {}, self.aliases)
        try:
            self.tree = ast.parse(code, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            raise _Refused(f"code that does not parse as an expression ({err})") from None

    def check(self):
        try:
            self.value(self.tree.body)
        except RecursionError:
            raise _Refused("an expression nested too deeply") from None

    def value(self, node):
        """Check a numeric expression; return (its value when constant, else None, degree)."""
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise _Refused(_describe(node))
            try:
                return _finite(float(node.value)), 0
            except OverflowError:
                raise _Refused(f"a constant beyond {MAX_MAGNITUDE:g}") from None
        if isinstance(node, ast.Name):
            _check_name(self.aliases.get(node.id, node.id))
            _check_name(node.id)
            return None, 1
        if isinstance(node, ast.Attribute) and _is_np(node) and node.attr in NUMPY_CONSTANTS:
            return NUMPY_CONSTANTS[node.attr], 0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            const, degree = self.value(node.operand)
            return (
                None if const is None else -const if isinstance(node.op, ast.USub) else const
            ), degree
        if isinstance(node, ast.BinOp) and type(node.op) in _FOLD:
            return self.binary(node)
        if isinstance(node, ast.Compare) and all(isinstance(o, _COMPARISONS) for o in node.ops):
            parts = [self.value(v) for v in (node.left, *node.comparators)]
            return None, max(d for _, d in parts)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise _Refused(_describe(node))

    def binary(self, node):
        (a, da), (b, db) = self.value(node.left), self.value(node.right)
        if isinstance(node.op, ast.Pow):
            if b is None:
                raise _Refused("'**' with an exponent that is not a number")
            if abs(b) > MAX_EXPONENT:
                raise _Refused(f"'**' with the exponent {b:g}, beyond {MAX_EXPONENT}")
            degree = 0 if a is not None else da * max(1, math.ceil(abs(b)))
        else:
            degree = max(da, db) if isinstance(node.op, (ast.Add, ast.Sub)) else da + db
        if degree > MAX_EXPONENT:
            raise _Refused(f"a polynomial of degree {degree}, beyond {MAX_EXPONENT}")
        if a is None or b is None:
            return None, degree
        try:
            return _finite(_fold(node.op, a, b)), 0
        except (OverflowError, ZeroDivisionError, ValueError):
            raise _Refused(
                f"the constant {_short(ast.unparse(node), 40)!r}, which is "
                f"infinite, undefined or beyond {MAX_MAGNITUDE:g}"
            ) from None

    # ------------------------------------------------------------------ calls

    def call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in FUNCTIONS:
            name, params = func.id, FUNCTIONS[func.id]
        elif isinstance(func, ast.Attribute) and _is_np(func) and func.attr in NUMPY_FUNCTIONS:
            name, params = f"np.{func.attr}", NUMPY_FUNCTIONS[func.attr]
        else:
            raise _Refused(f"a call of {_short(ast.unparse(func), 60)!r}")
        degrees = [d for _, d in self.arguments(node, name, params)]
        return None, {"np.square": 2, "exp10": 10}.get(name, 1) * max(degrees, default=0)

    def arguments(self, node, name, params):
        """Check the arguments of a call of ``name``; yield the numeric ones' results."""
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise _Refused(f"unpacking (* or **) in the arguments of {name}")
        if len(node.args) > len(params):
            raise _Refused(
                f"{len(node.args)} positional arguments to {name} (at most {len(params)})"
            )
        kinds = dict(params)
        pairs = [(p, a) for (p, _), a in zip(params, node.args, strict=False)]
        for keyword in node.keywords:
            if keyword.arg not in kinds:
                raise _Refused(f"the argument {keyword.arg!r} of {name} (allowed: {list(kinds)})")
            pairs.append((keyword.arg, keyword.value))
        for param, arg in pairs:
            result = self.argument(arg, kinds[param], f"{param}= of {name}")
            if kinds[param] == "value":
                yield result

    def argument(self, node, kind, where):
        """Check one argument against its kind (see the tables)."""
        if kind == "value":
            return self.value(node)
        if kind == "contrast":
            return self.contrast(node)
        if kind == "number":
            const, _ = self.value(node)
            if const is None:
                raise _Refused(f"{where} that is not a number")
            return const
        name, *bounds = kind if isinstance(kind, tuple) else (kind,)
        if name in ("numbers", "literals"):
            limit = min(bounds[0], self.max_levels)
            if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) > limit:
                raise _Refused(f"{where} that is not a list of at most {limit} literals")
            for element in node.elts:
                self.argument(element, "number" if name == "numbers" else "literal", where)
            return None
        value = node.value if isinstance(node, ast.Constant) else _negative(node)
        if name == "int" and not (type(value) is int and bounds[0] <= value <= bounds[1]):
            raise _Refused(f"{where} that is not an integer from {bounds[0]} to {bounds[1]}")
        if name == "bool" and not isinstance(value, bool):
            raise _Refused(f"{where} that is not True or False")
        if name == "choice" and value not in bounds[0]:
            raise _Refused(f"{where} that is not one of {list(bounds[0])}")
        if name == "literal" and not _is_literal(value):
            raise _Refused(f"{where} that is not a number, string or True/False")
        return value

    def contrast(self, node):
        """``Treatment(...)``, ``Sum``, ``contr.sum``, ... with literal arguments."""
        target = node.func if isinstance(node, ast.Call) else node
        if isinstance(target, ast.Name) and target.id in CONTRASTS:
            name, params = target.id, CONTRASTS[target.id]
        elif (
            isinstance(target, ast.Attribute)
            and _is_root(target, "contr")
            and target.attr in CONTR_ATTRIBUTES
        ):
            name, params = f"contr.{target.attr}", CONTR_ATTRIBUTES[target.attr]
        else:
            raise _Refused(
                f"the contrasts {_short(ast.unparse(node), 60)!r} (allowed: "
                f"{', '.join(CONTRASTS)} and contr.{'/'.join(CONTR_ATTRIBUTES)})"
            )
        if isinstance(node, ast.Call):
            list(self.arguments(node, name, params))
        return None, 0


def _is_root(node, name):
    return isinstance(node.value, ast.Name) and node.value.id == name


def _is_np(node):
    return _is_root(node, "np")


def _negative(node):
    """The value of ``-literal`` (a negative number argument), else ``_NOT_LITERAL``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
            return -node.operand.value
    return _NOT_LITERAL


def _is_literal(value):
    if isinstance(value, str):
        return len(value) <= MAX_NAME_CHARS
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE
    return isinstance(value, (bool, int)) and abs(value) <= MAX_MAGNITUDE


def _fold(op, a, b):
    """``a op b`` in floating point: bounded, where Python's exact integers could explode."""
    return _FOLD[type(op)](a, b)
