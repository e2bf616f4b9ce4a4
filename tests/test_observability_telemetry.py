"""Container logs and traces (components/observability/logs.py, traces.py): the log groups Fluent Bit writes are the
program's (KMS, per-environment retention) and the only ones its role may write; its output names exactly them and
never creates one; the collector's configuration is a complete, consistent OTLP -> sampler -> X-Ray pipeline at the
stack's ratio, with a role limited to X-Ray; and the ai-api is pointed at it and allowed to reach it."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from config import PROJECT
from config.namespaces import LOGS_NAMESPACE, RESERVED_NAMESPACES, TRACES_NAMESPACE
from ops.engine import Plan, RecordedResource
from tests.conftest import stack_config


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


OBSERVABILITY = "ai-platform:observability:Observability"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CHART = "kubernetes:helm.sh/v4:Chart"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# The other outputs aws-for-fluent-bit can switch on: none may ship the logs anywhere else.
OTHER_FLUENT_BIT_OUTPUTS = ("cloudWatch", "firehose", "kinesis", "kinesis_streams", "elasticsearch", "s3", "opensearch")
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}

# Components of the ADOT collector image (aws-observability/aws-otel-collector, pkg/defaultcomponents/defaults.go)
# by their configuration type: a configuration naming any other type fails at the collector's start.
ADOT_COMPONENTS: dict[str, frozenset[str]] = {
    "receivers": frozenset({"otlp", "awsxray", "jaeger", "zipkin", "prometheus", "statsd", "kafka", "filelog"}),
    "processors": frozenset({
        "batch", "memory_limiter", "probabilistic_sampler", "tail_sampling", "groupbytrace", "attributes",
        "resource", "span", "filter", "resourcedetection", "k8sattributes", "metricstransform",
    }),
    "exporters": frozenset({"awsxray", "awsemf", "otlp", "otlphttp", "debug", "prometheusremotewrite", "file"}),
    "extensions": frozenset({"health_check", "pprof", "zpages", "sigv4auth", "awsproxy", "file_storage"}),
}  # fmt: skip
# The collector's configuration schema (go.opentelemetry.io/collector/otelcol): its top-level sections, the service's
# keys, a pipeline's keys and the signal a pipeline id starts with.
TOP_LEVEL = {"receivers", "processors", "exporters", "extensions", "connectors", "service"}
SERVICE_KEYS = {"extensions", "pipelines", "telemetry"}
PIPELINE_KEYS = {"receivers", "processors", "exporters"}
SIGNALS = {"traces", "metrics", "logs", "profiles"}
COMPONENT_ID = re.compile(r"^([a-z0-9_]+)(/[^/\s]+)?$")


def of_observability(plan: Plan, type_: str) -> list[RecordedResource]:
    component = plan.component(OBSERVABILITY)
    return [r for r in plan.descendants(component.urn) if r.type == type_]


def chart_named(plan: Plan, chart: str) -> RecordedResource:
    [found] = [r for r in of_observability(plan, CHART) if r.inputs["chart"] == chart]
    return found


def policy_of(plan: Plan, role_name: str) -> dict[str, Any]:
    return json.loads(plan.by_name(role_name.removesuffix("-role") + "-policy").inputs["policy"])


def log_group_arn(plan: Plan, group: RecordedResource) -> str:
    region_account = re.search(r"arn:aws:kms:([^:]+):(\d+):", group.inputs["kmsKeyId"])
    assert region_account, group.inputs["kmsKeyId"]
    region, account = region_account.groups()
    return f"arn:aws:logs:{region}:{account}:log-group:{group.inputs['name']}"


# --- logs -------------------------------------------------------------------------------------------------------


def test_container_logs_go_to_declared_groups_encrypted_and_kept_per_environment(plan_of, any_stack) -> None:
    plan, config = plan_of(any_stack), stack_config(any_stack)
    [group] = of_observability(plan, LOG_GROUP)
    assert group.inputs["name"] == f"/aws/eks/{PROJECT}-{config.stack}/containers"
    assert group.inputs["retentionInDays"] == config.observability.logs.retention_days
    assert group.inputs["retentionInDays"] == {"dev": 30, "staging": 90, "prod": 365}[any_stack]
    # The platform's logs key, the same as the control plane's group, whose key policy admits this group.
    control_plane = plan.by_name(f"{any_stack}-cluster-control-plane-logs")
    assert group.inputs["kmsKeyId"] == control_plane.inputs["kmsKeyId"]
    key_policy = json.loads(plan.by_name(f"{any_stack}-identity-logs-key").inputs["policy"])
    [logs_use] = [s for s in key_policy["Statement"] if "logs." in json.dumps(s.get("Principal", {}))]
    pattern = logs_use["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert fnmatch.fnmatchcase(log_group_arn(plan, group), pattern)


def test_fluent_bit_may_write_exactly_the_declared_groups_and_create_none(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    groups = {g.inputs["name"] for g in of_observability(plan, LOG_GROUP)}
    statements = policy_of(plan, f"{any_stack}-observability-fluent-bit-role")["Statement"]
    actions = {action for s in statements for action in s["Action"]}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    written = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for arn in statement["Resource"]:
            match = re.fullmatch(r"arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:([^:*]+)(:log-stream:\*)?", arn)
            assert match, f"{arn} is not one declared group or its streams"
            written.add(match.group(1))
    assert written == groups
    trust = json.loads(plan.by_name(f"{any_stack}-observability-fluent-bit-role").inputs["assumeRolePolicy"])
    subjects = [v for s in trust["Statement"] for k, v in s["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{LOGS_NAMESPACE}:fluent-bit"]


def go_truthy(value: object) -> bool:
    """Whether a Helm template's `if` renders the line: Go templates treat false, 0, "" and null as false."""
    return value not in (None, False, 0, "", [], {})


