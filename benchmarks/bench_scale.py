"""Scale benchmark: softlogit in memory, across n, out of core (Parquet) and on Dask.

Run from the repository root::

    python benchmarks/bench_scale.py                      # every section, full size
    python benchmarks/bench_scale.py --quick              # sizes / 10-20, one run each (~1-2 min)
    python benchmarks/bench_scale.py --only inmemory      # one or more of
                                                          # inmemory,scaling,stream,dask

Sections
--------
1. ``inmemory``: unpenalised fits of the same generated data (binary n=200k p=50, binary
   n=1M p=100, multinomial n=200k p=50 K=10) by softlogit (default solver; its time includes
   ``coef_table()``, i.e. the standard errors), scikit-learn lbfgs and newton-cholesky
   (``C=inf``), statsmodels Logit/MNLogit newton and GLM Binomial IRLS (binary; both
   times include ``.bse``) and glum (binary, ``alpha=0``, default solver). Each contender
   runs in a fresh subprocess that regenerates the data (same seed, so identical): timings
   are independent, and the peak resident memory of the fit is measured above the baseline
   after imports + data (the kernel's high-water mark, reset through
   ``/proc/self/clear_refs``; a 5 ms psutil sampler where that is unavailable). Memory that
   a contender needs to prepare its input (statsmodels' column of ones) counts; its time
   does not. Each timing is the best of ``--repeat`` runs, one run for fits slower than
   ``--slow-s``. softlogit's row also gets its floor, measured in its process: the passes
   its fit made over the rows (counted, a subsample's in its share of the rows) times one
   read of ``X`` (``X @ v``), plus one Hessian (a ``dsyrk`` of the scaled ``X``, the
   multinomial's scaled to its ``n q^2 K(K-1)/2`` multiply-adds); fit / floor aims at 2.
2. ``scaling``: softlogit (``--scaling-sklearn``: also scikit-learn lbfgs) on binary p=50,
   n = 1e4 ... ``--max-n`` (4e6): seconds and microseconds per row.
3. ``stream``: a Parquet file of ``--stream-n`` rows x 50 features (written chunk by chunk
   in row groups, cached in ``--data-dir``) fitted by ``softlogit.scan_parquet`` in a fresh
   process: seconds, peak RSS (target < 1 GiB), passes over the file (counted by wrapping
   ``StreamSource.reduce`` and ``TableScan.describe``), and fit time / (passes x the time
   of one full pyarrow read converted to numpy) (target <= 2). With ``--stream-n`` <=
   ``--stream-compare-max`` also the in-memory fit of the same rows (target: coefficients
   agree to 1e-8).
4. ``dask``: a ``distributed.LocalCluster`` (2 worker processes, 1 thread each), binary
   n=2M p=50 generated on the workers and persisted; softlogit on the dask arrays (time
   includes ``coef_table()``) against dask-ml ``LogisticRegression(solver="newton")``
   (dask-glm's Newton ignores the penalty, so the fit is unpenalised; target: softlogit /
   dask-ml <= 1/3) and the in-memory softlogit fit of the same data (target 1e-8).

Options: ``--peers sklearn,glum`` runs only the peers whose names contain those words
(softlogit always runs); ``--corr 0.9`` makes the in-memory and scaling features
equicorrelated, an ill-conditioned problem where first-order peers need more iterations
(with independent features the Hessian is nearly a multiple of the identity, L-BFGS's
best case).

Peers get tight tolerances (``--peer-tol``, 1e-8; statsmodels 1e-10) so that every
contender reaches the same optimum: the table shows each one's mean negative
log-likelihood and largest coefficient difference to softlogit, in the reference (first)
class parameterisation. Missing optional peers are skipped with a note. Timings on a shared
2-core machine are noisy: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np
from bench_common import machine_info, mean_nll
from scale_common import (
    CONTENDERS,
    MB,
    N_SIGNAL,
    SEED,
    PeakRSS,
    make_problem,
    rss_now,
    softlogit_floor,
    softlogit_pass_seconds,
    true_params,
)
from scipy.special import expit

SECTIONS = ("inmemory", "scaling", "stream", "dask")
SCALE_PACKAGES = ["sklearn", "statsmodels", "glum", "dask", "distributed", "dask_ml", "pyarrow"]
SCALING_N = (10_000, 30_000, 100_000, 300_000, 1_000_000, 4_000_000)


# --------------------------------------------------------------------------- workers
def worker_fit(task):
    """One contender on one generated problem, in this (fresh) process."""
    name = task["contender"]
    fn, prep_fn, _ = CONTENDERS[name]
    X, y = make_problem(task["n"], task["p"], task["K"], corr=task["corr"])
    try:
        fn(X[:200], y[:200], prep_fn(X[:200]), task["tol"])  # imports + warm-up
    except ImportError as err:
        return {"skipped": f"{type(err).__name__}: {err}"}
    except Exception:  # noqa: BLE001 - a tiny fit may fail; the real one will tell
        pass
    base = rss_now()
    prep = prep_fn(X)
    times, cpu, peak, caught = [], [], 0, []
    for _ in range(task["repeat"]):
        with warnings.catch_warnings(record=True) as rec, PeakRSS() as mem:
            warnings.simplefilter("always")
            t0, c0 = time.perf_counter(), time.process_time()
            coef, intercept, n_iter = fn(X, y, prep, task["tol"])
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        caught += [f"{w.category.__name__}: {str(w.message)[:100]}" for w in rec]
        peak = max(peak, mem.peak)
        if times[-1] > task["slow_s"]:
            break
    coef, intercept = np.atleast_2d(coef), np.atleast_1d(intercept)
    passes = softlogit_pass_seconds(X, y, task["repeat"]) if name == "softlogit" else None
    floor = softlogit_floor(X, y, task["repeat"]) if name == "softlogit" else None
    return {
        "passes": passes,
        "floor": floor,
        "seconds": min(times),
        "times": times,
        "cpu_seconds": min(cpu),
        "n_iter": n_iter,
        "coef": np.column_stack([coef, intercept]).tolist(),
        "nll": mean_nll(X, y, coef, intercept),
        "base_rss": base,
        "peak_rss": peak,
        "x_bytes": X.nbytes,
        "warnings": sorted(set(caught)),
    }


def _stream_columns(path):
    import pyarrow.dataset as ds

    names = ds.dataset(path, format="parquet").schema.names
    return [c for c in names if c != "y"]


def read_numpy(path, batch_rows=None):
    """Read the whole file as numpy (X, y), batch by batch, as softlogit's stream does."""
    import pyarrow.dataset as ds

    features = _stream_columns(path)
    dataset = ds.dataset(path, format="parquet")
    batch_rows = batch_rows or max(1024, 16 * MB // (8 * len(features)))
    for batch in dataset.to_batches(columns=["y", *features], batch_size=batch_rows):
        X = np.empty((batch.num_rows, len(features)))
        for j, name in enumerate(features):
            X[:, j] = batch.column(name).to_numpy(zero_copy_only=False)
        yield X, batch.column("y").to_numpy(zero_copy_only=False)


def worker_stream_read(task):
    """Time full reads of the file into numpy batches (the floor of one pass)."""
    times, rows = [], 0
    for _ in range(task["repeat"]):
        t0, rows = time.perf_counter(), 0
        for X, _y in read_numpy(task["path"]):
            rows += X.shape[0]
        times.append(time.perf_counter() - t0)
    return {"seconds": min(times), "times": times, "rows": rows}


def worker_stream_fit(task):
    """softlogit on ``scan_parquet`` with passes counted; peak RSS of the whole process."""
    import softlogit
    from softlogit.data import stream

    counts = {"reduce": 0, "describe": 0}

    def counted(cls, attr, key):
        original = getattr(cls, attr)

        def wrapper(self, *args, **kwargs):
            counts[key] += 1
            return original(self, *args, **kwargs)

        setattr(cls, attr, wrapper)

    counted(stream.StreamSource, "reduce", "reduce")
    counted(stream.TableScan, "describe", "describe")
    stream._pyarrow()  # import pyarrow before the baseline
    base = rss_now()
    with warnings.catch_warnings(record=True) as rec, PeakRSS() as mem:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        m = softlogit.LogisticRegression().fit(softlogit.scan_parquet(task["path"], target="y"))
        t_fit = time.perf_counter() - t0
        fit_counts = dict(counts)
        m.coef_table()
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "fit_seconds": t_fit,
        "passes": counts["reduce"] + counts["describe"],
        "fit_passes": fit_counts["reduce"] + fit_counts["describe"],
        "counts": counts,
        "n_iter": m.n_iter_,
        "base_rss": base,
        "peak_rss": mem.peak,
        "nll": -m.loglike_ / m.nobs_,
        "coef": np.column_stack([m.coef_, m.intercept_]).tolist(),
        "warnings": sorted({f"{w.category.__name__}: {str(w.message)[:100]}" for w in rec}),
    }


