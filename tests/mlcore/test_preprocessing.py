"""Tests for mlcore.preprocessing: column inference, encoding, new rows, the target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlcore import persistence
from mlcore.base import NotFittedError
from mlcore.preprocessing import (
    TabularPreprocessor,
    infer_column,
    infer_task,
    number_role,
    parse_values,
    prepare_target,
)

DATA = Path(__file__).resolve().parents[2] / "data"
N = 60
RNG = np.random.default_rng(0)


def _dates(fmt: str, n: int = N, with_time: bool = False) -> list[str]:
    start = pd.Timestamp("2020-01-01 08:00")
    step = pd.Timedelta(days=5, hours=7 if with_time else 0)
    return [(start + i * step).strftime(fmt) for i in range(n)]


INFERENCE_CASES = [
    # (values, expected kind, words expected in the reason)
    (list(range(1, N + 1)), "dropped", "identifier"),
    (list(RNG.choice(np.arange(1000, 9000), N, replace=False)), "numeric", "numeric"),
    ([f"C{i:05d}" for i in range(N)], "dropped", "identifier"),
    ([f"user{i}@example.org" for i in range(N)], "dropped", "e-mail"),
    (_dates("%Y-%m-%d"), "datetime", "YYYY-MM-DD"),
    (_dates("%Y-%m-%dT%H:%M:%S", with_time=True), "datetime", "YYYY-MM-DD"),
    (_dates("%d/%m/%Y"), "datetime", "DD/MM/YYYY"),
    (_dates("%m/%d/%Y"), "datetime", "MM/DD/YYYY"),
    (["yes", "no", "Yes", None, "yes", "no"] * (N // 6), "boolean", "no/yes"),
    (["Y", "N"] * (N // 2), "boolean", "Y"),
    ([True, False, True] * (N // 3), "boolean", "True"),
    ([0, 1, 1, np.nan] * (N // 4), "boolean", "1"),
    ([f" {x:.2f} " for x in RNG.normal(50, 10, N)], "numeric", "text parsed as numbers"),
    ([str(i % 7) for i in range(N - 1)] + ["?"], "numeric", "1 unparsable"),
    (["abc", "12", "x", "3.5", "2020-13-45", "yes"] * (N // 6), "categorical", "6 distinct"),
    (["a"] * N, "dropped", "constant"),
    ([None] * N, "dropped", "missing"),
    (["", "N/A", "null"] * (N // 3), "dropped", "missing"),
    ([f"This is sentence number {i} of the free text." for i in range(N)], "dropped", "free"),
    (["red", "green", "blue", None] * (N // 4), "categorical", "3 distinct"),
    (list(RNG.normal(size=N)), "numeric", "numeric dtype"),
]


@pytest.mark.parametrize(("values", "kind", "reason"), INFERENCE_CASES)
def test_infer_column_kinds(values, kind, reason):
    info = infer_column(pd.Series(values, name="col"))
    assert info.kind == kind, info
    assert reason in info.reason
    assert info.kept == (kind != "dropped")
    assert set(info.to_dict()) >= {"name", "kind", "reason", "dtype", "n_missing", "n_unique"}


def test_infer_column_on_text_read_from_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "user_id,when,flag,amount\n"
        + "".join(
            f"{i},{(i % 28) + 1:02d}/03/2021,{'yes' if i % 2 else 'no'},{i}.5\n" for i in range(30)
        )
    )
    df = pd.read_csv(path)
    kinds = {c: infer_column(df[c]).kind for c in df}
    assert kinds == {
        "user_id": "dropped",
        "when": "datetime",
        "flag": "boolean",
        "amount": "numeric",
    }
    assert infer_column(df["when"]).details["format"] == "%d/%m/%Y"


def test_day_first_dates_parse_to_the_right_day():
    pre = TabularPreprocessor().fit(pd.DataFrame({"d": _dates("%d/%m/%Y"), "x": range(N)}))
    X = pre.transform(pd.DataFrame({"d": ["13/02/2021", "01/12/2020"], "x": [1, 2]}))
    names = pre.feature_names_out_
    assert X[:, names.index("d.day")].tolist() == [13, 1]
    assert X[:, names.index("d.month")].tolist() == [2, 12]


def test_datetime_parts_match_pandas():
    values = _dates("%Y-%m-%d %H:%M", with_time=True)
    pre = TabularPreprocessor().fit(pd.DataFrame({"t": values}))
    assert pre.feature_names_out_ == [
        f"t.{p}" for p in ("year", "month", "day", "weekday", "hour", "ordinal")
    ]
    stamps = pd.to_datetime(pd.Series(values))
    expected = np.column_stack(
        [
            stamps.dt.year,
            stamps.dt.month,
            stamps.dt.day,
            stamps.dt.day_of_week,
            stamps.dt.hour,
            (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1),
        ]
    )
    np.testing.assert_allclose(pre.transform(pd.DataFrame({"t": values})), expected)
    # ISO input (what an HTML date field sends) is accepted for any training format.
    assert pre.schema_[0]["kind"] == "datetime"
    assert pre.schema_[0]["has_time"] is True


def test_one_hot_matches_sklearn_with_rare_and_unseen_categories():
    train = ["a"] * 10 + ["b"] * 6 + ["c"] * 3 + ["d"] * 2 + ["e"]
    test = ["a", "c", "d", "e", "zzz", "b"]
    pre = TabularPreprocessor(min_category_frequency=3).fit(pd.DataFrame({"cat": train}))
    oracle = OneHotEncoder(
        min_frequency=3, handle_unknown="infrequent_if_exist", sparse_output=False
    )
    oracle.fit(np.array(train, dtype=object).reshape(-1, 1))
    test_frame = pd.DataFrame({"cat": test})
    np.testing.assert_array_equal(
        pre.transform(test_frame), oracle.transform(np.array(test, dtype=object).reshape(-1, 1))
    )
    assert pre.feature_names_out_ == ["cat=a", "cat=b", "cat=c", "cat=(other)"]
    assert pre.schema_[0]["categories"] == ["a", "b", "c", "d", "e"]


def test_max_categories_keeps_the_most_frequent():
    train = ["a"] * 9 + ["b"] * 8 + ["c"] * 7 + ["d"] * 6
    pre = TabularPreprocessor(max_categories=2).fit(pd.DataFrame({"k": train}))
    assert pre.feature_names_out_ == ["k=a", "k=b", "k=(other)"]
    assert pre.transform(pd.DataFrame({"k": ["d"]})).tolist() == [[0, 0, 1]]


def test_unseen_category_without_other_column_is_all_zero():
    pre = TabularPreprocessor().fit(pd.DataFrame({"k": ["x", "y", "z"] * 5}))
    assert pre.feature_names_out_ == ["k=x", "k=y", "k=z"]
    X = pre.transform(pd.DataFrame({"k": ["new", None, "y"]}))
    assert X.tolist() == [[0, 0, 0], [0, 0, 0], [0, 1, 0]]


def test_missing_categories_get_their_own_column():
    pre = TabularPreprocessor().fit(pd.DataFrame({"k": ["x", "y", None] * 5}))
    assert pre.feature_names_out_ == ["k=x", "k=y", "k=(missing)"]
    assert pre.transform(pd.DataFrame({"k": [None, ""]})).tolist() == [[0, 0, 1]] * 2


def test_numeric_missing_matches_sklearn_median_imputer_with_indicator():
    values = RNG.normal(size=40)
    values[[3, 7, 19]] = np.nan
    pre = TabularPreprocessor().fit(pd.DataFrame({"v": values}))
    assert pre.feature_names_out_ == ["v", "v.missing"]
    oracle = SimpleImputer(strategy="median", add_indicator=True).fit(values.reshape(-1, 1))
    new = np.array([np.nan, 1.5, -2.0])
    np.testing.assert_allclose(
        pre.transform(pd.DataFrame({"v": new})), oracle.transform(new.reshape(-1, 1))
    )


def test_no_indicator_without_missing_values_or_when_disabled():
    frame = pd.DataFrame({"v": [1.0, 2.0, np.nan, 4.0]})
    assert TabularPreprocessor(missing_indicator=False).fit(frame).feature_names_out_ == ["v"]
    pre = TabularPreprocessor().fit(pd.DataFrame({"v": [1.0, 2.0, 3.0]}))
    assert pre.feature_names_out_ == ["v"]
    # Missing at prediction time is still imputed with the training median.
    assert pre.transform(pd.DataFrame({"v": [None]})).tolist() == [[2.0]]


def test_boolean_missing_takes_most_frequent_value():
    pre = TabularPreprocessor().fit(pd.DataFrame({"b": ["yes", "yes", "no", None]}))
    assert pre.feature_names_out_ == ["b", "b.missing"]
    X = pre.transform(pd.DataFrame({"b": ["no", None, "YES"]}))
    assert X.tolist() == [[0, 0], [1, 1], [1, 0]]


def test_scaling_matches_sklearn_and_leaves_one_hot_alone():
    frame = pd.DataFrame({"v": RNG.normal(5, 3, 50), "k": ["p", "q"] * 25, "c": [7.0] * 49 + [8.0]})
    pre = TabularPreprocessor(scale=True).fit(frame)
    X = pre.transform(frame)
    numeric = frame[["v", "c"]].to_numpy()
    expected = StandardScaler().fit_transform(numeric)
    np.testing.assert_allclose(X[:, [0, 3]], expected, atol=1e-12)
    assert set(np.unique(X[:, 1:3])) == {0.0, 1.0}


def test_scaling_constant_output_does_not_divide_by_zero():
    # All dates at midnight on one weekday: the weekday part is constant.
    frame = pd.DataFrame({"d": _dates("%Y-%m-%d", n=10)[::7] * 3})
    X = TabularPreprocessor(scale=True).fit_transform(frame)
    assert np.isfinite(X).all()


def test_missing_column_at_transform_is_named():
    pre = TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]}))
    with pytest.raises(ValueError, match="'b'"):
        pre.transform(pd.DataFrame({"a": [1.0]}))


def test_extra_columns_and_target_are_ignored():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": ["x", "y", "x"]})
    pre = TabularPreprocessor().fit(frame, target="label")
    assert pre.feature_names_out_ == ["a"]
    assert pre.target_ == "label"
    assert pre.transform(pd.DataFrame({"a": [5.0], "other": [1]})).tolist() == [[5.0]]


def test_dropped_reasons_and_drop_columns():
    frame = pd.DataFrame(
        {"id": range(20), "c": [1] * 20, "e": [None] * 20, "v": RNG.normal(size=20)}
    )
    pre = TabularPreprocessor(drop_columns=["v"]).fit(
        frame.assign(w=range(20, 0, -1)).assign(w=lambda d: d.w * 1.5)
    )
    assert set(pre.dropped_) == {"id", "c", "e", "v"}
    assert "excluded" in pre.dropped_["v"]
    assert "identifier" in pre.dropped_["id"]
    with pytest.raises(ValueError, match="No usable feature columns"):
        TabularPreprocessor().fit(frame[["id", "c", "e"]])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"max_categories": 0}, "max_categories"),
        ({"min_category_frequency": 0}, "min_category_frequency"),
        ({"min_category_frequency": 1.5}, "min_category_frequency"),
        ({"drop_columns": "a"}, "drop_columns"),
        ({"drop_columns": ["nope"]}, "unknown column"),
    ],
)
def test_bad_params_raise_in_fit(params, match):
    with pytest.raises(ValueError, match=match):
        TabularPreprocessor(**params).fit(pd.DataFrame({"a": [1.0, 2.0]}))


def test_fit_errors_and_not_fitted():
    with pytest.raises(ValueError, match="no rows"):
        TabularPreprocessor().fit(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="Target column 'y'"):
        TabularPreprocessor().fit(pd.DataFrame({"a": [1.0]}), target="y")
    with pytest.raises(NotFittedError):
        TabularPreprocessor().transform(pd.DataFrame({"a": [1.0]}))


def test_fraction_min_category_frequency():
    train = ["a"] * 90 + ["b"] * 8 + ["c"] * 2
    pre = TabularPreprocessor(min_category_frequency=0.05).fit(pd.DataFrame({"k": train}))
    assert pre.feature_names_out_ == ["k=a", "k=b", "k=(other)"]


def test_refit_discards_previous_fit():
    pre = TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0]}))
    pre.fit(pd.DataFrame({"b": ["x", "y", "x"] * 3}))
    assert pre.feature_names_out_ == ["b=x", "b=y"]
    assert pre.feature_names_in_ == ["b"]


def _mixed_frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "num": rng.normal(size=n).round(3),
            "cat": rng.choice(["x", "y", "z"], n),
            "flag": rng.choice(["yes", "no"], n),
            "day": _dates("%Y-%m-%d", n),
        }
    )
    frame.loc[[1, 5], "num"] = np.nan
    frame.loc[[2], "cat"] = None
    frame.loc[[3], "flag"] = None
    frame.loc[[4], "day"] = None
    return frame


def test_transform_rows_reports_errors_and_answers_good_rows():
    frame = _mixed_frame()
    pre = TabularPreprocessor().fit(frame)
    good = {"num": "1.25", "cat": "y", "flag": "no", "day": "2020-03-04"}
    rows = [
        good,
        {**good, "num": "abc"},
        {**good, "flag": "maybe", "day": "not a date"},
        {k: v for k, v in good.items() if k != "cat"},
        {**good, "cat": "never seen", "num": "", "extra": 1},
        {**good, "num": None, "flag": True, "day": None},
        "not a dict",
    ]
    result = pre.transform_rows(rows)
    assert result.valid.tolist() == [0, 4, 5]
    assert set(result.errors[1]) == {"num"} and "not a number" in result.errors[1]["num"]
    assert set(result.errors[2]) == {"flag", "day"}
    assert result.errors[3] == {"cat": "column missing from the row"}
    assert "_row" in result.errors[6]
    expected = pre.transform(pd.DataFrame([rows[0], rows[4], rows[5]]))
    np.testing.assert_array_equal(result.X, expected)


def test_transform_rows_empty_and_all_bad():
    pre = TabularPreprocessor().fit(_mixed_frame())
    assert pre.transform_rows([]).X.shape == (0, len(pre.feature_names_out_))
    result = pre.transform_rows([{"num": "x"}])
    assert result.X.shape == (0, len(pre.feature_names_out_))
    assert result.valid.tolist() == []


def test_transform_treats_unparsable_values_as_missing():
    pre = TabularPreprocessor().fit(_mixed_frame())
    frame = _mixed_frame().iloc[:3].astype(object)
    frame.loc[0, "num"] = "junk"
    X = pre.transform(frame)
    names = pre.feature_names_out_
    assert X[0, names.index("num.missing")] == 1.0


def _check_contract_value(value):
    if isinstance(value, np.ndarray):
        assert value.dtype.kind in "biufU"
    elif isinstance(value, list | tuple):
        for item in value:
            _check_contract_value(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _check_contract_value(item)
    else:
        assert value is None or isinstance(value, bool | int | float | str), type(value)


def test_fitted_state_follows_the_persistence_contract():
    pre = TabularPreprocessor(scale=True).fit(_mixed_frame())
    for name, value in vars(pre).items():
        if name.endswith("_"):
            _check_contract_value(value)


def test_persistence_round_trip_gives_identical_transform():
    frame = _mixed_frame()
    pre = TabularPreprocessor(scale=True).fit(frame)
    loaded = persistence.loads(persistence.dumps(pre)).model
    assert loaded.get_params() == pre.get_params()
    assert loaded.schema_ == pre.schema_
    np.testing.assert_array_equal(loaded.transform(frame), pre.transform(frame))
    rows = [{"num": "2", "cat": "q", "flag": "yes", "day": "2021-05-06"}]
    np.testing.assert_array_equal(loaded.transform_rows(rows).X, pre.transform_rows(rows).X)


def test_sample_classification_file_is_understood():
    frame = pd.read_csv(DATA / "sample_classification.csv")
    pre = TabularPreprocessor().fit(frame, target="plan")
    kinds = {entry["name"]: entry["kind"] for entry in pre.schema_}
    assert kinds == {
        "age": "numeric",
        "monthly_spend": "numeric",
        "visits_per_month": "numeric",
        "region": "categorical",
        "device": "categorical",
        "has_children": "boolean",
        "signup_date": "datetime",
    }
    assert list(pre.dropped_) == ["customer_id"]
    assert np.isfinite(pre.transform(frame)).all()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-1e6, 1e6)),
            st.sampled_from(["a", "b", "c", None]),
            st.sampled_from(["yes", "no", None]),
        ),
        min_size=3,
        max_size=30,
    )
)
def test_property_output_finite_and_rows_agree_with_frame(rows):
    frame = pd.DataFrame(rows, columns=["num", "cat", "flag"])
    try:
        pre = TabularPreprocessor(scale=True).fit(frame)
    except ValueError as exc:
        assert "No usable feature columns" in str(exc)
        return
    X = pre.transform(frame)
    assert X.shape == (len(frame), len(pre.feature_names_out_))
    assert np.isfinite(X).all()
    as_rows = pre.transform_rows(frame.astype(object).where(frame.notna(), None).to_dict("records"))
    assert as_rows.valid.tolist() == list(range(len(frame)))
    np.testing.assert_allclose(as_rows.X, X)


# --- the target ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["cat", "dog", "cat", "bird"], "classification"),
        ([True, False, True], "classification"),
        ([0, 1, 1, 0, 1], "classification"),
        ([1, 2, 3, 4, 5] * 10, "classification"),
        (list(range(100)), "regression"),
        (list(RNG.normal(size=50)), "regression"),
        ([1.5, 2.0, 1.5, 2.0] * 5, "regression"),
        (["1", "2", "3"] * 10, "classification"),
    ],
)
def test_infer_task(values, task):
    assert infer_task(pd.Series(values)) == task


def test_prepare_target_labels_and_missing_rows():
    target = prepare_target(pd.Series([" a", "b", None, "a", "NA"], name="y"))
    assert target.task == "classification"
    assert target.y.tolist() == ["a", "b", "a"]
    assert target.y.dtype.kind == "U"
    assert target.present.tolist() == [True, True, False, True, False]
    numeric = prepare_target(pd.Series([1.0, 2.0, np.nan, 1.0]))
    assert numeric.y.dtype == np.int64 and numeric.y.tolist() == [1, 2, 1]
    forced = prepare_target(pd.Series([1, 2, 1, 2]), task="regression")
    assert forced.task == "regression" and forced.y.dtype == np.float64


@pytest.mark.parametrize(
    ("values", "task", "match"),
    [
        ([None, None], None, "all missing"),
        (["a", "a", None], None, "single class"),
        (["a", "b", "x"], "regression", "must be numeric"),
        ([1, 2], "clustering", "task must be"),
    ],
)
def test_prepare_target_errors(values, task, match):
    with pytest.raises(ValueError, match=match):
        prepare_target(pd.Series(values, name="label"), task=task)


def test_transform_rows_accepts_iso_dates_for_day_first_training_format():
    pre = TabularPreprocessor().fit(pd.DataFrame({"d": _dates("%d/%m/%Y")}))
    result = pre.transform_rows([{"d": "2021-02-13"}, {"d": "13/02/2021"}, {"d": "13-2021"}])
    assert result.valid.tolist() == [0, 1]
    np.testing.assert_array_equal(result.X[0], result.X[1])
    assert result.errors[2] == {"d": "'13-2021' is not a date (expected DD/MM/YYYY or YYYY-MM-DD)"}


def test_datetime_dtype_columns_and_time_zones():
    stamps = pd.date_range("2020-01-01", periods=12, freq="37h", tz="Europe/Paris")
    pre = TabularPreprocessor().fit(pd.DataFrame({"t": stamps}))
    assert pre.schema_[0]["format"] == "native"
    # Zoned times become UTC wall time: midnight in Paris is 23:00 the day before.
    first = pre.transform(pd.DataFrame({"t": stamps[:1]}))[0]
    assert first[:5].tolist() == [2019, 12, 31, 1, 23]
    rows = pre.transform_rows([{"t": "2019-12-31T23:00:00"}])
    np.testing.assert_array_equal(rows.X[0], first)


# -- dates and periods, read as a person reads them (issue 13, item 3) -------------------------

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_SPELLED = ["January", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept."]
_SPELLED += ["Oct.", "Nov.", "DEC"]


@pytest.mark.parametrize(
    ("values", "label", "first", "last"),
    [
        ([f"{_MONTHS[i % 12]}-{i % 28 + 1}-{1995 + i // 12}" for i in range(N)],
         "Mon-DD-YYYY", "1995-01-01", "1999-12-04"),
        ([f"{_SPELLED[i % 12]} {i % 28 + 1} {2000 + i // 12}" for i in range(N)],
         "Mon DD YYYY", "2000-01-01", "2004-12-04"),
        ([f"{1974 + i // 4}Q{i % 4 + 1}" for i in range(N)], "YYYY-Qn", "1974-01-01",
         "1988-10-01"),
        ([f"Q{i % 4 + 1} {1974 + i // 4}" for i in range(N)], "YYYY-Qn", "1974-01-01",
         "1988-10-01"),
        ([f"{2011 + i // 12}-{i % 12 + 1:02d}" for i in range(N)], "YYYY-MM", "2011-01-01",
         "2015-12-01"),
        ([f"{2019 + i // 52}-W{i % 52 + 1:02d}" for i in range(N)], "YYYY-Www", "2018-12-31",
         "2020-02-17"),
        ([f"{i % 28 + 1:02d}{_MONTHS[i % 12].upper()}{1990 + i // 12}" for i in range(N)],
         "DDMonYYYY", "1990-01-01", "1994-12-04"),
        ([f"{2000 + i // 12}M{i % 12 + 1:02d}" for i in range(N)], "YYYYMMM", "2000-01-01",
         "2004-12-01"),
        # A layout the list lacks: pandas guesses it from the first values, then the whole
        # column must read under that one format.
        ([f"Mon Jan {i % 28 + 1:2d} 10:{i:02d}:00 2001" for i in range(N)], "Day Mon  DD",
         "2001-01-01", "2001-01-04"),
    ],
)  # fmt: skip
def test_dates_and_periods_under_one_format(values, label, first, last):
    column = pd.Series(values, name="when")
    info = infer_column(column)
    assert info.kind == "datetime", info
    assert label in info.reason and "identifier" not in info.reason
    parsed, bad = parse_values("datetime", column, info.details["format"])
    assert not bad.any()
    assert str(parsed[0])[:10] == first and str(parsed[-1])[:10] == last


def test_unique_dates_are_never_called_identifiers():
    # One value per row, as a time series has: still dates, whatever the format.
    for fmt in ("%b-%d-%Y", "%Y-%m", "%d %b %Y", "%m/%d/%y"):
        column = pd.Series(_dates(fmt), name="day")
        assert infer_column(column).kind == "datetime", fmt


def test_one_row_per_year_is_a_time_not_an_identifier():
    assert infer_column(pd.Series(range(1960, 2021), name="Year")).kind == "numeric"
    assert infer_column(pd.Series(range(1960, 2021), name="fiscal_year")).kind == "numeric"
    # Counting up under another name stays an identifier.
    assert infer_column(pd.Series(range(1960, 2021), name="row")).kind == "dropped"


def test_a_table_whose_only_feature_is_a_quarter_encodes_and_reads_new_rows():
    quarters = [f"{1974 + i // 4}Q{i % 4 + 1}" for i in range(N)]
    pre = TabularPreprocessor().fit(pd.DataFrame({"quarter": quarters, "gdp": range(N)}), "gdp")
    assert pre.feature_names_out_[:2] == ["quarter.year", "quarter.month"]
    rows = pre.transform_rows([{"quarter": "1990Q2"}, {"quarter": "1990-04-01"}, {"quarter": "Q5"}])
    assert rows.valid.tolist() == [0, 1]
    np.testing.assert_array_equal(rows.X[0], rows.X[1])
    assert rows.X[0][:3].tolist() == [1990, 4, 1]
    assert rows.errors[2] == {"quarter": "'Q5' is not a date (expected YYYY-Qn or YYYY-MM-DD)"}


def test_text_that_merely_contains_digits_is_not_dates():
    assert infer_column(pd.Series([f"A{i % 9}" for i in range(N)])).kind == "categorical"
    versions = pd.Series([f"1.{i % 5}.{i % 7}" for i in range(N)])
    assert infer_column(versions).kind != "datetime"
    months_only = pd.Series(_MONTHS * 5)  # no year, no day: a category
    assert infer_column(months_only).kind == "categorical"


# -- targets that cannot be learned (issue 13, item 7) -----------------------------------------


@pytest.mark.parametrize(
    ("values", "task", "words"),
    [
        ([f"Passenger {i}" for i in range(40)], None,
         ["different value in every row", "identifier or a name", "values repeat"]),
        ([f"This sentence number {i} says something different about item {i % 7}."
          for i in range(30)] + ["Short."] * 10, None,
         ["free text", "values repeat"]),
        (list(RNG.normal(size=60)), "classification",
         ["different value in every row", "Choose regression"]),
        ([f"c{i}" for i in range(30)] + ["c0", "c1", "c2", "c3", "c4"], None,
         ["30 classes in 35 rows", "25 of them occur only once", "values repeat"]),
    ],
)  # fmt: skip
def test_targets_that_cannot_be_learned_say_what_to_choose_instead(values, task, words):
    with pytest.raises(ValueError) as caught:
        prepare_target(pd.Series(values, name="who"), task=task)
    message = str(caught.value)
    assert message.startswith("Target column 'who'")
    assert all(word in message for word in words), message
    assert "y_true" not in message


def test_learnable_targets_pass_the_checks():
    prepare_target(pd.Series(["a", "b", "c"] * 10))
    prepare_target(pd.Series(["a", "b", "a"]))  # tiny, but a class repeats
    # A few classes seen once among many that repeat are fine (rare classes).
    prepare_target(pd.Series(["a", "b", "c"] * 10 + ["d", "e"]))
    prepare_target(pd.Series(list(RNG.normal(size=60))))  # regression


# -- new rows, fast (issue 12): each distinct value parsed once, small and large alike ----------

_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", " NA ", "n/a", "yes", "No", "1", "1.0", " 2 ", "-0.5", "1e3", "inf",
                     "abc", "2020-01-02", "02/01/2020", "2021-02-30", "1990Q2", "Jan 3 2020"]),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_VALUES, min_size=1, max_size=5),
    st.sampled_from(["numeric", "boolean", "categorical", "datetime"]),
    st.sampled_from(["ISO8601", "%d/%m/%Y", "%Y-Q%q", "%b %d %Y"]),
)
def test_a_value_parses_the_same_alone_and_among_many(values, kind, fmt):
    # One row takes the dictionary path, forty the pandas one; both give each value alike.
    many = values * 40
    alone = [parse_values(kind, [v], fmt) for v in values]
    parsed, bad = parse_values(kind, many, fmt)
    for i, (one, one_bad) in enumerate(alone):
        assert bad[i] == one_bad[0]
        both_missing = pd.isna(parsed[i]) and pd.isna(one[0])
        assert both_missing or parsed[i] == one[0], (values[i], parsed[i], one[0])


def test_values_equal_in_python_but_of_other_types_stay_apart():
    for n in (1, 40):
        parsed, _ = parse_values("categorical", [1, 1.0, True] * n)
        assert parsed[:3].tolist() == ["1", "1.0", "True"]


def test_a_number_beyond_float_range_is_unparsable_not_a_crash():
    parsed, bad = parse_values("numeric", [10**400, 5])
    assert np.isnan(parsed[0]) and bad.tolist() == [True, False] and parsed[1] == 5.0
    pre = TabularPreprocessor().fit(_mixed_frame())
    result = pre.transform_rows([{"num": 10**400, "cat": "x", "flag": "yes", "day": None}])
    assert result.errors[0] == {"num": f"{10**400!r} is not a number"}


def test_transform_rows_reads_a_dataframe_as_typed_and_names_unseen_categories():
    frame = _mixed_frame()
    pre = TabularPreprocessor().fit(frame)
    batch = frame.iloc[:4].copy()
    batch.loc[1, "cat"] = "w"
    batch.loc[2, "num"] = np.inf
    result = pre.transform_rows(batch)
    assert result.valid.tolist() == [0, 1, 3]
    assert result.errors[2] == {"num": "inf is not a number"}
    assert result.unseen == {"cat": {1: "w"}}
    records = batch.astype(object).where(batch.notna(), None).to_dict("records")
    as_dicts = pre.transform_rows(records)
    np.testing.assert_array_equal(result.X, as_dicts.X)
    assert as_dicts.unseen == result.unseen
    without = pre.transform_rows(batch.drop(columns=["flag"]))
    assert len(without.valid) == 0
    assert without.errors[0] == {"flag": "column missing from the row"}


def test_a_row_alone_encodes_and_warns_as_in_a_batch():
    """All-distinct values (one row, say) skip the codes that map rows to distinct values:
    each row alone must give what the same row gives in a batch with repeats."""
    frame = _mixed_frame()
    pre = TabularPreprocessor().fit(frame)
    records = frame.iloc[:6].astype(object).where(frame.iloc[:6].notna(), None).to_dict("records")
    records[1]["cat"] = "w"  # unseen
    records[2]["cat"] = None
    records[3]["flag"] = "perhaps"  # unparsable
    batch = pre.transform_rows(records + records)  # every value repeated: codes are used
    for i, row in enumerate(records):
        alone = pre.transform_rows([row])
        assert alone.errors[0] == batch.errors[i]
        assert alone.unseen == {name: {0: found[i]} for name, found in batch.unseen.items()
                                if i in found}  # fmt: skip
        if not alone.errors[0]:
            row_in_batch = batch.valid.tolist().index(i)
            np.testing.assert_array_equal(alone.X[0], batch.X[row_in_batch])
    assert batch.unseen == {"cat": {1: "w", 7: "w"}}


# -- numbers that label rather than measure (issue 10, item 4) ----------------------------------


@pytest.mark.parametrize(
    ("name", "values", "role"),
    [
        ("year", [2007, 2008, 2009], "year"),
        ("model_year", [1998.0, 2004.0, np.nan], "year"),
        ("year", [7, 8, 9], None),  # not years: out of range
        ("store_id", [1001, 1002, 1001], "code"),
        ("zip", [75001, 10115], "code"),
        ("invoice_no", [5, 6], "code"),
        ("body_mass_g", [3325, 5600], None),
        ("year", [2007.5, 2008.0], None),  # not whole
    ],
)
def test_number_role(name, values, role):
    assert number_role(name, values) == role


def test_years_and_codes_are_named_in_the_profile_and_the_schema():
    n = 30
    frame = pd.DataFrame({
        "year": [2007 + i % 3 for i in range(n)],
        "store_id": [100 + i % 4 for i in range(n)],
        "sample_id": [1001 + 7 * i for i in range(n)],
        "mass": RNG.normal(size=n),
    })  # fmt: skip
    assert infer_column(frame["year"]).details == {"role": "year"}
    assert infer_column(frame["store_id"]).details == {"role": "code"}
    assert infer_column(frame["sample_id"]).details == {"role": "identifier"}
    assert infer_column(frame["mass"]).details == {}
    pre = TabularPreprocessor().fit(frame)
    schema = {entry["name"]: entry for entry in pre.schema_}
    assert schema["year"]["role"] == "year" and "role" not in schema["mass"]


def test_negative_zero_parses_as_zero_alone_and_among_many():
    # Found by hypothesis: -0.0 hashes like 0.0, so among other rows it took 0.0's meaning.
    for kind, zero in (("boolean", 0.0), ("categorical", "0.0")):
        for values in ([-0.0], [0.0, -0.0], [0.0, -0.0] * 40):
            parsed, bad = parse_values(kind, values)
            assert not bad.any() and list(parsed) == [zero] * len(values), (kind, values)
