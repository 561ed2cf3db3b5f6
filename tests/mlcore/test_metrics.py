"""Tests for mlcore.metrics, with scikit-learn's metrics as the oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans as SkKMeans

from mlcore import metrics


def _sklearn(func, *args, **kwargs):
    """Call scikit-learn with its UndefinedMetricWarning silenced (ours never warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def _close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float))


label_pairs = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
    )
)


# ------------------------------------------------------------------ classification
@settings(max_examples=60, deadline=None)
@given(
    pair=label_pairs,
    average=st.sampled_from([None, "micro", "macro", "weighted"]),
    zero_division=st.sampled_from(["warn", 0, 1, np.nan]),
    as_text=st.booleans(),
    beta=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_precision_recall_fscore_match_sklearn(pair, average, zero_division, as_text, beta):
    y_true, y_pred = (np.array(y) for y in pair)
    if as_text:
        y_true, y_pred = (np.array([f"class {v}" for v in y], dtype=object) for y in pair)
    kwargs = {"average": average, "zero_division": zero_division}
    ours = metrics.precision_recall_fscore_support(y_true, y_pred, beta=beta, **kwargs)
    theirs = _sklearn(skm.precision_recall_fscore_support, y_true, y_pred, beta=beta, **kwargs)
    for a, b in zip(ours[:3], theirs[:3], strict=True):
        _close(a, b)
    if average is None:
        np.testing.assert_array_equal(ours[3], theirs[3])
    else:
        assert ours[3] is None and isinstance(ours[0], float)
    for name in ("precision_score", "recall_score", "f1_score"):
        _close(
            getattr(metrics, name)(y_true, y_pred, **kwargs),
            _sklearn(getattr(skm, name), y_true, y_pred, **kwargs),
        )
    assert metrics.accuracy_score(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)


@settings(max_examples=40, deadline=None)
@given(pair=label_pairs, normalize=st.sampled_from([None, "true", "pred", "all"]))
def test_confusion_matrix_matches_sklearn(pair, normalize):
    y_true, y_pred = pair
    ours = metrics.confusion_matrix(y_true, y_pred, normalize=normalize)
    theirs = _sklearn(skm.confusion_matrix, y_true, y_pred, normalize=normalize)
    _close(ours, theirs)
    labels = [4, 0, 2, 7]
    if set(y_true) & set(labels):
        _close(
            metrics.confusion_matrix(y_true, y_pred, labels=labels),
            skm.confusion_matrix(y_true, y_pred, labels=labels),
        )


@pytest.mark.parametrize("average", ["binary", "macro", None])
def test_binary_average_and_labels(average):
    y_true = ["spam", "ham", "spam", "spam", "ham", "ham"]
    y_pred = ["spam", "spam", "ham", "spam", "ham", "ham"]
    for kwargs in ({"pos_label": "spam"}, {"pos_label": "ham"}):
        if average != "binary":
            kwargs = {}
        _close(
            metrics.f1_score(y_true, y_pred, average=average, **kwargs),
            skm.f1_score(y_true, y_pred, average=average, **kwargs),
        )
    _close(
        metrics.precision_score([0, 1, 1, 0], [1, 1, 0, 0]),
        skm.precision_score([0, 1, 1, 0], [1, 1, 0, 0]),
    )
    labels = ["ham", "eggs"]  # a label absent from the data scores zero
    _close(
        metrics.recall_score(y_true, y_pred, labels=labels, average=None),
        _sklearn(skm.recall_score, y_true, y_pred, labels=labels, average=None),
    )


def test_sample_weight_matches_sklearn():
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    weight = rng.uniform(0, 2, 50)
    for name in ("accuracy_score", "confusion_matrix"):
        _close(
            getattr(metrics, name)(y_true, y_pred, sample_weight=weight),
            getattr(skm, name)(y_true, y_pred, sample_weight=weight),
        )
    _close(
        metrics.f1_score(y_true, y_pred, average="weighted", sample_weight=weight),
        skm.f1_score(y_true, y_pred, average="weighted", sample_weight=weight),
    )
    assert metrics.accuracy_score(y_true, y_pred, normalize=False) == skm.accuracy_score(
        y_true, y_pred, normalize=False
    )


def test_classification_report_matches_sklearn():
    y_true = pd.Series(["cat", "dog", "dog", "bird", "cat", "dog", "fish"])
    y_pred = ["cat", "dog", "cat", "bird", "cat", "bird", "cat"]
    ours = metrics.classification_report(y_true, y_pred, output_dict=True)
    theirs = _sklearn(skm.classification_report, y_true, y_pred, output_dict=True)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == (pytest.approx(value) if isinstance(value, dict) else value)
    assert metrics.classification_report(y_true, y_pred, digits=3) == _sklearn(
        skm.classification_report, y_true, y_pred, digits=3
    )
    subset = {"labels": ["cat", "dog"], "target_names": ["Cat", "Dog"]}
    assert metrics.classification_report(y_true, y_pred, **subset) == _sklearn(
        skm.classification_report, y_true, y_pred, **subset
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics.accuracy_score([1, 2], [1]), "inconsistent numbers of samples"),
        (lambda: metrics.f1_score(["a", "b"], [1, 2], average="macro"), "Mix of label"),
        (lambda: metrics.f1_score([0, 1, 2], [0, 1, 1]), "multiclass but average='binary'"),
        (lambda: metrics.f1_score([2, 3], [3, 2]), "pos_label=1 is not a valid label"),
        (lambda: metrics.f1_score([0, 1], [0, 1], average="samples"), "average has to be"),
        (lambda: metrics.recall_score([0, 1], [0, 1], zero_division=5), "zero_division"),
        (lambda: metrics.confusion_matrix([0, 1], [0, 1], labels=[5]), "in y_true"),
        (
            lambda: metrics.classification_report([0, 1], [0, 1], target_names=["a"]),
            "target_names",
        ),
    ],
)
def test_classification_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------- regression
REGRESSION_METRICS = (
    "r2_score",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
)
# y_true is drawn at a scale too: hypothesis once found [8.57e-159, 0] by chance, whose sum
# of squares is subnormal (3.7e-317), so R² overflowed; these scales reach that every run.
regression_data = st.integers(2, 30).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
        hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
        st.sampled_from([1.0, 1e-150, 1e-160, 1e-310]),
        st.none() | hnp.arrays(np.float64, n, elements=st.floats(0, 10)),
    )
)


