"""Elastic-net path and 5-fold CV: softlogit against R's glmnet (issue 14), side by side.

Run from the repository root::

    python benchmarks/bench_glmnet.py [--quick] [--only CASE ...] [--repeats N]

Cases (``--only`` takes these names), elastic net with l1_ratio = glmnet's alpha = 0.5:

* ``breast``: scikit-learn's breast cancer, 569 x 30, ``standardize=True`` in both;
* ``wine-grouped``, ``wine-ungrouped``: scikit-learn's wine, 178 x 13, 3 classes, symmetric
  softmax (``reference=None``, glmnet's parameterisation), ``grouped=True`` / ``False``
  (glmnet ``type.multinomial="grouped"`` / ``"ungrouped"``), ``standardize=True`` in both;
* ``gen50k``, ``gen100k``: generated binary 50k x 100 and 100k x 200, raw features (column
  scales log-uniform in [0.5, 2], column means ~ N(0, 0.5^2)), ``standardize`` off in both,
  20 non-zero true coefficients;
* ``sparse``: generated binary CSR 100k x 10k, 0.1% non-zeros (standard-normal values),
  ``standardize`` off in both; glmnet gets the same matrix as a ``dgCMatrix``
  (``--sparse-n``, ``--sparse-p`` shrink it).

The first three are the small cases (``--quick`` runs only those, with 30 alphas); the last
three the large ones. Both sides get softlogit's alpha grid (glmnet's default rule: 100
values from the smallest alpha with all coefficients zero down to 1e-4 of it) as glmnet's
``lambda``: softlogit minimises mean NLL + alpha * (l1_ratio |b|_1 + (1 - l1_ratio)/2 |b|^2),
glmnet -loglik/n + lambda * ((1 - a)/2 |b|^2 + a |b|_1), the same objective, with the same
standardisation of the penalty (1/n variances); the table's ``coef`` column checks it: the
largest coefficient difference along the path over the largest coefficient. CV uses
StratifiedKFold(5, shuffle=True, random_state=0); glmnet gets the same folds as ``foldid``.

Timing: softlogit with ``time.perf_counter`` around ``regularization_path`` and
``LogisticRegressionCV`` / ``SoftmaxRegressionCV(...).fit`` after one warm-up call (numba
compilation and cache loads excluded; the warm-up's own time is printed as ``first``, and
the process's very first call separately). Small cases warm up with the same call, large
ones with the same call on ``--warmup-alphas`` values of the grid spanning it (default 5;
0: the full call), which runs the same kernels on the same data at a fraction of the cost
(a warm-up on a subset of the rows can cost more: fewer rows per feature, harder fits).
``--numba-cache-dir`` points numba at another cache (an empty directory: a fresh machine). glmnet is
timed inside R with ``proc.time()`` around ``glmnet()`` / ``cv.glmnet()`` only (no R
start-up, no file reading; the data are written once as raw binary files). Small cases take
the best of ``--repeats`` runs on both sides, large cases one run (``--repeats-large``).
``cv.glmnet`` fits the whole path on all rows plus the 5 folds; softlogit's CV fits the 5
folds plus one refit at the selected alpha.

glmnet runs twice per task: at a tight ``thresh`` (``--thresh``, default 1e-14), whose
solution is the reference for the agreement checks, and at its default 1e-7, the time a
glmnet user sees. glmnet's threshold is on its own scale: each inner coordinate-descent
loop runs until no coefficient update changes the objective by more than ``thresh`` times
the null deviance, so it is no tolerance on the optimality conditions (at 1e-7 the wine
deviances near the end of the path are percent-wrong; at 1e-14 they agree with softlogit
to about 3e-6). The ratios use the default-threshold time (the faster glmnet, so the harder
target); the tight one is printed too, timed once. ``glmnet.control(fdev=0)`` keeps glmnet
from stopping the path early.

Agreement: ``dev`` is the largest relative difference of the training deviance (-2 loglik)
along the path (target 1e-5); ``alpha`` says whether softlogit's ``alpha_`` equals
``cv.glmnet``'s ``lambda.min`` (``yes``), and if not, whether it equals the minimum of
glmnet's CV curve recomputed on softlogit's scale from ``fit.preval`` (``cv.glmnet`` clips
probabilities to [1e-5, 1 - 1e-5] and weights folds by size; softlogit does neither).

Target (issue 14): softlogit / glmnet <= 1.0 on every case, path and CV, and <= 0.5 on the
large cases. If ``Rscript`` or glmnet is missing, the script tries
``apt-get install -y r-base-core r-cran-glmnet`` (as root; ``--no-install`` skips that) and
otherwise stops with a message.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from bench_common import machine_info
from scipy.special import expit, logsumexp

SEED = 20261202
L1_RATIO = 0.5
N_FOLDS = 5
SMALL = ("breast", "wine-grouped", "wine-ungrouped")
LARGE = ("gen50k", "gen100k", "sparse")
DEFAULT_THRESH = 1e-7  # glmnet's default
DEV_TARGET = 1e-5


@dataclass
class Case:
    name: str
    X: object  # ndarray or CSR
    y: np.ndarray  # integer codes 0 .. K-1
    standardize: bool
    grouped: bool = False

    @property
    def K(self):
        return int(self.y.max()) + 1

    @property
    def large(self):
        return self.name in LARGE


# --------------------------------------------------------------------------- data
def generated(n, p, seed=SEED):
    """Binary data with raw features: scales log-uniform in [0.5, 2], means ~ N(0, 0.5^2)."""
    rng = np.random.default_rng(seed)
    scale = np.exp(rng.uniform(np.log(0.5), np.log(2.0), p))
    shift = rng.normal(0.0, 0.5, p)
    Z = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:20] = rng.normal(0.0, 0.5, 20)
    y = (rng.random(n) < expit(Z @ beta + 0.3)).astype(np.int64)
    Z *= scale
    Z += shift
    return Z, y


def generated_sparse(n=100_000, p=10_000, density=1e-3, seed=SEED):
    """Binary data on a CSR matrix, standard-normal non-zeros; p / 10 features matter."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csr", rng=rng, data_rvs=rng.standard_normal)
    beta = np.zeros(p)
    beta[rng.choice(p, p // 10, replace=False)] = rng.normal(0.0, 1.0, p // 10)
    y = (rng.random(n) < expit(X @ beta - 0.5)).astype(np.int64)
    return X, y


def make_case(name, sparse_shape=(100_000, 10_000)):
    from sklearn.datasets import load_breast_cancer, load_wine

    if name == "breast":
        return Case(name, *load_breast_cancer(return_X_y=True), standardize=True)
    if name.startswith("wine"):
        X, y = load_wine(return_X_y=True)
        return Case(name, X, y, standardize=True, grouped=name == "wine-grouped")
    if name == "gen50k":
        return Case(name, *generated(50_000, 100), standardize=False)
    if name == "gen100k":
        return Case(name, *generated(100_000, 200), standardize=False)
    if name == "sparse":
        return Case(name, *generated_sparse(*sparse_shape), standardize=False)
    raise ValueError(name)


# --------------------------------------------------------------------------- softlogit
def template(case):
    import softlogit as sl

    if case.K == 2:
        return sl.LogisticRegression(standardize=case.standardize)
    return sl.SoftmaxRegression(reference=None, grouped=case.grouped, standardize=case.standardize)


def alpha_grid(case, n_alphas):
    """softlogit's default grid (glmnet's rule) on all rows, computed once, untimed."""
    from softlogit.selection.path import alpha_grid as grid_of
    from softlogit.selection.path import path_setup

    _, spec, family = path_setup(case.X, case.y, template(case), L1_RATIO, None, None)
    return grid_of(spec, family, L1_RATIO, n_alphas)[0]


def cv_estimator(case, grid, splits, n_jobs):
    import softlogit as sl

    common = dict(
        alphas=grid,
        cv=splits,
        l1_ratios=[L1_RATIO],
        penalty="elasticnet",
        standardize=case.standardize,
        n_jobs=n_jobs,
    )
    if case.K == 2:
        return sl.LogisticRegressionCV(**common)
    return sl.SoftmaxRegressionCV(reference=None, grouped=case.grouped, **common)


def timed(fn, warmup, repeats):
    """(the warm-up call's seconds, best of ``repeats`` calls of ``fn``, the last result)."""
    t0 = time.perf_counter()
    out = warmup()
    first = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return first, best, out


def run_softlogit(case, grid, splits, repeats, n_jobs, warmup_alphas):
    """Path and CV, each after a warm-up call: the same call for small cases and with
    ``warmup_alphas=0``, else the same call on a thinned grid of ``warmup_alphas`` values
    spanning the whole grid (the same data: the same kernels, at a fraction of the cost)."""
    from softlogit.selection.path import regularization_path

    thin = grid
    if warmup_alphas and case.large:
        thin = grid[np.unique(np.linspace(0, len(grid) - 1, warmup_alphas).round().astype(int))]
    model = template(case)

    def path(g):
        return lambda: regularization_path(case.X, case.y, model=model, alphas=g, l1_ratio=L1_RATIO)

    def cv(g):
        return lambda: cv_estimator(case, g, splits, n_jobs).fit(case.X, case.y)

    res = {"warmup": "full" if thin is grid else f"{len(thin)} of the alphas"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, best, out = timed(path(grid), path(thin), repeats)
        res.update(path_first=first, path_s=best, path=out)
        first, best, out = timed(cv(grid), cv(thin), repeats)
        res.update(cv_first=first, cv_s=best, cv=out)
    res["warnings"] = summarise_warnings(str(w.message) for w in caught)
    return res


def summarise_warnings(messages):
    counts = {}
    for m in messages:
        key = m.strip().replace("\n", " ")[:110]
        counts[key] = counts.get(key, 0) + 1
    return [f"x{c} {m}" for m, c in counts.items()]


# --------------------------------------------------------------------------- R / glmnet
R_SCRIPT = r"""
suppressPackageStartupMessages({ library(glmnet); library(Matrix) })
d <- "%(dir)s"
rd <- function(name, what, n) {
  con <- file(file.path(d, name), "rb"); on.exit(close(con))
  readBin(con, what, n, size = if (what == "integer") 4L else 8L)
}
n <- %(n)d; p <- %(p)d; L <- %(L)d
if (%(sparse)s) {
  x <- sparseMatrix(i = rd("indices.bin", "integer", %(nnz)d),
                    p = rd("indptr.bin", "integer", p + 1),
                    x = rd("data.bin", "double", %(nnz)d), dims = c(n, p), index1 = FALSE)
} else x <- matrix(rd("x.bin", "double", n * p), n, p)
y <- rd("y.bin", "integer", n)
if ("%(family)s" == "multinomial") y <- factor(y)
lambda <- rd("lambda.bin", "double", L); foldid <- rd("foldid.bin", "integer", n)
invisible(glmnet.control(fdev = 0))
msgs <- character(0)
quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
  msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
best_of <- function(f, r) {
  t <- Inf
  for (i in seq_len(r)) {
    t0 <- proc.time()[["elapsed"]]; out <- quiet(f()); t <- min(t, proc.time()[["elapsed"]] - t0)
  }
  list(t = t, out = out)
}
path <- function(th, mx) function() glmnet(x, y, family = "%(family)s", alpha = %(a)s,
  lambda = lambda, standardize = %(std)s, thresh = th, maxit = mx,
  type.multinomial = "%(tm)s")
cvf <- function(th, mx) function() cv.glmnet(x, y, family = "%(family)s", alpha = %(a)s,
  lambda = lambda, standardize = %(std)s, thresh = th, maxit = mx,
  type.multinomial = "%(tm)s", foldid = foldid, keep = TRUE)
pd <- best_of(path(1e-7, 1e5), %(repeats)d)
cd <- best_of(cvf(1e-7, 1e5), %(repeats)d)
pt <- best_of(path(%(thresh)s, %(maxit)s), 1L)
ct <- best_of(cvf(%(thresh)s, %(maxit)s), 1L)
wb <- function(v, name) writeBin(as.double(v), file.path(d, name))
wb(deviance(pt$out), "dev_tight.bin"); wb(deviance(pd$out), "dev_default.bin")
cf <- coef(pt$out)
if (is.list(cf)) wb(unlist(lapply(cf, as.matrix)), "coef.bin") else wb(as.matrix(cf), "coef.bin")
wb(ct$out$fit.preval, "preval.bin")
cat("path_tight", pt$t, "\npath_default", pd$t, "\ncv_tight", ct$t, "\ncv_default", cd$t,
    "\nlambda_min", format(ct$out$lambda.min, digits = 17),
    "\nlambda_min_default", format(cd$out$lambda.min, digits = 17),
    "\nn_lambda", length(pt$out$lambda), length(ct$out$lambda), "\n",
    file = file.path(d, "out.txt"))
for (m in unique(msgs)) cat("warning:", sum(msgs == m), "x", m, "\n")
"""


def have_glmnet():
    if shutil.which("Rscript") is None:
        return False
    probe = "quit(status = if (requireNamespace('glmnet', quietly = TRUE) && "
    probe += "requireNamespace('Matrix', quietly = TRUE)) 0 else 3)"
    return (
        subprocess.run(["Rscript", "--vanilla", "-e", probe], capture_output=True).returncode == 0
    )


def ensure_glmnet(may_install):
    """Whether R with glmnet and Matrix can run, installing Debian's packages if allowed."""
    if have_glmnet():
        return True
    if not may_install or shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    print("Rscript or glmnet missing: apt-get install -y r-base-core r-cran-glmnet", flush=True)
    install = ["apt-get", "install", "-y", "r-base-core", "r-cran-glmnet"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(install, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env)
        subprocess.run(install, env=env)
    return have_glmnet()


def r_versions():
    code = 'cat(R.version.string, "| glmnet", format(packageVersion("glmnet")), "| Matrix",'
    code += ' format(packageVersion("Matrix")))'
    out = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True)
    return out.stdout.strip()


def write_inputs(d, case, grid, foldid):
    """The data, grid and folds as raw little-endian binaries for R's ``readBin``."""
    if sp.issparse(case.X):
        csc = case.X.tocsc()
        csc.sort_indices()
        csc.indices.astype("<i4").tofile(d / "indices.bin")
        csc.indptr.astype("<i4").tofile(d / "indptr.bin")
        csc.data.astype("<f8").tofile(d / "data.bin")
    else:
        np.asarray(case.X, dtype="<f8").T.tofile(d / "x.bin")  # column-major for R
    case.y.astype("<i4").tofile(d / "y.bin")
    np.asarray(grid, dtype="<f8").tofile(d / "lambda.bin")
    (foldid + 1).astype("<i4").tofile(d / "foldid.bin")


def run_glmnet(case, grid, foldid, repeats, thresh, maxit, workdir):
    d = Path(tempfile.mkdtemp(prefix=f"glmnet_{case.name}_", dir=workdir))
    write_inputs(d, case, grid, foldid)
    n, p = case.X.shape
    script = R_SCRIPT % dict(
        dir=str(d),
        n=n,
        p=p,
        L=len(grid),
        sparse="TRUE" if sp.issparse(case.X) else "FALSE",
        nnz=case.X.nnz if sp.issparse(case.X) else 0,
        family="binomial" if case.K == 2 else "multinomial",
        tm="grouped" if case.grouped else "ungrouped",
        a=repr(L1_RATIO),
        std="TRUE" if case.standardize else "FALSE",
        thresh=repr(thresh),
        maxit=repr(float(maxit)),
        repeats=repeats,
    )
    (d / "run.R").write_text(script)
    proc = subprocess.run(
        ["Rscript", "--vanilla", str(d / "run.R")], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = {}
    for line in (d / "out.txt").read_text().splitlines():
        key, *vals = line.split()
        out[key] = [float(v) for v in vals]
    out["warnings"] = [ln[len("warning: ") :] for ln in proc.stdout.splitlines() if ln]
    out.update(read_outputs(d, case, len(grid)))
    shutil.rmtree(d, ignore_errors=True)
    return out


def read_outputs(d, case, L):
    n, p = case.X.shape
    K = case.K
    out = {name: np.fromfile(d / f"dev_{name}.bin") for name in ("tight", "default")}
    coef = np.fromfile(d / "coef.bin")
    preval = np.fromfile(d / "preval.bin")
    if K == 2:
        out["coef"] = coef.reshape(-1, p + 1)[:, None, 1:]  # (L, 1, p)
        out["preval"] = preval.reshape(L, n).T  # linear predictor, (n, L)
    else:
        out["coef"] = coef.reshape(K, -1, p + 1)[:, :, 1:].transpose(1, 0, 2)  # (L, K, p)
        out["preval"] = preval.reshape(L, K, n).transpose(2, 1, 0)  # (n, K, L)
    return {"dev_" + k if k in ("tight", "default") else k: v for k, v in out.items()}


# --------------------------------------------------------------------------- agreement
def preval_curve(case, preval, foldid):
    """glmnet's CV curve on softlogit's scale from ``fit.preval`` (out-of-fold linear
    predictors): per-fold mean held-out cross-entropy, folds weighted equally, no clipping."""
    if case.K == 2:
        y = case.y[:, None]
        loss = np.logaddexp(0.0, preval) - y * preval
    else:
        loss = logsumexp(preval, axis=1) - preval[np.arange(len(case.y)), case.y, :]
    return np.mean([loss[foldid == f].mean(axis=0) for f in range(N_FOLDS)], axis=0)


def agreement(case, grid, sl, gl, foldid):
    path, cv = sl["path"], sl["cv"]
    L = min(len(grid), len(gl["dev_tight"]))
    dev = np.abs(path.deviance[:L] - gl["dev_tight"][:L]) / np.abs(gl["dev_tight"][:L])
    dev_default = np.abs(path.deviance[:L] - gl["dev_default"][:L]) / np.abs(gl["dev_default"][:L])
    ref = gl["coef"][:L]
    coef = float(np.max(np.abs(path.coefs[:L] - ref)) / np.max(np.abs(ref)))
    curve = preval_curve(case, gl["preval"], foldid)
    a_sl = float(cv.alpha_)
    a_gl = gl["lambda_min"][0]
    a_gl_ours = float(grid[np.nanargmin(curve)])
    agree = "yes" if np.isclose(a_sl, a_gl, rtol=1e-12) else "NO"
    if agree == "NO" and np.isclose(a_sl, a_gl_ours, rtol=1e-12):
        agree = "curve"  # equal to glmnet's curve on softlogit's scale
    cv_curve = np.abs(cv.cv_mean_[0] - curve) / np.abs(curve)
    return dict(
        dev=float(dev.max()),
        dev_at=int(dev.argmax()),
        dev_default=float(dev_default.max()),
        coef=coef,
        cv_curve=float(np.nanmax(cv_curve)),
        alpha_sl=a_sl,
        alpha_gl=a_gl,
        alpha_gl_default=gl["lambda_min_default"][0],
        alpha_gl_ours=a_gl_ours,
        agree=agree,
        n_lambda=gl["n_lambda"],
    )


# --------------------------------------------------------------------------- report
def target_of(case):
    return 0.5 if case.large else 1.0


def print_table(rows):
    head = (
        f"{'case':<16}{'path sl s':>10}{'glmnet s':>10}{'ratio':>8}{'CV sl s':>10}"
        f"{'glmnet s':>10}{'ratio':>8}{'dev rel':>10}{'alpha':>7}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for case, sl, gl, ag in rows:
        print(
            f"{case.name:<16}{sl['path_s']:>10.3f}{gl['path_default'][0]:>10.3f}"
            f"{sl['path_s'] / gl['path_default'][0]:>7.2f}x{sl['cv_s']:>10.3f}"
            f"{gl['cv_default'][0]:>10.3f}{sl['cv_s'] / gl['cv_default'][0]:>7.2f}x"
            f"{ag['dev']:>10.1e}{ag['agree']:>7}"
        )
    print("glmnet s: at its default thresh 1e-7 (the ratios' denominator)")
    head = (
        f"{'case':<16}{'first path':>11}{'first CV':>10}{'gl path':>9}{'gl CV':>9}"
        f"{'dev@1e-7':>10}{'coef':>9}{'cv curve':>10}  alpha_ softlogit / lambda.min "
        "(tight, default) / glmnet curve min"
    )
    print(f"\nglmnet at the tight thresh (the reference); softlogit's first calls\n{head}")
    for case, sl, gl, ag in rows:
        print(
            f"{case.name:<16}{sl['path_first']:>11.3f}{sl['cv_first']:>10.3f}"
            f"{gl['path_tight'][0]:>9.3f}{gl['cv_tight'][0]:>9.3f}{ag['dev_default']:>10.1e}"
            f"{ag['coef']:>9.1e}{ag['cv_curve']:>10.1e}  {ag['alpha_sl']:.5g} / "
            f"{ag['alpha_gl']:.5g}, {ag['alpha_gl_default']:.5g} / {ag['alpha_gl_ours']:.5g}"
        )


def print_targets(rows):
    print("\nTargets: softlogit / glmnet (default thresh) <= 1.0 everywhere, <= 0.5 large")
    for case, sl, gl, ag in rows:
        t = target_of(case)
        path = sl["path_s"] / gl["path_default"][0]
        cv = sl["cv_s"] / gl["cv_default"][0]
        ok = ["met" if r <= t else "NOT met" for r in (path, cv)]
        dev_ok = "ok" if ag["dev"] <= DEV_TARGET else "NOT ok"
        print(
            f"  {case.name:<16} target {t:.1f}: path {path:6.2f}x {ok[0]:<8} CV {cv:6.2f}x "
            f"{ok[1]:<8} deviance {ag['dev']:.1e} ({dev_ok}, worst at alpha #{ag['dev_at']}), "
            f"alpha agrees: {ag['agree']}"
        )


def run_case(name, args):
    from sklearn.model_selection import StratifiedKFold

    case = make_case(name, (args.sparse_n, args.sparse_p))
    n_alphas = args.n_alphas or (30 if args.quick else 100)
    repeats = args.repeats_large if case.large else args.repeats
    grid = alpha_grid(case, n_alphas)
    splits = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(case.X, case.y))
    foldid = np.empty(len(case.y), dtype=np.int64)
    for f, (_, test) in enumerate(splits):
        foldid[test] = f
    kind = "CSR" if sp.issparse(case.X) else "dense"
    print(
        f"\n== {name}: n={case.X.shape[0]}, p={case.X.shape[1]} ({kind}), K={case.K}, "
        f"standardize={case.standardize}, grouped={case.grouped}, {n_alphas} alphas "
        f"{grid[0]:.4g} .. {grid[-1]:.4g}, repeats={repeats}",
        flush=True,
    )
    sl = run_softlogit(case, grid, splits, repeats, args.n_jobs, args.warmup_alphas)
    print(
        f"  softlogit: path {sl['path_s']:.3f} s, CV {sl['cv_s']:.3f} s (warm-up calls, "
        f"{sl['warmup']}: path {sl['path_first']:.3f} s, CV {sl['cv_first']:.3f} s)",
        flush=True,
    )
    gl = run_glmnet(case, grid, foldid, repeats, args.thresh, args.maxit, args.data_dir)
    print(
        f"  glmnet: path {gl['path_default'][0]:.3f} s (tight {gl['path_tight'][0]:.3f} s), "
        f"CV {gl['cv_default'][0]:.3f} s (tight {gl['cv_tight'][0]:.3f} s)",
        flush=True,
    )
    fitted = [int(k) for k in gl["n_lambda"]]
    if min(fitted) < len(grid):
        print(f"  NOTE: glmnet (tight) returned {fitted} of {len(grid)} lambdas (path, CV)")
    for w in sl["warnings"]:
        print(f"  warning [softlogit] {w}")
    for w in gl["warnings"]:
        print(f"  warning [glmnet] {w}")
    return case, sl, gl, agreement(case, grid, sl, gl, foldid)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only, 30 alphas")
    parser.add_argument("--only", nargs="+", choices=SMALL + LARGE, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="small cases (default 5)")
    parser.add_argument("--repeats-large", type=int, default=1)
    parser.add_argument("--n-alphas", type=int, default=None)
    parser.add_argument("--thresh", type=float, default=1e-14, help="glmnet's tight thresh")
    parser.add_argument("--maxit", type=float, default=1e7, help="glmnet's maxit when tight")
    parser.add_argument("--n-jobs", type=int, default=None, help="softlogit CV folds")
    parser.add_argument(
        "--warmup-alphas",
        type=int,
        default=5,
        help="large cases warm up on this many alphas of the grid (0: the full call)",
    )
    parser.add_argument("--sparse-n", type=int, default=100_000, help="rows of 'sparse'")
    parser.add_argument("--sparse-p", type=int, default=10_000, help="columns of 'sparse'")
    parser.add_argument("--data-dir", default=None, help="where the R inputs are written")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument(
        "--numba-cache-dir", default=None, help="NUMBA_CACHE_DIR (an empty one: a fresh cache)"
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.numba_cache_dir:
        os.environ["NUMBA_CACHE_DIR"] = args.numba_cache_dir  # before numba is imported
    names = args.only or (SMALL if args.quick else SMALL + LARGE)
    if not ensure_glmnet(not args.no_install):
        print(
            "SKIPPED: Rscript with the glmnet and Matrix packages is not available and could "
            "not be installed (apt-get install -y r-base-core r-cran-glmnet needs root)."
        )
        return 0
    t0 = time.perf_counter()
    import softlogit  # noqa: F401  (import time apart from the first calls)

    print("\n".join(machine_info(["sklearn", "numba"])))
    print(f"import softlogit: {time.perf_counter() - t0:.2f} s; {r_versions()}")
    print(f"cases {list(names)}; glmnet tight thresh {args.thresh:g}, maxit {args.maxit:g}")
    rows = [run_case(name, args) for name in names]
    case, sl = rows[0][:2]
    print(
        f"\nfirst call in this process (numba compilation or cache load included): path "
        f"{sl['path_first']:.3f} s on {case.name} ({sl['warmup']})"
    )
    print_table(rows)
    print_targets(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
