"""Same bytes as before: run the same nnexp commands with two source trees (a baseline
checkout and this one), each in a fresh folder with fixed ``hydra.run.dir`` /
``hydra.sweep.dir``, and compare every file the commands left byte for byte.

Only what legitimately differs between two runs of the same command is normalised, value
by value, never a whole file: wall-clock stamps and durations (``summary.json``'s
``train_seconds``, ``summary.csv``'s ``seconds`` column, the log's ``[date time]``
prefixes and ``(0.12 s)`` durations, report lines that print durations), the git commit
of each tree, the lock file's process id and the two folders' absolute paths.

    python benchmarks/same_bytes.py --baseline /tmp/nnexp-990          # every scenario
    python benchmarks/same_bytes.py --baseline /tmp/nnexp-990 -k sweep # names containing
    python benchmarks/same_bytes.py --baseline /tmp/nnexp-990 --keep /tmp/sb

Exit status 0 when every scenario left the same files with the same (normalised) bytes,
1 otherwise; each difference is printed with the first differing line.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

EPOCHS = "epochs=40"
CSV_TEXT = "a,b,label\n" + "".join(
    f"{(i * 7) % 11 / 10:.1f},{(i * 5) % 13 / 10:.1f},{'yes' if (i * 3) % 7 > 3 else 'no'}\n"
    for i in range(30)
)


@dataclass
class Scenario:
    """Commands run one after another in one folder; ``between`` runs before the command
    of the same index (given the folder), e.g. to delete a job's folder before a resume."""

    name: str
    commands: list[list[str]]
    between: dict[int, Callable[[Path], None]] = field(default_factory=dict)


def _run(*args: str) -> list[str]:
    return [*args, EPOCHS, "hydra.run.dir=run"]


def _sweep(*args: str) -> list[str]:
    return ["-m", *args, EPOCHS, "hydra.sweep.dir=sweep"]


def _delete_job(number: str) -> Callable[[Path], None]:
    def delete(folder: Path) -> None:
        shutil.rmtree(folder / "sweep" / number)

    return delete


def _write_csv(folder: Path) -> None:
    (folder / "data.csv").write_text(CSV_TEXT)


BASIC = "hydra/launcher=basic"


def _write_big_csv(folder: Path) -> None:
    """120 rows: a held-out split by default (``dataset.val_fraction=auto``)."""
    (folder / "data.csv").write_text(
        "a,b,kind\n"
        + "".join(
            f"{(i * 7) % 17 / 4:.2f},{(i * 11) % 19 / 5:.2f},{'ab'[(i * 5) % 9 > 4]}\n"
            for i in range(120)
        )
    )


def _write_spaced_csv(folder: Path) -> None:
    _write_big_csv(folder)
    (folder / "data.csv").rename(folder / "my data.csv")


