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
    """UCLA graduate admissions data as a pandas DataFrame (400 rows)."""
    return _load("admissions")


def load_hsbdemo():
    """High School and Beyond program-choice data as a pandas DataFrame (200 rows)."""
    return _load("hsbdemo")


def load_mtcars():
    """Motor Trend car road tests as a pandas DataFrame (32 rows)."""
    return _load("mtcars")
