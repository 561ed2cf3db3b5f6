"""Tests for mlcore.persistence: round trips without pickle, tampered files rejected."""

from __future__ import annotations

import importlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcore import persistence
from mlcore.base import BaseEstimator, ClassifierMixin, check_array, check_is_fitted
from mlcore.preprocessing import TabularPreprocessor, prepare_target

DATA = Path(__file__).resolve().parents[2] / "data"


class Node:
    """Stands in for mlcore.tree.Tree: a plain object of arrays and numbers."""

    def __init__(self, threshold):
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.n_nodes = len(self.threshold)


class StumpClassifier(ClassifierMixin, BaseEstimator):
    """A tiny estimator following the persistence contract, with every value kind."""

    def __init__(self, feature=0, label_names=None):
        self.feature = feature
        self.label_names = label_names

    def fit(self, X, y):
        X = check_array(X)
        self.classes_ = np.unique(np.asarray(y).astype(str))
        self.tree_ = Node([float(np.median(X[:, self.feature]))])
        self.n_features_in_ = X.shape[1]
        self.summary_ = {"sizes": [1, 2], "nan": float("nan"), "__odd": (1, "two")}
        self.children_ = [MeanRegressor().fit(X, np.arange(len(X)))]
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = check_array(X)
        above = X[:, self.feature] > self.tree_.threshold[0]
        return self.classes_[np.minimum(above.astype(int), len(self.classes_) - 1)]


class MeanRegressor(BaseEstimator):
    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y):
        self.mean_ = float(np.mean(y)) + self.shift
        self.coef_ = np.zeros(np.asarray(X).shape[1])
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_) + np.asarray(X) @ self.coef_


@pytest.fixture(autouse=True)
def registered():
    classes = (StumpClassifier, MeanRegressor, Node)
    for cls in classes:
        persistence.register(cls)
    yield
    for cls in classes:
        persistence.unregister(cls)


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = np.where(X[:, 1] > 0, "yes", "no")
    return StumpClassifier(feature=1, label_names=["no", "yes"]).fit(X, y), X


def test_round_trip_identical_predictions_and_state(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.npz"
    persistence.save(
        model, path, metadata={"metrics": {"accuracy": 0.9}, "cm": np.eye(2, dtype=int)}
    )
    saved = persistence.load(path)
    assert isinstance(saved.model, StumpClassifier)
    assert saved.model.get_params() == model.get_params()
    np.testing.assert_array_equal(saved.model.predict(X), model.predict(X))
    assert saved.model.classes_.dtype.kind == "U"
    assert isinstance(saved.model.tree_, Node) and saved.model.tree_.n_nodes == 1
    assert saved.model.summary_["__odd"] == (1, "two")
    assert np.isnan(saved.model.summary_["nan"])
    assert saved.model.children_[0].mean_ == model.children_[0].mean_
    assert saved.metadata["metrics"] == {"accuracy": 0.9}
    np.testing.assert_array_equal(saved.metadata["cm"], np.eye(2, dtype=int))
    assert saved.preprocessor is None
    assert saved.info["format_version"] == persistence.FORMAT_VERSION
    assert saved.info["estimator"].endswith("StumpClassifier")


def test_dumps_is_deterministic_and_loadable_without_pickle(fitted, monkeypatch):
    model, X = fitted
    data = persistence.dumps(model)
    assert data == persistence.dumps(model)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle must never be used")

    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    np.testing.assert_array_equal(persistence.loads(data).model.predict(X), model.predict(X))
    # The file is an ordinary .npz: every array loads with allow_pickle=False.
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = [name for name in npz.files if name != "meta.json"]
        assert arrays and all(npz[name].dtype.kind in "biufU" for name in arrays)
    meta = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("meta.json"))
    assert meta["format"] == "mlcore-model" and meta["format_version"] == 1
    assert meta["model"]["params"] == {"feature": 1, "label_names": ["no", "yes"]}


def test_preprocessor_saved_with_model():
    frame = pd.read_csv(DATA / "sample_classification.csv")
    pre = TabularPreprocessor().fit(frame, target="plan")
    X = pre.transform(frame)
    model = StumpClassifier().fit(X, prepare_target(frame["plan"]).y)
    saved = persistence.loads(
        persistence.dumps(model, preprocessor=pre, metadata={"target": "plan"})
    )
    np.testing.assert_array_equal(saved.preprocessor.transform(frame), X)
    assert saved.preprocessor.schema_ == pre.schema_
    assert saved.metadata == {"target": "plan"}


# --- refusing to save what cannot be stored safely ----------------------------------


