"""Before the suite: make sure a Chromium exists for the end-to-end tests.

Debian's Chromium (/usr/bin/chromium) is used when present; otherwise Playwright's own
browser, downloaded by `playwright install chromium` where the network allows it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.e2e.conftest import CHROMIUM_CANDIDATES

if __name__ == "__main__":
    if os.environ.get("CHROMIUM_PATH") or any(shutil.which(p) for p in CHROMIUM_CANDIDATES):
        sys.exit(0)
    print("No system Chromium found; installing Playwright's Chromium ...", flush=True)
    result = subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"])
    if result.returncode != 0:
        sys.exit(
            "Could not get a Chromium for the browser tests. Install one "
            "(Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH."
        )
