"""mlcore: machine learning in pure NumPy with scikit-learn's estimator conventions."""

from mlcore.base import NotFittedError

__all__ = ["NotFittedError"]
__version__ = "0.1.0"
