"""Per-user quotas on expensive work, counted in the database so every web server and
worker sees the same numbers (a rate limiter in Redis could not tell one user's runs from
another's before the request is authenticated).

- Runs: at most ``MAX_ACTIVE_RUNS`` queued or running per user (429). With the in-process
  pool choosing the next run fairly (``webapp.jobs.FairQueue``) this bounds how long one
  user's queue can make another's run wait.
- Data sets: at most ``UPLOADS_PER_HOUR`` new data sets per user per hour (429), and the
  files kept may add up to ``STORAGE_QUOTA_MB`` (413).

Each answer names the limit and the setting that changes it. The checks read the counts
and then insert, so two requests at the same instant may both pass: a quota can be
exceeded by the number of simultaneous requests, never more (they are soft limits on cost,
not on correctness). Services call these before doing the work; they read the limits from
the app's configuration, not from a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import PayloadTooLarge, TooManyRequests
from webapp.models import Dataset, Run, User

MB = 1024 * 1024


@dataclass(frozen=True)
class Quotas:
    max_active_runs: int = 5
    uploads_per_hour: int = 30
    storage_bytes: int = 500 * MB

    @classmethod
    def from_config(cls, config) -> Quotas:
        return cls(
            max_active_runs=int(config["MAX_ACTIVE_RUNS"]),
            uploads_per_hour=int(config["UPLOADS_PER_HOUR"]),
            storage_bytes=int(config["STORAGE_QUOTA_BYTES"]),
        )


def current() -> Quotas:
    return Quotas.from_config(current_app.config)


def check_new_run(*, session: Session, user: User, quotas: Quotas | None = None) -> None:
    quotas = quotas or current()
    active = session.scalar(
        select(func.count(Run.id)).where(
            Run.owner_id == user.id, Run.status.in_(("queued", "running"))
        )
    )
    if (active or 0) >= quotas.max_active_runs:
        raise TooManyRequests(
            f"You already have {active} runs queued or running; at most "
            f"{quotas.max_active_runs} may wait or train at once (MAX_ACTIVE_RUNS). "
            "Wait for one to finish, or cancel one.",
            headers={"Retry-After": "30"},
        )


def storage_used(*, session: Session, user: User) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(Dataset.size_bytes), 0)).where(Dataset.owner_id == user.id)
    )


def check_new_dataset(
    *, session: Session, user: User, size_bytes: int, quotas: Quotas | None = None
) -> None:
    quotas = quotas or current()
    since = utcnow() - timedelta(hours=1)
    recent = session.scalar(
        select(func.count(Dataset.id)).where(
            Dataset.owner_id == user.id, Dataset.created_at >= since
        )
    )
    if (recent or 0) >= quotas.uploads_per_hour:
        raise TooManyRequests(
            f"You have added {recent} data sets in the last hour, the most allowed "
            f"({quotas.uploads_per_hour} per hour, UPLOADS_PER_HOUR). Try again later.",
            headers={"Retry-After": "600"},
        )
    used = storage_used(session=session, user=user)
    if used + size_bytes > quotas.storage_bytes:
        raise PayloadTooLarge(
            f"This file ({size_bytes / MB:.1f} MB) would bring your data sets to "
            f"{(used + size_bytes) / MB:.1f} MB, over your {quotas.storage_bytes / MB:g} MB "
            "storage quota (STORAGE_QUOTA_MB). Delete a data set to make room."
        )
