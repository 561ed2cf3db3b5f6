"""All models, imported here so Alembic and the app see one complete metadata."""

from webapp.db import Base
from webapp.models.board import Board, Task, TaskLabel  # noqa: F401
from webapp.models.dataset import Dataset, DatasetFile  # noqa: F401
from webapp.models.idempotency import IdempotencyKey  # noqa: F401
from webapp.models.ml import ModelVersion, Run  # noqa: F401
from webapp.models.user import ApiToken, RefreshToken, User

__all__ = ["ApiToken", "Base", "RefreshToken", "User"]
