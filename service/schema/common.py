"""The two base Structs, the reusable constraints and every constant the wire and the rules
share: one home for each.

* :class:`Request` forbids unknown fields: a typo such as ``holdout_shre`` is rejected at the
  boundary with a message naming the field instead of silently taking a default.
* :class:`Response` tolerates unknown fields, so an older client keeps working when the service
  adds a field.

Constraints are ``Annotated[..., Meta(...)]`` aliases (msgspec's ``docs/constraints.rst``);
cross-field rules live in ``__post_init__`` (msgspec turns a ``ValueError`` there into a
validation error naming the struct).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from stats.inference import Method

__all__ = [
    "ACTIONS",
    "CHANNEL_HOLDOUT",
    "ELIGIBLE",
    "HOLDOUT",
    "KEY_PATTERN",
    "MAX_BATCH",
    "MAX_ID_LENGTH",
    "NOT_IN_PILOT",
    "RESERVED_GROUPS",
    "Action",
    "AwareTime",
    "BatchSize",
    "CustomerId",
    "Days",
    "Direction",
    "EventId",
    "FiniteValue",
    "Interval",
    "Label",
    "LookbackDays",
    "MarginRate",
    "Method",
    "MetricKindName",
    "MinLift",
    "Money",
    "Name",
    "Owner",
    "PilotKey",
    "PilotStatus",
    "PositiveWeight",
    "Probability",
    "Request",
    "Response",
    "Salt",
    "Share",
    "Text",
    "Traffic",
    "default_method",
]

# --- groups and limits ---------------------------------------------------------------------

HOLDOUT = "holdout"
"""The randomized control group of every pilot."""
NOT_IN_PILOT = "not_in_pilot"
"""Customers outside the pilot's traffic or layer share; never recorded."""
CHANNEL_HOLDOUT = "channel_holdout"
"""Customers a running channel holdout keeps from every send of that channel (pilots included)."""
ELIGIBLE = "eligible"
"""Customers a channel may message: everyone outside its holdout."""
RESERVED_GROUPS = frozenset({HOLDOUT, NOT_IN_PILOT, CHANNEL_HOLDOUT})

MAX_BATCH = 100_000
"""Most customer ids per assignment call and events per event batch (the hard maximum;
``PILOTLIFT_MAX_BATCH`` may lower it)."""
MAX_ID_LENGTH = 128
"""Longest customer or event id (the hard maximum; ``PILOTLIFT_MAX_ID_LENGTH`` may lower it)."""

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

# --- vocabularies --------------------------------------------------------------------------

PilotStatus = Literal["draft", "running", "stopped", "concluded"]
MetricKindName = Literal["binary", "count", "sum"]
Direction = Literal["increase", "decrease"]
Action = Literal["scale", "stop", "continue", "check_data"]

ACTIONS: tuple[Action, ...] = ("scale", "stop", "continue", "check_data")


def default_method(status: str) -> Method:
    """Sequential (always valid at every look) while a pilot runs; fixed-horizon once it has
    stopped, because no further look can follow."""
    return "sequential" if status == "running" else "fixed"


# --- constraints ---------------------------------------------------------------------------

PilotKey = Annotated[str, Meta(pattern=KEY_PATTERN, description="[a-z0-9][a-z0-9_-]{0,63}")]
Share = Annotated[float, Meta(gt=0, lt=1)]
Traffic = Annotated[float, Meta(gt=0, le=1)]
Probability = Annotated[float, Meta(gt=0, lt=1)]
PositiveWeight = Annotated[float, Meta(gt=0)]
Money = Annotated[float, Meta(ge=0)]
MinLift = Annotated[float, Meta(gt=0, le=100)]
MarginRate = Annotated[float, Meta(gt=0, le=1, description="share of revenue that is profit")]
Days = Annotated[int, Meta(ge=1, le=3650)]
LookbackDays = Annotated[int, Meta(ge=0, le=3650)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Owner = Annotated[str, Meta(max_length=200)]
Text = Annotated[str, Meta(max_length=5000)]
Label = Annotated[str, Meta(min_length=1, max_length=64)]
Salt = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
CustomerId = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
EventId = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
AwareTime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a zone")]
FiniteValue = Annotated[float, Meta(ge=-1e12, le=1e12)]
Interval = tuple[float, float]
BatchSize = Meta(min_length=1, max_length=MAX_BATCH)
"""The length rule of every batch field: ``Annotated[list[...], BatchSize]``."""


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are errors, all fields are keywords."""


class Response(msgspec.Struct, kw_only=True):
    """Base of every response body: unknown fields are ignored when a client decodes."""
