"""Growing the trees of a random forest: bootstrap samples, batches and processes.

The features are binned once and shared by every tree. Trees grow in batches (see
``_grower``); with ``n_jobs > 1`` batches go to worker processes started with ``fork``
where the platform has it, so workers inherit the binned data instead of receiving a
copy. Each tree's bootstrap sample and feature draws come from its own seed, drawn up
front, which makes the forest identical for any ``n_jobs`` and batch size.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from ..base import ClassifierMixin
from ._grower import GrowParams, TreeTask, grow_trees

# Trees grown together share each round's NumPy calls; a batch holds about this many
# training rows in total, which bounds the memory of the level arrays.
_BATCH_ROWS = 250_000

# Below this many training rows over all trees, worker processes cost more than they save.
_MIN_PARALLEL_ROWS = 200_000

# Jobs of the forests being fitted with worker processes, set just before forking.
_SHARED: dict = {}
_KEYS = itertools.count()


@dataclass
class ForestJob:
    """Everything the trees of one forest fit share."""

    forest: object  # the BaseForest being fitted (its parameters build the trees)
    binned: object
    target: np.ndarray
    params: GrowParams
    n_draws: int  # bootstrap sample size
    sample_weight: np.ndarray | None
    base: tuple  # (rows, weights) without bootstrap
    X: np.ndarray | None  # for out-of-bag predictions, when wanted


def grow_forest(job: ForestJob, seeds: list[int], n_jobs: int, progress=None) -> list:
    """Grow one tree per seed; returns (estimator, OOB rows, OOB values) per tree.

    ``progress(done, total)`` is called in this process after each tree.
    """
    total = len(seeds)
    # As large as the row budget allows (progress comes per batch, but a batch of the
    # budget's size takes about a second), and at least one batch per worker.
    batch = max(1, min(_BATCH_ROWS // max(job.n_draws, 1), -(-total // n_jobs)))
    batches = [seeds[i : i + batch] for i in range(0, total, batch)]
    done = 0

    def report(grown):
        nonlocal done
        for _ in grown:
            done += 1
            if progress is not None:
                progress(done, total)

    # Workers (forked) find the job in _SHARED under a key of its own, so forests fitted
    # at the same time in several threads do not mix. Without fork, or for forests too
    # small to repay starting processes, grow here (the trees are the same either way).
    forking = "fork" in multiprocessing.get_all_start_methods()
    small = job.n_draws * total < _MIN_PARALLEL_ROWS
    if n_jobs == 1 or len(batches) == 1 or not forking or small:
        results = []
        for seeds_batch in batches:
            grown = _grow_batch(job, seeds_batch)
            report(grown)
            results += grown
        return results
    key = next(_KEYS)
    _SHARED[key] = job
    try:
        by_batch = [None] * len(batches)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(n_jobs, len(batches)), mp_context=context) as pool:
            futures = {pool.submit(_grow_shared, key, b): i for i, b in enumerate(batches)}
            for future in as_completed(futures):
                by_batch[futures[future]] = grown = future.result()
                report(grown)
        return [item for grown in by_batch for item in grown]
    finally:
        del _SHARED[key]


def _grow_shared(key: int, seeds) -> list:
    """Worker entry point: the job was inherited through fork."""
    return _grow_batch(_SHARED[key], seeds)


def _grow_batch(job: ForestJob, seeds) -> list:
    """Grow the trees of ``seeds`` together, with their out-of-bag values."""
    forest, binned = job.forest, job.binned
    n = binned.n_samples
    tasks, oob = [], []
    for seed in seeds:
        rows, weights = job.base
        oob_rows = None
        if forest.bootstrap:
            draws = np.random.default_rng(seed).integers(0, n, job.n_draws)
            counts = np.bincount(draws, minlength=n)
            if job.sample_weight is None:
                rows, weights = np.repeat(np.arange(n), counts), None
            else:
                w = job.sample_weight * counts
                rows = np.flatnonzero(w > 0)
                weights = w[rows]
            oob_rows = np.flatnonzero(counts == 0)
        tasks.append(TreeTask(rows, weights, int(seed)))
        oob.append(oob_rows)
    template = fitted_shell(forest, None)
    criterion = template._criterion(tasks[0].weights is None, max(len(t.rows) for t in tasks))
    trees = grow_trees(binned, criterion, job.target, tasks, job.params)
    grown = []
    for seed, tree, oob_rows in zip(seeds, trees, oob, strict=True):
        estimator = fitted_shell(forest, int(seed))
        estimator._set_fitted(tree, binned.n_features, job.params)
        oob_values = None
        if job.X is not None and oob_rows is not None:
            oob_values = tree.predict(job.X[oob_rows])
        grown.append((estimator, oob_rows, oob_values))
    return grown


def fitted_shell(forest, seed):
    """An unfitted tree estimator with the forest's parameters (and classes)."""
    tree = forest._make_tree(seed)
    if isinstance(tree, ClassifierMixin):
        tree.classes_ = forest.classes_
        tree.n_classes_ = len(forest.classes_)
    return tree


def resolve_n_jobs(n_jobs) -> int:
    """Worker processes for ``n_jobs`` (None: 1; -1: all cores; -2: all but one ...)."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None, -1 or a non-zero integer, got {n_jobs!r}.")
    cores = os.cpu_count() or 1
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else n_jobs
