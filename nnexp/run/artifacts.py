"""Writing and reading a run folder. Every file is written to a temporary name in the
same folder and renamed into place, so a reader (or a resumed sweep) never sees half a
file; ``summary.json`` is written last and marks a finished run."""

from __future__ import annotations

import csv
import io
import json
import math
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
REPORT_HTML = "report.html"  # report.md rendered
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
    REPORT_HTML,
)
# How a NaN probability is spelled in predictions.csv: a word, not an empty cell, so a
# reader tells "not a number" from "not given" (pandas reads it back as NaN).
NAN = "nan"


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
    """Strict JSON (RFC 8259): NaN and infinite numbers, which it has no word for, are
    written as null; a diverged run's final loss is one."""
    return write_text(
        path,
        json.dumps(finite_or_null(record), indent=2, allow_nan=False, default=_jsonable) + "\n",
    )


def finite_or_null(value):
    """``value`` with every non-finite float (NumPy's too), at any depth, as None."""
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite_or_null(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_frame(path: Path, frame, na_rep: str = "") -> Path:
    """A ``Table`` or a pandas DataFrame as CSV, full float precision, no index; NaN as
    ``na_rep``."""
    return write_text(path, frame.to_csv(index=False, na_rep=na_rep))


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


class DamagedModel(ValueError):
    """A model file whose parts do not fit together (edited, truncated or foreign)."""


ZIP_MAGIC = b"PK\x03\x04"  # a .npz file is a zip archive of .npy arrays


def open_npz(path: Path):
    """``np.load`` of a file that must be a .npz archive. Anything else raises
    ``DamagedModel`` saying so: NumPy would take a text or foreign file for a pickle and
    suggest loading it unsafely (``allow_pickle``), which is no advice for a model file."""
    import zipfile

    with open(path, "rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if head != ZIP_MAGIC:
        raise DamagedModel(
            "not a .npz archive (NumPy's zip of arrays)" + ("" if head else ": the file is empty")
        )
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise DamagedModel(f"not a complete .npz archive ({error})") from None


def load_model(path: Path) -> tuple[Network, Params, dict]:
    """-> (network, parameters, meta with feature/class names, shift and scale).

    Raises ``DamagedModel`` (one line, naming the part) when the file's arrays and its
    meta do not describe one usable network, so no prediction is made from one."""
    with open_npz(path) as f:
        if "meta" not in f.files:
            raise DamagedModel("no meta entry (the network's description)")
        try:
            meta = json.loads(str(f["meta"]))
        except json.JSONDecodeError as error:
            raise DamagedModel(f"meta is not JSON: {error}") from None
        net = _network(meta)
        names = [f"W{l}" for l in range(net.n_layers)]
        names += [f"b{l}" for l in range(net.n_layers)] if net.bias else []
        names += ["shift", "scale"]
        missing = [n for n in names if n not in f.files]
        if missing:
            raise DamagedModel(f"missing array{'s' * (len(missing) > 1)} {', '.join(missing)}")
        arrays = {n: f[n] for n in names}
    _check_arrays(net, arrays)
    weights = [arrays[f"W{l}"] for l in range(net.n_layers)]
    biases = [arrays[f"b{l}"] for l in range(net.n_layers)] if net.bias else []
    meta["shift"], meta["scale"] = arrays["shift"], arrays["scale"]
    return net, Params(weights, biases), meta


def _network(meta) -> Network:
    """The network a model file's meta describes, each field checked."""
    from ..core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS

    if not isinstance(meta, dict):
        raise DamagedModel(f"meta is a JSON {type(meta).__name__}, not an object")

    def field(name, ok, allowed: str):
        value = meta.get(name)
        if not ok(value):
            raise DamagedModel(f"{name} is {json.dumps(value)}; it must be {allowed}")
        return value

    def count(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    def names(v) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    n_inputs = field("n_inputs", count, "a whole number >= 1")
    hidden = field(
        "hidden", lambda v: isinstance(v, list) and all(map(count, v)), "a list of sizes >= 1"
    )
    n_outputs = field("n_outputs", count, "a whole number >= 1")
    activation = field(
        "activation", lambda v: v in HIDDEN_ACTIVATIONS, "one of " + ", ".join(HIDDEN_ACTIVATIONS)
    )
    output = field(
        "output_activation", lambda v: v in ACTIVATIONS, "one of " + ", ".join(ACTIVATIONS)
    )
    bias = field("bias", lambda v: isinstance(v, bool), "true or false")
    field(
        "feature_names",
        lambda v: names(v) and len(v) == n_inputs,
        f"a list of {n_inputs} names (one an input)",
    )
    # One output is P(the second of two classes); several are one a class.
    classes = 2 if n_outputs == 1 else n_outputs
    field(
        "class_names",
        lambda v: names(v) and len(v) == classes,
        f"a list of {classes} names (the network has {n_outputs} output{'s' * (n_outputs > 1)})",
    )
    return Network(n_inputs, tuple(hidden), n_outputs, activation, output, bias)


def _check_arrays(net: Network, arrays: dict) -> None:
    """Every array of a model file has the shape the network needs and holds numbers."""
    sizes = net.sizes
    want: dict[str, tuple[int, ...]] = {
        f"W{l}": (i, o) for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]))
    }
    if net.bias:
        want.update({f"b{l}": (1, o) for l, o in enumerate(sizes[1:])})
    want.update(shift=(net.n_inputs,), scale=(net.n_inputs,))
    for name, shape in want.items():
        array = arrays[name]
        if array.dtype.kind not in "fiu":
            raise DamagedModel(f"{name} holds {array.dtype} values, not numbers")
        if array.shape != shape:
            raise DamagedModel(
                f"{name} has shape {array.shape}; the {'-'.join(map(str, sizes))} network "
                f"needs {shape}"
            )
    scale = arrays["scale"]
    if not (np.all(np.isfinite(scale)) and np.all(scale != 0)):
        raise DamagedModel("scale holds a zero or a non-finite value")


