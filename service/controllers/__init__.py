"""HTTP controllers: decode, call the domain, return. No rules live here."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy import Engine

from service.settings import Settings

# Explicit dependency markers (Litestar 3 drops inferred dependencies).
EngineDep = NamedDependency[Engine]
SettingsDep = NamedDependency[Settings]
