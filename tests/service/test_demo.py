"""`pilotlift demo` (the README's main command) runs end to end on a small population."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_a_simulated_pilot_and_prints_results(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "demo",
            "--exit",
            "--port",
            "0",
            "--customers",
            "20000",
            "--database",
            str(tmp_path / "demo.db"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    arms = dict(re.findall(r"^(holdout|sms_a|sms_b)\s+([\d,]+)", out, flags=re.M))
    sizes = {k: int(v.replace(",", "")) for k, v in arms.items()}
    assert sum(sizes.values()) == 20_000
    assert abs(sizes["holdout"] / 20_000 - 0.2) < 0.02
    assert re.search(r"^sms_a\s+orders\s+[+-]\d", out, flags=re.M)
    assert "Sample-ratio check: p = " in out and "(ok)" in out
    assert "Incremental revenue" in out
    assert "sequential inference" in out
    # The structural-zero unsubscribe guardrail is judged on its rate against the cap.
    assert re.search(r"guardrail (non_inferior|inconclusive): upper bound [\d.]+% against max rate"
                     r" 1\.000%", out)  # fmt: skip
    assert re.search(r"^Decision per variant: sms_a [A-Z_]+, sms_b [A-Z_]+$", out, flags=re.M)
    assert re.search(r"^Recommended decision: (SCALE|STOP|CONTINUE|CHECK_DATA)$", out, flags=re.M)
    assert "# Weekly scale/stop review — 2026-W47" in out
    assert "compared with 2026-W46 (published)" in out
    assert (tmp_path / "demo.db").exists()
