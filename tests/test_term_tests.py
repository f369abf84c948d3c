"""Tests of terms and models (issue 13, item 5): sequential / drop-one / Type II / III
analysis-of-deviance tables, Rao score tests of nested models and Wald tests of linear
restrictions, against R (stats' anova.glm and drop1, car's Anova and linearHypothesis,
nnet's multinom) on a binary model with a factor and an interaction, a multinomial model with
K = 3 (and an interaction) and a weighted fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import softlogit as sl
from softlogit.datasets import load_admissions, load_hsbdemo

from .rscript import run_r

RTOL = 1e-6  # glm: IRLS to epsilon 1e-14; the statistics agree to 3e-8 relative at most
#: nnet's multinom is fitted by BFGS (reltol 1e-15, to its own convergence limit): its
#: deviances agree to 2e-7 at most, its estimates only to ~1e-7, and a Wald statistic of a small
#: difference carries that (1.4e-6 measured); polished by Newton in R they agree to 1e-6.
RTOL_MULTINOM = 1e-5

BINARY = "admit ~ gre*gpa + C(rank)"
BINARY_R = "admit ~ gre*gpa + rank"
MULTI = "prog ~ write*C(female) + C(ses)"
MULTI_R = "prog ~ write*female + ses"
#: R's sequence of sub-models of MULTI_R, in the formula's order of terms (by degree)
#: the binary cases: (weighted, offset)
CASES = {"plain": (False, False), "weighted": (True, False), "weighted_offset": (True, True)}
MN_OPTIONS = "trace=FALSE, maxit=5000, reltol=1e-15, abstol=1e-300, Hess=TRUE"
MULTI_R_SEQ = ["1", "write", "write + female", "write + female + ses", "write*female + ses"]


def _admissions(weighted, offset=False):
    d = load_admissions()[["admit", "gre", "gpa", "rank"]].copy()
    d["w"] = 1.0 + np.arange(len(d)) % 3 if weighted else 1.0
    d["o"] = np.sin(np.arange(len(d))) if offset else 0.0
    return d


def _hsb(weighted=False):
    d = load_hsbdemo()[["prog", "write", "female", "ses"]].copy()
    d["w"] = 1.0 + np.arange(len(d)) % 4 if weighted else 1.0
    return d


def _out(*names):
    return "".join(f"cat(format({n}, digits=17), '\\n')\n" for n in names)


@pytest.fixture(scope="module")
def binary_r(tmp_path_factory):
    """R's tables for the binary model: plain, weighted (frequency weights 1-3), and with
    weights and an offset."""
    refs = {}
    for case in CASES:
        path = tmp_path_factory.mktemp("r") / "adm.csv"
        _admissions(*CASES[case]).to_csv(path, index=False)
        script = f"""
d <- read.csv('{path}'); d$rank <- factor(d$rank)
f <- glm({BINARY_R}, binomial, d, weights=w, offset=o,
         control=glm.control(epsilon=1e-14, maxit=100))
