"""The stack floor: the task list and task create of the API with the least work a correct
answer needs, for ``bench.web`` to measure beside the app.

``floor_app()`` is a bare Flask app on this stack (Flask + PyJWT + SQLAlchemy Core +
psycopg, served by the same gunicorn settings) on the app's own tables and access tokens,
and none of the app's layers: no ORM session, rate limits, CSRF, request log, metrics,
security headers or input models. Its answers are the app's (the same items, total and
fields, the same JSON shape), so the distance from the ceiling (bare Flask, no database)
to the floor is what the stack costs, and the distance from the floor to the app is ours.

- ``GET /api/v1/tasks?limit=&offset=``: the token (PyJWT: signature, expiry, type), the
  user (one select: exists, active, security stamp as in the token), then ONE select of the
  page in the app's default order (board, column, place) with its labels (``string_agg``
  in label order), each task's place in its column and the total (window functions). Both
  on an autocommit connection: no BEGIN, no ROLLBACK.
- ``POST /api/v1/tasks`` ``{"title", "board_id", "labels"}``: in one transaction the
  user, the board (the caller's, locked FOR KEY SHARE as the app locks it, so appends do
  not wait for one another), the task appended to its column (rank: the column's largest
  plus the app's gap, inside the INSERT, which returns its id and place), its labels,
  COMMIT; 201 with the task. An unknown board answers 422.

Two differences from the app, both against the floor: it checks the token's signature on
every request (the app remembers tokens that verified), and it checks no more input than
a correct answer needs (types and ranges; the app also trims, limits and de-duplicates).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime

import jwt
from flask import Flask, Response, request
from sqlalchemy import create_engine, text

from webapp.config import derive_jwt_secret
from webapp.db import MAX_ID, normalize_url
from webapp.models.board import STATUSES
from webapp.security import ACCESS, ALGORITHM, stamp_digest
from webapp.services.tasks import GAP  # room between two appended tasks

# The columns in the app's order (constants of ours, not input).
STATUS_ORDER = "CASE t.status {} END".format(
    " ".join(f"WHEN '{status}' THEN {i}" for i, status in enumerate(STATUSES))
)

# Built once: SQLAlchemy compiles each the first time and reuses it.
USER = text("SELECT is_active, security_stamp FROM users WHERE id = :user_id")
TASKS = text(f"""
    SELECT t.id, t.board_id, t.owner_id, t.title, t.description, t.priority, t.status,
        (SELECT string_agg(l.name, ',' ORDER BY l.position)
           FROM task_labels AS l WHERE l.task_id = t.id) AS labels,
        t.due_date,
        row_number() OVER (PARTITION BY t.board_id, t.status ORDER BY t.rank, t.id) - 1 AS position,
        t.created_at, t.updated_at, t.completed_at, t.version,
        count(*) OVER () AS total
    FROM tasks AS t WHERE t.owner_id = :owner_id
    ORDER BY t.board_id, {STATUS_ORDER}, t.rank, t.id
    LIMIT :limit OFFSET :offset""")  # noqa: S608 (a constant, no input)
COUNT = text("SELECT count(*) FROM tasks WHERE owner_id = :owner_id")  # a page past the end
BOARD = text("SELECT id FROM boards WHERE id = :board_id AND owner_id = :owner_id FOR KEY SHARE")
NEW_TASK = text("""
    INSERT INTO tasks (board_id, owner_id, title, description, priority, status, rank,
                       created_at, updated_at, version)
    VALUES (:board_id, :owner_id, :title, '', 'medium', 'pending',
            (SELECT coalesce(max(c.rank), 0) + :gap FROM tasks AS c
              WHERE c.board_id = :board_id AND c.status = 'pending'),
            :now, :now, 1)
    RETURNING id, (SELECT count(*) FROM tasks AS e
                    WHERE e.board_id = tasks.board_id AND e.status = tasks.status
                      AND (e.rank, e.id) < (tasks.rank, tasks.id))""")
NEW_LABEL = text("INSERT INTO task_labels (task_id, name, position) VALUES (:task_id, :name, :i)")


def _iso(value) -> str | None:
    """As pydantic writes dates and datetimes (UTC as ``Z``)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _task(row) -> dict:
    """A task as the app's ``TaskPublic``, from the columns ``TASKS`` selects, in order."""
    (id_, board_id, owner_id, title, description, priority, status, labels, due_date,
     position, created_at, updated_at, completed_at, version) = row[:14]  # fmt: skip
    return {
        "id": id_,
        "board_id": board_id,
        "owner_id": owner_id,
        "title": title,
        "description": description,
        "priority": priority,
        "status": status,
        "labels": labels.split(",") if labels else [],
        "due_date": _iso(due_date),
        "position": position,
        "is_completed": status == "completed",
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
        "completed_at": _iso(completed_at),
        "version": version,
    }


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, mimetype="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message, "details": []}}, status)


