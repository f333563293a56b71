"""A user's CSV file -> Dataset, checked once where it enters.

The file is comma-separated with a header line naming the columns; one column is the
class label (``target``), the others (or the ``features`` chosen) must be numbers.
Every problem raises ``DataError`` with one line naming the file, the column, the line
as an editor counts it (the header is line 1, the first data row line 2), the bad value
and what is allowed.

Choices worth knowing:
- Cells are read as text, so a value is reported exactly as written.
- A cell that is empty, ``NA``, ``N/A``, ``NaN`` or ``null`` is missing: there is no
  imputation, so a missing feature or label is an error (naming the first such row and
  counting the rest of its column). Blank lines are skipped.
- A feature column of ``True``/``False`` alone (any case) is read as 1/0. Any other
  feature column with no number in it (colours) is refused as text, naming its values; a
  column of numbers with a bad cell is refused at that cell.
- Class names are the sorted distinct target values as text; when every label is a
  number they are sorted as numbers (``2`` before ``10``) and written without a
  trailing ``.0``, so labels 0/1 become class names ``"0"``/``"1"``.
- A number target with more than ``QUANTITY_CLASSES`` values and under 5 rows a class is
  refused as a quantity to predict (a regression target), not silently trained as dozens
  of classes that nothing can learn.
- A quoted value spanning several lines makes later line numbers one short a line.

pandas is imported here and only here: the numeric core never sees it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from ..core.data import DataError, Dataset, with_queries
from .usage import closest

MISSING = {"", "na", "n/a", "nan", "null"}
FIRST_LINE = 2  # the header is line 1
# A number target with more classes than this, and under 5 rows a class on average, is
# a quantity to predict (nnexp classifies): ten digits pass, a column of prices does not.
QUANTITY_CLASSES = 10
BOOLEANS = {"true": "1", "false": "0"}  # a feature column of these alone is read as 1/0
CATEGORIES_SHOWN = 5  # values of a text column named in its error
# A feature column with a different whole number in each of at least this many rows,
# spanning fewer than twice as many values as rows, numbers the rows: warned about.
ID_ROWS = 20


def load_csv(
    path: str, target: str, features: list[str] | None = None, queries: list | None = None
) -> Dataset:
    """Read ``path`` -> Dataset with ``X: (n, d)`` floats, ``labels: (n,)`` class indices
    into the sorted ``class_names`` and ``queries: (q, d)``.

    ``features`` defaults to every column but ``target``; ``queries`` is a list of points
    of d numbers each (or one flat list of d numbers for a single point)."""
    path = str(path)
    frame = _read(path)
    target = str(target)
    columns = list(frame.columns)
    features = _pick_features(path, columns, target, features)

    # Blank lines are kept by the reader so that index + 2 is the line in the file.
    used = [c for c in columns if c == target or c in features]  # in file order
    text = frame[used].apply(lambda col: col.str.strip())
    text = text[~(frame.apply(lambda col: col.str.strip()) == "").all(axis=1)]
    lines = text.index.to_numpy() + FIRST_LINE
    if len(text) == 0:
        raise DataError(
            f"{path} has a header but no data rows: need at least two rows, one sample a line"
        )
    if len(text) < 2:
        raise DataError(
            f"{path} has 1 data row (line {lines[0]}): need at least two rows to learn from"
        )

    X = _numbers(path, text, features, lines)
    labels, class_names = _classes(path, text[target], target, len(text))
    return with_queries(Dataset(Path(path).stem, X, labels, features, class_names), queries)


def _read(path: str):
    import pandas as pd

    where = f" (relative to {os.getcwd()})" if not os.path.isabs(path) else ""
    if not os.path.exists(path):
        raise DataError(f"dataset.path: no such file: {path}{where}")
    if os.path.isdir(path):
        raise DataError(f"dataset.path: {path} is a folder: give the CSV file inside it")
    if not stat.S_ISREG(os.stat(path).st_mode):
        # A FIFO would block for ever and /dev/zero would be read until memory runs out.
        raise DataError(
            f"dataset.path: {path} is not a regular file (a device, pipe or socket): "
            "give a CSV file"
        )
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path} is empty: expected a header line naming the columns, then one row a sample"
        ) from None
    except pd.errors.ParserError as error:
        # pandas: "Error tokenizing data. C error: Expected 3 fields in line 6, saw 4\n"
        detail = str(error).strip().splitlines()[-1].split("error: ")[-1]
        raise DataError(
            f"{path} is not a valid CSV file: {detail} "
            "(every row needs one value per column of the header)"
        ) from None
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not UTF-8 text ({error.reason}): save it as a UTF-8 CSV"
        ) from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    names = _header(path)
    # The header as written, when it is the one pandas read (a header line with a quoted
    # line break or odd quoting keeps pandas' reading).
    frame.columns = (
        names if len(names) == len(frame.columns) else [str(c).strip() for c in frame.columns]
    )
    return frame


def _header(path: str) -> list[str]:
    """The header line's names as written. pandas renames a repeated name (``label``,
    ``label.1``) and names an empty one ``Unnamed: 1``, which would let a second target
    column in as a feature without a word: both are refused here."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: as pandas, drop a BOM
        names = [name.strip() for name in next(csv.reader(f), [])]
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{path} line 1: column {i + 1} has an empty header: name every column")
        if names.index(name) != i:
            raise DataError(
                f"{path} line 1: the header names {name!r} twice (columns "
                f"{names.index(name) + 1} and {i + 1}): give each column its own name"
            )
    return names


