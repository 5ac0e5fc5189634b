"""`scripts/screenshots.py` for real: builds the demo (quick: two conversations on the built-in
model), starts the app, drives headless Chromium and writes one PNG per main page, each under
300 kB. Skipped where Chromium is missing, like tests/test_browser.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytest.importorskip("selenium.webdriver")
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium/chromedriver not installed")]
MAIN_PAGES = ["home", "chat", "agents", "knowledge", "traces", "usage", "playground"]


def test_screenshot_command_writes_one_small_png_per_main_page(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WORKBENCH_DATA_DIR")}
    done = subprocess.run([sys.executable, "scripts/screenshots.py", "--out", str(tmp_path), "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    for page in MAIN_PAGES:
        png = tmp_path / f"{page}.png"
        assert png.is_file(), page
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(data) < 300_000, (page, len(data))
