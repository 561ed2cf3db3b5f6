"""Task cards as the board columns draw them, rendered once per content and kept.

A board page or a refresh of its columns draws every card, and drawing the cards was over
half of the page's time (each card escapes some 40 values). A card is a pure function of
what it shows, so it is kept in a per-process cache (``webapp.cache``) under a key made of
all of it: the task's fields, its column's size (the move buttons), the board's address
and today's date (the due badges). A change to any of them, whether an edit, a move or a
neighbour's move that shifts a position, makes a new key, so a stale card is never shown;
old entries age out of the least-recently-used map.

The key names every field the template reads. A new field shown on the card must be added
to :func:`_key` as well; ``tests/web/test_board_cards.py`` checks the two agree.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from markupsafe import Markup

from webapp.boards.values import TEMPLATE_VALUES
from webapp.cache import Cache
from webapp.services.task_views import TaskView

TEMPLATE = "boards/_task_card.html"
# About 2.5 KB a card: 4,096 cards are 10 MB per process, a few hundred busy boards.
_drawn = Cache("task-cards", maxsize=4096)


def _key(task: TaskView, column_size: int, board_url: str, today: date) -> tuple:
    return (
        task.id,
        task.version,
        task.position,
        task.status,
        task.priority,
        task.title,
        task.description,
        tuple(task.labels),
        task.due_date,
        column_size,
        board_url,
        today,
    )


def task_card(task: TaskView, column_size: int, board_url: str, today: date) -> Markup:
    """The card of ``task`` in a board column, from the cache when it was drawn before."""
    key = _key(task, column_size, board_url, today)
    card = _drawn.get(key)
    if card is None:
        # Flask autoescapes .html templates: what the template gives back is safe HTML.
        card = Markup(  # noqa: S704
            current_app.jinja_env.get_template(TEMPLATE).render(
                task=task,
                column_size=column_size,
                board_url=board_url,
                today=today,
                **TEMPLATE_VALUES,
            )
        )
        _drawn.put(key, card)
    return card