def _pick_features(path: str, columns: list[str], target: str, features) -> list[str]:
    listed = ", ".join(columns)
    if target not in columns:
        hint = (
            " (the file is read as comma-separated)"
            if len(columns) == 1 and any(s in columns[0] for s in ";\t|")
            else ""
        )
        raise DataError(
            f"dataset.target={target!r} is not a column of {path}{_closest(target, columns)}: "
            f"columns are {listed}{hint}"
        )
    if features is None:
        features = [c for c in columns if c != target]
        if not features:
            raise DataError(
                f"{path} has only the target column {target!r}: need at least one feature column"
            )
        return features
    features = [features] if isinstance(features, str) else [str(f) for f in features]
    if not features:
        raise DataError(
            "dataset.features is empty: name at least one column, "
            "or leave it null for every column but the target"
        )
    for name in features:
        if name == target:
            raise DataError(
                f"dataset.features: {name!r} is the target column and cannot also be a feature"
            )
        if name not in columns:
            raise DataError(
                f"dataset.features: {name!r} is not a column of {path}"
                f"{_closest(name, columns)}: columns are {listed}"
            )
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        raise DataError(f"dataset.features names {repeated[0]!r} twice: list each column once")
    return features


def _closest(name: str, columns: list[str]) -> str:
    """The hint for a column ``name`` likely meant as another (the case or a letter
    wrong): `` (did you mean 'label'?)``; else an empty string."""
    meant = closest(name, columns)
    return f" (did you mean {meant!r}?)" if meant else ""


