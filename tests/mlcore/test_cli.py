"""Tests for the command-line tools, run as subprocesses on the sample data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcore.cli import _common as _cli

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
CLUSTERS = str(DATA / "sample_data.csv")
CLASSIFICATION = str(DATA / "sample_classification.csv")
REGRESSION = str(DATA / "sample_regression.csv")


def run(module: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    message = lines[-1]
    assert "error:" in message
    # argparse prints its usage line first; our own errors are a single line.
    assert len(lines) == 1 or lines[0].startswith("usage:")
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("module", ["mlcore.kmeans", "mlcore.tree", "mlcore.forest"])
def test_help(module):
    result = run(module, "--help")
    assert result.returncode == 0
    assert "--data" in result.stdout and "examples:" in result.stdout
    assert f"python -m {module}" in result.stdout


# --- k-means ------------------------------------------------------------------------


def test_kmeans_writes_output_with_cluster_column(tmp_path):
    out = tmp_path / "results.csv"
    result = run("mlcore.kmeans", "--data", CLUSTERS, "--clusters", 3, "--output", out)
    assert result.returncode == 0, result.stderr
    for word in ("inertia", "silhouette", "size", "mean spending_score"):
        assert word in result.stdout
    written = pd.read_csv(out)
    source = pd.read_csv(CLUSTERS)
    assert list(written.columns) == [*source.columns, "cluster"]
    pd.testing.assert_frame_equal(written[source.columns], source)
    # Three well-separated groups of 100 rows each.
    assert sorted(written["cluster"].value_counts().tolist()) == [100, 100, 100]


def test_kmeans_suggest_k_columns_scale_and_save(tmp_path):
    from mlcore import persistence

    model_path = tmp_path / "km.npz"
    result = run(
        "mlcore.kmeans",
        "--data",
        CLUSTERS,
        "--suggest-k",
        "--max-k",
        5,
        "--columns",
        "age, spending_score",
        "--scale",
        "--seed",
        3,
        "--save-model",
        model_path,
    )
    assert result.returncode == 0, result.stderr
    assert "suggested k: 3" in result.stdout
    assert "silhouette" in result.stdout.splitlines()[2]
    saved = persistence.load(model_path)
    assert saved.model.n_clusters == 3
    assert [e["name"] for e in saved.preprocessor.schema_] == ["age", "spending_score"]
    assert saved.metadata["task"] == "clustering"


def test_kmeans_errors(tmp_path):
    binary = tmp_path / "model.npz"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    assert_user_error(
        run("mlcore.kmeans", "--data", tmp_path / "nope.csv", "-k", 3), "no such file"
    )
    assert_user_error(run("mlcore.kmeans", "--data", binary, "-k", 3), "not a CSV file")
    assert_user_error(
        run("mlcore.kmeans", "--data", CLUSTERS, "-k", 3, "--columns", "age,height"), "'height'"
    )
    assert_user_error(run("mlcore.kmeans", "--data", CLUSTERS), "--clusters")


# --- tree and forest ----------------------------------------------------------------


def test_tree_classification_output_rules_and_saved_model(tmp_path):
    from mlcore import persistence

    out, model_path = tmp_path / "pred.csv", tmp_path / "tree.npz"
    result = run(
        "mlcore.tree",
        "--data",
        CLASSIFICATION,
        "--target",
        "plan",
        "--max-depth",
        5,
        "--rules",
        "--output",
        out,
        "--save-model",
        model_path,
    )
    assert result.returncode == 0, result.stderr
    for word in ("accuracy", "precision", "recall", "f1", "confusion matrix", "monthly_spend"):
        assert word in result.stdout
    assert "customer_id" in result.stdout  # reported as dropped
    assert "|--- monthly_spend <=" in result.stdout  # the --rules
    predictions = pd.read_csv(out)
    assert len(predictions) == 125  # the 25 % test rows of 500
    assert list(predictions.columns)[-1] == "predicted_plan"
    accuracy = (predictions["plan"] == predictions["predicted_plan"]).mean()
    assert accuracy >= 0.8
    saved = persistence.load(model_path)
    assert saved.metadata["target"] == "plan"
    assert saved.metadata["metrics"]["accuracy"] == pytest.approx(accuracy)
    again = saved.model.predict(saved.preprocessor.transform(predictions))
    np.testing.assert_array_equal(again, predictions["predicted_plan"].to_numpy(dtype=str))


def test_tree_regression_all_rows(tmp_path):
    out = tmp_path / "pred.csv"
    result = run(
        "mlcore.tree", "--data", REGRESSION, "--target", "price_k", "--test-size", 0, "-o", out
    )
    assert result.returncode == 0, result.stderr
    assert "R²" in result.stdout and "RMSE" in result.stdout and "training rows" in result.stdout
    assert len(pd.read_csv(out)) == 300


def test_forest_reports_progress_and_accuracy():
    result = run(
        "mlcore.forest", "--data", CLASSIFICATION, "--target", "plan", "--trees", 20, "--seed", 1
    )
    assert result.returncode == 0, result.stderr
    assert "trees 20/20" in result.stderr
    accuracy = next(line for line in result.stdout.splitlines() if line.startswith("accuracy"))
    assert float(accuracy.split()[-1]) >= 0.85


def test_supervised_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some words\nwithout any structure\n")
    one_class = tmp_path / "one.csv"
    one_class.write_text("x,label\n1,a\n2,a\n3,a\n")
    assert_user_error(run("mlcore.tree", "--data", text, "--target", "plan"), "'plan'")
    assert_user_error(
        run("mlcore.forest", "--data", CLASSIFICATION, "--target", "colour"), "'colour'"
    )
    assert_user_error(run("mlcore.tree", "--data", one_class, "--target", "label"), "single class")
    assert_user_error(
        run("mlcore.tree", "--data", CLASSIFICATION, "--target", "plan", "--test-size", 1.5),
        "--test-size",
    )


# --- the shared helpers, in process -------------------------------------------------


def test_read_table_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "latin.csv").write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    for name, words in [
        ("empty.csv", "empty"),
        ("header.csv", "no data rows"),
        ("latin.csv", "UTF-8"),
        ("", "directory"),
    ]:
        with pytest.raises(_cli.CLIError, match=words):
            _cli.read_table(str(tmp_path / name))


def test_read_table_semicolons(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1,5;x\n2,5;y\n")
    assert list(_cli.read_table(str(path)).columns) == ["a", "b"]


def test_progress_prints_every_tenth():
    class Stream:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    stream = Stream()
    progress = _cli.Progress("trees", stream=stream)
    for done in range(1, 101):
        progress(done, 100)
    lines = stream.text.splitlines()
    assert lines[0] == "trees 1/100" and lines[-1] == "trees 100/100"
    assert len(lines) == 11


def test_run_turns_errors_into_exit_2(capsys):
    def bad(argv):
        raise ValueError("bad\nthing")

    assert _cli.run(bad, [], "prog") == 2
    assert capsys.readouterr().err == "prog: error: bad thing\n"
