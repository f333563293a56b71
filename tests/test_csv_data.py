"""load_csv: a user's CSV becomes a Dataset, and every bad file gets one line that names
the file, the column, the line and the value."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core.data import DataError
from nnexp.run.csv_data import load_csv


def write(tmp_path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def error_of(*args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        load_csv(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- files that load ---------------------------------------------------------------


def test_binary_string_labels(tmp_path):
    path = write(tmp_path, "x,y,label\n1,2,red\n3.5,-4,blue\n5,6e1,red\n", name="points.csv")
    data = load_csv(path, "label")
    assert data.name == "points"
    assert data.feature_names == ["x", "y"]
    assert data.class_names == ["blue", "red"]
    np.testing.assert_array_equal(data.labels, [1, 0, 1])
    assert data.labels.dtype.kind == "i"
    np.testing.assert_array_equal(data.X, [[1, 2], [3.5, -4], [5, 60]])
    assert data.X.dtype == np.float64
    assert data.queries.shape == (0, 2) and data.query_names == []


def test_three_classes_with_target_in_the_middle(tmp_path):
    path = write(tmp_path, "a,species,b\n0,setosa,1\n1,virginica,2\n2,versicolor,3\n3,setosa,4\n")
    data = load_csv(path, "species")
    assert data.feature_names == ["a", "b"]
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(data.labels, [0, 2, 1, 0])
    np.testing.assert_array_equal(data.X[:, 1], [1, 2, 3, 4])


def test_numeric_labels_sort_as_numbers(tmp_path):
    path = write(tmp_path, "x,label\n0,10\n1,2\n2,2.0\n3,-1\n")
    data = load_csv(path, "label")
    assert data.class_names == ["-1", "2", "10"]
    np.testing.assert_array_equal(data.labels, [2, 1, 1, 0])


def test_zero_one_labels_are_classes_0_and_1(tmp_path):
    data = load_csv(write(tmp_path, "x,y\n1,0\n2,1\n3,1\n"), "y")
    assert data.class_names == ["0", "1"]
    np.testing.assert_array_equal(data.labels, [0, 1, 1])


def test_features_subset_in_the_order_given(tmp_path):
    path = write(tmp_path, "a,b,c,label\n1,2,3,x\n4,5,6,y\n")
    data = load_csv(path, "label", features=["c", "a"])
    assert data.feature_names == ["c", "a"]
    np.testing.assert_array_equal(data.X, [[3, 1], [6, 4]])


def test_unused_columns_may_hold_anything(tmp_path):
    path = write(tmp_path, "id,x,label\nalice,1,a\n,2,b\n")
    np.testing.assert_array_equal(load_csv(path, "label", features=["x"]).X, [[1], [2]])


def test_queries_become_named_points(tmp_path):
    path = write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n")
    data = load_csv(path, "label", queries=[[1.5, 2], [0, -3]])
    np.testing.assert_array_equal(data.queries, [[1.5, 2], [0, -3]])
    assert data.query_names == ["[1.5, 2]", "[0, -3]"]
    flat = load_csv(path, "label", queries=[1.5, 2])
    np.testing.assert_array_equal(flat.queries, [[1.5, 2]])


def test_spaces_blank_lines_and_a_byte_order_mark_are_tolerated(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfx, y, label\n1, 2, a\n\n3 ,4 ,b \n\n")
    data = load_csv(str(path), "label")
    assert data.feature_names == ["x", "y"] and data.class_names == ["a", "b"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])


def test_relative_path_is_relative_to_the_working_folder(tmp_path, monkeypatch):
    write(tmp_path, "x,label\n1,a\n2,b\n")
    monkeypatch.chdir(tmp_path)
    assert load_csv("data.csv", "label").n_features == 1


# --- files that do not -------------------------------------------------------------


def test_missing_file_names_the_path_and_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = error_of("nope.csv", "label")
    assert "no such file" in message and "nope.csv" in message and str(tmp_path) in message


def test_a_folder_is_not_a_file(tmp_path):
    message = error_of(str(tmp_path), "label")
    assert str(tmp_path) in message and "folder" in message


def test_empty_file(tmp_path):
    message = error_of(write(tmp_path, ""), "label")
    assert "data.csv is empty" in message and "header" in message


def test_header_without_rows(tmp_path):
    message = error_of(write(tmp_path, "x,y,label\n\n"), "label")
    assert "data.csv" in message and "no data rows" in message


def test_one_row(tmp_path):
    message = error_of(write(tmp_path, "x,y,label\n1,2,a\n"), "label")
    assert "data.csv has 1 data row (line 2)" in message and "at least two rows" in message


def test_unknown_target_lists_the_columns(tmp_path):
    message = error_of(write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n"), "lbl")
    assert "dataset.target='lbl'" in message and "columns are x, y, label" in message


def test_a_column_named_in_the_wrong_case_gets_the_right_name(tmp_path):
    path = write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n")
    message = error_of(path, "Label")
    assert "dataset.target='Label' is not a column of" in message
    assert "(did you mean 'label'?): columns are x, y, label" in message
    message = error_of(path, "label", features=["X"])
    assert "(did you mean 'x'?)" in message
    assert "did you mean" not in error_of(path, "zzz")


def test_semicolon_file_gets_a_hint(tmp_path):
    message = error_of(write(tmp_path, "x;y;label\n1;2;a\n3;4;b\n"), "label")
    assert "comma-separated" in message


def test_unknown_feature_lists_the_columns(tmp_path):
    message = error_of(write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n"), "label", features=["x", "z"])
    assert "'z' is not a column" in message and "columns are x, y, label" in message


def test_target_cannot_be_a_feature(tmp_path):
    message = error_of(
        write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n"), "label", features=["x", "label"]
    )
    assert "'label' is the target column" in message


def test_empty_or_repeated_features(tmp_path):
    path = write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n")
    assert "dataset.features is empty" in error_of(path, "label", features=[])
    assert "'x' twice" in error_of(path, "label", features=["x", "x"])


def test_only_a_target_column(tmp_path):
    message = error_of(write(tmp_path, "label\na\nb\n"), "label")
    assert "only the target column 'label'" in message


def test_non_numeric_feature_names_column_line_and_value(tmp_path):
    path = write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n5,six,a\n7,eight,b\n")
    message = error_of(path, "label")
    assert "line 4" in message and "column 'y'" in message and "'six'" in message
    assert "number" in message


def test_line_numbers_count_blank_lines(tmp_path):
    path = write(tmp_path, "x,label\n1,a\n\n\n2,b\nx9,a\n")
    assert "line 6" in error_of(path, "label")


def test_first_bad_line_wins_across_columns(tmp_path):
    path = write(tmp_path, "x,y,label\n1,2,a\n3,oops,b\nbad,4,a\n")
    message = error_of(path, "label")
    assert "line 3" in message and "'oops'" in message


def test_a_column_of_booleans_reads_as_1_and_0(tmp_path):
    path = write(tmp_path, "flag,x,label\nTrue,1,a\nfalse,2,b\nFALSE,3,a\n")
    assert load_csv(path, "label").X[:, 0].tolist() == [1.0, 0.0, 0.0]
    message = error_of(write(tmp_path, "flag,label\nTrue,a\n,b\n"), "label")
    assert "line 3, column 'flag' is empty" in message  # missing is missing still


def test_a_boolean_among_numbers_is_a_bad_cell(tmp_path):
    message = error_of(write(tmp_path, "flag,label\n1,a\nTrue,b\n"), "label")
    assert "line 3, column 'flag'" in message and "'True'" in message and "0/1" in message


def test_infinity_is_not_allowed(tmp_path):
    message = error_of(write(tmp_path, "x,label\n1,a\ninf,b\n"), "label")
    assert "line 3" in message and "'inf'" in message


@pytest.mark.parametrize("cell", ["", "NA", "NaN", "null"])
def test_missing_feature_value(tmp_path, cell):
    message = error_of(write(tmp_path, f"x,y,label\n1,2,a\n3,{cell},b\n"), "label")
    assert "line 3" in message and "column 'y'" in message
    assert ("is empty" if cell == "" else f"is missing ('{cell}')") in message


def test_missing_values_are_counted_and_the_ways_out_named(tmp_path):
    rows = "".join(
        f"{i},{'' if i % 3 == 0 else i},{'NA' if i == 4 else 'a'}\n" for i in range(1, 10)
    )
    message = error_of(write(tmp_path, "x,y,label\n" + rows), "label")
    # y is empty on rows 3, 6 and 9 (lines 4, 7, 10): the first is named, the rest counted.
    assert "line 4, column 'y' is empty, as are 2 more of its rows" in message
    assert "fill them in, drop those rows, or leave the column out (dataset.features)" in message


def test_a_missing_label_cannot_be_left_out(tmp_path):
    message = error_of(write(tmp_path, "x,label\n1,a\n2,NA\n3,b\n"), "label")
    assert "line 3, column 'label' is missing ('NA'):" in message
    assert message.endswith("fill them in, drop those rows")


def test_a_text_column_is_named_with_its_values_and_what_to_do(tmp_path):
    colours = ["red", "green", "blue", "red", "", "green"]
    rows = "".join(f"{i},{c},{i % 2}\n" for i, c in enumerate(colours))
    message = error_of(write(tmp_path, "x,colour,label\n" + rows), "label")
    assert message == (
        f"{tmp_path / 'data.csv'}: feature column 'colour' holds text, not numbers "
        "(3 values: 'blue', 'green', 'red'): encode it as numbers (one 0/1 column a value), "
        "or leave it out (dataset.features)"
    )


def test_a_text_column_with_many_values_shows_the_first_five(tmp_path):
    rows = "".join(f"{i},city{i},{i % 2}\n" for i in range(12))
    message = error_of(write(tmp_path, "x,city,label\n" + rows), "label")
    assert "(12 values: 'city0', 'city1', 'city10', 'city11', 'city2', ...)" in message


def test_missing_label(tmp_path):
    message = error_of(write(tmp_path, "x,label\n1,a\n2,b\n3,\n"), "label")
    assert "line 4" in message and "column 'label'" in message and "empty" in message


def test_short_row_is_a_missing_value(tmp_path):
    message = error_of(write(tmp_path, "x,y,label\n1,2,a\n3\n"), "label")
    assert "line 3" in message and "column 'y'" in message


def test_row_with_too_many_values(tmp_path):
    message = error_of(write(tmp_path, "x,label\n1,a\n2,b,extra\n"), "label")
    assert "data.csv" in message and "line 3" in message


def test_single_class(tmp_path):
    message = error_of(write(tmp_path, "x,label\n1,a\n2,a\n3,a\n"), "label")
    assert "column 'label'" in message and "one class ('a')" in message and "3 rows" in message


def test_a_quantity_as_target_is_refused_not_trained_as_dozens_of_classes(tmp_path):
    """Prices or measurements (a regression target) would become a class per value,
    a row or two each: a run that reports ok and learns nothing."""
    rng = np.random.default_rng(0)
    x = rng.random(200)
    rows = [f"{a:.3f},{100 + 50 * a + rng.normal(0, 3):.0f}" for a in x]
    path = write(tmp_path, "x,price\n" + "\n".join(rows) + "\n")
    message = error_of(path, "price")
    assert "target column 'price' has" in message and "different numbers in 200 rows" in message
    assert "looks like a quantity to predict" in message and "dataset.target" in message
    # Ten digit classes of few rows each, and a few float-coded classes, still load.
    digits = "x,digit\n" + "".join(f"{i},{i % 10}\n" for i in range(30))
    assert len(load_csv(write(tmp_path, digits, "digits.csv"), "digit").class_names) == 10
    halves = "x,grade\n" + "".join(f"{i},{(i % 3) / 2}\n" for i in range(9))
    assert load_csv(write(tmp_path, halves, "halves.csv"), "grade").class_names == ["0", "0.5", "1"]


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("x,label\n1,caf\xe9\n2,b\n".encode("latin-1"))
    assert "UTF-8" in error_of(str(path), "label")


@pytest.mark.parametrize(
    "queries, words",
    [
        ([[1, 2, 3]], ["queries[0]", "expected 2 numbers (x, y)", "got 3"]),
        ([[1, 2], [1]], ["queries[1]", "got 1"]),
        ([1, 2, 3], ["queries[0]", "got 3"]),
        ([[1, "a"]], ["queries[0]", "y='a'", "number"]),
        ([[True, 1]], ["queries[0]", "x=True"]),
        ([[float("nan"), 1]], ["queries[0]", "x=nan"]),
        ("1,2", ["dataset.queries='1,2'", "list of points"]),
    ],
)
def test_bad_queries(tmp_path, queries, words):
    message = error_of(write(tmp_path, "x,y,label\n1,2,a\n3,4,b\n"), "label", queries=queries)
    for word in words:
        assert word in message


# --- columns that load but are worth a word ------------------------------------------


def numbered(tmp_path, ids, rows: int = 30) -> str:
    lines = [f"{v},{(row * 7) % 5 / 4},{'ab'[row % 2]}" for row, v in enumerate(ids[:rows])]
    return write(tmp_path, "id,x,label\n" + "\n".join(lines) + "\n")


def test_a_column_numbering_the_rows_is_named_as_a_likely_id(tmp_path):
    from nnexp.core.data import hold_out
    from nnexp.run.csv_data import id_columns

    data = hold_out(load_csv(numbered(tmp_path, list(range(101, 131))), "label"), 0.2, 0)
    (line,) = id_columns(data)  # the validation rows count too
    assert line.startswith("feature column 'id' holds a different whole number in every row")
    assert "(101 to 130)" in line and "leave it out (dataset.features)" in line


@pytest.mark.parametrize(
    "ids, rows",
    [
        (list(range(30)) * 2, 30 * 2),  # repeated
        ([i * 10 for i in range(30)], 30),  # spread over ten times the rows: a measurement
        ([i + 0.5 for i in range(30)], 30),  # not whole numbers
        (list(range(19)), 19),  # too few rows to tell
    ],
)
def test_other_number_columns_are_not_taken_for_ids(tmp_path, ids, rows):
    from nnexp.run.csv_data import id_columns

    assert id_columns(load_csv(numbered(tmp_path, ids, rows), "label")) == []
