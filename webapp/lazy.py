"""Modules imported on first use, so that a web worker loads the ML stack only when it needs it.

Why: importing numpy, pandas, matplotlib and mlcore at start-up left every web worker with
1,348 modules, 171k objects for the garbage collector to walk and 152 MB resident; a full
collection took 85-170 ms and was the top self-time entry under load (issue 12), although
pages for boards, tasks and accounts use none of them. With the stack bound lazily,
``create_app`` imports 733 modules and leaves 0.55x the objects and 0.47x the memory
(``bench/imports.py`` prints the ratios). The first request that handles a table, a model or
a plot pays the import once (0.8 s on a busy 2-core machine). A ``gc.freeze()`` after
start-up (gunicorn.conf.py) does not cover what is imported later, so a process that froze
its start-up objects freezes again after a lazy import: otherwise, after that first request,
full collections would walk the ML stack's 78k objects again.

The rule: a module that ``create_app`` imports (routes, API modules, forms, the services
they call at import time, :mod:`webapp.cache`) binds numpy, pandas, matplotlib, mlcore and
the services that need them with :func:`lazy_import` instead of ``import``; a module that is
itself only reached through such a binding (profiling, predictions, training, plot drawing)
imports them at its top as usual. ``tests/test_lazy_imports.py`` checks the rule in a fresh
interpreter.

:class:`LazyModule` is a plain proxy, not :class:`importlib.util.LazyLoader`: nothing is
put in ``sys.modules`` until the real import runs, and the real import goes through
:func:`importlib.import_module`, whose per-module lock makes a first use from two threads
(request threads, the in-process job runner) safe on Python 3.11, where ``LazyLoader`` is not.
"""

from __future__ import annotations

import gc
import importlib
from types import ModuleType


class LazyModule:
    """Stands for module ``name``; the first attribute read imports it."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def _load(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
            if gc.get_freeze_count():  # this process freezes long-lived objects: these too
                gc.freeze()
        return self._module

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_import(name: str) -> LazyModule:
    """``np = lazy_import("numpy")`` in place of ``import numpy as np``: the same attributes,
    imported when the first one is read."""
    return LazyModule(name)
