"""mlcore against scikit-learn: fit/predict time, peak memory and quality, side by side.

Run from the repository root::

    .venv/bin/python -m bench.ml_vs_sklearn            # the full table
    .venv/bin/python -m bench.ml_vs_sklearn --quick    # small shapes, a smoke run
    .venv/bin/python -m bench.ml_vs_sklearn --only KMeans
    .venv/bin/python -m bench.ml_vs_sklearn --only "long tail" --json   # one JSON line each

Every measurement runs in a fresh subprocess so peak memory (VmHWM, reset after the data
is made) belongs to one estimator alone. Ratios are ours / theirs: below 1 means mlcore
is faster or leaner; for inertia, 1.000 means the same quality.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench.workloads_kmeans import WORKLOADS as KMEANS_WORKLOADS
from bench.workloads_trees import WORKLOADS as TREE_WORKLOADS

WORKLOADS = KMEANS_WORKLOADS + TREE_WORKLOADS


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def measure(name: str, side: str) -> dict:
    """Fit and predict one workload with one side's estimator in this process."""
    workload = next(w for w in WORKLOADS if w.name == name)
    X_train, y_train, X_test, y_test = workload.make_data()
    data_mib = X_train.nbytes / 2**20
    estimator = (workload.ours if side == "ours" else workload.theirs)()
    _reset_peak_rss()
    baseline = _status_kib("VmRSS")
    start = time.perf_counter()
    estimator.fit(X_train) if y_train is None else estimator.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = estimator.predict(X_test)
    predict_s = time.perf_counter() - start
    peak_mib = (_status_kib("VmHWM") - baseline) / 1024
    if workload.quality == "inertia":
        quality = float(estimator.inertia_)
    elif workload.quality == "r2":
        residual = ((y_test - predicted) ** 2).sum()
        quality = float(1.0 - residual / ((y_test - y_test.mean()) ** 2).sum())
    else:
        quality = float((predicted == y_test).mean())
    return {
        "fit_s": fit_s,
        "predict_s": predict_s,
        "peak_mib": peak_mib,
        "data_mib": data_mib,
        "quality": quality,
    }


def _measure_in_subprocess(name: str, side: str) -> dict:
    # S603: our own interpreter and module, with a workload name from our own table.
    out = subprocess.run(
        [sys.executable, "-m", "bench.ml_vs_sklearn", "--measure", name, side],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small smoke workloads")
    parser.add_argument("--only", help="only workloads whose name contains this text")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per workload instead of the table"
    )
    parser.add_argument("--measure", nargs=2, metavar=("NAME", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    chosen = [
        w for w in WORKLOADS if w.quick == args.quick and (args.only is None or args.only in w.name)
    ]
    header = (
        f"{'workload':<44} {'fit ours':>9} {'fit skl':>9} {'ratio':>6} "
        f"{'pred ours':>9} {'pred skl':>9} {'ratio':>6} {'mem ours':>9} {'mem skl':>9} "
        f"{'ratio':>6} {'quality ours':>13} {'quality skl':>13} {'ratio':>7}"
    )
    if not args.json:
        print(header)
        print("-" * len(header))
    for workload in chosen:
        ours = _measure_in_subprocess(workload.name, "ours")
        theirs = _measure_in_subprocess(workload.name, "sklearn")
        if args.json:
            print(json.dumps({"workload": workload.name, "ours": ours, "sklearn": theirs}))
            continue
        print(
            f"{workload.name:<44} {ours['fit_s']:>8.3f}s {theirs['fit_s']:>8.3f}s "
            f"{ours['fit_s'] / theirs['fit_s']:>6.2f} "
            f"{ours['predict_s']:>8.3f}s {theirs['predict_s']:>8.3f}s "
            f"{ours['predict_s'] / max(theirs['predict_s'], 1e-9):>6.2f} "
            f"{ours['peak_mib']:>7.0f}MB {theirs['peak_mib']:>7.0f}MB "
            f"{ours['peak_mib'] / max(theirs['peak_mib'], 1e-9):>6.2f} "
            f"{workload.quality[:3]} {ours['quality']:>9.4g} {theirs['quality']:>13.4g} "
            f"{ours['quality'] / theirs['quality']:>7.4f}",
            flush=True,
        )
        if workload.quality == "inertia":
            print(
                f"{'':<44} data {ours['data_mib']:.0f} MB; peak ours / data = "
                f"{ours['peak_mib'] / ours['data_mib']:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
