"""What the benchmark sections share: composing nnexp's config, timing contenders in turns,
the machine they ran on, optional peers, and the rows of the results table.

Timing rules, the same in every section: only the training loop is timed (never imports,
building or writing files), every contender runs in this one process, the contenders
take turns repeat after repeat, each keeps its best repeat, and each run starts after a
short pause so that threads a previous contender left spinning (OpenBLAS's workers spin
for about 0.1 s after a call) have gone to sleep.
"""

from __future__ import annotations

import csv
import importlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS_CSV = HERE / "results.csv"
PAUSE = 0.25  # seconds between two timed runs
PEER_HINT = 'pip install -e ".[bench]"'


def compiled(tree: Path) -> None:
    """Compile the tree's bytecode once, in place, as installing a package does: where
    PYTHONDONTWRITEBYTECODE is set and a source tree holds no __pycache__, every start
    would compile nnexp's modules again, which no installed nnexp does. (Not into a
    PYTHONPYCACHEPREFIX: Python then looks for every module's bytecode there, and the
    first timed command compiled the standard library, NumPy, pandas, Matplotlib and
    Hydra too, seconds in its start-up.)"""
    folders = [str(tree / "nnexp"), str(tree / "hydra_plugins")]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *folders], check=True, capture_output=True
    )


def compose_config(overrides: list[str]):
    """nnexp's config exactly as ``python -m nnexp <overrides>`` composes it."""
    from hydra import compose, initialize_config_dir

    from nnexp.edge.config import CONF_DIR, register

    register()  # the schema the config's defaults list names
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=overrides)


@dataclass
class Timed:
    """One contender's best repeat: seconds of its training loop, and what it computed
    (final loss, weights) for the same-numbers check."""

    seconds: float
    result: dict


def nnexp_run(cfg) -> Timed:
    """Train what ``python -m nnexp`` builds from ``cfg``, timing ``train`` alone."""
    from nnexp.run.setup import build

    setup = build(cfg)
    start = time.perf_counter()
    history = setup.train()
    seconds = time.perf_counter() - start
    return Timed(
        seconds,
        {
            "weights": [w.copy() for w in setup.params.weights],
            "loss": float(history.columns["loss"][-1]),
        },
    )


def take_turns(contenders: dict[str, Callable[[], Timed]], repeats: int) -> dict[str, Timed]:
    """Run every contender ``repeats`` times, in turns; keep each one's fastest run."""
    best: dict[str, Timed] = {}
    for _ in range(repeats):
        for name, run in contenders.items():
            time.sleep(PAUSE)
            timed = run()
            if name not in best or timed.seconds < best[name].seconds:
                best[name] = timed
    return best


def peer(module: str):
    """The peer's module, or None when it is not installed (its rows then say so)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def blas() -> dict:
    """NumPy's BLAS as threadpoolctl sees it: library, version, kernel, threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {}
    for pool in threadpool_info():
        if pool["user_api"] == "blas" and "numpy" in pool["filepath"]:
            return pool
    return {}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The machine and the libraries, as one flat record (also written into the CSV)."""
    pool = blas()
    info = {
        "cpu": f"{cpu_model()}, {os.cpu_count()} cores",
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": (
            f"{pool.get('internal_api')} {pool.get('version')}, "
            f"{pool.get('architecture')} kernels, {pool.get('num_threads')} threads"
            if pool
            else "unknown (pip install threadpoolctl)"
        ),
        "openblas_env": " ".join(
            f"{k}={os.environ[k]}"
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
            )
            if k in os.environ
        )
        or "none",
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for name in ("torch", "sklearn"):
        module = peer(name)
        info[name] = module.__version__ if module else "not installed"
    torch = peer("torch")
    if torch is not None:
        info["torch_blas"] = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    return info


@dataclass
class Row:
    """One line of the results: a contender's time in one case, and where it is not nnexp,
    nnexp's time divided by it (the ratio the goals are stated in)."""

    section: str
    case: str
    contender: str
    dtype: str = ""
    value: float | None = None  # the time, in ``unit``
    unit: str = ""
    ratio: float | None = None  # nnexp's time / this contender's
    goal: str = ""  # e.g. "<= 0.50"
    met: str = ""  # yes / no / "" where there is no goal
    agreement: str = ""  # how closely the results agree with nnexp's
    note: str = ""

    def judge(self) -> Row:
        if self.goal and self.ratio is not None:
            self.met = "yes" if self.ratio <= float(self.goal.split()[-1]) else "no"
        return self


def ratio_row(
    section: str,
    case: str,
    contender: str,
    dtype: str,
    seconds: float,
    nnexp_seconds: float,
    unit: str,
    goal: str = "",
    agreement: str = "",
    note: str = "",
) -> Row:
    scale = {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    return Row(
        section,
        case,
        contender,
        dtype,
        seconds * scale,
        unit,
        nnexp_seconds / seconds,
        goal,
        agreement=agreement,
        note=note,
    ).judge()


def skipped_row(section: str, case: str, contender: str, dtype: str, goal: str, module: str) -> Row:
    return Row(
        section,
        case,
        contender,
        dtype,
        goal=goal,
        met="skipped",
        note=f"{module} is not installed: {PEER_HINT}",
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if abs(value) >= 1 else f"{value:.3f}"


def print_table(rows: list[Row], info: dict) -> None:
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    header = [
        "section",
        "case",
        "contender",
        "dtype",
        "time",
        "nnexp ÷ it",
        "goal",
        "met",
        "same numbers",
    ]
    table = [header] + [
        [
            r.section,
            r.case,
            r.contender,
            r.dtype,
            f"{_fmt(r.value)} {r.unit}".strip(),
            _fmt(r.ratio),
            r.goal,
            r.met,
            r.agreement or r.note,
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1])


def write_csv(rows: list[Row], info: dict, path: Path = RESULTS_CSV) -> None:
    """The rows, after one ``# key: value`` comment line per machine fact."""
    with open(path, "w", newline="") as f:
        for key, value in info.items():
            f.write(f"# {key}: {value}\n")
        writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(Row)])
        writer.writeheader()
        for row in rows:
            record = asdict(row)
            for key in ("value", "ratio"):
                if record[key] is not None:
                    record[key] = f"{record[key]:.6g}"
            writer.writerow(record)


def markdown_table(rows: list[Row]) -> str:
    """The rows as the README's performance table."""
    lines = [
        "| case | contender | dtype | time | nnexp ÷ it | goal | met |",
        "| --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.contender} | {r.dtype} | {_fmt(r.value)} {r.unit} | "
            f"{_fmt(r.ratio)} | {r.goal} | {r.met} |"
        )
    return "\n".join(lines)
