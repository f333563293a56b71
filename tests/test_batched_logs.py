"""A batched sweep's job logs hold their own jobs' lines only: the line about a group
trained together goes to the terminal, not into the nnexp.log of whichever job the
process ran before (which one that was, the processes' scheduling decided)."""

from __future__ import annotations

import pytest
from cli import job_dirs, nnexp


@pytest.mark.slow
def test_group_lines_reach_the_terminal_and_no_job_log(tmp_path):
    result = nnexp(
        tmp_path,
        "-m",
        "dataset=red_blue,xor",
        "epochs=5",
        "snapshots=0",
        "hydra.launcher.n_jobs=1",  # one process: the second group follows job #0
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    said = result.stdout + result.stderr
    assert "trained jobs #0 together: 1 replicas" in said
    assert "trained jobs #1 together: 1 replicas" in said
    logs = [(d / "nnexp.log").read_text() for d in job_dirs(tmp_path / "sweep")]
    assert len(logs) == 2
    for number, text in enumerate(logs):
        assert "together" not in text, text
        assert f"(#{number}): ok" in text, text
