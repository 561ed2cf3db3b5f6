"""Model versions (the trained models runs register): look up, list, group by name, compare,
delete, load for predictions. (The ORM classes are in :mod:`webapp.models`.)"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.cache import Cache
from webapp.errors import NotFound, ValidationFailed
from webapp.lazy import lazy_import
from webapp.models import ModelVersion, User
from webapp.services import metric_info

persistence = lazy_import("mlcore.persistence")  # mlcore loads with the first model (webapp.lazy)


def list_versions(
    *, session: Session, user: User, name: str | None = None, limit=None, offset: int = 0
) -> tuple[list[ModelVersion], int]:
    """The user's model versions, newest first (optionally of one model name)."""
    where = [ModelVersion.owner_id == user.id]
    if name is not None:
        where.append(ModelVersion.name == name)
    total = session.scalar(select(func.count(ModelVersion.id)).where(*where)) or 0
    query = select(ModelVersion).where(*where).order_by(ModelVersion.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), total


def grouped(versions: list[ModelVersion]) -> list[tuple[str, list[ModelVersion]]]:
    """Versions grouped by model name (most recently trained model first), versions in order."""
    groups: dict[str, list[ModelVersion]] = {}
    for version in versions:
        groups.setdefault(version.name, []).append(version)
    return [(name, sorted(vs, key=lambda v: v.version)) for name, vs in groups.items()]


def compare(a: ModelVersion, b: ModelVersion) -> dict:
    """Parameters side by side and metric deltas (``b - a``), with which one is better."""
    if a.id == b.id:
        raise ValidationFailed("Choose two different versions to compare.")
    return diff(a, b)


def diff(a, b) -> dict:
    """Settings and metrics of two trained things (model versions or runs) side by side:
    ``params`` with ``changed`` marked, ``metrics`` with ``delta`` (b − a) and ``better``."""
    params = [
        {"name": key, "a": left, "b": right, "changed": left != right}
        for key, left, right in (
            ("target", a.target, b.target),
            ("features", ", ".join(a.features), ", ".join(b.features)),
            ("algorithm", a.algorithm, b.algorithm),
        )
    ]
    for key in sorted(set(a.params) | set(b.params)):
        left, right = a.params.get(key), b.params.get(key)
        params.append({"name": key, "a": left, "b": right, "changed": left != right})
    metrics = []
    for key in metric_info.ordered(list(dict.fromkeys([*a.metrics, *b.metrics]))):
        left, right = a.metrics.get(key), b.metrics.get(key)
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        metrics.append({"name": key, "a": left, "b": right,
                        "delta": right - left if numbers else None,
                        "better": metric_info.better(key, left, right)})  # fmt: skip
    return {"params": params, "metrics": metrics}


def delete_version(*, session: Session, version: ModelVersion) -> None:
    version_id = version.id
    session.delete(version)
    session.commit()
    _loaded.drop(version_id)


def file_name(version: ModelVersion) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in version.name).strip("-")
    return f"{safe or 'model'}-v{version.version}.mlcore.npz"


# -- loaded models, cached per process -------------------------------------------------------

_loaded = Cache("models", maxsize=8)


def load(*, session: Session, version: ModelVersion) -> persistence.SavedModel:
    """The fitted model and preprocessor of ``version``. Files never change, but SQLite may
    reuse the id of a deleted newest row: the key includes the creation time too."""
    key = (version.id, version.created_at.isoformat())
    saved = _loaded.get(key)
    if saved is None:
        blob = session.scalar(select(ModelVersion.file).where(ModelVersion.id == version.id))
        if blob is None:
            raise NotFound("The file of this model is missing.")
        saved = persistence.loads(blob)
        _loaded.put(key, saved)
    return saved
