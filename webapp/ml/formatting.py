"""How numbers look on the training pages: one rule per kind of number, so a column never
mixes "1" with "0.971", or "5076.0163" with "3900.0"."""

from __future__ import annotations

import math

from webapp.services import metric_info
from webapp.services.explain import normalize_tree


def significant(value: float, digits: int = 4, *, separators: bool = True) -> str:
    """``value`` with ``digits`` significant digits, never in exponent form."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    decimals = max(0, min(6, digits - 1 - math.floor(math.log10(abs(value)))))
    return f"{value:{',' if separators else ''}.{decimals}f}"


def metric(value, key: str) -> str:
    """A metric's value: scores with 3 decimals, errors with 4 significant digits."""
    if value is None:
        return "–"
    if not isinstance(value, int | float):
        return str(value)
    if metric_info.describe(key).kind == "score":
        return f"{value:.3f}"
    return significant(value)


def column(values: list) -> list[str]:
    """Numbers of one table column with the same number of decimals (enough for 4
    significant digits of the largest), text as it is; no thousands separators (years, ids)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    largest = max((abs(v) for v in numbers if math.isfinite(v)), default=0)
    decimals = 0 if largest == 0 else max(0, min(4, 3 - math.floor(math.log10(largest))))
    if numbers and all(float(v).is_integer() for v in numbers):
        decimals = 0
    out = []
    for value in values:
        if value is None:
            out.append("–")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append(f"{value:.{decimals}f}")
        else:
            out.append(str(value))
    return out


def table_columns(rows: list[list]) -> list[list[str]]:
    """Rows formatted column by column with :func:`column`."""
    if not rows:
        return []
    columns = [column(list(values)) for values in zip(*rows, strict=True)]
    return [list(row) for row in zip(*columns, strict=True)]


def duration(seconds: float) -> str:
    """``12 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def register(bp) -> None:
    bp.add_app_template_filter(table_columns, "table_columns")
    bp.add_app_template_filter(duration, "duration")
    bp.add_app_template_filter(normalize_tree, "explained_tree")
    bp.add_app_template_filter(metric, "metric")
    bp.add_app_template_filter(significant, "significant")
    bp.add_app_template_global(metric_info.describe, "describe_metric")
    bp.add_app_template_global(metric_info.ordered, "ordered_metrics")
