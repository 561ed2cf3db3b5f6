"""Cluster the rows of a CSV file with k-means: ``python -m mlcore.kmeans --help``.

Example::

    python -m mlcore.kmeans --data data/sample_data.csv --clusters 3 --output results.csv

The output file is the input table with a ``cluster`` column appended (0 .. k-1). Text,
yes/no and date columns are encoded by :class:`mlcore.preprocessing.TabularPreprocessor`;
identifier-like columns are skipped. Exit status 2 means bad input (message on stderr).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from mlcore.cli import _common as _cli

PROG = "python -m mlcore.kmeans"
EPILOG = """\
examples:
  python -m mlcore.kmeans --data data/sample_data.csv --clusters 3 --output results.csv
  python -m mlcore.kmeans --data data/sample_data.csv --suggest-k
  python -m mlcore.kmeans --data customers.csv --columns age,income --scale --clusters 4

The output CSV holds every input row and column plus a "cluster" column. Without
--clusters, --suggest-k picks k (the best silhouette, or the elbow of the inertia curve).
Silhouette scores use a random sample of at most 2000 rows on large files."""
SILHOUETTE_SAMPLE = 2000


def build_parser():
    parser = _cli.make_parser(PROG, "Cluster the rows of a CSV file with k-means.", EPILOG)
    parser.add_argument("--data", required=True, metavar="CSV", help="input CSV file")
    parser.add_argument(
        "--clusters", "-k", type=_cli.positive_int, metavar="K", help="number of clusters"
    )
    parser.add_argument(
        "--columns",
        metavar="A,B,...",
        help="comma-separated columns to cluster on (default: every usable column)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="standardize numeric columns first (recommended when units differ)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--suggest-k",
        action="store_true",
        help="print inertia and silhouette for k = 2..--max-k and the suggested k",
    )
    parser.add_argument(
        "--max-k", type=_cli.positive_int, default=10, help="largest k tried by --suggest-k"
    )
    parser.add_argument(
        "--output", "-o", metavar="CSV", help="write the rows with a cluster column"
    )
    parser.add_argument(
        "--save-model", metavar="PATH", help="save the model and its preprocessing (.npz)"
    )
    return parser


def main(argv=None) -> int:
    """Run the tool; returns the exit status."""
    return _cli.run(_main, argv, PROG)


def _main(argv) -> int:
    from mlcore.cluster import KMeans
    from mlcore.preprocessing import TabularPreprocessor

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.clusters is None and not args.suggest_k:
        parser.error("give --clusters K, or --suggest-k to choose k")
    df = _cli.read_table(args.data)
    columns = _cli.split_names(args.columns)
    if columns is not None:
        _cli.require_columns(df, columns)
    pre = TabularPreprocessor(scale=args.scale).fit(df[columns] if columns else df)
    X = pre.transform(df)
    print(f"{len(df)} rows; {_cli.describe_features(pre)}")

    k = args.clusters
    if args.suggest_k:
        k_chosen = _print_k_table(X, args)
        k = k or k_chosen
    if k > len(X):
        raise _cli.CLIError(f"--clusters {k} is more than the {len(X)} rows of the data")
    model = KMeans(n_clusters=k, random_state=args.seed).fit(X)
    labels = model.labels_
    print(f"\nk-means with k={k}: inertia {model.inertia_:.6g} after {model.n_iter_} iterations")
    silhouette = _silhouette(X, labels, args.seed)
    if silhouette is not None:
        print(f"silhouette {silhouette:.3f} (from -1 to 1, higher means better separated)")
    print(_cluster_profile(df, pre, labels, k))

    if args.output:
        out = df.copy()
        if "cluster" in out.columns:
            print("note: replacing the existing 'cluster' column", file=sys.stderr)
        out["cluster"] = labels
        _cli.write_table(out, args.output)
        print(f"\nwrote {len(out)} rows with a 'cluster' column to {args.output}")
    if args.save_model:
        from mlcore import persistence

        metadata = {
            "task": "clustering",
            "data": args.data,
            "n_rows": len(df),
            "metrics": {"inertia": float(model.inertia_), "silhouette": silhouette},
            "cluster_sizes": np.bincount(labels, minlength=k).tolist(),
        }
        persistence.save(model, args.save_model, preprocessor=pre, metadata=metadata)
        print(f"saved the model to {args.save_model}")
    return 0


def _silhouette(X, labels, seed) -> float | None:
    from mlcore.metrics import silhouette_score

    n_labels = len(np.unique(labels))
    if not 2 <= n_labels <= len(X) - 1:
        return None
    if len(X) > SILHOUETTE_SAMPLE:
        # Silhouette is quadratic in the rows; a fixed-seed sample estimates it well.
        rows = np.random.default_rng(seed).choice(len(X), SILHOUETTE_SAMPLE, replace=False)
        X, labels = X[rows], labels[rows]
        if len(np.unique(labels)) < 2:
            return None
    return float(silhouette_score(X, labels))


def _print_k_table(X, args) -> int:
    from mlcore.cluster import suggest_k

    max_k = min(args.max_k, len(X) - 1)
    if max_k < 2:
        raise _cli.CLIError("--suggest-k needs at least 3 rows and --max-k >= 2")
    selection = suggest_k(X, k_max=max_k, random_state=args.seed)
    rows = [
        [k, inertia, silhouette]
        for k, inertia, silhouette in zip(
            selection.ks, selection.inertias, selection.silhouettes, strict=True
        )
    ]
    print("\n" + _cli.format_table(["k", "inertia", "silhouette"], rows))
    print(
        f"suggested k: {selection.suggested_k} (elbow: {selection.elbow_k}, "
        f"best silhouette: {selection.best_silhouette_k})"
    )
    return int(selection.suggested_k)


def _cluster_profile(df, pre, labels, k) -> str:
    """Cluster sizes and, in the data's own units, the mean of numeric input columns."""
    numeric = [entry["name"] for entry in pre.schema_ if entry["kind"] == "numeric"][:6]
    sizes = np.bincount(labels, minlength=k)
    values = df[numeric].apply(pd.to_numeric, errors="coerce")
    means = values.groupby(labels).mean().reindex(range(k))
    rows = [
        [cluster, int(sizes[cluster]), f"{100 * sizes[cluster] / len(labels):.1f}%"]
        + [float(v) for v in means.loc[cluster]]
        for cluster in range(k)
    ]
    headers = ["cluster", "size", "share", *[f"mean {name}" for name in numeric]]
    return "\n" + _cli.format_table(headers, rows)


if __name__ == "__main__":
    sys.exit(main())