def worker_stream_inmemory(task):
    """The in-memory softlogit fit of the same rows (read from the file)."""
    import softlogit

    parts = list(read_numpy(task["path"]))
    X = np.concatenate([a for a, _ in parts])
    y = np.concatenate([b for _, b in parts])
    del parts
    t0 = time.perf_counter()
    m = softlogit.LogisticRegression().fit(X, y)
    m.coef_table()
    return {
        "seconds": time.perf_counter() - t0,
        "coef": np.column_stack([m.coef_, m.intercept_]).tolist(),
        "nll": mean_nll(X, y, m.coef_, m.intercept_),
    }


def _dask_data(n, p, chunk, seed):
    import dask.array as da

    rs = da.random.RandomState(seed)
    X = rs.standard_normal(size=(n, p), chunks=(chunk, p))
    B, b = true_params(p, 2, seed)
    k = min(N_SIGNAL, p)
    eta = X[:, :k] @ B[0, :k] + b[0]
    y = (rs.random_sample(size=n, chunks=chunk) < 1.0 / (1.0 + da.exp(-eta))).astype(np.int64)
    return X, y


def _best(fn, repeat, slow_s):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > slow_s:
            break
    return min(times), times, out


def worker_dask(task):
    """softlogit and dask-ml on a 2-process LocalCluster; the in-memory fit for agreement."""
    import dask

    import softlogit

    try:
        from distributed import Client, LocalCluster, wait
    except ImportError as err:
        return {"skipped": f"ImportError: {err}"}
    n, p, repeat, slow_s = task["n"], task["p"], task["repeat"], task["slow_s"]
    out = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        t0 = time.perf_counter()
        X, y = dask.persist(*_dask_data(n, p, task["chunk"], SEED))
        wait([X, y])
        out["generate_seconds"] = time.perf_counter() - t0
        out["n_blocks"] = len(X.chunks[0])

        def sl_fit():
            m = softlogit.LogisticRegression().fit(X, y)
            m.coef_table()
            return m

        t, times, m = _best(sl_fit, repeat, slow_s)
        out["softlogit"] = _dask_row(t, times, m.coef_, m.intercept_, m.n_iter_)
        try:
            from dask_ml.linear_model import LogisticRegression as DaskLogit
        except ImportError as err:
            out["dask-ml"] = {"skipped": f"ImportError: {err}"}
        else:

            def dml_fit():
                return DaskLogit(solver="newton", tol=1e-8, max_iter=100).fit(X, y)

            t, times, d = _best(dml_fit, repeat, slow_s)
            out["dask-ml"] = _dask_row(t, times, d.coef_[None, :], d.intercept_, None)
        Xn, yn = dask.compute(X, y)
    t0 = time.perf_counter()
    m = softlogit.LogisticRegression().fit(Xn, yn)
    m.coef_table()
    out["in-memory"] = _dask_row(time.perf_counter() - t0, None, m.coef_, m.intercept_, m.n_iter_)
    for key in ("softlogit", "dask-ml", "in-memory"):
        row = out[key]
        if "coef" in row:
            coef = np.asarray(row["coef"])
            row["nll"] = mean_nll(Xn, yn, coef[:, :-1], coef[:, -1])
    return out


