"""Reading the run form into :class:`~webapp.services.run_settings.RunSettings`, the model the
API validates its bodies with, so the browser and the API accept and refuse the same things
with the same messages. The form is built from the data set's columns, so it is plain HTML
read here rather than a fixed WTForms class."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from webapp.errors import ValidationFailed, field_error
from webapp.services.run_settings import PARAMS, RunSettings, parse_settings


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _params(form: MultiDict, algorithm: str) -> dict:
    model = PARAMS.get(algorithm)
    params = {}
    for name in model.model_fields if model else ():
        if name == "suggest_k":
            params[name] = form.get(name) == "on"
        else:
            # Empty means the default; for max_depth (nullable) it means "no limit".
            params[name] = _text(form.get(name))
    return params


def _percent(value: str | None):
    text = _text(value)
    if text is None:
        return None
    try:
        return float(text) / 100
    except ValueError:
        return text  # the validator answers with the allowed range


def settings_from_form(form: MultiDict, *, dataset_id: int, algorithm: str) -> RunSettings:
    """The run the form asks for, or a 422 naming every field that is wrong.

    The feature boxes start ticked; the target chosen above them is left out, not an error.
    Unticking every box is an error here (for the API, no list means "every usable column").
    """
    target = _text(form.get("target"))
    features = [f for f in form.getlist("features") if f != target]
    data = {
        "dataset_id": dataset_id,
        "algorithm": algorithm,
        "target": target,
        "features": features,
        "params": _params(form, algorithm),
        "test_size": _percent(form.get("test_percent")),
        "random_state": _text(form.get("random_state")),
        "task": _text(form.get("task")),
        "model_name": _text(form.get("model_name")),
    }
    data = {key: value for key, value in data.items() if value is not None}
    problems = []
    if not features:
        problems.append(field_error("features", "Choose at least one feature."))
    try:
        settings = parse_settings(data)
    except ValidationFailed as exc:
        problems.extend(exc.details)
    if problems:
        raise ValidationFailed(problems[0]["message"], details=problems)
    return settings
