"""Uploaded CSV data sets: the description row, and the original bytes in a row of their own.

The bytes live in the database (not on a local disk) so every web server and worker reads the
same file. They are in ``dataset_files``, one row per data set, so listing data sets never
loads them; the profile and preview are JSON on the data set row, deferred for the same reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from webapp.db import Base, UTCDateTime, utcnow
from webapp.models.user import User


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # sha256 of the bytes: with the parse options, the key of the per-process DataFrame cache.
    content_hash: Mapped[str] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(Integer)
    n_columns: Mapped[int] = mapped_column(Integer)
    # {encoding, delimiter, decimal, quotechar, skip_first, header_row, skip_last}: what parsing
    # used, and what detection chose (webapp.services.csv_parsing.ParseOptions). Rows stored
    # before quotechar, skip_first and skip_last existed lack them: they mean '"', 0 and 0.
    parse_options: Mapped[dict] = mapped_column(JSON)
    detected_options: Mapped[dict] = mapped_column(JSON)
    # {"columns": [...], "warnings": [...], "notes": [...]} and {"columns": [...], "rows": [...]}
    profile: Mapped[dict] = mapped_column(JSON, deferred=True)
    preview: Mapped[dict] = mapped_column(JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The backref gives User.datasets without touching the accounts model; the FK cascades.
    owner: Mapped[User] = relationship(
        backref=backref("datasets", cascade="all, delete-orphan", passive_deletes=True)
    )
    file: Mapped[DatasetFile] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Dataset {self.id} {self.name!r}>"


class DatasetFile(Base):
    """The original bytes of a data set, exactly as uploaded."""

    __tablename__ = "dataset_files"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)

    dataset: Mapped[Dataset] = relationship(back_populates="file")
