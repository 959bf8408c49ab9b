"""Explicit dependency markers for the controllers (Litestar 3 drops inferred dependencies).

``engine``, ``settings`` and ``actor`` are provided once, in :func:`service.app.create_app`.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy import Engine

from service.settings import Settings

__all__ = ["ActorDep", "EngineDep", "SettingsDep"]

EngineDep = NamedDependency[Engine]
SettingsDep = NamedDependency[Settings]
ActorDep = NamedDependency[str]
"""The name of the API key that made the request (``open`` without keys): the audit's actor."""
