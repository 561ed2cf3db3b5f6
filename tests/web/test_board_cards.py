"""Cached task cards (webapp.boards.cards): the same HTML as the template drawn in the page's
context, and a key that changes whenever what the card shows changes."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
from flask import render_template_string

from webapp.boards import cards
from webapp.services.task_views import TaskView

TODAY = date(2026, 3, 10)
BOARD_URL = "/boards/7"
INCLUDE = '{% include "boards/_task_card.html" %}'


def view(**changes) -> TaskView:
    base = TaskView(
        id=41,
        board_id=7,
        owner_id=3,
        title="Write <the> report & send it",
        description="Two pages; the numbers from March.",
        priority="medium",
        status="in_progress",
        labels=["work", "q1"],
        due_date=TODAY + timedelta(days=1),
        position=1,
        created_at=datetime(2026, 3, 1, 9, 0),
        updated_at=datetime(2026, 3, 2, 9, 0),
        completed_at=None,
        version=4,
    )
    return dataclasses.replace(base, **changes)


# One other value per field of TaskView; each is drawn and compared with the base card.
OTHER_VALUES = {
    "id": 42,
    "board_id": 8,
    "owner_id": 4,
    "title": "Another title",
    "description": "Something else entirely.",
    "priority": "high",
    "status": "completed",
    "labels": ["home"],
    "due_date": TODAY - timedelta(days=3),
    "position": 0,
    "created_at": datetime(2026, 2, 1, 9, 0),
    "updated_at": datetime(2026, 3, 3, 9, 0),
    "completed_at": datetime(2026, 3, 3, 9, 0),
    "version": 5,
}


@pytest.fixture
def in_board_request(app):
    """A request to a board page, so the boards blueprint's template values apply."""
    with app.test_request_context(BOARD_URL):
        cards._drawn.clear()
        yield
        cards._drawn.clear()


def drawn_fresh(task, column_size=3, board_url=BOARD_URL, today=TODAY) -> str:
    cards._drawn.clear()
    return str(cards.task_card(task, column_size, board_url, today))


def test_every_field_of_a_task_view_has_another_value_here():
    assert set(OTHER_VALUES) == {f.name for f in dataclasses.fields(TaskView)}


@pytest.mark.parametrize("task", [view(), view(status="pending", due_date=None, labels=[])])
def test_the_cached_card_is_the_included_template(in_board_request, task):
    context = {"task": task, "column_size": 3, "board_url": BOARD_URL, "today": TODAY}
    included = render_template_string(INCLUDE, **context)
    assert str(cards.task_card(task, 3, BOARD_URL, TODAY)) == included
    # The second call comes from the cache, and is the same.
    assert str(cards.task_card(task, 3, BOARD_URL, TODAY)) == included
    assert "Write &lt;the&gt; report &amp; send it" in included or task.title not in included


@pytest.mark.parametrize("field", sorted(OTHER_VALUES))
def test_a_change_that_shows_on_the_card_changes_its_key(in_board_request, field):
    base, changed = view(), view(**{field: OTHER_VALUES[field]})
    if drawn_fresh(changed) != drawn_fresh(base):
        assert cards._key(changed, 3, BOARD_URL, TODAY) != cards._key(base, 3, BOARD_URL, TODAY)


@pytest.mark.parametrize(
    "where", [{"column_size": 4}, {"board_url": "/boards/8"}, {"today": TODAY + timedelta(3)}]
)
def test_the_cards_surroundings_are_in_its_key(in_board_request, where):
    base = {"column_size": 3, "board_url": BOARD_URL, "today": TODAY}
    task = view(position=2)  # the last of 3, "down" disabled; of 4 it may go down
    changed = {**base, **where}
    assert drawn_fresh(task, **changed) != drawn_fresh(task, **base)
    assert cards._key(task, **changed) != cards._key(task, **base)


def test_a_changed_task_is_drawn_anew_not_taken_from_the_cache(in_board_request):
    first = str(cards.task_card(view(), 3, BOARD_URL, TODAY))
    renamed = str(cards.task_card(view(title="Renamed"), 3, BOARD_URL, TODAY))
    assert "Renamed" in renamed and "Renamed" not in first
    assert len(cards._drawn) == 2
