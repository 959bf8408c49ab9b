"""``PlanningWidget``: how many customers and days a proposed pilot needs, updated live.

Computed in the notebook with :func:`stats.plan_pilot` (the function behind ``POST /v1/plan``),
so moving a slider answers at once and works without a service.
"""

from __future__ import annotations

import inspect
from typing import Any

import ipywidgets as widgets
import traitlets

from jupyter_ext._format import warning_html
from stats import plan_pilot

__all__ = ["PlanningWidget"]

# The sliders for power, alpha and variants start at plan_pilot's own defaults, not a copy.
_PLAN_DEFAULTS = {name: p.default for name, p in inspect.signature(plan_pilot).parameters.items()}


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
        daily_customers: int = 20_000,
        sd: float = 0.0,
        power: float = _PLAN_DEFAULTS["power"],
        alpha: float = _PLAN_DEFAULTS["alpha"],
        variants: int = _PLAN_DEFAULTS["variants"],
        **kwargs: Any,
    ) -> None:
        """The sliders start at an example pilot — a 5 % conversion rate, a 6 % lift to detect,
        a 10 % holdout, 20,000 customers a day (``sd`` 0: a conversion rate) — at
        ``plan_pilot``'s own power, alpha and variants."""
        super().__init__(**kwargs)
        look = {"style": {"description_width": "10rem"}, "layout": {"width": "34rem"}}

        def slider(value: float, low: float, high: float, step: float, fmt: str, label: str) -> Any:
            return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                                       readout_format=fmt, description=label, **look)  # fmt: skip

        self.baseline = widgets.BoundedFloatText(
            value=baseline, min=1e-6, max=1e9, step=0.005, description="baseline (rate or mean)",
            **look,
        )  # fmt: skip
        self.sd = widgets.BoundedFloatText(
            value=sd, min=0, max=1e9, step=1, description="sd (0 = binary)", **look
        )
        self.min_lift = slider(min_lift, 0.005, 1.0, 0.005, ".1%", "minimum lift")
        self.holdout_share = slider(holdout_share, 0.01, 0.9, 0.01, ".0%", "holdout share")
        self.power = slider(power, 0.5, 0.99, 0.01, ".0%", "power")
        self.alpha = slider(alpha, 0.001, 0.2, 0.001, ".3f", "alpha")
        self.variants = widgets.IntSlider(
            value=variants, min=1, max=10, description="variants", **look
        )
        self.daily_customers = widgets.BoundedIntText(
            value=daily_customers, min=1, max=10**9, description="daily customers", **look
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
            self.answer.value = warning_html(str(exc))
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
