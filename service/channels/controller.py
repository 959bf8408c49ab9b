"""Channel endpoints: ``/v1/channels`` (standing channel holdouts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from service.channels import costs, eligibility, lifecycle
from service.channels.results import channel_results
from service.runtime.dependencies import ActorDep, EngineDep, SettingsDep
from service.runtime.routes import action
from service.schema import (
    Channel,
    ChannelCostBatch,
    ChannelCostResult,
    ChannelCreate,
    ChannelList,
    ChannelPatch,
    ChannelResults,
    ChannelStatus,
    CustomerEligibility,
    EligibilityRequest,
    EligibilityResponse,
)
from service.schema.common import Method

__all__ = ["ChannelController"]

AsOf = Annotated[datetime | None, QueryParameter(description="RFC 3339 with a zone; default now")]
Period = Annotated[
    int | None, QueryParameter(ge=1, description="1, 2, …; default the current period")
]
MethodChoice = Annotated[
    Method | None,
    QueryParameter(description="default: sequential while the period runs, fixed once over"),
]
Cuped = Annotated[bool, QueryParameter(description="adjust for the pre-period covariate")]


class ChannelController(Controller):
    path = "/v1/channels"
    tags = ["channels"]

    @post("", operation_id="createChannel", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(
        self, data: JSONBody[ChannelCreate], engine: EngineDep, settings: SettingsDep,
        actor: ActorDep,
    ) -> Channel:  # fmt: skip
        """Declare a channel with a standing holdout, in ``draft``."""
        now = settings.clock()
        return lifecycle.channel_out(lifecycle.create_channel(engine, data, now, actor=actor), now)

    @get("", operation_id="listChannels", sync_to_thread=True)
    def list(
        self,
        engine: EngineDep,
        settings: SettingsDep,
        status: Annotated[ChannelStatus | None, QueryParameter(description="only these")] = None,
    ) -> ChannelList:
        """Every channel, oldest first; optionally only those in one status."""
        now = settings.clock()
        records = lifecycle.list_channels(engine, status)
        return ChannelList(channels=[lifecycle.channel_out(r, now) for r in records])

    @get("/{key:str}", operation_id="getChannel", sync_to_thread=True)
    def one(self, key: FromPath[str], engine: EngineDep, settings: SettingsDep) -> Channel:
        """One channel with its current period."""
        return lifecycle.channel_out(lifecycle.get_channel(engine, key), settings.clock())

    @patch("/{key:str}", operation_id="patchChannel", sync_to_thread=True)
    def patch(
        self, key: FromPath[str], data: JSONBody[ChannelPatch], engine: EngineDep,
        settings: SettingsDep, actor: ActorDep,
    ) -> Channel:  # fmt: skip
        """Change a channel; after start only name, period_days (from the next period on),
        margin_rate and budget_step."""
        now = settings.clock()
        record = lifecycle.patch_channel(engine, key, data, now, actor=actor)
        return lifecycle.channel_out(record, now)

    @action("/{key:str}/start", operation_id="startChannel")
    def start(
        self, key: FromPath[str], engine: EngineDep, settings: SettingsDep, actor: ActorDep
    ) -> Channel:
        """``draft → running``: period 1 begins; the holdout applies to eligibility and to the
        channel's pilots."""
        now = settings.clock()
        return lifecycle.channel_out(lifecycle.start_channel(engine, key, now, actor=actor), now)

    @action("/{key:str}/stop", operation_id="stopChannel")
    def stop(
        self, key: FromPath[str], engine: EngineDep, settings: SettingsDep, actor: ActorDep
    ) -> Channel:
        """``running → stopped``: the holdout ends; results stay readable."""
        now = settings.clock()
        return lifecycle.channel_out(lifecycle.stop_channel(engine, key, now, actor=actor), now)

    @action("/{key:str}/eligibility", operation_id="checkEligibility", opt={"scope": "assign"})
    def eligibility(
        self, key: FromPath[str], data: JSONBody[EligibilityRequest], engine: EngineDep,
        settings: SettingsDep,
    ) -> EligibilityResponse:  # fmt: skip
        """``eligible`` or ``channel_holdout`` for 1..100,000 customers this period; first
        memberships are recorded before answering."""
        settings.check_ids(data.customer_ids, "customer_ids")
        period, groups, _ = eligibility.check_eligibility(
            engine, key, data.customer_ids, settings.clock()
        )
        return EligibilityResponse(
            channel=key,
            period=period,
            customers=[
                CustomerEligibility(customer_id=c, group=g)  # type: ignore[arg-type]
                for c, g in zip(data.customer_ids, groups)
            ],
        )

    @action("/{key:str}/costs", operation_id="postChannelCosts")
    def post_costs(
        self, key: FromPath[str], data: JSONBody[ChannelCostBatch], engine: EngineDep,
        settings: SettingsDep, actor: ActorDep,
    ) -> ChannelCostResult:  # fmt: skip
        """Store cost rows by the caller's id; re-posting an id restates it. A negative
        amount or unknown kind rejects the batch (422 naming each row)."""
        return costs.post_costs(engine, key, data.rows, settings.clock(), actor=actor)

    @get("/{key:str}/results", operation_id="getChannelResults", sync_to_thread=True)
    def results(
        self, key: FromPath[str], engine: EngineDep, settings: SettingsDep,
        period: Period = None, as_of: AsOf = None, method: MethodChoice = None,
        cuped: Cuped = True,
    ) -> ChannelResults:  # fmt: skip
        """Everyone eligible against the channel holdout in one period (intention to treat):
        incremental conversions, revenue and profit with intervals, ROI, cost per incremental
        conversion, the channel's pilots (naive and shrunk sums), every period side by side."""
        return channel_results(engine, key, settings.as_of(as_of), period=period,
                               method=method, cuped=cuped)  # fmt: skip
