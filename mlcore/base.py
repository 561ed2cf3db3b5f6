"""Estimator base classes and input validation shared by every mlcore estimator.

The contract is scikit-learn's: ``__init__`` stores keyword parameters under the same
names and does nothing else, ``fit`` validates, learns and returns ``self``, learned
state ends in an underscore, and randomness comes from ``random_state``.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``.

    Inherits from both ``ValueError`` and ``AttributeError`` as scikit-learn's does,
    so code written against either keeps working.
    """


class BaseEstimator:
    """Parameter handling shared by all estimators (``get_params``/``set_params``)."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self, deep: bool = True) -> dict:
        """Return the estimator's constructor parameters as a dict.

        Parameters
        ----------
        deep : bool, default=True
            Accepted for scikit-learn compatibility; mlcore estimators do not nest.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params) -> BaseEstimator:
        """Set constructor parameters and return ``self``.

        Raises
        ------
        ValueError
            If a name is not a parameter of this estimator.
        """
        valid = set(self._get_param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {sorted(valid)}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            if default is inspect.Parameter.empty or not _same_value(value, default):
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


def _same_value(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


class ClassifierMixin:
    """Adds ``score`` (accuracy) to classifiers."""

    _estimator_type = "classifier"

    def score(self, X, y) -> float:
        """Return the mean accuracy of ``predict(X)`` against ``y``."""
        y = np.asarray(y)
        return float(np.mean(self.predict(X) == y))


class RegressorMixin:
    """Adds ``score`` (coefficient of determination R²) to regressors."""

    _estimator_type = "regressor"

    def score(self, X, y) -> float:
        """Return R² of ``predict(X)`` against ``y``."""
        y = np.asarray(y, dtype=np.float64)
        residual = np.sum((y - self.predict(X)) ** 2)
        total = np.sum((y - y.mean()) ** 2)
        if total == 0.0:
            return 1.0 if residual == 0.0 else 0.0
        return float(1.0 - residual / total)


class ClusterMixin:
    """Adds ``fit_predict`` to clusterers."""

    _estimator_type = "clusterer"

    def fit_predict(self, X, y=None):
        """Fit to ``X`` and return the cluster label of each sample."""
        return self.fit(X).labels_


def check_is_fitted(estimator, attributes: str | list[str] | None = None) -> None:
    """Raise ``NotFittedError`` unless ``estimator`` has been fitted.

    Parameters
    ----------
    estimator : BaseEstimator
    attributes : str or list of str, optional
        Fitted attributes to look for; by default any attribute ending in ``_``.
    """
    if attributes is None:
        fitted = any(name.endswith("_") and not name.startswith("__") for name in vars(estimator))
    else:
        names = [attributes] if isinstance(attributes, str) else attributes
        fitted = all(hasattr(estimator, name) for name in names)
    if not fitted:
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. "
            "Call 'fit' with appropriate arguments before using this estimator."
        )


def check_array(
    X,
    *,
    allow_nan: bool = False,
    dtype=np.float64,
    ensure_2d: bool = True,
    min_samples: int = 1,
    name: str = "X",
) -> np.ndarray:
    """Validate ``X`` and return it as a C-contiguous numeric array.

    Parameters
    ----------
    X : array-like
        Input data; pandas objects are accepted.
    allow_nan : bool, default=False
        Whether NaN is allowed (infinity never is).
    dtype : numpy dtype, default=float64
        Dtype of the returned array.
    ensure_2d : bool, default=True
        Require a 2-D array of shape (n_samples, n_features).
    min_samples : int, default=1
        Minimum number of rows.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X_checked : ndarray

    Raises
    ------
    ValueError
        For non-numeric, empty, wrongly shaped or non-finite input.
    """
    try:
        array = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must contain only numbers; convert text columns first "
            f"(mlcore.preprocessing does this): {exc}"
        ) from None
    if ensure_2d:
        if array.ndim == 1:
            raise ValueError(
                f"Expected a 2-D array for {name}, got a 1-D array of shape {array.shape}. "
                "Reshape with X.reshape(-1, 1) for a single feature or "
                "X.reshape(1, -1) for a single sample."
            )
        if array.ndim != 2:
            raise ValueError(f"Expected a 2-D array for {name}, got {array.ndim} dimensions.")
        if array.shape[1] == 0:
            raise ValueError(f"{name} has 0 features; at least 1 is required.")
    if array.shape[0] < min_samples:
        raise ValueError(f"{name} has {array.shape[0]} sample(s); at least {min_samples} required.")
    if array.dtype.kind == "f":
        if allow_nan:
            if np.isinf(array).any():
                raise ValueError(f"{name} contains infinity; only finite values or NaN allowed.")
        elif not np.isfinite(array).all():
            raise ValueError(
                f"{name} contains NaN or infinity; impute or drop missing values first."
            )
    return np.ascontiguousarray(array)


def check_n_features(estimator, X: np.ndarray) -> None:
    """Raise ``ValueError`` when ``X`` has another width than the data ``fit`` saw."""
    expected = estimator.n_features_in_
    if X.shape[1] != expected:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} "
            f"was fitted with {expected} features."
        )


def check_random_state(seed) -> np.random.Generator:
    """Turn ``seed`` (None, int, or Generator) into a ``numpy.random.Generator``.

    The same integer always gives the same stream, which is what makes fits reproducible.
    """
    if seed is None or isinstance(seed, numbers.Integral):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {seed!r}.")
