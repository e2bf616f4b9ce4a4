"""Operations: maintenance windows (Karpenter budgets, no overlap with database and backup windows, notices ahead
of them), the stack's budget, cost-anomaly alerts and cost-allocation tags."""

from __future__ import annotations

import json

import pytest

from config import StackConfigError
from config.maintenance import MaintenanceConfig
from policy.rules.operations import budget_present, maintenance_window_set
from tests.conftest import primary_site, stack_config

PROD_WINDOW = "wed:09:00-wed:11:00"


def error_of(stack: str, overrides: dict) -> str:
    with pytest.raises(StackConfigError) as raised:
        stack_config(stack, overrides)
    return str(raised.value)


# --- windows -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "schedule", "duration"),
    [
        (PROD_WINDOW, "0 11 * * 3", "166h"),  # closed from Wednesday 11:00 for the rest of the week
        ("sun:23:00-mon:01:30", "30 1 * * 1", "165h30m"),  # wraps midnight into Monday
        ("sat:22:00-sat:23:00", "0 23 * * 6", "167h"),
    ],
)
def test_the_closed_period_is_the_rest_of_the_week_after_the_window(window, schedule, duration) -> None:
    assert MaintenanceConfig(window=window).closed_period() == (schedule, duration)


def test_karpenter_replaces_nodes_for_the_held_reasons_only_inside_the_window(plan_of) -> None:
    prod = plan_of("prod")
    [pool] = primary_site(prod).by_type("kubernetes:karpenter.sh/v1:NodePool")
    budgets = pool.inputs["spec"]["disruption"]["budgets"]
    assert budgets == [
        {"nodes": "10%"},
        {"nodes": "0", "reasons": ["Drifted", "Underutilized"], "schedule": "0 11 * * 3", "duration": "166h"},
    ]
    # The warm standby's cluster keeps the same window (one maintenance window per stack).
    assert prod.by_name("prod-dr-addons-karpenter-nodepool").inputs["spec"]["disruption"]["budgets"] == budgets
    [dev_pool] = plan_of("dev").by_type("kubernetes:karpenter.sh/v1:NodePool")
    assert [b for b in dev_pool.inputs["spec"]["disruption"]["budgets"] if "schedule" in b] == []


def test_a_window_overlapping_a_backup_job_or_the_database_window_is_refused() -> None:
    assert error_of("prod", {"ai-platform:maintenance": {"window": "sun:05:30-sun:06:30"}}) == (
        "invalid stack configuration:\n  Pulumi.prod.yaml: ai-platform:maintenance.window: sun:05:30-sun:06:30 "
        "overlaps backup.daily_start (from sun 05:30 UTC); allowed: a window outside it"
    )
    assert "overlaps database.maintenance_window (from tue 09:30 UTC)" in error_of(
        "prod", {"ai-platform:maintenance": {"window": "tue:09:30-tue:12:00"}}
    )
    # The database's own maintenance window is held clear of the AWS Backup jobs too.
    assert "ai-platform:database.maintenance_window: sun:06:00-sun:07:00 overlaps backup.weekly_start" in error_of(
        "prod", {"ai-platform:database": {"maintenance_window": "sun:06:00-sun:07:00"}}
    )
    # Moving the daily backup job moves what the window must avoid.
    moved = {
        "ai-platform:maintenance": {"window": "sun:05:30-sun:06:00"},
        "ai-platform:backup": {"daily_start": "04:00"},
    }
    config = stack_config("prod", moved)
    assert config.maintenance.window == "sun:05:30-sun:06:00"