def _dask_row(seconds, times, coef, intercept, n_iter):
    coef = np.column_stack([np.atleast_2d(coef), np.atleast_1d(intercept)])
    return {"seconds": seconds, "times": times, "coef": coef.tolist(), "n_iter": n_iter}


WORKERS = {
    "fit": worker_fit,
    "stream-read": worker_stream_read,
    "stream-fit": worker_stream_fit,
    "stream-inmemory": worker_stream_inmemory,
    "dask": worker_dask,
}


def run_worker(task, timeout):
    """Run ``task`` in a fresh Python process (this script with ``--worker``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(task), out]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s"}
        if proc.returncode != 0 or not os.path.exists(out):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
            return {"error": f"worker exited {proc.returncode}: " + " | ".join(tail)}
        with open(out) as fh:
            return json.load(fh)


def worker_main(task_json, out_path):
    task = json.loads(task_json)
    try:
        result = WORKERS[task["kind"]](task)
    except Exception as err:  # noqa: BLE001 - report, the parent prints it
        traceback.print_exc()
        result = {"error": f"{type(err).__name__}: {err}"}
    with open(out_path, "w") as fh:
        json.dump(result, fh)


# --------------------------------------------------------------------------- report helpers


def _dcoef(row, ref):
    if ref is None or "coef" not in row:
        return float("nan")
    return float(np.max(np.abs(np.asarray(row["coef"]) - np.asarray(ref))))


def _fmt_mem(row):
    extra = (row["peak_rss"] - row["base_rss"]) / MB
    return f"{extra:>10.0f}{extra * MB / row['x_bytes']:>8.2f}x{row['peak_rss'] / MB:>10.0f}"


def _print_skips(rows):
    for name, r in rows.items():
        if "skipped" in r:
            print(f"  skipped [{name}] {r['skipped']}")
        elif "error" in r:
            print(f"  failed  [{name}] {r['error']}")
        for w in r.get("warnings", []):
            print(f"  warning [{name}] {w}")


# --------------------------------------------------------------------------- section 1
def _selected(name, args):
    """softlogit always; a peer when ``--peers`` is empty or names part of it."""
    return name == "softlogit" or not args.peers or any(w in name for w in args.peers)


def section_inmemory(args):
    d = args.divisor
    problems = [
        ("binary", 200_000 // d, 50, 2, 0.25),
        ("binary", 1_000_000 // d, 100, 2, 0.25),
        ("multinomial", 200_000 // d, 50, 10, 0.33),
    ]
    print("\n### 1. in memory, unpenalised, each contender in a fresh process")
    print("seconds: best of the runs listed (cpu s: the least process CPU time, all threads);")
    print("extra MB: peak RSS during the fit above the RSS")
    print("after imports + data; /X: that over the size of X; peak MB: the process peak;")
    print("sl/this: softlogit's seconds over this contender's (below 1: softlogit faster).")
    for kind, n, p, K, target in problems:
        rows = {}
        for name, (_, _, scope) in CONTENDERS.items():
            if scope == "binary" and K > 2:
                continue
            if not _selected(name, args):
                continue
            task = dict(kind="fit", contender=name, n=n, p=p, K=K, tol=args.peer_tol)
            task["corr"] = args.corr
            task.update(repeat=args.repeat, slow_s=args.slow_s)
            rows[name] = run_worker(task, args.worker_timeout)
        title = f"{kind} n={n}, p={p}" + (f", K={K}" if K > 2 else "")
        report_inmemory(title, rows, target)


def report_inmemory(title, rows, target):
    ok = {k: r for k, r in rows.items() if "seconds" in r}
    peers = {k: r for k, r in ok.items() if k != "softlogit"}
    print(f"\n== {title}")
    if "softlogit" not in ok:
        _print_skips(rows)
        return
    t_sl, ref = ok["softlogit"]["seconds"], ok["softlogit"]["coef"]
    head = f"{'contender':<24}{'seconds':>9}{'cpu s':>8}{'runs':>5}{'sl/this':>9}{'iter':>6}"
    print(head + f"{'mean NLL':>20}{'max|dcoef|':>12}{'extra MB':>10}{'/X':>9}{'peak MB':>10}")
    for name, r in ok.items():
        cpu = r.get("cpu_seconds", float("nan"))
        print(
            f"{name:<24}{r['seconds']:>9.3f}{cpu:>8.3f}{len(r['times']):>5}"
            f"{t_sl / r['seconds']:>8.2f}x"
            f"{r['n_iter']:>6}{r['nll']:>20.15f}{_dcoef(r, ref):>12.2e}{_fmt_mem(r)}"
        )
    _print_skips(rows)
    if peers:
        fastest = min(peers, key=lambda k: peers[k]["seconds"])
        t_peer = peers[fastest]["seconds"]
        print(f"softlogit / fastest peer ({fastest}) = {t_sl / t_peer:.2f}x")
        passes = ok["softlogit"].get("passes")
        if passes:
            print(
                f"softlogit passes over all rows: gradient {passes['gradient']:.3f} s, Hessian "
                f"{passes['hessian']:.3f} s; the standard errors' one Hessian pass alone is "
                f"{passes['hessian'] / t_peer:.2f}x the fastest peer's whole fit"
            )
    floor = ok["softlogit"].get("floor")
    if floor:
        print(
            f"softlogit floor: {floor['passes']:.2f} passes ({floor['n_passes']} counted, "
            f"{floor['hessian_passes']:.2f} of them with a Hessian) x one read of X "
            f"{floor['read'] * 1e3:.1f} ms + one Hessian (syrk) {floor['hessian'] * 1e3:.1f} ms "
            f"= {floor['floor']:.3f} s; softlogit / floor = {t_sl / floor['floor']:.2f}x "
            "(aim <= 2)"
        )
    if "sklearn lbfgs" in ok:
        ratio = t_sl / ok["sklearn lbfgs"]["seconds"]
        print(f"softlogit / sklearn lbfgs = {ratio:.2f}x (target <= {target:.2f})")


# --------------------------------------------------------------------------- section 2
def section_scaling(args):
    series = [n // args.scaling_divisor for n in SCALING_N if n <= args.max_n]
    names = ["softlogit"] + (["sklearn lbfgs"] if args.scaling_sklearn else [])
    print("\n### 2. scaling in n: binary, p=50, each fit in a fresh process")
    head = f"{'n':>10}"
    for name in names:
        head += f"{name + ' s':>18}{'us/row':>9}{'iter':>6}{'extra MB':>10}"
    print(head)
    for n in series:
        line = f"{n:>10}"
        for name in names:
            task = dict(kind="fit", contender=name, n=n, p=50, K=2, tol=args.peer_tol)
            task["corr"] = args.corr
            task.update(repeat=args.repeat, slow_s=args.slow_s)
            r = run_worker(task, args.worker_timeout)
            if "seconds" not in r:
                line += f"{r.get('error', r.get('skipped', '?'))[:40]:>43}"
                continue
            extra = (r["peak_rss"] - r["base_rss"]) / MB
            line += f"{r['seconds']:>18.3f}{r['seconds'] / n * 1e6:>9.3f}{r['n_iter']:>6}"
            line += f"{extra:>10.0f}"
        print(line, flush=True)


# --------------------------------------------------------------------------- section 3
def write_parquet(path, n, p, row_group, seed=SEED):
    """Write n rows x p standard-normal features and a binary ``y``, one row group at a
    time (each from its own seeded generator), so memory holds one row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    B, b = true_params(p, 2, seed)
    k = min(N_SIGNAL, p)
    names = [f"x{j}" for j in range(p)]
    schema = pa.schema([("y", pa.int8())] + [(c, pa.float64()) for c in names])
    tmp = path + ".partial"
    with pq.ParquetWriter(tmp, schema) as writer:
        for i, start in enumerate(range(0, n, row_group)):
            rows = min(row_group, n - start)
            rng = np.random.default_rng([seed, i])
            Z = rng.standard_normal((p, rows))  # feature-major: each column contiguous
            eta = B[0, :k] @ Z[:k] + b[0]
            y = (rng.random(rows) < expit(eta)).astype(np.int8)
            cols = [pa.array(y)] + [pa.array(Z[j]) for j in range(p)]
            writer.write_table(pa.Table.from_arrays(cols, schema=schema), row_group_size=rows)
    os.replace(tmp, path)


