"""All models, imported here so Alembic and the app see one complete metadata."""

from webapp.db import Base
from webapp.models.user import RefreshToken, User

__all__ = ["Base", "RefreshToken", "User"]
