"""The ``softlogit`` command line: ``fit``, ``predict``, ``summary``, ``report`` and ``demo``.

Exit status: 0 on success; 2 for bad usage (an unknown option, a value outside its choices,
conflicting options: click's usage errors); 1 for problems with the data or the files (a
missing file or column, a bad formula, a corrupted model file, a reference that is not a
class, a fit that fails). Errors print one line, ``Error: ...``, on stderr; the group option
``--debug`` shows the full traceback instead. Results go to stdout (summaries, predictions
without ``--out``); progress, notes and warnings go to stderr.

Writes never destroy what they replace: every output is checked before the work starts. An
output that is one of the command's inputs (by inode: links too), a directory, device, FIFO
or socket, or a path whose folder is missing or not writable is refused (exit 1); so is an
existing file that is not what the command writes there (a model file for ``fit --out``, a
softlogit report for ``--report``, a predictions file for ``predict --out``) unless
``--force`` is given. Files are written atomically, and ``SIGTERM`` stops a command like an
error does, so that no temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import threading
import warnings

import click

from . import cli_counts, cli_data
from .cli_data import DataError

MODELS = ("logistic", "softmax")
PENALTIES = ("none", "l1", "l2", "elasticnet", "firth", "flic", "flac")
SOLVER_NAMES = ("auto", "newton", "lbfgs", "cd", "gd", "sgd", "adam")
COV_TYPES = ("nonrobust", "HC0", "HC1", "survey")
#: What --weight means (--weight-type): fit's sample_weight, probability_weight or
#: analytic_weight (see softlogit.stats.survey).
WEIGHT_TYPES = ("frequency", "probability", "analytic")
_CLICK_EXITS = (click.ClickException, click.exceptions.Exit, click.exceptions.Abort)


class SoftlogitGroup(click.Group):
    """A click group that turns errors from the library into one ``Error: ...`` line and
    exit status 1, unless the group option ``--debug`` asks for the traceback."""

    def invoke(self, ctx):
        """Run the subcommand; see the class description for what happens to errors."""
        try:
            return super().invoke(ctx)
        except _CLICK_EXITS:
            raise
        except BrokenPipeError:  # stdout's reader went away (``| head``): stop quietly
            _detach_stdout()
            raise click.exceptions.Exit(1) from None
        except Exception as err:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(cli_data.error_message(err)) from None


def _detach_stdout():
    """Point stdout at the null device, so that flushing it at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (tests): nothing to do
        pass