def test_backup_job_times_come_from_config(plan_of) -> None:
    plan = plan_of("prod", {"ai-platform:backup": {"daily_start": "04:30", "weekly_start": "sat:06:15"}})
    [backup_plan] = plan.by_type("aws:backup/plan:Plan")
    schedules = {rule["ruleName"]: rule["schedule"] for rule in backup_plan.inputs["rules"]}
    assert schedules["daily"] == "cron(30 4 ? * * *)"
    assert schedules["weekly"] == "cron(15 6 ? * SAT *)"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"window": "wed:09:00-wed:09:10"}, "lasts 10 minutes; allowed: at least 30 minutes"),
        ({"window": "wed:09:00-thu:12:00"}, "lasts 27 hours; allowed: at most 24 hours"),
        ({"window": "mid:09:00-wed:10:00"}, "does not start with a weekday"),
        ({"notice_subscribers": [{"protocol": "email", "endpoint": "ops.example.com"}]}, "is not an email address"),
        (
            {"notice_subscribers": [{"protocol": "https", "endpoint": "https://user:pw@status.example.com/hook"}]},
            "allowed: https://host/path (no credentials)",
        ),
        ({"window_reasons": []}, "empty while a window is set"),
    ],
)
def test_bad_maintenance_settings_name_the_key_and_what_is_allowed(settings, message) -> None:
    text = error_of("prod", {"ai-platform:maintenance": settings})
    assert "Pulumi.prod.yaml: ai-platform:maintenance." in text
    assert message in text


def test_users_get_a_notice_the_configured_hours_before_each_window(plan_of) -> None:
    subscribers = [
        {"protocol": "email", "endpoint": "users@example.com"},
        {"protocol": "https", "endpoint": "https://status.example.com/hooks/maintenance"},
    ]
    plan = plan_of("prod", {"ai-platform:maintenance": {"notice_hours": 30, "notice_subscribers": subscribers}})
    [schedule] = plan.by_type("aws:scheduler/schedule:Schedule")
    # Wednesday 09:00 minus 30 hours is Tuesday 03:00 UTC.
    assert schedule.inputs["scheduleExpression"] == "cron(0 3 ? * TUE *)"
    assert schedule.inputs["scheduleExpressionTimezone"] == "Etc/UTC"
    message = json.loads(schedule.inputs["target"]["input"])
    assert (message["stack"], message["window_utc"], message["starts_in_hours"]) == ("prod", PROD_WINDOW, 30)
    topic = next(t for t in plan.by_type("aws:sns/topic:Topic") if t.inputs["name"].endswith("maintenance-notices"))
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert schedule.inputs["target"]["arn"].endswith(":ai-platform-prod-maintenance-notices")
    endpoints = sorted(s.inputs["endpoint"] for s in plan.by_type("aws:sns/topicSubscription:TopicSubscription"))
    assert {"users@example.com", "https://status.example.com/hooks/maintenance"} <= set(endpoints)
    # The scheduler's role may publish to that topic and use its key through SNS, nothing else.
    [grant] = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if "notice-scheduler" in p.name]
    statements = json.loads(grant.inputs["policy"])["Statement"]
    assert {s["Sid"]: s["Action"] for s in statements} == {
        "PublishNotice": "sns:Publish",
        "EncryptNoticeThroughSns": ["kms:GenerateDataKey", "kms:Decrypt"],
    }
    assert plan_of("dev").by_type("aws:scheduler/schedule:Schedule") == []  # dev has no window


# --- cost ----------------------------------------------------------------------------------------------------------


