"""Training runs and the model versions they register.

A run's row is the one source of truth for its state: the web pages and the API read it,
the job (in this process or in an RQ worker) writes it. Plot data and result tables are
JSON on the row (deferred), so any web server can draw a run's plots. A model version
holds the trained model file (mlcore's pickle-free format) in the database, for the same
reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from webapp.db import Base, UTCDateTime, utcnow
from webapp.models.dataset import Dataset
from webapp.models.user import User

# The one list of each set of values: the API's types and the pages are built from these.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
RUN_STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
ALGORITHMS = ("kmeans", "decision_tree", "random_forest")
# What a run learns: the first two from a target column (trees may override the guess).
SUPERVISED_TASKS = ("classification", "regression")
TASK_KINDS = (*SUPERVISED_TASKS, "clustering")


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # A deleted data set leaves its runs (and their results) in place; they cannot be retried.
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    dataset_name: Mapped[str] = mapped_column(String(120))
    model_name: Mapped[str] = mapped_column(String(120))
    algorithm: Mapped[str] = mapped_column(String(32))
    # One of TASK_KINDS; for trees the user may override the guess.
    task: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(255))
    features: Mapped[list] = mapped_column(JSON)
    params: Mapped[dict] = mapped_column(JSON)
    test_size: Mapped[float] = mapped_column(Float)
    random_state: Mapped[int] = mapped_column(Integer)
    retry_of_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))

    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(120), default="Queued")
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # "inprocess:<host>:<pid>" or "rq:<host>:<pid>": who runs (or will run) the job.
    worker: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    train_metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the plots and result tables need (points, curves, matrices, the tree, rules).
    results: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[User] = relationship(
        backref=backref("runs", cascade="all, delete-orphan", passive_deletes=True)
    )
    dataset: Mapped[Dataset | None] = relationship()
    model_version: Mapped[ModelVersion | None] = relationship(
        back_populates="run", uselist=False, viewonly=True
    )

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def model_id(self) -> int | None:
        return self.model_version.id if self.model_version is not None else None

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.algorithm} {self.status}>"


class ModelVersion(Base):
    """One trained model: version ``version`` of the user's model called ``name``."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("owner_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    algorithm: Mapped[str] = mapped_column(String(32))
    task: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(255))
    features: Mapped[list] = mapped_column(JSON)
    params: Mapped[dict] = mapped_column(JSON)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    # The preprocessor's input schema (what a prediction row needs) and the class labels.
    input_schema: Mapped[list] = mapped_column(JSON)
    classes: Mapped[list | None] = mapped_column(JSON)
    file_size: Mapped[int] = mapped_column(Integer)
    file: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(
        backref=backref("model_versions", cascade="all, delete-orphan", passive_deletes=True)
    )
    run: Mapped[Run | None] = relationship(back_populates="model_version")

    def __repr__(self) -> str:
        return f"<ModelVersion {self.id} {self.name!r} v{self.version}>"