@contextlib.contextmanager
def _plain_warnings():
    """Show warnings as ``Warning: <category>: <message>`` lines on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"Warning: {category.__name__}: {message}", err=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _signals_as_exit():
    """Turn ``SIGTERM`` and ``SIGHUP`` into ``SystemExit(128 + signal)`` while a command
    runs, so that a write in progress removes its temporary file as for any error (signals
    that were ignored, e.g. under ``nohup``, stay ignored)."""

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    saved = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
                saved[number] = signal.signal(number, stop)
    try:
        yield
    finally:
        for number, old in saved.items():
            signal.signal(number, signal.SIG_DFL if old is None else old)


@click.group(
    cls=SoftlogitGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit status: 0 on success, 1 for a data or file error, 2 for bad usage.",
)
@click.version_option(package_name="softlogit")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def main(ctx, debug):
    """softlogit: logistic and softmax regression, fitted as a GLM and as a network.

    \b
    softlogit fit data.csv --target y --out model.json     fit, print the summary, save
    softlogit predict model.json new.parquet --proba       labels and probabilities
    softlogit summary model.json                           the stored model's summary
    softlogit report model.json data.csv --target y --out report.html
    """
    ctx.with_resource(_signals_as_exit())
    if not debug:
        ctx.with_resource(_plain_warnings())


def _note(text):
    click.echo(text, err=True)


# --------------------------------------------------------------------------- fit
def _split_features(ctx, param, value):
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise click.BadParameter("give column names separated by commas, e.g. a,b,c")
    return names


def _parse_class_weight(ctx, param, value):
    if value is None:
        return None
    try:
        return cli_data.parse_class_weight(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _check_fit_usage(target, features, formula, stream, cv):
    if (target is None) == (formula is None):
        raise click.UsageError("give either --target (with optional --features) or --formula")
    if formula is not None and features is not None:
        raise click.UsageError("--features goes with --target; a formula names its own terms")
    if target is not None and target in (features or ()):
        raise click.UsageError(f"--target {target!r} is also in --features")
    if cv is not None and stream:
        raise click.UsageError("--cv needs the data in memory: leave out --stream")


def _special_columns(target, features, weight, offset):
    """The --weight and --offset columns (a usage error when one is the target, a feature
    or named twice)."""
    special = ([("--weight", weight)] if weight else []) + [("--offset", c) for c in offset or ()]
    seen = {}
    for option, column in special:
        if column == target:
            raise click.UsageError(f"{option} {column!r} is the --target column")
        if column in (features or ()):
            raise click.UsageError(f"{option} {column!r} is also in --features")
        if column in seen:
            raise click.UsageError(f"{seen[column]} and {option} both name the column {column!r}")
        seen[column] = option
    return [column for _, column in special]


def _design_columns(o, special):
    """The --cluster and --strata columns, checked against the weight type and the other
    columns (usage errors)."""
    columns = [(opt, o[key]) for opt, key in (("--cluster", "cluster"), ("--strata", "strata"))]
    columns = [(opt, col) for opt, col in columns if col]
    if o["weight_type"] != "frequency" and not o["weight"]:
        raise click.UsageError(f"--weight-type {o['weight_type']} needs --weight COL")
    if columns and o["weight_type"] != "probability":
        raise click.UsageError(f"{columns[0][0]} needs --weight-type probability")
    if columns and o["stream"] and not o["features"]:
        raise click.UsageError(f"{columns[0][0]} with --stream needs --features")
    for opt, col in columns:
        if col == o["target"] or col in (o["features"] or ()) or col in special:
            raise click.UsageError(f"{opt} {col!r} is also the target, a feature or a weight")
    return [col for _, col in columns]


def _typed_weights(frame, request, args):
    """``fit`` arguments with --weight as its --weight-type, and the survey design."""
    kind = request["weight_type"]
    if kind == "frequency":
        return args
    args = dict(args)
    args[f"{kind}_weight"] = args.pop("sample_weight")
    for key, option in (("clusters", "cluster"), ("strata", "strata")):
        if request[option]:
            args[key] = frame[request[option]].to_numpy()
    return args


def _penalty_params(penalty, alpha, l1_ratio, cv):
    """Estimator parameters of the penalty options (a usage error when they do not fit).
    Without ``--penalty`` a plain fit has none and a cross-validated one the lasso."""
    penalty = penalty or ("l1" if cv is not None else "none")
    strength = penalty in ("l1", "l2", "elasticnet")
    if cv is not None and not strength:
        raise click.UsageError(
            f"--cv chooses the strength of an l1, l2 or elasticnet penalty, not {penalty}"
        )
    if cv is not None and alpha is not None:
        raise click.UsageError("--alpha and --cv: cross-validation chooses alpha; give one")
    if cv is None and strength and alpha is None:
        raise click.UsageError(f"--penalty {penalty} needs --alpha (the penalty strength)")
    if not strength and alpha is not None:
        raise click.UsageError(f"--alpha goes with --penalty l1, l2 or elasticnet, not {penalty}")
    if (penalty == "elasticnet") != (l1_ratio is not None):
        raise click.UsageError("--l1-ratio goes with --penalty elasticnet, and it needs it")
    params = {"penalty": None if penalty == "none" else penalty}
    params.update({k: v for k, v in (("alpha", alpha), ("l1_ratio", l1_ratio)) if v is not None})
    return params


def _positive_class(kind, classes, text):
    """``(kind, reference label, positive label)`` that make ``text`` the modelled class:
    ``LogisticRegression(positive_class=...)``, or with ``--model softmax`` a 2-class
    softmax against the other class."""
    if len(classes) != 2:
        raise DataError(
            f"--positive is for a target with 2 classes, not {len(classes)}: use --reference "
            "to choose a softmax model's reference class"
        )
    label = cli_data.label_for(text, classes, "--positive")
    other = classes[0] if label == classes[1] else classes[1]
    if kind == "softmax":
        return "softmax", other, None
    return "logistic", None, label


#: Label pairs whose modelled class goes without saying (the larger one: 1, True).
OBVIOUS_LABELS = ({"0", "1"}, {"0.0", "1.0"}, {"false", "true"})


def _modelled_note(model, positive):
    """Say on stderr which class the fitted model describes and how to choose another:
    ``--positive`` (binary, when the labels are not 0/1 or False/True and none was given)
    or ``--reference`` (softmax)."""
    from ..stats.modelled import modelled_text, shown_label

    text = f"modelled: {modelled_text(model)}"
    if model.classes_.size == 2 and model._binary_only:
        obvious = {str(c).lower() for c in model.classes_} in OBVIOUS_LABELS
        if positive is None and not obvious:
            other = shown_label(model.classes_[0]).strip("'")
            text += f" (the second label in sorted order; --positive {other} models the other)"
    elif not model._binary_only:
        text += " (--reference LABEL chooses another)"
    _note(text)


def _estimator(choice, classes, params):
    """A LogisticRegression or SoftmaxRegression (their CV variants with ``--cv``) for
    labels ``classes`` (sorted), as ``choice`` (the model options) asks."""
    from ..estimators import LogisticRegression, SoftmaxRegression
    from ..selection.cv import LogisticRegressionCV, SoftmaxRegressionCV

    kind, reference, positive = choice["kind"], choice["reference"], None
    if choice["positive"] is not None:
        kind, reference, positive = _positive_class(kind, classes, choice["positive"])
    elif reference is not None:
        reference = cli_data.label_for(reference, classes)
    if kind is None:
        kind = "logistic" if len(classes) == 2 else "softmax"
    weights = cli_data.class_weight_for(choice["class_weight"], classes)
    params = {**params, **({} if weights is None else {"class_weight": weights})}
    if choice["cv"] is not None:
        params.update(cv=choice["cv"])
    if kind == "logistic":
        if reference is not None and classes and reference != classes[0]:
            raise DataError(
                f"--reference {choice['reference']!r}: a logistic model's reference is its "
                f"first class, {str(classes[0])!r}; use --model softmax to choose another "
                "reference"
            )
        cls = LogisticRegression if choice["cv"] is None else LogisticRegressionCV
        return cls(**params, **({} if positive is None else {"positive_class": positive}))
    ref = "first" if reference is None else reference
    cls = SoftmaxRegression if choice["cv"] is None else SoftmaxRegressionCV
    return cls(reference=ref, **params)


def _fit_arguments(frame, weight, offset):
    """``sample_weight`` and ``offset`` for ``fit`` from their columns of ``frame``."""
    args = {}
    if weight:
        args["sample_weight"] = frame[weight].astype(float)  # named: --missing drop counts
    if offset:
        args["offset"] = cli_data.offset_values(frame, offset)
    return args


def _fit_in_memory(table, request, make):
    """Fit on the table read into memory; returns the model and the report's
    (X, y, offset)."""
    target, features, formula = request["target"], request["features"], request["formula"]
    special = request["special"]
    table.require(special)
    if formula is not None:
        from ..data.formula import FormulaDesign

        frame, design = cli_data.read_frame(table), FormulaDesign(formula)
        if design.response in frame.columns:  # the common case: the response is a column
            y = frame[design.response]
            cli_data.check_labels(y, design.response)
        else:
            y = design.fit(frame)[1]
        model = make(cli_data.sorted_labels(y), {"formula": formula})
        args = _fit_arguments(frame, request["weight"], request["offset"])
        args = _typed_weights(frame, request, args)
        return model.fit(frame, **args), (frame, None, args.get("offset"))
    table.require([target])
    columns = None if features is None else [target, *features, *special]
    frame = cli_data.read_frame(table, columns)
    X, y = frame.drop(columns=[target, *special]), frame[target]
    cli_data.check_labels(y, target)
    model = make(cli_data.sorted_labels(y), {})
    args = _fit_arguments(frame, request["weight"], request["offset"])
    args = _typed_weights(frame, request, args)
    return model.fit(X, y, **args), (X, y, args.get("offset"))


def _fit_streamed(table, request, make):
    """Fit on ``scan_parquet``/``scan_csv`` of the table, with a progress bar on stderr."""
    from ..data.scans import scan_csv, scan_parquet

    scan_of = scan_parquet if table.format == "parquet" else scan_csv
    offset, formula = request["offset"], request["formula"]
    columns = {"target": request["target"], "features": request["features"]}
    scan = scan_of(
        table.paths,
        **(columns if formula is None else {"formula": formula}),
        weight=request["weight"],
        offset=None if not offset else offset[0] if len(offset) == 1 else list(offset),
    )
    extra = {"verbose": 1} if formula is None else {"verbose": 1, "formula": formula}
    model = make(cli_data.scan_labels(scan), extra)
    _note(f"streaming {table.n_bytes / 2**20:.1f} MiB from {table.path!r}")
    typed = {}
    if request["weight_type"] != "frequency":  # the scan reads --weight; say what it means
        typed = {f"{request['weight_type']}_weight": request["weight"]}
        typed.update({k: request[o] for k, o in (("clusters", "cluster"), ("strata", "strata"))})
    with contextlib.redirect_stdout(sys.stderr):  # solver iteration lines: stderr
        return model.fit(scan, **typed)


REPORT_EXTENSIONS = (".html", ".htm")


def _check_report_path(path, option):
    """Refuse, before any work, a report path that is not .html/.htm, or a report without
    matplotlib (its plots need it)."""
    if os.path.splitext(os.fspath(path))[1].lower() not in REPORT_EXTENSIONS:
        raise click.BadParameter(
            f"{path!r}: the report is an HTML file; name it .html or .htm", param_hint=option
        )
    if importlib.util.find_spec("matplotlib") is None:
        raise DataError(
            f"{option}: the report's plots need matplotlib: pip install softlogit[plot]"
        )


def _require_offset(model, offset):
    """A usage error when ``model`` was fitted with an offset and ``--offset`` is not given."""
    if getattr(model, "has_offset_", False) and not offset:
        raise click.UsageError("--offset is needed: this model was fitted with an offset")


def _offset_option(help_text):
    """The ``--offset COL[,COL...]`` option (one column, or one per class)."""
    return click.option("--offset", metavar="COL[,COL...]", callback=_split_offset, help=help_text)


def _split_offset(ctx, param, value):
    if value is None:
        return None
    names = _split_features(ctx, param, value)
    return tuple(names)


@main.command()
@click.argument("data")
@click.option(
    "--target", metavar="COL", help="The label column (features: --features, else all others)."
)
@click.option(
    "--features",
    metavar="A,B,...",
    callback=_split_features,
    help="Feature columns, comma-separated: a,b,c.",
)
@click.option(
    "--formula", metavar="FORMULA", help='A Wilkinson formula, e.g. "admit ~ gre + gpa + C(rank)".'
)
@click.option(
    "--model",
    "kind",
    type=click.Choice(MODELS),
    help="Default: logistic for a target with 2 classes, else softmax.",
)
@click.option(
    "--reference", metavar="LABEL", help="Softmax reference class (default: the first, sorted)."
)
@click.option(
    "--positive",
    metavar="LABEL",
    help="2 classes: the modelled class, whose log-odds the coefficients are (default: the "
    "second, sorted; with --model softmax, a 2-class softmax against the other).",
)
@click.option("--weight", metavar="COL", help="Column of non-negative sample (frequency) weights.")
@click.option(
    "--trials",
    metavar="COL",
    help="Binomial trials per row: --target is then the proportion of successes (a counts "
    "response; --target s,f with two or more columns gives counts without --trials).",
)
@click.option(
    "--weight-type",
    type=click.Choice(WEIGHT_TYPES),
    default="frequency",
    show_default=True,
    help="What --weight means: frequency (replicated rows), probability (survey weights: "
    "design-based standard errors as R's svyglm) or analytic (statsmodels' var_weights).",
)
@click.option("--cluster", metavar="COL", help="Survey clusters (PSUs): probability weights.")
@click.option("--strata", metavar="COL", help="Survey strata: with probability weights.")
@_offset_option("Offset column added to the linear predictor (softmax: one, or one per class).")
@click.option(
    "--class-weight",
    metavar="balanced|A=W,...",
    callback=_parse_class_weight,
    help="Weights per class: 'balanced', or LABEL=WEIGHT pairs such as a=2,b=1.",
)
@click.option(
    "--penalty",
    type=click.Choice(PENALTIES),
    help="Default: none (with --cv: l1).",
)
@click.option("--alpha", type=click.FloatRange(min=0), metavar="A", help="Penalty strength.")
@click.option(
    "--l1-ratio", type=click.FloatRange(0, 1), metavar="R", help="Lasso share of elasticnet."
)
@click.option(
    "--cv",
    type=click.IntRange(min=2),
    metavar="K",
    help="Choose alpha by K-fold cross-validation (LogisticRegressionCV/SoftmaxRegressionCV).",
)
@click.option("--solver", type=click.Choice(SOLVER_NAMES), default="auto", show_default=True)
@click.option(
    "--max-iter", type=click.IntRange(min=1), metavar="N", help="Most iterations (epochs)."
)
@click.option(
    "--tol", type=click.FloatRange(min=0, min_open=True), metavar="T", help="Convergence tolerance."
)
@click.option(
    "--random-state", type=click.IntRange(min=0), metavar="N", help="Seed (CV folds, SGD/Adam)."
)
@click.option(
    "--cov-type",
    type=click.Choice(COV_TYPES),
    default=None,
    help="Covariance of the printed summary (default: the weight type's own, survey for "
    "probability weights, else nonrobust).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Save the model (JSON).")
@click.option("--report", type=click.Path(dir_okay=False), help="Write an HTML report (.html).")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing output file that softlogit did not write (never an input).",
)
@click.option(
    "--missing",
    type=click.Choice(["raise", "drop"]),
    default="raise",
    show_default=True,
    help="Rows with a missing value: an error naming the row, or dropped (R's na.omit; "
    "the model then predicts empty cells for rows with missing features).",
)
@click.option(
    "--stream/--no-stream",
    default=None,
    help=f"Fit out of core, batch by batch (default: when DATA is over "
    f"{cli_data.STREAM_BYTES // 2**20} MiB and there is neither a formula nor --cv; "
    "--stream with --formula learns the formula's encoding in one pass over DATA).",
)
def fit(data, **options):
    """Fit a model to DATA and print its summary.

    DATA is a .csv, .parquet or .pq file, a folder of them or a quoted glob. --out and
    --report are checked before the fit: neither may be DATA itself, and an existing file
    there must be a softlogit model (report) unless --force is given.
    """
    o = options
    _check_fit_usage(o["target"], o["features"], o["formula"], o["stream"], o["cv"])
    special = _special_columns(o["target"], o["features"], o["weight"], o["offset"])
    special += _design_columns(o, special)
    params = {
        "solver": o["solver"],
        **_penalty_params(o["penalty"], o["alpha"], o["l1_ratio"], o["cv"]),
    }
    params.update({k: o[k] for k in ("max_iter", "tol", "random_state") if o[k] is not None})
    if o["missing"] != "raise":
        if o["cv"] is not None:
            raise click.UsageError("--missing drop does not combine with --cv yet")
        params["missing"] = o["missing"]
    table = cli_data.open_table(data)
    outputs = [("--out", o["out"], "model"), ("--report", o["report"], "report")]
    cli_data.check_outputs(
        [x for x in outputs if x[1] is not None], _data_inputs("the data file", table), o["force"]
    )
    if o["report"] is not None:
        _check_report_path(o["report"], "--report")
    stream = o["stream"]
    if stream is None:
        stream = o["formula"] is None and o["cv"] is None and table.n_bytes > cli_data.STREAM_BYTES
        stream = stream and (o["features"] or not (o["cluster"] or o["strata"]))
    choice = {k: o[k] for k in ("kind", "reference", "positive", "class_weight", "cv")}
    if o["positive"] is not None and o["reference"] is not None:
        raise click.UsageError("--positive and --reference both choose the class order: give one")

    def make(classes, extra):
        return _estimator(choice, classes, {**params, **extra})

    request = {**o, "special": special}
    if cli_counts.counts_columns(o["target"], o["trials"], o["formula"]) is not None:
        model, train = cli_counts.fit_counts(table, request, make, stream), None
    elif stream:
        model, train = _fit_streamed(table, request, make), (None, None, None)
    else:
        model, train = _fit_in_memory(table, request, make)
    if o["cv"] is not None:
        _note(f"--cv {o['cv']}: alpha {model.alpha_selected_:.6g} (l1_ratio {model.l1_ratio_:g})")
    _modelled_note(model, o["positive"])
    if hasattr(model, "n_dropped_"):
        counts = ", ".join(f"{k}: {v}" for k, v in model.dropped_by_column_.items())
        _note(
            f"dropped {model.n_dropped_} row{'' if model.n_dropped_ == 1 else 's'} with "
            "missing values" + (f" ({counts})" if counts else "")
        )
    click.echo(str(model.summary(cov_type=o["cov_type"])))
    if o["out"] is not None:
        from .modelfile import save

        save(model, o["out"])
        _note(f"model saved to {o['out']}")
    if o["report"] is not None:
        _write_report(model, o["report"], train, stream, _data_name(table))


def _data_name(table):
    """The data file's name for the report (the first of several, with their number)."""
    first = os.path.basename(str(table.paths[0]))
    return first if len(table.paths) == 1 else f"{first} and {len(table.paths) - 1} more files"


