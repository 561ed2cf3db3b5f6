"""Bins beyond 255 (uint16 codes) and zoomed histograms: long-tailed regression (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import ensemble as sk_ensemble
from sklearn import tree as sk_tree

import mlcore.tree._grower as grower
from mlcore.ensemble import RandomForestRegressor
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor
from mlcore.tree._binning import bin_data


def _long_tailed(n, seed=0):
    """The benchmark's shape, small: a normal x0 driving exp(x0), lognormal and Pareto
    columns besides."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.standard_normal(n),
            rng.lognormal(0.0, 1.5, n),
            rng.pareto(1.5, n),
            rng.standard_normal(n),
            rng.lognormal(0.0, 1.5, n),
        ]
    )
    y = np.exp(X[:, 0]) + 0.3 * X[:, 3] + rng.normal(0.0, 0.2, n)
    return X, y


def _r2(y, p):
    return 1.0 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_many_distinct_values_take_uint16_codes():
    X = np.column_stack([np.arange(1000.0), np.arange(1000.0) % 3])
    binned = bin_data(X, max_bins=2000)
    assert binned.codes.dtype == np.uint16 and binned.zoom
    np.testing.assert_array_equal(binned.n_value_bins, [1000, 3])
    assert bin_data(X, max_bins=255).codes.dtype == np.uint8


def test_regressor_defaults_to_fine_bins_and_classifier_keeps_255():
    assert DecisionTreeRegressor().max_bins == 65_535
    assert RandomForestRegressor().max_bins == 65_535
    assert DecisionTreeClassifier().max_bins == 255


def test_zoom_splits_inside_a_tail_bin():
    # 20,000 distinct values: 255 quantile bins hold ~80 each, so the jump at the
    # 19,990th value falls inside a bin, which no depth can split. The root's zoomed
    # histogram is as coarse (157 bins of 128 codes), but its children zoom in.
    x = np.arange(20_000.0)[:, None]
    y = (x[:, 0] >= 19_990).astype(float)
    coarse = DecisionTreeRegressor(max_bins=255).fit(x, y)
    assert not np.array_equal(coarse.predict(x), y)
    fine = DecisionTreeRegressor(max_depth=4).fit(x, y)
    np.testing.assert_array_equal(fine.predict(x), y)
    assert 19_989.5 in fine.tree_.threshold


@pytest.mark.parametrize("small", [0, 10**9])
def test_full_tree_on_fine_bins_fits_distinct_rows_exactly_with_nan(monkeypatch, small):
    """Zoomed histograms (every node, small=0) and sorting (every node) both separate
    every training row, NaN included."""
    monkeypatch.setattr(grower, "_MIN_SMALL", small)
    monkeypatch.setattr(grower, "_SORT_FACTOR", 0.0)
    rng = np.random.default_rng(1)
    X = rng.lognormal(size=(2000, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = rng.normal(size=2000)
    model = DecisionTreeRegressor().fit(X, y)
    np.testing.assert_allclose(model.predict(X), y)


def test_long_tailed_tree_r2_close_to_scikit_learn():
    X, y = _long_tailed(12_000)
    X_test, y_test = _long_tailed(3_000, seed=1)
    ours = DecisionTreeRegressor(random_state=0).fit(X, y)
    theirs = sk_tree.DecisionTreeRegressor(random_state=0).fit(X, y)
    gap = _r2(y_test, theirs.predict(X_test)) - _r2(y_test, ours.predict(X_test))
    assert gap < 0.01


def test_long_tailed_forest_r2_close_to_scikit_learn():
    X, y = _long_tailed(8_000)
    X_test, y_test = _long_tailed(2_000, seed=1)
    ours = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    theirs = sk_ensemble.RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    ours_r2, theirs_r2 = _r2(y_test, ours.predict(X_test)), _r2(y_test, theirs.predict(X_test))
    assert theirs_r2 - ours_r2 < 0.01
    coarse = RandomForestRegressor(n_estimators=10, random_state=0, max_bins=255).fit(X, y)
    assert _r2(y_test, coarse.predict(X_test)) < ours_r2  # what the fine bins are for