a <- anova(f, test='Rao')
s1 <- drop1(f, test='LRT'); s2 <- drop1(f, test='Rao')
A2 <- Anova(f, type=2); A3 <- Anova(f, type=3)
"""
        script += _out(
            "a$Df[-1]", "a$Deviance[-1]", "a[['Resid. Dev']]", "a$Rao[-1]", "a[['Pr(>Chi)']][-1]",
            "s1$Df[-1]", "s1$Deviance", "s1$AIC", "s1$LRT[-1]", "s1[['Pr(>Chi)']][-1]",
            "s2[['Rao score']][-1]", "s2[['Pr(>Chi)']][-1]",
            "A2[['LR Chisq']]", "A2[['Pr(>Chisq)']]", "A3[['LR Chisq']]", "A3[['Pr(>Chisq)']]",
        )  # fmt: skip
        refs[case] = run_r(script, packages=("car",))
    return refs


def _binary_model(weighted, offset=False):
    d = _admissions(weighted, offset)
    model = sl.LogisticRegression(formula=BINARY)
    return model.fit(d, sample_weight=d["w"].to_numpy(), offset=d["o"].to_numpy())


@pytest.mark.parametrize("case", list(CASES))
def test_binary_tables_equal_r(binary_r, case):
    ref = binary_r[case]
    m = _binary_model(*CASES[case])
    seq, seq_lr = m.anova("Rao"), m.anova("LRT")
    d1, d1r = m.anova("LRT", "drop1"), m.anova("Rao", "drop1")
    t2, t3 = m.anova("LRT", 2), m.anova("LRT", 3)
    ours = np.concatenate([
        seq["df"][1:], seq["deviance"][1:], seq["resid_dev"], seq["rao"][1:],
        seq["p_value"][1:],
        d1["df"][1:], d1["deviance"], d1["aic"], d1["lrt"][1:], d1["p_value"][1:],
        d1r["rao"][1:], d1r["p_value"][1:],
        t2["lr_chisq"], t2["p_value"], t3["lr_chisq"], t3["p_value"],
    ])  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=RTOL)
    # the LRT table is the Rao table's likelihood-ratio part with p-values of the LR
    np.testing.assert_allclose(seq_lr["deviance"][1:], seq["deviance"][1:])
    assert list(seq.index) == ["NULL", "gre", "gpa", "C(rank)", "gre:gpa"]
    assert list(d1.index) == ["<none>", "C(rank)", "gre:gpa"]  # marginality: gre, gpa kept
    if case == "plain":  # R counts rows, softlogit the sum of the weights
        np.testing.assert_array_equal(seq["resid_df"], [399, 398, 397, 394, 393])


@pytest.fixture(scope="module")
def multinom_r(tmp_path_factory):
    """nnet::multinom fits of the sequence of sub-models, car's Type II / III tests, and
    Rao statistics by definition (score and information of the larger model matrix at the
    smaller model's fitted probabilities); unweighted and weighted (frequency weights 1-4)."""
    return {weighted: _multinom_r(tmp_path_factory, weighted) for weighted in (False, True)}


def _multinom_r(tmp_path_factory, weighted):
    path = tmp_path_factory.mktemp("r") / "hsb.csv"
    _hsb(weighted).to_csv(path, index=False)
    fits = "\n".join(
        f"m{i} <- multinom(prog ~ {rhs}, h, weights=w, {MN_OPTIONS})\nf{i} <- ~ {rhs}"
        for i, rhs in enumerate(MULTI_R_SEQ)
    )
    script = f"""
h <- read.csv('{path}'); h$prog <- factor(h$prog); h$female <- factor(h$female)
h$ses <- factor(h$ses)
{fits}
rao <- function(small, large) {{
  X <- model.matrix(large, h); P <- fitted(small); Y <- class.ind(h$prog)
  K <- ncol(P); U <- c(); I <- matrix(0, (K-1)*ncol(X), (K-1)*ncol(X))
  for (k in 2:K) {{
    U <- c(U, crossprod(X, h$w * (Y[, k] - P[, k])))
    for (l in 2:K) {{
      v <- h$w * P[, k] * ((k == l) - P[, l])
      I[(k-2)*ncol(X) + 1:ncol(X), (l-2)*ncol(X) + 1:ncol(X)] <- crossprod(X, v * X)
    }}
  }}
  sum(U * solve(I, U))
}}
dev <- sapply(list(m0, m1, m2, m3, m4), deviance)
seqrao <- c(rao(m0, f1), rao(m1, f2), rao(m2, f3), rao(m3, f4))
m_noses <- multinom(prog ~ write*female, h, weights=w, {MN_OPTIONS})
droprao <- c(rao(m_noses, f4), rao(m3, f4))
A2 <- Anova(m4, type=2); A3 <- Anova(m4, type=3)
"""
    script += _out("dev", "seqrao", "droprao", "A2[['LR Chisq']]", "A2$Df", "A3[['LR Chisq']]")
    return run_r(script, packages=("nnet", "car"))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_multinomial_tables_equal_r(multinom_r, weighted):
    ref = multinom_r[weighted]
    d = _hsb(weighted)
    m = sl.SoftmaxRegression(formula=MULTI).fit(d, sample_weight=d["w"].to_numpy())
    seq = m.anova("Rao")
    assert list(seq.index) == ["NULL", "write", "C(female)", "C(ses)", "write:C(female)"]
    np.testing.assert_array_equal(seq["df"][1:], [2, 2, 4, 2])  # K - 1 = 2 per column
    d1 = m.anova("Rao", "drop1")
    t2, t3 = m.anova("LRT", 2), m.anova("LRT", 3)
    ours = np.concatenate([
        seq["resid_dev"], seq["rao"][1:], d1["rao"][1:], t2["lr_chisq"], t2["df"],
        t3["lr_chisq"],
    ])  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=RTOL)  # deviances: BFGS is ~1e-7 off at most
    # drop1's LR statistics are the Type III ones of the terms in its scope
    d1_lr = m.anova("LRT", "drop1")
    np.testing.assert_allclose(d1_lr["lrt"][1:], t3.loc[d1_lr.index[1:], "lr_chisq"])


