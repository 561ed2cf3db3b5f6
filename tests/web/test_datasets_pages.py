"""The data set pages: upload form, list, detail (preview, profile), re-parse, rename, delete."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.api.test_datasets_api import multipart
from webapp.db import get_session
from webapp.models import Dataset, DatasetFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


def upload(client, filename="cp1252_semicolon.csv", content=None, **form):
    content = (FIXTURES / filename).read_bytes() if content is None else content
    data = {"file": (io.BytesIO(content), filename), **form}
    return client.post("/datasets/", data=data, content_type="multipart/form-data")


def stored(app) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count(Dataset.id))),
            session.scalar(select(func.count()).select_from(DatasetFile)),
        )


def dataset_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/datasets/(\d+)$", response.location).group(1))


@pytest.fixture
def alice(auth):
    auth.signup_and_login("alice")


@pytest.fixture
def uploaded(client, alice) -> int:
    return dataset_id(upload(client))


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/datasets/"),
        ("post", "/datasets/"),
        ("get", "/datasets/1"),
        ("post", "/datasets/1/parse"),
        ("post", "/datasets/1/rename"),
        ("get", "/datasets/1/delete"),
        ("post", "/datasets/1/delete"),
        ("post", "/datasets/samples/sample_data"),
    ],
)
def test_pages_need_login(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert "/auth/login" in response.location


def test_empty_list_explains_csv_and_offers_samples(client, alice):
    page = client.get("/datasets/").get_data(as_text=True)
    assert "No data sets yet" in page
    assert "A CSV file is a table saved as text" in page
    assert 'enctype="multipart/form-data"' in page
    assert "/datasets/samples/sample_data" in page


def test_upload_shows_preview_and_profile(client, alice, app):
    response = upload(client, name="Prices")
    page = client.get(response.location).get_data(as_text=True)
    assert "Prices" in page
    assert 'data-testid="preview-table"' in page and "Café crème" in page
    assert 'data-testid="profile"' in page and "Prix (€)" in page
    assert "numeric" in page and "categorical" in page
    assert '<svg class="histogram"' in page
    assert "Detected: cp1252" in page
    assert "Train a model" in page and "/runs/new?dataset_id=" in page
    assert stored(app) == (1, 1)
    listing = client.get("/datasets/").get_data(as_text=True)
    assert "Prices" in listing and 'data-testid="datasets-table"' in listing


def test_dropped_columns_say_why(client, alice):
    response = upload(client, filename="all_missing_column.csv")
    page = client.get(response.location).get_data(as_text=True)
    assert "Not used" in page and "all values are missing" in page


@pytest.mark.parametrize(
    ("filename", "status", "words"),
    [
        ("empty.csv", 422, "The file is empty."),
        ("header_only.csv", 422, "no data rows"),
        ("image_renamed.csv", 422, "PNG image"),
        ("archive_renamed.csv", 422, "ZIP archive"),
        ("ragged.csv", 422, "more values than the header"),
    ],
)
def test_bad_files_show_a_form_error(client, alice, app, filename, status, words):
    response = upload(client, filename=filename)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
    assert 'class="field-errors"' in response.get_data(as_text=True)
    assert stored(app) == (0, 0)


def test_missing_file_is_a_form_error(client, alice, app):
    response = client.post("/datasets/", data={"name": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV file to upload." in response.get_data(as_text=True)


def test_a_60_mb_upload_is_a_friendly_413(client, alice, app):
    body, content_type = multipart("big.csv", b"a,b\n" + b"1,2\n" * (15 * 1024 * 1024))
    response = client.post("/datasets/", data=body, content_type=content_type)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "larger than the 50 MB limit" in page
    assert "Upload a CSV file" in page  # the form again, not a bare error page
    assert stored(app) == (0, 0)


class TestRowLimit:
    @pytest.fixture
    def app_config(self):
        return {"MAX_DATASET_ROWS": 2}

    def test_too_many_rows_is_a_form_error(self, client, alice, app):
        response = upload(client, filename="pipe.csv")
        assert response.status_code == 413
        assert "more than 2 rows" in response.get_data(as_text=True)
        assert stored(app) == (0, 0)


def test_load_a_sample(client, alice):
    response = client.post("/datasets/samples/sample_data")
    page = client.get(response.location).get_data(as_text=True)
    assert "sample_data" in page and "spending_score" in page
    assert client.post("/datasets/samples/nope").status_code == 404


def test_reparse_with_the_form(client, uploaded):
    form = {"encoding": "auto", "delimiter": "auto", "decimal": ".", "header_row": "0"}
    response = client.post(f"/datasets/{uploaded}/parse", data=form)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert '<option selected value=".">' in page or 'value="." selected' in page
    form = {"encoding": "auto", "delimiter": "auto", "decimal": "auto", "header_row": "none"}
    client.post(f"/datasets/{uploaded}/parse", data=form)
    assert "column_1" in client.get(f"/datasets/{uploaded}").get_data(as_text=True)


def test_failed_reparse_shows_why_and_changes_nothing(client, uploaded):
    before = client.get(f"/datasets/{uploaded}").get_data(as_text=True)
    form = {"encoding": "utf-8", "delimiter": "auto", "decimal": "auto", "header_row": "auto"}
    response = client.post(f"/datasets/{uploaded}/parse", data=form)
    assert response.status_code == 422
    assert "not valid utf-8" in response.get_data(as_text=True)
    assert "The data set was not changed." in response.get_data(as_text=True)
    assert "Café crème" in client.get(f"/datasets/{uploaded}").get_data(as_text=True)
    assert "Café crème" in before


def test_reparse_rejects_values_not_offered(client, uploaded):
    form = {"encoding": "auto", "delimiter": "x", "decimal": "auto", "header_row": "auto"}
    assert client.post(f"/datasets/{uploaded}/parse", data=form).status_code == 422


def test_rename(client, uploaded):
    response = client.post(f"/datasets/{uploaded}/rename", data={"name": "Menu"})
    assert response.status_code == 302
    assert "<h1>Menu</h1>" in client.get(f"/datasets/{uploaded}").get_data(as_text=True)
    response = client.post(f"/datasets/{uploaded}/rename", data={"name": ""})
    assert response.status_code == 422
    assert "Enter a name." in response.get_data(as_text=True)
    response = client.post(f"/datasets/{uploaded}/rename", data={"name": "   "})
    assert response.status_code == 422


def test_delete_asks_for_confirmation(client, uploaded, app):
    page = client.get(f"/datasets/{uploaded}/delete").get_data(as_text=True)
    assert "cannot be undone" in page
    assert stored(app) == (1, 1)
    response = client.post(f"/datasets/{uploaded}/delete")
    assert response.status_code == 302 and response.location.endswith("/datasets/")
    assert stored(app) == (0, 0)
    assert client.get(f"/datasets/{uploaded}").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("get", "", None),
        (
            "post",
            "/parse",
            {"encoding": "auto", "delimiter": ",", "decimal": "auto", "header_row": "auto"},
        ),
        ("post", "/rename", {"name": "mine"}),
        ("get", "/delete", None),
        ("post", "/delete", None),
    ],
)
def test_another_users_dataset_is_404(client, auth, uploaded, app, method, suffix, data):
    auth.logout()
    auth.signup_and_login("mallory")
    response = getattr(client, method)(f"/datasets/{uploaded}{suffix}", data=data)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert stored(app) == (1, 1)


def test_unknown_dataset_is_404(client, alice):
    assert client.get("/datasets/999").status_code == 404
    assert client.get(f"/datasets/{2**64}").status_code == 404


@pytest.fixture
def runs_page(app):
    """Stands in for the runs feature (routes must exist before the first request)."""
    app.add_url_rule("/runs/new", "fake_new_run", lambda: "new run")


def test_train_link_appears_once_the_runs_page_exists(runs_page, client, uploaded):
    page = client.get(f"/datasets/{uploaded}").get_data(as_text=True)
    assert f'href="/runs/new?dataset_id={uploaded}"' in page


class TestTooLargeWithCsrf:
    """With CSRF on (as in production) the token check reads the body first, so the 413
    comes before the log-in check; a visitor still lands on the log-in page."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_too_large_upload_without_login_goes_to_login(self, client):
        body, content_type = multipart("big.csv", b"a\n" + b"1\n" * (26 * 1024 * 1024))
        response = client.post("/datasets/", data=body, content_type=content_type)
        assert response.status_code == 302 and "/auth/login" in response.location


