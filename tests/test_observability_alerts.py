"""The alert rules: valid for Prometheus (`promtool check rules`), each alert proven by `promtool test rules` to fire
on the input it is for and to stay silent on a healthy one, each linked to its runbook section, and deployed as
schema-valid `PrometheusRule` objects that Prometheus selects."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.observability.alerting import prometheus_rule
from components.observability.rules import (
    SEVERITIES,
    Alert,
    ApiSlo,
    RuleGroup,
    alerts,
    render_group,
    rule_groups,
    runbook_anchor,
)
from ops.engine import PROJECT_DIR, read_stack_config, run_program
from tests.conftest import stack_config
from tests.manifests import manifest, validate_object


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


RUNBOOKS = PROJECT_DIR / "docs" / "runbooks" / "alerts.md"
RUNBOOKS_URL = "docs/runbooks/alerts.md"
NS = 'namespace="ai-api"'
POD = 'namespace="shop",pod="shop-7d9f",container="app"'
POD_LABELS = {"namespace": "shop", "pod": "shop-7d9f", "container": "app"}
API = {"namespace": "ai-api"}
FS = 'instance="10.0.1.5:9100",device="/dev/nvme0n1p1",fstype="xfs",mountpoint="/"'
FS_LABELS = {"instance": "10.0.1.5:9100", "device": "/dev/nvme0n1p1", "fstype": "xfs", "mountpoint": "/"}
HPA = 'namespace="ai-api",horizontalpodautoscaler="ai-api"'
HPA_LABELS = {"namespace": "ai-api", "horizontalpodautoscaler": "ai-api"}
PDB = 'namespace="ai-api",poddisruptionbudget="ai-api"'
ES = 'namespace="monitoring",name="alertmanager-receivers"'
ES_LABELS = {"namespace": "monitoring", "name": "alertmanager-receivers"}
KARPENTER = 'karpenter_cloudprovider_errors_total{controller="nodeclaim.lifecycle",method="Create",provider="aws"'
ROLLOUT = 'namespace="ai-api",name="ai-api",strategy="canary",traffic_router="ALB"'
ROLLOUT_LABELS = {"namespace": "ai-api", "name": "ai-api"}


def _requests(ok: str, errors: str) -> dict[str, str]:
    return {
        f'http_requests_total{{{NS},code="200"}}': ok,
        f'http_requests_total{{{NS},code="500"}}': errors,
    }


def _latency(below_half_second: str, below_one_second: str, total: str) -> dict[str, str]:
    bucket = "http_request_duration_seconds_bucket"
    return {
        f'{bucket}{{{NS},le="0.5"}}': below_half_second,
        f'{bucket}{{{NS},le="1"}}': below_one_second,
        f'{bucket}{{{NS},le="2.5"}}': total,
        f'{bucket}{{{NS},le="+Inf"}}': total,
    }


def _hpa(current: str, minimum: str, maximum: str, name: str = "ai-api") -> dict[str, str]:
    labels = f'namespace="ai-api",horizontalpodautoscaler="{name}"'
    return {
        f"kube_horizontalpodautoscaler_status_current_replicas{{{labels}}}": current,
        f"kube_horizontalpodautoscaler_spec_min_replicas{{{labels}}}": minimum,
        f"kube_horizontalpodautoscaler_spec_max_replicas{{{labels}}}": maximum,
    }


def _pvc(claim: str, available: str) -> dict[str, str]:
    labels = f'namespace="monitoring",persistentvolumeclaim="{claim}",instance="10.0.1.5:10250"'
    return {
        f"kubelet_volume_stats_available_bytes{{{labels}}}": available,
        f"kubelet_volume_stats_capacity_bytes{{{labels}}}": "100000000000x180",
    }


def _pvc_labels(claim: str, severity: str) -> dict[str, str]:
    return {"namespace": "monitoring", "persistentvolumeclaim": claim, "severity": severity}


# alertname -> {"fires": (input series, [(eval time, [expected labels]), ...]), "quiet": (...), ...}. Series are sampled
# every minute (promtool's expanding notation: `a+bxn` is n+1 samples from a, step b). A quiet case is the healthy
# input that must not fire; the Watchdog has none (it always fires, even with no input at all).
Case = tuple[dict[str, str], list[tuple[str, list[dict[str, str]]]]]
CASES: dict[str, dict[str, Case]] = {
    "AiApiErrorBudgetBurn": {
        # 1 error in 11 requests: 91x the budget, both page windows and both ticket windows.
        "fires": (
            _requests("0+600x180", "0+60x180"),
            [("60m", [{**API, "severity": "critical"}, {**API, "severity": "warning"}])],
        ),
        # 0.5% errors: 5x the budget, under the page thresholds (14.4x, 6x), over the 1d/2h ticket one (3x).
        "fires slowly": (_requests("0+6000x150", "0+30x150"), [("150m", [{**API, "severity": "warning"}])]),
        # 0.05% errors: half the budget.
        "quiet": (_requests("0+6000x300", "0+3x300"), [("300m", [])]),
    },
    "AiApiHighErrorRate": {
        "fires": (_requests("0+600x60", "0+12x60"), [("8m", []), ("30m", [{**API, "severity": "warning"}])]),
        "quiet": (_requests("0+600x60", "0+3x60"), [("30m", [])]),
    },
    "AiApiLatencyHigh": {
        # 90% of requests between 1s and 2.5s: p99 near 2.5s.
        "fires": (
            _latency("0+10x60", "0+10x60", "0+100x60"),
            [
                ("20m", [{**API, "severity": "warning"}]),
                ("45m", [{**API, "severity": "critical"}, {**API, "severity": "warning"}]),
            ],
        ),
        "quiet": (_latency("0+100x60", "0+100x60", "0+100x60"), [("45m", [])]),
    },
    "ContainerCpuThrottlingHigh": {
        "fires": (
            {
                f"container_cpu_cfs_throttled_periods_total{{{POD}}}": "0+50x60",
                f"container_cpu_cfs_periods_total{{{POD}}}": "0+100x60",
            },
            [("30m", [{**POD_LABELS, "severity": "info"}])],
        ),
        "quiet": (
            {
                f"container_cpu_cfs_throttled_periods_total{{{POD}}}": "0+10x60",
                f"container_cpu_cfs_periods_total{{{POD}}}": "0+100x60",
            },
            [("30m", [])],
        ),
    },
    "ContainerMemoryNearLimit": {
        "fires": (
            {
                f"container_memory_working_set_bytes{{{POD}}}": "950x60",
                f'kube_pod_container_resource_limits{{{POD},resource="memory"}}': "1000x60",
            },
            [("10m", []), ("30m", [{**POD_LABELS, "severity": "warning"}])],
        ),
        "quiet": (
            {
                f"container_memory_working_set_bytes{{{POD}}}": "500x60",
                f'kube_pod_container_resource_limits{{{POD},resource="memory"}}': "1000x60",
            },
            [("30m", [])],
        ),
    },
    "PodRestartingOften": {
        "fires": (
            {f"kube_pod_container_status_restarts_total{{{POD}}}": "0+1x60"},
            [("30m", [{**POD_LABELS, "severity": "info"}])],
        ),
        "quiet": ({f"kube_pod_container_status_restarts_total{{{POD}}}": "0x30 1x30"}, [("50m", [])]),
    },
    "PodCrashLooping": {
        "fires": (
            {f'kube_pod_container_status_waiting_reason{{{POD},reason="CrashLoopBackOff"}}': "1x60"},
            [("10m", []), ("20m", [{**POD_LABELS, "severity": "warning"}])],
        ),
        "quiet": (
            {f'kube_pod_container_status_waiting_reason{{{POD},reason="CrashLoopBackOff"}}': "0x60"},
            [("20m", [])],
        ),
    },
    "HpaAtMaxReplicas": {
        "fires": (_hpa("10x60", "2x60", "10x60"), [("20m", [{**HPA_LABELS, "severity": "warning"}])]),
        # Below its maximum; and an HPA whose minimum is its maximum is always "at max" by design.
        "quiet": ({**_hpa("5x60", "2x60", "10x60"), **_hpa("3x60", "3x60", "3x60", name="fixed")}, [("20m", [])]),
    },
    "PodDisruptionBudgetBlocking": {
        "fires": (
            {
                f"kube_poddisruptionbudget_status_pod_disruptions_allowed{{{PDB}}}": "0x120",
                f"kube_poddisruptionbudget_status_expected_pods{{{PDB}}}": "3x120",
            },
            [("30m", []), ("70m", [{"namespace": "ai-api", "poddisruptionbudget": "ai-api", "severity": "warning"}])],
        ),
        "quiet": (
            {
                f"kube_poddisruptionbudget_status_pod_disruptions_allowed{{{PDB}}}": "1x120",
                f"kube_poddisruptionbudget_status_expected_pods{{{PDB}}}": "3x120",
            },
            [("70m", [])],
        ),
    },
    "NodeNotReady": {
        "fires": (
            {'kube_node_status_condition{node="ip-10-0-1-5",condition="Ready",status="true"}': "0x30"},
            [("20m", [{"node": "ip-10-0-1-5", "severity": "warning"}])],
        ),
        "quiet": (
            {'kube_node_status_condition{node="ip-10-0-1-5",condition="Ready",status="true"}': "1x30"},
            [("20m", [])],
        ),
    },
    "NodeFilesystemFillingUp": {
        # 14% free, losing 3.6 GB/h of 100 GB: empty in under 4h (critical after 30m, warning after 1h).
        "fires": (
            {
                f"node_filesystem_avail_bytes{{{FS}}}": "14000000000-60000000x180",
                f"node_filesystem_size_bytes{{{FS}}}": "100000000000x180",
            },
            [
                ("45m", [{**FS_LABELS, "severity": "critical"}]),
                ("70m", [{**FS_LABELS, "severity": "critical"}, {**FS_LABELS, "severity": "warning"}]),
            ],
        ),
        # 35% free but shrinking slowly (empty in about 58h): neither threshold.
        "quiet": (
            {
                f"node_filesystem_avail_bytes{{{FS}}}": "35000000000-10000000x180",
                f"node_filesystem_size_bytes{{{FS}}}": "100000000000x180",
            },
            [("150m", [])],
        ),
    },
    "PersistentVolumeFillingUp": {
        # `db`: 14% free, empty in about 3 days (warning after 1h); `wal`: 2% free and steady (critical at once).
        "fires": (
            {**_pvc("db", "14000000000-3000000x180"), **_pvc("wal", "2000000000x180")},
            [
                ("5m", [_pvc_labels("wal", "critical")]),
                ("120m", [_pvc_labels("db", "warning"), _pvc_labels("wal", "critical")]),
            ],
        ),
        # 14% free but steady: no trend to zero, and well above 3%.
        "quiet": (_pvc("db", "14000000000x180"), [("120m", [])]),
    },
    "KarpenterCloudProviderErrors": {
        "fires": (
            {f'{KARPENTER},error="NodeClassNotReadyError"}}': "0+1x90"},
            [
                ("20m", []),
                (
                    "60m",
                    [
                        {
                            "controller": "nodeclaim.lifecycle",
                            "method": "Create",
                            "error": "NodeClassNotReadyError",
                            "severity": "warning",
                        }
                    ],
                ),
            ],
        ),
        # Insufficient capacity has its own alert; NodeClaimNotFound is routine during deletion; old errors only.
        "quiet": (
            {
                f'{KARPENTER},error="InsufficientCapacityError"}}': "0+1x90",
                f'{KARPENTER},error="NodeClaimNotFoundError"}}': "0+1x90",
                f'{KARPENTER},error="NodeClassNotReadyError"}}': "5x90",
            },
            [("60m", [])],
        ),
    },
    "KarpenterInsufficientCapacity": {
        "fires": (
            {
                f'{KARPENTER},error="InsufficientCapacityError"}}': "0+1x60",
                'karpenter_scheduler_unschedulable_pods_count{controller="provisioner"}': "3x60",
            },
            [("30m", [{"severity": "warning"}])],
        ),
        # Capacity errors Karpenter worked around (another type or zone): no pod left unschedulable.
        "quiet": (
            {
                f'{KARPENTER},error="InsufficientCapacityError"}}': "0+1x60",
                'karpenter_scheduler_unschedulable_pods_count{controller="provisioner"}': "0x60",
            },
            [("30m", [])],
        ),
    },
    "KarpenterNodePoolNearLimit": {
        "fires": (
            {
                'karpenter_nodepools_usage{nodepool="default",resource_type="cpu"}': "95x60",
                'karpenter_nodepools_limit{nodepool="default",resource_type="cpu"}': "100x60",
            },
            [("20m", [{"nodepool": "default", "resource_type": "cpu", "severity": "warning"}])],
        ),
        # Half the CPU limit; memory has no limit at all.
        "quiet": (
            {
                'karpenter_nodepools_usage{nodepool="default",resource_type="cpu"}': "50x60",
                'karpenter_nodepools_limit{nodepool="default",resource_type="cpu"}': "100x60",
                'karpenter_nodepools_usage{nodepool="default",resource_type="memory"}': "400000000000x60",
            },
            [("20m", [])],
        ),
    },
    "ExternalSecretNotReady": {
        "fires": (
            {
                f'externalsecret_status_condition{{{ES},condition="Ready",status="False"}}': "1x60",
                f'externalsecret_status_condition{{{ES},condition="Ready",status="True"}}': "0x60",
            },
            [("20m", [{**ES_LABELS, "severity": "warning"}])],
        ),
        "quiet": (
            {
                f'externalsecret_status_condition{{{ES},condition="Ready",status="False"}}': "0x60",
                f'externalsecret_status_condition{{{ES},condition="Ready",status="True"}}': "1x60",
            },
            [("20m", [])],
        ),
    },
    "ExternalSecretSyncErrors": {
        "fires": (
            {f"externalsecret_sync_calls_error{{{ES}}}": "0+1x90"},
            [("60m", [{**ES_LABELS, "severity": "warning"}])],
        ),
        "quiet": ({f"externalsecret_sync_calls_error{{{ES}}}": "5x90"}, [("60m", [])]),
    },
    "RolloutAborted": {
        "fires": (
            {f'rollout_info{{{ROLLOUT},phase="Abort"}}': "1x10"},
            [("5m", [{**ROLLOUT_LABELS, "severity": "warning"}])],
        ),
        "quiet": ({f'rollout_info{{{ROLLOUT},phase="Completed"}}': "1x10"}, [("5m", [])]),
    },
    "RolloutFailing": {
        "fires": (
            {f'rollout_info{{{ROLLOUT},phase="Timeout"}}': "1x30"},
            [("20m", [{**ROLLOUT_LABELS, "phase": "Timeout", "severity": "warning"}])],
        ),
        # A canary waiting at one of its pauses is normal.
        "quiet": ({f'rollout_info{{{ROLLOUT},phase="Paused"}}': "1x30"}, [("20m", [])]),
    },
    "Watchdog": {
        "fires": ({}, [("1m", [{"severity": "info"}]), ("600m", [{"severity": "info"}])]),
    },
}


@pytest.fixture(scope="module")
def groups() -> tuple[RuleGroup, ...]:
    """Every rule group, with the prod stack's ai-api settings (the thresholds it deploys)."""
    api = stack_config("prod").api
    assert api is not None
    return rule_groups(ApiSlo.from_config(api))