def ensure_parquet(args, n, p):
    import pyarrow.parquet as pq

    folder = args.data_dir or os.path.join(tempfile.gettempdir(), "softlogit_bench_scale")
    os.makedirs(folder, exist_ok=True)
    row_group = min(args.row_group, max(1, n // 4))
    path = os.path.join(folder, f"stream_n{n}_p{p}_rg{row_group}_s{SEED}.parquet")
    if os.path.exists(path) and pq.ParquetFile(path).metadata.num_rows == n:
        return path, None
    t0 = time.perf_counter()
    write_parquet(path, n, p, row_group)
    return path, time.perf_counter() - t0


def section_stream(args):
    n, p = args.stream_n // args.divisor, 50
    print(f"\n### 3. out of core: Parquet, n={n}, p={p}, binary, fresh processes")
    path, t_write = ensure_parquet(args, n, p)
    size = os.path.getsize(path)
    how = "reused" if t_write is None else f"written in {t_write:.1f} s"
    print(f"file {path} ({size / MB:.0f} MB, {how}); X as float64 = {n * p * 8 / MB:.0f} MB")
    read = run_worker(dict(kind="stream-read", path=path, repeat=2), args.worker_timeout)
    fit = run_worker(dict(kind="stream-fit", path=path), args.worker_timeout)
    for name, r in (("read", read), ("fit", fit)):
        if "error" in r:
            print(f"  failed [{name}] {r['error']}")
            return
    t_read = read["seconds"]
    times = ", ".join(f"{t:.2f}" for t in read["times"])
    print(f"one full pyarrow read -> numpy: {t_read:.2f} s (best of {times})")
    ratio = fit["seconds"] / (fit["passes"] * t_read)
    print(
        f"softlogit scan_parquet fit + coef_table: {fit['seconds']:.2f} s "
        f"(fit {fit['fit_seconds']:.2f} s), {fit['n_iter']} Newton iterations, "
        f"passes {fit['passes']} ({fit['counts']['describe']} describe + "
        f"{fit['counts']['reduce']} reduce; {fit['fit_passes']} before coef_table)"
    )
    print(f"fit time / (passes x read time) = {ratio:.2f} (target <= 2)")
    peak, extra = fit["peak_rss"] / MB, (fit["peak_rss"] - fit["base_rss"]) / MB
    print(f"peak RSS during the fit {peak:.0f} MB (target < 1024), {extra:.0f} MB above imports")
    print(f"mean NLL {fit['nll']:.15f}")
    for w in fit["warnings"]:
        print(f"  warning [stream fit] {w}")
    if n <= args.stream_compare_max:
        mem = run_worker(dict(kind="stream-inmemory", path=path), args.worker_timeout)
        if "error" in mem:
            print(f"  failed [in-memory] {mem['error']}")
            return
        d = _dcoef(fit, mem["coef"])
        print(
            f"in-memory fit of the same rows: {mem['seconds']:.2f} s, mean NLL "
            f"{mem['nll']:.15f}; max |coef stream - coef in-memory| = {d:.2e} (target 1e-8)"
        )
    else:
        print(f"(in-memory comparison skipped: n > --stream-compare-max={args.stream_compare_max})")


# --------------------------------------------------------------------------- section 4
def section_dask(args):
    n, p = args.dask_n // args.divisor, 50
    chunk = max(1000, args.dask_chunk // args.divisor)
    print(f"\n### 4. Dask: LocalCluster(2 processes x 1 thread), binary n={n}, p={p}")
    task = dict(kind="dask", n=n, p=p, chunk=chunk, repeat=args.repeat, slow_s=args.slow_s)
    r = run_worker(task, args.worker_timeout)
    if "error" in r or "skipped" in r:
        print(f"  {r.get('error') or r.get('skipped')}")
        return
    print(
        f"data generated on the workers and persisted in {r['generate_seconds']:.1f} s, "
        f"{r['n_blocks']} blocks of {chunk} rows"
    )
    ref = r["in-memory"]["coef"]
    print(
        f"{'contender':<28}{'seconds':>9}{'runs':>5}{'iter':>6}{'mean NLL':>20}"
        f"{'max|dcoef| vs in-memory':>25}"
    )
    for name, label in (
        ("softlogit", "softlogit on dask"),
        ("dask-ml", "dask-ml newton"),
        ("in-memory", "softlogit in memory"),
    ):
        row = r[name]
        if "skipped" in row:
            print(f"{label:<28} skipped: {row['skipped']}")
            continue
        runs = len(row["times"]) if row["times"] else 1
        it = "-" if row["n_iter"] is None else str(row["n_iter"])
        print(
            f"{label:<28}{row['seconds']:>9.3f}{runs:>5}{it:>6}{row['nll']:>20.15f}"
            f"{_dcoef(row, ref):>25.2e}"
        )
    if "seconds" in r["dask-ml"]:
        ratio = r["softlogit"]["seconds"] / r["dask-ml"]["seconds"]
        print(f"softlogit / dask-ml = {ratio:.2f}x (target <= 0.33)")
    print(
        f"softlogit dask vs in-memory max |dcoef| = {_dcoef(r['softlogit'], ref):.2e} (target 1e-8)"
    )


# --------------------------------------------------------------------------- main
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections of {','.join(SECTIONS)} (default all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="sizes / 20 (scaling / 10), one run each: a smoke run"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per timing, best of (default 3; quick 1)"
    )
    parser.add_argument(
        "--slow-s",
        type=float,
        default=10.0,
        help="no more runs once a run takes longer than this (seconds)",
    )
    parser.add_argument(
        "--peer-tol", type=float, default=1e-8, help="tolerance given to scikit-learn and glum"
    )
    parser.add_argument(
        "--peers",
        default="",
        help="in-memory peers to run, comma-separated parts of their names "
        "(e.g. 'sklearn,glum'); default all",
    )
    parser.add_argument(
        "--corr",
        type=float,
        default=0.0,
        help="equicorrelation of the in-memory and scaling features (default 0: independent)",
    )
    parser.add_argument("--max-n", type=float, default=4e6, help="largest n of the scaling run")
    parser.add_argument(
        "--scaling-sklearn",
        action="store_true",
        help="also time scikit-learn lbfgs in the scaling run",
    )
    parser.add_argument("--stream-n", type=int, default=10_000_000, help="rows of the file")
    parser.add_argument("--row-group", type=int, default=500_000, help="rows per row group")
    parser.add_argument(
        "--stream-compare-max",
        type=int,
        default=2_000_000,
        help="compare with the in-memory fit when the file has at most this",
    )
    parser.add_argument(
        "--data-dir", default=None, help="where the Parquet file is cached (default: a temp folder)"
    )
    parser.add_argument("--dask-n", type=int, default=2_000_000, help="rows of the Dask run")
    parser.add_argument("--dask-chunk", type=int, default=100_000, help="rows per Dask block")
    parser.add_argument(
        "--worker-timeout",
        type=float,
        default=3600.0,
        help="seconds before a contender's process is given up",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    args.peers = [s.strip() for s in args.peers.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    # --quick: in-memory, stream and Dask sizes / 20, the scaling series / 10, one run each
    args.divisor = 20 if args.quick else 1
    args.scaling_divisor = 10 if args.quick else 1
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker_main(argv[1], argv[2])
        return
    args = parse_args(argv)
    print("\n".join(machine_info(SCALE_PACKAGES)))
    print(
        f"sections {','.join(args.sections)}; quick = {args.quick}; repeat = {args.repeat} "
        f"(best of; 1 run past {args.slow_s:g} s); peer tol = {args.peer_tol:g}; "
        f"feature correlation = {args.corr:g}"
    )
    print("note: timings on a shared machine are noisy; compare ratios from the same run.")
    sections = {
        "inmemory": section_inmemory,
        "scaling": section_scaling,
        "stream": section_stream,
        "dask": section_dask,
    }
    for name in SECTIONS:
        if name in args.sections:
            t0 = time.perf_counter()
            sections[name](args)
            print(f"({name}: {time.perf_counter() - t0:.0f} s wall)", flush=True)


if __name__ == "__main__":
    main()
