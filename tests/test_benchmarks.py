"""The benchmark suite's plumbing, on a tiny budget: a peer that is not installed is
skipped with a note, the same-numbers checks hold, and the CSV reads back."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _common  # noqa: E402
import batched_sweep  # noqa: E402
import growing_data  # noqa: E402
import tutorial_peers  # noqa: E402


@pytest.fixture
def no_peers(monkeypatch):
    monkeypatch.setattr(tutorial_peers, "peer", lambda name: None)
    monkeypatch.setattr(growing_data, "peer", lambda name: None)
    monkeypatch.setattr(_common, "PAUSE", 0.0)


def test_missing_peers_are_skipped_with_a_note(no_peers, tmp_path):
    rows = tutorial_peers.run(epochs=200, repeats=1)
    by_contender = {r.contender: r for r in rows}
    hand = by_contender["hand-written NumPy loop"]
    assert hand.agreement == "bit-identical weights" and hand.ratio > 0 and hand.goal
    skipped = [r for r in rows if r.met == "skipped"]
    assert len(skipped) == 2
    assert all('pip install -e ".[bench]"' in r.note for r in skipped)
    _common.write_csv(rows, {"cpu": "test"}, tmp_path / "results.csv")
    table = pd.read_csv(tmp_path / "results.csv", comment="#")
    assert list(table.contender) == [r.contender for r in rows]
    assert (tmp_path / "results.csv").read_text().startswith("# cpu: test\n")


def test_growing_data_loop_agrees_with_nnexp(no_peers, monkeypatch, capsys):
    monkeypatch.setattr(growing_data, "SIZES", [(200, (4, 4), 20)])
    rows = growing_data.run(repeats=1, dtypes=("float32",))
    lean = next(r for r in rows if r.contender.startswith("lean"))
    assert float(lean.agreement.split()[-1]) < 1e-5  # rel. diff of the final losses
    assert any(r.met == "skipped" for r in rows)
    # Without PyTorch: one line says so, and how to install it.
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "PyTorch is not installed" in lines[0] and "pip install" in lines[0]


def test_batched_sweep_trains_with_the_resolved_loss():
    # Its preset names sse, but a job with the default loss=auto must train too: both
    # timings go through the loss the setup resolved (bce here), never the config's "auto".
    from argparse import Namespace

    cfgs = batched_sweep.configs(Namespace(experiment="red_blue", jobs=2, epochs=5), 5, "loss=auto")
    assert [c.loss for c in cfgs] == ["auto", "auto"]
    alone, stacked = batched_sweep.training_throughput(cfgs, repeats=1)
    assert alone > 0 and stacked > 0


@pytest.mark.slow
def test_batched_sweep_benchmark_runs_on_a_tiny_budget(tmp_path):
    # The README's command, shrunk: both sweeps end to end, then the throughput table.
    import re
    import subprocess

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "batched_sweep.py"
    command = [sys.executable, str(script), "--jobs", "3", "--epochs", "30", "--repeats", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = re.findall(
        r"^\| (sweep wall time|training)[^|]*\| ([\d.]+) s? ?\| ([\d.]+) s? ?\| "
        r"([\d.]+)x \|$",
        result.stdout,
        flags=re.M,
    )
    assert [r[0] for r in rows] == ["sweep wall time", "training"], result.stdout
    for _, basic, batched, ratio in rows:
        assert float(basic) > 0 and float(batched) > 0 and float(ratio) > 0


@pytest.mark.slow
def test_quality_on_unseen_tables_scores_a_table_and_names_a_refusal(monkeypatch, capsys):
    import quality_unseen

    argv = ["quality_unseen.py", "--problems", "booleans", "text", "--seeds", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    quality_unseen.main()
    out = capsys.readouterr().out
    scored = next(line for line in out.splitlines() if line.startswith("| a True/False column"))
    nnexp_score, scikit_learn = (float(c.split("±")[0]) for c in scored.split("|")[2:5:2])
    assert nnexp_score > 80 and scikit_learn > 80  # about 90 both, against 43 for the majority
    assert "| a text column (colours) | refused (1) |" in out
    assert "(1) a text column (colours): table.csv: feature column 'colour' holds text" in out