# -- real-world layouts (issue 13, items 1, 2 and 4) ---------------------------------------------


def test_a_whitespace_table_shows_what_was_left_out_and_how_it_was_read(client, alice):
    page = client.get(upload(client, "whitespace_aligned.csv").location).get_data(as_text=True)
    assert "whitespace-separated" in page
    assert "the first 2 lines left out, column names on line 3" in page
    assert "the last 1 line left out" in page
    assert "Monthly rainfall and temperature, station 4711" in page  # the note quotes it
    assert "Source: synthetic station records" in page
    assert '<option selected value="whitespace">' in page
    assert '<option selected value="2">2 lines</option>' in page


def test_an_upload_that_reads_as_one_column_is_a_form_error(client, alice, app):
    response = upload(client, "whitespace_values_with_blanks.csv")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "runs of spaces" in page and "cannot be told apart" in page
    assert stored(app) == (0, 0)


def test_reparse_with_skip_and_quote_options(client, alice):
    dataset = dataset_id(upload(client, "footer_lines.csv"))
    page = client.get(f"/datasets/{dataset}").get_data(as_text=True)
    assert "Source: Sales department, quarterly export" in page and "12 rows" in page
    form = {"encoding": "auto", "delimiter": "auto", "decimal": "auto", "quotechar": "auto",
            "skip_first": "0", "header_row": "0", "skip_last": "0"}  # fmt: skip
    response = client.post(f"/datasets/{dataset}/parse", data=form)
    assert response.status_code == 302
    page = client.get(f"/datasets/{dataset}").get_data(as_text=True)
    assert "14 rows" in page and "Left out" not in page
    form["skip_last"] = "auto"
    client.post(f"/datasets/{dataset}/parse", data=form)
    assert "12 rows" in client.get(f"/datasets/{dataset}").get_data(as_text=True)


