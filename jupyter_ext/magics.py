"""``%load_ext jupyter_ext`` → the ``%pilotlift`` line magic.

::

    %pilotlift connect http://127.0.0.1:8000 [API_KEY]
    %pilotlift show sms-winback-w48          # the dashboard
    %pilotlift plan baseline=0.05 min_lift=0.06 holdout_share=0.1 daily_customers=20000
    %pilotlift report [2026-W47]             # the weekly review, rendered
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import Markdown

from jupyter_ext._exceptions import PilotliftClientError
from jupyter_ext.client import Client
from jupyter_ext.dashboard import PilotDashboard
from jupyter_ext.planning import PlanningWidget

__all__ = ["PilotliftMagics"]

USAGE = __doc__ or ""
_PLAN_INTS = {"variants", "daily_customers"}


@magics_class
class PilotliftMagics(Magics):
    client: Client | None = None

    @line_magic
    def pilotlift(self, line: str) -> Any:
        """connect URL [KEY] | show KEY | plan name=value ... | report [WEEK]"""
        args = shlex.split(line)
        if not args:
            raise UsageError(USAGE)
        command, rest = args[0], args[1:]
        try:
            if command == "connect":
                return self._connect(rest)
            if command == "plan":
                return PlanningWidget(**_plan_values(rest))
            client = self._client()
            if command == "show":
                return PilotDashboard(client, rest[0] if rest else None)
            if command == "report":
                return Markdown(client.weekly_report_text(rest[0] if rest else None))
        except PilotliftClientError as exc:
            raise UsageError(f"pilotlift: {exc}") from None
        raise UsageError(f"unknown command {command!r}.\n{USAGE}")

    def _connect(self, rest: list[str]) -> str:
        if not 1 <= len(rest) <= 2:
            raise UsageError("usage: %pilotlift connect URL [API_KEY]")
        client = Client(rest[0], rest[1] if len(rest) == 2 else None)
        pilots = client.pilots()  # fails here, readably, when the URL or key is wrong
        type(self).client = client
        return f"Connected to {client.url}: {len(pilots)} pilot(s)."

    def _client(self) -> Client:
        if self.client is None:
            raise UsageError("not connected: run %pilotlift connect URL [API_KEY] first.")
        return self.client


def _plan_values(items: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"plan takes name=value pairs, got {item!r}")
        try:
            values[name] = int(raw) if name in _PLAN_INTS else float(raw)
        except ValueError:
            raise UsageError(f"{name}: {raw!r} is not a number") from None
    known = {"baseline", "min_lift", "holdout_share", "power", "alpha", "variants",
             "daily_customers", "sd"}  # fmt: skip
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"unknown plan input(s) {', '.join(unknown)}; use {sorted(known)}")
    return values
