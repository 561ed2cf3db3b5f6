"""Lists of values are written once (webapp.models.ml) and everything else is built from them."""

from __future__ import annotations

import typing

from webapp.api import ml_schemas
from webapp.ml import STATUS_BADGES
from webapp.models import ml


def test_api_types_are_the_models_constants():
    assert typing.get_args(ml_schemas.Algorithm) == ml.ALGORITHMS
    assert typing.get_args(ml_schemas.RunStatus) == ml.RUN_STATUSES
    assert typing.get_args(ml_schemas.TaskKind) == ml.TASK_KINDS
    assert set(ml.FINISHED_STATUSES) < set(ml.RUN_STATUSES)


def test_every_status_has_a_badge():
    assert set(STATUS_BADGES) == set(ml.RUN_STATUSES)


def test_settings_of_the_wrong_type_are_422_not_500():
    import pytest

    from webapp.errors import ValidationFailed
    from webapp.services.run_settings import parse_settings

    for bad in ({"model_name": True}, {"target": 3}, {"params": [1]}, {"test_size": True},
                {"random_state": 1.5}, {"features": "age"}, {"task": ["x"]}):  # fmt: skip
        with pytest.raises(ValidationFailed):
            parse_settings({"dataset_id": 1, "algorithm": "decision_tree", "target": "t", **bad})
