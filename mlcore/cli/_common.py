"""Code shared by the command-line tools (``python -m mlcore.kmeans|tree|forest``).

Errors the user can fix (a bad path, a missing column, a bad parameter) end the program
with exit status 2 and one line on stderr, never a traceback: the tools raise
:class:`CLIError` or let mlcore's ``ValueError`` propagate, and :func:`run` reports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

EXIT_USAGE = 2


class CLIError(Exception):
    """A problem with the user's input, reported as ``prog: error: message``."""


def run(main: Callable[[Sequence[str] | None], int], argv, prog: str) -> int:
    """Call ``main(argv)``; turn user errors into exit status 2 and a one-line message."""
    try:
        return main(argv)
    except (CLIError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def make_parser(prog: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose ``--help`` keeps the epilog's line breaks."""
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def read_table(path: str) -> pd.DataFrame:
    """Read a CSV file (comma- or semicolon-separated) with readable errors.

    Raises
    ------
    CLIError
        If the file is missing, a directory, binary, empty or not parseable.
    """
    file = Path(path)
    if not file.exists():
        raise CLIError(f"cannot read {path!r}: no such file")
    if file.is_dir():
        raise CLIError(f"cannot read {path!r}: it is a directory, not a CSV file")
    with file.open("rb") as handle:
        head = handle.read(8192)
    # Text files have no NUL bytes; images, archives and model files do.
    if b"\x00" in head:
        raise CLIError(f"{path!r} is not a CSV file (binary content)")
    first_line = head.split(b"\n", 1)[0]
    sep = ";" if first_line.count(b";") > first_line.count(b",") else ","
    try:
        df = pd.read_csv(file, sep=sep, skipinitialspace=True)
    except UnicodeDecodeError:
        raise CLIError(f"{path!r} is not a CSV file (not UTF-8 text)") from None
    except pd.errors.EmptyDataError:
        raise CLIError(f"{path!r} is empty") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise CLIError(f"{path!r} is not a valid CSV file: {detail}") from None
    if len(df) == 0:
        raise CLIError(f"{path!r} has a header but no data rows")
    return df


def write_table(df: pd.DataFrame, path: str) -> None:
    """Write ``df`` as CSV; an unwritable path becomes a one-line error."""
    try:
        df.to_csv(path, index=False)
    except OSError as exc:
        raise CLIError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def split_names(text: str | None) -> list[str] | None:
    """``"a, b,c"`` → ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CLIError("--columns needs at least one column name")
    return names


def require_columns(df: pd.DataFrame, names: Sequence[str], what: str = "column") -> None:
    """Raise ``CLIError`` naming the columns of ``names`` that ``df`` lacks."""
    absent = [name for name in names if name not in df.columns]
    if absent:
        available = ", ".join(map(str, df.columns))
        raise CLIError(
            f"{what}(s) {', '.join(map(repr, absent))} not in the data; "
            f"available columns: {available}"
        )


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def fraction(text: str) -> float:
    """argparse type: a float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


class Progress:
    """Callable ``progress(done, total)`` that reports on stderr, e.g. ``trees 40/100``.

    On a terminal the line is rewritten in place; otherwise (logs, pipes) a line is
    printed at every 10 % so logs stay short.
    """

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self._last_tenth = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int | None = None) -> None:
        text = f"{self.label} {done}/{total}" if total else f"{self.label} {done}"
        if self._tty:
            end = "\n" if total and done >= total else ""
            print(f"\r{text}", end=end, file=self.stream, flush=True)
            return
        tenth = (10 * done) // total if total else done
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            print(text, file=self.stream, flush=True)


def format_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        rest = zip(row[1:], widths[1:], strict=True)
        parts = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in rest]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float | np.floating):
        return "-" if np.isnan(value) else f"{value:.4g}" if abs(value) >= 1e5 else f"{value:.3f}"
    return str(value)


def describe_features(preprocessor) -> str:
    """One or two lines: features used and columns dropped (with reasons)."""
    used = ", ".join(entry["name"] for entry in preprocessor.schema_)
    text = (
        f"features: {len(preprocessor.feature_names_out_)} numeric columns from "
        f"{len(preprocessor.schema_)} input columns ({used})"
    )
    if preprocessor.dropped_:
        dropped = "; ".join(f"{name}: {why}" for name, why in preprocessor.dropped_.items())
        text += f"\ndropped columns: {dropped}"
    return text


# --- tree and forest tools ----------------------------------------------------------

SUPERVISED_EPILOG = """\
examples:
  python -m mlcore.{name} --data data/sample_classification.csv --target plan
  python -m mlcore.{name} --data data/sample_regression.csv --target price_k \\
      --max-depth 6 --output predictions.csv --save-model model.npz

The target decides the task: text, yes/no or a few distinct integers → classification,
other numbers → regression (override with --task). Rows without a target value are
skipped. The data is split into training and test rows (--test-size, stratified by
class); the metrics are computed on the test rows. With --test-size 0 the model trains
on every row and the metrics describe the training rows (optimistic).

--output writes the test rows (every input column, in file order) plus a
"predicted_<target>" column; with --test-size 0 it writes every row. --save-model
writes one .npz file holding the model, its preprocessing and the metrics, loadable
with mlcore.persistence.load (no pickle)."""


