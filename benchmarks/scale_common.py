"""Data, memory measurement and contenders of ``bench_scale.py`` (one fit per function).

Imported by ``bench_scale.py`` and by its worker processes.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from scipy.special import expit, logsumexp

SEED = 20240601
N_SIGNAL = 5  # non-zero true coefficients per class row
MB = 2**20


# --------------------------------------------------------------------------- data
def true_params(p, K, seed=SEED):
    """(K-1, p) coefficients with ``N_SIGNAL`` non-zero columns, and (K-1,) intercepts."""
    rng = np.random.default_rng([seed, 7])
    B = np.zeros((K - 1, p))
    k = min(N_SIGNAL, p)
    B[:, :k] = rng.uniform(-0.8, 0.8, (K - 1, k))
    return B, rng.uniform(-0.5, 0.5, K - 1)


def draw_labels(rng, eta):
    """Labels from free logits ``eta`` (n, K-1), the first class having logit 0."""
    if eta.shape[1] == 1:
        return (rng.random(eta.shape[0]) < expit(eta[:, 0])).astype(np.int64)
    full = np.column_stack([np.zeros(eta.shape[0]), eta])
    prob = np.exp(full - logsumexp(full, axis=1, keepdims=True))
    u = rng.random((eta.shape[0], 1))
    return np.minimum((prob.cumsum(axis=1) < u).sum(axis=1), eta.shape[1]).astype(np.int64)


def make_problem(n, p, K, seed=SEED, corr=0.0):
    """Standard-normal X (n, p), labels from a softmax model with a few non-zero
    coefficients: large n and no separation, so the MLE exists. With ``corr`` > 0 the
    features are equicorrelated (still unit variance): an ill-conditioned Hessian."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if corr:
        X *= np.sqrt(1.0 - corr)
        X += np.sqrt(corr) * rng.standard_normal((n, 1))
    B, b = true_params(p, K, seed)
    k = min(N_SIGNAL, p)
    return X, draw_labels(rng, X[:, :k] @ B[:, :k].T + b)


# --------------------------------------------------------------------------- memory
def _status_bytes(field):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_now():
    import psutil

    return psutil.Process().memory_info().rss


