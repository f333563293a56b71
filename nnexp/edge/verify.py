"""``nnexp verify RUN_DIR|SWEEP_DIR``: does a run folder reproduce, bit for bit?

Each run is trained again from what its folder recorded (``summary.json``'s resolved
config and command, in the working folder ``.hydra/hydra.yaml`` names) into a temporary
folder, and its files are compared with the recorded ones: ``metrics.csv`` (every column
but ``seconds``), ``model.npz`` (every array, byte for byte) and ``predictions.csv``.
A failed run verifies when it fails again with the same error.

Beside the files, the record is checked against itself (``summary.json``'s config against
``.hydra/config.yaml``) and the environment against the recorded one (nnexp, NumPy,
Python, BLAS and its threads, the commit and uncommitted changes): the usual reasons two
runs part. Exit status: 0 when every run is identical, 1 when any differs or cannot be
re-run, 2 for a folder that holds no run.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.data import DataError
from ..run import environment
from ..run.artifacts import (
    HYDRA_CONFIG,
    METRICS,
    MODEL,
    PREDICTIONS,
    SUMMARY,
    DamagedModel,
    open_npz,
    read_summary,
)
from ..run.setup import ConfigError
from ..run.usage import Parser
from ..sweep.resume import COSMETIC

PROG = "nnexp verify"
# File -> columns left out of the comparison (wall time differs every run).
COMPARED = {METRICS: ("seconds",), MODEL: (), PREDICTIONS: ()}
SETTINGS = ("lr",)  # METRICS columns that echo the config rather than training


class VerifyError(Exception):
    """A folder that cannot be verified at all (exit status 2)."""


@dataclass
class Verdict:
    """One run's outcome: ``differences`` one line per file (empty when identical),
    ``notes`` where the environment or the record differs."""

    run_dir: Path
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        head = f"{self.run_dir}: " + ("identical" if self.identical else "differs")
        return [head, *(f"  {d}" for d in self.differences), *(f"  note: {n}" for n in self.notes)]


# --- finding runs ----------------------------------------------------------------------


def run_dirs(path: Path) -> list[Path]:
    """A run folder -> [it]; a sweep folder -> its jobs' folders in job order."""
    if not path.is_dir():
        raise VerifyError(f"no such folder: {path}")
    if (path / SUMMARY).is_file() or (path / ".hydra").is_dir():
        return [path]
    jobs = sorted(
        (p.parent for p in path.rglob(SUMMARY)),
        key=lambda d: (len(d.relative_to(path).parts), len(str(d)), str(d)),
    )
    if not jobs:
        raise VerifyError(
            f"{path} holds no run: give a run folder (with summary.json) or a sweep folder"
        )
    return jobs


# --- the re-run --------------------------------------------------------------------------


def _recorded_cwd(run_dir: Path) -> Path | None:
    """The folder the run was started in (relative CSV paths are relative to it)."""
    from omegaconf import OmegaConf

    with contextlib.suppress(Exception):
        cwd = Path(str(OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra.runtime.cwd))
        if cwd.is_dir():
            return cwd
    return None


