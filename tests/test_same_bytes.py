"""benchmarks/same_bytes.py: its normalising leaves real differences visible (quick), and
two runs of one tree compare equal through it (slow: the script end to end)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location(
        "same_bytes", ROOT / "benchmarks" / "same_bytes.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["same_bytes"] = module
    spec.loader.exec_module(module)
    return module


def _folder(tmp: Path, name: str, files: dict[str, str], out: str = "") -> Path:
    folder = tmp / name / "case"
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    folder.with_suffix(".out").write_text(out)
    return folder


LOG = "[2026-11-29 13:24:13,{ms}][nnexp][INFO] - job 1 of 2 (#0): ok, objective {obj}, {s} s\n"
SUMMARY = 'job,lr,status,objective,seconds,run_dir\n0,0.1,ok,{obj},{s},0\n1,"[4,4]",ok,0.2,{s},1\n'
REPORT = "| job | lr | objective | seconds | run\\_dir |\n| --- | --- | --- | --- | --- |\n| 0 | 0.1 | {obj} | {s} | 0 |\n"


def _files(obj: str, s: str, ms: str) -> dict[str, str]:
    return {
        "sweep/0/nnexp.log": LOG.format(ms=ms, obj=obj, s=s),
        "sweep/summary.csv": SUMMARY.format(obj=obj, s=s),
        "sweep/report.md": REPORT.format(obj=obj, s=s),
    }


def test_times_are_normalised_and_values_are_not(tmp_path):
    same_bytes = _script()
    trees = (tmp_path / "a", tmp_path / "b")
    old = _folder(tmp_path, "old", _files("0.136858", "0.52", "210"))
    new = _folder(tmp_path, "new", _files("0.136858", "0.31", "877"))
    assert same_bytes.compare("case", old, new, trees) == []
    changed = _folder(tmp_path, "changed", _files("0.136859", "0.52", "210"))
    found = same_bytes.compare("case", old, changed, trees)
    assert sorted(p.split("\n")[0] for p in found) == [
        "case: sweep/0/nnexp.log differs",
        "case: sweep/report.md differs",
        "case: sweep/summary.csv differs",
    ]


def test_a_file_only_one_tree_wrote_is_a_difference(tmp_path):
    same_bytes = _script()
    old = _folder(tmp_path, "old", {"run/a.png": "x"})
    new = _folder(tmp_path, "new", {"run/a.png": "x", "run/b.png": "y"})
    assert same_bytes.compare("case", old, new, (tmp_path, tmp_path)) == [
        "case: run/b.png only in this tree"
    ]


def test_html_seconds_column_only(tmp_path):
    same_bytes = _script()
    row = '<table><thead><tr><th>job</th><th class="num">seconds</th></tr></thead><tbody><tr><td data-v="0.0">0</td><td data-v="{v}">{v}</td></tr></tbody></table>'
    a = same_bytes._html_column(row.format(v="0.25").encode(), b"seconds")
    b = same_bytes._html_column(row.format(v="0.5").encode(), b"seconds")
    assert a == b and b'data-v="0.0">0</td>' in a


@pytest.mark.slow
def test_one_tree_against_itself_is_the_same(tmp_path):
    """Timing and paths differ between two runs of one tree; the script must see
    nothing else (a normalisation missing here would report every comparison)."""
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "same_bytes.py"),
        "--baseline",
        str(ROOT),
        "-k",
        "sweep_batched_resume",
        "--keep",
        str(tmp_path / "kept"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 scenarios, 62 files compared, 0 differences" in result.stdout
