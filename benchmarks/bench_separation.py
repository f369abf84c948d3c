"""Separation-screen benchmark: what the check for (quasi-)complete separation adds to an
unpenalised fit.

Run from the repository root::

    python benchmarks/bench_separation.py [--repeat N] [--quick] [--no-old]

Data (numpy default_rng, fixed seed): standard-normal features, p = 50, labels drawn from a
logistic model whose linear predictor has standard deviation 8, so that many fitted
probabilities lie within 1e-6 of 0 or 1 (the screen's trigger) although the classes
overlap and the MLE exists; n = 10k, 50k, 100k (above 50k rows the trigger is 1e-12). Then
the same with a hard split added (x0 shifted by 8 in class 1: complete separation) and a
three-class softmax, to show the separated and multinomial cases.

For each data set, in this process, best of ``--repeat`` (time.perf_counter):

- ``fit``: ``LogisticRegression().fit`` / ``SoftmaxRegression().fit`` as shipped (the
  certificate of existence, then the LP only when it fails);
- ``certificate``: the time spent in ``certify_existence`` within that fit;
- ``no screen``: the same fit with the separation diagnosis switched off (the floor);
- ``old``: the same fit with the certificate and row generation switched off, so the whole
  LP runs whenever triggered (the behaviour before); ``--no-old`` skips it (it takes
  seconds).

The fit time must not fall as n grows, and the certificate must be a small share of it.

A second table times ``find_separation`` alone (what ``check_separation`` runs before a
fit, and a fit when the certificate cannot decide) on the same data: as shipped (a large
LP's verdict first by row generation, the whole LPs only for the report of a separation)
and with row generation off (``old``, best of 1).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from bench_common import machine_info

import softlogit as sl
from softlogit.model import fitting, separation

SEED = 20261202


def make_problem(n, p, n_classes=2, split=False, scale=8.0, seed=SEED):
    """Strong but finite effects (linear predictor sd ``scale``); ``split`` shifts x0 by
    8 in the last class: complete separation."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    B = rng.standard_normal((n_classes - 1, p))
    B *= scale / np.linalg.norm(B, axis=1, keepdims=True)
    eta = np.column_stack([np.zeros(n), X @ B.T])
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    y = np.minimum((prob.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1), n_classes - 1)
    if split:
        X[:, 0] += 8.0 * (y == n_classes - 1) - 4.0
    return X, y


class Probe:
    """Wraps ``fitting.certify_existence`` and ``fitting.find_separation`` to time them and
    count calls; ``mode`` switches the screen: "shipped", "old" (no certificate, the full LP
    when triggered) or "none" (no separation diagnosis at all)."""

    def __init__(self):
        self.certify, self.lp = fitting.certify_existence, fitting.find_separation
        self.diagnose = fitting._diagnose_separation
        self.row_generation = separation.ROW_GENERATION_MIN
        self.spent = {"certificate": 0.0, "lp": 0.0, "lp calls": 0}
        fitting.certify_existence = self._certify
        fitting.find_separation = self._lp

    def _certify(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.certify(*args, **kwargs)
        self.spent["certificate"] += time.perf_counter() - start
        return out

    def _lp(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.lp(*args, **kwargs)
        self.spent["lp"] += time.perf_counter() - start
        self.spent["lp calls"] += 1
        return out

    def set_mode(self, mode):
        fitting.certify_existence = (lambda *a, **k: False) if mode == "old" else self._certify
        separation.ROW_GENERATION_MIN = np.inf if mode == "old" else self.row_generation
        fitting._diagnose_separation = (
            (lambda *a, **k: (None, False)) if mode == "none" else self.diagnose
        )

    def time_fit(self, make_model, X, y, mode, repeat):
        """Best fit time of ``repeat`` in ``mode``, with the screen's parts of that run."""
        self.set_mode(mode)
        best = None
        for _ in range(repeat):
            self.spent = {"certificate": 0.0, "lp": 0.0, "lp calls": 0}
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make_model().fit(X, y)
            elapsed = time.perf_counter() - start
            if best is None or elapsed < best[0]:
                best = (elapsed, dict(self.spent), model)
        self.set_mode("shipped")
        return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per mode (best of)")
    parser.add_argument("--quick", action="store_true", help="n / 10 for a smoke run")
    parser.add_argument("--no-old", action="store_true", help="skip the full-LP timings")
    args = parser.parse_args()
    print("\n".join(machine_info(())))
    div = 10 if args.quick else 1
    cases = [(f"binary n={n // div}", n // div, 2, False) for n in (10_000, 50_000, 100_000)]
    cases += [
        (f"binary separated n={10_000 // div}", 10_000 // div, 2, True),
        (f"softmax K=3 n={20_000 // div}", 20_000 // div, 3, False),
    ]
    probe = Probe()
    warm_X, warm_y = make_problem(500, 50)
    sl.LogisticRegression().fit(warm_X, warm_y)  # imports and first calls out of the way
    header = (
        f"{'case (p = 50)':28s} {'fit s':>8s} {'certif. s':>9s} {'share':>6s} "
        f"{'no screen s':>11s} {'old s':>8s} {'old LP s':>8s} {'old/fit':>7s}  outcome"
    )
    print(header)
    for name, n, K, split in cases:
        X, y = make_problem(n, 50, K, split)

        def make_model(K=K):
            return sl.LogisticRegression() if K == 2 else sl.SoftmaxRegression()

        fit_s, spent, model = probe.time_fit(make_model, X, y, "shipped", args.repeat)
        floor_s = probe.time_fit(make_model, X, y, "none", args.repeat)[0]
        old = None if args.no_old else probe.time_fit(make_model, X, y, "old", min(2, args.repeat))
        outcome = "separated" if model.separation_ is not None else "MLE exists"
        outcome += f", LP calls {spent['lp calls']}"
        old_s = f"{old[0]:8.3f} {old[1]['lp']:8.3f} {old[0] / fit_s:7.1f}" if old else " " * 25
        print(
            f"{name:28s} {fit_s:8.3f} {spent['certificate']:9.4f} "
            f"{spent['certificate'] / fit_s:6.1%} {floor_s:11.3f} {old_s}  {outcome}"
        )
    print(
        f"\n{'find_separation (p = 50)':28s} {'now s':>8s} {'old s':>8s} {'old/now':>7s}  outcome"
    )
    for name, n, K, split in cases:
        X, y = make_problem(n, 50, K, split)
        now_s, found = best_of(args.repeat, lambda X=X, y=y, K=K: sl.find_separation(X, y, K))
        old_s = ""
        if not args.no_old:
            saved = separation.ROW_GENERATION_MIN
            separation.ROW_GENERATION_MIN = np.inf
            try:
                t = best_of(1, lambda X=X, y=y, K=K: sl.find_separation(X, y, K))[0]
            finally:
                separation.ROW_GENERATION_MIN = saved
            old_s = f"{t:8.3f} {t / now_s:7.1f}"
        verdict = "separated" if found.separated else "MLE exists"
        print(f"{name:28s} {now_s:8.3f} {old_s:16s}  {verdict}")


def best_of(repeat, run):
    """The best time of ``repeat`` calls of ``run`` and its last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return best, out


if __name__ == "__main__":
    main()
