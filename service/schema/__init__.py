"""Request and response types of the HTTP API, as msgspec Structs, one module per resource.

Nothing here imports Litestar, so the notebook client in ``jupyter_ext`` decodes responses with
exactly these types. Every public name is re-exported here; :mod:`service.schema.common` holds
the two bases, the reusable constraints and the constants the rules share.

Where a response is a :mod:`stats` result field for field, the stats type is the response type
(a frozen dataclass, which msgspec encodes and decodes like a ``Response``): ``GeoDay`` and
``GeoFit`` are :mod:`stats.geo.tbr`'s, ``PlanResponse`` extends :class:`stats.Plan`.
"""

from __future__ import annotations

from service.schema import admin as _admin
from service.schema import analysis as _analysis
from service.schema import assignment as _assignment
from service.schema import channels as _channels
from service.schema import common as _common
from service.schema import costs as _costs
from service.schema import display as _display
from service.schema import errors as _errors
from service.schema import events as _events
from service.schema import geo as _geo
from service.schema import geo_results as _geo_results
from service.schema import pilots as _pilots
from service.schema import reports as _reports
from service.schema import results as _results
from service.schema.admin import *  # noqa: F403
from service.schema.analysis import *  # noqa: F403
from service.schema.assignment import *  # noqa: F403
from service.schema.channels import *  # noqa: F403
from service.schema.common import *  # noqa: F403
from service.schema.costs import *  # noqa: F403
from service.schema.display import *  # noqa: F403
from service.schema.errors import *  # noqa: F403
from service.schema.events import *  # noqa: F403
from service.schema.geo import *  # noqa: F403
from service.schema.geo_results import *  # noqa: F403
from service.schema.pilots import *  # noqa: F403
from service.schema.reports import *  # noqa: F403
from service.schema.results import *  # noqa: F403

__all__ = [
    *_common.__all__,
    *_pilots.__all__,
    *_assignment.__all__,
    *_events.__all__,
    *_results.__all__,
    *_analysis.__all__,
    *_reports.__all__,
    *_admin.__all__,
    *_costs.__all__,
    *_display.__all__,
    *_channels.__all__,
    *_errors.__all__,
    *_geo.__all__,
    *_geo_results.__all__,
]
