"""Plots of a run's results, drawn server-side from ``run.results``: which plots, which
variants, and the cache. The drawing itself, with matplotlib, is in
:mod:`webapp.services.plot_drawing`, imported when the first plot is drawn (matplotlib is 90
modules a web worker does not need for its other pages; see :mod:`webapp.lazy`).

:data:`PLOTS` is the one list of plots: name, title and the ``run.results`` entry each is
drawn from (``plot_drawing.FIGURES`` has a drawing for each name). Training decides which
entries a run stores, so a run has a plot exactly when its data is there; pages and the API
list :func:`available`.

Readable at any width: pages get SVG (text stays text, in the site's font), in a light and
a dark :data:`THEMES` matching the site's colours, and in two sizes: ``wide`` (drawn
6 in wide, shown at 0.85–1.3× on a desktop) and ``narrow`` (3.6 in, for phones), so that
text is at least 12 CSS px as displayed (11 pt = 14.7 px drawn). The API gets a PNG at 2×
(200 dpi). Colours are the Okabe–Ito palette, which colour-blind readers can tell apart.

The data a plot needs is stored with the run (in the database), so any web server can draw
it; the drawn bytes are cached (:mod:`webapp.cache`: per process, and in Redis when there is
one) by run id, plot name, variant and the run's finish time, so a different run never gets
a stale picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.cache import Cache
from webapp.errors import NotFound
from webapp.lazy import lazy_import
from webapp.models import Run
from webapp.models.ml import SUCCEEDED

drawing = lazy_import("webapp.services.plot_drawing")  # matplotlib (see webapp.lazy)

# Drawn plots, in this process and in Redis for the others (drawing one takes 50-500 ms).
_drawn = Cache("plots", maxsize=256, shared=True)

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
SIZES = {"wide": 6.0, "narrow": 3.6}  # figure width in inches (72 pt = 96 CSS px each)
# Okabe & Ito's colour-blind-safe palette (black swapped for grey on dark backgrounds).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]


@dataclass(frozen=True)
class Theme:
    text: str
    muted: str
    grid: str
    accent: str  # the site's primary colour: single-series bars and lines
    reference: str  # reference lines (perfect prediction, chosen k)
    leaf: str
    node: str
    ramp: tuple[str, str]  # sequential colour map from "none" to "most"


THEMES = {
    "light": Theme("#1d2330", "#5c6577", "#dfe3e9", "#0072B2", "#D55E00", "#e6f4ec", "#e8ecfc",
                   ("#f5f6f8", "#0b4f8a")),
    "dark": Theme("#e5e8ee", "#9aa3b3", "#2d323c", "#56B4E9", "#E69F00", "#1b3325", "#232b4a",
                  ("#1a1d24", "#79b0ec")),
}  # fmt: skip


@dataclass(frozen=True)
class Style:
    theme: Theme
    width: float  # inches

    @property
    def narrow(self) -> bool:
        return self.width < 5


@dataclass(frozen=True)
class Plot:
    """One kind of plot: its URL name, its title and the ``run.results`` entry it is drawn
    from (a run has the plot exactly when training stored that entry)."""

    name: str
    title: str
    data: str


# The registry: every plot, in the order pages and the API list them.
PLOTS: tuple[Plot, ...] = (
    Plot("clusters", "Clusters", "scatter"),
    Plot("elbow", "Elbow curve", "curves"),
    Plot("silhouette", "Silhouette by k", "curves"),
    Plot("cluster_sizes", "Cluster sizes", "sizes"),
    Plot("tree", "Decision tree (top levels)", "tree"),
    Plot("confusion_matrix", "Confusion matrix", "confusion_matrix"),
    Plot("predicted_vs_actual", "Predicted vs actual", "predicted_vs_actual"),
    Plot("residuals", "Errors", "predicted_vs_actual"),
    Plot("feature_importances", "Importance by column", "feature_importances"),
    Plot("trees_curve", "Score by number of trees", "trees_curve"),
)


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


def render(run: Run, name: str, fmt: str = "png", theme: str = "light",
           size: str = "wide") -> bytes:  # fmt: skip
    """Plot ``name`` of ``run`` as ``fmt`` (404 for a plot the run does not have or an
    unknown variant)."""
    plot = get(run, name)
    if fmt not in FORMATS or theme not in THEMES or size not in SIZES:
        raise NotFound("There is no such variant of this plot.")
    key = (run.id, name, fmt, theme, size, run.finished_at.isoformat() if run.finished_at else "")
    style = Style(THEMES[theme], SIZES[size])
    return _drawn.get_or_make(key, lambda: drawing.draw(plot.name, run, style, fmt))


def clear_cache() -> None:
    _drawn.clear()
