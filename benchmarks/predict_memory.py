"""Peak memory of ``softlogit predict`` against the number of rows (issue 12).

Run from the repository root::

    python benchmarks/predict_memory.py                       # 0.5M, 2M, 4M rows
    python benchmarks/predict_memory.py --rows 500000,2000000 --features 10
    python benchmarks/predict_memory.py --formula              # a formula model

For each size a Parquet file of that many rows and ``--features`` float64 features (written
by pandas' ``to_parquet``, as a user would, in row groups of pyarrow's default size) is
predicted by ``softlogit predict MODEL DATA --proba --out preds.parquet`` in a fresh
process; the figure is that process's peak resident memory (``ru_maxrss`` from
``os.wait4``). The files are generated in other processes, and this one imports neither
numpy nor pandas: a child started by ``vfork`` inherits its parent's peak memory in
``ru_maxrss``, which would otherwise count the generator's memory as the command's. With
``--fit`` the streamed fit ``softlogit fit DATA --stream`` is measured too, for comparison.
Memory that stays flat as the rows grow is the target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_data(path, n, p, seed=0, row_group_rows=None):
    """Write ``n`` rows of ``p`` features and a binary label ``y`` to ``path`` (Parquet)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.linspace(-1, 1, p)
    y = (rng.random(n) < 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))).astype(np.int64)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    frame["y"] = y
    frame["id"] = np.arange(n)
    frame.to_parquet(path, index=False, row_group_size=row_group_rows)


def make_data_elsewhere(path, n, p, seed=0, row_group_rows=None):
    """:func:`make_data` in another process (see the module docstring)."""
    code = f"import predict_memory as b; b.make_data({path!r}, {n}, {p}, {seed}, {row_group_rows})"
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, "-c", code], cwd=here, check=True)


def peak_rss(args):
    """Run ``python -m softlogit *args`` and return (peak RSS in GiB, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "softlogit", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"softlogit {' '.join(args)} failed:\n{err}")
    return usage.ru_maxrss / 2**20, seconds  # kilobytes on Linux


def main(argv=None):
    """Print the peak memory of ``softlogit predict`` for each number of rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="500000,2000000,4000000")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--formula", action="store_true", help="fit and predict a formula model")
    parser.add_argument("--fit", action="store_true", help="also measure the streamed fit")
    parser.add_argument(
        "--row-group-rows",
        type=int,
        default=None,
        help="Parquet row group size (default pyarrow's)",
    )
    parser.add_argument("--data-dir", default=None, help="where the files go (default: a tmp dir)")
    opts = parser.parse_args(argv)
    sizes = [int(float(s)) for s in opts.rows.split(",")]
    p = opts.features
    with tempfile.TemporaryDirectory(dir=opts.data_dir) as tmp:
        small = os.path.join(tmp, "train.parquet")
        make_data_elsewhere(small, 20_000, p, seed=1)
        model = os.path.join(tmp, "model.json")
        names = [f"x{j}" for j in range(p)]
        how = (
            ["--formula", "y ~ " + " + ".join(names[:-1]) + f" + np.log1p(np.abs({names[-1]}))"]
            if opts.formula
            else ["--target", "y", "--features", ",".join(names)]
        )
        peak_rss(["fit", small, *how, "--out", model])
        print(f"softlogit predict --proba, {p} features{' (formula)' if opts.formula else ''}")
        print(f"{'rows':>10} {'file MiB':>9} {'peak RSS GiB':>13} {'seconds':>8}", end="")
        print(f" {'fit --stream GiB':>17}" if opts.fit else "")
        for n in sizes:
            data = os.path.join(tmp, f"data_{n}.parquet")
            make_data_elsewhere(data, n, p, row_group_rows=opts.row_group_rows)
            out = os.path.join(tmp, "preds.parquet")
            gib, seconds = peak_rss(["predict", model, data, "--proba", "--out", out])
            line = f"{n:>10} {os.path.getsize(data) / 2**20:>9.1f} {gib:>13.3f} {seconds:>8.1f}"
            if opts.fit:
                fit_gib, _ = peak_rss(
                    ["fit", data, "--target", "y", "--features", ",".join(names), "--stream"]
                )
                line += f" {fit_gib:>17.3f}"
            print(line, flush=True)
            os.remove(data)
            os.remove(out)


if __name__ == "__main__":
    main()