def _tool(name: str) -> str:
    """Path of a Prometheus tool; skipped when absent locally, a failure on CI (`.ci/run` installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed on CI: .ci/run installs the Debian prometheus packages")
        pytest.skip(f"{name} is not installed (apt-get install prometheus prometheus-alertmanager)")
    return path


class _Literal(str):
    """A multi-line string dumped as a YAML literal block, so the rule file reads like a hand-written one."""


yaml.SafeDumper.add_representer(
    _Literal, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
)


def rule_file(groups: tuple[RuleGroup, ...], path: Path) -> Path:
    """The rule file of `groups` (each `PrometheusRule`'s `spec.groups`, together)."""
    rendered = [render_group(group, RUNBOOKS_URL) for group in groups]
    for group in rendered:
        for rule in group["rules"]:
            rule["expr"] = _Literal(rule["expr"]) if "\n" in rule["expr"] else rule["expr"]
    path.write_text(yaml.safe_dump({"groups": rendered}, sort_keys=False))
    return path


def _expand(template: str, labels: dict[str, str]) -> str:
    """An annotation as Prometheus renders it: only `{{ $labels.<name> }}` is used in ours."""
    assert "{{" not in re.sub(r"\{\{ \$labels\.\w+ \}\}", "", template), template
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda match: labels[match[1]], template)


