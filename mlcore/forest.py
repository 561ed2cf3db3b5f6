"""Train a random forest on a CSV file: ``python -m mlcore.forest --help``.

The tool itself is :mod:`mlcore.cli.forest`.
"""

import sys

from mlcore.cli.forest import main

if __name__ == "__main__":
    sys.exit(main())
