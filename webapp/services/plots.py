"""Plots of a run's results, drawn server-side with matplotlib (Agg) from ``run.results``.

:data:`PLOTS` is the one list of plots: name, title, the ``run.results`` entry each is
drawn from and its drawing function. Training decides which entries a run stores, so a run
has a plot exactly when its data is there; pages and the API list :func:`available`.

The data a plot needs is stored with the run (in the database), so any web server can draw
it; the drawn bytes are cached (:mod:`webapp.cache`: per process, and in Redis when there is
one) by run id, plot name and the run's finish time, so a different run never gets a stale
picture. Figures are built with the
object-oriented API (no pyplot state), which is safe across request threads.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

from webapp.cache import Cache
from webapp.errors import NotFound
from webapp.models import Run
from webapp.models.ml import SUCCEEDED

# Column names, class labels and targets are the user's text: never read "$...$" in them as
# TeX (a name like "$\foo$" made a drawing fail with a 500, a nested "$\sqrt{...}$" recursed
# without end, long "$x$ " labels took 3.4 s of CPU). Every Text reads this when created.
matplotlib.rcParams["text.parse_math"] = False

# Drawn plots, in this process and in Redis for the others (drawing one takes 50-500 ms).
_drawn = Cache("plots", maxsize=128, shared=True)
DPI = 100


@dataclass(frozen=True)
class Plot:
    """One kind of plot: its URL name, its title, the ``run.results`` entry it is drawn
    from (a run has the plot exactly when training stored that entry) and how to draw it."""

    name: str
    title: str
    data: str
    draw: Callable[[dict, Run], bytes]


def available(run: Run) -> list[Plot]:
    """The plots this run has, in display order (none until it succeeded)."""
    if run.status != SUCCEEDED:
        return []
    results = run.results or {}
    return [plot for plot in PLOTS if results.get(plot.data)]


def get(run: Run, name: str) -> Plot:
    """The plot ``name`` of ``run`` (404 for a plot the run does not have)."""
    for plot in available(run):
        if plot.name == name:
            return plot
    raise NotFound(f"This run has no plot named {name!r}.")


def render(run: Run, name: str) -> bytes:
    """The PNG of plot ``name`` of ``run`` (404 for a plot the run does not have)."""
    plot = get(run, name)
    key = (run.id, name, run.finished_at.isoformat() if run.finished_at else "")
    return _drawn.get_or_make(key, lambda: plot.draw(run.results, run))


def clear_cache() -> None:
    _drawn.clear()


def _short(text, limit: int = 40) -> str:
    """A user's name as a label: cut with an ellipsis (the page's tables show it whole)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _figure(width=7.0, height=4.8) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _clusters(results, run) -> bytes:
    data = results["scatter"]
    fig, ax = _figure()
    labels = np.asarray(data["labels"])
    cmap = matplotlib.colormaps["tab10"]
    for cluster in sorted(set(labels.tolist())):
        mask = labels == cluster
        ax.scatter(np.asarray(data["x"])[mask], np.asarray(data["y"])[mask], s=14, alpha=0.7,
                   color=cmap(cluster % 10), label=f"Cluster {cluster}")  # fmt: skip
    centres = np.asarray(data["centroids"], dtype=float)
    if centres.size:
        ax.scatter(centres[:, 0], centres[:, 1], marker="X", s=220, c="black",
                   edgecolors="white", linewidths=1.5, label="Centroids")  # fmt: skip
    ax.set_xlabel(_short(data["xlabel"], 80))
    ax.set_ylabel(_short(data["ylabel"], 80))
    ax.set_title(f"KMeans clusters (k={results['k']})")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return _png(fig)


def _curve(results, run, key: str, ylabel: str, title: str) -> bytes:
    curves = results["curves"]
    ks = curves["ks"]
    values = [np.nan if v is None else v for v in curves[key]]
    fig, ax = _figure(7, 4)
    ax.plot(ks, values, marker="o")
    chosen, suggested = curves.get("chosen_k"), curves.get("suggested_k")
    if chosen in ks:
        ax.axvline(chosen, color="tab:red", linestyle="--", label=f"Chosen k = {chosen}")
    if suggested in ks and suggested != chosen:
        ax.axvline(suggested, color="tab:green", linestyle=":", label=f"Suggested k = {suggested}")
    ax.set_xlabel("Number of clusters k")
    ax.set_ylabel(ylabel)
    ax.set_xticks(ks)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return _png(fig)


def _elbow(results, run) -> bytes:
    return _curve(results, run, "inertias", "Inertia (within-cluster sum of squares)",
                  "Elbow curve")  # fmt: skip


def _silhouette(results, run) -> bytes:
    return _curve(results, run, "silhouettes", "Silhouette score", "Silhouette by k")


def _sizes(results, run) -> bytes:
    sizes = results["sizes"]
    fig, ax = _figure(7, 3.6)
    bars = ax.bar([f"Cluster {i}" for i in range(len(sizes))], sizes, color="tab:blue")
    ax.bar_label(bars)
    ax.set_xlabel("Cluster")
    ax.set_ylabel("Rows")
    ax.set_title("Cluster sizes")
    return _png(fig)


def _confusion(results, run) -> bytes:
    data = results["confusion_matrix"]
    labels, matrix = data["labels"], np.asarray(data["matrix"])
    size = max(4.0, min(10.0, 1.2 + 0.7 * len(labels)))
    fig, ax = _figure(size + 1, size)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, label="Rows")
    ax.set_xticks(range(len(labels)), [_short(v) for v in labels], rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), [_short(v) for v in labels])
    limit = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > limit else "black")  # fmt: skip
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("Actual class")
    ax.set_title("Confusion matrix (test split)")
    return _png(fig)


