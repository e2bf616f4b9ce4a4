"""CloudWatch side of alerting: SNS topics per severity (alerts key, publishers of this account only, TLS only),
subscriptions from routing, alarms sized from the watched resources and routed by severity, runbook links that
resolve, the ALB alarms once its id is known, backup-job failures through EventBridge, and the dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.ai_api.edge import ALB_NAME_MAX, load_balancer_name
from components.identity import key_policy
from components.observability.alarm_catalog import (
    METRIC_DOCS,
    RUNBOOK,
    SEVERITIES,
    DatabaseFacts,
    database_alarms,
    default_max_connections,
    instance_memory_gib,
)
from config import StackConfigError
from lib.aws import AwsContext
from ops.engine import PROJECT_DIR, Plan, RecordedResource, read_stack_config, run_program
from policy.rules import RULES_BY_ID
from tests.conftest import build_primary_plan as build_plan
from tests.policy_cases import ALARM, TOPIC
from tests.test_policy_rules import run


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"
AWS = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
LB_ID = "50dc6c495c0c9188"
WITH_ALB = {"ai-platform:observability": {"cloudwatch": {"load_balancer_id": LB_ID}}}
PROVISIONED = {"ai-platform:database": {"instance_class": "db.r7g.xlarge"}}
# Every variant whose alarms the runbook must cover: the shipped stacks, the ALB known, a provisioned class.
VARIANTS = [("dev", None), ("staging", None), ("prod", WITH_ALB), ("prod", PROVISIONED)]


def alarms(plan: Plan) -> dict[str, RecordedResource]:
    """Alarm key (name without `ai-platform-<stack>-`) -> alarm."""
    prefix = f"ai-platform-{plan.stack}-"
    return {a.inputs["name"].removeprefix(prefix): a for a in plan.by_type(ALARM_TYPE)}


def topic_arns(plan: Plan) -> dict[str, str]:
    return {t.name.rsplit("-", 1)[-1]: f"arn:aws:sns:us-east-1:123456789012:{t.inputs['name']}"
            for t in plan.by_type("aws:sns/topic:Topic") if "-alarms-" in t.name}  # fmt: skip


def runbook_anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings (lower case, spaces to hyphens, punctuation dropped)."""
    headings = re.findall(r"^#+ (.+)$", (PROJECT_DIR / RUNBOOK).read_text(), re.M)
    return {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-") for h in headings}


# --- topics, key, subscriptions ------------------------------------------------------------------------------------


def test_one_topic_per_severity_encrypted_with_the_alerts_key(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    topics = {t.inputs["name"]: t for t in plan.by_type("aws:sns/topic:Topic") if "-alarms-" in t.name}
    assert sorted(topics) == sorted(f"ai-platform-{any_stack}-alerts-{s}" for s in SEVERITIES)
    for topic in topics.values():
        assert topic.inputs["kmsMasterKeyId"].endswith(f"key/{any_stack}-identity-alerts-key-key-id")
    assert plan.outputs["alert_topic_arns"] == topic_arns(plan)


def test_topic_policy_admits_only_this_accounts_alarms_and_rules_over_tls(plan_of) -> None:
    plan = plan_of("prod")
    [policy] = [p for p in plan.by_type("aws:sns/topicPolicy:TopicPolicy") if p.name == "prod-alarms-critical-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    alarms_publish, rules_publish = statements["CloudWatchAlarmsPublish"], statements["EventBridgeRulesPublish"]
    assert alarms_publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms_publish["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"},
    }
    assert rules_publish["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/ai-platform-prod-*"
    }
    deny = statements["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"], deny["Condition"]) == (
        "Deny", "*", {"Bool": {"aws:SecureTransport": "false"}},
    )  # fmt: skip


def test_alerts_key_lets_alarms_eventbridge_and_cost_alerts_encrypt_for_this_account_only() -> None:
    [_, publishers] = key_policy("alerts", AWS)["Statement"]
    assert publishers["Principal"] == {
        "Service": [
            "cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com"
        ]
    }  # fmt: skip
    assert publishers["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    assert publishers["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert len(key_policy("storage", AWS)["Statement"]) == 1, "only the alerts key admits the publishers"


def test_critical_goes_by_sms_and_info_by_email_from_routing() -> None:
    routing = {
        "sms_numbers": ["+14155550100"],
        "email_to": ["oncall@example.com", "team@example.com"],
        "smtp_username": "AKIAEXAMPLESMTPUSER",
    }
    plan = build_plan("prod", {"ai-platform:observability": {"routing": routing}})
    subscriptions = {
        (s.inputs["protocol"], s.inputs["endpoint"], s.inputs["topic"].rsplit("-", 1)[-1])
        for s in plan.by_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert subscriptions == {
        ("sms", "+14155550100", "critical"),
        ("email", "oncall@example.com", "info"),
        ("email", "team@example.com", "info"),
    }
    assert build_plan("prod").by_type("aws:sns/topicSubscription:TopicSubscription") == []


# --- alarms --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_every_alarm_notifies_its_severitys_topic_and_links_a_runbook_heading(stack, overrides) -> None:
    plan = build_plan(stack, overrides)
    topics, anchors = topic_arns(plan), runbook_anchors()
    assert alarms(plan)
    for key, alarm in alarms(plan).items():
        inputs = alarm.inputs
        severity = re.match(r"\[(\w+)\] ", inputs["alarmDescription"])[1]  # type: ignore[index]
        assert inputs["alarmActions"] == inputs["okActions"] == [topics[severity]], key
        assert inputs["alarmDescription"].endswith(f"Runbook: {RUNBOOK}#{key}")
        assert key in anchors, f"{RUNBOOK} has no heading for {key}"
        # Silence is not an incident, except for a heartbeat: the drill age stops arriving when its job stops.
        heartbeat = key == "dr-drill-overdue"
        assert inputs["treatMissingData"] in (("breaching",) if heartbeat else ("missing", "notBreaching")), key
        # PutMetricAlarm: M of N with M <= N, and the evaluated range at most a day.
        assert 1 <= inputs["datapointsToAlarm"] <= inputs["evaluationPeriods"]
        queries = inputs.get("metricQueries", [])
        periods = [q["period"] for q in queries if "period" in q] + [
            q["metric"]["period"] for q in queries if "metric" in q
        ]
        assert max(periods or [inputs["period"]]) * inputs["evaluationPeriods"] <= 86400
    assert "backup-job-failed" in anchors


def test_alarms_follow_the_database_shape(plan_of) -> None:
    dev, prod = set(alarms(plan_of("dev"))), set(alarms(plan_of("prod")))
    database = {"db-writer-cpu", "db-writer-acu", "db-connections", "db-deadlocks"}
    assert database <= dev
    assert not {k for k in dev if "reader" in k or "replica" in k}, "dev has no readers"
    assert database | {"db-reader-cpu", "db-reader-acu", "db-replica-lag"} <= prod
    provisioned = set(alarms(build_plan("prod", PROVISIONED)))
    assert {"db-writer-memory", "db-reader-local-storage"} <= provisioned
    assert not {k for k in provisioned if k.endswith("-acu")}, "ACU alarms are for Serverless v2 only"
    assert not {k for k in prod if "memory" in k or "local-storage" in k}, "Serverless v2 reports no local storage"
    for alarm in plan_of("prod").by_type(ALARM_TYPE):
        if alarm.inputs.get("namespace") == "AWS/RDS":
            assert alarm.inputs["dimensions"]["DBClusterIdentifier"] == "prod-database"
            assert alarm.inputs["dimensions"]["Role"] in ("WRITER", "READER")


def test_connection_threshold_is_derived_from_capacity_or_set() -> None:
    assert alarms(build_plan("dev"))["db-connections"].inputs["threshold"] == int(default_max_connections(8) * 0.8)
    assert default_max_connections(8) == 901  # 4 ACUs (dev's maximum) are 8 GiB: 8 GiB / 9531392
    assert alarms(build_plan("prod"))["db-connections"].inputs["threshold"] == 4000  # capped at 5000
    given = build_plan("prod", {"ai-platform:observability": {"cloudwatch": {"database_max_connections": 1000}}})
    assert alarms(given)["db-connections"].inputs["threshold"] == 800
    memory = alarms(build_plan("prod", PROVISIONED))["db-writer-memory"].inputs["threshold"]
    assert memory == 32 * 1024**3 * 0.1  # db.r7g.xlarge: 4 vCPUs, 32 GiB


def test_instance_memory_of_the_aurora_classes() -> None:
    assert [instance_memory_gib(c, None) for c in ("db.r6g.large", "db.r7i.2xlarge", "db.x2g.xlarge")] == [16, 64, 64]
    assert instance_memory_gib("db.t4g.medium", None) == 4
    assert instance_memory_gib("db.serverless", 16) == 32
    with pytest.raises(ValueError, match=r"db\.m5\.large is not an Aurora PostgreSQL class"):
        instance_memory_gib("db.m5.large", None)


def test_an_unknown_instance_class_is_one_config_line() -> None:
    with pytest.raises(StackConfigError) as raised:
        build_plan("prod", {"ai-platform:database": {"instance_class": "db.m5.large"}})
    [problem] = raised.value.problems
    assert problem.startswith("Pulumi.prod.yaml: ai-platform:database.instance_class: db.m5.large is not")
    facts = DatabaseFacts("c", "db.m5.large", None, 0)
    with pytest.raises(ValueError, match=r"allowed: db\.serverless"):
        database_alarms(facts)


def test_alb_alarms_wait_for_the_load_balancer_id_and_select_it_by_name(plan_of) -> None:
    assert not {k for k in alarms(plan_of("prod")) if k.startswith("alb-")}
    with_alb = alarms(build_plan("prod", WITH_ALB))
    dimension = f"app/ai-platform-prod-ai-api/{LB_ID}"
    rate = with_alb["alb-5xx-rate"].inputs["metricQueries"]
    assert {q["metric"]["dimensions"]["LoadBalancer"] for q in rate if "metric" in q} == {dimension}
    assert [q["id"] for q in rate if q["returnData"]] == ["result"]
    [query] = with_alb["alb-unhealthy-targets"].inputs["metricQueries"]
    assert query["expression"].endswith(f"WHERE LoadBalancer = '{dimension}'")
    assert query["period"] == 60
    [ingress] = build_plan("prod", WITH_ALB).by_type("kubernetes:networking.k8s.io/v1:Ingress")
    assert ingress.inputs["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-name"] == (
        "ai-platform-prod-ai-api"
    )


def test_a_load_balancer_id_that_is_not_one_is_refused() -> None:
    with pytest.raises(StackConfigError, match=r"observability.cloudwatch.load_balancer_id: 'app/x' is not"):
        build_plan("prod", {"ai-platform:observability": {"cloudwatch": {"load_balancer_id": "app/x"}}})


def test_load_balancer_names_fit_the_controllers_limit() -> None:
    assert load_balancer_name("prod") == "ai-platform-prod-ai-api"
    long_a, long_b = load_balancer_name("customer-acme-eu-west"), load_balancer_name("customer-acme-eu-east")
    assert len(long_a) <= ALB_NAME_MAX
    assert re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", long_a)
    assert long_a != long_b
    assert load_balancer_name("my_stack.v2") == "ai-platform-my-stack-v2-ai-api"


def test_waf_and_certificate_alarms_watch_the_workloads_own(plan_of) -> None:
    prod = alarms(plan_of("prod"))
    assert prod["waf-blocked-spike"].inputs["dimensions"] == {
        "WebACL": "ai-platform-prod-ai-api", "Region": "us-east-1", "Rule": "ALL",
    }  # fmt: skip
    certificate = prod["acm-expiry-7-days"].inputs
    [validation] = plan_of("prod").by_type("aws:acm/certificateValidation:CertificateValidation")
    assert certificate["dimensions"] == {"CertificateArn": validation.inputs["certificateArn"]}
    assert (certificate["comparisonOperator"], certificate["threshold"]) == ("LessThanThreshold", 7)
    queue = prod["karpenter-interruption-queue-age"].inputs
    assert queue["dimensions"] == {"QueueName": "ai-platform-prod"}


def test_a_stack_without_the_workload_or_observability() -> None:
    raw = {key: value for key, value in read_stack_config("prod").items() if key != "ai-platform:api"}
    no_api = alarms(run_program("prod", raw))
    assert not {k for k in no_api if k.startswith(("alb-", "waf-", "acm-"))}
    assert "db-writer-cpu" in no_api
    # Without observability only the rolling strategy is allowed (canary/blue-green analyses query its Prometheus).
    # Security findings are routed to the alert topics: a stack without them cannot own the account's detection.
    off = build_plan(
        "prod",
        {
            "ai-platform:observability": {"enabled": False},
            "ai-platform:api": {"strategy": "rolling"},
            "ai-platform:security": {"manage_account_security": False},
        },
    )
    assert off.by_type(ALARM_TYPE) == []
    assert off.outputs["alert_topic_arns"] is None


# --- backup failures ---------------------------------------------------------------------------------------------


def test_backup_job_failures_reach_the_warning_topic_once_its_policy_admits_eventbridge(plan_of) -> None:
    plan = plan_of("prod")
    pattern = json.loads(plan.by_name("prod-alarms-backup-job-failed").inputs["eventPattern"])
    assert pattern == {
        "source": ["aws.backup"],
        "detail-type": ["Backup Job State Change"],
        "detail": {"state": ["FAILED", "ABORTED", "EXPIRED"], "backupVaultName": ["prod-backup-vault"]},
    }
    target = plan.by_name("prod-alarms-backup-job-failed-target")
    assert target.inputs["arn"] == topic_arns(plan)["warning"]
    assert any(d.endswith("::prod-alarms-warning-policy") for d in target.dependencies)


# --- dashboard -----------------------------------------------------------------------------------------------------


def _metric_rows(widget: dict[str, Any]) -> list[tuple[str, str]]:
    rows = widget["properties"]["metrics"]
    return [(row[0], row[1]) for row in rows if isinstance(row[0], str)]


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_dashboard_body_is_well_formed_and_shows_the_alarms_metrics(stack, overrides) -> None:
    plan = build_plan(stack, overrides)
    [dashboard] = plan.by_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == f"ai-platform-{stack}"
    body = json.loads(dashboard.inputs["dashboardBody"])
    used = {
        (a.inputs["namespace"], a.inputs["metricName"]) for a in plan.by_type(ALARM_TYPE) if "namespace" in a.inputs
    }
    used |= {
        (q["metric"]["namespace"], q["metric"]["metricName"])
        for a in plan.by_type(ALARM_TYPE) for q in a.inputs.get("metricQueries", []) if "metric" in q
    }  # fmt: skip
    expressions = {q["expression"] for a in plan.by_type(ALARM_TYPE) for q in a.inputs.get("metricQueries", [])
                   if "expression" in q}  # fmt: skip
    widgets = body["widgets"]
    assert {w["type"] for w in widgets} == {"text", "metric"}
    for widget in widgets:
        assert set(widget) == {"type", "x", "y", "width", "height", "properties"}
        assert widget["x"] >= 0
        assert widget["x"] + widget["width"] <= 24
        assert widget["height"] >= 1
        if widget["type"] == "metric":
            properties = widget["properties"]
            assert properties["region"] == "us-east-1"
            assert properties["view"] == "timeSeries"
            for namespace, metric in _metric_rows(widget):
                assert (namespace, metric) in used
                assert (namespace, metric) in METRIC_DOCS
            for row in properties["metrics"]:
                if isinstance(row[0], dict):
                    assert row[0]["expression"] in expressions
    assert len([w for w in widgets if w["type"] == "metric"]) == len(plan.by_type(ALARM_TYPE))
    positions = [(w["x"], w["y"]) for w in widgets]
    assert len(positions) == len(set(positions)), "widgets overlap"


def test_every_alarm_metric_cites_its_aws_page(plan_of) -> None:
    for alarm in build_plan("prod", PROVISIONED).by_type(ALARM_TYPE) + build_plan("prod", WITH_ALB).by_type(ALARM_TYPE):
        metrics = [alarm.inputs] if "namespace" in alarm.inputs else []
        metrics += [q["metric"] for q in alarm.inputs.get("metricQueries", []) if "metric" in q]
        for metric in metrics:
            assert (metric["namespace"], metric["metricName"]) in METRIC_DOCS, alarm.name


# --- policy ----------------------------------------------------------------------------------------------------------


def test_gate_refuses_an_unencrypted_topic_and_an_alarm_to_a_foreign_topic() -> None:
    assert run(RULES_BY_ID["sns-encrypted"], (TOPIC, {})) == [
        "kmsMasterKeyId is not set: messages are stored unencrypted"
    ]
    foreign = "arn:aws:sns:us-east-1:999999999999:elsewhere"
    messages = run(RULES_BY_ID["alarm-notifies-platform-topic"], [
        {"type": TOPIC, "name": "t", "props": {}, "deps": (), "protect": False},
        {"type": ALARM, "name": "a", "props": {"alarmActions": [foreign]}, "deps": (), "protect": False},
    ])  # fmt: skip
    assert messages == [f"alarm a notifies no SNS topic of this stack ({foreign})"]


def test_the_active_site_watches_the_restore_drills_and_dev_has_none() -> None:
    drills = {"dr-drill-failed", "dr-drill-overdue"}
    for stack in ("staging", "prod"):
        found = alarms(build_plan(stack))
        assert drills <= set(found), stack
        overdue = found["dr-drill-overdue"].inputs
        assert (overdue["namespace"], overdue["metricName"], overdue["dimensions"]) == (
            "ai-platform/dr",
            "DrillAgeHours",
            {"Stack": stack},
        )
        assert overdue["threshold"] == 35 * 24
    assert not drills & set(alarms(build_plan("dev")))