def test_symmetric_softmax_gives_the_same_tables():
    ref = sl.SoftmaxRegression(formula=MULTI).fit(_hsb()).anova("LRT", 2)
    sym = sl.SoftmaxRegression(formula=MULTI, reference=None).fit(_hsb()).anova("LRT", 2)
    np.testing.assert_allclose(sym.to_numpy(), ref.to_numpy(), rtol=1e-7)


# ---------------------------------------------------------------------------- nested models
def test_score_test_and_anova_of_models_equal_r(tmp_path):
    path = tmp_path / "adm.csv"
    d = _admissions(weighted=True)
    d.to_csv(path, index=False)
    script = f"""
d <- read.csv('{path}'); d$rank <- factor(d$rank)
ctl <- glm.control(epsilon=1e-14, maxit=100)
f0 <- glm(admit ~ gpa, binomial, d, weights=w, control=ctl)
f1 <- glm(admit ~ gre + gpa, binomial, d, weights=w, control=ctl)
f2 <- glm({BINARY_R}, binomial, d, weights=w, control=ctl)
a <- anova(f0, f1, f2, test='Rao'); b <- anova(f0, f1, f2, test='LRT')
"""
    script += _out("a$Rao[-1]", "a[['Pr(>Chi)']][-1]", "b$Deviance[-1]", "b[['Pr(>Chi)']][-1]")
    ref = run_r(script)
    w = d["w"].to_numpy()
    fits = [
        sl.LogisticRegression(formula=f).fit(d, sample_weight=w)
        for f in ("admit ~ gpa", "admit ~ gre + gpa", BINARY)
    ]
    rao, lrt = sl.anova(*fits, test="Rao"), sl.anova(*fits, test="LRT")
    ours = np.concatenate([rao["rao"][1:], rao["p_value"][1:], lrt["deviance"][1:],
                           lrt["p_value"][1:]])  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=RTOL)
    single = sl.score_test(fits[0], fits[2])
    assert single.name == "Rao" and single.df == 5
    with pytest.raises(ValueError, match="not nested"):
        sl.score_test(fits[2], fits[0])


def test_score_test_refuses_models_of_other_rows():
    d = _admissions(weighted=False)
    small = sl.LogisticRegression(formula="admit ~ gpa").fit(d.iloc[:300])
    other = d.iloc[100:].reset_index(drop=True)
    large = sl.LogisticRegression(formula="admit ~ gre + gpa").fit(other.iloc[:300])
    with pytest.raises(ValueError, match="not nested on the same rows"):
        sl.score_test(small, large)


