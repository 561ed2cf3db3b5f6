"""The shape of one benchmark workload, shared by the workload modules and the runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    """One row of the benchmark table.

    ``make_data`` returns ``(X_train, y_train, X_test, y_test)`` (``y_*`` are None for
    clustering); ``ours`` and ``theirs`` build unfitted estimators with the same settings;
    ``quality`` is ``"inertia"`` (lower is better, read from ``inertia_``) or
    ``"accuracy"`` or ``"r2"`` (on the test split).
    """

    name: str
    make_data: Callable[[], tuple]
    ours: Callable[[], object]
    theirs: Callable[[], object]
    quality: str
    quick: bool = False  # part of the short --quick run
