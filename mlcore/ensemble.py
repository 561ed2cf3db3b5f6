"""Random forests of mlcore decision trees (scikit-learn's API).

Each tree draws a bootstrap sample and a fresh feature subset at every split; the
binned features are shared by all trees, and ``n_jobs`` grows batches of trees in
worker processes with results identical to ``n_jobs=1`` (see ``mlcore.tree._bagging``).
"""

from __future__ import annotations

import numbers

import numpy as np

from .base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    check_is_fitted,
    check_n_features,
    check_random_state,
)
from .tree import DecisionTreeClassifier, DecisionTreeRegressor
from .tree._bagging import ForestJob, grow_forest, resolve_n_jobs
from .tree._binning import MAX_BINS, bin_data
from .tree._predict import flat_trees
from .tree._validation import (
    check_int,
    encode_labels,
    encode_regression_target,
    rows_and_weights,
    validate_X,
    validate_y,
)


class BaseForest(BaseEstimator):
    """Fitting, parallelism and out-of-bag scoring shared by the two forests."""

    _tree_class = DecisionTreeClassifier

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion,
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        max_samples=None,
        min_impurity_decrease=0.0,
        max_bins=255,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_samples = max_samples
        self.min_impurity_decrease = min_impurity_decrease
        self.max_bins = max_bins

    def fit(self, X, y, sample_weight=None, progress=None):
        """Grow the forest on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        progress : callable, optional
            Called as ``progress(done, total)`` in this process after each tree.

        Returns
        -------
        self : estimator
        """
        X, feature_names = validate_X(X)
        y = validate_y(y, X.shape[0])
        n_estimators = _check_positive_int(self.n_estimators, "n_estimators")
        if self.oob_score and not self.bootstrap:
            raise ValueError("oob_score=True requires bootstrap=True.")
        n_jobs = resolve_n_jobs(self.n_jobs)
        n_samples = X.shape[0]
        params = self._make_tree(None)._grow_params(n_samples, X.shape[1])
        max_bins = check_int(self.max_bins, "max_bins", 2, MAX_BINS)
        n_draws = self._n_draws(n_samples)
        base = rows_and_weights(sample_weight, n_samples)
        job = ForestJob(
            forest=self,
            binned=bin_data(X, max_bins),
            target=self._encode_target(y),
            params=params,
            n_draws=n_draws,
            sample_weight=None if sample_weight is None else np.asarray(sample_weight, float),
            base=base,
            X=X if self.oob_score else None,
        )
        seeds = check_random_state(self.random_state).integers(0, 2**63 - 1, n_estimators).tolist()
        results = grow_forest(job, seeds, n_jobs, progress)
        self.estimators_ = [tree for tree, _, _ in results]
        self.n_features_in_ = X.shape[1]
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        for name in ("oob_score_", "oob_decision_function_", "oob_prediction_"):
            if hasattr(self, name):
                delattr(self, name)
        if self.oob_score:
            self._set_oob(results, job.target, n_samples)
        return self

    def _n_draws(self, n_samples: int) -> int:
        if self.max_samples is None:
            return n_samples
        if _is_int(self.max_samples):
            if not 1 <= self.max_samples <= n_samples:
                raise ValueError(
                    f"max_samples must be in [1, n_samples={n_samples}], got {self.max_samples}."
                )
            return int(self.max_samples)
        if isinstance(self.max_samples, numbers.Real) and 0 < self.max_samples <= 1:
            return max(1, round(self.max_samples * n_samples))
        raise ValueError(
            f"max_samples must be None, an int or a float in (0, 1], got {self.max_samples!r}."
        )

    def _make_tree(self, seed):
        return self._tree_class(
            criterion=self.criterion,
            max_depth=self.max_depth,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            random_state=seed,
            min_impurity_decrease=self.min_impurity_decrease,
            max_bins=self.max_bins,
        )

    def _forest_predict(self, X) -> np.ndarray:
        """Mean of the trees' leaf values, shape (n_samples, n_values)."""
        check_is_fitted(self, "estimators_")
        X, _ = validate_X(X)
        check_n_features(self, X)
        table = flat_trees(self, [tree.tree_ for tree in self.estimators_])
        return table.mean_value(X, resolve_n_jobs(self.n_jobs))

    @property
    def feature_importances_(self) -> np.ndarray:
        """Mean of the trees' normalised impurity-decrease importances."""
        check_is_fitted(self, "estimators_")
        per_tree = [t.tree_.compute_feature_importances() for t in self.estimators_]
        importances = np.mean(per_tree, axis=0)
        total = importances.sum()
        return importances / total if total > 0 else importances


