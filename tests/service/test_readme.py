"""The README's curl walk-through, run as written (bash, curl, GNU date) against a fresh server:
a newcomer who copies it on any day finds the customer, the exposure and the conversion."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.testing import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- walkthrough: tests/service/test_readme.py runs this block as written -->"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) + len(MARKER) :]
    match = re.match(r"\s*```bash\n(.*?)\n```", after, re.DOTALL)
    assert match is not None, "the marker must be followed by a ```bash block"
    return match.group(1)


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "readme.db")
    server.start()
    yield server
    server.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through needs curl")
def test_readme_walkthrough_finds_the_customer_exposure_and_conversion(
    fresh_server: ServerProcess,
) -> None:
    script = "set -euo pipefail\n" + walkthrough()
    run = subprocess.run(
        ["bash", "-c", script],
        env=dict(os.environ, BASE=fresh_server.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert '"accepted":2,"duplicates":0' in run.stdout  # the events were stored
    with httpx.Client(base_url=fresh_server.url) as http:
        pilot = "sms-winback-w48"
        group = http.get(f"/v1/experiments/{pilot}/assignments/c1").json()["group"]
        results = http.get(f"/v1/experiments/{pilot}/results").json()
    arms = {a["group"]: a for a in results["arms"]}
    assert sum(a["customers"] for a in arms.values()) == 3
    c1 = arms[group]
    assert c1["exposed"] == 1 and c1["exposures"] == 1
    assert c1["metrics"]["orders"]["total"] == 1
    assert c1["metrics"]["revenue"]["total"] == pytest.approx(42.5)
    # The walk-through prints the same results as its last answer.
    assert run.stdout.rstrip().endswith("}") and '"experiment":"sms-winback-w48"' in run.stdout