def test_rao_equals_statsmodels_score_test():
    """A second oracle: statsmodels' GLM score test of added columns."""
    sm = pytest.importorskip("statsmodels.api")
    d = _admissions(weighted=False)
    X = np.column_stack([np.ones(len(d)), d["gre"], d["gpa"]])
    extra = np.column_stack([d["rank"] == r for r in (2, 3, 4)]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = sm.GLM(d["admit"], X, family=sm.families.Binomial()).fit(tol=1e-14)
        stat = small.score_test(exog_extra=extra)[0]
    m = sl.LogisticRegression(formula="admit ~ gre + gpa + C(rank)").fit(d)
    np.testing.assert_allclose(m.anova("Rao", 3).loc["C(rank)", "rao"], stat, rtol=1e-7)


# ---------------------------------------------------------------------------- refusals
def test_penalised_fit_and_bad_arguments_are_refused():
    d = _admissions(weighted=False)
    m = sl.LogisticRegression(formula=BINARY, penalty="l2", alpha=0.1).fit(d)
    with pytest.raises(ValueError, match="unpenalised"):
        m.anova()
    m = sl.LogisticRegression(formula=BINARY).fit(d)
    with pytest.raises(ValueError, match="test="):
        m.anova(test="F")
    with pytest.raises(ValueError, match="type="):
        m.anova(type=4)


def test_columns_are_terms_without_a_formula_and_aliasing_is_found_again():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # x3 aliased in the full model only
    y = (X[:, 0] - X[:, 1] + rng.logistic(size=300) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.CollinearityWarning)
        m = sl.LogisticRegression().fit(X, y)
    t3 = m.anova("LRT", 3)
    assert list(t3.index) == ["x0", "x1", "x2", "x3"]
    # dropping x0 makes x3 estimable: x0 + x1 is still in the column space, 0 df, LR 0
    assert t3.loc["x0", "df"] == 0 and abs(t3.loc["x0", "lr_chisq"]) < 1e-8
    seq = m.anova("LRT")
    assert seq.loc["x3", "df"] == 0 and np.isnan(seq.loc["x3", "p_value"])


# ---------------------------------------------------------------------------- Wald tests
WALD_BINARY = [
    ("gre = gpa", "'gre = gpa'"),
    ("2*gre - gpa = 1", "'2*gre - gpa = 1'"),
    ("C(rank)[T.2] = C(rank)[T.3], gre:gpa = 0", "c('rank2 = rank3', 'gre:gpa = 0')"),
    ("C(rank)[T.2] - 2*C(rank)[T.4] = 0.5", "'rank2 - 2*rank4 = 0.5'"),
    ("Intercept + gpa/2 = -3", "'(Intercept) + 0.5*gpa = -3'"),
    ("gre - gpa", "'gre - gpa'"),  # no '=': '= 0', as car and patsy read it
    ("2*(gre - gpa) = 1", "'2*gre - 2*gpa = 1'"),  # car reads no parentheses
    ("gre = gpa = 0", "c('gre = gpa', 'gpa = 0')"),  # a chain, as patsy reads it
]
WALD_MULTI = [
    ("general:write = vocation:write", "'general:write = vocation:write'"),
    ("write = 0", "c('general:write = 0', 'vocation:write = 0')"),
    ("2*general:C(ses)[T.low] - vocation:C(ses)[T.middle] = 1",
     "'2*general:seslow - vocation:sesmiddle = 1'"),
    ("C(ses)[T.low] = C(ses)[T.middle]", "c('general:seslow = general:sesmiddle', "
     "'vocation:seslow = vocation:sesmiddle')"),
]  # fmt: skip


def _lh(model_var, pairs):
    return "".join(
        f"cat(format(linearHypothesis({model_var}, {r})$Chisq[2], digits=17), '\\n')\n"
        for _, r in pairs
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_wald_binary_equals_linear_hypothesis(tmp_path, weighted):
    path = tmp_path / "adm.csv"
    _admissions(weighted).to_csv(path, index=False)
    script = f"""
d <- read.csv('{path}'); d$rank <- factor(d$rank)
f <- glm({BINARY_R}, binomial, d, weights=w, control=glm.control(epsilon=1e-14, maxit=100))
"""
    ref = run_r(script + _lh("f", WALD_BINARY), packages=("car",))
    m = _binary_model(weighted)
    ours = [m.wald_test(h).statistic for h, _ in WALD_BINARY]
    np.testing.assert_allclose(ours, ref, rtol=RTOL)


def test_wald_multinomial_equals_linear_hypothesis(tmp_path):
    path = tmp_path / "hsb.csv"
    _hsb().to_csv(path, index=False)
    script = f"""
h <- read.csv('{path}'); h$prog <- factor(h$prog); h$female <- factor(h$female)
h$ses <- factor(h$ses)
mm <- multinom({MULTI_R}, h, {MN_OPTIONS})
# BFGS stops ~1e-7 short of the optimum: three Newton steps (exact score and information)
X <- model.matrix(mm); Y <- class.ind(h$prog); p <- ncol(X); b <- as.vector(t(coef(mm)))
for (it in 1:3) {{
  E <- cbind(0, X %*% t(matrix(b, 2, byrow=TRUE))); P <- exp(E - apply(E, 1, max))
  P <- P / rowSums(P); U <- c(); I <- matrix(0, 2 * p, 2 * p)
  for (k in 2:3) {{
    U <- c(U, crossprod(X, Y[, k] - P[, k]))
    for (l in 2:3) I[(k-2)*p + 1:p, (l-2)*p + 1:p] <- crossprod(X, P[, k] * ((k == l) - P[, l]) * X)
  }}
  b <- b + solve(I, U)
}}
cf <- coef(mm); names(b) <- as.vector(t(outer(rownames(cf), colnames(cf), paste, sep=":")))
V <- solve(I); dimnames(V) <- list(names(b), names(b))
"""
    ref = run_r(script + _lh("mm", WALD_MULTI), packages=("nnet", "car"))
    polished = run_r(
        script + _lh("mm", WALD_MULTI).replace(")$Chisq", ", coef.=b, vcov.=V)$Chisq"),
        packages=("nnet", "car"),
    )
    m = sl.SoftmaxRegression(formula=MULTI).fit(_hsb())
    ours = [m.wald_test(h).statistic for h, _ in WALD_MULTI]
    np.testing.assert_allclose(ours, ref, rtol=RTOL_MULTINOM)  # multinom's own estimates
    np.testing.assert_allclose(ours, polished, rtol=RTOL)  # at the exact optimum


def test_streamed_fit_gives_the_in_memory_tables(tmp_path):
    """Restricted models are refitted on the objective's own source: a CSV stream, read in
    batches, gives the in-memory tables (columns are the terms without a formula)."""
    d = _admissions(weighted=True)
    cols = ["gre", "gpa"]
    d["gre"] = d["gre"] / 100
    path = tmp_path / "adm.csv"
    d.to_csv(path, index=False)
    scan = sl.scan_csv(path, target="admit", features=cols, weight="w", batch_rows=64)
    streamed = sl.LogisticRegression().fit(scan)
    memory = sl.LogisticRegression().fit(d[cols], d["admit"], sample_weight=d["w"])
    for test, kind in (("Rao", "sequential"), ("LRT", 2), ("Rao", "drop1")):
        a, b = streamed.anova(test, kind), memory.anova(test, kind)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-8)


def test_without_intercept_the_null_model_has_no_parameters(tmp_path):
    d = _admissions(weighted=False)
    m = sl.LogisticRegression(formula="admit ~ gpa + C(rank) - 1", fit_intercept=False).fit(d)
    seq = m.anova("Rao")
    path = tmp_path / "adm.csv"
    d.to_csv(path, index=False)
    script = f"""
d <- read.csv('{path}'); d$rank <- factor(d$rank)
f <- glm(admit ~ gpa + rank - 1, binomial, d, control=glm.control(epsilon=1e-14, maxit=100))
a <- anova(f, test='Rao')
"""
    ref = run_r(script + _out("a$Df[-1]", "a[['Resid. Dev']]", "a$Rao[-1]"))
    ours = np.concatenate([seq["df"][1:], seq["resid_dev"], seq["rao"][1:]])
    np.testing.assert_allclose(ours, ref, rtol=RTOL)
    assert np.isclose(seq.loc["NULL", "resid_dev"], 2 * len(d) * np.log(2))  # all p = 1/2
    assert seq.loc["NULL", "resid_df"] == len(d)
    assert np.isclose(seq["deviance"].sum(), seq["resid_dev"].iloc[0] - m.deviance_)


def test_restriction_forms_equal_statsmodels():
    """patsy's forms (parentheses, no '=', chains) as statsmodels reads them."""
    smf = pytest.importorskip("statsmodels.formula.api")
    d = _admissions(weighted=False)
    ref = smf.logit(BINARY, d).fit(disp=0, method="newton", tol=1e-12)
    m = _binary_model(weighted=False)
    forms = {"2*(gre - gpa) = 1": 1, "gre - gpa": 1, "gre = gpa = 0": 2,
             "C(rank)[T.2] = (C(rank)[T.3] + C(rank)[T.4]) / 2": 1,
             "-(gpa - 1) = gre:gpa * 3": 1}  # fmt: skip
    for h, df in forms.items():
        theirs = ref.wald_test(h, scalar=True)
        ours = m.wald_test(h)
        np.testing.assert_allclose(ours.statistic, theirs.statistic, rtol=1e-6, err_msg=h)
        assert ours.df == df


def test_softmax_nested_models_match_the_sequential_table():
    hsb = _hsb()
    small = sl.SoftmaxRegression(formula="prog ~ write").fit(hsb)
    large = sl.SoftmaxRegression(formula="prog ~ write + C(ses)").fit(hsb)
    seq = large.anova("Rao")
    score = sl.score_test(small, large)
    assert score.df == 4
    np.testing.assert_allclose(score.statistic, seq.loc["C(ses)", "rao"], rtol=1e-8)
    table = sl.anova(small, large)
    np.testing.assert_allclose(table.loc[2, "deviance"], seq.loc["C(ses)", "deviance"], rtol=1e-8)


def test_firth_fit_is_refused():
    m = sl.LogisticRegression(formula=BINARY, penalty="firth").fit(_admissions(False))
    with pytest.raises(ValueError, match="unpenalised"):
        m.anova()
    small = sl.LogisticRegression(formula="admit ~ gpa").fit(_admissions(False))
    with pytest.raises(ValueError, match="unpenalised"):
        sl.score_test(small, m)