SCENARIOS = [
    Scenario("run_default", [_run()]),
    Scenario("run_red_blue", [["experiment=red_blue", "hydra.run.dir=run"]]),
    Scenario("run_gender", [_run("dataset=gender")]),
    Scenario("run_circles", [_run("dataset=circles", "activation=tanh")]),
    Scenario("run_spiral3", [_run("dataset=spiral", "dataset.classes=3")]),
    Scenario(
        "run_csv",
        [_run("dataset=csv", "dataset.path=data.csv", "dataset.target=label")],
        {0: _write_csv},
    ),
    Scenario("run_float32", [_run("dtype=float32", "optimizer=adam", "lr=0.05")]),
    Scenario("run_snapshots0", [_run("snapshots=0")]),
    Scenario("run_diverges", [_run("lr=1000", "loss=mse", "activation=relu")]),
    Scenario("run_log_every", [_run("log_every=3", "dataset=xor", "model=deep")]),
    Scenario("run_bad_value", [_run("lr=-1")]),
    Scenario("run_perceptron_sgd", [_run("model=perceptron", "optimizer=sgd")]),
    Scenario(
        "run_gaussians4_minibatch",
        [_run("dataset=gaussians", "dataset.classes=4", "optimizer=minibatch")],
    ),
    Scenario("run_snapshots1", [_run("snapshots=1")]),
    Scenario("run_snapshots2", [_run("snapshots=2", "dataset=xor")]),
    Scenario("run_long", [["dataset=circles", "epochs=1500", "hydra.run.dir=run"]]),
    Scenario("run_boolean_triples", [["experiment=boolean_triples", "hydra.run.dir=run"]]),
    Scenario("run_gender_experiment", [["experiment=gender", "hydra.run.dir=run"]]),
    Scenario("run_queries", [_run("'dataset.queries=[[0.5,0.5],[1,0]]'".strip("'"))]),
    Scenario(
        "run_csv_held_out",
        [
            _run(
                "dataset=csv",
                "dataset.path=data.csv",
                "dataset.target=kind",
                "dataset.standardize=true",
                "early_stopping.patience=3",
            )
        ],
        {0: _write_big_csv},
    ),
    Scenario("sweep_only_check", [_sweep("seed=0,1", "sweep_check=only")]),
]

