"""Pydantic schemas of training runs, models and predictions.

The body of a new run is the service's own input model
(:class:`~webapp.services.run_settings.RunSettings`), documented here for the API; the
service checks only what needs the data set. The other models describe what the API returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from webapp.api.schemas import ApiModel, Page, PageQuery
from webapp.db import MAX_ID
from webapp.models.ml import ALGORITHMS, RUN_STATUSES, SUPERVISED_TASKS, TASK_KINDS
from webapp.services.run_settings import NAME_MAX, RunSettings

# Built from the model's constants, so a new value is added in one place.
Algorithm = Literal[ALGORITHMS]
RunStatus = Literal[RUN_STATUSES]
TaskKind = Literal[TASK_KINDS]
SupervisedTask = Literal[SUPERVISED_TASKS]


class RunCreate(RunSettings):
    """Start a training run. Only `dataset_id` and `algorithm` are required (plus `target`
    for trees and forests); features default to every usable column.

    `params` by algorithm (defaults in brackets):
    - `kmeans`: `k` [3] (1–50), `suggest_k` [false]: pick k by the best silhouette.
    - `decision_tree`: `criterion` ["gini"] or "entropy", `max_depth` [5] (1–50, null: no
      limit), `min_samples_leaf` [1].
    - `random_forest`: `n_estimators` [100] (1–500), `max_features` (features tried per
      split: "sqrt", "log2" or "all"; [null]: "sqrt" for classification and "all" for
      regression, as in scikit-learn), `max_depth` [null], `min_samples_leaf` [1].
    """

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {"dataset_id": 1, "algorithm": "kmeans", "params": {"k": 3}},
                {
                    "dataset_id": 2,
                    "algorithm": "random_forest",
                    "target": "plan",
                    "params": {"n_estimators": 50},
                    "test_size": 0.2,
                    "random_state": 42,
                },
            ]
        },
    )


class PlotLink(BaseModel):
    name: str
    title: str
    url: str


class RunPublic(BaseModel):
    """A run. `metrics` are measured on the held-out test split, `train_metrics` on the
    training split; `model_id` is the model version a successful run registered."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int | None
    dataset_name: str
    model_name: str
    algorithm: Algorithm
    task: TaskKind
    target: str | None
    features: list[str]
    params: dict[str, Any]
    test_size: float
    random_state: int
    status: RunStatus
    progress: float = Field(ge=0, le=1)
    stage: str
    error: str | None
    metrics: dict[str, float | None]
    train_metrics: dict[str, float | None]
    model_id: int | None
    retry_of_id: int | None
    plots: list[PlotLink] = Field(default_factory=list)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunPage(Page[RunPublic]):
    """One page of runs, newest first."""


class RunQuery(PageQuery):
    status: RunStatus | None = None


class ModelPublic(BaseModel):
    """One trained model (a version of a named model), with what a prediction row needs."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: int
    run_id: int | None
    algorithm: Algorithm
    task: TaskKind
    target: str | None
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, float | None]
    input_schema: list[dict[str, Any]]
    classes: list[Any] | None
    file_size: int
    created_at: datetime


class ModelPage(Page[ModelPublic]):
    """One page of model versions, newest first."""


class ModelQuery(PageQuery):
    name: str | None = Field(default=None, max_length=NAME_MAX)


class PredictRequest(ApiModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"rows": [{"age": 35, "annual_income_k": 60, "spending_score": 50}]}]
        },
    )

    rows: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class PredictQuery(ApiModel):
    dialect: Literal["upload", "plain"] = Field(
        default="upload",
        description="For a CSV body: answer in the upload's own dialect (delimiter, decimal "
        "mark, quote character, encoding, line ending), or `plain` UTF-8 comma-separated CSV "
        "with decimal points.",
    )


class PredictResponse(BaseModel):
    """One entry per input row, in order: `predictions[i]` is null when `errors[i]` says
    why row i could not be answered. `probabilities[i][j]` is the probability of
    `classes[j]` (classifiers only). `warnings[i]` names what the model read differently
    in an answered row, e.g. a category it never saw (read as a rare one)."""

    predictions: list[Any]
    probabilities: list[list[float] | None] | None = None
    classes: list[Any] | None = None
    errors: list[dict[str, str] | None]
    warnings: list[dict[str, str] | None]


# -- comparing runs ------------------------------------------------------------------------


class CompareQuery(ApiModel):
    dataset_id: int = Field(ge=1, le=MAX_ID, description="The data set whose runs to compare.")


class ComparedRun(BaseModel):
    """One run in a comparison: its settings and its metrics on the test and training rows."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    model_name: str
    model_id: int | None
    algorithm: Algorithm
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, float | None]
    train_metrics: dict[str, float | None]
    finished_at: datetime | None


class RunGroup(BaseModel):
    """The runs that learned the same thing (one target and task, or clusters)."""

    model_config = ConfigDict(from_attributes=True)

    task: TaskKind
    target: str | None
    metric: str = Field(description="The metric that ranks these runs (higher is better).")
    best_id: int | None = Field(description="The run with the best `metric` on the test rows.")
    params: list[str] = Field(description="Every parameter name the runs have.")
    metrics: list[str] = Field(description="Every metric name the runs have.")
    runs: list[ComparedRun]


class RunComparison(BaseModel):
    """Every successful run on one data set, side by side, grouped by what they learned."""

    dataset_id: int
    groups: list[RunGroup]


class DiffQuery(ApiModel):
    a: int = Field(ge=1, le=MAX_ID, description="Run A.")
    b: int = Field(ge=1, le=MAX_ID, description="Run B.")


class SettingDiff(BaseModel):
    name: str
    a: Any
    b: Any
    changed: bool


class MetricDiff(BaseModel):
    name: str
    a: float | None
    b: float | None
    delta: float | None = Field(description="b − a")
    better: Literal["a", "b"] | None = Field(description="Which run is better by this metric.")


class RunDiff(BaseModel):
    """Two runs' settings (changed ones marked) and metrics (with which is better)."""

    a: int
    b: int
    params: list[SettingDiff]
    metrics: list[MetricDiff]