class PeakRSS:
    """Peak resident memory of this process inside a ``with`` block (bytes, ``.peak``).

    Linux: reset the high-water mark (``echo 5 > /proc/self/clear_refs``) on entry and read
    ``VmHWM`` on exit. Elsewhere: a thread samples the RSS every 5 ms.
    """

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self._hwm = _status_bytes("VmHWM") is not None
        except OSError:
            self._hwm = False
        if not self._hwm:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_now())
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self._hwm:
            self.peak = _status_bytes("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, rss_now())


# --------------------------------------------------------------------------- contenders
# fit(X, y, prep, tol) -> (coef (K-1, p), intercept (K-1,), n_iter); prep(X) is untimed.
def _no_prep(X):
    return None


def _with_ones(X):
    return np.column_stack([X, np.ones(X.shape[0])])


def fit_softlogit(X, y, prep, tol):
    import softlogit

    K = np.unique(y).size
    m = softlogit.LogisticRegression() if K == 2 else softlogit.SoftmaxRegression()
    m.fit(X, y)
    m.coef_table()  # standard errors inside the timed region
    return m.coef_, m.intercept_, m.n_iter_


def softlogit_pass_seconds(X, y, repeat=3):
    """Seconds of one gradient pass and of one Hessian pass over all rows at softlogit's
    solution (best of ``repeat``, each on an empty pass cache): the floor of any exact fit
    with standard errors is one Hessian pass plus the gradient passes that reach the MLE."""
    import softlogit

    K = np.unique(y).size
    m = (softlogit.LogisticRegression() if K == 2 else softlogit.SoftmaxRegression()).fit(X, y)
    objective, theta = m.results_._objective, m.results_._theta
    out = {}
    for name, method in (("gradient", "value_grad"), ("hessian", "value_grad_hess")):
        times = []
        for _ in range(repeat):
            fresh = objective.on_source(objective.source)
            t0 = time.perf_counter()
            getattr(fresh, method)(theta)
            times.append(time.perf_counter() - t0)
        out[name] = min(times)
    return out


def _best_seconds(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _on_pool(fn, n, width, repeat):
    """Best seconds of ``fn`` mapped over 4 MiB row blocks on a pool of one thread per core,
    BLAS single-threaded (how softlogit's passes run; a whole-array BLAS call can be slower
    on a busy machine)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    step = max(1024, 2**22 // (8 * width))
    blocks = [slice(i, i + step) for i in range(0, n, step)]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool, threadpool_limits(1, "blas"):
        return _best_seconds(lambda: list(pool.map(fn, blocks)), repeat)


def _pass_counter():
    """softlogit's ``PassCounter``, or for a softlogit without one (an older version, to
    compare with) a stand-in that wraps ``Objective.reduce`` (its Hessian flag unknown)."""
    from softlogit.model import objective

    if hasattr(objective, "PassCounter"):
        return objective.PassCounter()

    class Wrapped:
        def __enter__(self):
            self.passes, self.original = [], objective.Objective.reduce
            counter = self

            def reduce(obj, fn, *args, **kwargs):
                counter.passes.append((obj.source.n_rows, False))
                return counter.original(obj, fn, *args, **kwargs)

            objective.Objective.reduce = reduce
            return self

        def __exit__(self, *exc):
            objective.Objective.reduce = self.original

        def row_passes(self, n_rows, hessian=None):
            if hessian:
                return float("nan")
            return sum(r for r, _ in self.passes) / n_rows

    return Wrapped()


def softlogit_floor(X, y, repeat=3):
    """The floor of softlogit's fit on ``(X, y)``, measured now: ``passes`` reads of ``X``
    (``X @ v``, best of 10) plus one Hessian, a BLAS ``syrk`` of ``diag(sqrt(w)) [X, 1]``
    (each the faster of one whole-array call and 4 MiB blocks on a thread pool)
    (multinomial: of the ``n x (K-1)(p+1)`` matrix of the K-1 scaled copies, its time
    scaled by ``K (K-1) / (K-1)^2`` to the ``n q^2 K(K-1)/2`` multiply-adds of the
    information matrix). ``passes`` is counted on one more fit with ``coef_table()``, by
    :class:`softlogit.model.objective.PassCounter`, in units of all rows read (a
    subsample's pass counts its share of the rows)."""
    import scipy.linalg.blas as blas

    import softlogit

    K = np.unique(y).size
    n, p = X.shape
    with _pass_counter() as counter:
        m = (softlogit.LogisticRegression() if K == 2 else softlogit.SoftmaxRegression()).fit(X, y)
        m.coef_table()
    v = np.ones(p)
    mq = (K - 1) * (p + 1)
    Z = np.empty((n, mq))  # C order: Z.T is Fortran-ordered, what dsyrk reads without a copy
    s = np.sqrt(np.random.default_rng(0).uniform(0.05, 0.25, n))
    for a in range(K - 1):
        np.multiply(X, s[:, None], out=Z[:, a * (p + 1) : a * (p + 1) + p])
        Z[:, a * (p + 1) + p] = s
    t_read = min(_best_seconds(lambda: X @ v, 10), _on_pool(lambda rows: X[rows] @ v, n, p, 10))
    repeat = max(repeat, 5)
    t_syrk = min(
        _best_seconds(lambda: blas.dsyrk(1.0, Z.T, trans=0, lower=1), repeat),
        _on_pool(lambda rows: Z[rows].T @ Z[rows], n, mq, repeat),
    )
    t_hess = t_syrk * (K / (K - 1) if K > 2 else 1.0)
    passes = counter.row_passes(n)
    return {
        "read": t_read,
        "hessian": t_hess,
        "passes": passes,
        "hessian_passes": counter.row_passes(n, hessian=True),
        "n_passes": len(counter.passes),
        "floor": passes * t_read + t_hess,
    }


def _sklearn(solver):
    def fit(X, y, prep, tol):
        from sklearn.linear_model import LogisticRegression

        m = LogisticRegression(C=np.inf, solver=solver, tol=tol, max_iter=10_000).fit(X, y)
        n_iter = int(np.max(m.n_iter_))
        if m.coef_.shape[0] == 1:
            return m.coef_, m.intercept_, n_iter
        return m.coef_[1:] - m.coef_[0], m.intercept_[1:] - m.intercept_[0], n_iter

    return fit


def _split_params(params, p):
    params = np.asarray(params).reshape(p + 1, -1).T  # (K-1, p+1), constant last
    return params[:, :-1], params[:, -1]


def fit_sm_newton(X, y, Xc, tol):
    import statsmodels.api as sm

    K = np.unique(y).size
    model = sm.Logit(y, Xc) if K == 2 else sm.MNLogit(y, Xc)
    res = model.fit(method="newton", tol=1e-10, maxiter=100, disp=0)
    res.bse  # noqa: B018 - standard errors inside the timed region
    coef, intercept = _split_params(res.params, X.shape[1])
    return coef, intercept, int(res.mle_retvals["iterations"])


def fit_sm_glm(X, y, Xc, tol):
    import statsmodels.api as sm

    res = sm.GLM(y, Xc, family=sm.families.Binomial()).fit(method="IRLS", tol=1e-10, maxiter=100)
    res.bse  # noqa: B018
    coef, intercept = _split_params(res.params, X.shape[1])
    return coef, intercept, int(res.fit_history["iteration"])


def fit_glum(X, y, prep, tol):
    from glum import GeneralizedLinearRegressor

    m = GeneralizedLinearRegressor(family="binomial", alpha=0, gradient_tol=tol, max_iter=100)
    m.fit(X, y)
    return m.coef_[None, :], np.atleast_1d(m.intercept_), int(m.n_iter_)


CONTENDERS = {
    "softlogit": (fit_softlogit, _no_prep, "any"),
    "sklearn lbfgs": (_sklearn("lbfgs"), _no_prep, "any"),
    "sklearn newton-cholesky": (_sklearn("newton-cholesky"), _no_prep, "any"),
    "statsmodels newton": (fit_sm_newton, _with_ones, "any"),
    "statsmodels GLM IRLS": (fit_sm_glm, _with_ones, "binary"),
    "glum (auto: irls-ls)": (fit_glum, _no_prep, "binary"),
}
