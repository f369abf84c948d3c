"""The command line, run as a user runs it."""

import re
import subprocess
import sys

from softlogit.demo import run_demo


def test_softlogit_demo_runs_and_both_views_agree():
    out = subprocess.run(
        [sys.executable, "-m", "softlogit.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "Binary: admit" in out and "Softmax: prog" in out
    for name in ("gre", "gpa", "rank_2", "write", "ses_high", "vocation", "general"):
        assert name in out
    diffs = [float(v) for v in re.findall(r"between the two views: ([0-9.e+-]+)", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-4
    lls = re.findall(r"log-likelihood: newton (-[0-9.]+)", out)
    # R's glm(admit ~ gre + gpa + factor(rank)) on these data: residual deviance 458.52
    assert abs(float(lls[0]) - (-458.52 / 2)) < 0.005


def test_run_demo_returns_difference():
    text, diff = run_demo()
    assert 0 <= diff < 1e-4 and "Intercept" in text


def test_cli_help_and_bad_command():
    ok = subprocess.run(
        [sys.executable, "-m", "softlogit.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "demo" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "softlogit.cli", "frobnicate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "No such command" in bad.stderr
