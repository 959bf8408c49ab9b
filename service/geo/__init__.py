"""Geo pilots (issue 15): regional KPI rows, the design of a pilot that randomizes regions,
and its results by time-based regression (:mod:`stats.geo`). See docs/geo.md."""
