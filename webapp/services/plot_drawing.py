"""Drawing the plots of :mod:`webapp.services.plots` with matplotlib (Agg).

Imported only when a plot is drawn (:mod:`webapp.lazy`), so the matplotlib settings below
are made then, once per process. Figures are built with the object-oriented API (no pyplot
state), which is safe across request threads. :data:`FIGURES` has one drawing per name in
``plots.PLOTS``; each takes the run's results, the run and a :class:`~plots.Style`.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from webapp.models import Run
from webapp.services.explain import normalize_tree
from webapp.services.plots import PALETTE, Style, Theme

# Column names, class labels and targets are the user's text: never read "$...$" in them as
# TeX (a name like "$\foo$" made a drawing fail with a 500, a nested "$\sqrt{...}$" recursed
# without end, long "$x$ " labels took 3.4 s of CPU). Every Text reads this when created.
matplotlib.rcParams["text.parse_math"] = False
# SVG text as <text>, so the browser draws it crisply in the page's own font.
matplotlib.rcParams["svg.fonttype"] = "none"

FONT_PT = 11
PNG_DPI = 200
SITE_FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"


def draw(name: str, run: Run, style: Style, fmt: str) -> bytes:
    """Plot ``name`` of ``run`` drawn in ``style`` as ``fmt`` bytes (svg or png)."""
    with matplotlib.rc_context(_rc(style.theme)):
        return _save(FIGURES[name](run.results, run, style), fmt)


# -- shared drawing helpers ------------------------------------------------------------------


def _rc(theme: Theme) -> dict:
    return {
        "font.size": FONT_PT,
        "axes.titlesize": FONT_PT + 1,
        "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT,
        "ytick.labelsize": FONT_PT,
        "legend.fontsize": FONT_PT,
        "text.color": theme.text,
        "axes.labelcolor": theme.text,
        "axes.edgecolor": theme.muted,
        "xtick.color": theme.muted,
        "ytick.color": theme.muted,
        "xtick.labelcolor": theme.text,
        "ytick.labelcolor": theme.text,
        "grid.color": theme.grid,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "savefig.transparent": True,
    }


def _short(text, limit: int = 40) -> str:
    """A user's name as a label: cut with an ellipsis (the page's tables show it whole)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _figure(style: Style, height: float) -> tuple[Figure, object]:
    # Narrow figures are taller for their width: phones scroll down, not sideways.
    scale = 0.85 if style.narrow else 1.0
    fig = Figure(figsize=(style.width, height * scale), layout="constrained")
    return fig, fig.add_subplot()


def _save(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        fig.savefig(buffer, format="png", dpi=PNG_DPI)
        return buffer.getvalue()
    fig.savefig(buffer, format="svg", dpi=PNG_DPI, metadata={"Date": None})
    svg = buffer.getvalue().decode()
    # The page's fonts; matplotlib laid the text out with DejaVu Sans, which is wider, so it fits.
    svg = re.sub(r"font-family: ?'?DejaVu Sans'?", f"font-family: {SITE_FONTS}", svg)
    return svg.encode()


def _legend(ax, style: Style) -> None:
    if style.narrow:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2)
    else:
        ax.legend(loc="best")


# -- the plots -------------------------------------------------------------------------------


def _clusters(results, run, style: Style) -> Figure:
    data = results["scatter"]
    fig, ax = _figure(style, 4.6)
    labels = np.asarray(data["labels"])
    markers = "os^Dv<>p"
    for cluster in sorted(set(labels.tolist())):
        mask = labels == cluster
        ax.scatter(np.asarray(data["x"])[mask], np.asarray(data["y"])[mask], s=16, alpha=0.75,
                   color=PALETTE[cluster % len(PALETTE)], marker=markers[cluster % len(markers)],
                   label=f"Cluster {cluster}", rasterized=True, linewidths=0)  # fmt: skip
    centres = np.asarray(data["centroids"], dtype=float)
    if centres.size:
        ax.scatter(centres[:, 0], centres[:, 1], marker="X", s=200, c=style.theme.text,
                   edgecolors=style.theme.grid, linewidths=1.5, label="Centres")  # fmt: skip
    ax.set_xlabel(_short(data["xlabel"], 60))
    ax.set_ylabel(_short(data["ylabel"], 60))
    ax.set_title(f"KMeans clusters (k={results['k']})")
    _legend(ax, style)
    ax.grid(alpha=0.6)
    return fig


