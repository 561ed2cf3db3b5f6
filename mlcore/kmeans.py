"""Cluster the rows of a CSV file with k-means: ``python -m mlcore.kmeans --help``.

The tool itself is :mod:`mlcore.cli.kmeans`.
"""

import sys

from mlcore.cli.kmeans import main

if __name__ == "__main__":
    sys.exit(main())
