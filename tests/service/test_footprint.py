"""A service worker loads the heavy scientific stack only when an analysis needs it: importing
the server must not pull in SciPy, statsmodels, pandas or matplotlib (about 120 MB per worker,
most of the memory budget of a worker that only assigns and ingests)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "statsmodels", "pandas", "matplotlib")


def _loaded_after(code: str) -> list[str]:
    report = f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    probe = f"{code}\nimport json, sys\n{report}"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_server_starts_without_the_scientific_stack() -> None:
    assert _loaded_after("import service.runtime.server; service.runtime.server.asgi_factory") == []


def test_an_analysis_loads_what_it_needs() -> None:
    loaded = _loaded_after("from stats import srm_check; srm_check([50, 50], [0.5, 0.5])")
    assert "scipy" in loaded  # the lazy import really happens at first use
