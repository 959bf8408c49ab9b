"""Geo pilots: channels that cannot hold out single customers (paid social, TV, outdoor) are
randomized by region and analysed by time-based regression.

* :mod:`stats.geo.panel` — the daily KPI per region and what makes it unusable;
* :mod:`stats.geo.tbr` — TBR (Kerman, Wang & Vaver 2017) with an interval calibrated for
  autocorrelated errors; relative lift, iROAS, the daily series;
* :mod:`stats.geo.design` — salted, size-stratified randomization and the minimum detectable
  lift from the pre-period;
* :mod:`stats.geo.simulate` — panels shaped like real ones (pure numpy);
* :mod:`stats.geo.montecarlo` — seeded checks of A/A, coverage and power.

Like the rest of :mod:`stats`: pure functions, frozen results, SciPy and statsmodels imported
on first use.
"""

from stats.geo.design import (
    DesignCandidate,
    DesignStatus,
    GeoDesign,
    assign_geos,
    candidate_salt,
    design_geo_pilot,
    seed_from_salt,
)
from stats.geo.panel import (
    GeoPanel,
    MissingDays,
    PanelCheck,
    PanelStatus,
    Period,
    check_panel,
    format_days,
)
from stats.geo.simulate import (
    LiftedPanel,
    SimulatedPanel,
    inject_lift,
    random_shape,
    simulate_panel,
)
from stats.geo.tbr import *  # noqa: F403
from stats.geo.tbr import __all__ as _tbr_all

# tbr.py's public names as its own __all__ lists them (the star import above), then the rest.
__all__ = [
    *_tbr_all,
    "DesignCandidate",
    "DesignStatus",
    "GeoDesign",
    "GeoPanel",
    "LiftedPanel",
    "MissingDays",
    "PanelCheck",
    "PanelStatus",
    "Period",
    "SimulatedPanel",
    "assign_geos",
    "candidate_salt",
    "check_panel",
    "design_geo_pilot",
    "format_days",
    "inject_lift",
    "random_shape",
    "seed_from_salt",
    "simulate_panel",
]