def build_supervised_parser(name: str, description: str) -> argparse.ArgumentParser:
    """Arguments shared by ``python -m mlcore.tree`` and ``python -m mlcore.forest``."""
    parser = make_parser(
        f"python -m mlcore.{name}", description, SUPERVISED_EPILOG.format(name=name)
    )
    parser.add_argument("--data", required=True, metavar="CSV", help="input CSV file")
    parser.add_argument("--target", "-y", required=True, metavar="COLUMN", help="column to predict")
    parser.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="override the guess from the target's values (default: auto)",
    )
    parser.add_argument(
        "--test-size",
        type=fraction,
        default=0.25,
        metavar="FRACTION",
        help="share of rows held out for the metrics, in [0, 1) (default: 0.25)",
    )
    parser.add_argument("--max-depth", type=positive_int, metavar="N", help="maximum tree depth")
    parser.add_argument(
        "--min-samples-leaf", type=positive_int, default=1, metavar="N", help="(default: 1)"
    )
    parser.add_argument(
        "--criterion",
        help="split quality: gini or entropy (classification), squared_error (regression)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--output", "-o", metavar="CSV", help="write predictions (see below)")
    parser.add_argument("--save-model", metavar="PATH", help="save the model to a .npz file")
    return parser


def run_supervised(args, make_model, *, fit_kwargs=None, report=None) -> int:
    """Train and evaluate a tree or forest on ``args.data``; see ``SUPERVISED_EPILOG``.

    ``make_model(task, args)`` returns the unfitted estimator, ``fit_kwargs`` go to its
    ``fit`` (e.g. ``progress``) and ``report(model, preprocessor)`` prints extras.
    """
    from mlcore.preprocessing import TabularPreprocessor, prepare_target

    df = read_table(args.data)
    require_columns(df, [args.target], what="target column")
    target = prepare_target(df[args.target], task=None if args.task == "auto" else args.task)
    n_skipped = int((~target.present).sum())
    if n_skipped:
        print(f"note: skipping {n_skipped} row(s) without a {args.target!r} value", file=sys.stderr)
    data, y, task = df[target.present], target.y, target.task
    train, test = _split(y, task, args.test_size, args.seed)

    pre = TabularPreprocessor().fit(data.iloc[train], target=args.target)
    print(f"{task} of {args.target!r}: {len(train)} training rows, {len(test)} test rows")
    print(describe_features(pre))
    model = make_model(task, args)
    model.fit(pre.transform(data.iloc[train]), y[train], **(fit_kwargs or {}))

    evaluated = test if len(test) else train
    predicted = model.predict(pre.transform(data.iloc[evaluated]))
    where = "test rows" if len(test) else "training rows (no test split: optimistic)"
    print(f"\nmetrics on {len(evaluated)} {where}")
    if task == "classification":
        metrics = _classification_metrics(y[evaluated], predicted, model.classes_)
    else:
        metrics = _regression_metrics(y[evaluated], predicted)
    if report is not None:
        report(model, pre)

    if args.output:
        out = data.iloc[evaluated].copy()
        out[f"predicted_{args.target}"] = predicted
        write_table(out, args.output)
        print(f"\nwrote {len(out)} rows with predictions to {args.output}")
    if args.save_model:
        from mlcore import persistence

        metadata = {
            "task": task,
            "target": args.target,
            "data": Path(args.data).name,
            "n_train": len(train),
            "n_test": len(test),
            "metrics": metrics,
        }
        persistence.save(model, args.save_model, preprocessor=pre, metadata=metadata)
        print(f"saved the model to {args.save_model}")
    return 0


def _split(y: np.ndarray, task: str, test_size: float, seed: int):
    """Sorted train/test row positions (stratified by class when every class allows)."""
    n = len(y)
    everything = np.arange(n)
    if test_size == 0:
        return everything, everything[:0]
    n_test = int(np.ceil(test_size * n))
    if n_test < 1 or n - n_test < 2:
        raise CLIError(f"{n} rows are too few for --test-size {test_size}")
    from mlcore.model_selection import train_test_split

    stratify = None
    if task == "classification":
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
            stratify = y
    train, test = train_test_split(
        everything, test_size=test_size, random_state=seed, stratify=stratify
    )
    return np.sort(train), np.sort(test)


def _classification_metrics(y_true, y_pred, classes) -> dict:
    from mlcore.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    metrics = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision_macro": float(precision_score(y_true, y_pred, average="macro")),
        "recall_macro": float(recall_score(y_true, y_pred, average="macro")),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro")),
    }
    labels = [str(c) for c in classes]
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    shown = [[key.replace("_macro", " (macro)"), value] for key, value in metrics.items()]
    print(format_table(["metric", "value"], shown))
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(
        format_table(
            ["", *labels],
            [[label, *row] for label, row in zip(labels, matrix.tolist(), strict=True)],
        )
    )
    metrics["confusion_matrix"] = matrix.tolist()
    metrics["labels"] = labels
    return metrics


def _regression_metrics(y_true, y_pred) -> dict:
    from mlcore.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    metrics = {
        "r2": float(r2_score(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
    }
    print(
        format_table(
            ["metric", "value"],
            [["R²", metrics["r2"]], ["MAE", metrics["mae"]], ["RMSE", metrics["rmse"]]],
        )
    )
    return metrics


def estimator_params(args) -> dict:
    """Tree parameters from the shared arguments (criterion only when given)."""
    params = {
        "max_depth": args.max_depth,
        "min_samples_leaf": args.min_samples_leaf,
        "random_state": args.seed,
    }
    if args.criterion:
        params["criterion"] = args.criterion
    return params
