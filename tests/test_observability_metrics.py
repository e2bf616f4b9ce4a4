"""The metrics stack: kube-prometheus-stack pinned and placed like the add-ons, Prometheus sized and retained as
configured, Grafana's admin password kept out of every manifest, optional remote write to AMP limited to its
workspace, the dashboards' queries valid PromQL over metrics the platform produces, and the release analysis
wired to this Prometheus (ServiceMonitor, network policy, address)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.addons.iam import external_secrets_statements
from components.ai_api.names import METRICS_CONTRACT, METRICS_PORT, METRICS_SERVICE
from components.observability import ObservabilityArgs, alerting, dashboards, metrics
from config import StackConfigError
from config.api import ApiAnalysisConfig
from config.namespaces import MIGRATIONS_NAMESPACE, RESERVED_NAMESPACES
from lib.aws import AwsContext
from ops.engine import Plan, RecordedResource
from tests.conftest import build_primary_plan as build_plan
from tests.conftest import stack_config
from tests.manifests import manifest, validate_object

CHART = "kubernetes:helm.sh/v4:Chart"
OBSERVABILITY = "ai-platform:observability:Observability"
AMP_ON = {"ai-platform:observability": {"prometheus": {"remote_write_amp": True}}}


def observability_args(stack: str) -> ObservabilityArgs:
    """The Observability inputs of a shipped stack, as Platform builds them (the values that matter here)."""
    config = stack_config(stack)
    return ObservabilityArgs(
        config=config.observability, stack=stack, cluster_name=f"ai-platform-{stack}",
        kubernetes_version=config.cluster.version, oidc_provider_arn="arn", oidc_issuer="https://oidc",
        logs_kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/logs", secrets_path_prefix=f"ai-platform/{stack}/",
        cluster_secret_store_name="aws-secrets-manager", storage_class="gp3",
        aws=AwsContext(account_id="123456789012", partition="aws", region=config.region), api=config.api,
    )  # fmt: skip


def chart_of(plan: Plan) -> RecordedResource:
    return plan.by_name(f"{plan.stack}-observability-kube-prometheus-stack")


def values_of(plan: Plan) -> dict[str, Any]:
    return chart_of(plan).inputs["values"]


def observability_objects(plan: Plan) -> dict[tuple[str, str], RecordedResource]:
    """(kind, metadata.name) -> resource for the Kubernetes objects of the Observability component."""
    component = plan.component(OBSERVABILITY)
    return {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r
        for r in plan.descendants(component.urn)
        if r.type.startswith("kubernetes:") and r.type != CHART
    }


def test_the_official_chart_at_the_pinned_version_with_stable_names(any_stack: str) -> None:
    chart = chart_of(build_plan(any_stack))
    config = stack_config(any_stack).observability
    assert chart.inputs["chart"] == "kube-prometheus-stack"
    assert chart.inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert chart.inputs["version"] == config.kube_prometheus_stack_version == "88.5.3"
    assert (chart.inputs["name"], chart.inputs["namespace"]) == ("kube-prometheus-stack", "monitoring")
    # The chart truncates its full name at 26 characters: the addresses below hold only if ours fits.
    values = chart.inputs["values"]
    assert values["fullnameOverride"] == metrics.FULLNAME
    assert len(metrics.FULLNAME) <= 26
    assert values["crds"] == {"enabled": True}


def test_addresses_are_the_services_the_release_renders() -> None:
    plan = build_plan("prod")
    analysis = observability_analysis_addresses(plan)
    # templates/prometheus/service.yaml: `<fullname>-prometheus`, port prometheus.service.port (9090); Alertmanager
    # likewise with 9093.
    assert analysis == {"http://kube-prometheus-stack-prometheus.monitoring.svc:9090"}
    assert metrics.ALERTMANAGER_NAME == "kube-prometheus-stack-alertmanager"
    for service in ("prometheus", "alertmanager", "grafana"):
        assert values_of(plan)[service]["service"] == {"type": "ClusterIP"}, f"{service} must not leave the cluster"


def observability_analysis_addresses(plan: Plan) -> set[str]:
    templates = [r for r in plan.resources if r.type == "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate"]
    assert templates
    return {m["provider"]["prometheus"]["address"] for t in templates for m in t.inputs["spec"]["metrics"]}


def test_monitoring_is_restricted_and_only_node_exporter_runs_privileged(any_stack: str) -> None:
    plan = build_plan(any_stack)
    found = observability_objects(plan)
    version = f"v{stack_config(any_stack).cluster.version}"
    monitoring = found[("Namespace", "monitoring")].inputs["metadata"]["labels"]
    node = found[("Namespace", "node-exporter")].inputs["metadata"]["labels"]
    assert monitoring["pod-security.kubernetes.io/enforce"] == "restricted"
    assert node["pod-security.kubernetes.io/enforce"] == "privileged"
    assert monitoring["pod-security.kubernetes.io/enforce-version"] == version
    values = values_of(plan)
    assert values["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"
    assert {"monitoring", "node-exporter"} <= set(RESERVED_NAMESPACES)
    chart = chart_of(plan)
    namespaces = {plan.get(urn).inputs["metadata"]["name"] for urn in chart.dependencies
                  if plan.get(urn).type == "kubernetes:core/v1:Namespace"}  # fmt: skip
    assert namespaces == {"monitoring", "node-exporter"}


@pytest.mark.parametrize(("stack", "replicas", "days", "gib"), [("dev", 1, 3, 20), ("prod", 2, 15, 100)])
def test_prometheus_replicas_retention_volume_and_selectors(stack: str, replicas: int, days: int, gib: int) -> None:
    prometheus = values_of(build_plan(stack))["prometheus"]
    spec = prometheus["prometheusSpec"]
    assert (spec["replicas"], spec["retention"]) == (replicas, f"{days}d")
    assert spec["retentionSize"] == f"{int(gib * 1024 * 0.85)}MB"  # 85% of the volume, Prometheus' base-2 MB
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim == {"storageClassName": "gp3", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": f"{gib}Gi"}}}  # fmt: skip
    assert spec["scrapeInterval"] == spec["evaluationInterval"] == "30s"
    assert spec["externalLabels"] == {"cluster": f"ai-platform-{stack}", "stack": stack}
    # The platform's rules and monitors in other namespaces are picked up whatever their labels.
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}
    assert prometheus["podDisruptionBudget"]["enabled"] is (replicas > 1)
    assert ("topologySpreadConstraints" in spec) is (replicas > 1)
    assert "remoteWrite" not in spec  # AMP is off by default


def test_retention_size_leaves_fifteen_percent_of_the_volume() -> None:
    assert metrics.retention_size(100) == "87040MB"
    assert metrics.retention_size(10) == "8704MB"


def test_every_component_runs_on_the_system_group_and_webhook_hooks_are_off() -> None:
    values = values_of(build_plan("prod"))
    system = {"nodeSelector": {"node.kubernetes.io/node-group": "system"},
              "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}  # fmt: skip
    placed = [values["prometheus"]["prometheusSpec"], values["alertmanager"]["alertmanagerSpec"], values["grafana"],
              values["prometheusOperator"], values["kube-state-metrics"]]  # fmt: skip
    for part in placed:
        assert {k: part[k] for k in system} == system
        assert part["resources"]["limits"]["memory"]
    assert values["alertmanager"]["alertmanagerSpec"]["replicas"] == 3
    assert values["alertmanager"]["alertmanagerSpec"]["topologySpreadConstraints"][0]["topologyKey"] == (
        "topology.kubernetes.io/zone"
    )
    # Hook Jobs rewrite the webhook configurations after install: Chart v4 would revert them on every update.
    assert values["prometheusOperator"]["admissionWebhooks"]["enabled"] is False
    assert values["prometheusOperator"]["tls"] == {"enabled": False}
    # Node-exporter on every node, tainted or not.
    assert values["prometheus-node-exporter"]["tolerations"] == [{"operator": "Exists"}]
    for unreachable in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[unreachable] == {"enabled": False}


def test_alertmanager_takes_its_routing_from_the_alerting_module() -> None:
    plan = build_plan("prod")
    alertmanager = values_of(plan)["alertmanager"]
    args = observability_args("prod")
    routing = alerting.alertmanager_values(args, alerting.receivers_secret(args))["alertmanager"]
    assert alertmanager["config"] == routing["config"]
    # Merged, not replaced: the metrics stack's own Alertmanager values stay.
    spec = alertmanager["alertmanagerSpec"]
    assert spec["secrets"] == routing["alertmanagerSpec"]["secrets"]
    assert spec["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    assert spec["replicas"] == 3


def test_grafana_admin_password_lives_in_secrets_manager_only() -> None:
    plan = build_plan("prod")
    password = plan.by_name("prod-observability-grafana-admin-password")
    assert "result" in password.additionalSecretOutputs
    assert password.inputs["length"] >= 32
    secret = plan.by_name("prod-observability-grafana-admin")
    assert secret.inputs["name"] == "ai-platform/prod/observability/grafana-admin"
    # The telemetry (logs) key: the password guards only telemetry; the platform keeps one key per data class.
    assert secret.inputs["kmsKeyId"].endswith("key/prod-identity-logs-key-key-id")
    assert plan.by_name("prod-observability-grafana-admin-version").inputs["secretString"] == "[secret]"
    grafana = values_of(plan)["grafana"]
    assert grafana["admin"] == {"existingSecret": "grafana-admin"}  # keys: the chart's admin-user, admin-password
    assert "adminPassword" not in grafana
    external = observability_objects(plan)[("ExternalSecret", "grafana-admin")].inputs["spec"]
    assert external["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    assert external["target"]["name"] == "grafana-admin"
    assert {(d["secretKey"], d["remoteRef"]["key"]) for d in external["data"]} == {
        ("admin-user", secret.inputs["name"]),
        ("admin-password", secret.inputs["name"]),
    }
    # external-secrets may read it: under its prefix, decrypting with any key through Secrets Manager.
    aws_ctx = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
    read, decrypt = external_secrets_statements(aws_ctx, "ai-platform/prod/")
    secret_arn = aws_ctx.arn("secretsmanager", f"secret:{secret.inputs['name']}-AbCdEf")
    assert fnmatch.fnmatchcase(secret_arn, read["Resource"])
    assert fnmatch.fnmatchcase(secret.inputs["kmsKeyId"], decrypt["Resource"])
    # The chart starts Grafana only once the Secret exists.
    assert observability_objects(plan)[("ExternalSecret", "grafana-admin")].urn in chart_of(plan).dependencies


def test_remote_write_to_amp_is_off_by_default_and_limited_to_its_workspace_when_on() -> None:
    assert not build_plan("prod").by_type("aws:amp/workspace:Workspace")
    plan = build_plan("prod", AMP_ON)
    [workspace] = plan.by_type("aws:amp/workspace:Workspace")
    assert workspace.inputs["kmsKeyArn"].endswith("key/prod-identity-logs-key-key-id")
    role = plan.by_name("prod-observability-prometheus-remote-write-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:monitoring:kube-prometheus-stack-prometheus" in trust.values()
    policy_resource = plan.by_name("prod-observability-prometheus-remote-write-policy")
    [statement] = json.loads(policy_resource.inputs["policy"])["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "aps:RemoteWrite")
    assert statement["Resource"].endswith(f":workspace/{workspace.name}")  # the workspace's ARN, nothing wider
    assert workspace.urn in policy_resource.dependencies
    prometheus = values_of(plan)["prometheus"]
    [remote] = prometheus["prometheusSpec"]["remoteWrite"]
    assert re.fullmatch(r"https://aps-workspaces\.us-east-1\.amazonaws\.com/workspaces/[^/]+/api/v1/remote_write",
                        remote["url"])  # fmt: skip
    assert remote["sigv4"] == {"region": "us-east-1"}
    assert prometheus["prometheusSpec"]["replicaExternalLabelName"] == "__replica__"  # AMP's HA deduplication
    assert prometheus["serviceAccount"]["name"] == "kube-prometheus-stack-prometheus"
    assert prometheus["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(role.name)
    assert {role.urn, plan.by_name("prod-observability-prometheus-remote-write-policy").urn} <= set(
        chart_of(plan).dependencies
    )


def test_the_ai_api_is_scraped_on_its_metrics_port_by_a_service_monitor() -> None:
    plan = build_plan("prod")
    monitor = plan.by_name("prod-ai-api-service-monitor")
    spec = monitor.inputs["spec"]
    service = plan.by_name("prod-ai-api-service-metrics").inputs
    assert service["metadata"]["name"] == METRICS_SERVICE
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [p["name"] for p in service["spec"]["ports"]] == [spec["endpoints"][0]["port"]] == ["metrics"]
    assert service["spec"]["ports"][0]["port"] == METRICS_PORT
    # Only the metrics Service carries the label: the strategy's Services (narrowed to one revision) are not scraped.
    others = [r for r in plan.by_type("kubernetes:core/v1:Service") if r.inputs["metadata"]["namespace"] == "ai-api"
              and r.name != "prod-ai-api-service-metrics"]  # fmt: skip
    assert others
    assert all(not spec["selector"]["matchLabels"].items() <= r.inputs["metadata"]["labels"].items() for r in others)
    # The analysis selects a revision by this label: the ServiceMonitor must copy it from the pods.
    assert spec["podTargetLabels"] == ["rollouts-pod-template-hash"]
    queries = [m["provider"]["prometheus"]["query"] for r in plan.by_type(
        "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate") for m in r.inputs["spec"]["metrics"]]  # fmt: skip
    assert all('rollouts_pod_template_hash="{{args.revision-hash}}"' in q for q in queries)
    assert chart_of(plan).urn in monitor.dependencies


def test_every_observability_object_matches_its_schema(any_stack: str) -> None:
    plan = build_plan(any_stack)
    version = stack_config(any_stack).cluster.version
    found = [*observability_objects(plan).values(), plan.by_name(f"{any_stack}-ai-api-service-monitor")]
    for resource in found:
        validate_object(manifest(resource), version)


def test_rolling_without_observability_builds_and_releases_with_analysis_need_it() -> None:
    # The account's security findings go to the alert topics: a stack without observability cannot own them.
    unowned = {"ai-platform:security": {"manage_account_security": False}}
    off = {"ai-platform:observability": {"enabled": False}, "ai-platform:api": {"strategy": "rolling"}, **unowned}
    plan = build_plan("prod", off)
    assert not plan.by_type(OBSERVABILITY)
    assert not plan.by_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    policy = plan.by_name("prod-ai-api-netpol-allow-ingress").inputs["spec"]["ingress"]
    assert len(policy) == 1  # the ALB only: no monitoring namespace to admit
    for strategy in ("canary", "blue-green"):
        raw = {"ai-platform:observability": {"enabled": False}, "ai-platform:api": {"strategy": strategy}, **unowned}
        with pytest.raises(StackConfigError) as error:
            stack_config("prod", raw)
        [line] = error.value.problems
        assert line.startswith("Pulumi.prod.yaml: ai-platform:api.strategy: ")
        assert "observability.enabled is false; allowed: 'rolling', or enable observability" in line


def test_observability_needs_external_secrets() -> None:
    raw = {"ai-platform:addons": {"external_secrets": {"enabled": False}}}
    with pytest.raises(StackConfigError) as error:
        stack_config("prod", {**raw, "ai-platform:api": {"strategy": "rolling"}})
    assert "ai-platform:observability.enabled: Grafana's admin password" in str(error.value)


# --- dashboards ---------------------------------------------------------------------------------------------

# Metric names the platform's exporters produce (kube-state-metrics v2, node-exporter, the kubelet's cAdvisor and
# volume stats) that dashboards may use, and the ai-api's contract (a histogram also serves _bucket/_sum/_count).
PLATFORM_METRICS = frozenset({
    "kube_node_info", "kube_node_status_allocatable", "kube_node_status_capacity", "kube_pod_info",
    "kube_pod_status_phase", "kube_pod_status_ready", "kube_pod_container_resource_requests",
    "kube_pod_container_resource_limits", "kube_pod_container_status_restarts_total", "kube_job_status_succeeded",
    "kube_job_status_failed", "kube_deployment_status_replicas_available",
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total", "node_load1",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes", "kubelet_volume_stats_available_bytes",
})  # fmt: skip
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
AI_API_METRICS = frozenset(
    {name for name in METRICS_CONTRACT} | {f"{name}{suffix}" for name, what in METRICS_CONTRACT.items()
                                           if what.startswith("histogram") for suffix in HISTOGRAM_SUFFIXES}
)  # fmt: skip
# What PromQL words are not metric names: keywords and label-list modifiers (functions are followed by "(").
PROMQL_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                             "unless", "offset", "inf", "nan"})  # fmt: skip
# Dashboard variables, replaced by a value of their kind before the expression is parsed.
VARIABLES = {"$__rate_interval": "5m", "$namespace": "ai-api", "$slo": "0.999"}


def concrete(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown dashboard variable in {expr}"
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, matchers, ranges and label lists removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group().lower() in PROMQL_KEYWORDS:
            continue
        names.add(match.group())
    return names


def test_metric_name_extraction_sees_selectors_not_functions_or_labels() -> None:
    expr = 'histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b",c=~"d"}[5m]))) / on (pod) group_left y'
    assert metric_names(expr) == {"x_bucket", "y"}


DASHBOARDS = dashboards.dashboards()


def test_the_three_dashboards_are_shipped_as_sidecar_config_maps() -> None:
    assert set(DASHBOARDS) == {"ai-api", "cluster-capacity", "database"}
    plan = build_plan("prod")
    found = observability_objects(plan)
    for stem, model in DASHBOARDS.items():
        data = found[("ConfigMap", f"dashboard-{stem}")].inputs
        assert data["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert data["metadata"]["namespace"] == "monitoring"
        assert json.loads(data["data"][f"{stem}.json"]) == model
    sidecar = values_of(plan)["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"], sidecar["enabled"]) == ("grafana_dashboard", "1", True)


@pytest.mark.parametrize("stem", sorted(DASHBOARDS))
def test_dashboard_queries_use_only_metrics_the_platform_produces(stem: str) -> None:
    model = DASHBOARDS[stem]
    assert model["uid"].startswith("ai-platform-")
    assert model["title"]
    exprs = dashboards.queries(model)
    assert exprs, f"{stem} has no query"
    for panel in model["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
    unknown = {name for expr in exprs for name in metric_names(concrete(expr))} - PLATFORM_METRICS - AI_API_METRICS
    assert not unknown, f"{stem} queries metrics nobody produces: {sorted(unknown)}"


def test_dashboard_uids_and_panel_ids_are_unique() -> None:
    assert len({m["uid"] for m in DASHBOARDS.values()}) == len(DASHBOARDS)
    for stem, model in DASHBOARDS.items():
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids)), stem


def test_database_dashboard_watches_the_migrations_namespace() -> None:
    assert f'namespace="{MIGRATIONS_NAMESPACE}"' in " ".join(dashboards.queries(DASHBOARDS["database"]))


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:  # as the alert tests: skipped locally, a failure on CI (.ci/run installs it)
        if os.environ.get("CI"):
            pytest.fail("promtool is not installed on CI: .ci/run installs the Debian prometheus package")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    rules = [{"record": f"dashboard:{stem.replace('-', '_')}:{i}", "expr": concrete(expr)}
             for stem, model in DASHBOARDS.items() for i, expr in enumerate(dashboards.queries(model))]  # fmt: skip
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    command = ["promtool", "check", "rules", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_the_analysis_metrics_are_the_contracts() -> None:
    defaults = ApiAnalysisConfig()
    assert METRICS_CONTRACT[defaults.request_metric].startswith("counter")
    assert "`code`" in METRICS_CONTRACT[defaults.request_metric]  # the success query filters code!~"5.."
    assert METRICS_CONTRACT[defaults.latency_metric].startswith("histogram")


def test_the_charts_alerts_that_the_platform_replaces_are_off() -> None:
    """One incident, one notification: where the platform's own rule covers a default alert (with its own
    runbook), the chart's is disabled; one Watchdog, the platform's."""
    from components.observability.rules import alerts, rule_groups

    disabled = values_of(build_plan("prod"))["defaultRules"]["disabled"]
    assert set(disabled) == set(metrics.SUPERSEDED_DEFAULT_ALERTS)
    assert all(disabled.values())
    assert "Watchdog" in {alert.name for alert in alerts(rule_groups(None))}
