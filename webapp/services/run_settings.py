"""What a training run may be asked to do: :class:`RunSettings`, the one validator of it.

Every check that needs only the settings themselves lives here, once: the API's body model
(``ml_schemas.RunCreate``) is this class, the browser form builds it with
:func:`parse_settings`, and :func:`webapp.services.runs.create_run` takes it as is, adding
only the checks that need the data set (its columns, the target's values, k against the row
count). Adding a field or a parameter therefore touches this module alone.

Messages are whole sentences naming the field ("k must be a whole number.") with stable
field paths (``params.k``, ``test_size``), because they reach people as they are: as form
errors in the browser and as the 422 message of the API.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from webapp.db import MAX_ID
from webapp.errors import ValidationFailed, field_error
from webapp.models.ml import ALGORITHMS, SUPERVISED_TASKS

NAME_MAX = 120
MAX_K = 50
MAX_TREES = 500
MAX_DEPTH = 50
TEST_SIZE_RANGE = (0.05, 0.5)
CRITERIA = ("gini", "entropy")
MAX_FEATURES = ("sqrt", "log2", "all")
# A forest's default features per split, by task: scikit-learn's (and mlcore's) defaults. A
# regression forest with sqrt(features) per split is much weaker: on a 303-row school table
# its R² was 0.69 against 0.84 with all features.
FOREST_MAX_FEATURES = {"classification": "sqrt", "regression": "all"}


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", message)


def _whole(name: str, low: int, high: int | None = None, *, message: str | None = None):
    """A validator of a whole number in [low, high], from a number or digits in text."""

    def check(value):
        if value is None:
            return None  # allowed only where the type says ``| None``
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _error(message or f"{name} must be a whole number.")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise _error(message or f"{name} must be {bounds}.")
        return value

    return BeforeValidator(check)


def _one_of(name: str, choices: tuple[str, ...]):
    def check(value):
        if value is not None and value not in choices:
            raise _error(f"{name} must be one of {', '.join(choices)}.")
        return value

    return BeforeValidator(check)


class _Params(BaseModel):
    """Parameters of one algorithm: unknown names are an error, null means the default."""

    model_config = ConfigDict(extra="forbid")
    algorithm: ClassVar[str]
    # Parameters where an explicit null means something (``max_depth``: no limit).
    nullable: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data):
        if not isinstance(data, dict):
            raise _error("params must be an object of parameter names and values.")
        unknown = sorted(str(k) for k in data if k not in cls.model_fields)
        if unknown:
            raise PydanticCustomError(
                "unknown_parameter",
                f"Unknown parameter(s) for {cls.algorithm}: {', '.join(unknown)}.",
            )
        return {k: v for k, v in data.items() if v is not None or k in cls.nullable}


class KMeansParams(_Params):
    algorithm = "kmeans"
    # The upper bound (MAX_K, and the row count) is checked with the data set in
    # services.runs: which of the two a too-large k breaks first depends on the data.
    k: Annotated[
        int, _whole("k", 1, message=f"k must be a whole number between 1 and {MAX_K}.")
    ] = Field(default=3, ge=1, json_schema_extra={"maximum": MAX_K}, description="Clusters.")
    suggest_k: bool = Field(default=False, description="Pick k by the best silhouette.")


class DecisionTreeParams(_Params):
    algorithm = "decision_tree"
    nullable = ("max_depth",)
    criterion: Annotated[Literal[CRITERIA], _one_of("criterion", CRITERIA)] = "gini"
    max_depth: Annotated[int | None, _whole("max_depth", 1, MAX_DEPTH)] = Field(
        default=5, ge=1, le=MAX_DEPTH, description="null: no limit."
    )
    # At most the data set's row count: checked in services.runs.
    min_samples_leaf: Annotated[int, _whole("min_samples_leaf", 1)] = Field(default=1, ge=1)


class RandomForestParams(_Params):
    algorithm = "random_forest"
    nullable = ("max_depth",)
    n_estimators: Annotated[int, _whole("n_estimators", 1, MAX_TREES)] = Field(
        default=100, ge=1, le=MAX_TREES, description="Number of trees."
    )
    # None: by task (FOREST_MAX_FEATURES), filled in once the task is known.
    max_features: Annotated[Literal[MAX_FEATURES] | None, _one_of("max_features", MAX_FEATURES)] = (
        Field(default=None, description='null: "sqrt" for classification, "all" for regression.')
    )
    max_depth: Annotated[int | None, _whole("max_depth", 1, MAX_DEPTH)] = Field(
        default=None, ge=1, le=MAX_DEPTH, description="null: no limit."
    )
    min_samples_leaf: Annotated[int, _whole("min_samples_leaf", 1)] = Field(default=1, ge=1)


PARAMS: dict[str, type[_Params]] = {
    "kmeans": KMeansParams,
    "decision_tree": DecisionTreeParams,
    "random_forest": RandomForestParams,
}
if set(PARAMS) != set(ALGORITHMS):  # a new algorithm needs its parameters model here
    raise RuntimeError(f"No parameters model for {sorted(set(ALGORITHMS) - set(PARAMS))}")


def default_params(algorithm: str) -> dict:
    """The parameters a run of ``algorithm`` gets when none are given."""
    return PARAMS[algorithm]().model_dump()


class RunSettings(BaseModel):
    """What to train: the data set, algorithm, target, features, parameters and split."""

    model_config = ConfigDict(extra="ignore")

    dataset_id: int = Field(ge=1, le=MAX_ID)
    algorithm: Annotated[Literal[ALGORITHMS], _one_of("algorithm", ALGORITHMS)]
    target: str | None = Field(default=None, max_length=255, validate_default=True)
    features: list[str] | None = Field(
        default=None, max_length=1000, description="Columns to learn from (default: all usable)."
    )
    params: KMeansParams | DecisionTreeParams | RandomForestParams = Field(
        default_factory=dict, validate_default=True, description="By algorithm; see above."
    )
    test_size: float = Field(
        default=0.2,
        ge=TEST_SIZE_RANGE[0],
        le=TEST_SIZE_RANGE[1],
        description="Fraction of rows held out to measure the model.",
    )
    random_state: Annotated[
        int, _whole("random_state", 0, MAX_ID, message=f"The random seed must be a whole "
                    f"number between 0 and {MAX_ID}.")
    ] = Field(default=42, ge=0, le=MAX_ID)  # fmt: skip
    task: Literal[SUPERVISED_TASKS] | None = Field(
        default=None, description="Trees and forests: override the guess from the target's type."
    )
    model_name: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        description="Name the model version is registered under (default: data set + algorithm).",
    )

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value, info: ValidationInfo):
        target = value.strip() or None if isinstance(value, str) else value
        algorithm = info.data.get("algorithm")
        if algorithm is None:
            return target
        if algorithm != "kmeans" and target is None:
            raise _error("Choose the target column the model should predict.")
        if algorithm == "kmeans" and target is not None:
            raise _error("KMeans finds groups by itself: leave the target empty.")
        return target

    @field_validator("features")
    @classmethod
    def _features(cls, value, info: ValidationInfo):
        if not value:
            return None  # every usable column
        target = info.data.get("target")
        if target is not None and target in value:
            raise _error(f"The target {target!r} cannot also be a feature.")
        return list(dict.fromkeys(value))

    @field_validator("params", mode="wrap")
    @classmethod
    def _params(cls, value, handler, info: ValidationInfo):
        algorithm = info.data.get("algorithm")
        if algorithm is None:
            return None  # the algorithm's own error says what is wrong
        return PARAMS[algorithm].model_validate(value if value is not None else {})

    @field_validator("test_size", mode="before")
    @classmethod
    def _test_size(cls, value):
        low, high = (round(v * 100) for v in TEST_SIZE_RANGE)
        message = f"The test split must be between {low}% and {high}%."
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _error(message) from None
        if isinstance(value, bool) or not TEST_SIZE_RANGE[0] <= number <= TEST_SIZE_RANGE[1]:
            raise _error(message)
        return number

    @field_validator("task", mode="before")
    @classmethod
    def _task(cls, value):
        if value not in (None, *SUPERVISED_TASKS):
            raise _error("task must be 'classification' or 'regression'.")
        return value

    @field_validator("model_name", mode="before")
    @classmethod
    def _model_name(cls, value):
        name = value.strip() or None if isinstance(value, str) else value
        if isinstance(name, str) and len(name) > NAME_MAX:
            raise _error(f"The model name is longer than {NAME_MAX} characters.")
        return name


def parse_settings(data: dict) -> RunSettings:
    """``data`` as :class:`RunSettings`, or a 422 whose message is the first problem and
    whose details name every field (``params.k``)."""
    try:
        return RunSettings.model_validate(data)
    except ValidationError as exc:
        raise settings_error(exc) from None


def settings_error(exc: ValidationError) -> ValidationFailed:
    details = [
        field_error(".".join(str(p) for p in err["loc"]) or "body", err["msg"], err["type"])
        for err in exc.errors(include_url=False)
    ]
    return ValidationFailed(details[0]["message"], details=details)