def _complete_rows(model, data):
    """``(X, y, offset)`` without the rows a model fitted with ``--missing drop`` drops
    (the report evaluates it on the rows it was fitted on); unchanged otherwise."""
    X, y, offset = data
    if X is None or getattr(model, "missing", "raise") != "drop":
        return data
    from ..data.missing import drop_missing, drop_missing_formula

    if model.formula is not None:
        X, y, _, offset, _ = drop_missing_formula(model.formula, X, y, None, offset)
    else:
        X, y, _, offset, _ = drop_missing(X, y, None, offset)
    return X, y, offset


def _write_report(model, path, train, streamed, data_name=None):
    from .report import write_report

    if streamed:
        _note("report: streamed data are not loaded, so it shows the model only")
    X, y, offset = _complete_rows(model, train)
    write_report(model, path, X=X, y=y, offset=offset, data_name=data_name)
    _note(f"report written to {path}")


def _data_inputs(what, table):
    """``(description, path)`` of every file of ``table`` (for :func:`check_outputs`)."""
    return [(what, p) for p in table.paths]


# --------------------------------------------------------------------------- predict
def _load_model(path):
    from .modelfile import load

    if not os.path.exists(path):  # a FIFO, device or directory: load says what it is
        raise DataError(f"no such model file: {path!r}")
    return load(path)


