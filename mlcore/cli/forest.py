"""Train a random forest on a CSV file: ``python -m mlcore.forest --help``.

Example::

    python -m mlcore.forest --data data/sample_classification.csv --target plan --trees 100

Prints the metrics on held-out test rows (classification: accuracy, macro precision,
recall and F1, confusion matrix; regression: R², MAE, RMSE) and reports progress on
stderr (``trees 40/100``). Exit status 2 means bad input (message on stderr).
"""

from __future__ import annotations

import argparse
import sys

from mlcore.cli import _common as _cli

PROG = "python -m mlcore.forest"


def build_parser():
    parser = _cli.build_supervised_parser(
        "forest", "Train and evaluate a random forest on a CSV file."
    )
    parser.add_argument(
        "--trees", type=_cli.positive_int, default=100, metavar="N", help="(default: 100)"
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes for the trees; -1 uses every core (default: 1)",
    )
    parser.add_argument(
        "--max-features",
        type=_max_features,
        metavar="F",
        help="features tried per split: sqrt, log2, an integer or a fraction",
    )
    return parser


def _max_features(text: str):
    if text in ("sqrt", "log2"):
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sqrt, log2, an integer or a fraction, got {text!r}"
        ) from None


def _make_model(task: str, args):
    from mlcore.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    params = _cli.estimator_params(args)
    params.update(n_estimators=args.trees, n_jobs=args.n_jobs)
    if args.max_features is not None:
        params["max_features"] = args.max_features
    return cls(**params)


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    progress = _cli.Progress("trees")
    return _cli.run_supervised(args, _make_model, fit_kwargs={"progress": progress})


def main(argv=None) -> int:
    """Run the tool; returns the exit status."""
    return _cli.run(_main, argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
