"""A sweep folder's run folders -> one table of jobs -> settings aggregated over seeds ->
the best setting.

Everything is read from the run folders on disk, never from the jobs' return values:
each job folder's ``.hydra/overrides.yaml`` (written by Hydra when the job starts) says
what was set, its ``summary.json`` (written last, atomically) what came of it, and its
``metrics.csv`` the curves. A folder without ``summary.json`` is a job that was killed
or is still running: it is listed as ``incomplete``. So the same code serves the
multirun-end callback, ``nnexp report <sweep folder>`` and a page refreshed mid-sweep.

The best setting is chosen over the settings whose seeds all finished ``ok``, by the
mean objective over their seeds (one seed: its objective); a setting with a diverged,
failed or unfinished seed is not eligible, because its mean is not known.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..run import artifacts
from ..run.artifacts import FINISHED, read_summary, summary_problem
from ..run.setup import select
from .resume import SWEEP_CONFIG, expected_jobs

log = logging.getLogger("nnexp")

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
STATUS_RANK = {"ok": 0, "diverged": 1, "failed": 2, "incomplete": 3}
SEED = "seed"  # the swept option whose values are replicates, not settings
# A sweep folder's own files (its job folders' are in run/artifacts.py).
SUMMARY_CSV = "summary.csv"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
RUN_PAGES = (REPORT_HTML, artifacts.REPORT, artifacts.SUMMARY)  # a job links to the first found
# Overrides that make Hydra run code of the command's choosing: a rerun must not repeat
# them unseen (issue: a shared rerun command that writes arbitrary files).
UNSAFE_KEYS = re.compile(r"^[+~]*hydra[./]callbacks\b")
SHORT_OBJECTIVE = {"val_loss": "val_loss", "loss": "loss", "mixed": "objective"}
LONG_OBJECTIVE = {
    "val_loss": "final validation loss",
    "loss": "final training loss",
    "mixed": "final validation loss where a split was held out, else final training loss",
}


class ReportError(ValueError):
    """A folder that holds no sweep; the message is the one line the user sees."""


@dataclass
class Sweep:
    """What a sweep folder holds. ``table``: one row per job (summary.csv's content).

    ``links``: run_dir -> the job's page relative to the sweep folder (its report.html,
    else report.md, else summary.json; absent for a job that left none);
    ``boundaries``: run_dir -> its decision_boundary.png, relative, where one exists."""

    dir: Path
    table: pd.DataFrame
    swept: list[str]
    objective: str  # the metric the objective is: "val_loss", "loss" or "mixed"
    command: str | None
    expected: int | None  # jobs the sweep launches, when that can be known
    search: bool = False  # a search (Optuna, random values), not a grid
    log_params: set[str] = field(default_factory=set)  # searched on a log scale
    unsafe: list[str] = field(default_factory=list)  # hydra.callbacks overrides left out
    shared: dict[str, Any] = field(default_factory=dict)  # config every job shared
    links: dict[str, str] = field(default_factory=dict)
    boundaries: dict[str, str] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)  # run_dir -> metrics.csv frame

    @property
    def settings(self) -> list[str]:
        """The swept parameters that make a setting (all but the seed)."""
        return [k for k in self.swept if k != SEED]

    @functools.cached_property
    def seeded(self) -> bool:
        """Whether some setting ran over several seeds: its jobs are replicas to average.
        A seed a job (seed=${hydra:job.num} over a grid) varies but replicates nothing."""
        if SEED not in self.swept:
            return False
        if not self.settings:
            return len(self.table) > 1
        # (as text: a value resolved from an interpolation may be a list)
        return bool(self.table[self.settings].astype(str).duplicated().any())

    @property
    def short(self) -> str:
        """The objective's name on axes and in column heads."""
        return SHORT_OBJECTIVE[self.objective]

    def curves(self, run_dir: str) -> pd.DataFrame | None:
        """A job's metrics.csv, by its run_dir: unique even where job numbers repeat (a
        folder holding several sweeps)."""
        if run_dir not in self.metrics:
            self.metrics[run_dir] = _remembered(self.dir / run_dir / artifacts.METRICS, _read_csv)
        return self.metrics[run_dir]


def _read_csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None


# The live page's watcher reads the same finished jobs' files at every build: with
# ``remember_reads()`` a file read once is read again only when it changed (nnexp and
# Hydra write each by replacing it, so a new version is a new inode). Off elsewhere: a
# one-off report reads each file once anyway.
_READS: dict = {}  # (reader, path, inode, mtime, size) -> what the reader returned
_REMEMBER: list[bool] = [False]
_MAX_READS = 10_000