def test_reparse_to_one_column_shows_why_and_changes_nothing(client, alice):
    dataset = dataset_id(upload(client, "whitespace_single.csv"))
    form = {"encoding": "auto", "delimiter": ";", "decimal": "auto", "header_row": "auto"}
    response = client.post(f"/datasets/{dataset}/parse", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "split into 4 values on whitespace" in page and "The data set was not changed." in page
    assert "4 columns" in client.get(f"/datasets/{dataset}").get_data(as_text=True)


def test_single_quoted_names_are_shown_without_quotes(client, alice):
    page = client.get(upload(client, "single_quoted.csv").location).get_data(as_text=True)
    assert '<th scope="col">vote</th>' in page and "&#39;vote&#39;" not in page


# -- numbers as the file writes them (issue 10, item 4) -----------------------------------------


def test_years_and_ids_have_no_thousands_separators_and_decimals_stay_aligned(client, alice):
    page = client.get(f"/datasets/{dataset_id(upload(client, 'penguins.csv'))}")
    html = page.get_data(as_text=True)
    cells = re.findall(r'<td class="num">([^<]*)</td>', html)
    first_row = cells[:6]  # individual_id, bill length, depth, flipper, mass, year
    assert first_row == ["1001", "38.8", "18.6", "188", "3,325", "2007"]
    assert "14.0" in cells  # 14 among numbers written with one decimal place
    assert "2,007" not in html and "2,008" not in html and "1,001" not in html
    year = _card(html, "year")
    assert "<dd>2007</dd>" in year and "<dd>2008.0</dd>" in year  # min, mean
    assert "<title>2008: 40</title>" in year  # one bar per year
    ident = _card(html, "individual_id")
    assert "<dd>1001</dd>" in ident and "Mean" not in ident  # an id has no meaningful mean
    mass = _card(html, "body_mass_g")
    assert "<dd>2,875</dd>" in mass  # a quantity keeps its separators
    # A long snake_case name may wrap after its underscores instead of overflowing the card.
    assert '<h3 class="column-name">flipper_<wbr>length_<wbr>mm</h3>' in html


def _card(html: str, name: str) -> str:
    start = html.index(f'<h3 class="column-name">{name.replace("_", "_<wbr>")}</h3>')
    return html[start : html.index("</article>", start)]


def test_a_breakable_column_name_is_still_escaped(client, alice):
    content = b"<script>a_b</script>,n\nx,1\ny,2\nx,3\n"
    html = client.get(f"/datasets/{dataset_id(upload(client, 'x.csv', content))}").get_data(
        as_text=True
    )
    assert "<script>a_" not in html
    assert '<h3 class="column-name">&lt;script&gt;a_<wbr>b&lt;/<wbr>script&gt;</h3>' in html


# -- service errors reach the forms one way (issue 8) --------------------------------------------


def _errors_of(html: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="{field}-error"[^>]*>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def test_a_failed_reparse_says_why_on_top_and_which_option_at_the_option(client, alice):
    dataset = dataset_id(upload(client, "whitespace_single.csv"))
    form = {"encoding": "auto", "delimiter": ";", "decimal": "auto", "header_row": "auto"}
    html = client.post(f"/datasets/{dataset}/parse", data=form).get_data(as_text=True)
    alert = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', html, re.S)
    paragraphs = re.findall(r"<p>(.*?)</p>", alert.group(1))
    assert "split into 4 values on whitespace" in paragraphs[0]
    assert paragraphs[-1] == "The data set was not changed."
    assert _errors_of(html, "delimiter") == ["The file looks whitespace-separated."]


def test_an_unreadable_upload_says_why_once_at_the_file(client, alice):
    response = upload(client, "image_renamed.csv")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _errors_of(html, "file") == ["This looks like a PNG image, not a CSV text file."]
    assert 'role="alert"' not in html


def test_the_train_link_names_the_data_set(client, uploaded):
    html = client.get(f"/datasets/{uploaded}").get_data(as_text=True)
    assert f'href="/runs/new?dataset_id={uploaded}">Train a model</a>' in html