def _curve(results, run, style, values, ylabel: str, title: str, top=None) -> Figure:
    curves = results["curves"]
    ks = curves["ks"]
    values = [np.nan if v is None else v for v in values]
    fig, ax = _figure(style, 4)
    ax.plot(ks, values, marker="o", color=style.theme.accent, clip_on=False)
    chosen, suggested = curves.get("chosen_k"), curves.get("suggested_k")
    if chosen in ks:
        ax.axvline(
            chosen, color=style.theme.reference, linestyle="--", label=f"Chosen k = {chosen}"
        )
    if suggested in ks and suggested != chosen:
        ax.axvline(suggested, color=PALETTE[2], linestyle=":", label=f"Suggested k = {suggested}")
    ax.set_xlabel("Number of clusters k")
    ax.set_ylabel(ylabel)
    ax.set_xticks(ks)
    if top is not None:
        ax.set_ylim(top=top)
    ax.set_title(title)
    _legend(ax, style)
    ax.grid(alpha=0.6)
    return fig


def _elbow(results, run, style) -> Figure:
    curves = results["curves"]
    if "mean_sq_distances" in curves:
        return _curve(results, run, style, curves["mean_sq_distances"],
                      "Mean squared distance per row", "Elbow curve")  # fmt: skip
    return _curve(results, run, style, curves["inertias"], "Inertia (sum over rows)",
                  "Elbow curve")  # fmt: skip


def _silhouette(results, run, style) -> Figure:
    return _curve(results, run, style, results["curves"]["silhouettes"], "Silhouette score",
                  "Silhouette by k", top=1.0)  # fmt: skip


def _sizes(results, run, style) -> Figure:
    sizes = results["sizes"]
    fig, ax = _figure(style, 3.6)
    names = [f"{i}" for i in range(len(sizes))]
    bars = ax.bar(names, sizes, color=[PALETTE[i % len(PALETTE)] for i in range(len(sizes))])
    ax.bar_label(bars, padding=3, color=style.theme.text)
    # Room above the tallest bar for its label, inside the frame.
    ax.set_ylim(0, max(sizes, default=1) * 1.18 or 1)
    ax.set_xlabel("Cluster")
    ax.set_ylabel("Rows")
    ax.set_title("Cluster sizes")
    return fig


def _confusion(results, run, style) -> Figure:
    data = results["confusion_matrix"]
    labels, matrix = data["labels"], np.asarray(data["matrix"])
    n = len(labels)
    fig, ax = _figure(style, max(4.4, min(style.width, 2.0 + 0.6 * n)))
    ramp = LinearSegmentedColormap.from_list("ramp", style.theme.ramp)
    ax.imshow(matrix, cmap=ramp, rasterized=True)
    short = [_short(v, 14 if style.narrow else 22) for v in labels]
    ax.set_xticks(range(n), short, rotation=45 if n > 3 or style.narrow else 0,
                  ha="right" if n > 3 or style.narrow else "center")  # fmt: skip
    ax.set_yticks(range(n), short)
    limit = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        dark_cell = value > limit
        ax.text(j, i, str(value), ha="center", va="center",
                color=style.theme.ramp[0] if dark_cell else style.theme.text)  # fmt: skip
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("Actual class")
    ax.set_title("Rows of the test split")
    ax.spines[:].set_visible(False)
    return fig


def _importances(results, run, style) -> Figure:
    data = results["feature_importances"]
    names, values = data["names"][::-1], data["values"][::-1]
    fig, ax = _figure(style, max(2.6, 0.36 * len(names) + 1.3))
    ax.barh(range(len(names)), values, color=style.theme.accent)
    ax.set_yticks(range(len(names)), [_short(n, 18 if style.narrow else 32) for n in names])
    ax.set_xlabel("Share of the model's decisions")
    ax.set_title("Importance by column")
    ax.grid(axis="x", alpha=0.6)
    return fig


def _trees_curve(results, run, style) -> Figure:
    data = results["trees_curve"]
    fig, ax = _figure(style, 4)
    scores = [np.nan if v is None else v for v in data["scores"]]
    ax.plot(data["n_trees"], scores, marker=".", color=style.theme.accent, clip_on=False)
    label = "Test accuracy" if data["metric"] == "accuracy" else "Test R²"
    ax.set_ylim(top=1.0)  # both are at most 1
    ax.set_xlabel("Number of trees")
    ax.set_ylabel(label)
    ax.set_title(f"{label} by number of trees")
    ax.grid(alpha=0.6)
    return fig