@contextlib.contextmanager
def _quiet(name: str = "nnexp"):
    """The re-run's own log lines (training ..., diverged ...) are not verify's output."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def rerun(config: dict, out_dir: Path, command: str, cwd: Path | None) -> dict:
    """Train ``config`` into ``out_dir`` as the task would; -> the new summary (status
    ``failed`` with the error when it fails)."""
    from omegaconf import OmegaConf

    from ..run.execute import run
    from .config import NnexpConf, validate

    with _quiet(), contextlib.chdir(cwd or Path.cwd()):
        try:
            # On the schema's defaults, so a record made before an option existed runs.
            cfg = OmegaConf.merge(OmegaConf.structured(NnexpConf), config)
            cfg.progress = False
            validate(cfg)
            return run(cfg, out_dir, command)
        except (ConfigError, DataError) as error:
            return {"status": "failed", "error": str(error)}
        except Exception as error:
            return {"status": "failed", "error": f"{type(error).__name__}: {error}"}


# --- comparing files -------------------------------------------------------------------


def _epoch_span(metrics, row: int) -> str:
    epoch = metrics["epoch"].iloc[row]
    if row == 0:
        return f"the runs part at epoch {epoch}"
    return f"the runs part after epoch {metrics['epoch'].iloc[row - 1]}, by epoch {epoch}"


def compare_csv(
    name: str, old_path: Path, new_path: Path, skip: tuple = (), parting: bool = True
) -> str | None:
    """The first cell (row-major) where two CSV files differ as text, which for nnexp's
    round-trip float formatting means as bits; None when equal but for ``skip``.
    ``parting``: with an ``epoch`` column, say between which logged epochs runs part."""
    import pandas as pd

    old = pd.read_csv(old_path, dtype=str, keep_default_na=False)
    new = pd.read_csv(new_path, dtype=str, keep_default_na=False)
    columns = [c for c in old.columns if c not in skip]
    new_columns = [c for c in new.columns if c not in skip]
    if columns != new_columns:
        return (
            f"{name}: columns differ: recorded {', '.join(columns)}; "
            f"re-run {', '.join(new_columns)}"
        )
    n = min(len(old), len(new))
    a, b = old[columns].to_numpy()[:n], new[columns].to_numpy()[:n]
    unequal = a != b
    if unequal.any():
        # Where the trained values part, not the learning rate the config set (a
        # different lr shows at epoch 0, before any training).
        trained = unequal & np.array([c not in SETTINGS for c in columns])
        pick = trained if trained.any() else unequal
        row = int(np.argmax(pick.any(axis=1)))
        col = int(np.argmax(pick[row]))
        where = (
            f"epoch {old['epoch'].iloc[row]}"
            if "epoch" in old.columns
            else f"row {row + 1}" + (f" ({old['kind'].iloc[row]})" if "kind" in old else "")
        )
        line = f"{name}: {columns[col]} at {where}: recorded {a[row, col]}, re-run {b[row, col]}"
        return line + (f" ({_epoch_span(old, row)})" if parting and "epoch" in old else "")
    if len(old) != len(new):
        last = old["epoch"].iloc[n - 1] if "epoch" in old.columns and n else None
        tail = f" (equal up to epoch {last})" if last is not None else ""
        return f"{name}: recorded {len(old)} rows, re-run {len(new)}{tail}"
    return None


def _bits(a: np.ndarray) -> np.ndarray:
    """Numbers as their bit patterns, so NaN equals NaN and -0.0 differs from 0.0."""
    if a.dtype.kind in "fc" and a.dtype.itemsize in (2, 4, 8):
        return a.view(f"u{a.dtype.itemsize}")
    return a


def compare_npz(name: str, old_path: Path, new_path: Path) -> str | None:
    """The first array (in the file's order) and index where two .npz files differ."""
    with open_npz(old_path) as old, open_npz(new_path) as new:
        if sorted(old.files) != sorted(new.files):
            return f"{name}: arrays differ: recorded {', '.join(old.files)}; re-run {', '.join(new.files)}"
        for key in old.files:
            a, b = old[key], new[key]
            if a.dtype != b.dtype or a.shape != b.shape:
                return f"{name}: {key} is {a.dtype} {a.shape} recorded, {b.dtype} {b.shape} re-run"
            if a.tobytes() == b.tobytes():
                continue
            if a.ndim == 0:
                return f"{name}: {key} differs: recorded {a.item()!r}, re-run {b.item()!r}"
            index = tuple(int(i) for i in np.argwhere(_bits(a) != _bits(b))[0])
            return (
                f"{name}: {key}{list(index)}: recorded {a[index].item()!r}, "
                f"re-run {b[index].item()!r}"
            )
    return None


def compare_files(run_dir: Path, rerun_dir: Path) -> list[str]:
    """One line a differing or missing file. When the metrics agree but the weights or
    predictions do not (or the other way round), the odd file out was changed after the
    run, not by training, and the line says so."""
    found: dict[str, str | None] = {}
    for name, skip in COMPARED.items():
        old, new = run_dir / name, rerun_dir / name
        if not old.is_file():
            found[name] = f"{name}: missing from the run folder"
        elif not new.is_file():
            found[name] = f"{name}: the re-run wrote none"
        else:
            try:
                if name.endswith(".npz"):
                    found[name] = compare_npz(name, old, new)
                else:
                    found[name] = compare_csv(name, old, new, skip)
            except DamagedModel as error:  # not a .npz archive at all
                found[name] = f"{name}: damaged: {error}"
            except Exception as error:  # a truncated or foreign file
                found[name] = f"{name}: cannot read it: {type(error).__name__}: {error}"
    differing = [name for name, line in found.items() if line]
    lines = [found[name] for name in differing]
    if len(differing) == 1 and len(found) > 1:
        name = differing[0]
        if name == METRICS:  # training did not part: no epoch where the runs part
            lines = [compare_csv(name, run_dir / name, rerun_dir / name, COMPARED[name], False)]
        others = " and ".join(n for n in found if n != name)
        lines[0] = f"{lines[0]} ({others} agree, so this file was changed after the run)"
    return [line for line in lines if line]


# --- the record and the environment ------------------------------------------------------


def _flat(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out: dict = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): node}