def _importances(results, run) -> bytes:
    data = results["feature_importances"]
    names, values = data["names"][::-1], data["values"][::-1]
    fig, ax = _figure(7, max(3.0, 0.35 * len(names) + 1.2))
    ax.barh(range(len(names)), values, color="tab:blue")
    ax.set_yticks(range(len(names)), [_short(n) for n in names])
    ax.set_xlabel("Importance (share of impurity decrease)")
    ax.set_ylabel("Feature")
    ax.set_title("Feature importances")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _trees_curve(results, run) -> bytes:
    data = results["trees_curve"]
    fig, ax = _figure(7, 4)
    scores = [np.nan if v is None else v for v in data["scores"]]
    ax.plot(data["n_trees"], scores, marker=".")
    label = "Test accuracy" if data["metric"] == "accuracy" else "Test R²"
    ax.set_xlabel("Number of trees")
    ax.set_ylabel(label)
    ax.set_title(f"{label} vs number of trees")
    ax.grid(alpha=0.3)
    return _png(fig)


def _pva(results, run) -> bytes:
    data = results["predicted_vs_actual"]
    actual, predicted = np.asarray(data["actual"]), np.asarray(data["predicted"])
    fig, ax = _figure(6, 5)
    ax.scatter(actual, predicted, s=14, alpha=0.7)
    low = float(min(actual.min(), predicted.min())) if actual.size else 0
    high = float(max(actual.max(), predicted.max())) if actual.size else 1
    ax.plot([low, high], [low, high], color="tab:red", linestyle="--", label="Perfect prediction")
    ax.set_xlabel(f"Actual {_short(data['target'])}")
    ax.set_ylabel(f"Predicted {_short(data['target'])}")
    ax.set_title("Predicted vs actual (test split)")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return _png(fig)


def _residuals(results, run) -> bytes:
    data = results["predicted_vs_actual"]
    actual, predicted = np.asarray(data["actual"]), np.asarray(data["predicted"])
    fig, ax = _figure(7, 4)
    ax.scatter(predicted, actual - predicted, s=14, alpha=0.7)
    ax.axhline(0, color="tab:red", linestyle="--")
    ax.set_xlabel(f"Predicted {_short(data['target'])}")
    ax.set_ylabel("Residual (actual − predicted)")
    ax.set_title("Residuals (test split)")
    ax.grid(alpha=0.3)
    return _png(fig)


def _tree(results, run) -> bytes:
    """The top levels of the tree: boxes with the rule, samples and class, laid out by
    in-order leaf position so that siblings never overlap."""
    root = results["tree"]
    positions, edges, leaves = {}, [], [0]

    def place(node, depth):
        children = node.get("children") or []
        if not children:
            x = leaves[0]
            leaves[0] += 1
        else:
            xs = [place(child, depth + 1) for child in children]
            for child in children:
                edges.append((node["node_id"], child["node_id"], child is children[0]))
            x = sum(xs) / len(xs)
        positions[node["node_id"]] = (x, depth, node)
        return x

    place(root, 0)
    width, depth = max(leaves[0], 1), max(d for _, d, _ in positions.values()) + 1
    fig = Figure(figsize=(max(7.0, 2.3 * width), max(3.0, 1.7 * depth)), dpi=DPI,
                 layout="constrained")  # fmt: skip
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(depth - 0.4, -0.6)
    for parent, child, first in edges:
        (x0, y0, _), (x1, y1, _) = positions[parent][:3], positions[child][:3]
        ax.annotate("", xy=(x1, y1 - 0.25), xytext=(x0, y0 + 0.25),
                    arrowprops={"arrowstyle": "->", "color": "0.4"})  # fmt: skip
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, "yes" if first else "no", fontsize=8,
                ha="center", va="center", color="0.3",
                bbox={"boxstyle": "round", "fc": "white", "ec": "none"})  # fmt: skip
    for x, y, node in positions.values():
        lines = []
        if node.get("rule"):
            lines.append(_short(node["rule"]))
        lines.append(f"samples = {node['samples']}")
        if "class" in node:
            lines.append(f"class = {_short(node['class'])}")
        else:
            lines.append(f"value = {node['prediction']:.4g}")
        if node.get("truncated"):
            lines.append("(deeper levels not shown)")
        leaf = not node.get("rule") and not node.get("truncated")
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round,pad=0.4", "fc": "#e8f5e9" if leaf else "#e3f2fd",
                      "ec": "0.5"})  # fmt: skip
    ax.set_title(f"Decision tree: top {depth - 1} levels (left branch = rule is true)")
    return _png(fig)


# The registry: every plot, in the order pages and the API list them.
PLOTS: tuple[Plot, ...] = (
    Plot("clusters", "Clusters", "scatter", _clusters),
    Plot("elbow", "Elbow curve", "curves", _elbow),
    Plot("silhouette", "Silhouette by k", "curves", _silhouette),
    Plot("cluster_sizes", "Cluster sizes", "sizes", _sizes),
    Plot("tree", "Decision tree (top levels)", "tree", _tree),
    Plot("confusion_matrix", "Confusion matrix", "confusion_matrix", _confusion),
    Plot("predicted_vs_actual", "Predicted vs actual", "predicted_vs_actual", _pva),
    Plot("residuals", "Residuals", "predicted_vs_actual", _residuals),
    Plot("feature_importances", "Feature importances", "feature_importances", _importances),
    Plot("trees_curve", "Score vs number of trees", "trees_curve", _trees_curve),
)
