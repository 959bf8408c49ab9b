"""The example notebook, executed headless (nbclient, a real kernel) against a real service."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.service.report_data import ReportData

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "pilot_review.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_example_notebook_runs_without_errors(
    service_url: str, pilot_data: ReportData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PILOTLIFT_URL", service_url)  # the kernel inherits the environment
    monkeypatch.setenv("PILOTLIFT_PILOT", "winner")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "Connected to " in code[0].outputs[0].data["text/plain"]
    assert "5 pilot(s)" in code[0].outputs[0].data["text/plain"]
    assert WIDGET_VIEW in code[1].outputs[0].data  # the dashboard
    table = code[2].outputs[0].data["text/html"]
    assert "relative_lift" in table and "orders" in table
    assert WIDGET_VIEW in code[4].outputs[0].data  # the planning widget
    assert "customers, about 25 days" in code[5].outputs[0].text  # four weekly looks
    assert "Weekly scale/stop review" in code[6].outputs[0].data["text/markdown"]