def _numbers(path: str, text, features: list[str], lines) -> np.ndarray:
    """Feature cells -> X (n, d); the first bad cell (line by line, left to right) is the
    error. ``text`` holds the used columns, target included, as stripped strings."""
    import pandas as pd

    missing = text.apply(lambda col: col.str.lower().isin(MISSING))
    values = text[features].apply(lambda col: pd.to_numeric(_booleans(col), errors="coerce"))
    bad = missing.copy()
    bad[features] = missing[features] | ~np.isfinite(values.to_numpy(dtype=float))
    rows = np.flatnonzero(bad.to_numpy().any(axis=1))
    if len(rows):
        i = rows[0]
        column = next(c for c in text.columns if bad[c].iloc[i])
        raw = text[column].iloc[i]
        where = f"{path} line {lines[i]}, column {column!r}"
        if missing[column].iloc[i]:
            what = "is empty" if raw == "" else f"is missing ({raw!r})"
            more = int(missing[column].sum()) - 1
            also = f", as are {more} more of its rows" if more else ""
            leave = "" if column not in features else ", or leave the column out (dataset.features)"
            raise DataError(
                f"{where} {what}{also}: every row needs a value in every column used "
                f"(missing values are not filled in): fill them in, drop those rows{leave}"
            )
        words = text[column][~missing[column]]
        if column in features and values[column][~missing[column]].isna().all():
            # No number at all: a column of categories, not a typo in a number column.
            distinct = sorted(set(words))
            shown = ", ".join(_short(v, 20) for v in distinct[:CATEGORIES_SHOWN])
            shown += ", ..." if len(distinct) > CATEGORIES_SHOWN else ""
            raise DataError(
                f"{path}: feature column {column!r} holds text, not numbers "
                f"({len(distinct)} values: {shown}): encode it as numbers (one 0/1 column a "
                "value), or leave it out (dataset.features)"
            )
        hint = " (write booleans as 0/1)" if raw.lower() in ("true", "false") else ""
        raise DataError(
            f"{where}: {_short(raw)} is not a finite number: feature columns "
            f"must hold numbers{hint}"
        )
    return values[features].to_numpy(dtype=np.float64)


def _booleans(column):
    """A column of True/False alone (any case, missing cells aside), as spreadsheets and
    pandas write booleans -> "1"/"0"; any other column as it is."""
    lower = column.str.lower()
    written = lower[~lower.isin(MISSING)]
    if len(written) and written.isin(BOOLEANS).all():
        return lower.map(BOOLEANS).fillna(column)
    return column


def _classes(path: str, column, target: str, n: int) -> tuple[np.ndarray, list[str]]:
    """Target cells (n,) -> class indices (n,) and the sorted class names."""
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().all():
        # Numeric labels sort as numbers, so 2 comes before 10 and 1.0 is the class 1.
        distinct, labels = np.unique(numbers.to_numpy(dtype=float), return_inverse=True)
        names = [_number_name(v) for v in distinct]
    else:
        distinct, labels = np.unique(column.to_numpy(dtype=str), return_inverse=True)
        names = [str(v) for v in distinct]
    if len(names) == n and n > 2:
        raise DataError(
            f"{path}: target column {target!r} has a different value in each of its {n} "
            "rows, one class a row: is it an id column? Give the class column as "
            "dataset.target"
        )
    if numbers.notna().all() and len(names) > QUANTITY_CLASSES and n < 5 * len(names):
        # A measured quantity (a price, a temperature) read as classes: dozens of classes
        # of a row or two each, which a classifier cannot learn and reports as ok.
        raise DataError(
            f"{path}: target column {target!r} has {len(names)} different numbers in {n} "
            f"rows ({n / len(names):.1f} rows a class): it looks like a quantity to "
            "predict, and nnexp trains classifiers: give a column of class labels as "
            "dataset.target, or bin this one into a few classes"
        )
    if len(names) < 2:
        raise DataError(
            f"{path}: target column {target!r} has one class ({names[0]!r}) "
            f"in all {n} rows: need at least two classes to learn from"
        )
    return labels.astype(np.int64), names


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def id_columns(data: Dataset) -> list[str]:
    """One warning line for each feature that looks like a row id: a different whole
    number in every row (training and validation rows, ``X: (n, d)`` raw), densely
    spread. Such a column tells nothing about the class unless the file's order does,
    and then it leaks; it is trained on like any other, so the user hears of it."""
    X = data.X if data.X_val is None else np.vstack([data.X, data.X_val])  # (n, d)
    n = len(X)
    if n < ID_ROWS:
        return []
    lines = []
    for name, column in zip(data.feature_names, X.T):
        low, high = column.min(), column.max()
        whole = (column == np.round(column)).all() and high - low < 2 * n
        if whole and len(np.unique(column)) == n:
            lines.append(
                f"feature column {name!r} holds a different whole number in every row "
                f"({_number_name(low)} to {_number_name(high)}): if it is an id, it "
                "tells nothing about the class and is trained on all the same: leave "
                "it out (dataset.features)"
            )
    return lines