def _input_columns(model, table):
    """The columns of ``table`` that ``model`` reads (None: all of them)."""
    if model.formula is not None:  # the fitted terms' columns (formulaic's
        # required_variables leaves out those of stateful transforms such as center(z))
        from ..data.formula_stream import _factor_variables

        spec, columns = model._formula.spec, list(table.columns)
        factors = {f.expr for part in spec.structure for f in part.term.factors}
        needed = {c for expr in factors for c in _factor_variables(expr, columns)}
        return [c for c in columns if c in needed] or None
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


@main.command()
@click.argument("model_file", metavar="MODEL")
@click.argument("data")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="A .csv, .parquet or .pq file (written atomically); default CSV on stdout.",
)
@click.option("--proba", is_flag=True, help="Add class probabilities, columns proba_<label>.")
@click.option(
    "--id",
    "ids",
    multiple=True,
    metavar="COL",
    help="Copy column COL of DATA into the output, before the predictions (repeatable).",
)
@_offset_option("The offset column(s) of DATA, for a model fitted with an offset.")
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=cli_data.PREDICT_BATCH_ROWS,
    show_default=True,
    help="Rows read, predicted and written at a time.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing --out file that is not a softlogit predictions file.",
)
def predict(model_file, data, out, proba, ids, offset, batch_rows, force):
    """Predict the label of every row of DATA with the model saved in MODEL.

    DATA is read batch by batch (--batch-rows rows at a time, a formula applied to each),
    so memory does not grow with its number of rows. --out may not be MODEL or DATA; an
    existing file there must hold softlogit predictions (columns label, proba_..., after
    the --id columns) unless --force is given.
    """
    if out is not None:
        try:
            cli_data.output_format(out)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="'--out'") from None
    ids = list(dict.fromkeys(ids))
    clash = [c for c in ids if c == "label" or c.startswith("proba_")]
    if clash:
        raise click.UsageError(f"--id {clash[0]!r}: the output's own columns are label, proba_*")
    model = _load_model(model_file)
    offset = list(offset or ())
    _require_offset(model, offset)
    table = cli_data.open_table(data)
    if out is not None:
        inputs = [("the model file", model_file), *_data_inputs("the data file", table)]
        cli_data.check_outputs([("--out", out, "predictions")], inputs, force, ids)
    features = _input_columns(model, table)
    table.require([*ids, *offset])
    extra = [c for c in (*ids, *offset) if features is None or c not in features]
    columns = None if features is None else list(dict.fromkeys([*features, *extra]))
    frames = cli_data.iter_frames(table, columns, batch_rows)
    predictions = (
        cli_data.prediction_frame(model, f, proba, ids, features, offset) for f in frames
    )
    rows = cli_data.write_frames(predictions, out)
    if out is not None:
        _note(f"{rows} predictions written to {out}")
    if proba:
        from ..stats.modelled import modelled_text

        _note(f"modelled: {modelled_text(model)}; columns proba_<label> follow the classes")


