"""Reading the run form. The form is built from the data set's columns, so it is plain
HTML read here rather than a fixed WTForms class; the services validate every value and
their messages come back as field errors."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from webapp.services.runs import DEFAULT_PARAMS, RunSettings

PERCENT_FIELDS = {"test_size"}


def _int_or_none(value: str | None):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value  # the service answers "must be a whole number"


def settings_from_form(form: MultiDict, *, dataset_id: int, algorithm: str) -> RunSettings:
    params = {}
    for name in DEFAULT_PARAMS.get(algorithm, {}):
        if name == "suggest_k":
            params[name] = form.get("suggest_k") == "on"
        elif name in ("criterion", "max_features"):
            params[name] = form.get(name) or None
        elif name == "max_depth":
            params[name] = _int_or_none(form.get(name))  # empty: no limit
        else:
            params[name] = _int_or_none(form.get(name))
    if algorithm == "kmeans" and params.get("suggest_k"):
        params["k"] = params.get("k") or DEFAULT_PARAMS["kmeans"]["k"]
    try:
        test_size = float(form.get("test_percent") or 20) / 100
    except ValueError:
        test_size = -1.0
    try:
        seed = int(form.get("random_state") or 42)
    except ValueError:
        seed = -1
    task = form.get("task") or None
    return RunSettings(
        dataset_id=dataset_id,
        algorithm=algorithm,
        target=form.get("target") or None,
        features=form.getlist("features") or [],
        params=params,
        test_size=test_size,
        random_state=seed,
        task=task if task in ("classification", "regression") else None,
        model_name=form.get("model_name") or None,
    )
