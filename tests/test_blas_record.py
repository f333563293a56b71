"""summary.json's ``blas`` names the BLAS NumPy calls, whichever other library
(SciPy's wheel brings an OpenBLAS of its own) the process loaded first."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import threadpoolctl

from nnexp.run import environment


def _entry(filepath: str, version: str) -> dict:
    return {
        "user_api": "blas",
        "internal_api": "openblas",
        "filepath": filepath,
        "version": version,
        "num_threads": 1,
        "architecture": "Haswell",
    }


def test_blas_is_numpys_own_when_another_is_listed_first(monkeypatch):
    home = os.path.dirname(os.path.abspath(np.__file__))
    site = os.path.dirname(home)
    found = [
        _entry(os.path.join(site, "scipy.libs", "libscipy_openblas-1.so"), "0.3.30"),
        _entry(os.path.join(home + ".libs", "libscipy_openblas64_-2.so"), "0.3.31"),
    ]
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: found)
    assert environment.blas()["version"] == "0.3.31"
    # NumPy's in numpy/.libs (older wheels) counts as its own too
    found[1] = _entry(os.path.join(home, ".libs", "libopenblas-3.so"), "0.3.29")
    assert environment.blas()["version"] == "0.3.29"


def test_blas_is_the_first_when_none_is_numpys(monkeypatch):
    found = [
        _entry("/usr/lib/libopenblas.so.0", "0.3.21"),
        _entry("/opt/other/libblas.so", "3.12"),
    ]
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: found)
    assert environment.blas()["version"] == "0.3.21"


def test_blas_recorded_after_scipy_was_imported_is_numpys():
    """The real libraries, in a fresh interpreter that imports SciPy first (as a sweep
    with Optuna does): the same record as one that never imports SciPy."""
    pytest.importorskip("scipy.linalg")
    code = "import {}; from nnexp.run.environment import blas; print(blas())"
    seen = [
        subprocess.run(
            [sys.executable, "-c", code.format(first)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for first in ("scipy.linalg", "numpy")
    ]
    assert seen[0] == seen[1]
