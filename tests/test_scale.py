"""One code path, three scales: streamed Parquet/CSV, Dask and in-memory fits agree."""

import os
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import softlogit as sl

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

FEATURES = ["f0", "f1", "f2", "f3"]


def make_frame(n, K, seed, labels=None):
    """Features, labels (optionally strings), weights and a per-row offset."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(FEATURES)))
    B = rng.normal(0.0, 0.6, (len(FEATURES), K))
    eta = X @ B + rng.normal(0.0, 0.3, K)
    P = np.exp(eta - eta.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    codes = (P.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["y"] = codes if labels is None else np.asarray(labels)[codes]
    frame["w"] = rng.uniform(0.2, 2.0, n)
    frame["o"] = rng.normal(0.0, 0.2, n)
    return frame


def model_for(K, **kwargs):
    if K == 2:
        return sl.LogisticRegression(**kwargs)
    return sl.SoftmaxRegression(**kwargs)


def assert_same_fit(a, b, tol=1e-8):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=tol)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=0, atol=tol)
    assert a.loglike_ == pytest.approx(b.loglike_, rel=1e-10)
    assert a.null_loglike_ == pytest.approx(b.null_loglike_, rel=1e-10)
    assert a.aic_ == pytest.approx(b.aic_, rel=1e-10)
    np.testing.assert_allclose(a.coef_table().values, b.coef_table().values, rtol=1e-7, atol=1e-9)


@pytest.fixture(scope="module", params=[2, 3], ids=["binary", "softmax"])
def written(request, tmp_path_factory):
    """A data set written as Parquet (several files and row groups) and CSV."""
    K = request.param
    frame = make_frame(3000, K, seed=K, labels=None if K == 2 else ["lo", "mid", "hi"])
    folder = tmp_path_factory.mktemp(f"data{K}")
    for i, start in enumerate(range(0, len(frame), 1000)):
        part = frame.iloc[start : start + 1000]
        part.to_parquet(folder / f"part-{i}.parquet", row_group_size=400)
    frame.to_csv(folder / "all.csv", index=False)
    return K, frame, folder


def in_memory(K, frame, **kwargs):
    return model_for(K, **kwargs).fit(
        frame[FEATURES], frame["y"], sample_weight=frame["w"], offset=frame["o"]
    )


def test_streamed_parquet_and_csv_equal_the_in_memory_fit(written):
    K, frame, folder = written
    reference = in_memory(K, frame)
    scans = [
        sl.scan_parquet(folder / "part-*.parquet", target="y", weight="w", offset="o"),
        sl.scan_parquet(
            sorted(folder.glob("*.parquet")), target="y", weight="w", offset="o", batch_rows=250
        ),
        sl.scan_csv(folder / "all.csv", target="y", weight="w", offset="o", batch_rows=333),
    ]
    for scan in scans:
        streamed = model_for(K).fit(scan)
        assert_same_fit(streamed, reference)
        assert list(streamed.feature_names_in_) == FEATURES
        assert list(streamed.classes_) == list(reference.classes_)
        robust = streamed.coef_table(cov_type="HC0").values
        np.testing.assert_allclose(robust, reference.coef_table(cov_type="HC0").values, rtol=1e-7)


def test_dask_array_and_dataframe_equal_the_in_memory_fit(written):
    K, frame, _ = written
    reference = in_memory(K, frame)
    X = da.from_array(frame[FEATURES].to_numpy(), chunks=(700, 2))
    y = da.from_array(frame["y"].to_numpy(), chunks=700)
    w = da.from_array(frame["w"].to_numpy(), chunks=700)
    fitted = model_for(K).fit(X, y, sample_weight=w, offset=frame["o"].to_numpy())
    assert_same_fit(fitted, reference)
    ddf = dd.from_pandas(frame, npartitions=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dask: string labels become objects
        fitted = model_for(K).fit(ddf[FEATURES], ddf["y"], sample_weight=ddf["w"], offset=ddf["o"])
    assert_same_fit(fitted, reference)
    assert list(fitted.feature_names_in_) == FEATURES


def test_scan_parquet_can_run_its_passes_on_dask(written):
    K, frame, folder = written
    scan = sl.scan_parquet(folder / "part-*.parquet", target="y", weight="w", offset="o", dask=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dask: string labels become objects
        fitted = model_for(K).fit(scan)
    assert_same_fit(fitted, in_memory(K, frame))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"penalty": "l2", "alpha": 0.05, "standardize": True},
        {"penalty": "l1", "alpha": 0.01, "class_weight": "balanced"},
        {"solver": "lbfgs"},
    ],
)
def test_penalties_class_weights_and_solvers_stream_too(written, kwargs):
    K, frame, folder = written
    scan = sl.scan_parquet(folder / "part-*.parquet", target="y", weight="w", offset="o")
    np.testing.assert_allclose(
        model_for(K, **kwargs).fit(scan).coef_, in_memory(K, frame, **kwargs).coef_, atol=1e-7
    )


def test_adam_over_shuffled_row_groups_reaches_the_newton_fit(written):
    K, frame, folder = written
    scan = sl.scan_parquet(folder / "part-*.parquet", target="y", weight="w", offset="o")
    newton = model_for(K).fit(scan)
    adam = model_for(K, solver="adam", random_state=0, max_iter=3000, tol=1e-6).fit(scan)
    np.testing.assert_allclose(adam.coef_, newton.coef_, atol=2e-3)


def test_scan_errors_name_the_problem(tmp_path):
    frame = make_frame(50, 2, seed=9)
    frame["text"] = "a"
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        sl.scan_parquet(tmp_path / "missing.parquet", target="y")
    with pytest.raises(FileNotFoundError, match="matches no files"):
        sl.scan_parquet(tmp_path / "*.csv", target="y")
    with pytest.raises(ValueError, match="'nope' is not in"):
        sl.scan_parquet(path, target="nope")
    with pytest.raises(ValueError, match="'text' is not numeric"):
        sl.scan_parquet(path, target="y")
    scan = sl.scan_parquet(path, target="y", features=FEATURES)
    with pytest.raises(ValueError, match="takes y from the scan"):
        sl.LogisticRegression().fit(scan, frame["y"])
    with pytest.raises(ValueError, match="make the scan without target="):
        sl.LogisticRegression(formula="y ~ f0").fit(scan)
    bad = frame.drop(columns="text")
    bad.loc[17, "f2"] = np.nan
    bad.to_parquet(tmp_path / "nan.parquet")
    scan = sl.scan_parquet(tmp_path / "nan.parquet", target="y")
    with pytest.raises(ValueError, match="column 'f2' has .* at row 17"):
        sl.LogisticRegression().fit(scan)
    bad = frame.drop(columns="text")
    bad.loc[5, "w"] = -1.0
    bad.to_parquet(tmp_path / "neg.parquet")
    with pytest.raises(ValueError, match="column 'w' has the invalid value -1.0 at row 5"):
        sl.LogisticRegression().fit(
            sl.scan_parquet(tmp_path / "neg.parquet", target="y", weight="w")
        )


def write_rows(path, n, seed=0, rows_per_group=50_000):
    """A binary data set of ``n`` rows written group by group (never all in memory)."""
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(
        path, pa.schema([(c, pa.float64()) for c in FEATURES] + [("y", pa.int64())])
    ) as out:
        for start in range(0, n, rows_per_group):
            m = min(rows_per_group, n - start)
            X = rng.standard_normal((m, len(FEATURES)))
            y = (rng.random(m) < 1 / (1 + np.exp(-(X @ [0.5, -0.3, 0.2, 0.0])))).astype(np.int64)
            cols = {c: X[:, j] for j, c in enumerate(FEATURES)} | {"y": y}
            out.write_table(pa.table(cols))


def test_streamed_fit_memory_does_not_grow_with_rows(tmp_path):
    peaks = []
    for n in (200_000, 800_000):
        path = tmp_path / f"rows{n}.parquet"
        write_rows(path, n)
        scan = sl.scan_parquet(path, target="y", batch_rows=20_000)
        tracemalloc.start()
        model = sl.LogisticRegression().fit(scan)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert model.converged_ and model.nobs_ == n
    assert peaks[1] < 1.2 * peaks[0], peaks  # 4x the rows, not more memory
    assert peaks[1] < 8 * 20_000 * len(FEATURES) * 8 * 4  # a few batches, not the data


def test_distributed_fit_survives_a_killed_worker():
    distributed = pytest.importorskip("distributed")
    from softlogit.data import dask_source

    frame = make_frame(20_000, 2, seed=11)
    reference = in_memory(2, frame)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        X = da.from_array(frame[FEATURES].to_numpy(), chunks=(2000, 4))
        y = da.from_array(frame["y"].to_numpy(), chunks=2000)
        w = da.from_array(frame["w"].to_numpy(), chunks=2000)
        original, calls, killed = dask_source.DaskSource.reduce, [], []

        def reduce_then_kill(self, fn, fan_in=8):
            calls.append(1)
            if len(calls) == 3:  # in the middle of the Newton iterations
                victim = sorted(client.scheduler_info()["workers"])[0]
                killed.append(victim)
                try:
                    client.run(os._exit, 1, workers=[victim])
                except distributed.comm.core.CommClosedError:
                    pass  # the worker died before it could answer: as intended
            return original(self, fn, fan_in)

        dask_source.DaskSource.reduce = reduce_then_kill
        try:
            fitted = sl.LogisticRegression().fit(
                X, y, sample_weight=w, offset=frame["o"].to_numpy()
            )
        finally:
            dask_source.DaskSource.reduce = original
        assert len(calls) > 3
        assert killed and killed[0] not in client.scheduler_info()["workers"]
    assert_same_fit(fitted, reference)


@pytest.mark.parametrize("solver", ["newton", "lbfgs", "gd", "sgd", "adam", "cd"])
def test_csr_input_works_with_every_solver(solver):
    import scipy.sparse as sp

    frame = make_frame(1500, 3, seed=21)
    X = frame[FEATURES].to_numpy(copy=True)
    X[np.abs(X) < 0.8] = 0.0  # about half zeros
    y = frame["y"].to_numpy()
    kwargs = {"solver": solver, "random_state": 0}
    if solver == "cd":
        kwargs.update(penalty="l1", alpha=0.002)
    if solver in ("gd", "sgd", "adam"):
        kwargs.update(tol=1e-7, max_iter=20_000)
    dense = sl.SoftmaxRegression(**kwargs).fit(X, y)
    sparse = sl.SoftmaxRegression(**kwargs).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-6)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-6
    )


def test_float32_input_is_not_copied_to_float64():
    """Sums accumulate in float64 chunk by chunk; X itself is never converted whole."""
    rng = np.random.default_rng(22)
    X = rng.standard_normal((240_000, 20)).astype(np.float32)  # chunk temporaries stay small
    y = (rng.random(240_000) < 1 / (1 + np.exp(-X[:, :3].sum(axis=1)))).astype(int)
    tracemalloc.start()
    model = sl.LogisticRegression().fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.5 * X.size * 8, peak  # well under a float64 copy of X
    exact = sl.LogisticRegression().fit(X.astype(np.float64), y)
    np.testing.assert_allclose(model.coef_, exact.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.coef_table().values, exact.coef_table().values, rtol=1e-9)


def test_dask_input_errors_name_the_problem():
    frame = make_frame(200, 2, seed=23)
    X = frame[FEATURES].to_numpy(copy=True)
    X[13, 2] = np.nan
    y = da.from_array(frame["y"].to_numpy(), chunks=50)
    with pytest.raises(ValueError, match="X contains NaN at row 13, column 2"):
        sl.LogisticRegression().fit(da.from_array(X, chunks=(50, 4)), y)
    w = frame["w"].to_numpy(copy=True)
    w[3] = -1.0
    Xd = da.from_array(frame[FEATURES].to_numpy(), chunks=(50, 4))
    with pytest.raises(ValueError, match="sample_weight contains"):
        sl.LogisticRegression().fit(Xd, y, sample_weight=w)
    with pytest.raises(ValueError, match="X has 200 rows but y has 199"):
        sl.LogisticRegression().fit(Xd, y[:199])


@pytest.mark.parametrize("gradient_passes", [False, True])
def test_dask_newton_starts_from_a_subsample_of_blocks(
    subsample_starts, monkeypatch, gradient_passes
):
    """On many rows Newton first solves some whole blocks (on the workers), then takes exact
    steps on all rows (small blocks, where every pass costs mostly scheduling) or refines
    with gradient passes (large blocks): the same MLE as in memory either way."""
    from softlogit.model.solvers import newton

    monkeypatch.setattr(newton, "HESSIAN_WORK_PER_BLOCK", 0.0 if gradient_passes else np.inf)
    refined = []
    original = newton._refine
    monkeypatch.setattr(newton, "_refine", lambda *a: refined.append(1) or original(*a))
    frame = make_frame(60_000, 3, seed=24)
    reference = in_memory(3, frame)
    subsample_starts.clear()  # only the Dask fit's calls
    refined.clear()
    X = da.from_array(frame[FEATURES].to_numpy(), chunks=(5000, 4))
    y = da.from_array(frame["y"].to_numpy(), chunks=5000)
    w = da.from_array(frame["w"].to_numpy(), chunks=5000)
    fitted = model_for(3).fit(X, y, sample_weight=w, offset=frame["o"].to_numpy())
    assert subsample_starts and all(subsample_starts)  # the fit and its null model: that route
    assert bool(refined) == gradient_passes
    assert_same_fit(fitted, reference)


def test_large_blocks_are_worked_through_in_pieces_with_shared_scratch():
    """A block larger than ``rows`` is summed piece by piece (the same sums as whole); the
    pieces share one scratch array, released when the block is done."""
    from softlogit.data import sources

    rng = np.random.default_rng(25)
    X = rng.standard_normal((1000, 3))
    chunk = sources.Chunk(X, np.zeros(1000, dtype=int), rng.random(1000), X[:, :1] * 2.0)
    seen = []

    def stats(piece):
        buf = sources.scratch(piece.n_rows, 3)
        np.multiply(piece.X, piece.weight[:, None], out=buf)
        seen.append((piece.n_rows, buf.base if buf.base is not None else buf))
        return (buf.sum(axis=0), float(piece.offset.sum()))

    total = sources.in_pieces(stats, 300)(chunk)
    assert [rows for rows, _ in seen] == [300, 300, 300, 100]
    assert all(base is seen[0][1] for _, base in seen)  # one array for all pieces
    np.testing.assert_allclose(total[0], (X * chunk.weight[:, None]).sum(axis=0), rtol=1e-13)
    assert total[1] == pytest.approx(2.0 * X[:, 0].sum(), rel=1e-13)
    assert sources.scratch(10, 3).base is not seen[0][1]  # released with the block


# ---------------------------------------------------------------------- files that disagree
def _write(frame, path):
    frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path)


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_scan_of_files_that_disagree_names_the_file_and_the_column(tmp_path, ext):
    frame = make_frame(120, 2, seed=31)
    scan = sl.scan_csv if ext == ".csv" else sl.scan_parquet
    cases = {
        "missing": (frame.iloc[60:].drop(columns="f2"), "column 'f2' is not in '.*b{ext}'"),
        "strings": (
            frame.iloc[60:].assign(y=np.where(frame["y"].iloc[60:] == 1, "yes", "no")),
            "column 'y' holds numbers .* in '.*a{ext}' but text .* in '.*b{ext}'",
        ),
        "text-feature": (
            frame.iloc[60:].assign(f1="unknown"),
            "column 'f1' holds numbers .* in '.*a{ext}' but text .* in '.*b{ext}'",
        ),
    }
    for name, (second, message) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        _write(frame.iloc[:60], folder / f"a{ext}")
        _write(second, folder / f"b{ext}")
        with pytest.raises(ValueError, match=message.format(ext=ext)):
            model_for(2).fit(scan(folder, target="y", weight="w", offset="o"))


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_scan_reads_integer_and_float_files_of_one_column_as_floats(tmp_path, ext):
    """One file's f0 holds whole numbers only (int64 there), the other's decimals."""
    import statsmodels.api as smx

    frame = make_frame(300, 2, seed=32)
    frame["f0"] = np.round(frame["f0"] * 3)
    first = frame.iloc[:150].astype({"f0": "int64"})
    _write(first, tmp_path / f"a{ext}")
    second = frame.iloc[150:].assign(f0=frame["f0"].iloc[150:] + 0.5)
    _write(second, tmp_path / f"b{ext}")
    whole = pd.concat([first, second])
    scan = (sl.scan_csv if ext == ".csv" else sl.scan_parquet)(tmp_path, target="y")
    fitted = model_for(2).fit(scan)
    Xr = smx.add_constant(whole[[*FEATURES, "w", "o"]].astype(float).to_numpy())
    ref = smx.Logit(whole["y"].to_numpy(), Xr).fit(disp=0, method="newton", tol=1e-12)
    coef = np.concatenate([np.ravel(fitted.intercept_), np.ravel(fitted.coef_)])
    np.testing.assert_allclose(coef, ref.params, rtol=1e-7, atol=1e-9)


def test_scan_names_the_csv_file_whose_later_rows_change_type(tmp_path):
    frame = make_frame(30_000, 2, seed=33)
    frame["y"] = frame["y"].astype(object)
    frame.loc[29_990, "y"] = "oops"  # far past the first block pyarrow infers types from
    frame.to_csv(tmp_path / "late.csv", index=False)
    with pytest.raises(ValueError, match="cannot read '.*late.csv'.*oops"):
        sl.LogisticRegression().fit(sl.scan_csv(tmp_path / "late.csv", target="y", batch_rows=500))


def test_scan_of_a_header_only_csv_says_no_rows(tmp_path):
    (tmp_path / "h.csv").write_text("f0,f1,y\n")
    with pytest.raises(ValueError, match="'.*h.csv' has no rows"):
        sl.LogisticRegression().fit(sl.scan_csv(tmp_path / "h.csv", target="y"))


def test_scan_treats_a_blank_label_as_missing(tmp_path):
    frame = make_frame(40, 3, seed=34, labels=["lo", "mid", "hi"])
    frame["y"] = frame["y"].astype(object)
    frame.loc[7, "y"] = "  "
    frame.to_csv(tmp_path / "blank.csv", index=False)
    frame.to_parquet(tmp_path / "blank.parquet")
    for scan in (
        sl.scan_csv(tmp_path / "blank.csv", target="y", features=FEATURES),
        sl.scan_parquet(tmp_path / "blank.parquet", target="y", features=FEATURES),
    ):
        with pytest.raises(
            ValueError, match=r"column 'y' has a missing value \(a blank cell\) at row 7"
        ):
            sl.SoftmaxRegression().fit(scan)


def test_scan_reads_a_csv_whose_header_is_longer_than_a_csv_block(tmp_path):
    """20,000 columns with long names: a 3.3 MB header line, more than pyarrow's 1 MiB block."""
    import statsmodels.api as smx

    rng = np.random.default_rng(35)
    p, n = 20_000, 80
    names = [f"a_long_descriptive_feature_name_{j:05d}_" + "x" * 130 for j in range(p)]
    X = np.round(rng.standard_normal((n, p)), 3)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] - 0.5 * X[:, 1])))).astype(int)
    path = tmp_path / "wide.csv"
    with open(path, "w") as fh:
        fh.write(",".join(["y", *names]) + "\n")
        np.savetxt(fh, np.column_stack([y, X]), delimiter=",", fmt="%.3f")
    header = path.read_text().split("\n", 1)[0]
    assert len(header) > 3.3e6
    scan = sl.scan_csv(path, target="y", features=names[:2])
    assert scan.feature_names == names[:2]
    fitted = sl.LogisticRegression().fit(scan)
    ref = smx.Logit(y, smx.add_constant(X[:, :2])).fit(disp=0, method="newton", tol=1e-12)
    coef = np.concatenate([fitted.intercept_, fitted.coef_.ravel()])
    np.testing.assert_allclose(coef, ref.params, rtol=1e-7, atol=1e-9)