def _expected(alert_rules: list[Alert], name: str, labels: dict[str, str]) -> dict[str, Any]:
    """promtool's expectation for one firing alert: its labels and its annotations, rendered."""
    (rule,) = [rule for rule in alert_rules if rule.name == name and rule.severity == labels["severity"]]
    return {
        "exp_labels": labels,
        "exp_annotations": {
            "summary": _expand(rule.summary, labels),
            "description": _expand(rule.description, labels),
            "runbook_url": f"{RUNBOOKS_URL}#{runbook_anchor(name)}",
        },
    }


def promtool_tests(alert_rules: list[Alert], name: str) -> list[dict[str, Any]]:
    """The promtool test groups of one alert: its firing cases and, but for the Watchdog, its quiet case."""
    tests = []
    for case, (series, checks) in CASES[name].items():
        tests.append(
            {
                "name": f"{name} {case}",
                "interval": "1m",
                "input_series": [{"series": key, "values": values} for key, values in series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": at,
                        "alertname": name,
                        "exp_alerts": [_expected(alert_rules, name, labels) for labels in expected],
                    }
                    for at, expected in checks
                ],
            }
        )
    return tests


def test_promtool_checks_the_rendered_rules(groups, tmp_path) -> None:
    result = subprocess.run(
        [_tool("promtool"), "check", "rules", str(rule_file(groups, tmp_path / "rules.yml"))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(group.rules) for group in groups)} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_promtool_case(groups) -> None:
    names = {rule.name for rule in alerts(groups)}
    assert set(CASES) == names
    for name, cases in CASES.items():
        assert "fires" in cases, name
        assert "quiet" in cases or name == "Watchdog", name


