"""Run the browser suite several times in a row on a loaded machine; count passes and failures.

    .venv/bin/python -m tests.e2e.loaded [--runs 10] [--cpu 0] [-- PYTEST_ARGS]

PYTEST_ARGS replace the default ``tests/e2e`` (``-- tests/e2e/test_auth_flow.py -k phone``).
    make test-browser-loaded RUNS=10

Flakes in browser tests are races between the browser, the live server's threads and the
page's own scripts; an idle machine hides most of them. Each run here pins pytest to one
CPU with ``taskset`` (Chromium and the live server's threads inherit the pin) next to a busy
loop pinned to the same CPU, so every step gets a fraction of a core, as on a loaded CI box.
Each run's output and JUnit report go to test-results/loaded/, with a screenshot and a
Playwright trace of every failed test (`playwright show-trace`) in run-N/; the summary lists
every failed test with the runs it failed in. Exit status 1 when any run failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-results" / "loaded"


def failed_tests(report: Path) -> list[str]:
    """The ids of the failed or errored tests in a JUnit report (the run's own error if none)."""
    if not report.exists():
        return ["<no report: pytest did not finish>"]
    failed = []
    for case in ET.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    return failed


def run_once(index: int, cpu: str, pytest_args: list[str]) -> tuple[int, float, list[str]]:
    report = OUT / f"run-{index}.xml"
    report.unlink(missing_ok=True)
    # pytest-playwright empties its --output folder when it starts: one folder per run.
    command = [
        "taskset",
        "-c",
        cpu,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        f"--output={OUT / f'run-{index}'}",
        "--screenshot=only-on-failure",
        "--tracing=retain-on-failure",
        *(pytest_args or ["tests/e2e"]),
    ]
    started = time.monotonic()
    with (OUT / f"run-{index}.log").open("w") as log:
        code = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    return code, time.monotonic() - started, ([] if code == 0 else failed_tests(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="how many runs (default 10)")
    parser.add_argument("--cpu", default="0", help="the CPU to pin to and load (default 0)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest instead of tests/e2e")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    busy = subprocess.Popen(["taskset", "-c", args.cpu, sys.executable, "-c", "while True: pass"])
    failures: dict[str, list[int]] = defaultdict(list)
    passed = 0
    try:
        for index in range(1, args.runs + 1):
            code, seconds, failed = run_once(index, args.cpu, args.pytest_args)
            passed += code == 0
            for test in failed:
                failures[test].append(index)
            verdict = "passed" if code == 0 else f"FAILED ({len(failed)}: {', '.join(failed)})"
            print(f"run {index}/{args.runs}: {verdict} in {seconds:.0f}s", flush=True)
    finally:
        busy.kill()
        busy.wait()

    print(
        f"\n{passed} of {args.runs} runs passed, {args.runs - passed} failed "
        f"(CPU {args.cpu} shared with a busy loop; logs in {OUT.relative_to(ROOT)}/)"
    )
    for test, runs in sorted(failures.items()):
        print(f"  {test}: failed in run(s) {', '.join(map(str, runs))}")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
