"""mlcore: machine learning in pure NumPy with scikit-learn's estimator conventions.

Estimators::

    from mlcore import KMeans, DecisionTreeClassifier, DecisionTreeRegressor
    from mlcore import RandomForestClassifier, RandomForestRegressor

Around them: ``mlcore.metrics``, ``mlcore.model_selection``, ``mlcore.preprocessing``
(DataFrame → matrix, saved with the model) and ``mlcore.persistence`` (pickle-free files).
"""

__version__ = "0.1.0"

from mlcore.base import NotFittedError
from mlcore.cluster import KMeans, KSelection, suggest_k
from mlcore.ensemble import RandomForestClassifier, RandomForestRegressor
from mlcore.persistence import SavedModel, dumps, load, loads, save
from mlcore.preprocessing import TabularPreprocessor, infer_column, infer_task
from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text, tree_to_dict

__all__ = [
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KMeans",
    "KSelection",
    "NotFittedError",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "SavedModel",
    "TabularPreprocessor",
    "dumps",
    "export_text",
    "infer_column",
    "infer_task",
    "load",
    "loads",
    "save",
    "suggest_k",
    "tree_to_dict",
]
