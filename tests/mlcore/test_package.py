"""The package surface: public names, and what mlcore may import at run time."""

from __future__ import annotations

import subprocess
import sys

import mlcore


def test_estimators_are_importable_from_the_package():
    from mlcore import (  # noqa: F401
        DecisionTreeClassifier,
        DecisionTreeRegressor,
        KMeans,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    for name in mlcore.__all__:
        assert hasattr(mlcore, name), name


def test_mlcore_imports_neither_webapp_nor_scikit_learn_nor_scipy():
    code = (
        "import pkgutil, importlib, sys, mlcore\n"
        "for m in pkgutil.walk_packages(mlcore.__path__, 'mlcore.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('webapp', 'sklearn', 'scipy', 'joblib'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
