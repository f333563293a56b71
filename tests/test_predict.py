"""``nnexp predict``: a trained run's answer for new inputs, and one clear line
for every input it cannot use."""

from __future__ import annotations

import numpy as np
import pytest
from cli import job_dirs, nnexp, only_run, quick_first

TUTORIAL_LINE = "x1=1 x2=0 x3=0 -> 0.99993704 (class 1)"


def predict(cwd, *args, input: str | None = None):
    return nnexp(cwd, "predict", *args, input=input)


@pytest.fixture(scope="module")
def triples(tmp_path_factory):
    """The boolean-triples tutorial's run folder, trained once for the module."""
    cwd = tmp_path_factory.mktemp("triples")
    result = nnexp(cwd, "experiment=boolean_triples")
    assert result.returncode == 0, result.stderr
    return only_run(cwd)


def one_error_line(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nnexp predict: error: ")
    return lines[0]


def test_prints_the_tutorials_number(triples, tmp_path):
    result = predict(tmp_path, str(triples), "1", "0", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout == TUTORIAL_LINE + "\n"


def test_several_points_one_line_each(triples, tmp_path):
    result = predict(tmp_path, str(triples), "1", "0", "0", "0,1,1")
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == TUTORIAL_LINE
    assert second.startswith("x1=0 x2=1 x3=1 -> 0.00") and second.endswith("(class 0)")


def test_model_file_and_negative_numbers(triples, tmp_path):
    result = predict(tmp_path, str(triples / "model.npz"), "-1e-3", "-.5", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("x1=-0.001 x2=-0.5 x3=2 -> ")


def test_true_and_false_are_1_and_0_as_in_a_csv(triples, tmp_path):
    result = predict(tmp_path, str(triples), "True", "false", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout == TUTORIAL_LINE + "\n"


def test_asks_for_each_feature_on_stdin(triples, tmp_path):
    result = predict(tmp_path, str(triples), input="1\n0\n0\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == TUTORIAL_LINE + "\n"


def test_help(tmp_path):
    result = predict(tmp_path, "--help")
    assert result.returncode == 0
    assert "usage:" in result.stdout and "model.npz" in result.stdout


@pytest.mark.parametrize(
    "values, stdin, words",
    quick_first(
        [
            (["1", "0"], None, ["expected 3 numbers a point (x1 x2 x3), got 2"]),
            ([], "1\nabc\n0\n", ["x2: 'abc' is not a number"]),
            (["1", "0", "0", "1"], None, ["got 4"]),
            (["1", "abc", "0"], None, ["x2: 'abc' is not a number"]),
            (["1", "0", "0", "0", "nan", "0"], None, ["x2: 'nan' is not a number"]),
            ([], "1\n", ["no value given for x2"]),
        ],
        ["too few", "stdin not a number", "too many", "not a number", "nan", "stdin too few"],
    ),
)
def test_bad_values(triples, tmp_path, values, stdin, words):
    line = one_error_line(predict(tmp_path, str(triples), *values, input=stdin))
    for word in words:
        assert word in line


def test_missing_folder(tmp_path):
    line = one_error_line(predict(tmp_path, "no/such/run", "1", "0", "0"))
    assert "no such run folder: no/such/run" in line


def test_folder_without_model(tmp_path):
    (tmp_path / "empty").mkdir()
    line = one_error_line(predict(tmp_path, "empty", "1", "0", "0"))
    assert "empty has no model.npz" in line


@pytest.mark.slow
def test_failed_run_says_why(tmp_path):
    # A single run is refused before its folder is made: a sweep job records the failure.
    args = ["dataset=csv", "dataset.path=missing.csv", "dataset.target=label"]
    result = nnexp(tmp_path, "-m", *args, "sweep_check=skip", "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr
    (job,) = job_dirs(tmp_path / "sweep")
    line = one_error_line(predict(tmp_path, str(job), "1"))
    assert "failed run" in line and "missing.csv" in line


def test_a_broken_model_file(tmp_path):
    # Found: NumPy took it for a pickle, and the line said to load it unsafely.
    (tmp_path / "model.npz").write_bytes(b"not a zip")
    line = one_error_line(predict(tmp_path, ".", "1"))
    assert "model file is damaged: model.npz: not a .npz archive" in line
    assert "pickle" not in line
    (tmp_path / "model.npz").write_bytes(b"")
    line = one_error_line(predict(tmp_path, ".", "1"))
    assert "model file is damaged: model.npz: not a .npz archive" in line and "empty" in line
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04 and then nothing")  # cut short
    line = one_error_line(predict(tmp_path, ".", "1"))
    assert "model file is damaged: model.npz: not a complete .npz archive" in line


@pytest.mark.slow
def test_sweep_job_folder_and_sweep_folder(tmp_path):
    result = nnexp(tmp_path, "-m", "experiment=boolean_triples", "seed=1,2", "epochs=2000")
    assert result.returncode == 0, result.stderr
    sweeps = sorted((tmp_path / "outputs" / "multirun").glob("*/*"))
    assert len(sweeps) == 1
    job = sweeps[0] / "1"
    result = predict(tmp_path, str(job), "1", "0", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("x1=1 x2=0 x3=0 -> 0.99") and "(class 1)" in result.stdout
    line = one_error_line(predict(tmp_path, str(sweeps[0]), "1", "0", "0"))
    assert "is a sweep folder" in line and str(sweeps[0] / "0") in line


@pytest.mark.slow
def test_three_classes_lists_every_probability(tmp_path):
    rng = np.random.default_rng(0)
    centres = {"a": (-3, 0), "b": (3, 0), "c": (0, 4)}
    rows = ["u,v,kind"] + [
        f"{x:.4f},{y:.4f},{k}"
        for k in centres
        for x, y in rng.normal(centres[k], 0.5, size=(10, 2))
    ]
    (tmp_path / "three.csv").write_text("\n".join(rows) + "\n")
    result = nnexp(
        tmp_path,
        "dataset=csv",
        "dataset.path=three.csv",
        "dataset.target=kind",
        "optimizer=adam",
        "lr=0.05",
        "epochs=300",
    )
    assert result.returncode == 0, result.stderr
    result = predict(tmp_path, str(only_run(tmp_path)), "3", "0")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("u=3 v=0 -> ") and "(class b; P(a)=" in line
    probabilities = [float(part.split("=")[1].rstrip(")")) for part in line.split()[-3:]]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-6)


# --- issue 16 item 13: a damaged model file is one line, never a wrong answer ------------


def saved_model(folder, edit) -> None:
    """A 2-3-1 model written by nnexp, then ``edit(meta, arrays)`` applied and saved."""
    import io
    import json

    from nnexp.core.data import red_blue
    from nnexp.core.network import Network, init_params
    from nnexp.run.artifacts import save_model

    net = Network(2, (3,), 1, "sigmoid", "sigmoid", True)
    params = init_params(net, "xavier", np.random.default_rng(0))
    save_model(folder / "model.npz", net, params, red_blue())
    with np.load(folder / "model.npz") as f:
        arrays = {name: f[name] for name in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    edit(meta, arrays)
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
    (folder / "model.npz").write_bytes(buffer.getvalue())


def _set(key, value):
    def edit(meta, arrays):
        meta[key] = value

    return edit


def _reshape(meta, arrays):
    arrays["W1"] = np.zeros((4, 1))


def _drop(meta, arrays):
    del arrays["b0"]


@pytest.mark.parametrize(
    "edit, words",
    quick_first(
        [
            (_reshape, "W1 has shape (4, 1); the 2-3-1 network needs (3, 1)"),
            (_set("activation", "swish"), 'activation is "swish"; it must be one of sigmoid'),
            (_set("output_activation", 7), "output_activation is 7"),
            (
                _set("class_names", ["blue"]),
                'class_names is ["blue"]; it must be a list of 2 names',
            ),
            (
                _set("feature_names", ["x"]),
                'feature_names is ["x"]; it must be a list of 2 names',
            ),
            (_set("hidden", [3, -1]), "hidden is [3, -1]"),
            (_drop, "missing array b0"),
        ],
        ["shape", "activation", "output", "class names", "feature names", "hidden", "array"],
    ),
)
def test_a_damaged_model_file_is_one_line(tmp_path, edit, words):
    saved_model(tmp_path, edit)
    line = one_error_line(predict(tmp_path, ".", "1", "0"))
    assert line.startswith("nnexp predict: error: model file is damaged: model.npz: "), line
    assert words in line


def test_an_undamaged_model_still_answers(tmp_path):
    saved_model(tmp_path, lambda meta, arrays: None)
    result = predict(tmp_path, ".", "1", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("x=1 y=0 -> ") and "(class " in result.stdout


def test_a_diverged_model_answers_no_class(tmp_path):
    def diverge(meta, arrays):
        arrays["W0"] = np.full_like(arrays["W0"], np.nan)

    saved_model(tmp_path, diverge)
    result = predict(tmp_path, ".", "1", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x=1 y=0 -> nan (no class: the network's output is not a number)\n"
    assert result.stderr == ""