# --------------------------------------------------------------------------- summary
@main.command()
@click.argument("model_file", metavar="MODEL")
@click.option(
    "--cov-type",
    type=click.Choice(COV_TYPES),
    default=None,
    help="HC0/HC1: the robust covariances the model file stored at fit time (default: the "
    "weight type's own, survey or nonrobust).",
)
def summary(model_file, cov_type):
    """Print the summary of the model saved in MODEL."""
    model = _load_model(model_file)
    click.echo(str(model.summary(cov_type=cov_type)))


# --------------------------------------------------------------------------- report
def _report_data(model, table, target, offset=None):
    """(X, y, offset) for the report from ``table``; ``offset``: the offset columns."""
    offset = list(offset or ())
    table.require(offset)
    if model.formula is not None:
        frame = cli_data.read_frame(table)
        return frame, None, cli_data.offset_values(frame, offset)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        table.require([target])
        frame = cli_data.read_frame(table)
        X = frame.drop(columns=[target, *offset]).to_numpy()
        return X, frame[target], cli_data.offset_values(frame, offset)
    names = [str(n) for n in names]
    frame = cli_data.read_frame(table, [*names, target, *offset])
    return frame[names], frame[target], cli_data.offset_values(frame, offset)


@main.command()
@click.argument("model_file", metavar="MODEL")
@click.argument("data")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The HTML file.")
@click.option(
    "--test", metavar="TESTDATA", help="Held-out data: the evaluation uses them instead of DATA."
)
@click.option(
    "--target",
    metavar="COL",
    help="The label column of DATA (and --test); default: the column the model was fitted "
    "on (formula models read their response from the formula).",
)
@_offset_option("The offset column(s) of DATA (and --test), for a model fitted with an offset.")
@click.option(
    "--force", is_flag=True, help="Replace an existing --out file that is not a softlogit report."
)
def report(model_file, data, out, test, target, offset, force):
    """Write the HTML report of the model in MODEL, with DATA as its training data.

    --out may not be MODEL, DATA or TESTDATA; an existing file there must be a softlogit
    report unless --force is given.
    """
    from .report import write_report

    model = _load_model(model_file)
    if model.formula is None and target is None:
        target = getattr(model, "response_name_", None)  # the label column it was fitted on
    if model.formula is None and target is None:
        raise click.UsageError(
            "--target is needed: name the label column of DATA (this model was fitted on "
            "an unnamed label array)"
        )
    if model.formula is not None and target is not None:
        raise click.UsageError(
            f"--target is for models without a formula; this one reads its response from "
            f"{model.formula!r}"
        )
    tables = [cli_data.open_table(data), None if test is None else cli_data.open_table(test)]
    inputs = [("the model file", model_file), *_data_inputs("the data file", tables[0])]
    if tables[1] is not None:
        inputs += _data_inputs("the test data file", tables[1])
    cli_data.check_outputs([("--out", out, "report")], inputs, force)
    _check_report_path(out, "--out")
    _require_offset(model, offset)
    X, y, off = _complete_rows(model, _report_data(model, tables[0], target, offset))
    X_test, y_test, test_off = (None, None, None)
    if test is not None:
        X_test, y_test, test_off = _complete_rows(
            model, _report_data(model, tables[1], target, offset)
        )
    names = {"data_name": _data_name(tables[0])}
    if test is not None:
        names["test_data_name"] = _data_name(tables[1])
    write_report(
        model,
        out,
        X=X,
        y=y,
        X_test=X_test,
        y_test=y_test,
        offset=off,
        test_offset=test_off,
        **names,
    )
    _note(f"report written to {out}")


