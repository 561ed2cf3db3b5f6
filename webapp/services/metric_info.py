"""What each metric a run reports means, in words: the one list pages, comparisons and the
API read (a name, a one-line explanation, which way is better, what is good).

Metric keys stay as the API has always returned them (``f1_macro``, ``oob_score``); only
what people read changes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    explanation: str
    higher_is_better: bool
    # "score": a unitless 0–1 score (shown with 3 decimals); "error": in the target's (or the
    # standardised features') units (shown with 4 significant digits).
    kind: str = "score"
    good: str = ""


_ORDER = (
    Metric("accuracy", "Accuracy", "Share of test rows whose class was predicted right.",
           True, good="1 is perfect; compare it with always answering the most common class."),
    Metric("precision_macro", "Precision (average of classes)",
           "When the model names a class, how often it is right; every class counts the same, "
           "however rare.", True, good="1 is perfect."),
    Metric("recall_macro", "Recall (average of classes)",
           "Of the rows of each class, the share the model finds; every class counts the "
           "same.", True, good="1 is perfect."),
    Metric("f1_macro", "F1 score (average of classes)",
           "Precision and recall in one number (their harmonic mean), averaged over classes.",
           True, good="1 is perfect; low when the model misses or confuses some classes."),
    Metric("oob_score", "Out-of-bag score",
           "Each tree tested on the training rows it did not see: a second test for free "
           "(accuracy for classes, R² for numbers).", True,
           good="Close to the test score means the test score is not luck."),
    Metric("r2", "R² (variance explained)",
           "How much of the target's spread the model explains.", True,
           good="1 is perfect, 0 is no better than always answering the mean, below 0 worse."),
    Metric("mae", "Mean absolute error",
           "The typical size of an error, in the target's units.", False, kind="error",
           good="Lower is better; compare it with the target's usual values."),
    Metric("rmse", "Root mean squared error",
           "Like the mean absolute error, but large errors weigh more; in the target's units.",
           False, kind="error", good="Lower is better; far above the MAE means a few big misses."),
    Metric("silhouette", "Silhouette score",
           "How much closer rows are to their own cluster than to the nearest other one.", True,
           good="Above 0.5 is clear structure, near 0 overlapping clusters, below 0 misplaced "
                "rows."),
    Metric("mean_sq_distance", "Mean squared distance to the centre",
           "How far rows lie from their cluster's centre, in standardised units, per row: "
           "test and training rows can be compared.", False, kind="error",
           good="Lower means tighter clusters; it always falls as k grows, so compare at one k."),
    Metric("inertia", "Inertia (sum of squared distances)",
           "Squared distances of rows to their centre, summed (runs before per-row figures).",
           False, kind="error", good="Lower is tighter; sums over different row counts differ."),
)  # fmt: skip
METRICS: dict[str, Metric] = {metric.key: metric for metric in _ORDER}


def describe(key: str) -> Metric:
    """The metric ``key``; an unknown key gets its own name, read as higher-is-better."""
    return METRICS.get(key) or Metric(key, key.replace("_", " ").capitalize(), "", True)


def better(key: str, a: float | None, b: float | None) -> str | None:
    """ "a" or "b", whichever value of metric ``key`` is better (None for a tie or a gap)."""
    if not isinstance(a, int | float) or not isinstance(b, int | float) or a == b:
        return None
    return "a" if (a > b) == describe(key).higher_is_better else "b"


def ordered(keys) -> list[str]:
    """``keys`` in the registry's order (unknown ones last, as given)."""
    known = [m.key for m in _ORDER if m.key in keys]
    return known + [k for k in keys if k not in METRICS]
