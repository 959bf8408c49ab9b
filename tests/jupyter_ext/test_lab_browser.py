"""A real JupyterLab on loopback, the example notebook opened in headless Chromium, all cells
run, and the dashboard rendered in the page (decision text and plots in the DOM)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from service.runtime.server import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def lab(service_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "examples" / "pilot_review.ipynb", root / "pilot_review.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    # Render every cell (no virtual scrolling, so the dashboard stays in the DOM) and no
    # news prompt over the page.
    settings = tmp_path_factory.mktemp("lab-settings")
    for name, value in [
        ("notebook-extension/tracker", '{"windowingMode": "none"}'),
        ("apputils-extension/notification", '{"fetchNews": "false"}'),
    ]:
        path = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)
    env = dict(
        os.environ,
        PILOTLIFT_URL=service_url,
        PILOTLIFT_PILOT="winner",
        JUPYTER_CONFIG_DIR=str(root / ".jupyter"),
        JUPYTER_RUNTIME_DIR=str(root / ".rt"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "lab exited")
        try:
            if httpx.get(f"{url}/api/status?token={token}", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    yield f"{url}/lab/tree/pilot_review.ipynb?token={token}"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


DIALOGS: list[str] = []


def _accept_dialogs(page: Page) -> None:
    """A slow kernel start can make JupyterLab ask which kernel to use; accept its proposal
    (the notebook's own python3) and remember what was asked."""
    dialog = page.locator(".jp-Dialog")
    while dialog.count() and dialog.first.is_visible():
        DIALOGS.append(dialog.first.inner_text())
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()
        page.wait_for_timeout(500)


def _run_all(page: Page) -> None:
    """Run All Cells from the menu, once the kernel is idle; repeated until the *last* cell has
    run or is running, because a click that lands while the kernel connection is still being
    set up is dropped, and a reconnection can cancel the cells queued behind the first."""
    page.locator(".jp-NotebookPanel").first.wait_for(timeout=120_000)
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    ran = re.compile(r"\[(\d+|\*)\]")
    for _attempt in range(10):
        _accept_dialogs(page)
        with contextlib.suppress(AssertionError):
            expect(page.locator(".jp-StatusBar-Component", has_text="Idle").first).to_be_visible(
                timeout=30_000
            )
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            expect(prompts.last).to_contain_text(ran, timeout=60_000)
            return
        except AssertionError:
            continue
    raise AssertionError("JupyterLab never ran the notebook's cells")


def test_dashboard_renders_in_jupyterlab(lab: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(lab)
            _run_all(page)
            dashboard = page.locator(".pilotlift-dashboard").first
            try:
                dashboard.wait_for(timeout=180_000)
            except Exception as error:  # say what the notebook showed instead
                page.screenshot(path=str(ARTIFACTS / "jupyterlab-failure.png"), full_page=True)
                shown = page.locator(".jp-OutputArea-output").all_inner_texts()
                raise AssertionError(f"no dashboard; outputs: {shown[:10]}") from error
            decision = dashboard.locator(".pilotlift-decision")
            expect(decision).to_contain_text("SCALE", timeout=60_000)
            expect(decision).to_contain_text("significantly better than the holdout")
            plots = dashboard.locator("svg")
            expect(plots).to_have_count(2, timeout=60_000)
            box = plots.first.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            expect(page.locator(".pilotlift-planning").first).to_contain_text("customers in total")
            dashboard.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-dashboard.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "jupyterlab-dashboard.png").stat().st_size > 10_000
