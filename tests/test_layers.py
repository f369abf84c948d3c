"""The package's arrows point down (``../shared/DESIGN.md`` section 1): each module imports
only modules of its own layer or of the layers below, and no two modules import each other,
directly or through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "softlogit"

# lowest first; a module's layer is the first whose prefix matches its dotted name
LAYERS = [
    (
        "ground",
        ("numerics", "files", "exceptions", "memory", "coordinates", "datasets", "compiled"),
    ),
    ("data", ("data",)),
    ("model", ("model",)),
    ("stats", ("stats",)),
    (
        "estimators",
        (
            "estimators",
            "fitted_state",
            "prediction",
            "estimator_inference",
            "params",
            "separation_check",
        ),
    ),
    ("selection", ("selection",)),
    ("product", ("product",)),
    ("package", ("__init__", "__main__", "plotting")),
]
# the documented doors upwards: ``m.save`` and ``m.to_onnx`` call the writers at call time
ALLOWED_UP = {("fitted_state", "product.modelfile"), ("fitted_state", "product.onnx_export")}


def module_names():
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports_of(name, path, known):
    """Package modules that ``name`` imports anywhere in its file (lazy imports included)."""
    package = name.split(".")[:-1] if not path.name == "__init__.py" else name.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                found.add(sub if sub in known else target)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for mod in mods:
                if mod and mod.startswith("softlogit."):
                    found.add(mod.removeprefix("softlogit."))
    return {m for m in found if m in known and m != name}


def layer_of(name):
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"module {name} belongs to no layer: add it to LAYERS")


GRAPH = {n: imports_of(n, p, module_names()) for n, p in module_names().items()}


def test_every_module_has_a_layer():
    for name in GRAPH:
        layer_of(name)


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_module_imports_a_higher_layer(name):
    up = {t for t in GRAPH[name] if layer_of(t) > layer_of(name) and (name, t) not in ALLOWED_UP}
    assert not up, f"{name} ({LAYERS[layer_of(name)][0]}) imports higher layers: {sorted(up)}"


def test_no_import_cycles():
    graph = {n: {t for t in ts if (n, t) not in ALLOWED_UP} for n, ts in GRAPH.items()}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_lazy_imports(tmp_path):
    """The checks above can fail: an import inside a function counts, relative or absolute."""
    module = tmp_path / "separation.py"
    module.write_text(
        "def f():\n    from ..estimators import X\n    import softlogit.selection.cv\n"
    )
    known = {"model.separation", "estimators", "selection.cv"}
    assert imports_of("model.separation", module, known) == {"estimators", "selection.cv"}
    assert layer_of("model.separation") < layer_of("estimators") < layer_of("selection.cv")
