"""Train a decision tree on a CSV file: ``python -m mlcore.tree --help``.

Example::

    python -m mlcore.tree --data data/sample_classification.csv --target plan --rules

Prints the metrics on held-out test rows (classification: accuracy, macro precision,
recall and F1, confusion matrix; regression: R², MAE, RMSE) and, with ``--rules``, the
tree as indented if/else rules. Exit status 2 means bad input (message on stderr).
"""

from __future__ import annotations

import sys

from mlcore.cli import _common as _cli

PROG = "python -m mlcore.tree"


def build_parser():
    parser = _cli.build_supervised_parser(
        "tree", "Train and evaluate a decision tree on a CSV file."
    )
    parser.add_argument(
        "--rules", action="store_true", help="print the fitted tree as if/else rules"
    )
    return parser


def _make_model(task: str, args):
    from mlcore.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeClassifier if task == "classification" else DecisionTreeRegressor
    return cls(**_cli.estimator_params(args))


def _print_rules(model, preprocessor) -> None:
    from mlcore.tree import export_text

    print("\nrules (features as encoded: name=value columns are 0/1)")
    print(export_text(model, feature_names=list(preprocessor.feature_names_out_)))


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    return _cli.run_supervised(args, _make_model, report=_print_rules if args.rules else None)


def main(argv=None) -> int:
    """Run the tool; returns the exit status."""
    return _cli.run(_main, argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
