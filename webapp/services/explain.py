"""Say what a trained model learned in the user's terms, not the encoder's.

The preprocessor turns each input column into one or more numeric features (``island`` into
``island=Biscoe``, ``island=Dream``...; a number with gaps into ``x`` and ``x.missing``; a
date into ``d.year``, ``d.month``...). Trees split and importances count those features;
people think in columns. This module maps them back, using only public output: the
preprocessor's ``schema_`` and ``feature_names_out_``, and the tree as ``tree_to_dict``
gives it (so mlcore's internals may change freely).

- :func:`feature_parts`: for each output feature, its column and which part of it it is;
- :func:`branch_conditions`: a split written as a person would ("island is Biscoe",
  "bill_length_mm ≤ 45.2 or missing": missing values take the training median, so they
  follow it);
- :func:`explain_tree`: the tree with those conditions, pruned to a size a page can show;
- :func:`rules_text`: the whole tree as indented if-rules;
- :func:`group_importances`: importances summed per column, with the parts inside.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

DATE_PARTS = ("year", "month", "day", "weekday", "hour", "ordinal")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
OTHER, MISSING = "(other)", "(missing)"
# The tree a run page shows (levels fold open): enough for any tree worth reading.
MAX_TREE_NODES = 1023


def feature_parts(schema: list[dict], names_out: list[str]) -> list[dict]:
    """``[{"column", "kind", "part"}]`` for each output feature, in order. ``part`` is None
    (the value itself), "missing" (the was-missing indicator), a category (categorical) or
    a date part ("year", ...). Output names follow the column order of ``schema``."""
    parts, i = [], 0
    for entry in schema:
        name, kind = entry["name"], entry["kind"]
        taken = []
        while i < len(names_out):
            out = names_out[i]
            if kind == "categorical" and out.startswith(name + "="):
                part = out[len(name) + 1 :]
            elif kind == "datetime" and out.startswith(name + "."):
                part = out[len(name) + 1 :]
                if part not in (*DATE_PARTS, "missing"):
                    break
            elif out == name and not taken and kind in ("numeric", "boolean"):
                part = None
            elif out == name + ".missing" and kind != "categorical":
                part = "missing"
            else:
                break
            taken.append(part)
            parts.append({"column": name, "kind": kind, "part": part})
            i += 1
    if i != len(names_out):  # an encoding this module does not know: keep the raw names
        return [{"column": n, "kind": "numeric", "part": None} for n in names_out]
    return parts


def _number(value: float) -> str:
    """A threshold as people write it: no exponent, no thousands separator (years, ids)."""
    text = f"{value:.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    return text[:-2] if text.endswith(".0") else text


def branch_conditions(part: dict, threshold, schema_entry: dict | None, has_missing: bool):
    """The conditions of the two branches of a split (``value <= threshold`` goes left)."""
    column, kind, which = part["column"], part["kind"], part["part"]
    if threshold is None:  # only missing values go right
        return f"{column} is present", f"{column} is missing"
    if which == "missing":
        return f"{column} is present", f"{column} is missing"
    if kind == "categorical":
        if which == MISSING:
            return f"{column} is present", f"{column} is missing"
        if which == OTHER:
            return f"{column} is a listed value", f"{column} is another (rare) value"
        return f"{column} is not {which}", f"{column} is {which}"
    if kind == "boolean":
        labels = (schema_entry or {}).get("categories") or ["false", "true"]
        return f"{column} is {labels[0]}", f"{column} is {labels[1]}"
    if kind == "datetime":
        return _date_conditions(column, which, threshold)
    entry = schema_entry or {}
    if entry.get("integer"):
        low = math.floor(threshold)
        left, right = f"{column} ≤ {_number(low)}", f"{column} ≥ {_number(low + 1)}"
    else:
        left, right = f"{column} ≤ {_number(threshold)}", f"{column} > {_number(threshold)}"
    median = entry.get("median")
    if has_missing and median is not None:
        # Missing values are filled with the training median before the tree sees them.
        if median <= threshold:
            left += " or missing"
        else:
            right += " or missing"
    return left, right


def _date_conditions(column: str, which: str, threshold: float) -> tuple[str, str]:
    if which == "ordinal":
        day = date(1970, 1, 1) + timedelta(days=math.floor(threshold))
        return f"{column} on or before {day.isoformat()}", f"{column} after {day.isoformat()}"
    low = math.floor(threshold)
    if which == "weekday" and 0 <= low < 6:
        return (f"{column} falls {WEEKDAYS[0]}–{WEEKDAYS[low]}",
                f"{column} falls {WEEKDAYS[low + 1]}–{WEEKDAYS[6]}")  # fmt: skip
    return f"{which} of {column} ≤ {low}", f"{which} of {column} ≥ {low + 1}"


class _Explainer:
    def __init__(self, schema: list[dict], names_out: list[str]):
        self.parts = feature_parts(schema, names_out)
        self.schema = {entry["name"]: entry for entry in schema}
        self.with_missing = {p["column"] for p in self.parts if p["part"] == "missing"}

    def conditions(self, node: dict) -> tuple[str, str]:
        part = self.parts[node["feature_index"]]
        return branch_conditions(
            part,
            node.get("threshold"),
            self.schema.get(part["column"]),
            part["column"] in self.with_missing,
        )


def _outcome(node: dict) -> dict:
    out = {"samples": node["samples"]}
    if "class" in node:
        share = max(node["value"]) if node.get("value") else None
        out.update({"class": node["class"], "share": share})
    else:
        out["prediction"] = node["prediction"]
    return out


def explain_tree(tree: dict, schema: list[dict], names_out: list[str],
                 max_nodes: int = MAX_TREE_NODES) -> dict:  # fmt: skip
    """The tree (``tree_to_dict`` output) with each child's condition in words, level by
    level up to ``max_nodes`` nodes (deeper nodes are marked ``more``)."""
    explainer = _Explainer(schema, names_out)
    root = {"condition": None, **_outcome(tree)}
    queue, count = [(tree, root)], 1
    while queue:
        source, target = queue.pop(0)
        children = source.get("children") or []
        if not children:
            target["more"] = bool(source.get("truncated"))
            continue
        if count + len(children) > max_nodes:
            target["more"] = True
            continue
        texts = explainer.conditions(source)
        target["children"] = []
        for child, text in zip(children, texts, strict=True):
            entry = {"condition": text, **_outcome(child)}
            target["children"].append(entry)
            queue.append((child, entry))
            count += 1
    return root


def normalize_tree(tree: dict) -> dict:
    """A stored tree in :func:`explain_tree`'s shape; runs trained before it stored
    ``tree_to_dict`` output, whose rules (``island=Biscoe <= 0.5``) are kept as written."""
    if "node_id" not in tree:
        return tree
    out = {"condition": None, **_outcome(tree)}
    children = tree.get("children") or []
    if children:
        rule = tree.get("rule", "")
        out["children"] = [
            {**normalize_tree(child), "condition": text}
            for child, text in zip(children, (rule, f"not ({rule})"), strict=False)
        ]
    elif tree.get("truncated"):
        out["more"] = True
    return out


def rules_text(tree: dict, schema: list[dict], names_out: list[str],
               max_chars: int = 200_000) -> str:  # fmt: skip
    """The whole tree as nested if-rules in the user's terms, one line per branch."""
    explainer = _Explainer(schema, names_out)
    lines, size = [], 0
    stack = [(tree, 0, None)]
    while stack:
        node, depth, condition = stack.pop()
        indent = "    " * depth
        children = node.get("children") or []
        if condition is not None:
            line = f"{indent[4:]}if {condition}:"
            if not children:
                line += f" {_leaf(node)}"
            lines.append(line)
            size += len(line) + 1
        elif not children:
            lines.append(_leaf(node))
        if size > max_chars:
            lines.append("… (cut: the tree is very large)")
            break
        if children:
            texts = explainer.conditions(node)
            for child, text in reversed(list(zip(children, texts, strict=True))):
                stack.append((child, depth + 1, text))
    return "\n".join(lines) + "\n"


def _leaf(node: dict) -> str:
    rows = f"{node['samples']:,} training row{'s' if node['samples'] != 1 else ''}"
    if "class" in node:
        return f"→ {node['class']} ({rows})"
    return f"→ {node['prediction']:.4g} ({rows})"


def group_importances(names_out: list[str], values: list[float], schema: list[dict]) -> list:
    """``[{"column", "value", "parts": [{"part", "value"}]}]``, most important first; a
    column's importance is the sum of its features'."""
    parts = feature_parts(schema, names_out)
    groups: dict[str, dict] = {}
    for part, value in zip(parts, values, strict=True):
        group = groups.setdefault(part["column"], {"column": part["column"], "value": 0.0,
                                                   "parts": []})  # fmt: skip
        group["value"] += float(value)
        group["parts"].append({"part": _part_label(part), "value": float(value)})
    for group in groups.values():
        group["parts"].sort(key=lambda p: -p["value"])
    return sorted(groups.values(), key=lambda g: -g["value"])


def _part_label(part: dict) -> str:
    which = part["part"]
    if which is None:
        return "its value"
    if which in ("missing", MISSING):
        return "is missing"
    if part["kind"] == "categorical":
        return "another (rare) value" if which == OTHER else f"is {which}"
    return which  # a date part