# --------------------------------------------------------------------------- demo
DEMO_REPORT = "softlogit-demo-report.html"


@main.command()
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=DEMO_REPORT,
    show_default=True,
    help="Where to write the HTML report of the binary (admissions) model.",
)
@click.option("--no-report", is_flag=True, help="Write no report.")
@click.option(
    "--force", is_flag=True, help="Replace an existing file that is not a softlogit report."
)
def demo(report_path, no_report, force):
    """Fit bundled example data by Newton (GLM) and by Adam (network), compare, and write
    the HTML report of the admissions model."""
    from .demo import run_demo

    if not no_report and os.path.splitext(report_path)[1].lower() not in REPORT_EXTENSIONS:
        raise click.BadParameter(
            f"{report_path!r}: the report is an HTML file; name it .html or .htm",
            param_hint="--report",
        )
    if not no_report:
        cli_data.check_outputs([("--report", report_path, "report")], [], force)

    plots = importlib.util.find_spec("matplotlib") is not None
    text, _ = run_demo(report_path=None if no_report or not plots else report_path)
    click.echo(text)
    if not no_report and not plots:
        _note("no report: its plots need matplotlib (pip install softlogit[plot])")
    elif not no_report:
        from ..datasets import load_admissions
        from ..estimators import LogisticRegression

        adm = load_admissions()
        X, y = adm[["gre", "gpa", "rank_2", "rank_3", "rank_4"]], adm["admit"]
        model = LogisticRegression(solver="newton").fit(X, y)
        _write_report(model, report_path, (X, y, None), False, "bundled UCLA admissions")


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="softlogit")
