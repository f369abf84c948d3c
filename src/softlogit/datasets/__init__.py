"""Small public example data sets bundled with softlogit.

* ``admissions``: UCLA graduate admissions (400 rows): ``admit`` (0/1) with ``gre``, ``gpa``
  and ``rank`` (1-4, also as dummies ``rank_2..rank_4``).
* ``hsbdemo``: High School and Beyond (200 rows): program choice ``prog`` (academic, general,
  vocation) with ``ses``, ``write`` and more.
* ``mtcars``: Motor Trend cars (32 rows): engine shape ``vs`` (0/1) with ``wt``, ``disp``...
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

__all__ = ["load_admissions", "load_hsbdemo", "load_mtcars"]


def _load(name):
    with files(__package__).joinpath(f"{name}.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def load_admissions():
    """UCLA graduate admissions data as a pandas DataFrame (400 rows).

    Returns
    -------
    DataFrame
        ``admit`` (0/1), ``gre`` (GRE score), ``gpa`` (grade point average), ``rank``
        (prestige of the undergraduate institution, 1 highest to 4) and its dummies
        ``rank_2, rank_3, rank_4``.

    Examples
    --------
    >>> from softlogit.datasets import load_admissions
    >>> adm = load_admissions()
    >>> adm.shape, int(adm["admit"].sum())
    ((400, 7), 127)
    """
    return _load("admissions")


def load_hsbdemo():
    """High School and Beyond program-choice data as a pandas DataFrame (200 rows).

    Returns
    -------
    DataFrame
        ``prog`` (academic, general, vocation), ``ses`` (low, middle, high) with dummies
        ``ses_middle, ses_high``, the scores ``read, write, math, science, socst``, and
        ``id, female, schtyp, honors, awards, cid, female01, honcomp, honors01, prog_code``.

    Examples
    --------
    >>> from softlogit.datasets import load_hsbdemo
    >>> load_hsbdemo()["prog"].value_counts().sort_index().tolist()
    [105, 45, 50]
    """
    return _load("hsbdemo")


def load_mtcars():
    """Motor Trend car road tests as a pandas DataFrame (32 rows).

    Returns
    -------
    DataFrame
        ``model`` and R's ``mtcars`` columns ``mpg, cyl, disp, hp, drat, wt, qsec, vs, am,
        gear, carb`` (``vs``: engine shape, 0 V-shaped or 1 straight; ``am``: 1 manual).
    """
    return _load("mtcars")
