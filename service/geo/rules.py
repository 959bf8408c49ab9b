"""What a geo pilot refuses, said once: customer-level calls, and designs it cannot take."""

from __future__ import annotations

from service.errors import Conflict
from service.schema import GeoDesign, Pilot

__all__ = ["geo_design_of", "regions_not_customers"]


def regions_not_customers(pilot: Pilot) -> Conflict:
    """The answer to an assignment call on a geo pilot."""
    return Conflict(
        f"Pilot {pilot.key!r} is a geo pilot: a geo pilot assigns regions, not customers. Its"
        " treated regions are in geo_design.treatment_geos (set by POST"
        f" /v1/experiments/{pilot.key}/design); post its KPI per region and day to"
        " /v1/geo-metrics."
    )


def geo_design_of(pilot: Pilot) -> GeoDesign:
    """The pilot's geo design; a customer pilot has none (409)."""
    if pilot.unit != "geo" or pilot.geo_design is None:
        raise Conflict(
            f'Pilot {pilot.key!r} randomizes customers; only a geo pilot ("unit": "geo") is'
            " designed from regional data."
        )
    return pilot.geo_design