def _pair(y_true, y_pred, scale=1.0, weight=None):
    return np.array(y_true, dtype=float), np.array(y_pred, dtype=float), scale, weight


@settings(max_examples=60, deadline=None)
@given(data=regression_data)
@example(data=_pair([8.57e-159, 0.0], [1.0, 1.0]))  # subnormal variance: R² is -inf
@example(data=_pair([1e-155, 0.0], [1.0, 1.0]))  # subnormal variance: R² is -inf
@example(data=_pair([1e-150, 0.0], [1.0, 1.0]))  # tiny normal variance: R² is -4e300
@example(data=_pair([5e-324, 0.0], [1.0, 1.0]))  # variance underflows to 0: R² is 0
@example(data=_pair([1.0, 2.0], [0.0, 0.0], weight=np.array([5e-324, 5e-324])))
@example(data=_pair([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], weight=np.array([1e-300] * 3)))
def test_regression_metrics_match_sklearn(data):
    y_true, y_pred, scale, weight = data
    y_true = y_true * scale
    if weight is not None and not weight.any():
        for name in REGRESSION_METRICS:
            for module in (metrics, skm):
                with pytest.raises(ValueError, match="at least one non-zero"):
                    getattr(module, name)(y_true, y_pred, sample_weight=weight)
        return
    for name in REGRESSION_METRICS:
        _close(
            getattr(metrics, name)(y_true, y_pred, sample_weight=weight),
            _sklearn(getattr(skm, name), y_true, y_pred, sample_weight=weight),
        )


def test_r2_of_a_tiny_variance_is_minus_infinity_without_a_warning():
    assert metrics.r2_score([8.57e-159, 0.0], [1.0, 1.0]) == -np.inf
    y_true = np.array([[8.57e-159, 1.0], [0.0, 2.0]])
    y_pred = np.ones((2, 2))
    raw = metrics.r2_score(y_true, y_pred, multioutput="raw_values")
    assert raw[0] == -np.inf and raw[1] == pytest.approx(-1.0)
    assert metrics.r2_score(y_true, y_pred, multioutput="variance_weighted") == -np.inf
    _close(raw, _sklearn(skm.r2_score, y_true, y_pred, multioutput="raw_values"))


