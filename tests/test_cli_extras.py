"""A missing optional dependency says which extra installs it (issue 12, item 1).

Absence is simulated by ``sys.modules[name] = None``, which makes ``import name`` (and
``importlib.util.find_spec(name)``) fail as if the package were not installed.
"""

import sys

import numpy as np
import pytest
from click.testing import CliRunner

import softlogit as sl
from softlogit.datasets import load_admissions
from softlogit.product import cli

ADM = ["gre", "gpa", "rank_2", "rank_3", "rank_4"]


def _hide(monkeypatch, *names):
    """Make every module ``name`` (and its submodules) impossible to import."""
    for loaded in [m for m in sys.modules if m.split(".")[0] in names]:
        monkeypatch.delitem(sys.modules, loaded)
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="module")
def model():
    adm = load_admissions()
    return sl.LogisticRegression().fit(adm[ADM], adm["admit"]), adm


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "adm.csv"
    load_admissions().to_csv(path, index=False)
    return path


def test_without_matplotlib_plots_and_reports_name_the_plot_extra(monkeypatch, model, tmp_path):
    fitted, adm = model
    from softlogit import plotting
    from softlogit.product.report import write_report

    _hide(monkeypatch, "matplotlib")
    with pytest.raises(ImportError, match=r"pip install softlogit\[plot\]"):
        plotting.plot_coefficients(fitted)
    with pytest.raises(ImportError, match=r"pip install softlogit\[plot\]"):
        write_report(fitted, tmp_path / "r.html", X=adm[ADM], y=adm["admit"])


def test_fit_report_without_matplotlib_stops_before_the_fit(monkeypatch, csv, tmp_path):
    _hide(monkeypatch, "matplotlib")

    def forbidden(*args, **kwargs):
        raise AssertionError("fitted although the report cannot be written")

    monkeypatch.setattr(sl.LogisticRegression, "fit", forbidden)
    result = CliRunner().invoke(
        cli.main, ["fit", str(csv), "--target", "admit", "--report", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 1, result.stderr
    assert "pip install softlogit[plot]" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r.html").exists()


def test_report_command_without_matplotlib(monkeypatch, csv, tmp_path, model):
    fitted, _ = model
    fitted.save(tmp_path / "m.json")
    _hide(monkeypatch, "matplotlib")
    args = ["report", str(tmp_path / "m.json"), str(csv), "--out", str(tmp_path / "r.html")]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 1 and "pip install softlogit[plot]" in result.stderr


def test_without_onnx_export_names_the_onnx_extra(monkeypatch, model):
    fitted, _ = model
    _hide(monkeypatch, "onnx")
    with pytest.raises(ImportError, match=r"pip install softlogit\[onnx\]"):
        fitted.to_onnx()


def test_without_dask_names_the_dask_extra(monkeypatch, tmp_path):
    from softlogit.data import dask_source

    load_admissions()[["admit", "gre"]].to_parquet(tmp_path / "a.parquet")
    _hide(monkeypatch, "dask")
    with pytest.raises(ImportError, match=r"pip install softlogit\[dask\]"):
        dask_source._dask()
    with pytest.raises(ImportError, match=r"pip install softlogit\[dask\]"):
        sl.scan_parquet(tmp_path / "a.parquet", target="admit", dask=True)


def test_without_pyarrow_scans_say_how_to_install_it(monkeypatch, tmp_path):
    path = tmp_path / "a.csv"
    load_admissions()[["admit", "gre"]].to_csv(path, index=False)
    _hide(monkeypatch, "pyarrow")
    with pytest.raises(ImportError, match=r"pip install softlogit"):
        sl.scan_csv(path, target="admit")


def test_demo_without_matplotlib_still_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    _hide(monkeypatch, "matplotlib")
    result = CliRunner().invoke(cli.main, ["demo"])
    assert result.exit_code == 0 and "pip install softlogit[plot]" in result.stderr
    assert np.isfinite(float(result.stdout.split("between the two views:")[1].split()[0]))
