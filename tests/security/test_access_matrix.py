"""The access-control matrix, generated from the app's URL map: every route and method,
asked by a visitor, by another user and by the owner, with the answer each must get.

- ``public``: anyone gets an answer (no log-in needed).
- ``private``: a visitor gets 401 (API) or a redirect to the log-in page (browser); any
  logged-in user is served (there is no object of someone else's in the URL).
- ``owned``: like ``private``, and another user gets 404, exactly as for a missing object.

"Served" means the request got past authentication and ownership: no 401, 403 or 404, and
no server error (a 422 for a form left empty still counts). A route the table does not
know fails :func:`test_every_route_has_an_entry`, so a new route must be classified here.
Writes that destroy something (delete, log out, change the password) act on objects and
accounts made for that one request, so the order of the checks does not matter.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from tests.ml_helpers import DATA
from tests.utils.auth import DEFAULT_PASSWORD, create_user
from webapp.db import get_session
from webapp.models import Board, ModelVersion, Run, Task, User
from webapp.services import boards as board_service
from webapp.services import datasets as dataset_service
from webapp.services import runs as run_service
from webapp.services import tasks as task_service
from webapp.services import training, users
from webapp.services.board_inputs import BoardCreate, TaskCreate

PUBLIC, PRIVATE, OWNED = "public", "private", "owned"

ACCESS = {
    # main, docs, static
    "main.index": PUBLIC,
    "main.health": PUBLIC,
    "main.ready": PUBLIC,
    "main.metrics": PUBLIC,  # scraped by Prometheus; keep it off the public network (SECURITY.md)
    "main.favicon": PUBLIC,
    "api_docs.docs": PUBLIC,
    "static": PUBLIC,
    "api.openapi_document": PUBLIC,
    # accounts in the browser
    "auth.login": PUBLIC,
    "auth.login_post": PUBLIC,
    "auth.signup": PUBLIC,
    "auth.logout": PUBLIC,  # logging out a visitor is harmless
    "auth.account": PRIVATE,
    "auth.account_profile": PRIVATE,
    "auth.account_password": PRIVATE,
    "auth.account_delete": PRIVATE,
    "auth.create_api_token": PRIVATE,
    "auth.revoke_api_token": OWNED,
    # accounts over the API
    "api.register": PUBLIC,
    "api.login": PUBLIC,
    "api.token": PUBLIC,
    "api.refresh": PUBLIC,
    "api.logout": PUBLIC,
    "api.read_me": PRIVATE,
    "api.update_me": PRIVATE,
    "api.replace_me": PRIVATE,
    "api.delete_me": PRIVATE,
    "api.list_tokens": PRIVATE,
    "api.create_token": PRIVATE,
    "api.revoke_token": OWNED,
    # boards and tasks
    "boards.index": PRIVATE,
    "boards.create": PRIVATE,
    "boards.show": OWNED,
    "boards.board_card": OWNED,
    "boards.columns": OWNED,
    "boards.delete": OWNED,
    "boards.rename_form": OWNED,
    "boards.rename": OWNED,
    "boards.add_task": OWNED,
    "boards.task_card": OWNED,
    "boards.save_task": OWNED,
    "boards.delete_task": OWNED,
    "boards.edit_task": OWNED,
    "boards.move_task": OWNED,
    "boards.restore_task": OWNED,
    "boards.dismiss_intro": OWNED,
    "boards.quick_controls": OWNED,
    "boards.quick_save": OWNED,
    "api.list_boards": PRIVATE,
    "api.create_board": PRIVATE,
    "api.get_board": OWNED,
    "api.update_board": OWNED,
    "api.delete_board": OWNED,
    "api.list_tasks": PRIVATE,
    "api.create_task": PRIVATE,
    "api.get_task": OWNED,
    "api.replace_task": OWNED,
    "api.update_task": OWNED,
    "api.delete_task": OWNED,
    "api.move_task": OWNED,
    # data sets
    "datasets.index": PRIVATE,
    "datasets.upload": PRIVATE,
    "datasets.load_sample": PRIVATE,
    "datasets.detail": OWNED,
    "datasets.confirm_delete": OWNED,
    "datasets.delete": OWNED,
    "datasets.reparse": OWNED,
    "datasets.rename": OWNED,
    "api.list_datasets": PRIVATE,
    "api.create_dataset": PRIVATE,
    "api.get_dataset": OWNED,
    "api.update_dataset": OWNED,
    "api.delete_dataset": OWNED,
    "api.reparse_dataset": OWNED,
    "api.preview_dataset": OWNED,
    # runs and models
    "ml.runs_index": PRIVATE,
    "ml.new_run": PRIVATE,
    "ml.create_run": PRIVATE,
    "ml.run_detail": OWNED,
    "ml.run_live": OWNED,
    "ml.run_plot": OWNED,
    "ml.run_clusters_csv": OWNED,
    "ml.cancel_run": OWNED,
    "ml.retry_run": OWNED,
    "ml.models_index": PRIVATE,
    "ml.compare_models": PRIVATE,
    "ml.model_detail": OWNED,
    "ml.download_model": OWNED,
    "ml.batch_template": OWNED,
    "ml.batch_summary": OWNED,
    "ml.predict_row": OWNED,
    "ml.predict_csv": OWNED,
    "ml.delete_model": OWNED,
    "ml.confirm_delete_model": OWNED,
    "ml.compare_runs": OWNED,
    "ml.diff_runs": PRIVATE,  # the runs are named in the query; each is looked up as owned
    "api.list_runs": PRIVATE,
    "api.create_run": PRIVATE,
    "api.get_run": OWNED,
    "api.cancel_run": OWNED,
    "api.retry_run": OWNED,
    "api.run_plot": OWNED,
    "api.compare_runs": PRIVATE,  # the data set is named in the query and looked up as owned
    "api.diff_runs": PRIVATE,
    "api.list_models": PRIVATE,
    "api.get_model": OWNED,
    "api.delete_model": OWNED,
    "api.download_model": OWNED,
    "api.model_template": OWNED,
    "api.predict": OWNED,
}

# Creating something from another user's object is refused the same way a missing one is:
# a 404, or a 422 naming the field ("no data set with this id among yours").
REFERENCE_REFUSED = {"api.create_run": 422, "ml.create_run": 422, "api.create_task": 422}
# These act on an object made for the one request (or on a throw-away account).
DESTRUCTIVE = {
    "auth.logout",
    "auth.account_password",
    "auth.account_delete",
    "auth.revoke_api_token",
    "api.logout",
    "api.update_me",
    "api.replace_me",
    "api.delete_me",
    "api.revoke_token",
    "boards.delete",
    "boards.delete_task",
    "api.delete_board",
    "api.delete_task",
    "datasets.delete",
    "api.delete_dataset",
    "ml.delete_model",
    "api.delete_model",
}
CSV = (DATA / "sample_data.csv").read_bytes()


def routes(app):
    """(endpoint, rule, method) of every route, one rule per endpoint (the API answers with
    and without a trailing slash: the same view)."""
    seen = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, len(r.rule))):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) not in seen:
                seen.add((rule.endpoint, method))
                yield rule.endpoint, rule.rule, method


def test_every_route_has_an_entry(app):
    endpoints = {endpoint for endpoint, _, _ in routes(app)}
    assert endpoints - set(ACCESS) == set(), "classify the new route(s) in ACCESS"
    assert set(ACCESS) - endpoints == set(), "remove the entries of routes that are gone"


# -- the world the checks run in -----------------------------------------------------------


@dataclass
class Owner:
    """A user with one of everything, and factories for objects a request may destroy."""

    app: object
    username: str
    ids: dict = field(default_factory=dict)

    def user(self, session) -> User:
        return session.scalar(select(User).where(User.username == self.username))

    def build(self) -> None:
        create_user(self.app, self.username)
        with self.app.app_context():
            session = get_session()
            user = self.user(session)
            board = board_service.create_board(
                session=session, user=user, board_in=BoardCreate(name="Board")
            )
            task = task_service.create_task(
                session=session, user=user, task_in=TaskCreate(title="Task", board_id=board.id)
            )
            dataset = dataset_service.create_dataset(
                session=session, user=user, filename="s.csv", content=CSV
            )
            run = self._trained_run(session, user, dataset.id)
            self.ids = {
                "board_id": board.id,
                "task_id": task.id,
                "dataset_id": dataset.id,
                "run_id": run.id,
                "model_id": session.scalar(
                    select(ModelVersion.id).where(ModelVersion.run_id == run.id)
                ),
                "token_id": self.fresh_token(session, user),
            }

    @staticmethod
    def _trained_run(session, user, dataset_id) -> Run:
        run = run_service.create_run(
            session=session,
            user=user,
            settings=run_service.RunSettings(
                dataset_id=dataset_id, algorithm="kmeans", params={"k": 2}
            ),
            submit=lambda run: None,
        )
        assert training.execute_run(session=session, run_id=run.id, worker="test") == "succeeded"
        return run

    @staticmethod
    def fresh_token(session, user) -> int:
        return users.create_api_token(session=session, user=user, name="t", scope="read")[0].id

    def fresh_ids(self) -> dict:
        """New objects of every kind, for a request that deletes what it names."""
        with self.app.app_context():
            session = get_session()
            user = self.user(session)
            board = board_service.create_board(
                session=session, user=user, board_in=BoardCreate(name="Spare")
            )
            task = task_service.create_task(
                session=session, user=user, task_in=TaskCreate(title="Spare", board_id=board.id)
            )
            dataset = dataset_service.create_dataset(
                session=session, user=user, filename="spare.csv", content=CSV
            )
            ids = {"board_id": board.id, "task_id": task.id, "dataset_id": dataset.id}
            ids["token_id"] = self.fresh_token(session, user)
            run = self._trained_run(session, user, self.ids["dataset_id"])
            ids["model_id"] = session.scalar(
                select(ModelVersion.id).where(ModelVersion.run_id == run.id)
            )
            return {**self.ids, **ids}


def url_for_rule(rule: str, ids: dict) -> str:
    values = {
        **ids,
        "sample": "sample_data",
        "name": "clusters",
        "fmt": "svg",
        "filename": "js/app.js",
    }
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def body_for(endpoint: str, ids: dict):
    """A request body good enough to get past validation, so that what is tested is the
    access decision (json=... for the API, data=... for browser forms)."""
    task = {"title": "Renamed", "board_id": ids["board_id"]}
    json_bodies = {
        "api.update_board": {"name": "Renamed"},
        "api.create_board": {"name": "New"},
        "api.create_task": task,
        "api.replace_task": task,
        "api.update_task": {"title": "Renamed"},
        "api.move_task": {"status": "in_progress", "position": 0},
        "api.update_dataset": {"name": "Renamed"},
        "api.reparse_dataset": {"delimiter": ","},
        "api.predict": {"rows": [{"age": 30, "annual_income_k": 50, "spending_score": 40}]},
        "api.create_run": {"dataset_id": ids["dataset_id"], "algorithm": "kmeans"},
        "api.create_token": {"name": "x"},
        "api.update_me": {"username": "renamed"},
        "api.replace_me": {"username": "renamed"},
        "api.delete_me": {"current_password": DEFAULT_PASSWORD},
        "api.register": {"email": "n@example.com", "username": "newbie", "password": "x" * 10},
        "api.login": {"username": "nobody", "password": "wrong"},
        "api.refresh": {"refresh_token": "x"},
        "api.logout": {"refresh_token": "x"},
    }
    if endpoint in json_bodies:
        return {"json": json_bodies[endpoint]}
    if endpoint == "api.token":
        return {"data": {"grant_type": "password", "username": "nobody", "password": "wrong"}}
    if endpoint == "api.create_dataset":
        return {"data": {"file": (io.BytesIO(CSV), "u.csv")}, "content_type": "multipart/form-data"}
    forms = {
        "datasets.upload": {"file": (io.BytesIO(CSV), "u.csv")},
        "ml.predict_csv": {
            "file": (io.BytesIO(b"age,annual_income_k,spending_score\n30,50,40\n"), "p.csv")
        },
        "auth.account_delete": {"delete-password": DEFAULT_PASSWORD},
    }
    if endpoint in forms:
        return {"data": forms[endpoint], "content_type": "multipart/form-data"}
    return {"data": {}}


class Actor:
    def __init__(self, app, username: str | None):
        self.client = app.test_client()
        self.headers = {}
        if username is not None:
            self.client.post("/auth/login", data={"login": username, "password": DEFAULT_PASSWORD})
            login = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": DEFAULT_PASSWORD}
            )
            self.headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}

    def ask(self, endpoint: str, rule: str, method: str, ids: dict):
        headers = self.headers if endpoint.startswith("api.") else {}
        response = self.client.open(
            url_for_rule(rule, ids), method=method, headers=headers, **body_for(endpoint, ids)
        )
        response.close()
        return response


@pytest.fixture
def world(app):
    owner = Owner(app, "alice")
    owner.build()
    create_user(app, "bob")
    return owner


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def denied_to_visitors(endpoint: str, response) -> bool:
    if endpoint.startswith("api."):
        return response.status_code == 401
    return is_login_redirect(response)


# Public routes that check the credentials they are sent: their 401 is the answer.
CHECK_CREDENTIALS = {"api.login", "api.token", "api.refresh", "api.logout"}


def served(response, endpoint: str = "") -> bool:
    if response.status_code >= 500:
        return False
    if endpoint in CHECK_CREDENTIALS and response.status_code == 401:
        return True
    return response.status_code not in (401, 403, 404)


def test_visitors(app, world):
    visitor = Actor(app, None)
    wrong = []
    for endpoint, rule, method in routes(app):
        response = visitor.ask(endpoint, rule, method, world.ids)
        ok = (
            served(response, endpoint)
            if ACCESS[endpoint] == PUBLIC
            else denied_to_visitors(endpoint, response)
        )
        if not ok or response.status_code >= 500:
            wrong.append((method, rule, response.status_code))
    assert wrong == []


def test_another_user(app, world):
    bob = Actor(app, "bob")
    wrong = []
    for endpoint, rule, method in routes(app):
        if ACCESS[endpoint] == PUBLIC or endpoint in DESTRUCTIVE and ACCESS[endpoint] != OWNED:
            continue
        response = bob.ask(endpoint, rule, method, world.ids)
        if endpoint in REFERENCE_REFUSED:
            ok = response.status_code == REFERENCE_REFUSED[endpoint]
        elif ACCESS[endpoint] == OWNED:
            ok = response.status_code == 404
        else:
            ok = served(response, endpoint)
        if not ok:
            wrong.append((method, rule, response.status_code))
    assert wrong == []
    # Nothing of alice's changed hands or disappeared.
    with app.app_context():
        session = get_session()
        assert session.get(Board, world.ids["board_id"]).name == "Board"
        assert session.get(Task, world.ids["task_id"]).title == "Task"


def test_the_owner(app, world):
    wrong = []
    for number, (endpoint, rule, method) in enumerate(routes(app)):
        if ACCESS[endpoint] == PUBLIC and endpoint not in DESTRUCTIVE:
            continue
        ids = world.ids
        if endpoint in DESTRUCTIVE:
            ids = world.fresh_ids()
        if endpoint in {
            "auth.account_password",
            "auth.account_delete",
            "api.delete_me",
            "api.update_me",
            "api.replace_me",
            "auth.logout",
            "api.logout",
        }:
            # A throw-away account, so alice stays.
            throwaway = f"throwaway{number}"
            create_user(app, throwaway)
            actor = Actor(app, throwaway)
        else:
            actor = Actor(app, "alice")
        response = actor.ask(endpoint, rule, method, ids)
        if not served(response, endpoint):
            wrong.append((method, rule, response.status_code))
    assert wrong == []
