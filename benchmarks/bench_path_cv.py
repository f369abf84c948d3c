"""Path + CV benchmark (issue 4): softlogit against scikit-learn and glum.

Run from the repository root::

    python benchmarks/bench_path_cv.py [--quick] [--n N] [--p P] [--n-alphas K] [--skip-sklearn]

A 100-alpha elastic-net path (l1_ratio = 0.5) with 5-fold CV, then a refit at the selected
alpha, on two generated problems (numpy default_rng, fixed seed, standard-normal features):

1. binary, n = 100_000, p = 200, 20 non-zero true coefficients ~ N(0, 0.5^2);
2. multinomial, n = 100_000, p = 50, K = 5, 10 non-zero features per class ~ N(0, 0.5^2).

Contenders, in one process, on the same data and the same StratifiedKFold(5, shuffle=True,
random_state=0) splits, each timed once (time.perf_counter, fit only), all folds serial:

* softlogit LogisticRegressionCV / SoftmaxRegressionCV (reference=None, the symmetric
  parameterisation scikit-learn uses), glmnet's grid of ``--n-alphas`` values (eps = 1e-4);
* scikit-learn LogisticRegressionCV(solver="saga"), Cs = 1 / (n_train * alpha) on the same
  grid, selected by neg_log_loss;
* glum GeneralizedLinearRegressorCV(family="binomial") on the same grid (binary only; glum's
  objective deviance / (2n) + alpha * penalty is softlogit's, so the alphas are equal).

All three minimise mean NLL + alpha * (l1_ratio * |b|_1 + (1 - l1_ratio) / 2 * |b|^2) with an
unpenalised intercept. softlogit's grid is computed inside its timed fit and then reused by
the peers. glum refits the whole path on all rows, the others only the selected alpha.

Columns: seconds; ratio to the fastest peer; the selected alpha on softlogit's scale
(scikit-learn: 1 / (C_ * mean n_train)); the CV curve's minimum (mean held-out log-loss);
the refitted model's log-loss on 20k fresh test rows from the same model. ``--quick``
divides n by 10 and uses 20 alphas.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from bench_common import machine_info
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV as SkLogitCV
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

import softlogit

try:
    import glum
except ImportError:  # optional peer
    glum = None

SEED = 20240604
N_TEST = 20_000
L1_RATIO = 0.5


# --------------------------------------------------------------------------- data
def make_problem(n, p, K, n_active, seed=SEED):
    """Train (n rows) and test (N_TEST rows) sets from one sparse logistic/softmax model."""
    rng = np.random.default_rng(seed)
    m = 1 if K == 2 else K
    B = np.zeros((m, p))
    B[:, :n_active] = rng.normal(0.0, 0.5, (m, n_active))
    b = rng.normal(0.0, 0.5, m)
    X = rng.standard_normal((n + N_TEST, p))
    eta = X @ B.T + b
    if K == 2:
        y = (rng.random(n + N_TEST) < expit(eta[:, 0])).astype(np.int64)
    else:
        cum = softmax(eta, axis=1).cumsum(axis=1)
        y = np.minimum((cum < rng.random((n + N_TEST, 1))).sum(axis=1), K - 1)
    return X[:n], y[:n], X[n:], y[n:]


# --------------------------------------------------------------------------- contenders
# Each returns (test probabilities (n_test, K), selected alpha, CV-curve minimum).
def fit_softlogit(X, y, Xt, K, n_alphas, splits, grid_out):
    common = dict(n_alphas=n_alphas, cv=splits, l1_ratios=[L1_RATIO], penalty="elasticnet")
    if K == 2:
        m = softlogit.LogisticRegressionCV(random_state=0, **common)
    else:
        m = softlogit.SoftmaxRegressionCV(random_state=0, reference=None, **common)
    t0 = time.perf_counter()
    m.fit(X, y)
    seconds = time.perf_counter() - t0
    grid_out.append(m.alphas_[0])
    return seconds, m.predict_proba(Xt), m.alpha_, float(m.cv_mean_.min())


def fit_sklearn(X, y, Xt, grid, splits):
    n_train = np.mean([len(tr) for tr, _ in splits])
    Cs = list(1.0 / (n_train * grid))  # increasing C: warm starts down the alpha grid
    m = SkLogitCV(
        Cs=Cs,
        l1_ratios=[L1_RATIO],
        cv=splits,
        solver="saga",
        scoring="neg_log_loss",
        max_iter=1000,
        tol=1e-4,
        random_state=0,
        use_legacy_attributes=False,
    )
    t0 = time.perf_counter()
    m.fit(X, y)
    seconds = time.perf_counter() - t0
    cv_min = float(-m.scores_.mean(axis=0).max())
    return seconds, m.predict_proba(Xt), 1.0 / (float(m.C_) * n_train), cv_min


def fit_glum(X, y, Xt, grid, splits):
    m = glum.GeneralizedLinearRegressorCV(
        family="binomial", l1_ratio=L1_RATIO, alphas=grid, cv=splits, n_jobs=None
    )
    Xf = np.asfortranarray(X)  # glum's irls-cd wants Fortran order (prepared untimed)
    t0 = time.perf_counter()
    m.fit(Xf, y)
    seconds = time.perf_counter() - t0
    mu = m.predict(Xt)
    cv_min = float(m.deviance_path_.mean(axis=0).min()) / 2.0  # mean deviance = 2 * log-loss
    return seconds, np.column_stack([1.0 - mu, mu]), float(m.alpha_), cv_min


# --------------------------------------------------------------------------- running
def run_problem(title, n, p, K, n_active, n_alphas, skip_sklearn):
    X, y, Xt, yt = make_problem(n, p, K, n_active)
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    print(f"\n== {title}  (train n={n}, test n={N_TEST}, {n_alphas} alphas, 5 folds)")
    grid = []
    jobs = [("softlogit", lambda: fit_softlogit(X, y, Xt, K, n_alphas, splits, grid))]
    if not skip_sklearn:
        jobs.append(("sklearn saga", lambda: fit_sklearn(X, y, Xt, grid[0], splits)))
    if K == 2 and glum is not None:
        jobs.append(("glum irls-cd", lambda: fit_glum(X, y, Xt, grid[0], splits)))
    rows = {}
    for name, job in jobs:
        print(f"  running {name} ...", flush=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seconds, proba, alpha, cv_min = job()
        notes = {}
        for w in caught:
            key = f"{w.category.__name__}: {str(w.message)[:100]}"
            notes[key] = notes.get(key, 0) + 1
        rows[name] = dict(
            seconds=seconds,
            alpha=alpha,
            cv_min=cv_min,
            test=log_loss(yt, proba, labels=np.arange(K)),
            notes=notes,
        )
        print(f"  {name}: {seconds:.2f} s", flush=True)
    report(rows, grid[0])


def report(rows, grid):
    peers = [k for k in rows if k != "softlogit"]
    fastest = min(peers, key=lambda k: rows[k]["seconds"]) if peers else None
    t_peer = rows[fastest]["seconds"] if fastest else np.nan
    print(f"alpha grid: {grid[0]:.4g} .. {grid[-1]:.4g} (l1_ratio = {L1_RATIO})")
    head = f"{'contender':<15}{'seconds':>10}{'ratio':>9}{'alpha':>12}"
    print(head + f"{'cv log-loss':>14}{'test log-loss':>15}")
    for name, r in rows.items():
        ratio = f"{r['seconds'] / t_peer:>8.2f}x" if fastest else f"{'-':>9}"
        print(
            f"{name:<15}{r['seconds']:>10.2f}{ratio}{r['alpha']:>12.4g}"
            f"{r['cv_min']:>14.6f}{r['test']:>15.6f}"
        )
    for name, r in rows.items():
        for key, count in r["notes"].items():
            print(f"  warning [{name}] x{count} {key}")
    if fastest is None:
        print("softlogit / fastest peer = n/a (no peer ran)")
    else:
        ratio = rows["softlogit"]["seconds"] / t_peer
        print(f"softlogit / fastest peer = {ratio:.2f}x (target <= 0.33; peer: {fastest})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n / 10 and 20 alphas")
    parser.add_argument("--n", type=int, default=None, help="training rows (both problems)")
    parser.add_argument("--p", type=int, default=None, help="features of the binary problem")
    parser.add_argument("--n-alphas", type=int, default=None)
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--only", choices=["binary", "multinomial"], default=None)
    args = parser.parse_args(argv)
    n = args.n or (10_000 if args.quick else 100_000)
    p = args.p or 200
    n_alphas = args.n_alphas or (20 if args.quick else 100)
    print("\n".join(machine_info(["sklearn", "glum"])))
    print(f"quick = {args.quick}, skip_sklearn = {args.skip_sklearn}, glum = {glum is not None}")
    warnings.simplefilter("default", ConvergenceWarning)
    if args.only in (None, "binary"):
        run_problem(f"binary n={n}, p={p}", n, p, 2, 20, n_alphas, args.skip_sklearn)
    if args.only in (None, "multinomial"):
        run_problem(f"multinomial n={n}, p=50, K=5", n, 50, 5, 10, n_alphas, args.skip_sklearn)


if __name__ == "__main__":
    main()
