"""Model evaluation metrics with scikit-learn's names, signatures and results.

Classification metrics accept any discrete labels (numbers or strings, lists, arrays or
pandas Series). Where scikit-learn would warn about an undefined ratio (``zero_division``
left at ``"warn"``) these functions return the same value silently. Clustering metrics
(:func:`silhouette_score`, :func:`silhouette_samples`, :func:`sampled_silhouette_score`,
:func:`inertia`) live in ``mlcore._cluster_metrics`` and regression metrics
(:func:`r2_score`, :func:`mean_absolute_error`, :func:`mean_squared_error`,
:func:`root_mean_squared_error`) in ``mlcore._regression_metrics``; both are re-exported
here.
"""

from __future__ import annotations

import numpy as np

from mlcore._classification_metrics import (
    _encode,
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from mlcore._cluster_metrics import (
    inertia,
    sampled_silhouette_score,
    silhouette_samples,
    silhouette_score,
)
from mlcore._regression_metrics import (
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)

__all__ = [
    "accuracy_score",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "inertia",
    "mean_absolute_error",
    "mean_squared_error",
    "precision_recall_fscore_support",
    "precision_score",
    "r2_score",
    "recall_score",
    "root_mean_squared_error",
    "sampled_silhouette_score",
    "silhouette_samples",
    "silhouette_score",
]


def precision_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Precision ``tp / (tp + fp)``; see :func:`precision_recall_fscore_support`."""
    return precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
        zero_division=zero_division,
    )[0]


def recall_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Recall ``tp / (tp + fn)``; see :func:`precision_recall_fscore_support`."""
    return precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
        zero_division=zero_division,
    )[1]


def fbeta_score(
    y_true,
    y_pred,
    *,
    beta,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """F-beta score; see :func:`precision_recall_fscore_support`."""
    return precision_recall_fscore_support(
        y_true,
        y_pred,
        beta=beta,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
        zero_division=zero_division,
    )[2]


def f1_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """F1 score, the harmonic mean of precision and recall.

    Parameters are those of :func:`precision_recall_fscore_support`; note that, as in
    scikit-learn, ``average`` defaults to ``"binary"`` (use ``"macro"`` for several
    classes).
    """
    return fbeta_score(
        y_true,
        y_pred,
        beta=1.0,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
        zero_division=zero_division,
    )


def classification_report(
    y_true,
    y_pred,
    *,
    labels=None,
    target_names=None,
    digits=2,
    output_dict=False,
    zero_division="warn",
):
    """Per-class precision, recall, F1 and support, plus accuracy and averages.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, optional
    target_names : list of str, optional
        Display names of ``labels`` (same length).
    digits : int, default=2
        Decimals in the text report.
    output_dict : bool, default=False
        Return a dict ``{class: {"precision", "recall", "f1-score", "support"},
        "accuracy": float, "macro avg": {...}, "weighted avg": {...}}`` (as scikit-learn;
        "accuracy" becomes "micro avg" when ``labels`` leaves classes out).
    zero_division : {"warn", 0, 1, nan}, default="warn"

    Returns
    -------
    report : str or dict
    """
    classes, _, _, _ = _encode(y_true, y_pred)
    labels_given = labels is not None
    labels = classes if labels is None else np.asarray(labels)
    micro_is_accuracy = not labels_given or set(labels.tolist()) >= set(classes.tolist())
    if target_names is None:
        target_names = [f"{label}" for label in labels.tolist()]
    elif len(target_names) != len(labels):
        raise ValueError(
            f"Number of classes, {len(labels)}, does not match size of target_names, "
            f"{len(target_names)}. Try specifying the labels parameter"
        )
    prfs = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=zero_division
    )
    support = prfs[3]
    headers = ["precision", "recall", "f1-score", "support"]
    rows = list(zip(target_names, *prfs, strict=True))
    averages = []
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        scores = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=zero_division
        )
        averages.append((heading, [*scores[:3], support.sum()]))
    if output_dict:
        report = {
            name: dict(zip(headers, map(float, values), strict=True)) for name, *values in rows
        }
        for heading, values in averages:
            if heading == "accuracy":
                report[heading] = float(values[0])
            else:
                report[heading] = dict(zip(headers, map(float, values), strict=True))
        return report
    width = max(max(len(name) for name in target_names), len("weighted avg"), digits)
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", *headers, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for name, precision, recall, fscore, count in rows:
        text += row_fmt.format(name, precision, recall, fscore, count, width=width, digits=digits)
    text += "\n"
    for heading, (precision, recall, fscore, count) in averages:
        if heading == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += fmt.format(heading, "", "", fscore, count, width=width, digits=digits)
        else:
            text += row_fmt.format(
                heading, precision, recall, fscore, count, width=width, digits=digits
            )
    return text
