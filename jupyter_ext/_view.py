"""What the views of one pilot or one channel at a time share: the base of
:class:`~jupyter_ext.dashboard.PilotDashboard` and :class:`~jupyter_ext.channels.ChannelView`."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import traitlets

from jupyter_ext.client import Client

__all__ = ["PickerView"]


class PickerView(widgets.VBox):
    """A ``VBox`` fed by a :class:`Client` that shows one item at a time: a ``picker``, a
    ``refresh_button`` that calls :meth:`refresh`, an ``error`` line (its text kept on
    ``error_text``) and a ``header``. The subclass adds its own parts, lays them all out in
    ``children`` and implements :meth:`refresh`."""

    error_text = traitlets.Unicode("")

    def __init__(self, client: Client, *, item: str, width: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.picker = widgets.Dropdown(description=item, layout={"width": width})
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.header = widgets.HTML()
        self.error = widgets.HTML()

    def refresh(self) -> None:
        """Read the item's numbers again and redraw."""
        raise NotImplementedError