for launcher, tag in (([], "batched"), ([BASIC], "basic")):
    SCENARIOS += [
        Scenario(f"sweep_{tag}_seeds", [_sweep("seed=0,1,2", *launcher)]),
        Scenario(
            f"sweep_{tag}_lr_activation",
            [_sweep("lr=0.01,1,1000", "activation=sigmoid,tanh,relu", "loss=mse", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_spiral3_seeds",
            [_sweep("dataset=spiral", "dataset.classes=3", "seed=0,1", "lr=0.1,0.5", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_failing_job",
            [
                _sweep("dataset=spiral", "dataset.classes=2,3", "loss=bce", "sweep_check=skip")
                + launcher
            ],
        ),
        Scenario(
            f"sweep_{tag}_failing_off",
            [
                _sweep("dataset=spiral", "dataset.classes=2,3", "loss=bce", "sweep_check=off")
                + launcher
            ],
        ),
        Scenario(
            f"sweep_{tag}_refused",
            [_sweep("dataset=spiral", "dataset.classes=2,3", "loss=bce", *launcher)],
        ),
        Scenario(f"sweep_{tag}_chdir", [_sweep("seed=0,1", "hydra.job.chdir=true", *launcher)]),
        Scenario(
            f"sweep_{tag}_resume",
            [_sweep("lr=0.1,1", "seed=0,1", *launcher)] * 2,
            {1: _delete_job("2")},
        ),
        Scenario(f"sweep_{tag}_twice", [_sweep("seed=0,1", *launcher)] * 2),
        Scenario(
            f"sweep_{tag}_csv_float32",
            [
                _sweep(
                    "dataset=csv",
                    "dataset.path=data.csv",
                    "dataset.target=label",
                    "dtype=float32",
                    "seed=0,1",
                    "snapshots=0",
                    *launcher,
                )
            ],
            {0: _write_csv},
        ),
        # with and without held-out rows, sse (plotted per row) and mse, early stops:
        # the curves' kept backgrounds see different legends and limits in one process
        Scenario(
            f"sweep_{tag}_val_mix",
            [
                _sweep(
                    "dataset=spiral",
                    "dataset.val_fraction=0,0.25",
                    "loss=mse,sse",
                    "early_stopping.patience=5",
                    "snapshots=0",
                    *launcher,
                )
            ],
        ),
        # override spellings the report reads with and without Hydra's grammar
        Scenario(
            f"sweep_{tag}_spellings",
            [
                _sweep(
                    "lr=1e-2,.5,0.10",
                    "model.hidden=[4],[4,4]",
                    "seed=range(2)",
                    "snapshots=0",
                    *launcher,
                )
            ],
        ),
        # enough jobs for the report's reading ahead while the sweep runs
        Scenario(f"sweep_{tag}_many", [_sweep("seed=range(12)", "snapshots=0", *launcher)]),
        Scenario(
            f"sweep_{tag}_no_output_subdir",
            [_sweep("seed=0,1", "hydra.output_subdir=null", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_job_logging_disabled",
            [_sweep("seed=0,1", "hydra/job_logging=disabled", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_job_logging_stdout",
            [_sweep("seed=0,1", "hydra/job_logging=stdout", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_optuna",
            [
                [
                    "-m",
                    "hparams_search=circles_optuna",
                    "hydra.sweeper.n_trials=4",
                    "epochs=30",
                    "hydra.sweep.dir=sweep",
                    *launcher,
                ]
            ],
        ),
        Scenario(
            f"sweep_{tag}_datasets",
            [
                _sweep(
                    "dataset=red_blue,xor,circles,gaussians",
                    "snapshots=3",
                    "optimizer=adam,gd",
                    *launcher,
                )
            ],
        ),
        Scenario(
            f"sweep_{tag}_csv_held_out",
            [
                _sweep(
                    "dataset=csv",
                    "dataset.path=data.csv",
                    "dataset.target=kind",
                    "seed=0,1",
                    "lr=0.1,3",
                    *launcher,
                )
            ],
            {0: _write_big_csv},
        ),
        # per-job values interpolated: the folder from the overrides, the seed from the
        # job's number (the batched launcher's one config per template, mutated per job)
        Scenario(
            f"sweep_{tag}_subdir_override_dirname",
            [
                _sweep(
                    "lr=0.1,1",
                    "seed=0,1",
                    "hydra.sweep.subdir=${hydra.job.override_dirname}",
                    *launcher,
                )
            ],
        ),
        Scenario(
            f"sweep_{tag}_seed_from_job_num",
            [_sweep("lr=0.1,1", "seed=${hydra:job.num}", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_job_logging_none",
            [_sweep("seed=0,1", "hydra/job_logging=none", *launcher)],
        ),
        Scenario(
            f"sweep_{tag}_skip_mixed",
            [
                _sweep(
                    "dataset=spiral",
                    "dataset.classes=2,3",
                    "loss=bce,mse",
                    "seed=0,1",
                    "sweep_check=skip",
                    "snapshots=0",
                    *launcher,
                )
            ],
        ),
        Scenario(
            f"sweep_{tag}_spaced_csv_features",
            [
                _sweep(
                    "dataset=csv",
                    "dataset.path=my data.csv",
                    "dataset.target=kind",
                    "dataset.features=[a],[a,b]",
                    "seed=0,1",
                    *launcher,
                )
            ],
            {0: _write_spaced_csv},
        ),
    ]
SCENARIOS.append(
    Scenario("sweep_joblib", [_sweep("seed=0,1", "lr=0.1,1", "hydra/launcher=joblib")])
)


def _env(tree: Path, cache: Path) -> dict[str, str]:
    """The tree first on the path and a figure cache of its own (the decision boundary's
    kept layers, NNEXP_CACHE_DIR), empty at the first scenario: each tree draws its own."""
    env = dict(os.environ, PYTHONPATH=str(tree), HYDRA_FULL_ERROR="0")
    env["NNEXP_CACHE_DIR"] = str(cache)
    env.pop("PYTHONWARNINGS", None)
    return env


SEPARATOR = "\n=== next command ===\n"


def run_scenario(scenario: Scenario, tree: Path, folder: Path) -> list[str]:
    """Runs the scenario's commands in ``folder`` with ``tree`` first on the path; returns
    each command's exit status, stdout and stderr as text to compare."""
    folder.mkdir(parents=True)
    outputs = []
    for i, args in enumerate(scenario.commands):
        if i in scenario.between:
            scenario.between[i](folder)
        done = subprocess.run(
            [sys.executable, "-m", "nnexp", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            env=_env(tree, folder.parent.parent / f"cache-{folder.parent.name}"),
            timeout=600,
        )
        outputs.append(
            f"$ nnexp {' '.join(args)}\nexit {done.returncode}\n"
            f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
        )
    folder.with_suffix(".out").write_text(SEPARATOR.join(outputs))
    return outputs


# What legitimately differs, as (pattern, replacement), applied to every text file.
STAMP = re.compile(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]")
NORMALISE_ALL = [
    (STAMP, b"[DATE TIME]"),
    # Optuna's log lines: "[I 2026-11-29 13:29:22,320]"
    (re.compile(rb"\[I \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]"), b"[I DATE TIME]"),
    # "(0.00 s)" after a run, "in 1.2 s", durations the reports print
    (re.compile(rb"\(\d+\.\d+ s\)"), b"(T s)"),
    (re.compile(rb'"train_seconds": [0-9.e+-]+'), b'"train_seconds": T'),
    # each tree's commit (summary.json's git_commit, the reports' "nnexp commit")
    (re.compile(rb"\b[0-9a-f]{40}(-dirty)?\b"), b"COMMIT"),
]


def normalise(path: str, data: bytes, roots: list[bytes]) -> bytes:
    if path.endswith((".png", ".gif", ".npz")):
        return data
    for root in roots:
        data = data.replace(root, b"ROOT")
    for pattern, replacement in NORMALISE_ALL:
        data = pattern.sub(replacement, data)
    if path.endswith(".nnexp.lock"):
        data = re.sub(rb"\d+", b"PID", data)
    if path.endswith(("summary.csv", "metrics.csv")):
        data = _csv_column(data, b"seconds")
    if path.endswith("report.md"):
        data = _markdown_column(data, b"seconds")
    if path.endswith("report.html"):
        data = _html_column(data, b"seconds")
    return _normalise_extra(path, data)


CSV_FIELD = re.compile(rb'"(?:[^"]|"")*"|[^,]*')


def _csv_fields(line: bytes) -> list[bytes]:
    """A CSV line's fields as written (quotes kept)."""
    fields, at = [], 0
    while True:
        m = CSV_FIELD.match(line, at)
        assert m is not None  # the pattern matches the empty string
        fields.append(m.group(0))
        at = m.end() + 1
        if at > len(line):
            return fields


def _csv_column(data: bytes, name: bytes) -> bytes:
    """The column ``name`` of a CSV replaced by T (rows with a line break in a quoted
    field would be left as they are, and then differ: nnexp writes none)."""
    lines = data.split(b"\n")
    header = _csv_fields(lines[0])
    if name not in header:
        return data
    k = header.index(name)
    out = [lines[0]]
    for line in lines[1:]:
        cells = _csv_fields(line)
        if len(cells) == len(header):
            cells[k] = b"T"
        out.append(b",".join(cells))
    return b"\n".join(out)


def _markdown_column(data: bytes, name: bytes) -> bytes:
    """The column ``name`` of every Markdown table that has one replaced by T."""
    out, k = [], None
    for line in data.split(b"\n"):
        cells = line.split(b" | ")
        if not line.startswith(b"|"):
            k = None
        elif k is None and name in cells:
            k = cells.index(name)
        elif k is not None and len(cells) > k and not line.startswith(b"| ---"):
            cells[k] = b"T"
            line = b" | ".join(cells)
        out.append(line)
    return b"\n".join(out)


TD = re.compile(rb"<td[^>]*>.*?</td>", re.S)


def _html_column(data: bytes, name: bytes) -> bytes:
    """The cells under ``<th ...>name</th>`` of every HTML table replaced by T."""
    parts = data.split(b"<table")
    for i, part in enumerate(parts):
        head = re.findall(rb"<th[^>]*>(.*?)</th>", part.split(b"</thead>")[0], re.S)
        if name not in head:
            continue
        k = head.index(name)

        def row(m: re.Match[bytes], k: int = k) -> bytes:
            cells = TD.findall(m.group(0))
            if len(cells) <= k:
                return m.group(0)
            return m.group(0).replace(cells[k], b"<td>T</td>", 1)

        parts[i] = re.sub(rb"<tr.*?</tr>", row, part, flags=re.S)
    return b"<table".join(parts)


# Report lines that print durations (filled in as they are found; each one precise).
EXTRA: list[tuple[str, re.Pattern[bytes], bytes]] = [
    # report.md's job table and the run report: seconds of training
    ("report.md", re.compile(rb"(\| )\d+\.\d+( s \|)"), rb"\1T\2"),
    # a run's report: "ok, 40 epochs in 0.00273 s of training"
    ("report.md", re.compile(rb"( epochs in )[0-9.e+-]+( s of training)"), rb"\1T\2"),
    ("report.html", re.compile(rb"( epochs in )[0-9.e+-]+( s of training)"), rb"\1T\2"),
    # a sweep job's line in its log: "job 1 of 3 (#0): ok, objective 0.136858, 0.20 s"
    # (hydra/job_logging=stdout prints the line bare)
    (
        "nnexp.log",
        re.compile(rb"^(.*job \d+( of \d+)? \(#\d+\): .*, )\d+\.\d+ s$", re.M),
        rb"\1T s",
    ),
    # the batched launcher's group line: "trained jobs #2..#8 together: 3 replicas in 0.01 s"
    # (before 3e25c5d), "trained jobs #2, #5: 2 replicas together in 0.01 s", "trained job
    # #2: 1 replica in 0.01 s"
    (
        "nnexp.log",
        re.compile(rb"(: \d+ replicas?( together)? in )\d+\.\d+ s$", re.M),
        rb"\1T s",
    ),
    # a traceback printed by both trees: its frames (lines and code) are each tree's own,
    # the exception's line is compared
    ("command.out", re.compile(rb"^Traceback .*?\n(?=\S)", re.M | re.S), b"Traceback (FRAMES)\n"),
    # the sweep's last line on the terminal: "sweep in 1.5 s: 3 jobs: 3 ok; ..."
    ("command.out", re.compile(rb"(\] sweep in )\d+\.\d+( s: )"), rb"\1T\2"),
]


def _normalise_extra(path: str, data: bytes) -> bytes:
    for suffix, pattern, replacement in EXTRA:
        # a command's terminal output holds its log lines
        if path.endswith(suffix) or (suffix == "nnexp.log" and path == "command.out"):
            data = pattern.sub(replacement, data)
    return data


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def compare(name: str, old: Path, new: Path, trees: tuple[Path, Path]) -> list[str]:
    """Differences between the folders (and the commands' outputs, kept next to each
    folder), one message each."""
    problems = []
    roots = [str(p).encode() for p in (old, new, *trees)]
    a, b = files(old), files(new)
    outs = tuple(f.with_suffix(".out").read_text().split(SEPARATOR) for f in (old, new))
    _known(a, b)
    for path in sorted(set(a) ^ set(b)):
        problems.append(f"{name}: {path} only in {'baseline' if path in a else 'this tree'}")
    for path in sorted(set(a) & set(b)):
        x, y = normalise(path, a[path], roots), normalise(path, b[path], roots)
        if x != y:
            problems.append(f"{name}: {path} differs\n{_first_diff(x, y)}")
    for i, (x, y) in enumerate(zip(*outs, strict=True)):
        x2 = normalise("command.out", x.encode(), roots)
        y2 = normalise("command.out", y.encode(), roots)
        if BASIC not in x:
            # the batched launcher's worker processes write to the terminal as they go:
            # the lines' order is the scheduler's, the lines themselves must be the same
            x2, y2 = (b"\n".join(sorted(z.split(b"\n"))) for z in (x2, y2))
        if x2 != y2:
            problems.append(f"{name}: command {i} output differs\n{_first_diff(x2, y2)}")
    return problems


NO_VAL_CAPTION_BEFORE = (
    b"Training loss (solid) and validation loss (dashed) over epochs, log scale of\n"
    b"    epoch + 1; the red line is the snapshot shown."
)
NO_VAL_CAPTION_AFTER = (
    b"Training loss over epochs, log scale of epoch + 1; the red line is the snapshot\n    shown."
)


GROUP_LINE = re.compile(
    rb"^\[[^]]*\]\[hydra_plugins\.nnexp_batched_launcher\._core\]\[\w+\] - "
    rb"(trained jobs \S+ together: |jobs \S+ train alone: ).*\n",
    re.M,
)
BLAS_RECORD = re.compile(rb'\n  "blas": \{\n.*?\n  \}', re.S)


def _numpy_blas_version() -> bytes:
    import numpy as np

    built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return str(built.get("version")).encode()


def _known(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """The baseline's files changed as commits since 990ab79 say they now differ:
    13d88d6, learning.html's caption names the dashed validation curve only when the run
    held rows out (its metrics.csv has a val_loss column); summary.json's ``blas`` names
    NumPy's BLAS, where the baseline named another library loaded first (SciPy's, in a
    sweep with Optuna): the baseline's record is taken as this tree's when its version
    is not NumPy's; the batched launcher's lines about a group trained together (or
    alone) are no longer written into the log of the job its process ran before."""
    numpy_blas = b'"version": "' + _numpy_blas_version() + b'"'
    for path, data in before.items():
        if path.endswith("nnexp.log"):
            data = before[path] = GROUP_LINE.sub(b"", data)
        if path.endswith("summary.json") and path in after:
            old, new = BLAS_RECORD.search(data), BLAS_RECORD.search(after[path])
            if old and new and numpy_blas not in old.group(0) and numpy_blas in new.group(0):
                before[path] = data.replace(old.group(0), new.group(0))
        if path.endswith("learning.html"):
            metrics = before.get(path[: -len("learning.html")] + "metrics.csv", b"")
            if b"val_loss" not in metrics.split(b"\n", 1)[0]:
                before[path] = data.replace(NO_VAL_CAPTION_BEFORE, NO_VAL_CAPTION_AFTER)


def _first_diff(x: bytes, y: bytes) -> str:
    try:
        xs, ys = x.decode().splitlines(), y.decode().splitlines()
    except UnicodeDecodeError:
        k = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        return f"    binary: {len(x)} vs {len(y)} bytes, first difference at byte {k}"
    diff = list(difflib.unified_diff(xs, ys, "baseline", "this tree", n=0, lineterm=""))
    return "\n".join("    " + line[:300] for line in diff[:12])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the older source tree")
    parser.add_argument("--tree", type=Path, default=HERE, help="the tree to compare")
    parser.add_argument("-k", default="", help="only scenarios whose name contains this")
    parser.add_argument("--keep", type=Path, help="run in this (new) folder and keep it")
    parser.add_argument(
        "--compare-only", action="store_true", help="compare what an earlier --keep left"
    )
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="same_bytes_"))
    chosen = [s for s in SCENARIOS if args.k in s.name]
    problems: list[str] = []
    counted = 0
    for scenario in chosen:
        old, new = base / "old" / scenario.name, base / "new" / scenario.name
        if not args.compare_only:
            run_scenario(scenario, args.baseline, old)
            run_scenario(scenario, args.tree, new)
        found = compare(scenario.name, old, new, (args.baseline.resolve(), args.tree.resolve()))
        counted += len(files(new))
        print(f"{scenario.name}: {len(files(new))} files, {'same' if not found else 'DIFFERENT'}")
        problems += found
    print(f"{len(chosen)} scenarios, {counted} files compared, {len(problems)} differences")
    for problem in problems:
        print(problem)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
