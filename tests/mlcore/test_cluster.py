"""Tests for mlcore.cluster: KMeans against scikit-learn, edge cases, and suggest_k."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs

from mlcore.base import NotFittedError
from mlcore.cluster import KMeans, KSelection, _kneedle_elbow, suggest_k


def _blobs(n=2000, d=4, k=5, std=1.0, seed=0):
    return make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std, random_state=seed)[0]


def _sq_dist(X, centres):
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)


def _assert_nearest(X, model, rtol=1e-9):
    """labels_ index a nearest centre (ties allowed) and inertia_ matches them."""
    sq = _sq_dist(X, model.cluster_centers_)
    own = sq[np.arange(len(X)), model.labels_]
    scale = np.abs(X).max() ** 2 + 1.0
    assert np.all(own <= sq.min(axis=1) + 1e-9 * scale)
    assert model.inertia_ == pytest.approx(own.sum(), rel=rtol, abs=1e-9 * scale)


# ------------------------------------------------------------- scikit-learn as oracle
@pytest.mark.parametrize(
    ("n", "d", "k", "std", "seed"),
    [
        (3000, 2, 3, 1.0, 0),
        (3000, 5, 8, 2.5, 1),  # overlapping: many iterations
        (2000, 10, 20, 3.0, 2),
        (1500, 3, 50, 1.0, 3),  # many clusters
        (1000, 40, 4, 6.0, 4),  # wide, noisy
    ],
)
def test_same_initial_centres_give_sklearn_inertia(n, d, k, std, seed):
    X = _blobs(n, d, k, std, seed)
    init = X[np.random.default_rng(seed).choice(n, k, replace=False)]
    ours = KMeans(n_clusters=k, init=init).fit(X)
    theirs = SkKMeans(n_clusters=k, init=init, n_init=1).fit(X)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=5e-3)
    _assert_nearest(X, ours)
    # Same start, same algorithm: the clusterings agree almost everywhere.
    assert np.mean(ours.labels_ == theirs.labels_) > 0.95


def test_same_path_as_sklearn_on_separated_blobs():
    X = _blobs(4000, 6, 6, 0.5, 7)
    init = X[:6]
    ours = KMeans(n_clusters=6, init=init, tol=0).fit(X)
    theirs = SkKMeans(n_clusters=6, init=init, n_init=1, tol=0).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_plusplus_reaches_sklearn_quality(seed):
    X = _blobs(5000, 8, 8, 1.0, seed)
    ours = KMeans(n_clusters=8, random_state=seed).fit(X)
    theirs = SkKMeans(n_clusters=8, n_init=1, random_state=seed).fit(X)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=5e-3)
    _assert_nearest(X, ours)


def test_random_init_runs_ten_times_by_default_and_keeps_the_best():
    X = _blobs(1000, 2, 6, 1.5, 3)
    auto = KMeans(n_clusters=6, init="random", random_state=0).fit(X)
    once = [KMeans(n_clusters=6, init="random", n_init=1, random_state=s).fit(X) for s in range(5)]
    assert auto.inertia_ <= max(m.inertia_ for m in once)
    _assert_nearest(X, auto)


def test_empty_cluster_is_relocated_like_sklearn():
    X = _blobs(1000, 2, 3, 0.5, 5)
    init = np.vstack([X[:2], [[1e3, 1e3]]])  # the third centre attracts nothing
    ours = KMeans(n_clusters=3, init=init).fit(X)
    theirs = SkKMeans(n_clusters=3, init=init, n_init=1).fit(X)
    assert np.bincount(ours.labels_, minlength=3).min() > 0
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=5e-3)


def test_float_precision_far_from_origin():
    # Tight clusters far from the origin defeat a naive float32 expansion.
    rng = np.random.default_rng(0)
    centres = np.array([[1e4, 1e4], [1e4 + 1, 1e4], [1e4, 1e4 + 1]])
    X = np.repeat(centres, 300, axis=0) + rng.normal(scale=1e-3, size=(900, 2))
    ours = KMeans(n_clusters=3, init=centres).fit(X)
    theirs = SkKMeans(n_clusters=3, init=centres, n_init=1).fit(X)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-6)
    assert np.bincount(ours.labels_).tolist() == [300, 300, 300]


@pytest.mark.parametrize("factor", [1e-30, 1e30])
def test_extreme_magnitudes_cluster_like_unit_data(factor):
    # float32 squared norms would underflow or overflow without rescaling.
    X = _blobs(600, 3, 4, 1.0, 11)
    unit = KMeans(n_clusters=4, random_state=0).fit(X)
    scaled = KMeans(n_clusters=4, random_state=0).fit(X * factor)
    np.testing.assert_array_equal(scaled.labels_, unit.labels_)
    np.testing.assert_allclose(scaled.cluster_centers_, unit.cluster_centers_ * factor)
    assert scaled.inertia_ == pytest.approx(unit.inertia_ * factor**2, rel=1e-9)


# --------------------------------------------------------------------- edge cases
def test_k_equals_n_samples():
    X = np.random.default_rng(0).normal(size=(12, 3))
    model = KMeans(n_clusters=12, random_state=0).fit(X)
    assert sorted(model.labels_.tolist()) == list(range(12))
    assert model.inertia_ == pytest.approx(0.0, abs=1e-20)


def test_single_cluster_is_the_mean():
    X = np.random.default_rng(1).normal(size=(50, 4))
    model = KMeans(n_clusters=1, random_state=0).fit(X)
    np.testing.assert_allclose(model.cluster_centers_[0], X.mean(axis=0))
    assert model.inertia_ == pytest.approx(((X - X.mean(axis=0)) ** 2).sum())
    assert set(model.labels_.tolist()) == {0}


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_fewer_distinct_points_than_clusters(init):
    points = np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]])
    X = np.repeat(points, 20, axis=0)
    model = KMeans(n_clusters=5, init=init, random_state=0).fit(X)  # no warning
    assert model.inertia_ == pytest.approx(0.0, abs=1e-12)
    assert model.labels_.max() < 5
    found = {tuple(c) for c in np.round(model.cluster_centers_, 9)}
    assert {tuple(p) for p in points} <= found
    _assert_nearest(X, model)


def test_all_points_identical():
    X = np.ones((30, 3))
    model = KMeans(n_clusters=3, random_state=0).fit(X)
    np.testing.assert_allclose(model.cluster_centers_, 1.0)
    assert model.inertia_ == 0.0


def test_constant_feature():
    X = _blobs(600, 3, 3, 0.8, 2)
    X[:, 1] = 7.0
    model = KMeans(n_clusters=3, random_state=0).fit(X)
    np.testing.assert_allclose(model.cluster_centers_[:, 1], 7.0)
    _assert_nearest(X, model)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_rejected(bad):
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        KMeans(n_clusters=2).fit(X)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_clusters": 11}, "n_samples=10 should be >= n_clusters=11"),
        ({"n_clusters": 0}, "n_clusters"),
        ({"n_clusters": 2.5}, "n_clusters"),
        ({"init": "kmeans"}, "init must be"),
        ({"init": np.zeros((3, 2))}, r"init should be of shape \(2, 3\)"),
        ({"n_init": 0}, "n_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
    ],
)
def test_bad_parameters_raise_in_fit(params, message):
    X = np.random.default_rng(0).normal(size=(10, 3))
    model = KMeans(**{"n_clusters": 2, **params})  # __init__ does not validate
    with pytest.raises(ValueError, match=message):
        model.fit(X)


def test_sample_weight_is_refused():
    with pytest.raises(ValueError, match="sample_weight"):
        KMeans(n_clusters=2).fit(np.zeros((4, 2)), sample_weight=np.ones(4))


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_unfitted_use_raises(method):
    with pytest.raises(NotFittedError):
        getattr(KMeans(), method)(np.zeros((3, 2)))


def test_predict_with_wrong_width_raises():
    model = KMeans(n_clusters=2, random_state=0).fit(_blobs(100, 3, 2))
    with pytest.raises(ValueError, match="X has 4 features, but KMeans was fitted with 3"):
        model.predict(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="2-D"):
        model.predict(np.zeros(3))


# -------------------------------------------------------------------------- contract
def test_same_seed_same_model_and_refit_replaces():
    X = _blobs(1500, 4, 6, 2.0, 9)
    a = KMeans(n_clusters=6, random_state=42).fit(X)
    b = KMeans(n_clusters=6, random_state=42).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    a.fit(X[:, :2])
    assert a.n_features_in_ == 2 and a.cluster_centers_.shape == (6, 2)


def test_predict_transform_score_and_fit_predict_agree():
    X = _blobs(800, 3, 4, 1.0, 3)
    model = KMeans(n_clusters=4, random_state=0)
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.labels_)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    expected = np.sqrt(_sq_dist(X, model.cluster_centers_))
    np.testing.assert_allclose(model.transform(X), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.fit_transform(X), expected, rtol=1e-9, atol=1e-9)
    assert model.score(X) == pytest.approx(-model.inertia_)
    assert model.labels_.dtype == np.int32


def test_tol_is_relative_to_the_data_scale():
    X = _blobs(1500, 3, 5, 2.0, 4)
    small = KMeans(n_clusters=5, random_state=3).fit(X)
    large = KMeans(n_clusters=5, random_state=3).fit(X * 1e3)
    np.testing.assert_array_equal(small.labels_, large.labels_)
    assert small.n_iter_ == large.n_iter_


def test_max_iter_one_still_labels_by_the_final_centres():
    X = _blobs(1000, 2, 4, 2.5, 6)
    model = KMeans(n_clusters=4, max_iter=1, random_state=0).fit(X)
    assert model.n_iter_ == 1
    _assert_nearest(X, model)


def test_float32_and_dataframe_input():
    X = _blobs(500, 3, 3, 1.0, 8)
    a = KMeans(n_clusters=3, random_state=0).fit(X.astype(np.float32))
    b = KMeans(n_clusters=3, random_state=0).fit(pd.DataFrame(X, columns=list("abc")))
    assert a.cluster_centers_.dtype == np.float64
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-5)


def test_fitted_state_is_persistable():
    model = KMeans(n_clusters=3, random_state=0).fit(_blobs(300, 2, 3))
    for name, value in vars(model).items():
        if name.endswith("_"):
            assert isinstance(value, np.ndarray | int | float), name
            if isinstance(value, np.ndarray):
                assert value.dtype.kind in "biuf"


@settings(max_examples=30, deadline=None)
@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.integers(1, 4)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
    k=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_invariants_on_arbitrary_data(X, k, seed):
    k = min(k, len(X))
    model = KMeans(n_clusters=k, random_state=seed).fit(X)
    assert model.cluster_centers_.shape == (k, X.shape[1])
    assert np.isfinite(model.cluster_centers_).all()
    assert model.labels_.shape == (len(X),) and model.labels_.min() >= 0
    assert model.labels_.max() < k
    assert 1 <= model.n_iter_ <= 300
    _assert_nearest(X, model, rtol=1e-7)


@pytest.mark.parametrize("size", [1e-158, 3e-160])
def test_tiny_values_do_not_overflow_the_scale(size):
    # Found by hypothesis: squared norms near 1e-316 need a scale near 2**525, whose square
    # overflowed when the mean variance was computed.
    X = np.array([[size, 0.0], [0.0, size], [0.0, 0.0], [size, size]])
    model = KMeans(n_clusters=2, random_state=0).fit(X)
    assert np.isfinite(model.cluster_centers_).all() and np.isfinite(model.inertia_)
    _assert_nearest(X, model, rtol=1e-7)


# ----------------------------------------------------------------------- suggest_k
def test_suggest_k_finds_the_blobs():
    X = _blobs(3000, 5, 4, 1.0, 1)
    selection = suggest_k(X, random_state=0)
    assert isinstance(selection, KSelection)
    assert selection.ks == list(range(2, 11))
    assert len(selection.inertias) == len(selection.silhouettes) == 9
    assert selection.elbow_k == 4
    assert selection.best_silhouette_k == 4
    assert selection.suggested_k == 4
    assert selection.n_silhouette_samples == 3000
    assert all(a >= b for a, b in zip(selection.inertias, selection.inertias[1:], strict=False))


def test_suggest_k_samples_the_silhouette_and_is_reproducible():
    centres = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]]
    X = make_blobs(n_samples=4000, centers=centres, random_state=2)[0]
    a = suggest_k(X, k_range=[1, 2, 3, 4, 5], random_state=5, sample_size=500)
    b = suggest_k(X, k_range=[1, 2, 3, 4, 5], random_state=5, sample_size=500)
    assert str(a) == str(b)  # NaN != NaN, so compare the text
    assert a.n_silhouette_samples == 500
    assert np.isnan(a.silhouettes[0])  # undefined for k=1
    assert a.suggested_k == 3


def test_suggest_k_arguments():
    X = _blobs(200, 2, 3, 1.0, 3)
    assert suggest_k(X, k_max=4, random_state=0).ks == [2, 3, 4]
    assert suggest_k(X[:5], random_state=0).ks == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="k_range"):
        suggest_k(X, k_range=[0, 500])
    with pytest.raises(ValueError, match="NaN"):
        suggest_k(np.full((10, 2), np.nan))


def test_kneedle_elbow():
    assert _kneedle_elbow([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8]) == 3
    assert _kneedle_elbow([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) is None  # a straight line
    assert _kneedle_elbow([1, 2], [5, 1]) is None
    assert _kneedle_elbow([1, 2, 3], [1, 1, 1]) is None
