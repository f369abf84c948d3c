"""The documentation is executed and checked: the tutorial and its chapters run (python
blocks in order, bash blocks of the command-line chapter in a folder), the API reference is
regenerated, renders whole docstrings and covers every public name, the docstrings' examples
run, and relative links between the Markdown files resolve."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest

import softlogit
from softlogit import CollinearityWarning, ConvergenceWarning

DOCS = Path(__file__).parents[1] / "docs"
TUTORIAL = DOCS / "tutorial.md"
API = DOCS / "api.md"
# the chapters whose python blocks run in order, in one namespace per chapter
CHAPTERS = [
    "tutorial.md",
    "inference.md",
    "penalized.md",
    "plots-and-report.md",
    "big-data.md",
    "term-tests.md",
    "residuals.md",
    "bias-reduction.md",
    "goodness-of-fit.md",
    "profile.md",
    "margins.md",
    "positive-class.md",
    "counts.md",
    "formulas-at-scale.md",
    "weights.md",
    "missing-values.md",
]
CLI_CHAPTER = DOCS / "cli.md"  # its bash blocks run in one folder

FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)


def fenced_blocks(text, language):
    """``(first_line_number, source, requires)`` of each fenced block of ``language``, in
    order; ``requires`` lists the modules named by ``requires=a,b`` on the fence line."""
    blocks = []
    for m in FENCE.finditer(text):
        if m.group(1) != language:
            continue
        need = re.search(r"requires=([\w.,]+)", m.group(2))
        requires = need.group(1).split(",") if need else []
        blocks.append((text.count("\n", 0, m.start(3)) + 1, m.group(3), requires))
    return blocks


def python_blocks(text):
    """``(first_line_number, source)`` of each fenced ```python block, in order."""
    return [(line, source) for line, source, _ in fenced_blocks(text, "python")]


def load_make_api():
    spec = importlib.util.spec_from_file_location("make_api", DOCS / "make_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- (a) chapters
def run_python_blocks(path):
    """Run the python blocks of ``path`` in order in one namespace; a failure names its line.
    Blocks that require a module that is not installed are skipped (returned)."""
    text = path.read_text(encoding="utf-8")
    namespace = {"__name__": "__docs__"}  # one namespace: the blocks build on each other
    skipped = []
    for number, (line, source, requires) in enumerate(fenced_blocks(text, "python"), start=1):
        missing = [r for r in requires if importlib.util.find_spec(r) is None]
        if missing:
            skipped.append((line, missing))
            continue
        # pad so that tracebacks point at the line of the Markdown file
        code = compile("\n" * (line - 1) + source, str(path), "exec")
        failure = None
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)  # a documented fit must converge
            warnings.simplefilter("error", CollinearityWarning)
            try:
                exec(code, namespace)  # noqa: S102
            except Exception as exc:
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[1:])
                failure = f"{type(exc).__name__}: {exc}\n{tb}"
        if failure is not None:
            pytest.fail(
                f"docs/{path.name} python block {number} (line {line}) failed: {failure}",
                pytrace=False,
            )
    return skipped


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_blocks_run_in_order(name, monkeypatch, tmp_path):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no windows when a block plots
    monkeypatch.chdir(tmp_path)  # files a chapter writes land here
    path = DOCS / name
    assert len(python_blocks(path.read_text(encoding="utf-8"))) >= 5, name
    skipped = run_python_blocks(path)
    if skipped:
        pytest.skip(f"docs/{name}: blocks at lines {skipped} need modules not installed")


def test_tutorial_is_the_derivation_and_links_every_chapter():
    text = TUTORIAL.read_text(encoding="utf-8")
    assert len(python_blocks(text)) >= 10, "the tutorial should hold its runnable python blocks"
    for name in [*CHAPTERS[1:], CLI_CHAPTER.name]:
        assert f"]({name})" in text, f"the tutorial should link docs/{name}"


def test_chapters_cover_what_the_issue_asks():
    text = {name: (DOCS / name).read_text(encoding="utf-8") for name in CHAPTERS}
    inference = text["inference.md"]
    for needle in ('cov_type="cluster"', '"HC1"', "wald_test(", "lr_test(", "marginal_effects(",
                   "return_ci=True"):  # fmt: skip
        assert needle in inference, needle
    for needle in ('penalty="l1"', '"elasticnet"', "regularization_path(", "LogisticRegressionCV("):
        assert needle in text["penalized.md"], needle
    for needle in ("plot_roc(", "plot_coefficients(", "plot_path(", "plot_cv(", "write_report("):
        assert needle in text["plots-and-report.md"], needle
    for needle in ("scan_parquet(", "scan_csv(", "dask.array", "dask.dataframe"):
        assert needle in text["big-data.md"], needle
    assert "```python requires=dask" in text["big-data.md"]


