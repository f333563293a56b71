"""A batched sweep's job logs hold their own jobs' lines only: the line about a group
trained together goes to the terminal, not into the nnexp.log of whichever job the
process ran before (which one that was, the processes' scheduling decided), and in
Hydra's format, as the launcher's other lines and as Hydra's basic launcher logs."""

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
    # In Hydra's format, as the launcher's other lines: the second follows job #0, whose
    # own logging set-up the process had until then.
    assert "[HYDRA] trained job #0: 1 replica in" in said
    assert "[HYDRA] trained job #1: 1 replica in" in said
    assert "[HYDRA] sweep in" in said  # and the sweep's lines after the jobs'
    assert "][hydra_plugins." not in said
    logs = [(d / "nnexp.log").read_text() for d in job_dirs(tmp_path / "sweep")]
    assert len(logs) == 2
    for number, text in enumerate(logs):
        assert "together" not in text, text
        assert f"(#{number}): ok" in text, text


@pytest.mark.parametrize(
    ("nums", "named"),
    [
        ([4], "job #4"),
        ([0, 1, 2, 3], "jobs #0..#3"),
        ([3, 4], "jobs #3..#4"),
        ([0, 3, 6], "jobs #0, #3, #6"),
        ([0, 1, 2, 7, 9, 10], "jobs #0..#2, #7, #9..#10"),
    ],
)
def test_a_group_names_its_jobs_without_the_ones_between(nums, named):
    from hydra_plugins.nnexp_batched_launcher._core import _jobs_named

    assert _jobs_named(nums) == named