class RandomForestClassifier(ClassifierMixin, BaseForest):
    """A random forest classifier.

    Parameters
    ----------
    n_estimators : int, default=100
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
    max_depth, min_samples_split, min_samples_leaf, min_impurity_decrease, max_bins :
        As for ``DecisionTreeClassifier``.
    max_features : {"sqrt", "log2"}, int, float or None, default="sqrt"
        Features drawn at every split.
    bootstrap : bool, default=True
    oob_score : bool, default=False
        Estimate accuracy on the samples each tree did not see.
    n_jobs : int or None, default=None
        Worker processes for fitting and threads for predicting (None: 1, -1: all
        cores). The result does not depend on it.
    random_state : int, numpy Generator or None, default=None
    max_samples : int or float, optional
        Bootstrap sample size (default: n_samples).

    Attributes
    ----------
    estimators_ : list of DecisionTreeClassifier
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    n_features_in_ : int
    feature_importances_ : ndarray of shape (n_features,)
    oob_score_ : float
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        NaN for samples that were in every bootstrap sample.
    """

    _tree_class = DecisionTreeClassifier

    def __init__(
        self,
        n_estimators=100,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features="sqrt",
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        max_samples=None,
        min_impurity_decrease=0.0,
        max_bins=255,
    ):
        super().__init__(
            n_estimators,
            criterion=criterion,
            max_depth=max_depth,
            min_samples_split=min_samples_split,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
            bootstrap=bootstrap,
            oob_score=oob_score,
            n_jobs=n_jobs,
            random_state=random_state,
            max_samples=max_samples,
            min_impurity_decrease=min_impurity_decrease,
            max_bins=max_bins,
        )

    def _encode_target(self, y):
        self.classes_, encoded = encode_labels(y)
        self.n_classes_ = len(self.classes_)
        return encoded

    def _set_oob(self, results, target, n_samples):
        summed = np.zeros((n_samples, self.n_classes_))
        seen = np.zeros(n_samples, dtype=np.intp)
        for _, rows, values in results:
            summed[rows] += values
            seen[rows] += 1
        covered = seen > 0
        decision = np.full_like(summed, np.nan)
        decision[covered] = summed[covered] / seen[covered, None]
        self.oob_decision_function_ = decision
        predicted = np.argmax(decision[covered], axis=1)
        self.oob_score_ = float(np.mean(predicted == target[covered])) if covered.any() else 0.0

    def predict_proba(self, X) -> np.ndarray:
        """Mean class probabilities of the trees, shape (n_samples, n_classes)."""
        return self._forest_predict(X)

    def predict(self, X) -> np.ndarray:
        """Class with the highest mean probability."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class RandomForestRegressor(RegressorMixin, BaseForest):
    """A random forest regressor (mean of the trees' predictions).

    Parameters are those of ``RandomForestClassifier`` except ``criterion``
    (``"squared_error"``), ``max_features``, which defaults to 1.0 (all features,
    as in scikit-learn), and ``max_bins``, which defaults to 65,535 (see
    ``DecisionTreeRegressor``).

    Attributes
    ----------
    estimators_ : list of DecisionTreeRegressor
    n_features_in_ : int
    feature_importances_ : ndarray of shape (n_features,)
    oob_score_ : float
        R² of the out-of-bag predictions.
    oob_prediction_ : ndarray of shape (n_samples,)
        NaN for samples that were in every bootstrap sample.
    """

    _tree_class = DecisionTreeRegressor

    def __init__(
        self,
        n_estimators=100,
        criterion="squared_error",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features=1.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        max_samples=None,
        min_impurity_decrease=0.0,
        max_bins=MAX_BINS,
    ):
        super().__init__(
            n_estimators,
            criterion=criterion,
            max_depth=max_depth,
            min_samples_split=min_samples_split,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
            bootstrap=bootstrap,
            oob_score=oob_score,
            n_jobs=n_jobs,
            random_state=random_state,
            max_samples=max_samples,
            min_impurity_decrease=min_impurity_decrease,
            max_bins=max_bins,
        )

    def _encode_target(self, y):
        return encode_regression_target(y)

    def _set_oob(self, results, target, n_samples):
        summed = np.zeros(n_samples)
        seen = np.zeros(n_samples, dtype=np.intp)
        for _, rows, values in results:
            summed[rows] += values[:, 0]
            seen[rows] += 1
        covered = seen > 0
        prediction = np.full(n_samples, np.nan)
        prediction[covered] = summed[covered] / seen[covered]
        self.oob_prediction_ = prediction
        y, p = target[covered], prediction[covered]
        residual = float(np.sum((y - p) ** 2))
        spread = float(np.sum((y - y.mean()) ** 2)) if covered.any() else 0.0
        self.oob_score_ = 1.0 - residual / spread if spread > 0 else 0.0

    def predict(self, X) -> np.ndarray:
        """Mean prediction of the trees."""
        return self._forest_predict(X)[:, 0]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_int(value, name: str) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)