def test_each_stack_has_a_monthly_budget_on_its_own_tag_alerting_the_alert_topics(plan_of, any_stack) -> None:
    [budget] = plan_of(any_stack).by_type("aws:budgets/budget:Budget")
    inputs = budget.inputs
    assert (inputs["budgetType"], inputs["timeUnit"], inputs["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert inputs["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:stack${any_stack}"]}]
    expected = {"dev": "500.00", "staging": "1200.00", "prod": "3000.00"}[any_stack]
    assert inputs["limitAmount"] == expected
    routes = {
        (n["notificationType"], n["threshold"]): n["subscriberSnsTopicArns"][0].rsplit("-", 1)[-1]
        for n in inputs["notifications"]
    }
    assert routes == {("ACTUAL", 80): "info", ("ACTUAL", 100): "warning", ("FORECASTED", 100): "warning"}


def test_the_alert_topics_and_their_key_admit_budgets_and_cost_anomaly_detection(plan_of) -> None:
    plan = primary_site(plan_of("prod"))  # the topics the stack's budget and anomaly subscription publish to
    policy = json.loads(
        next(p for p in plan.by_type("aws:sns/topicPolicy:TopicPolicy") if "alarms-warning" in p.name).inputs["policy"]
    )
    publishers = {s["Sid"]: s for s in policy["Statement"]}
    assert publishers["BudgetsPublish"]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert publishers["BudgetsPublish"]["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:budgets::123456789012:budget/ai-platform-prod-*"
    }
    assert publishers["CostAnomalyDetectionPublish"]["Principal"] == {"Service": "costalerts.amazonaws.com"}
    [alerts_key] = [k for k in plan.by_type("aws:kms/key:Key") if k.name.endswith("-alerts-key")]
    key_policy = json.loads(alerts_key.inputs["policy"])
    [publish] = [s for s in key_policy["Statement"] if s["Sid"] == "AlarmsAndEventBridgePublishEncryptedAlerts"]
    assert {"budgets.amazonaws.com", "costalerts.amazonaws.com"} <= set(publish["Principal"]["Service"])


def test_cost_anomalies_of_the_stack_alert_the_warning_topic(plan_of) -> None:
    plan = plan_of("staging")
    [monitor] = plan.by_type("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    assert monitor.inputs["monitorType"] == "CUSTOM"
    assert json.loads(monitor.inputs["monitorSpecification"]) == {
        "Tags": {"Key": "stack", "Values": ["staging"], "MatchOptions": ["EQUALS"]}
    }
    [subscription] = plan.by_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert subscription.inputs["frequency"] == "IMMEDIATE"
    assert subscription.inputs["subscribers"][0]["address"].endswith("-alerts-warning")
    assert subscription.inputs["thresholdExpression"]["dimension"]["values"] == ["50"]


def test_cost_allocation_tags_are_activated_only_by_the_stack_that_owns_them(plan_of) -> None:
    assert plan_of("prod").by_type("aws:costexplorer/costAllocationTag:CostAllocationTag") == []
    plan = plan_of("prod", {"ai-platform:cost": {"manage_cost_allocation_tags": True}})
    keys = sorted(t.inputs["tagKey"] for t in plan.by_type("aws:costexplorer/costAllocationTag:CostAllocationTag"))
    assert {"stack", "environment", "component", "owner", "cost-center", "project"} <= set(keys)
    assert all(
        t.inputs["status"] == "Active" for t in plan.by_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    )


def test_without_observability_the_budget_still_exists(plan_of) -> None:
    plan = plan_of("dev", {"ai-platform:observability": {"enabled": False}})
    [budget] = plan.by_type("aws:budgets/budget:Budget")
    assert "notifications" not in budget.inputs
    assert plan.by_type("aws:costexplorer/anomalySubscription:AnomalySubscription") == []


# --- gate ----------------------------------------------------------------------------------------------------------


class _Resource:
    def __init__(self, type_: str, name: str, props: dict) -> None:
        self.resource_type, self.name, self.props = type_, name, props
        self.urn, self.dependencies, self.property_dependencies = name, [], {}


class _Index:
    def __init__(self, *resources: _Resource) -> None:
        self.resources = list(resources)

    def by_type(self, *types: str) -> list[_Resource]:
        return [r for r in self.resources if r.resource_type in types]


def test_the_gate_flags_a_stack_without_a_budget_and_a_pool_without_a_window() -> None:
    cluster = _Resource("eks:index:Cluster", "cluster", {})
    assert list(budget_present.check(None, _Index(cluster), {})) == [
        "the stack declares no AWS Budget: nobody hears when its spend runs away"
    ]
    assert list(budget_present.check(None, _Index(), {})) == []  # no cluster (the bootstrap project): no bill to watch
    pool = _Resource("kubernetes:karpenter.sh/v1:NodePool", "default", {"spec": {"disruption": {"budgets": []}}})
    assert "may replace nodes at any hour" in next(iter(maintenance_window_set.check(pool, _Index(pool), {})))