def test_save_rejects_unregistered_class():
    with pytest.raises(ValueError, match="only mlcore estimators"):
        persistence.dumps(pd.DataFrame())
    persistence.unregister(StumpClassifier)
    with pytest.raises(ValueError, match="StumpClassifier"):
        persistence.dumps(StumpClassifier())


@pytest.mark.parametrize(
    "bad",
    [np.array([{"a": 1}], dtype=object), pd.Series([1, 2]), lambda: 1, {1: "int key"}, b"bytes"],
)
def test_save_rejects_values_that_need_pickle(fitted, bad):
    model, _ = fitted
    model.bad_ = bad
    with pytest.raises(ValueError, match="Cannot save model.bad_"):
        persistence.dumps(model)
    with pytest.raises(ValueError, match="metadata"):
        persistence.dumps(MeanRegressor().fit([[0.0]], [1.0]), metadata={"x": bad})


def test_metadata_must_be_a_dict(fitted):
    with pytest.raises(ValueError, match="metadata must be a dict"):
        persistence.dumps(fitted[0], metadata=[1, 2])


# --- refusing to load tampered files ------------------------------------------------


def _rewrite(data: bytes, *, meta=None, members=None) -> bytes:
    """Copy the archive, replacing meta.json (a function of the dict) or members."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "meta.json" and meta is not None:
                content = json.dumps(meta(json.loads(content))).encode()
            if members and name in members:
                content = members[name]
            target.writestr(name, content)
    return out.getvalue()


def _set(path, value):
    def change(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return meta

    return change


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_set(["model", "__estimator__"], "os.system"), "not in the allow-list"),
        (_set(["model", "__estimator__"], "builtins.eval"), "not in the allow-list"),
        (_set(["model", "state", "tree_", "__object__"], "subprocess.Popen"), "allow-list"),
        (_set(["format_version"], 2), "Unsupported model file format version 2"),
        (_set(["format_version"], "1"), "Unsupported"),
        (_set(["format"], "something-else"), "Not an mlcore model file"),
        (_set(["model", "params", "evil"], 1), "Invalid parameter"),
        (_set(["model", "state", "__class__"], 1), "bad attribute name"),
        (_set(["model", "state", "predict"], 1), "bad attribute name"),
        (_set(["model", "state", "classes_"], {"__ndarray__": "../../etc/passwd"}), "array"),
        (_set(["model", "state", "classes_"], {"__ndarray__": "a99"}), "missing"),
        (_set(["model", "state", "x_"], {"__float__": "1e999999"}), "bad float"),
        (_set(["model", "state", "x_"], {"__ndarray__": "a0", "y": 1}), "malformed"),
        (_set(["model", "state", "x_"], {"__dict__": [1]}), "Corrupted"),
        (_set(["model"], {"__object__": "mlcore.tree.Tree", "state": {}}), "no estimator"),
        (lambda meta: [meta], "Not an mlcore model file"),
    ],
)
def test_load_rejects_tampered_meta(fitted, change, match):
    data = _rewrite(persistence.dumps(fitted[0]), meta=change)
    with pytest.raises(ValueError, match=match):
        persistence.loads(data)


def test_load_rejects_object_arrays(fitted):
    data = persistence.dumps(fitted[0])
    evil = io.BytesIO()
    np.save(evil, np.array([print], dtype=object), allow_pickle=True)
    tampered = _rewrite(data, members={"a0.npy": evil.getvalue()})
    with pytest.raises(ValueError, match="Refusing to load array"):
        persistence.loads(tampered)


def test_load_rejects_byte_string_arrays(fitted):
    data = persistence.dumps(fitted[0])
    member = io.BytesIO()
    np.save(member, np.array([b"x"]))
    with pytest.raises(ValueError, match="dtype"):
        persistence.loads(_rewrite(data, members={"a0.npy": member.getvalue()}))


def test_load_rejects_truncated_and_corrupted_bytes(fitted):
    data = persistence.dumps(fitted[0])
    for cut in (0, 1, 10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        with pytest.raises(ValueError):
            persistence.loads(data[:cut])
    rng = np.random.default_rng(0)
    for _ in range(30):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), 3):
            damaged[position] ^= 0xFF
        try:
            saved = persistence.loads(bytes(damaged))
        except ValueError:
            continue
        # Damage in unchecked bytes (e.g. zip comments) may still load; then it must be whole.
        assert isinstance(saved.model, StumpClassifier)


def test_load_rejects_non_model_files(tmp_path):
    for content in (b"", b"plain text", b"PK\x03\x04garbage", json.dumps({"a": 1}).encode()):
        with pytest.raises(ValueError, match="Not an mlcore model file"):
            persistence.loads(content)
    empty_zip = io.BytesIO()
    zipfile.ZipFile(empty_zip, "w").close()
    with pytest.raises(ValueError, match="no meta.json"):
        persistence.loads(empty_zip.getvalue())
    with pytest.raises(ValueError, match="Expected bytes"):
        persistence.loads("a string")
    with pytest.raises(OSError):
        persistence.load(tmp_path / "missing.npz")


def test_load_rejects_deeply_nested_json(fitted):
    data = persistence.dumps(fitted[0])
    meta = zipfile.ZipFile(io.BytesIO(data)).read("meta.json").decode()
    deep = '"metadata": {"deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert '"metadata": {}' in meta
    tampered = _rewrite(data, members={"meta.json": meta.replace('"metadata": {}', deep).encode()})
    with pytest.raises(ValueError, match="Corrupted"):
        persistence.loads(tampered)


# --- every mlcore estimator round-trips ----------------------------------------------


def _estimator(module: str, name: str):
    return getattr(importlib.import_module(module), name)


def test_every_name_on_the_allow_list_is_a_class():
    for name in persistence.ALLOWED_CLASSES:
        module, _, attr = name.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), attr), type), name


def _classification_data():
    frame = pd.read_csv(DATA / "sample_classification.csv")
    pre = TabularPreprocessor().fit(frame, target="plan")
    return pre.transform(frame), prepare_target(frame["plan"]).y


def _regression_data():
    frame = pd.read_csv(DATA / "sample_regression.csv")
    pre = TabularPreprocessor().fit(frame, target="price_k")
    return pre.transform(frame), frame["price_k"].to_numpy()


@pytest.mark.parametrize(
    ("module", "name", "params", "data"),
    [
        ("mlcore.cluster", "KMeans", {"n_clusters": 3, "random_state": 0}, "clusters"),
        ("mlcore.tree", "DecisionTreeClassifier", {"max_depth": 5, "random_state": 0}, "clf"),
        ("mlcore.tree", "DecisionTreeRegressor", {"max_depth": 5, "random_state": 0}, "reg"),
        (
            "mlcore.ensemble",
            "RandomForestClassifier",
            {"n_estimators": 8, "random_state": 0},
            "clf",
        ),
        ("mlcore.ensemble", "RandomForestRegressor", {"n_estimators": 8, "random_state": 0}, "reg"),
    ],
)
def test_mlcore_estimators_round_trip(module, name, params, data, tmp_path):
    cls = _estimator(module, name)
    if data == "clusters":
        X, y = pd.read_csv(DATA / "sample_data.csv").to_numpy(dtype=float), None
    else:
        X, y = _classification_data() if data == "clf" else _regression_data()
    model = cls(**params)
    model.fit(X) if y is None else model.fit(X, y)
    path = tmp_path / "model.npz"
    persistence.save(model, path)
    loaded = persistence.load(path).model
    assert type(loaded) is cls
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    for attribute in ("classes_", "cluster_centers_", "feature_importances_"):
        if hasattr(model, attribute):
            np.testing.assert_array_equal(getattr(loaded, attribute), getattr(model, attribute))
    with np.load(path, allow_pickle=False) as npz:
        for member in npz.files:
            if member != "meta.json":
                assert npz[member].dtype.kind in "biufU"


_json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
_json_values = st.recursive(
    _json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(_json_values)
def test_property_metadata_round_trips_exactly(value):
    saved = persistence.loads(
        persistence.dumps(MeanRegressor().fit([[0.0]], [1.0]), metadata={"v": value})
    )
    assert saved.metadata == {"v": value}
    assert repr(saved.metadata) == repr({"v": value})  # same types: tuples stay tuples


@settings(max_examples=20, deadline=None)
@given(
    st.sampled_from(["f8", "f4", "i8", "i4", "u1", "bool", "U5"]),
    st.lists(st.integers(0, 5), min_size=0, max_size=3),
)
def test_property_arrays_round_trip_with_dtype_and_shape(dtype, shape):
    array = np.arange(int(np.prod(shape)) if shape else 1).reshape(shape).astype(dtype)
    saved = persistence.loads(
        persistence.dumps(MeanRegressor().fit([[0.0]], [1.0]), metadata={"a": array})
    )
    assert saved.metadata["a"].dtype == array.dtype
    np.testing.assert_array_equal(saved.metadata["a"], array)
