"""Boards over the API: list, create, read, rename, delete."""

from __future__ import annotations

from webapp.api import bp
from webapp.api.deps import current_api_user
from webapp.api.routing import api_operation as _api_operation
from webapp.api.schemas import PageQuery
from webapp.api.task_schemas import BoardCreate, BoardPage, BoardPublic, BoardUpdate, TaskCounts
from webapp.db import get_session
from webapp.models import Board
from webapp.services import boards as board_service
from webapp.web import owned


def api_operation(rule, method, **kwargs):
    return _api_operation(bp, rule, method, tags=["boards"], **kwargs)


def _public(boards) -> list[BoardPublic]:
    counts = board_service.task_counts(session=get_session(), board_ids=[b.id for b in boards])
    return [
        BoardPublic.model_validate(board).model_copy(
            update={"task_counts": TaskCounts(**counts[board.id])}
        )
        for board in boards
    ]


@api_operation(
    "/boards", "GET", summary="List boards", query=PageQuery, response=BoardPage, writes=True
)
def list_boards(query: PageQuery):
    """The caller's boards, oldest first; the first is the default board for new tasks.
    A user without boards gets a default one here."""
    session, user = get_session(), current_api_user()
    board_service.default_board(session=session, user=user)
    boards = board_service.list_boards(
        session=session, user=user, limit=query.limit, offset=query.offset
    )
    total = board_service.count_boards(session=session, user=user)
    return BoardPage.of(_public(boards), total=total, query=query)


@api_operation(
    "/boards", "POST", summary="Create a board", body=BoardCreate, response=BoardPublic, status=201
)
def create_board(body: BoardCreate):
    board = board_service.create_board(
        session=get_session(), user=current_api_user(), board_in=body
    )
    return _public([board])[0]


@api_operation("/boards/<int:board_id>", "GET", summary="Get a board", response=BoardPublic)
def get_board(board_id: int):
    """One board with its task counts per status."""
    return _public([owned(Board, board_id)])[0]


@api_operation(
    "/boards/<int:board_id>",
    "PATCH",
    summary="Rename or describe a board",
    body=BoardUpdate,
    response=BoardPublic,
)
def update_board(board_id: int, body: BoardUpdate):
    board = board_service.update_board(
        session=get_session(), board=owned(Board, board_id), changes=body
    )
    return _public([board])[0]


@api_operation("/boards/<int:board_id>", "DELETE", summary="Delete a board", status=204)
def delete_board(board_id: int):
    """Delete the board and all its tasks."""
    board_service.delete_board(session=get_session(), board=owned(Board, board_id))
    return None
