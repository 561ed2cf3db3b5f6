"""What a web worker carries after start-up, and what a full garbage collection costs it, with
the ML stack imported eagerly (as before :mod:`webapp.lazy`) and lazily (now).

    .venv/bin/python -m bench.imports [--repeat 7]

Each set-up runs in a fresh interpreter: ``create_app`` on a throw-away SQLite database, then
what the set-up names. "eager" also imports the modules that start-up used to import (the
services that handle tables, models and plots, hence numpy, pandas, matplotlib and mlcore:
the same 1,348 modules and 171k objects as ``create_app`` before the change); "lazy" is
``create_app`` alone; "+ freeze" calls ``gc.freeze()`` after start-up as the gunicorn
configuration does; "then ML" imports the ML stack after that, as the first request that
handles a table or a plot does; "and freeze again" freezes once more after that.

Prints modules, objects the collector tracks, the time of a full collection (best of
``--repeat``: the machine is shared) and the resident memory, with ratios to "eager"; then
the seconds from start to a built app, and what importing the ML stack later costs the first
request that needs it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from webapp import ROOT

# What start-up imported before the ML stack was bound lazily (the modules are the same, the
# plot drawing now lives in its own module).
ML_MODULES = [
    "webapp.services.profiling",
    "webapp.services.predictions",
    "webapp.services.plot_drawing",
]

# (ML imported before the freeze, gc.freeze() after start-up, ML imported after it, freeze again)
SETUPS = {
    "eager": (True, False, False, False),
    "lazy": (False, False, False, False),
    "eager + freeze": (True, True, False, False),
    "lazy + freeze": (False, True, False, False),
    "lazy + freeze, then ML": (False, True, True, False),
    "... and freeze again": (False, True, True, True),
}

MEASURE = """
import time
started = time.perf_counter()
import gc, importlib, json, sys
from webapp import create_app

setup = json.loads(sys.argv[1])
app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///" + sys.argv[2] + "/bench.db",
                  "INSTANCE_PATH": sys.argv[2], "SECRET_KEY": "bench-imports-0123456789abcdef",
                  "RUN_SWEEP_SECONDS": 0, "REDIS_URL": None})
if setup["ml_before_freeze"]:
    for name in setup["modules"]:
        importlib.import_module(name)
startup = time.perf_counter() - started
gc.collect()
if setup["freeze"]:
    gc.freeze()
later = time.perf_counter()
if setup["ml_after_freeze"]:
    for name in setup["modules"]:
        importlib.import_module(name)
later = time.perf_counter() - later
gc.collect()
if setup["freeze_again"]:
    gc.freeze()
times = []
for _ in range(setup["repeat"]):
    start = time.perf_counter()
    gc.collect()
    times.append((time.perf_counter() - start) * 1000)
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS"))
print(json.dumps({"modules": len(sys.modules), "objects": len(gc.get_objects()),
                  "gc_ms": min(times), "rss_mb": rss / 1024, "startup_s": startup,
                  "later_s": later}))
"""


def measure(setup: tuple, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        keys = ("ml_before_freeze", "freeze", "ml_after_freeze", "freeze_again")
        args = json.dumps({**dict(zip(keys, setup, strict=True)), "repeat": repeat,
                           "modules": ML_MODULES})  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", MEASURE, args, tmp],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="full collections per set-up")
    args = parser.parse_args(argv)

    rows = {name: measure(setup, args.repeat) for name, setup in SETUPS.items()}
    base = rows["eager"]
    heads = [("modules", 8), ("ratio", 6), ("objects", 9), ("ratio", 6), ("full gc", 9),
             ("ratio", 6), ("RSS", 8), ("ratio", 6), ("start-up", 9), ("ML later", 9)]  # fmt: skip
    print(f"{'set-up':<24} " + " ".join(f"{head:>{width}}" for head, width in heads))
    for name, row in rows.items():
        later = f"{row['later_s']:>8.2f}s" if SETUPS[name][2] else f"{'':>9}"
        print(
            f"{name:<24} {row['modules']:>8} {row['modules'] / base['modules']:>6.2f} "
            f"{row['objects']:>9} {row['objects'] / base['objects']:>6.2f} "
            f"{row['gc_ms']:>7.1f}ms {row['gc_ms'] / base['gc_ms']:>6.2f} "
            f"{row['rss_mb']:>6.0f}MB {row['rss_mb'] / base['rss_mb']:>6.2f} "
            f"{row['startup_s']:>8.2f}s {later}"
        )


if __name__ == "__main__":
    main()
