"""HTTP controllers: decode, call the domain, return. No rules live here."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy import Engine

from service.errors import InvalidInput
from service.settings import Settings

# Explicit dependency markers (Litestar 3 drops inferred dependencies).
EngineDep = NamedDependency[Engine]
SettingsDep = NamedDependency[Settings]


def check_batch(customer_ids: list[str], settings: Settings, field: str) -> None:
    """The configured batch and id-length limits (the schema enforces the hard maxima)."""
    if len(customer_ids) > settings.max_batch:
        raise InvalidInput(
            f"{field}: at most {settings.max_batch:,} per call on this server; got"
            f" {len(customer_ids):,}. Split the batch."
        )
    if settings.max_id_length < 128:
        long = [i for i, c in enumerate(customer_ids) if len(c) > settings.max_id_length]
        if long:
            raise InvalidInput(
                f"{field}: {len(long)} customer id(s) are longer than {settings.max_id_length}"
                f" characters (first at index {long[0]}); nothing was recorded.",
                extra=[{"index": i, "field": "customer_id"} for i in long[:100]],
            )