def test_fluent_bit_output_names_exactly_those_groups_with_auto_create_off(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    groups = {g.inputs["name"] for g in of_observability(plan, LOG_GROUP)}
    values = chart_named(plan, "aws-for-fluent-bit").inputs["values"]
    output = values["cloudWatchLogs"]
    assert output["enabled"] is True
    assert {output["logGroupName"]} == groups
    assert not go_truthy(output.get("logGroupTemplate")), "a templated group name would write undeclared groups"
    # The chart writes `auto_create_group <value>` only for a truthy value: it must be there, and say false.
    auto_create = output["autoCreateGroup"]
    assert go_truthy(auto_create)
    assert str(auto_create).lower() in ("false", "off")
    assert not go_truthy(output.get("logRetentionDays")), "retention is the program's, not Fluent Bit's"
    for other in OTHER_FLUENT_BIT_OUTPUTS:
        assert not go_truthy((values.get(other) or {}).get("enabled")), f"{other} output switched on"
    # The service account is the one the role trusts, annotated with that role.
    role_arn = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn.endswith(f"/{any_stack}-observability-fluent-bit-role")
    assert values["serviceAccount"]["name"] == "fluent-bit"


def test_fluent_bit_runs_on_every_node_reading_logs_read_only_in_its_own_namespace(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    chart = chart_named(plan, "aws-for-fluent-bit")
    values = chart.inputs["values"]
    assert chart.inputs["namespace"] == LOGS_NAMESPACE
    assert LOGS_NAMESPACE in RESERVED_NAMESPACES
    assert chart.inputs["version"] == stack_config(any_stack).observability.logs.fluent_bit_chart_version
    # A toleration without key and with Exists matches every taint: the `system` nodes' logs are shipped too.
    assert {"operator": "Exists"} in values["tolerations"]
    assert values["resources"]["requests"].keys() >= {"cpu", "memory"}
    assert "memory" in values["resources"]["limits"]
    mounts = {m["mountPath"]: m for m in values["volumeMounts"]}
    assert mounts["/var/log"].get("readOnly") is True
    assert values["input"]["db"].startswith(mounts[values["input"]["db"].rsplit("/", 1)[0]]["mountPath"])
    hardening = values["containerSecurityContext"]
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"] == {"drop": ["ALL"]}
    assert hardening["readOnlyRootFilesystem"] is True
    assert not hardening.get("privileged")
    # hostPath takes Pod Security `privileged` (baseline forbids it); the namespace holds Fluent Bit only.
    [ns] = [r for r in plan.by_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == LOGS_NAMESPACE]
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    in_namespace = [r for r in of_observability(plan, CHART) if r.inputs["namespace"] == LOGS_NAMESPACE]
    assert in_namespace == [chart]


# --- traces -----------------------------------------------------------------------------------------------------


def collector_config_problems(config: Mapping[str, Any], components: Mapping[str, frozenset[str]]) -> list[str]:
    """What the collector would refuse in `config`: an unknown section or key, a component id that is not
    `type[/name]`, a type its distribution lacks, a pipeline or extension referring to an undefined component, a
    pipeline without a receiver or exporter, or no health_check extension (the chart's probes need it)."""
    problems = [f"unknown section `{key}`" for key in config if key not in TOP_LEVEL]
    for section, known in components.items():
        for component_id in config.get(section) or {}:
            match = COMPONENT_ID.fullmatch(component_id)
            if not match:
                problems.append(f"{section}: `{component_id}` is not type[/name]")
            elif match.group(1) not in known:
                problems.append(f"{section}: `{match.group(1)}` is not a component of the collector image")
    service = config.get("service") or {}
    problems += [f"service: unknown key `{key}`" for key in service if key not in SERVICE_KEYS]
    for extension in service.get("extensions") or []:
        if extension not in (config.get("extensions") or {}):
            problems.append(f"service.extensions: `{extension}` is not defined")
    if "health_check" not in (service.get("extensions") or []):
        problems.append("service.extensions: no health_check (the chart's probes call it)")
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service: no pipeline")
    for pipeline_id, pipeline in pipelines.items():
        if pipeline_id.split("/", 1)[0] not in SIGNALS:
            problems.append(f"pipeline `{pipeline_id}`: not one of {sorted(SIGNALS)}[/name]")
        problems += [f"pipeline `{pipeline_id}`: unknown key `{key}`" for key in pipeline if key not in PIPELINE_KEYS]
        for section in PIPELINE_KEYS:
            for component_id in pipeline.get(section) or []:
                if component_id not in (config.get(section) or {}):
                    problems.append(f"pipeline `{pipeline_id}`: {section} `{component_id}` is not defined")
        for section in ("receivers", "exporters"):
            if not pipeline.get(section):
                problems.append(f"pipeline `{pipeline_id}`: no {section}")
    return problems


def collector_values(plan: Plan) -> dict[str, Any]:
    return chart_named(plan, "opentelemetry-collector").inputs["values"]


def test_collector_config_is_a_complete_otlp_to_xray_pipeline_at_the_stacks_ratio(plan_of, any_stack) -> None:
    values = collector_values(plan_of(any_stack))
    # The chart ignores `config` when `alternateConfig` is set: this is the whole configuration that runs.
    config = values["alternateConfig"]
    assert "config" not in values
    # It reaches the collector as YAML in the chart's ConfigMap: it must survive the round trip unchanged.
    assert yaml.safe_load(yaml.safe_dump(config)) == config
    assert collector_config_problems(config, ADOT_COMPONENTS) == []
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    ratio = stack_config(any_stack).observability.traces.sampling_ratio
    assert config["processors"]["probabilistic_sampler"]["sampling_percentage"] == pytest.approx(ratio * 100)
    assert {"dev": 100, "staging": 20, "prod": 5}[any_stack] == pytest.approx(ratio * 100)
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert traces["exporters"] == ["awsxray"]
    # Memory is guarded before sampling; batching is last, so only kept spans are batched.
    assert traces["processors"] == ["memory_limiter", "probabilistic_sampler", "batch"]
    assert config["exporters"]["awsxray"]["region"] == stack_config(any_stack).region


def test_a_dangling_or_unknown_component_is_reported() -> None:
    from components.observability.traces import collector_config

    config = collector_config("us-east-1", 0.05)
    assert collector_config_problems(config, ADOT_COMPONENTS) == []
    broken = copy.deepcopy(config)
    broken["service"]["pipelines"]["traces"]["processors"].append("tail_sampling")
    broken["exporters"]["zipkin"] = {}
    broken["service"]["pipelines"]["traces"]["receivers"] = []
    broken["service"]["extensions"] = []
    assert collector_config_problems(broken, ADOT_COMPONENTS) == [
        "exporters: `zipkin` is not a component of the collector image",
        "service.extensions: no health_check (the chart's probes call it)",
        "pipeline `traces`: processors `tail_sampling` is not defined",
        "pipeline `traces`: no receivers",
    ]


def test_collector_runs_the_adot_image_with_a_role_limited_to_xray(plan_of, any_stack) -> None:
    plan, config = plan_of(any_stack), stack_config(any_stack).observability.traces
    chart = chart_named(plan, "opentelemetry-collector")
    values = chart.inputs["values"]
    assert chart.inputs["namespace"] == TRACES_NAMESPACE
    assert TRACES_NAMESPACE in RESERVED_NAMESPACES
    assert chart.inputs["version"] == config.collector_chart_version
    assert values["mode"] == "deployment"
    assert values["replicaCount"] == config.collector_replicas
    assert values["image"] == {
        "repository": "public.ecr.aws/aws-observability/aws-otel-collector",
        "tag": config.collector_image_tag,
    }
    assert values["command"]["name"] == "awscollector"
    # Only OTLP is exposed: the ports of the chart's default receivers (not configured here) are closed.
    assert all(not values["ports"][port]["enabled"] for port in ("jaeger-compact", "jaeger-thrift", "jaeger-grpc"))
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["podSecurityContext"]["runAsUser"] >= 10000
    [statement] = policy_of(plan, f"{any_stack}-observability-otel-collector-role")["Statement"]
    assert set(statement["Action"]) == XRAY_ACTIONS
    assert statement["Resource"] == "*"
    trust = json.loads(plan.by_name(f"{any_stack}-observability-otel-collector-role").inputs["assumeRolePolicy"])
    subjects = [v for s in trust["Statement"] for k, v in s["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{TRACES_NAMESPACE}:{values['serviceAccount']['name']}"]


# --- the workload -----------------------------------------------------------------------------------------------


def collector_service_address(plan: Plan) -> str:
    """The collector Service's OTLP/HTTP address as the chart names it: `<fullnameOverride>.<namespace>.svc`."""
    chart = chart_named(plan, "opentelemetry-collector")
    values = chart.inputs["values"]
    port = values["alternateConfig"]["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1]
    return f"http://{values['fullnameOverride']}.{chart.inputs['namespace']}.svc:{port}"


def egress_rules(plan: Plan, stack: str) -> list[dict[str, Any]]:
    return plan.by_name(f"{stack}-ai-api-netpol-allow-egress").inputs["spec"]["egress"]


def test_the_ai_api_sends_its_traces_to_the_collector_and_may_reach_it(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    address = collector_service_address(plan)
    data = plan.by_name(f"{any_stack}-ai-api-settings").inputs["data"]
    assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == address
    assert data["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert data["OTEL_SERVICE_NAME"] == "ai-api"
    to_collector = [
        rule
        for rule in egress_rules(plan, any_stack)
        if rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": TRACES_NAMESPACE}}}]
    ]
    assert [rule["ports"] for rule in to_collector] == [[{"protocol": "TCP", "port": int(address.rsplit(":", 1)[1])}]]


def test_without_observability_the_ai_api_gets_no_collector(plan_of) -> None:
    plan = plan_of("dev", {"ai-platform:observability": {"enabled": False}})
    data = plan.by_name("dev-ai-api-settings").inputs["data"]
    assert not [key for key in data if key.startswith("OTEL_")]
    namespaces = [rule for rule in egress_rules(plan, "dev") if "namespaceSelector" in json.dumps(rule["to"])]
    assert all(TRACES_NAMESPACE not in json.dumps(rule) for rule in namespaces)
