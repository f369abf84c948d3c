"""Fit-time benchmark: softlogit against scikit-learn and statsmodels.

Run from the repository root::

    python benchmarks/bench_fit.py [--quick] [--repeat N]

Two unpenalised maximum-likelihood problems are generated once (numpy default_rng, fixed
seed, standard-normal features, coefficients ~ N(0, 0.3^2), so no separation):

1. binary logistic regression, n = 200_000, p = 50;
2. multinomial (softmax) regression, n = 50_000, p = 20, K = 5.

``--quick`` divides n by 10 for a smoke run. Every contender is fitted in this process on
the same data with tight tolerances; each timing is the best of ``--repeat`` runs
(time.perf_counter). The table reports the seconds, the ratio to the fastest *peer*
(scikit-learn lbfgs, scikit-learn newton-cholesky, statsmodels), the final mean NLL computed
by one shared helper from each contender's coefficients, and the largest absolute
coefficient difference to softlogit Newton, all in the reference-class (first class)
parameterisation.

Caveat: statsmodels' time includes the inverse Hessian (standard errors), softlogit's does
not (they are computed on demand by ``coef_table()``; ``bench_scale.py`` times them too);
scikit-learn computes no standard errors.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import statsmodels.api as sm
from bench_common import machine_info, mean_nll
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression as SkLogit

import softlogit

SEED = 20240601
PEERS = ("sklearn lbfgs", "sklearn newton-cholesky", "statsmodels newton")


# --------------------------------------------------------------------------- data
def make_problem(n, p, K, seed=SEED):
    """Standard-normal X and labels drawn from a softmax model (K = 2: logistic)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    B = rng.standard_normal((K - 1, p)) * 0.3
    b = rng.standard_normal(K - 1) * 0.3
    eta = np.column_stack([np.zeros(n), X @ B.T + b])
    prob = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
    u = rng.random((n, 1))
    y = np.minimum((prob.cumsum(axis=1) < u).sum(axis=1), K - 1)
    return X, y


# --------------------------------------------------------------------------- shared loss


# --------------------------------------------------------------------------- contenders
# Each contender: fit(X, y, Xc) -> (coef (K-1, p), intercept (K-1,)) in reference form.
def softlogit_fit(solver):
    def fit(X, y, Xc):
        K = np.unique(y).size
        if K == 2:
            m = softlogit.LogisticRegression(solver=solver, tol=1e-8)
        else:
            m = softlogit.SoftmaxRegression(solver=solver, reference="first", tol=1e-8)
        m.fit(X, y)
        return m.coef_, m.intercept_

    return fit


def sklearn_fit(solver):
    def fit(X, y, Xc):
        m = SkLogit(C=np.inf, solver=solver, tol=1e-8, max_iter=10_000).fit(X, y)
        if m.coef_.shape[0] == 1:
            return m.coef_, m.intercept_
        return m.coef_[1:] - m.coef_[0], m.intercept_[1:] - m.intercept_[0]

    return fit


def statsmodels_fit(X, y, Xc):
    """Xc is X with a trailing column of ones (built outside the timed region)."""
    K = np.unique(y).size
    model = sm.Logit(y, Xc) if K == 2 else sm.MNLogit(y, Xc)
    res = model.fit(method="newton", tol=1e-10, maxiter=100, disp=0)
    params = np.asarray(res.params).reshape(Xc.shape[1], -1).T  # (K-1, p+1)
    return params[:, :-1], params[:, -1]


CONTENDERS = {
    "softlogit newton": softlogit_fit("newton"),
    "softlogit lbfgs": softlogit_fit("lbfgs"),
    "sklearn lbfgs": sklearn_fit("lbfgs"),
    "sklearn newton-cholesky": sklearn_fit("newton-cholesky"),
    "statsmodels newton": statsmodels_fit,
}


# --------------------------------------------------------------------------- timing
def best_of(fn, repeat, *args):
    """Best wall time over ``repeat`` runs and the result of the last run."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_problem(X, y, repeat):
    Xc = np.column_stack([X, np.ones(X.shape[0])])
    rows = {}
    for name, fn in CONTENDERS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seconds, (coef, intercept) = best_of(fn, repeat, X, y, Xc)
        coef, intercept = np.atleast_2d(coef), np.atleast_1d(intercept)
        rows[name] = dict(
            seconds=seconds,
            coef=np.column_stack([coef, intercept]),
            nll=mean_nll(X, y, coef, intercept),
            warnings=sorted({f"{w.category.__name__}: {str(w.message)[:90]}" for w in caught}),
        )
    return rows


# --------------------------------------------------------------------------- report


def report(title, rows):
    fastest_peer = min(PEERS, key=lambda k: rows[k]["seconds"])
    t_peer = rows[fastest_peer]["seconds"]
    ref = rows["softlogit newton"]["coef"]
    print(f"\n== {title}  (fastest peer: {fastest_peer})")
    print(f"{'contender':<25}{'seconds':>10}{'ratio':>9}{'mean NLL':>22}{'max|dcoef|':>13}")
    for name, r in rows.items():
        dcoef = float(np.max(np.abs(r["coef"] - ref)))
        print(
            f"{name:<25}{r['seconds']:>10.3f}{r['seconds'] / t_peer:>8.2f}x"
            f"{r['nll']:>22.15f}{dcoef:>13.2e}"
        )
    for name, r in rows.items():
        for w in r["warnings"]:
            print(f"  warning [{name}] {w}")
    ratio = rows["softlogit newton"]["seconds"] / t_peer
    print(f"softlogit newton / fastest peer = {ratio:.2f}x (target <= 1.00)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per contender (best of)")
    parser.add_argument("--quick", action="store_true", help="n / 10 for a fast smoke run")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    print("\n".join(machine_info(["sklearn", "statsmodels"])))
    print(f"repeat = {args.repeat} (best of), quick = {args.quick}")
    print("note: softlogit times exclude standard errors (bench_scale.py times them); statsmodels'")
    print("      include its inverse Hessian; sklearn computes none.")
    problems = [
        (f"binary n={200_000 // scale}, p=50, unpenalised", 200_000 // scale, 50, 2),
        (f"multinomial n={50_000 // scale}, p=20, K=5, unpenalised", 50_000 // scale, 20, 5),
    ]
    for title, n, p, K in problems:
        X, y = make_problem(n, p, K)
        report(title, run_problem(X, y, args.repeat))


if __name__ == "__main__":
    main()