def remember_reads() -> None:
    """Keep what ``collect`` reads in this process (the watcher's) for its next builds."""
    _REMEMBER[0] = True


def _remembered(path: Path, read):
    """``read(path)``, from memory if this very file was read before; kept values are
    handed out as copies (DataFrame.copy, deep copies of containers)."""
    if not _REMEMBER[0]:
        return read(path)
    try:
        kept = _kept(path, read)
    except OSError:
        return read(path)
    return kept.copy() if isinstance(kept, pd.DataFrame) else copy.deepcopy(kept)


def _kept(path: Path, read):
    """What ``read(path)`` returned for this very file, read now if it was not before
    (kept, not copied: for ``_remembered`` to hand out). Raises OSError from ``stat``."""
    st = path.stat()
    key = (read.__name__, str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _READS:
        if len(_READS) >= _MAX_READS:
            _READS.clear()
        _READS[key] = read(path)
    return _READS[key]


PREFETCHED_CURVES = 500  # metrics.csv files kept by ``prefetch``, at most (tens of MB)


def prefetch(sweep_dir: Path, seen: set[str]) -> int:
    """Read the files ``collect`` reads of every job of ``sweep_dir`` that has finished
    (its summary.json written, after everything else) and is not in ``seen``, so that
    with ``remember_reads()`` a report built later reads them from memory; adds them to
    ``seen``. Only the sweep folder's own subfolders (Hydra's default job folders); any
    other job folder is read when the report is built, and so is every metrics.csv past
    the first ``PREFETCHED_CURVES`` (a large sweep's report draws only some of them).
    -> how many were read."""
    read = 0
    try:
        with os.scandir(sweep_dir) as listing:
            entries = [e for e in listing if e.name not in seen and e.is_dir()]
    except OSError:
        return 0
    for entry in entries:
        folder = Path(sweep_dir) / entry.name
        if not (folder / artifacts.SUMMARY).is_file():
            continue
        with contextlib.suppress(OSError):  # a file missing is read (and said) later
            _kept(folder / artifacts.HYDRA_OVERRIDES, _read_override_lines)
            if len(seen) < PREFETCHED_CURVES:
                _kept(folder / artifacts.METRICS, _read_csv)
        seen.add(entry.name)
        read += 1
    return read


def describe_objective(name: str) -> str:
    return LONG_OBJECTIVE[name]


def href(relative: str) -> str:
    """A path relative to the sweep folder as a link that can only be relative: every
    segment percent-quoted (so ``javascript:`` in a folder name is no scheme) and
    ``./`` in front."""
    return "./" + "/".join(quote(part, safe="") for part in relative.split("/"))


# --- reading the sweep folder ----------------------------------------------------------


def job_folders(sweep_dir: Path) -> list[Path]:
    """Every folder under ``sweep_dir`` that Hydra started a sweep's job in. Where any of
    them sits in a sweep folder holding the ``multirun.yaml`` Hydra writes as a sweep
    starts (``sweep_dir`` or a folder between), only those that do: a single run's folder
    (``outputs/runs/...``, in a working folder given whole) is no sweep's job. Where none
    does (a sweep's saved config lost), every one."""
    sweep_dir = Path(sweep_dir)
    swept: dict[Path, bool] = {}  # folder -> whether it or a folder above holds one

    def in_a_sweep(folder: Path) -> bool:
        if folder not in swept:
            swept[folder] = (folder / SWEEP_CONFIG).is_file() or (
                folder != sweep_dir and folder.parent != folder and in_a_sweep(folder.parent)
            )
        return swept[folder]

    found = [p.parent.parent for p in sorted(sweep_dir.rglob(artifacts.HYDRA_OVERRIDES))]
    kept = [folder for folder in found if in_a_sweep(folder)]
    return kept or found


def _job_number(folder: Path) -> int | None:
    if folder.name.isdigit():
        return int(folder.name)
    try:
        from omegaconf import OmegaConf

        return int(OmegaConf.load(folder / ".hydra" / "hydra.yaml").hydra.job.num)
    except Exception:
        return None


def _plain(value):
    """An override's value as a table cell: numbers, strings and booleans as they are,
    anything else (lists, dicts, null) as the text it was written with."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


_parser = None


def _override_parser():
    global _parser
    if _parser is None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        _parser = OverridesParser.create()
    return _parser


_parsed: dict[str, tuple[str, Any]] = {}  # a sweep repeats most lines in every job
# ``key=int`` and ``key=decimal`` with a plain dotted key: what Hydra's grammar reads as
# an int or a float, read without it (a seed sweep has a new line in every job). Anything
# else, including forms the grammar reads otherwise (``007``, ``1_000``, ``1e3``, ``+1``),
# goes to Hydra's parser; tests/test_report.py checks the two agree.
_PLAIN_NUMBER = re.compile(
    r"([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)=(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?)"
)


def _parse_line(line: str) -> tuple[str, Any]:
    if line not in _parsed:
        key, _, text = line.partition("=")
        plain = _PLAIN_NUMBER.fullmatch(line)
        if plain is not None:
            number = plain.group(2)
            _parsed[line] = (plain.group(1), float(number) if plain.group(3) else int(number))
        elif "${" in text:
            _parsed[line] = (key.lstrip("+~"), text)
        else:
            try:
                override = _override_parser().parse_override(line)
                value = _plain(override.value())
                if value is None:
                    value = override.get_value_element_as_str()
                _parsed[line] = (override.key_or_group, value)
            except Exception:  # anything the parser rejects is still worth a column
                _parsed[line] = (key.lstrip("+~"), text)
    return _parsed[line]


def parse_overrides(lines: list[str]) -> dict:
    """``["lr=0.1", "model.hidden=[4]"]`` -> ``{"lr": 0.1, "model.hidden": "[4]"}``;
    an interpolation (``${...}``) stays the text it was written with."""
    return dict(_parse_line(line) for line in lines)


def _resolved(settings: dict, summary: dict | None) -> dict:
    """A job's override values, each ``${...}`` one (seed=${hydra:job.num}) as its run
    resolved it, from the config its summary.json records; as written when there is none."""
    config = summary.get("config") if summary else None
    if not isinstance(config, dict):
        return settings
    resolved = dict(settings)
    for key, value in settings.items():
        if isinstance(value, str) and "${" in value:
            with contextlib.suppress(KeyError, TypeError):  # not recorded: as written
                resolved[key] = select(config, key)
    return resolved


def _summary(folder: Path) -> dict | None:
    """A job's summary.json, or None (an unfinished job) when it is missing or cannot
    be read as a JSON object: one damaged folder must not stop the whole report."""
    try:
        summary = read_summary(folder)
    except (OSError, ValueError):  # unreadable, or not UTF-8
        return None
    return summary if isinstance(summary, dict) else None


def _load_yaml(path: Path):
    """A YAML file as plain containers, interpolations left as written; None if unreadable."""
    return _remembered(path, _read_yaml)


def _read_yaml(path: Path):
    try:
        from omegaconf import OmegaConf

        return OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception:
        return None


def _read_override_lines(path: Path):
    """A job's overrides.yaml, as ``_read_yaml`` reads it. Hydra writes a list of
    ``key=value`` lines, which libyaml reads for a tenth of what OmegaConf's containers
    cost (a sweep's report reads one a job); the result is the same, since a string with
    ``=`` in it is a string to OmegaConf's loader too (its extra float form and the
    timestamps it drops hold no ``=``). Anything else is read by ``_read_yaml``."""
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        lines = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except Exception:
        return _read_yaml(path)
    if isinstance(lines, list) and all(isinstance(x, str) and "=" in x for x in lines):
        return lines
    return _read_yaml(path)


def _saved_config(sweep_dir: Path, config=None) -> dict | None:
    """The sweep's config (multirun.yaml, or the callback's) as plain containers."""
    if config is not None:
        try:
            from omegaconf import OmegaConf

            return OmegaConf.to_container(config, resolve=False)  # type: ignore[return-value]
        except Exception:
            return None
    saved = _load_yaml(sweep_dir / SWEEP_CONFIG)
    return saved if isinstance(saved, dict) else None


def _hydra(saved: dict | None, *keys: str):
    node: Any = (saved or {}).get("hydra") or {}
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _sweeper_lines(saved: dict | None) -> list[str]:
    params = _hydra(saved, "sweeper", "params") or {}
    task = _hydra(saved, "overrides", "task") or []
    return [f"{k}={v}" for k, v in params.items()] + [str(t) for t in task]


def _swept_in_command(saved: dict | None) -> list[str]:
    """Keys the sweep's command (or its sweeper's params) swept: ``lr=0.1,1``,
    ``choice(...)``, ``interval(...)``."""
    try:
        parsed = _override_parser().parse_overrides(_sweeper_lines(saved))
        return [o.key_or_group for o in parsed if o.is_sweep_override()]
    except Exception:
        return []


def _log_params(saved: dict | None) -> set[str]:
    """Parameters the sweeper searched on a log scale: ``tag(log, interval(...))``."""
    params = _hydra(saved, "sweeper", "params") or {}
    return {k for k, v in params.items() if re.search(r"tag\([^)]*\blog\b", str(v))}


def _is_search(saved: dict | None, table: pd.DataFrame, settings: list[str]) -> bool:
    """A search (Optuna, or any sweeper that is not the basic one) rather than a grid;
    with no saved config, the settings decide: a grid holds every combination of its
    values, a search only a few of them."""
    target = str(_hydra(saved, "sweeper", "_target_") or "")
    if target:
        return not target.endswith("BasicSweeper")
    if not settings or len(table) < 2:
        return False
    combos = len(table[settings].astype(str).drop_duplicates())
    grid = math.prod(table[p].astype(str).nunique() for p in settings)
    return combos < grid


def reproduce_command(sweep_dir: Path, saved: dict | None) -> tuple[str | None, list[str]]:
    """-> (``python -m nnexp -m <the sweep's overrides> hydra.sweep.dir=<this folder>``,
    the overrides of ``hydra.callbacks`` left out of it). Overrides are repeated as they
    were written, interpolations included."""
    task = _hydra(saved, "overrides", "task")
    extra = _hydra(saved, "overrides", "hydra")
    if not isinstance(task, list) or not isinstance(extra, list):
        return None, []
    words = [str(o) for o in task] + [
        str(o) for o in extra if not str(o).startswith(("hydra.mode=", "hydra.sweep.dir="))
    ]
    unsafe = [w for w in words if UNSAFE_KEYS.match(w)]
    args = [w for w in words if w not in unsafe] + [f"hydra.sweep.dir={Path(sweep_dir).resolve()}"]
    return " ".join(["python -m nnexp -m", *map(shlex.quote, args)]), unsafe


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: node}


def shared_config(saved: dict | None, summaries: list[dict | None], swept: list[str]) -> dict:
    """The configuration every job shared (dataset, model, optimiser, ...), dotted keys:
    the first finished job's resolved config (else the sweep's saved one), less the
    swept options and anything below or above them."""
    config = next((s["config"] for s in summaries if s and isinstance(s.get("config"), dict)), None)
    if config is None and saved is not None:
        config = {k: v for k, v in saved.items() if k != "hydra"}
    flat = _flatten(config or {})
    swept_keys = [k.split("@")[0] for k in swept]

    def related(key: str) -> bool:
        return any(
            key == s or key.startswith(s + ".") or s.startswith(key + ".") for s in swept_keys
        )

    return {k: v for k, v in flat.items() if not related(k) and k not in ("progress",)}


def _row(job: int | None, run_dir: str, settings: dict, summary: dict | None) -> dict:
    row = {"job": job, **settings}
    summary = summary or {"status": "incomplete"}
    row["status"] = summary.get("status", "incomplete")
    if row["status"] not in STATUS_RANK:
        row["status"] = "incomplete"
    objective = summary.get("objective")
    if objective is None and row["status"] in ("diverged", "failed"):
        objective = math.inf  # what the task returned to the sweeper
    row["objective"] = objective
    for kind in ("final", "best"):
        record = summary.get(kind)
        record = record if isinstance(record, dict) else {}
        for metric in METRICS:
            row[f"{kind}_{metric}"] = record.get(metric)
    row["epochs_completed"] = summary.get("epochs_completed")
    row["diverged_at"] = summary.get("diverged_at")
    row["seconds"] = summary.get("train_seconds")
    row["error"] = summary.get("error")
    row["run_dir"] = run_dir
    return row


def collect(sweep_dir: Path, config=None) -> Sweep:
    """Read every job folder of ``sweep_dir``. ``config``: the sweep's config when the
    caller has it (the callback); otherwise ``multirun.yaml`` is read."""
    sweep_dir = Path(sweep_dir)
    folders = job_folders(sweep_dir)
    if not folders:
        raise ReportError(
            f"{sweep_dir} holds no job folders (no */{artifacts.HYDRA_OVERRIDES}): "
            "is it a sweep folder of nnexp -m ...?"
        )
    jobs = []
    links, boundaries = {}, {}
    unreadable: list[str] = []
    for folder in folders:
        lines = _remembered(folder / artifacts.HYDRA_OVERRIDES, _read_override_lines)
        lines = [str(x) for x in lines] if isinstance(lines, list) else []
        summary = _summary(folder)
        run_dir = folder.relative_to(sweep_dir).as_posix()
        problem = summary_problem(folder) if summary is None else None
        if problem is not None:
            # An unreadable verdict is no verdict: the job is listed as incomplete.
            unreadable.append(f"{run_dir} ({problem})")
            summary = {"status": "incomplete", "error": f"{artifacts.SUMMARY} is {problem}"}
        page = next((p for p in RUN_PAGES if (folder / p).is_file()), None)
        if page is not None:
            links[run_dir] = f"{run_dir}/{page}"
        if (folder / artifacts.BOUNDARY).is_file():
            boundaries[run_dir] = f"{run_dir}/{artifacts.BOUNDARY}"
        jobs.append(
            (_job_number(folder), run_dir, _resolved(parse_overrides(lines), summary), summary)
        )
    if unreadable:
        log.warning(
            f"%d job folder(s) with an unreadable {artifacts.SUMMARY}, listed as incomplete "
            "(a resumed sweep runs them again): %s",
            len(unreadable),
            "; ".join(unreadable),
        )
    saved = _saved_config(sweep_dir, config)
    keys: list[str] = []
    for _, _, settings, _ in jobs:
        keys += [k for k in settings if k not in keys]
    in_command = _swept_in_command(saved)
    swept = [k for k in keys if k in in_command or len({repr(s.get(k)) for _, _, s, _ in jobs}) > 1]
    rows = [
        _row(num, run_dir, {k: settings.get(k) for k in swept}, summary)
        for num, run_dir, settings, summary in jobs
    ]
    table = pd.DataFrame(rows)
    table = table.sort_values("job", kind="stable", na_position="last").reset_index(drop=True)
    table = _tidy(table)
    command, unsafe = reproduce_command(sweep_dir, saved)
    settings_keys = [k for k in swept if k != SEED]
    return Sweep(
        sweep_dir,
        table,
        swept,
        _objective_name(table),
        command,
        expected_jobs(sweep_dir, config),
        search=_is_search(saved, table, settings_keys),
        log_params=_log_params(saved) & set(swept),
        unsafe=unsafe,
        shared=shared_config(saved, [s for *_, s in jobs], swept),
        links=links,
        boundaries=boundaries,
    )


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """Integer columns stay integers with gaps, metrics no job has are dropped, and a
    negative zero is a zero (it printed as ``-0``)."""
    for column in ("job", "epochs_completed", "diverged_at"):
        table[column] = pd.array(
            pd.to_numeric(table[column], errors="coerce").astype("float"), dtype="Int64"
        )
    for column in ["objective", "seconds"] + [
        c for c in table if c.startswith(("final_", "best_"))
    ]:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float) + 0.0
    empty = [
        f"{kind}_{m}"
        for kind in ("final", "best")
        for m in METRICS
        if m.startswith("val_") and table[f"{kind}_{m}"].isna().all()
    ]
    return table.drop(columns=empty)


def _objective_name(table: pd.DataFrame) -> str:
    """Which metric the objective is, decided by the jobs that finished ok (a diverged
    job's validation loss may be missing, and must not switch the whole sweep)."""
    done = table[table.status == "ok"]
    if not len(done):
        done = table[table.status.isin(FINISHED)]
    if "final_val_loss" not in table or done.final_val_loss.isna().all():
        return "loss"
    return "val_loss" if done.final_val_loss.notna().all() else "mixed"


def accuracy(table: pd.DataFrame) -> pd.Series:
    """Each job's accuracy on the objective's split: validation where held out."""
    train = table["final_accuracy"] if "final_accuracy" in table else pd.Series(np.nan, table.index)
    if "final_val_accuracy" not in table:
        return train.astype(float)
    return table["final_val_accuracy"].fillna(train).astype(float)


# --- settings and the best one ---------------------------------------------------------


def _groups(table: pd.DataFrame, settings: list[str]):
    """(setting values tuple, rows) in first-seen order."""
    if not settings:
        return [((), table)]
    out = []
    for values, group in table.groupby(settings, sort=False, dropna=False):
        out.append((values if isinstance(values, tuple) else (values,), group))
    return out


def settings_table(sweep: Sweep) -> pd.DataFrame:
    """One row per setting (the swept values besides the seed), best first: how many jobs
    (seeds) it ran and how they ended, and the objective over its seeds (mean, std,
    median, min, max) and the mean accuracy. ``complete``: every seed finished ok, the
    condition for being chosen best. Complete settings come first, by mean objective;
    then settings whose finished seeds have a finite mean (partial), then the rest."""
    table = sweep.table
    acc = accuracy(table)
    rows = []
    for values, group in _groups(table, sweep.settings):
        objective = group.objective.to_numpy(float)
        ok = group.status == "ok"
        finite = objective[ok.to_numpy() & np.isfinite(objective)]
        row: dict[str, Any] = dict(zip(sweep.settings, values))
        row["jobs"] = len(group)
        for status in STATUS_RANK:
            row[status] = int((group.status == status).sum())
        complete = bool(ok.all()) and len(finite) == len(group)
        row["complete"] = complete
        row["mean"] = float(finite.mean()) + 0.0 if len(finite) else np.nan
        row["std"] = float(finite.std(ddof=1)) + 0.0 if len(finite) > 1 else np.nan
        row["median"] = float(np.median(finite)) + 0.0 if len(finite) else np.nan
        row["min"] = float(finite.min()) + 0.0 if len(finite) else np.nan
        row["max"] = float(finite.max()) + 0.0 if len(finite) else np.nan
        accs = acc[group.index][ok].dropna()
        row["accuracy"] = float(accs.mean()) if len(accs) else np.nan
        order = group.assign(_o=group.objective.fillna(np.inf)).sort_values("_o", kind="stable")
        row["job_list"] = [int(j) if pd.notna(j) else None for j in order.job]
        row["run_dirs"] = list(order.run_dir)
        rows.append(row)
    frame = pd.DataFrame(rows)
    tier = np.where(frame.complete, 0, np.where(np.isfinite(frame["mean"]), 1, 2))
    frame = frame.assign(_tier=tier, _m=frame["mean"].fillna(np.inf))
    frame = frame.sort_values(["_tier", "_m"], kind="stable").drop(columns=["_tier", "_m"])
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Jobs best first: finite objectives ascending, then diverged, failed, incomplete."""
    key = pd.DataFrame(
        {
            "bad": ~np.isfinite(table.objective.to_numpy(float)),
            "objective": table.objective.fillna(np.inf),
            "status": table.status.map(STATUS_RANK).fillna(9),
            "job": table.job.astype(float),
        }
    )
    order = key.sort_values(["bad", "objective", "status", "job"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def jobs_by_setting(sweep: Sweep, settings: pd.DataFrame) -> pd.DataFrame:
    """Jobs in the settings' order (best setting first), within a setting best seed
    first: the worst setting's lucky seed never heads the list."""
    position = {d: i for i, dirs in enumerate(settings.run_dirs) for d in dirs}
    table = sweep.table
    key = pd.DataFrame(
        {
            "setting": table.run_dir.map(position).fillna(len(position)),
            "objective": table.objective.fillna(np.inf),
            "status": table.status.map(STATUS_RANK).fillna(9),
            "job": table.job.astype(float),
        }
    )
    order = key.sort_values(["setting", "objective", "status", "job"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def best(sweep: Sweep, settings: pd.DataFrame | None = None) -> dict | None:
    """The best setting: lowest mean objective over seeds among the complete settings.
    When none is complete yet (an interrupted or running sweep), the best partial one,
    marked ``provisional``. None when no job finished ok with a finite objective."""
    settings = settings_table(sweep) if settings is None else settings
    if not len(settings) or not math.isfinite(settings["mean"].iloc[0]):
        return None
    top = settings.iloc[0]
    return {
        "settings": {k: top[k] for k in sweep.settings},
        "objective": float(top["mean"]),
        "std": float(top["std"]),
        "min": float(top["min"]),
        "max": float(top["max"]),
        "accuracy": float(top["accuracy"]),
        "seeds": int(top["jobs"]),
        "ok": int(top["ok"]),
        "jobs": top["job_list"],
        "run_dir": top["run_dirs"][0],
        "job": top["job_list"][0],
        "provisional": not bool(top["complete"]),
        "eligible": int(settings.complete.sum()),
        "total": len(settings),
    }


def counts(table: pd.DataFrame, expected: int | None) -> str:
    """``12 jobs: 10 ok, 1 diverged, 1 failed; 4 of the sweep's 16 not started``."""
    tally = table.status.value_counts()
    parts = [f"{tally[s]} {s}" for s in STATUS_RANK if s in tally]
    text = f"{len(table)} job{'' if len(table) == 1 else 's'}: " + ", ".join(parts)
    if expected and expected > len(table):
        text += f"; {expected - len(table)} of the sweep's {expected} not started"
    return text
