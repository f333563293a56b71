"""Writing and reading a run folder. Every file is written to a temporary name in the
same folder and renamed into place, so a reader (or a resumed sweep) never sees half a
file; ``summary.json`` is written last and marks a finished run."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..core.network import Network, Params

# A run folder's files: each name is spelled here only.
METRICS = "metrics.csv"
PREDICTIONS = "predictions.csv"
MODEL = "model.npz"
CURVES = "curves.png"
BOUNDARY = "decision_boundary.png"
LEARNING_PAGE = "learning.html"
LEARNING_GIF = "learning.gif"
REPORT = "report.md"
SUMMARY = "summary.json"  # written last: marks a finished run
HYDRA_CONFIG = ".hydra/config.yaml"  # written by Hydra as the job starts
HYDRA_OVERRIDES = ".hydra/overrides.yaml"
FINISHED = ("ok", "diverged")
# Everything a finished run writes besides its summary, for a failed retry to clear.
RESULTS = (
    METRICS,
    PREDICTIONS,
    MODEL,
    CURVES,
    BOUNDARY,
    LEARNING_PAGE,
    LEARNING_GIF,
    REPORT,
)


def write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp makes owner-only files; a run folder is meant to be read by others too.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, record: dict) -> Path:
    return write_text(path, json.dumps(record, indent=2, default=_jsonable) + "\n")


def write_frame(path: Path, frame) -> Path:
    """A pandas DataFrame as CSV, full float precision, no index."""
    return write_text(path, frame.to_csv(index=False))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_summary(run_dir: Path) -> dict | None:
    """The run's summary, or None when there is none to trust: never written (the run did
    not finish), or unreadable (not UTF-8, not JSON, truncated, not an object). A caller
    that needs to say why asks ``summary_problem``."""
    return _load_summary(Path(run_dir) / SUMMARY)[0]


def summary_problem(run_dir: Path) -> str | None:
    """Why ``run_dir``'s summary.json cannot be trusted, in a few words (None: it is
    missing, which is normal for a run that has not finished, or it reads fine)."""
    return _load_summary(Path(run_dir) / SUMMARY)[1]


def _load_summary(path: Path) -> tuple[dict | None, str | None]:
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None, None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except json.JSONDecodeError as error:
        return None, f"not valid JSON ({error.msg} at line {error.lineno})"
    except OSError as error:
        return None, f"unreadable ({error.strerror or error})"
    if not isinstance(record, dict):
        return None, f"a JSON {type(record).__name__}, not an object"
    return record, None


def save_model(path: Path, net: Network, params: Params, dataset) -> Path:
    """Parameters and everything needed to rebuild the network and feed it raw inputs."""
    arrays = {f"W{l}": w for l, w in enumerate(params.weights)}
    arrays.update({f"b{l}": b for l, b in enumerate(params.biases)})
    meta = {
        "n_inputs": net.n_inputs,
        "hidden": list(net.hidden),
        "n_outputs": net.n_outputs,
        "activation": net.activation,
        "output_activation": net.output_activation,
        "bias": net.bias,
        "feature_names": list(dataset.feature_names),
        "class_names": list(dataset.class_names),
        "dataset": dataset.name,
    }
    buffer = io.BytesIO()
    saved: dict[str, Any] = {
        "meta": np.array(json.dumps(meta)),
        "shift": dataset.shift,
        "scale": dataset.scale,
        **arrays,
    }
    np.savez(buffer, **saved)
    return write_bytes(path, buffer.getvalue())


def load_model(path: Path) -> tuple[Network, Params, dict]:
    """-> (network, parameters, meta with feature/class names, shift and scale)."""
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        net = Network(
            meta["n_inputs"],
            tuple(meta["hidden"]),
            meta["n_outputs"],
            meta["activation"],
            meta["output_activation"],
            meta["bias"],
        )
        weights = [f[f"W{l}"] for l in range(net.n_layers)]
        biases = [f[f"b{l}"] for l in range(net.n_layers)] if net.bias else []
        meta["shift"], meta["scale"] = f["shift"], f["scale"]
    return net, Params(weights, biases), meta


def metrics_frame(history, replica: int | None = None):
    """History -> DataFrame: epoch, loss, accuracy, [val_loss, val_accuracy], lr, seconds."""
    import pandas as pd

    columns = {"epoch": history.epochs}
    for name, values in history.columns.items():
        # One array (rows, values per row) at once: a Python loop over 2 000 rows of five
        # columns costs a sweep's job more than writing the file does.
        table = np.asarray(values, dtype=float).reshape(len(values), -1)
        columns[name] = table[:, 0 if replica is None else replica]
    order = [
        c
        for c in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")
        if c in columns
    ]
    return pd.DataFrame(columns)[order]


def _feature_columns(dataset) -> list[str]:
    """Feature names, with " (feature)" added to any that would collide with a column
    predictions.csv adds itself (a CSV may well have a feature called ``name``)."""
    reserved = {
        "kind",
        "name",
        "target",
        "probability",
        "predicted",
        *(f"p_{c}" for c in dataset.class_names),
    }
    return [f"{f} (feature)" if f in reserved else f for f in dataset.feature_names]


def predictions_frame(dataset, net: Network, params: Params):
    """Query points, then training and validation points: features by name, target,
    predicted probability and class (and one probability column a class when there
    are more than two)."""
    import pandas as pd

    from ..core.network import predict

    parts = [
        ("query", dataset.queries, None, dataset.query_names),
        ("train", dataset.X, dataset.labels, None),
    ]
    if dataset.X_val is not None:
        parts.append(("val", dataset.X_val, dataset.labels_val, None))
    frames = []
    for kind, X, labels, names in parts:
        if len(X) == 0:
            continue
        out = predict(net, params, dataset.transform(X))
        frame = pd.DataFrame(X, columns=_feature_columns(dataset))
        frame.insert(0, "name", names if names is not None else [""] * len(X))
        frame.insert(0, "kind", kind)
        frame["target"] = (
            [dataset.class_names[i] for i in labels] if labels is not None else [""] * len(X)
        )
        if out.shape[1] == 1:
            frame["probability"] = out[:, 0]
            guess = (out[:, 0] >= 0.5).astype(int)
        else:
            for c, name in enumerate(dataset.class_names):
                frame[f"p_{name}"] = out[:, c]
            frame["probability"] = out.max(axis=1)
            guess = out.argmax(axis=1)
        frame["predicted"] = [dataset.class_names[i] for i in guess]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