@pytest.mark.parametrize("name", sorted(CASES))
def test_promtool_unit_tests_of_each_alert(groups, tmp_path, name: str) -> None:
    """`promtool test rules`: the alert fires (labels, rendered annotations) on its input, not on a healthy one."""
    rules = rule_file(groups, tmp_path / "rules.yml")
    tests = tmp_path / "tests.yml"
    spec = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": promtool_tests(alerts(groups), name)}
    tests.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run(
        [_tool("promtool"), "test", "rules", tests.name], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_labelled_and_annotated(groups) -> None:
    for rule in alerts(groups):
        assert rule.severity in SEVERITIES, rule.name
        assert rule.summary, rule.name
        assert rule.description.endswith("."), rule.name
        assert re.fullmatch(r"[A-Z][A-Za-z]+", rule.name), rule.name
    rendered = [r for group in groups for r in render_group(group, RUNBOOKS_URL)["rules"] if "alert" in r]
    assert all(set(rule["annotations"]) == {"summary", "description", "runbook_url"} for rule in rendered)


def _headings(markdown: str) -> list[str]:
    """The level-2 headings of a Markdown file, fenced code blocks excluded."""
    without_code = re.sub(r"^```.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)
    return re.findall(r"^## (.+)$", without_code, flags=re.MULTILINE)


def test_every_runbook_url_resolves_and_every_runbook_has_an_alert(groups) -> None:
    headings = _headings(RUNBOOKS.read_text(encoding="utf-8"))
    anchors = {runbook_anchor(heading) for heading in headings}
    rendered = [rule for group in groups for rule in render_group(group, RUNBOOKS_URL)["rules"]]
    urls = {rule["annotations"]["runbook_url"] for rule in rendered if "alert" in rule}
    missing = sorted(url for url in urls if url.split("#", 1)[1] not in anchors)
    assert not missing, f"runbook_url without a heading in {RUNBOOKS.name}: {missing}"
    assert all(url.startswith(f"{RUNBOOKS_URL}#") for url in urls)
    alert_names = {rule.name for rule in alerts(groups)}
    assert sorted(set(headings) - alert_names) == [], "runbook headings with no alert"
    assert len(headings) == len(set(headings)), "a runbook heading appears twice"
    body = RUNBOOKS.read_text(encoding="utf-8")
    for heading in headings:
        section = body.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
        for part in ("**Meaning.**", "**Impact.**", "**Diagnosis.**", "**Mitigation.**", "**Escalation.**"):
            assert part in section, f"{heading}: no {part}"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [("AiApiErrorBudgetBurn", "aiapierrorbudgetburn"), ("Node not ready (v2)", "node-not-ready-v2"),
     ("Alerts and routing", "alerts-and-routing")],
)  # fmt: skip
def test_runbook_anchors_follow_github(heading: str, anchor: str) -> None:
    assert runbook_anchor(heading) == anchor


def test_a_configured_runbooks_url_prefixes_every_link(plan_of) -> None:
    url = "https://git.example.com/platform/ai-platform/blob/main/docs/runbooks/alerts.md"
    plan = plan_of("prod", {"ai-platform:observability": {"routing": {"runbooks_url": url}}})
    rules = [r for r in plan.resources if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"]
    rendered = [rule for resource in rules for group in resource.inputs["spec"]["groups"] for rule in group["rules"]]
    links = {rule["annotations"]["runbook_url"].split("#")[0] for rule in rendered if "alert" in rule}
    assert links == {url}


def _rule_objects(plan) -> list[dict[str, Any]]:
    return [manifest(r) for r in plan.resources if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"]


def test_prometheus_rules_in_the_plan_are_valid_and_selected_by_the_chart(plan_of, any_stack: str) -> None:
    plan = plan_of(any_stack)
    objects = _rule_objects(plan)
    assert objects, "no PrometheusRule in the plan"
    config = stack_config(any_stack)
    for obj in objects:
        validate_object(obj, config.cluster.version)
        assert obj["metadata"]["namespace"] == "monitoring"
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    names = sorted(group["name"] for obj in objects for group in obj["spec"]["groups"])
    assert names == sorted(group.name for group in groups_of_stack(any_stack))


def groups_of_stack(stack: str) -> tuple[RuleGroup, ...]:
    config = stack_config(stack)
    return rule_groups(ApiSlo.from_config(config.api) if config.api is not None else None)


def test_the_slo_rules_follow_the_api_settings(plan_of) -> None:
    """The SLO rules read the ai-api's namespace and metric names, the ones its release analysis queries."""
    overrides = {
        "ai-platform:api": {
            "namespace": "inference",
            "analysis": {"request_metric": "api_requests_total", "p99_latency_max_seconds": 2.5},
        }
    }
    objects = _rule_objects(plan_of("prod", overrides))
    (slo,) = [obj for obj in objects if obj["metadata"]["name"] == "ai-platform-ai-api-slo"]
    text = json.dumps(slo)
    assert 'api_requests_total{namespace=\\"inference\\"' in text
    assert "http_requests_total" not in text
    assert "ai_api:request_latency_seconds:p99_rate5m > 2.5" in text


def test_a_stack_without_the_ai_api_has_no_slo_rules() -> None:
    raw = {key: value for key, value in read_stack_config("dev").items() if key != "ai-platform:api"}
    plan = run_program("dev", raw)
    names = {obj["metadata"]["name"] for obj in _rule_objects(plan)}
    assert "ai-platform-ai-api-slo" not in names
    assert "ai-platform-meta" in names


def test_prometheus_rule_renders_one_group_per_object() -> None:
    group = rule_groups(None)[0]
    obj = prometheus_rule(group, "monitoring", "kube-prometheus-stack", RUNBOOKS_URL)
    assert obj["metadata"]["name"] == f"ai-platform-{group.name}"
    assert [g["name"] for g in obj["spec"]["groups"]] == [group.name]
