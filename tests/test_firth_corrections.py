"""FLIC and FLAC (penalty="flic" / "flac"; Puhr et al. 2017, R's logistf::flic / flac).

logistf is not among the R packages installed, so the references are built by definition
here, from R's Firth fit (brglm2, type='AS_mean') and statsmodels' GLM: FLIC = Firth's slopes
and the maximum-likelihood intercept with Firth's linear predictor as offset; FLAC = the
maximum-likelihood fit of the data augmented by pseudo-observations of weight h_i / 2 with an
indicator (statsmodels GLM with freq_weights)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as smapi
from scipy.special import expit

import softlogit as sl
from softlogit.datasets import load_admissions

from .rscript import run_r, write_csv_for_r

FORMULA = "admit ~ gre + gpa + gre:gpa + C(rank)"


def design(frame, terms):
    """The numeric design of the coefficient-table terms (intercept first), built here."""

    def column(term):
        if term.startswith("C(rank)[T."):
            return frame["rank"] == int(term[10])
        return np.prod([frame[name] for name in term.split(":")], axis=0)

    return np.column_stack([np.ones(len(frame))] + [np.asarray(column(t), float) for t in terms])


def r_firth(X1, y, tmp_path, weight=None, offset=None):
    """Firth's estimate and covariance from brglm2 (X1 with its intercept column first)."""
    extra = np.column_stack([X1[:, 1:], np.zeros(len(y)) if offset is None else offset])
    path = write_csv_for_r(tmp_path / "d.csv", extra, y, weight)
    p = X1.shape[1] - 1
    terms = " + ".join(f"x{j}" for j in range(p))
    out = run_r(
        f"d <- read.csv('{path}')\n"
        f"f <- glm(y ~ {terms}, offset=x{p}, family=binomial, data=d, method='brglmFit',\n"
        f"         type='AS_mean', {'weights=w, ' if weight is not None else ''}"
        "control=brglmControl(epsilon=1e-13, maxit=500))\n"
        "cat(format(c(f$converged, coef(f), vcov(f)), digits=17))",
        packages=("brglm2",),
    )
    assert out[0] == 1
    k = X1.shape[1]
    return out[1 : 1 + k], out[1 + k :].reshape(k, k)


def flic_by_definition(X1, y, w, offset, beta, V_firth):
    lp = X1[:, 1:] @ beta[1:] + offset
    glm = smapi.GLM(y, np.ones((len(y), 1)), smapi.families.Binomial(), offset=lp, freq_weights=w)
    b0 = glm.fit(tol=1e-13).params[0]
    theta = np.r_[b0, beta[1:]]
    p = expit(X1 @ theta + offset)
    info_inv = np.linalg.inv(X1.T @ (X1 * (w * p * (1 - p))[:, None]))
    se = np.sqrt(np.r_[info_inv[0, 0], np.diag(V_firth)[1:]])
    return theta, se


def flac_by_definition(X1, y, w, offset, beta, V_firth):
    p = expit(X1 @ beta + offset)
    h = w * p * (1 - p) * np.einsum("ij,jk,ik->i", X1, V_firth, X1)  # Firth's hat values
    n = len(y)
    Xa = np.column_stack([np.vstack([X1] * 3), np.r_[np.zeros(n), np.ones(2 * n)]])
    ya = np.r_[y, np.ones(n), np.zeros(n)]
    wa = np.r_[w, h / 2, h / 2]
    glm = smapi.GLM(
        ya, Xa, smapi.families.Binomial(), offset=np.tile(offset, 3), freq_weights=wa
    ).fit(tol=1e-13)
    return glm.params[:-1], glm.bse[:-1]


BY_DEFINITION = {"flic": flic_by_definition, "flac": flac_by_definition}


def table_in_order(model):
    t = model.coef_table()
    return list(t.index[1:]), t["coef"].to_numpy(), t["std_err"].to_numpy()


def separated_frame(n=40, seed=3):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"y": (x1 + 0.3 * x2 > 0.6).astype(int), "x1": x1, "x2": x2})


CASES = {
    "admissions": lambda: (load_admissions(), FORMULA, None, None),
    "separated": lambda: (separated_frame(), "y ~ x1 + x2", None, None),
    "weighted+offset": lambda: (
        load_admissions(),
        FORMULA,
        np.random.default_rng(1).integers(1, 4, size=400).astype(float),
        np.random.default_rng(2).normal(scale=0.3, size=400),
    ),
}


@pytest.mark.parametrize("correction", ["flic", "flac"])
@pytest.mark.parametrize("case", list(CASES))
def test_against_the_definition_on_r_firth(case, correction, tmp_path):
    frame, formula, weight, offset = CASES[case]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # finite also under separation: no warning
        m = sl.LogisticRegression(penalty=correction, formula=formula, tol=1e-12)
        m.fit(frame, sample_weight=weight, offset=offset)
    assert m.converged_
    terms, coef, se = table_in_order(m)
    X1 = design(frame, terms)
    y = frame[formula.split(" ~")[0]].to_numpy(float)
    w = np.ones(len(y)) if weight is None else weight
    o = np.zeros(len(y)) if offset is None else offset
    beta, V = r_firth(X1, y, tmp_path, weight, offset)
    ref_coef, ref_se = BY_DEFINITION[correction](X1, y, w, o, beta, V)
    np.testing.assert_allclose(coef, ref_coef, rtol=1e-6)
    np.testing.assert_allclose(se, ref_se, rtol=1e-6)
    # the point of both: mean fitted probability = observed proportion (Firth's is not)
    p = m.predict_proba(frame, offset=offset)[:, 1]
    np.testing.assert_allclose(np.average(p, weights=w), np.average(y, weights=w), atol=1e-9)
    firth = sl.LogisticRegression(penalty="firth", formula=formula).fit(
        frame, sample_weight=weight, offset=offset
    )
    p_firth = firth.predict_proba(frame, offset=offset)[:, 1]
    assert abs(np.average(p_firth, weights=w) - np.average(y, weights=w)) > 1e-4


def test_flic_keeps_firth_slopes_and_only_moves_the_intercept():
    d = load_admissions()
    firth = sl.LogisticRegression(penalty="firth", formula=FORMULA, tol=1e-12).fit(d)
    flic = sl.LogisticRegression(penalty="flic", formula=FORMULA, tol=1e-12).fit(d)
    np.testing.assert_array_equal(flic.coef_, firth.coef_)
    assert flic.intercept_[0] != firth.intercept_[0]
    assert "penalty='flic'" in str(flic.summary())


def test_corrections_are_binary_and_survive_a_model_file(tmp_path):
    d = load_admissions()
    with pytest.raises(ValueError, match="binary Firth fit"):
        sl.SoftmaxRegression(penalty="flac", formula="rank ~ gre + gpa").fit(d)
    with pytest.raises(ValueError, match="fit_intercept=True"):
        sl.LogisticRegression(penalty="flic", fit_intercept=False).fit(d[["gre", "gpa"]], d.admit)
    m = sl.LogisticRegression(penalty="flac", formula=FORMULA).fit(d)
    m.save(tmp_path / "m.json")
    back = sl.load(tmp_path / "m.json")
    pd.testing.assert_frame_equal(back.coef_table(), m.coef_table())
