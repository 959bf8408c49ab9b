"""pilotlift in JupyterLab: a client that returns the service's own types and DataFrames, a
live pilot dashboard, a channel view, a planning widget and the ``%pilotlift`` magic.

    %load_ext jupyter_ext
    %pilotlift connect http://127.0.0.1:8000
    %pilotlift show sms-winback-w48
"""

from __future__ import annotations

from typing import Any

from jupyter_ext._exceptions import PilotliftClientError
from jupyter_ext.channels import ChannelView
from jupyter_ext.client import Client
from jupyter_ext.dashboard import PilotDashboard
from jupyter_ext.frames import PilotResults, PilotTimeseries
from jupyter_ext.planning import PlanningWidget

__all__ = [
    "ChannelView",
    "Client",
    "PilotDashboard",
    "PilotResults",
    "PilotTimeseries",
    "PilotliftClientError",
    "PlanningWidget",
    "load_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext jupyter_ext``: registers the ``%pilotlift`` magic."""
    from jupyter_ext.magics import PilotliftMagics

    ipython.register_magics(PilotliftMagics)