def floor_app() -> Flask:
    """The app (one per gunicorn worker): settings from the environment, as the app's."""
    engine = create_engine(
        normalize_url(os.environ["DATABASE_URL"]), pool_size=8, pool_pre_ping=False
    )
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    key = os.environ.get("JWT_SECRET_KEY") or derive_jwt_secret(os.environ["SECRET_KEY"])
    app = Flask("floor")

    def claims() -> dict | None:
        """The access token's claims, if its signature, expiry and type check out."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            found = jwt.decode(token.strip(), key, algorithms=[ALGORITHM])
            found["user_id"] = int(found["sub"])
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
            return None
        return found if found.get("type") == ACCESS else None

    def signed_in(connection, found: dict | None) -> bool:
        """The token's user exists, is active and has the stamp the token was made with."""
        if found is None or not 1 <= found["user_id"] <= MAX_ID:
            return False
        user = connection.execute(USER, {"user_id": found["user_id"]}).first()
        return (
            user is not None
            and user.is_active
            and secrets.compare_digest(str(found.get("stp", "")), stamp_digest(user[1]))
        )

    def refused() -> Response:
        return _error(401, "unauthorized", "Missing, invalid or expired access token.")

    @app.get("/api/v1/tasks")
    def list_tasks():
        limit = request.args.get("limit", 50, type=int)
        offset = request.args.get("offset", 0, type=int)
        if not (1 <= limit <= 200 and 0 <= offset <= MAX_ID):
            return _error(422, "validation_error", "limit is 1 to 200, offset 0 or more.")
        found = claims()
        with reads.connect() as connection:
            if not signed_in(connection, found):
                return refused()
            page = {"owner_id": found["user_id"], "limit": limit, "offset": offset}
            rows = connection.execute(TASKS, page).all()
            total = rows[0].total if rows else 0
            if not rows and offset:
                total = connection.execute(COUNT, page).scalar_one()
        items = [_task(row) for row in rows]
        return _json({"items": items, "total": total, "limit": limit, "offset": offset})

    @app.post("/api/v1/tasks")
    def create_task():
        body = request.get_json(silent=True)
        title, board_id, labels = (
            (body.get("title"), body.get("board_id"), body.get("labels", []))
            if isinstance(body, dict)
            else (None, None, None)
        )
        if not (
            isinstance(title, str)
            and 0 < len(title.strip()) <= 200
            and type(board_id) is int
            and 1 <= board_id <= MAX_ID
            and isinstance(labels, list)
            and len(labels) <= 10
            and all(isinstance(n, str) and 0 < len(n) <= 30 and "," not in n for n in labels)
            and len(set(labels)) == len(labels)
        ):
            return _error(422, "validation_error", "Send a title, a board_id and labels.")
        found = claims()
        now = datetime.now(UTC)
        with engine.begin() as connection:
            if not signed_in(connection, found):
                return refused()
            user_id = found["user_id"]
            board = connection.execute(BOARD, {"board_id": board_id, "owner_id": user_id})
            if board.first() is None:
                return _error(422, "validation_error", f"Board {board_id} does not exist.")
            values = {"board_id": board_id, "owner_id": user_id, "title": title, "gap": GAP}
            task_id, position = connection.execute(NEW_TASK, {**values, "now": now}).one()
            if labels:
                rows = [{"task_id": task_id, "name": n, "i": i} for i, n in enumerate(labels)]
                connection.execute(NEW_LABEL, rows)
        row = (task_id, board_id, user_id, title, "", "medium", "pending", ",".join(labels),
               None, position, now, now, None, 1)  # fmt: skip
        response = _json(_task(row), 201)
        response.set_etag(f"{task_id}-1", weak=True)
        return response

    return app
