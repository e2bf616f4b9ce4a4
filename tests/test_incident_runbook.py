"""The incident procedure (docs/runbooks/incident.md) says what the platform does: its severity matrix names the
receivers `routing.py` routes each severity to, the repeat intervals Alertmanager is configured with, the SNS
topics the alarms publish to; its "Where to look" links every alert and alarm runbook section; the README links it."""

from __future__ import annotations

import re

import pytest

from components.observability import routing
from components.observability.alarm_catalog import SEVERITIES
from components.observability.rules import ApiSlo, alerts, rule_groups, runbook_anchor
from config.observability import RoutingSettings
from ops.engine import PROJECT_DIR
from tests.conftest import build_plan, stack_config

RUNBOOKS = PROJECT_DIR / "docs" / "runbooks"
INCIDENT = (RUNBOOKS / "incident.md").read_text()
README = (PROJECT_DIR / "README.md").read_text()
# A production stack with every human receiver on, and the same with them off (what "when unset" describes).
PROD_LIKE = RoutingSettings(
    pagerduty=True, status_page_webhook=True, email_to=("oncall@example.com",), smtp_username="AKIAIOSFODNN7EXAMPLE"
)
UNSET = RoutingSettings(pagerduty=False, status_page_webhook=False, email_to=())


def section(text: str, heading: str) -> str:
    """The body of the Markdown section `heading` (e.g. `## Severity matrix`), up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^{level} |\Z)", text, re.S | re.M)
    assert match, f"no '{heading}' section"
    return match.group(1)


def matrix() -> dict[str, dict[str, str]]:
    """Severity -> column header -> cell, from the first table of incident.md's "Severity matrix"."""
    rows = [line for line in section(INCIDENT, "## Severity matrix").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        cells = dict(zip(header, (cell.strip() for cell in row.strip("|").split("|")), strict=True))
        table[cells["Severity"]] = cells
    return table


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_matrix_has_one_row_per_severity() -> None:
    assert list(matrix()) == list(SEVERITIES)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_matrix_names_the_receivers_the_routing_sends_each_severity_to(severity: str) -> None:
    row = matrix()[severity]
    assert tuple(code_spans(row["Receivers"])) == routing.severity_receivers(PROD_LIKE)[severity]
    assert tuple(code_spans(row["Receivers when unset"])) == routing.severity_receivers(UNSET)[severity]


@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_status_page_is_updated_exactly_for_the_severities_routed_to_it(severity: str) -> None:
    cell = matrix()[severity]["Status page"]
    assert cell.startswith("yes") == ("status-page" in routing.severity_receivers(PROD_LIKE)[severity]), cell


@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_repeat_interval_is_the_one_alertmanager_is_configured_with_by_default(severity: str) -> None:
    [interval] = code_spans(matrix()[severity]["Repeat interval"])
    assert interval == RoutingSettings.model_fields[f"repeat_interval_{severity}"].default
    routes = routing.alertmanager_config(PROD_LIKE, "eu-west-1")["route"]["routes"]
    configured = {r["repeat_interval"] for r in routes if r["matchers"] == [f'severity="{severity}"']}
    assert configured == {interval}


@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_matrix_names_the_sns_topic_the_alarms_of_each_severity_publish_to(severity: str) -> None:
    topic = code_spans(matrix()[severity]["CloudWatch alarms (SNS topic, subscribers)"])[0]
    plan = build_plan("prod")
    topics = {t.inputs["name"] for t in plan.by_type("aws:sns/topic:Topic")}
    assert topic.replace("<stack>", "prod") in topics
    assert topic.endswith(f"-alerts-{severity}")


def links(text: str, document: str) -> set[str]:
    """Anchors of `document` (e.g. alerts.md) linked from `text`."""
    return set(re.findall(rf"\]\({re.escape(document)}#([^)]+)\)", text))


@pytest.mark.parametrize("document", ["alerts.md", "alarms.md"])
def test_where_to_look_links_every_runbook_section_and_only_real_ones(document: str) -> None:
    headings = re.findall(r"^## (.+)$", (RUNBOOKS / document).read_text(), re.M)
    anchors = {runbook_anchor(heading) for heading in headings}
    linked = links(section(INCIDENT, "## Where to look"), document)
    assert sorted(anchors - linked) == [], f"runbook sections of {document} not linked from 'Where to look'"
    assert sorted(links(INCIDENT, document) - anchors) == [], f"links to no section of {document}"


def test_where_to_look_gives_each_alert_the_severities_of_its_rules() -> None:
    api = stack_config("prod").api
    assert api is not None
    severities: dict[str, set[str]] = {}
    for alert in alerts(rule_groups(ApiSlo.from_config(api))):
        severities.setdefault(alert.name, set()).add(alert.severity)
    stated = {
        name: {part.strip() for part in listed.split(",")}
        for name, listed in re.findall(r"\[(\w+)\]\(alerts\.md#\w+\) \(([a-z, ]+)\)", INCIDENT)
    }
    assert stated == severities


def test_the_readme_alerts_section_links_the_incident_procedure() -> None:
    alerts_part = section(README, "### Alerts and routing")
    assert "](docs/runbooks/incident.md)" in alerts_part
