"""Audit the pinned dependencies for known vulnerabilities, honestly when offline.

pip-audit says "No known vulnerabilities found" even when it could not look a single package
up (each one is then "skipped": not found on PyPI). This wraps it and says what was checked:

- some package has a known vulnerability: list them, exit 1;
- some package could not be looked up: "NOT CHECKED" with how many and why, exit 0 (the
  vulnerability database is out of reach here; that is not a pass, and it says so);
- every package looked up, none vulnerable: "no known vulnerabilities", exit 0.

    python .ci/audit_dependencies.py requirements.txt requirements-dev.txt
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def summarize(report: dict) -> tuple[int, str]:
    """(exit code, message) for a pip-audit JSON report."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d.get('version', '?')}: "
            + ", ".join(
                f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['-'])})"
                for v in d["vulns"]
            )
            for d in vulnerable
        ]
        return 1, "dependency audit: KNOWN VULNERABILITIES\n" + "\n".join(lines)
    if not dependencies or skipped:
        reason = skipped[0]["skip_reason"] if skipped else "pip-audit listed no packages"
        return 0, (
            f"dependency audit: NOT CHECKED for {len(skipped)} of {len(dependencies)} packages "
            f"(the vulnerability database could not be reached or did not know them; e.g. "
            f"{reason}). This is not a pass."
        )
    return 0, f"dependency audit: {len(dependencies)} packages checked, no known vulnerabilities"


def main(argv: list[str]) -> int:
    files = argv or ["requirements.txt"]
    command = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip",
               "--progress-spinner", "off", "--timeout", "15", "--format", "json"]  # fmt: skip
    for name in files:
        command += ["--requirement", str(Path(name))]
    try:
        result = subprocess.run(  # noqa: S603 (fixed arguments, our requirement files)
            command, capture_output=True, text=True, timeout=300, check=False
        )
        report = json.loads(result.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        print(f"dependency audit: NOT CHECKED (pip-audit did not run: {str(detail)[-300:]})")
        return 0
    code, message = summarize(report)
    print(message)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
