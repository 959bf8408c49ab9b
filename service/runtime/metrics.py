"""Prometheus counters of the domain (HTTP request counts and latency come from Litestar's
Prometheus middleware)."""

from __future__ import annotations

from prometheus_client import Counter

EVENTS_INGESTED = Counter(
    "pilotlift_events_ingested_total", "Events stored (duplicates excluded)", ["type"]
)
EVENTS_DUPLICATE = Counter(
    "pilotlift_events_duplicate_total", "Events received again and not stored"
)
ASSIGNMENTS_SERVED = Counter(
    "pilotlift_assignments_served_total", "Customer ids answered by the assignment endpoint"
)
ASSIGNMENTS_RECORDED = Counter(
    "pilotlift_assignments_recorded_total", "First assignments recorded (new customers)"
)