def _pva(results, run, style) -> Figure:
    data = results["predicted_vs_actual"]
    actual, predicted = np.asarray(data["actual"]), np.asarray(data["predicted"])
    fig, ax = _figure(style, 4.6)
    ax.scatter(actual, predicted, s=16, alpha=0.7, color=style.theme.accent, linewidths=0,
               rasterized=True)  # fmt: skip
    low = float(min(actual.min(), predicted.min())) if actual.size else 0
    high = float(max(actual.max(), predicted.max())) if actual.size else 1
    ax.plot([low, high], [low, high], color=style.theme.reference, linestyle="--",
            label="Perfect prediction")  # fmt: skip
    target = _short(data["target"], 24)
    ax.set_xlabel(f"Actual {target}")
    ax.set_ylabel(f"Predicted {target}")
    ax.set_title("Test rows")
    _legend(ax, style)
    ax.grid(alpha=0.6)
    return fig


def _residuals(results, run, style) -> Figure:
    data = results["predicted_vs_actual"]
    actual, predicted = np.asarray(data["actual"]), np.asarray(data["predicted"])
    fig, ax = _figure(style, 4)
    ax.scatter(predicted, actual - predicted, s=16, alpha=0.7, color=style.theme.accent,
               linewidths=0, rasterized=True)  # fmt: skip
    ax.axhline(0, color=style.theme.reference, linestyle="--")
    ax.set_xlabel(f"Predicted {_short(data['target'], 24)}")
    ax.set_ylabel("Error (actual − predicted)")
    ax.set_title("Errors on the test rows")
    ax.grid(alpha=0.6)
    return fig


def _tree(results, run, style) -> Figure:
    """The top two levels of the tree (the page shows the whole tree as folding HTML): one
    box per node with the condition that leads to it, the answer and the row count."""
    root = normalize_tree(results["tree"])
    levels = 2
    positions, edges, leaves = {}, [], [0]

    def place(node, depth, key):
        children = (node.get("children") or []) if depth < levels else []
        if not children:
            x = leaves[0]
            leaves[0] += 1
        else:
            xs = [place(child, depth + 1, f"{key}.{i}") for i, child in enumerate(children)]
            edges.extend((key, f"{key}.{i}") for i in range(len(children)))
            x = sum(xs) / len(xs)
        positions[key] = (x, depth, node, bool(node.get("children")) and not children)
        return x

    place(root, 0, "0")
    width = max(leaves[0], 1)
    depth = max(d for _, d, _, _ in positions.values()) + 1
    fig = Figure(figsize=(style.width, max(2.6, 2.0 * depth)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(depth - 0.45, -0.55)
    # Characters that fit a box's share of the width, with a margin between boxes.
    chars = max(8, int(style.width * 72 / width / (FONT_PT * 0.75)))
    for parent, child in edges:
        (x0, y0, *_), (x1, y1, *_) = positions[parent], positions[child]
        ax.plot([x0, x1], [y0 + 0.3, y1 - 0.38], color=style.theme.muted, linewidth=1)
    for x, y, node, folded in positions.values():
        answer = node.get("class", None)
        answer = _short(answer, chars) if answer is not None else f"{node['prediction']:.4g}"
        lines = textwrap.wrap(node.get("condition") or "All rows", chars)[:3]
        lines += [f"→ {answer}", f"{node['samples']:,} rows" + (" …" if folded else "")]
        leaf = not node.get("children")
        ax.text(x, y, "\n".join(lines), ha="center", va="center", color=style.theme.text,
                bbox={"boxstyle": "round,pad=0.4", "ec": style.theme.muted,
                      "fc": style.theme.leaf if leaf else style.theme.node})  # fmt: skip
    ax.set_title("Decision tree: the first two levels")
    return fig


# One drawing per plot name in plots.PLOTS.
FIGURES: dict[str, Callable[[dict, Run, Style], Figure]] = {
    "clusters": _clusters,
    "elbow": _elbow,
    "silhouette": _silhouette,
    "cluster_sizes": _sizes,
    "tree": _tree,
    "confusion_matrix": _confusion,
    "predicted_vs_actual": _pva,
    "residuals": _residuals,
    "feature_importances": _importances,
    "trees_curve": _trees_curve,
}
