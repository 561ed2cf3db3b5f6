"""The command-line tools, run as ``python -m mlcore.kmeans``, ``mlcore.tree`` and
``mlcore.forest`` (those modules only start the tools kept here).

Each tool reads a CSV file, prepares it with :class:`mlcore.preprocessing.TabularPreprocessor`,
fits an estimator and prints what a person needs; ``_common`` holds what they share (reading
tables, the supervised parser and run, progress on stderr, exit status 2 for bad input).
"""