class Table:
    """Named columns of equal length, in order: a run's metrics and predictions. Each
    column is a 1-D NumPy array (numbers) or a list (text). ``to_csv`` writes the very
    bytes pandas' ``DataFrame.to_csv(index=False)`` writes for the same columns, without
    importing pandas (a third of a short run's start-up): numbers as NumPy spells them
    (``astype(str)``, the shortest repr that reads back exactly), NaN as ``na_rep``, and
    Python's csv writer with pandas' settings (minimal quoting, ``\\n`` line ends)."""

    def __init__(self, columns: dict[str, Any]) -> None:
        self.columns = dict(columns)

    def __getitem__(self, name: str):
        return self.columns[name]

    def __setitem__(self, name: str, values) -> None:
        """A column set, or replaced; one value fills every row."""
        self.columns[name] = np.full(len(self), values) if np.ndim(values) == 0 else values

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def to_csv(self, index: bool = False, na_rep: str = "") -> str:
        assert not index, "a run's tables are written without an index"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.columns)
        writer.writerows(zip(*(_cells(v, na_rep) for v in self.columns.values())))
        return buffer.getvalue()


def _cells(values, na_rep: str) -> list:
    """One column's CSV cells, as pandas spells them."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        if values.dtype == np.float64 or values.dtype.kind in "iu":
            # Python's repr of a float64 or an integer is NumPy's str of it (for a float,
            # the shortest string that reads back exactly), in a fraction of the time.
            cells = list(map(repr, values.tolist()))
        else:  # float32's shortest string is its own, not its float64 value's
            cells = values.astype(str).tolist()
        if values.dtype.kind == "f":
            for i in np.flatnonzero(np.isnan(values)):
                cells[i] = na_rep
        return cells
    return [na_rep if v is None else v for v in values]


def metrics_frame(history, replica: int | None = None) -> Table:
    """History -> Table: epoch, loss, accuracy, [val_loss, val_accuracy], lr, seconds."""
    columns: dict[str, Any] = {"epoch": np.asarray(history.epochs, dtype=np.int64)}
    for name, values in history.columns.items():
        # One array (rows, values per row) at once: a Python loop over 2 000 rows of five
        # columns costs a sweep's job more than writing the file does.
        table = np.asarray(values, dtype=float).reshape(len(values), -1)
        columns[name] = table[:, 0 if replica is None else replica]
    order = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")
    return Table({c: columns[c] for c in order if c in columns})


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


def predictions_frame(dataset, net: Network, params: Params) -> Table:
    """Query points, then training and validation points: features by name, target,
    predicted probability and class (and one probability column a class when there
    are more than two). Columns in this order: kind, name, the features (one a feature,
    in ``dataset.feature_names`` order), target, [p_<class> ...], probability, predicted:
    readers find them by position, as a feature may be called anything. A row whose
    output is not finite (a diverged network) has an empty ``predicted``."""
    from ..core.network import predict

    parts = [
        ("query", dataset.queries, None, dataset.query_names),
        ("train", dataset.X, dataset.labels, None),
    ]
    if dataset.X_val is not None:
        parts.append(("val", dataset.X_val, dataset.labels_val, None))
    parts = [part for part in parts if len(part[1])]
    kinds, names, features, targets, outs = [], [], [], [], []
    for kind, X, labels, given in parts:
        kinds += [kind] * len(X)
        names += list(given) if given is not None else [""] * len(X)
        features.append(X)
        targets += [dataset.class_names[i] for i in labels] if labels is not None else [""] * len(X)
        outs.append(predict(net, params, dataset.transform(X)))
    X = np.concatenate(features)  # (rows, features)
    out = np.concatenate(outs)  # (rows, outputs)
    columns: dict[str, Any] = {"kind": kinds, "name": names}
    columns.update(zip(_feature_columns(dataset), X.T))
    columns["target"] = targets
    if out.shape[1] == 1:
        columns["probability"] = out[:, 0]
        guess = (out[:, 0] >= 0.5).astype(int)
    else:
        for c, name in enumerate(dataset.class_names):
            columns[f"p_{name}"] = out[:, c]
        columns["probability"] = out.max(axis=1)
        guess = out.argmax(axis=1)
    # A diverged network's NaN output predicts nothing: no class rather than class 0.
    known = np.isfinite(out).all(axis=1)
    columns["predicted"] = [dataset.class_names[i] if k else "" for i, k in zip(guess, known)]
    return Table(columns)
