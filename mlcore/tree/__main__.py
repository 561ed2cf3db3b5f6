"""Train a decision tree on a CSV file: ``python -m mlcore.tree --help``.

The tool itself is :mod:`mlcore.cli.tree`.
"""

import sys

from mlcore.cli.tree import main

if __name__ == "__main__":
    sys.exit(main())