def test_a_failing_block_names_its_file_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# T\n```python\na = 1\n```\n\n```python\nassert a == 2\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"page.md python block 2 \(line 7\)"):
        run_python_blocks(page)
    page.write_text("```python requires=no_such_module_here\nraise SystemExit\n```\n")
    assert run_python_blocks(page) == [(2, ["no_such_module_here"])]


def test_python_blocks_are_found_with_their_line_numbers():
    text = "intro\n```python\na = 1\n```\n\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (10, "b = a + 1\n")]
    fenced = fenced_blocks("```python requires=dask,pyarrow\nx\n```\n", "python")
    assert fenced == [(2, "x\n", ["dask", "pyarrow"])]


# ----------------------------------------------------------------------------- command line
BASH_PRELUDE = """set -euo pipefail
python() { "$SOFTLOGIT_PYTHON" "$@"; }
softlogit() { "$SOFTLOGIT_PYTHON" -m softlogit "$@"; }
"""


def test_command_line_chapter_runs(tmp_path):
    """Each bash block of docs/cli.md runs in one folder (``softlogit`` is ``python -m
    softlogit`` of this interpreter) and exits with status 0."""
    blocks = fenced_blocks(CLI_CHAPTER.read_text(encoding="utf-8"), "bash")
    assert len(blocks) >= 5
    env = {
        **os.environ,
        "SOFTLOGIT_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(Path(softlogit.__file__).parents[1])]),
        "MPLBACKEND": "Agg",
    }
    for number, (line, source, _) in enumerate(blocks, start=1):
        done = subprocess.run(
            ["bash", "-c", BASH_PRELUDE + source],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (
            f"docs/cli.md bash block {number} (line {line}) exited {done.returncode}:\n"
            f"{source}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-2000:]}"
        )
    made = {p.name for p in tmp_path.iterdir()}
    for name in ("model.json", "report.html", "prog.json", "predictions.csv", "test-report.html"):
        assert name in made, name


# ----------------------------------------------------------------------------- (b) API
def api_sections(text):
    """Top-level names that have a ``### `name` `` section (module functions, documented
    as ``### `plotting.plot_roc` ``, are left out)."""
    return {n for n in re.findall(r"^### `([^`]+)`\s*$", text, flags=re.M) if "." not in n}


def api_section(text, heading):
    """The Markdown of one ``###``/``####`` section of the API reference, up to the next."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    end = re.compile(rf"^#{{1,{level}}} ", flags=re.M).search(text, start + len(heading))
    return text[start : end.start() if end else len(text)]


def test_api_reference_has_a_section_for_every_public_name():
    sections = api_sections(API.read_text(encoding="utf-8"))
    missing = sorted(set(softlogit.__all__) - sections)
    assert not missing, f"docs/api.md lacks {missing}: run python docs/make_api.py"
    removed = sorted(sections - set(softlogit.__all__))
    assert not removed, f"docs/api.md documents names no longer public: {removed}"


def test_api_generator_runs_and_covers_every_public_name():
    make_api = load_make_api()
    text = make_api.render()
    assert text.startswith("# API reference")
    assert api_sections(text) == set(softlogit.__all__)
    assert "Binary logistic regression" in text  # the docstrings' summaries are rendered
    assert "**Parameters**" in text


def test_api_reference_is_regenerated():
    """docs/api.md is exactly what docs/make_api.py writes from today's docstrings."""
    make_api = load_make_api()
    assert API.read_text(encoding="utf-8") == make_api.render(), "run python docs/make_api.py"
    assert make_api.main(["--check"]) == 0


def test_api_reference_renders_full_sections():
    text = API.read_text(encoding="utf-8")
    wald = api_section(text, "#### `LogisticRegression.wald_test`")
    assert '`"gpa - 2*gre = 1"`' in wald and "**Parameters**" in wald and "**Returns**" in wald
    assert "`hypotheses` : str or list of str" in wald and '`"class:term"`' in wald
    proba = api_section(text, "#### `LogisticRegression.predict_proba`")
    assert "`(proba, lower, upper)`" in proba and "`return_ci` : bool" in proba
    cls = api_section(text, "### `LogisticRegression`")
    for name in ("aic_", "bic_", "loglike_", "null_loglike_", "pseudo_r2_", "lr_pvalue_"):
        assert re.search(rf"^- `[^`]*\b{name}", cls, flags=re.M), name
    assert "**Examples**" in cls and "```pycon\n>>> import softlogit as sl" in cls
    assert "$$\n\\frac{1}{\\sum_i w_i}" in cls  # the class's math block, as display math
    assert "**Notes**" in api_section(text, "### `make_report`")


def test_api_reference_documents_plotting_and_datasets():
    from softlogit import datasets, plotting

    text = API.read_text(encoding="utf-8")
    for module in (plotting, datasets):
        short = module.__name__.split(".")[-1]
        section = api_section(text, f"## Module `softlogit.{short}`")
        for name in module.__all__:
            assert f"### `{short}.{name}`" in section, name
    roc = api_section(text, "### `plotting.plot_roc`")
    assert "**Parameters**" in roc and "**Returns**" in roc and "matplotlib Axes" in roc


def _documented_attributes(cls):
    """Names in the Attributes sections of ``cls`` and of its public softlogit bases."""
    make_api = load_make_api()
    names = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("softlogit") and not klass.__name__.startswith("_"):
            _, sections = make_api.parse_docstring(klass.__doc__)
            for name, _kind, _desc in sections.get("Attributes", []):
                names.update(n.strip() for n in (name or "").split(","))
    return names


@pytest.mark.parametrize(
    "cls",
    [softlogit.LogisticRegression, softlogit.SoftmaxRegression, softlogit.LogisticRegressionCV],
    ids=lambda c: c.__name__,
)
def test_every_fitted_attribute_is_documented(cls):
    from softlogit.datasets import load_admissions, load_hsbdemo

    data = load_admissions() if cls is not softlogit.SoftmaxRegression else load_hsbdemo()
    target = "admit" if "admit" in data else "prog"
    kwargs = {"cv": 3, "n_alphas": 5} if cls is softlogit.LogisticRegressionCV else {}
    features = ["gre", "gpa"] if target == "admit" else ["write"]
    model = cls(**kwargs).fit(data[features], data[target])
    fitted = {k for k in vars(model) if k.endswith("_") and not k.startswith("_")}
    missing = sorted(fitted - _documented_attributes(cls))
    assert not missing, f"{cls.__name__}'s docstring lacks Attributes {missing}"


def _documented_objects():
    """Every function, class and method whose docstring docs/api.md renders."""
    from softlogit import datasets, plotting

    make_api = load_make_api()
    objects = [getattr(softlogit, n) for n in softlogit.__all__ if n != "__version__"]
    objects += [getattr(m, n) for m in (plotting, datasets) for n in m.__all__]
    for cls in [o for o in objects if isinstance(o, type)]:
        objects += [getattr(fn, "fget", fn) for _k, _r, fn in make_api._members(cls)[0].values()]
    return list({id(o): o for o in objects}.values())


def test_docstring_examples_run(monkeypatch):
    """The ``>>>`` examples the API reference shows give the output they print."""
    import doctest

    monkeypatch.setenv("MPLBACKEND", "Agg")
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for obj in _documented_objects():
        if "onnx" in (getattr(obj, "__name__", "") or ""):
            continue  # needs onnxruntime, tested in test_onnx
        for test in finder.find(obj, globs={}):
            examples += len(test.examples)
            runner.run(test)
    assert examples >= 10
    assert runner.failures == 0, "a docstring example failed (see the output above)"


def test_prose_rendering():
    make_api = load_make_api()
    lines = [
        "Text with ``code``",
        "over two lines.",
        "",
        ".. math::",
        "",
        "    a = b",
        "",
        "* one",
        "  item",
        "* two",
        "",
        ">>> 1 + 1",
        "2",
        "",
        "Literal::",
        "",
        "    x = 1",
    ]
    assert make_api.render_prose(lines) == [
        "Text with `code` over two lines.",
        "",
        "$$",
        "a = b",
        "$$",
        "",
        "- one item\n- two",
        "",
        "```pycon",
        ">>> 1 + 1",
        "2",
        "```",
        "",
        "Literal:",
        "",
        "```",
        "x = 1",
        "```",
        "",
    ]


def test_numpydoc_parser():
    make_api = load_make_api()
    doc = """Summary line
    that continues.

    Longer text.

    Parameters
    ----------
    a : int
        The first
        parameter.
    b, c : float, \\
        optional
    d
    Free text about the rest.

    Returns
    -------
    ndarray
    """
    summary, sections = make_api.parse_docstring(doc)
    assert summary == "Summary line that continues."
    assert sections["Parameters"] == [
        ("a", "int", "The first parameter."),
        ("b, c", "float, optional", ""),
        ("d", "", ""),
        (None, "Free text about the rest.", ""),
    ]
    assert sections["Returns"] == [("ndarray", "", "")]
    assert make_api.to_markdown("``x`` :math:`a<b` :class:`~m.C` 1 < 2") == "`x` $a<b$ `C` 1 &lt; 2"


# ----------------------------------------------------------------------------- (c) links
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", flags=re.M)


def github_slugs(text):
    """The anchors GitHub gives the headings of a Markdown text (duplicates get -1, -2...)."""
    slugs, seen = set(), {}
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", text), flags=re.M):
        base = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(base, 0)
        slugs.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return slugs


def broken_links(path):
    """Relative links of a Markdown file whose target file (or heading anchor) is missing."""
    text = path.read_text(encoding="utf-8")
    prose = re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))  # links in code are not links
    broken = []
    for target in LINK.findall(prose) + REFERENCE.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I) or target.startswith("//"):
            continue  # absolute URL (http:, mailto:, ...)
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target} (no file {dest})")
        elif anchor and dest.suffix == ".md":
            if anchor.lower() not in github_slugs(dest.read_text(encoding="utf-8")):
                broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    return broken


@pytest.mark.parametrize(
    "path", [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"], ids=lambda p: p.name
)
def test_no_broken_relative_links(path):
    assert not broken_links(path), f"broken links in {path.name}: {broken_links(path)}"


def test_link_checker_finds_broken_links(tmp_path):
    (tmp_path / "other.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n[ok](other.md) [ok](other.md#a-heading) [ok](#top) [web](https://x.org/y)\n"
        "[bad](missing.md) [bad](other.md#nowhere) [bad](#nope)\n"
        "`[code](ignored.md)`\n```python\n[x](also-ignored.md)\n```\n",
        encoding="utf-8",
    )
    found = broken_links(page)
    assert [b.split(" ")[0] for b in found] == ["missing.md", "other.md#nowhere", "#nope"]
