"""``PlanningWidget``: how many customers and days a proposed pilot needs, updated live.

Computed in the notebook with :func:`stats.plan_pilot` (the function behind ``POST /v1/plan``),
so moving a slider answers at once and works without a service.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import traitlets

from stats import plan_pilot

__all__ = ["PlanningWidget"]


class PlanningWidget(widgets.VBox):
    """Sliders for the plan's inputs and a live answer; ``plan`` holds the numbers."""

    plan = traitlets.Dict()
    error_text = traitlets.Unicode("")

    def __init__(
        self,
        *,
        baseline: float = 0.05,
        min_lift: float = 0.06,
        holdout_share: float = 0.1,
        power: float = 0.8,
        alpha: float = 0.05,
        variants: int = 1,
        daily_customers: int = 20_000,
        sd: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        style = {"description_width": "10rem"}
        layout = {"width": "34rem"}
        self.baseline = widgets.BoundedFloatText(
            value=baseline,
            min=1e-6,
            max=1e9,
            step=0.005,
            description="baseline (rate or mean)",
            style=style,
            layout=layout,
        )
        self.sd = widgets.BoundedFloatText(
            value=sd,
            min=0,
            max=1e9,
            step=1,
            description="sd (0 = binary)",
            style=style,
            layout=layout,
        )
        self.min_lift = widgets.FloatSlider(
            value=min_lift,
            min=0.005,
            max=1.0,
            step=0.005,
            readout_format=".1%",
            description="minimum lift",
            style=style,
            layout=layout,
        )
        self.holdout_share = widgets.FloatSlider(
            value=holdout_share,
            min=0.01,
            max=0.9,
            step=0.01,
            readout_format=".0%",
            description="holdout share",
            style=style,
            layout=layout,
        )
        self.power = widgets.FloatSlider(
            value=power,
            min=0.5,
            max=0.99,
            step=0.01,
            readout_format=".0%",
            description="power",
            style=style,
            layout=layout,
        )
        self.alpha = widgets.FloatSlider(
            value=alpha,
            min=0.001,
            max=0.2,
            step=0.001,
            readout_format=".3f",
            description="alpha",
            style=style,
            layout=layout,
        )
        self.variants = widgets.IntSlider(
            value=variants, min=1, max=10, description="variants", style=style, layout=layout
        )
        self.daily_customers = widgets.BoundedIntText(
            value=daily_customers,
            min=1,
            max=10**9,
            description="daily customers",
            style=style,
            layout=layout,
        )
        self.answer = widgets.HTML()
        inputs = [
            self.baseline,
            self.sd,
            self.min_lift,
            self.holdout_share,
            self.power,
            self.alpha,
            self.variants,
            self.daily_customers,
        ]
        self.children = [*inputs, self.answer]
        self.add_class("pilotlift-planning")
        for w in inputs:
            w.observe(lambda _change: self.update(), names="value")
        self.update()

    def update(self) -> None:
        try:
            p = plan_pilot(
                baseline=self.baseline.value,
                min_lift=self.min_lift.value,
                alpha=self.alpha.value,
                power=self.power.value,
                holdout_share=self.holdout_share.value,
                variants=self.variants.value,
                daily_customers=self.daily_customers.value,
                sd=self.sd.value or None,
            )
        except ValueError as exc:
            self.error_text = str(exc)
            self.plan = {}
            self.answer.value = f'<span style="color:#cf222e">⚠ {exc}</span>'
            return
        self.error_text = ""
        self.plan = {
            "holdout_customers": p.holdout_customers,
            "customers_per_variant": p.customers_per_variant,
            "total_customers": p.total_customers,
            "days": p.days,
        }
        self.answer.value = (
            f"<b>{p.total_customers:,}</b> customers in total — holdout"
            f" {p.holdout_customers:,}, each variant {p.customers_per_variant:,} — about"
            f" <b>{p.days} day(s)</b> at {self.daily_customers.value:,} a day."
        )
