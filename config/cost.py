"""`ai-platform:cost`: the stack's monthly budget, cost-anomaly alerting and cost-allocation tags."""

from __future__ import annotations

from pydantic import Field

from config.types import Section


class CostConfig(Section):
    """`ai-platform:cost`: AWS Budgets and Cost Anomaly Detection for this stack's resources (by its `stack` tag)."""

    monthly_budget_usd: int = Field(
        3000, ge=1, le=10_000_000, description="Monthly budget (USD) of the resources tagged with this stack."
    )
    forecast_alert_percent: int = Field(
        100, ge=1, le=1000, description="Alert when the month's forecast passes this share of the budget."
    )
    actual_alert_percents: tuple[int, ...] = Field(
        (80, 100), min_length=1, description="Alert when actual spend passes each of these shares of the budget."
    )
    anomaly_threshold_usd: int = Field(
        100, ge=1, le=1_000_000, description="Smallest total impact (USD) of a cost anomaly that alerts."
    )
    manage_cost_allocation_tags: bool = Field(
        False,
        description="Activate the platform's tag keys as cost-allocation tags. An account-level setting: set true "
        "in ONE stack per payer account, and only a day after its first deployment (AWS activates only tag keys "
        "that already appear in billing data; earlier, the activation fails). Budgets filter on the stack tag.",
    )
