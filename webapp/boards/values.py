"""The lists of values and limits the board templates show, from their one source: the
blueprint's context processor gives them to every board template, and the card cache
(``cards``), which renders cards outside a request's context, passes the same dict."""

from __future__ import annotations

from webapp.models.board import LABEL_MAX, PRIORITIES, STATUS_LABELS, STATUSES, TITLE_MAX
from webapp.services import task_views

TEMPLATE_VALUES = {
    "STATUSES": STATUSES,
    "PRIORITIES": PRIORITIES,
    "STATUS_LABELS": STATUS_LABELS,
    "STATUS_BADGES": {"pending": "", "in_progress": "badge-info", "completed": "badge-success"},
    "DUE_SOON_DAYS": task_views.DUE_SOON_DAYS,
    "TITLE_MAX": TITLE_MAX,
    "LABEL_MAX": LABEL_MAX,
}
