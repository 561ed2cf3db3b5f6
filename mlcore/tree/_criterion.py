"""Split criteria: proxy scores for candidate splits and node impurities.

Statistics travel as "channels" stacked on the first axis:

* classification: ``[n, w_0, ..., w_{K-1}]`` — sample count, then the weight of each
  class (plain counts, int64, when there are no sample weights);
* regression: ``[n, S]`` — sample count and sum of ``y`` — or, with sample weights,
  ``[n, W, S]`` with the total weight and the weighted sum.

A split's proxy is monotone in its impurity decrease for a fixed node, so the best split
maximises it (as scikit-learn's ``proxy_impurity_improvement``); impurities are computed
only for the chosen splits.
"""

from __future__ import annotations

import numpy as np

CLASSIFICATION = ("gini", "entropy", "log_loss")
REGRESSION = ("squared_error",)


class Criterion:
    """Scores splits for one criterion.

    Parameters
    ----------
    name : str
        ``"gini"``, ``"entropy"``/``"log_loss"`` or ``"squared_error"``.
    n_classes : int
        Number of classes (0 for regression).
    integer_counts : bool
        Whether class weights are integer counts (no float sample weights); allows exact
        integer arithmetic and an ``x log x`` lookup table for entropy.
    max_count : int
        Largest possible count, the size of that lookup table.
    """

    def __init__(self, name: str, n_classes: int, integer_counts: bool, max_count: int):
        self.name = "entropy" if name == "log_loss" else name
        self.n_classes = n_classes
        self.is_classification = n_classes > 0
        self.integer_counts = integer_counts
        if n_classes:
            self.n_channels = 1 + n_classes
        else:
            self.n_channels = 2 if integer_counts else 3
        self._xlogx_table = None
        if self.name == "entropy" and integer_counts:
            counts = np.arange(max_count + 1, dtype=np.float64)
            counts[0] = 1.0
            self._xlogx_table = counts * np.log(counts)

    # -- split scores ------------------------------------------------------------------

    def proxy(self, left, total, min_samples_leaf: int, check_sides: bool = True):
        """Proxy score of each candidate; ``-inf`` where a side is too small or empty.

        ``left`` and ``total`` are channel stacks of shape (n_channels, n_candidates);
        channel 0 holds sample counts. With ``check_sides=False`` the caller guarantees
        both sides are non-empty, which with integer counts and ``min_samples_leaf=1``
        makes every candidate valid and skips the masking passes.
        """
        n_left = left[0]
        n_right = total[0] - n_left
        masked = check_sides or min_samples_leaf > 1 or not self.integer_counts
        valid = None
        if masked:
            valid = (n_left >= min_samples_leaf) & (n_right >= min_samples_leaf)
        if self.is_classification:
            classes = left[1:]
            right = total[1:] - classes
            if self.integer_counts:
                w_left, w_right = n_left, n_right
            else:
                w_left, w_right = classes.sum(axis=0), right.sum(axis=0)
                valid &= (w_left > 0) & (w_right > 0)
            if self.name == "gini":
                score = _ratio_sum(
                    _sum_squares(classes), w_left, _sum_squares(right), w_right, valid
                )
            else:
                score = (
                    self._xlogx(classes).sum(axis=0)
                    + self._xlogx(right).sum(axis=0)
                    - self._xlogx(w_left)
                    - self._xlogx(w_right)
                )
        else:
            if self.integer_counts:
                w_left, w_right, s_left = n_left, n_right, left[1]
                s_right = total[1] - s_left
            else:
                w_left, s_left = left[1], left[2]
                w_right, s_right = total[1] - w_left, total[2] - s_left
                valid &= (w_left > 0) & (w_right > 0)
            score = _ratio_sum(s_left * s_left, w_left, s_right * s_right, w_right, valid)
        if masked:
            score[~valid] = -np.inf
        return score

    def _xlogx(self, x) -> np.ndarray:
        if self._xlogx_table is not None:
            return self._xlogx_table[x]
        x = np.asarray(x, dtype=np.float64)
        positive = x > 0
        return np.where(positive, x * np.log(np.where(positive, x, 1.0)), 0.0)

    # -- node values -------------------------------------------------------------------

    def impurity(self, stats: np.ndarray) -> np.ndarray:
        """Impurity of nodes from ``stats`` of shape (n_channels + 1, n_nodes).

        For regression the extra last channel is the weighted sum of ``y**2``.
        """
        if self.is_classification:
            weights = stats[1:].astype(np.float64)
            w_total = weights.sum(axis=0)
            p = weights / np.where(w_total > 0, w_total, 1.0)
            if self.name == "gini":
                return 1.0 - (p * p).sum(axis=0)
            logs = np.log2(np.where(p > 0, p, 1.0))
            return -(p * logs).sum(axis=0)
        w = np.where(stats[1] > 0, stats[1], 1.0)
        mean = stats[2] / w
        return np.maximum(stats[3] / w - mean * mean, 0.0)

    def value(self, stats: np.ndarray) -> np.ndarray:
        """Node values: class proportions (n_nodes, K) or means (n_nodes, 1)."""
        if self.is_classification:
            weights = stats[1:].astype(np.float64)
            w_total = weights.sum(axis=0)
            return (weights / np.where(w_total > 0, w_total, 1.0)).T
        return (stats[2] / np.where(stats[1] > 0, stats[1], 1.0))[:, None]

    def node_weight(self, stats: np.ndarray) -> np.ndarray:
        if self.is_classification:
            return stats[1:].sum(axis=0).astype(np.float64)
        return stats[1].astype(np.float64)


def _sum_squares(stack) -> np.ndarray:
    out = stack[0] * stack[0]
    for row in stack[1:]:
        out = out + row * row
    return out


def _ratio_sum(num_left, den_left, num_right, den_right, valid) -> np.ndarray:
    """``num_left / den_left + num_right / den_right`` with one division.

    Where ``valid`` is False (when given) the denominators are replaced by 1; the
    caller overwrites those scores.
    """
    if valid is not None:
        den_left = np.where(valid, den_left, 1)
        den_right = np.where(valid, den_right, 1)
    numerator = np.multiply(num_left, den_right, dtype=np.float64)
    numerator += np.multiply(num_right, den_left, dtype=np.float64)
    numerator /= np.multiply(den_left, den_right, dtype=np.float64)
    return numerator