def test_regression_edge_cases_and_multioutput():
    assert metrics.r2_score([3.0, 3.0], [3.0, 3.0]) == 1.0
    assert metrics.r2_score([3.0, 3.0], [3.0, 2.0]) == 0.0
    assert np.isnan(metrics.r2_score([1.0], [1.0]))  # no warning either
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    weight = rng.uniform(size=20)
    for multioutput in ("raw_values", "uniform_average", [0.2, 0.3, 0.5]):
        for name in ("r2_score", "mean_absolute_error", "root_mean_squared_error"):
            _close(
                getattr(metrics, name)(
                    y_true, y_pred, multioutput=multioutput, sample_weight=weight
                ),
                getattr(skm, name)(y_true, y_pred, multioutput=multioutput, sample_weight=weight),
            )
    _close(
        metrics.r2_score(y_true, y_pred, multioutput="variance_weighted"),
        skm.r2_score(y_true, y_pred, multioutput="variance_weighted"),
    )
    with pytest.raises(ValueError, match="NaN"):
        metrics.mean_squared_error([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="number of output"):
        metrics.mean_squared_error(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="sample_weight contains NaN"):
        metrics.mean_absolute_error([1.0, 2.0], [1.0, 2.0], sample_weight=[1.0, np.nan])


# ----------------------------------------------------------------------- clustering
@pytest.mark.parametrize("n_clusters", [2, 3, 7])
def test_silhouette_matches_sklearn(n_clusters):
    rng = np.random.default_rng(n_clusters)
    X = rng.normal(size=(300, 4)) + rng.integers(0, 3, size=(300, 1)) * 3.0
    labels = np.array([f"c{v}" for v in rng.integers(0, n_clusters, 300)])
    labels[0] = "alone"  # a singleton cluster scores 0
    np.testing.assert_allclose(
        metrics.silhouette_samples(X, labels), skm.silhouette_samples(X, labels), atol=1e-10
    )
    assert metrics.silhouette_score(X, labels) == pytest.approx(
        skm.silhouette_score(X, labels), abs=1e-12
    )


def test_silhouette_with_duplicate_points_and_far_offset():
    X = np.repeat(np.array([[1e6, 0.0], [1e6, 1.0], [1e6 + 5.0, 0.0]]), 10, axis=0)
    labels = np.repeat([0, 0, 1], 10)
    np.testing.assert_allclose(
        metrics.silhouette_samples(X, labels), skm.silhouette_samples(X, labels), atol=1e-6
    )
    same = np.zeros((6, 2))  # every distance 0: scores are 0, without warnings
    assert metrics.silhouette_score(same, [0, 0, 0, 1, 1, 1]) == 0.0


def test_silhouette_sampling():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1000, 2))
    labels = (X[:, 0] > 0).astype(int)
    exact = metrics.silhouette_score(X, labels)
    score, used = metrics.sampled_silhouette_score(X, labels, max_samples=2000)
    assert used == 1000 and score == pytest.approx(exact)
    score, used = metrics.sampled_silhouette_score(X, labels, max_samples=300, random_state=0)
    assert used == 300 and score == pytest.approx(exact, abs=0.05)
    again = metrics.sampled_silhouette_score(X, labels, max_samples=300, random_state=0)
    assert again == (score, used)
    sampled = metrics.silhouette_score(X, labels, sample_size=300, random_state=4)
    assert sampled == metrics.silhouette_score(X, labels, sample_size=300, random_state=4)
    assert sampled == pytest.approx(exact, abs=0.05)


@pytest.mark.parametrize(
    ("labels", "message"),
    [([0, 0, 0, 0], "Number of labels is 1"), ([0, 1, 2, 3], "Number of labels is 4")],
)
def test_silhouette_label_count_errors(labels, message):
    with pytest.raises(ValueError, match=message):
        metrics.silhouette_score(np.arange(8.0).reshape(4, 2), labels)


def test_inertia_matches_kmeans():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    model = SkKMeans(n_clusters=4, n_init=1, random_state=0).fit(X)
    assert metrics.inertia(X, model.labels_, model.cluster_centers_) == pytest.approx(
        model.inertia_, rel=1e-9
    )
    with pytest.raises(ValueError, match="labels must be integers"):
        metrics.inertia(X, np.full(200, 4), model.cluster_centers_)
    with pytest.raises(ValueError, match="features"):
        metrics.inertia(X, model.labels_, model.cluster_centers_[:, :2])