def config_differences(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """(option, value in a, value in b) for every option that differs, cosmetic ones aside."""
    fa, fb = _flat(a), _flat(b)
    return [
        (k, fa.get(k, "(absent)"), fb.get(k, "(absent)"))
        for k in sorted(fa.keys() | fb.keys())
        if k not in COSMETIC and fa.get(k, "(absent)") != fb.get(k, "(absent)")
    ]


def _with_hydra_values(saved, run_dir: Path):
    """``saved`` (.hydra/config.yaml) with each ``${hydra:KEY}`` value (seed=${hydra:job.num})
    replaced by KEY's value in the run's .hydra/hydra.yaml: Hydra resolves them against
    the running job's config, which a re-read of the file lacks."""
    from omegaconf import OmegaConf

    text = OmegaConf.to_container(saved, resolve=False)
    if "${hydra:" not in str(text):
        return saved
    hydra = OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra

    def fill(node):
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        whole = re.fullmatch(r"\$\{hydra:([\w.]+)\}", node) if isinstance(node, str) else None
        return OmegaConf.select(hydra, whole.group(1)) if whole else node

    return OmegaConf.create(fill(text))


def record_mismatch(run_dir: Path, config: dict) -> str | None:
    """Whether summary.json's config is the one Hydra saved in .hydra/config.yaml."""
    from omegaconf import OmegaConf

    saved = run_dir / HYDRA_CONFIG
    if not saved.is_file():
        return None
    try:
        recorded = _with_hydra_values(OmegaConf.load(saved), run_dir)
        hydra_config = OmegaConf.to_container(recorded, resolve=True)
    except Exception as error:
        return f"cannot read {HYDRA_CONFIG}: {' '.join(str(error).split())}"
    diffs = config_differences(config, hydra_config)  # type: ignore[arg-type]
    if not diffs:
        return None
    shown = "; ".join(
        f"{k} is {a!r} in {SUMMARY}, {b!r} in {HYDRA_CONFIG}" for k, a, b in diffs[:3]
    )
    more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
    return f"the recorded config no longer matches the run's {HYDRA_CONFIG}: {shown}{more}"


def _blas_words(info: dict | None) -> str:
    if not info:
        return "unknown"
    words = [str(info.get("name")), str(info.get("version"))]
    if info.get("architecture"):
        words.append(f"kernel {info['architecture']}")
    if info.get("threads") is not None:
        words.append(f"{info['threads']} threads")
    words += [f"{k}={v}" for k, v in info.items() if k in environment.BLAS_VARIABLES]
    return " ".join(words)


def environment_notes(summary: dict) -> list[str]:
    """Where this process's environment differs from the recorded one."""
    from .. import __version__
    from ..run.execute import git_commit

    notes = []
    versions = summary.get("versions") or {}
    now = {"nnexp": __version__, "numpy": np.__version__, "python": sys.version.split()[0]}
    for name, version in now.items():
        if versions.get(name) != version:
            notes.append(f"{name} {versions.get(name, 'unrecorded')} recorded, {version} now")
    blas_then, blas_now = summary.get("blas"), environment.blas()
    if blas_then is None:
        notes.append(
            f"BLAS unrecorded (a run from before nnexp recorded it); now {_blas_words(blas_now)}"
        )
    elif blas_then != blas_now:
        notes.append(f"BLAS {_blas_words(blas_then)} recorded, {_blas_words(blas_now)} now")
    then, current = summary.get("git_commit"), git_commit()
    if then != current:
        # No commit: nnexp was installed (a wheel), not run from a git checkout.
        installed = "an installed nnexp, not a git checkout"
        notes.append(
            (f"commit {then} recorded" if then else f"no commit recorded ({installed})")
            + (f", {current} now" if current else f"; now {installed}")
        )
    if then and then.endswith("-dirty"):
        notes.append("the run was made from a source tree with uncommitted changes")
    elif current and current.endswith("-dirty"):
        notes.append("the source tree has uncommitted changes now")
    return notes


# --- one run, many runs ------------------------------------------------------------------


def verify_run(run_dir: Path) -> Verdict:
    verdict = Verdict(run_dir)
    summary = read_summary(run_dir)
    if summary is None:
        verdict.differences.append(
            f"no readable {SUMMARY}: the run never finished, so there is nothing to compare"
        )
        return verdict
    config = summary.get("config")
    if not isinstance(config, dict):
        verdict.differences.append(f"{SUMMARY} records no config to re-run")
        return verdict
    mismatch = record_mismatch(run_dir, config)
    if mismatch:
        verdict.differences.append(mismatch)
    verdict.notes = environment_notes(summary)
    with tempfile.TemporaryDirectory(prefix="nnexp-verify-") as tmp:
        again = rerun(config, Path(tmp), summary.get("command", ""), _recorded_cwd(run_dir))
        status = summary.get("status")
        if status == "failed" or again["status"] == "failed":
            if (status, summary.get("error")) != (again["status"], again.get("error")):
                verdict.differences.append(
                    f"status: recorded {status}"
                    + (f" ({summary.get('error')})" if status == "failed" else "")
                    + f", re-run {again['status']}"
                    + (f" ({again.get('error')})" if again["status"] == "failed" else "")
                )
            return verdict
        verdict.differences += compare_files(run_dir, Path(tmp))
        if not verdict.differences and status != again["status"]:
            verdict.differences.append(f"status: recorded {status}, re-run {again['status']}")
    return verdict


def verify(path: Path, out=print) -> int:
    """Verify every run under ``path``, printing as it goes; -> the exit status."""
    runs = run_dirs(path)
    verdicts = [verify_run(runs[0])]
    # A sweep's jobs share their environment: notes every job has are said once, last.
    shared = verdicts[0].notes if len(runs) > 1 else []
    for run_dir in runs[1:]:
        verdicts.append(verify_run(run_dir))
        shared = [n for n in shared if n in verdicts[-1].notes]
    for verdict in verdicts:
        verdict.notes = [n for n in verdict.notes if n not in shared]
        for line in verdict.lines():
            out(line)
    same = sum(v.identical for v in verdicts)
    if len(runs) > 1:
        out(f"{same} of {len(runs)} runs identical")
        for note in shared:
            out(f"note (every run): {note}")
    return 0 if same == len(runs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog=PROG,
        description="Train a run (or every job of a sweep) again from what its folder "
        "recorded and compare metrics, parameters and predictions bit for bit. "
        "Exit status 0 only when every run is identical.",
    )
    parser.add_argument("folder", type=Path, help="a run folder, a sweep job's or a sweep's")
    args = parser.parse_args(argv)
    try:
        return verify(args.folder)
    except VerifyError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
