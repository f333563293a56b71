"""nnexp verify: a run folder trained again from its record, compared bit for bit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nnexp.edge import verify
from tests.cli import nnexp, only_run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One short run made by the command, as a user makes it."""
    cwd = tmp_path_factory.mktemp("verify")
    done = nnexp(cwd, "epochs=60", "model.hidden=[3]")
    assert done.returncode == 0, done.stderr
    return only_run(cwd)


def copy_of(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def test_a_clean_run_verifies_from_the_command_line(recorded):
    done = nnexp(recorded.parent, "verify", str(recorded))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == f"{recorded}: identical"


def test_the_run_records_its_blas_and_threads(recorded):
    blas = json.loads((recorded / "summary.json").read_text())["blas"]
    assert blas["name"] and "threads" in blas


def test_an_edited_metric_is_named_with_its_epoch(recorded, tmp_path, capsys):
    run = copy_of(recorded, tmp_path)
    lines = (run / "metrics.csv").read_text().splitlines()
    header, row = lines[0].split(","), lines[11].split(",")
    loss = header.index("loss")
    row[loss] = repr(float(row[loss]) * (1 + 1e-15) + 1e-17)
    lines[11] = ",".join(row)
    (run / "metrics.csv").write_text("\n".join(lines) + "\n")
    epoch = row[header.index("epoch")]

    assert verify.main([str(run)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{run}: differs"
    assert out[1].startswith(f"  metrics.csv: loss at epoch {epoch}: recorded {row[loss]}, re-run ")
    assert "model.npz and predictions.csv agree, so this file was changed after the run" in out[1]
    assert not any("model.npz:" in line for line in out)


def test_an_edited_weight_is_named_with_its_index(recorded, tmp_path, capsys):
    run = copy_of(recorded, tmp_path)
    with np.load(run / "model.npz") as f:
        arrays = dict(f)
    was = arrays["W1"][2, 0]
    arrays["W1"][2, 0] = np.nextafter(was, np.inf)  # one bit
    np.savez(run / "model.npz", **arrays)

    assert verify.main([str(run)]) == 1
    out = capsys.readouterr().out
    assert (
        f"model.npz: W1[2, 0]: recorded {float(arrays['W1'][2, 0])!r}, re-run {float(was)!r}" in out
    )
    assert "metrics.csv:" not in out


def test_a_recorded_config_that_no_longer_matches_fails(recorded, tmp_path, capsys):
    run = copy_of(recorded, tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["config"]["lr"] = 0.5
    (run / "summary.json").write_text(json.dumps(summary))

    assert verify.main([str(run)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "  the recorded config no longer matches the run's .hydra/config.yaml: "
        "lr is 0.5 in summary.json, 1.0 in .hydra/config.yaml"
    )
    # Trained with the other rate, the runs part at the first step.
    assert any(
        line.startswith("  metrics.csv: loss at epoch 1:")
        and "(the runs part after epoch 0, by epoch 1)" in line
        for line in out
    )


def test_a_different_environment_is_noted(recorded, tmp_path, capsys):
    run = copy_of(recorded, tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["versions"]["numpy"] = "1.26.4"
    summary["blas"]["threads"] = 64
    summary["git_commit"] = "0" * 40 + "-dirty"
    (run / "summary.json").write_text(json.dumps(summary))

    assert verify.main([str(run)]) == 0  # the numbers still agree
    out = capsys.readouterr().out
    assert f"note: numpy 1.26.4 recorded, {np.__version__} now" in out
    assert "64 threads recorded" in out
    assert f"note: commit {'0' * 40}-dirty recorded" in out
    assert "uncommitted changes" in out


def test_a_run_of_an_installed_nnexp_is_noted_in_words(recorded, monkeypatch):
    # Found: "note: commit unrecorded recorded, 1a2b...-dirty now" for a wheel's run.
    from nnexp.run import execute

    summary = json.loads((recorded / "summary.json").read_text())
    summary["git_commit"] = None
    monkeypatch.setattr(execute, "git_commit", lambda: "1a2b")
    assert "no commit recorded (an installed nnexp, not a git checkout), 1a2b now" in (
        verify.environment_notes(summary)
    )
    summary["git_commit"] = "1a2b"
    monkeypatch.setattr(execute, "git_commit", lambda: None)
    assert "commit 1a2b recorded; now an installed nnexp, not a git checkout" in (
        verify.environment_notes(summary)
    )


def test_an_unfinished_run_and_a_missing_folder(recorded, tmp_path, capsys):
    run = copy_of(recorded, tmp_path)
    (run / "summary.json").unlink()
    assert verify.main([str(run)]) == 1
    assert "no readable summary.json: the run never finished" in capsys.readouterr().out
    assert verify.main([str(tmp_path / "nowhere")]) == 2
    assert "nnexp verify: error: no such folder" in capsys.readouterr().err


@pytest.mark.slow
def test_every_job_of_a_batched_sweep_verifies(tmp_path):
    done = nnexp(
        tmp_path, "-m", "epochs=40", "lr=0.5,1", "seed=0,1", "loss=sse,cross_entropy",
        "hydra/launcher=batched", "sweep_check=skip",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    checked = nnexp(tmp_path, "verify", str(sweep))
    # cross_entropy with a sigmoid output fails in every job, and fails again alike.
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "8 of 8 runs identical" in checked.stdout
    job = next(d for d in sorted(sweep.iterdir()) if (d / "model.npz").is_file())
    with np.load(job / "model.npz") as f:
        arrays = dict(f)
    arrays["b0"][0] += 1.0
    np.savez(job / "model.npz", **arrays)
    checked = nnexp(tmp_path, "verify", str(sweep))
    assert checked.returncode == 1
    assert f"{job}: differs" in checked.stdout
    assert "7 of 8 runs identical" in checked.stdout
