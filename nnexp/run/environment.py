"""What a run's numbers depend on besides its config: the BLAS library NumPy calls, its
kernel and its thread count. Recorded in ``summary.json`` (``blas``) so that
``nnexp verify`` can name the likely reason when a re-run parts from the recorded one.
"""

from __future__ import annotations

import os

# Environment variables that pick BLAS's threads or kernels, and so its rounding.
BLAS_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
)


def blas() -> dict:
    """``{"name", "version", "threads", "architecture"}`` of the BLAS NumPy loaded, as
    threadpoolctl sees it when installed (else from NumPy's build configuration, threads
    unknown), plus any set variable of ``BLAS_VARIABLES``."""
    info: dict = {}
    try:
        import threadpoolctl

        found = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
        if found:
            first = _numpy_own(found)
            info = {
                "name": first.get("internal_api"),
                "version": first.get("version"),
                "threads": first.get("num_threads"),
                "architecture": first.get("architecture"),
            }
    except ImportError:
        pass
    if not info:
        info = _from_build_config()
    info.update({v: os.environ[v] for v in BLAS_VARIABLES if v in os.environ})
    return info


def _numpy_own(found: list[dict]) -> dict:
    """Of threadpoolctl's BLAS entries, the one NumPy's wheel brought (in its
    ``numpy.libs`` or ``numpy/.libs`` folder): SciPy's wheel brings an OpenBLAS of its own,
    listed first when SciPy was imported first (Optuna, scikit-learn), and a run's numbers
    come from NumPy's. The first entry when none lies there (a NumPy linked to the
    system's BLAS)."""
    import numpy as np

    home = os.path.dirname(os.path.abspath(np.__file__))
    folders = tuple(f + os.sep for f in (home, home + ".libs"))
    own = [p for p in found if os.path.abspath(str(p.get("filepath", ""))).startswith(folders)]
    return (own or found)[0]


def _from_build_config() -> dict:
    import numpy as np

    try:
        built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # an older NumPy or a build without the record
        return {}
    return {"name": built.get("name"), "version": built.get("version"), "threads": None}
