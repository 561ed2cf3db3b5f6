"""Decision trees grown on binned features (pure NumPy).

``DecisionTreeClassifier`` and ``DecisionTreeRegressor`` follow scikit-learn's API;
``export_text`` and ``tree_to_dict`` render a fitted tree for people and for the web app.
"""

from ._classes import DecisionTreeClassifier, DecisionTreeRegressor
from ._export import export_text, tree_to_dict
from ._tree import Tree

__all__ = [
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "Tree",
    "export_text",
    "tree_to_dict",
]
