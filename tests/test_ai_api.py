"""The ai-api workload: what each stack deploys, how it is released, and what guards it (offline plans + schemas)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest

from config import StackConfigError, load_stack_config
from ops.engine import Plan, RecordedResource, read_stack_config
from tests.conftest import build_plan as full_plan
from tests.conftest import build_primary_plan as build_plan
from tests.conftest import stack_config
from tests.manifests import (
    has_crd,
    kubernetes_objects,
    manifest,
    validate_core,
    validate_custom_resource,
    validate_object,
)

AI_API = "ai-platform:ai-api:AiApi"
BLUE_GREEN_PROD = {"ai-platform:api": {"strategy": "blue-green"}}


# --- helpers ------------------------------------------------------------------------------------------------------


def workload_resources(plan: Plan) -> list[RecordedResource]:
    return plan.descendants(plan.component(AI_API).urn)


def objects(plan: Plan) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, metadata.name) -> manifest, for every Kubernetes object the AiApi component declares."""
    ours = {r.urn for r in workload_resources(plan)}
    found = {}
    for resource in kubernetes_objects(plan):
        if resource.urn in ours:
            obj = manifest(resource)
            found[(obj["kind"], obj["metadata"]["name"])] = obj
    return found


def aws_resource(plan: Plan, type_: str) -> list[RecordedResource]:
    return [r for r in workload_resources(plan) if r.type == type_]


def workload(plan: Plan) -> dict[str, Any]:
    found = [o for (kind, name), o in objects(plan).items() if kind in ("Deployment", "Rollout") and name == "ai-api"]
    assert len(found) == 1
    return found[0]


def container(plan: Plan) -> dict[str, Any]:
    return workload(plan)["spec"]["template"]["spec"]["containers"][0]


def raw_with(stack: str, api: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """The shipped stack file with `ai-platform:api` keys replaced/added (no Pulumi code runs)."""
    raw = read_stack_config(stack)
    raw["ai-platform:api"] = {**raw["ai-platform:api"], **api}
    for key, value in sections.items():
        raw[f"ai-platform:{key}"] = value
    return raw


def problems(stack: str, api: dict[str, Any], **sections: Any) -> str:
    with pytest.raises(StackConfigError) as error:
        load_stack_config(stack, raw_with(stack, api, **sections))
    return "\n".join(error.value.problems)


@pytest.fixture(scope="module", params=["dev", "staging", "prod", "prod-blue-green"])
def any_plan(request: pytest.FixtureRequest) -> tuple[str, Plan]:
    """Every shipped stack, plus prod switched to blue-green (every strategy, every environment's defaults)."""
    if request.param == "prod-blue-green":
        return "prod", build_plan("prod", BLUE_GREEN_PROD)
    return request.param, build_plan(request.param)


# --- every object is a valid object ----------------------------------------------------------------------------


def test_every_kubernetes_object_validates_against_its_schema(any_plan: tuple[str, Plan]) -> None:
    stack, plan = any_plan
    version = stack_config(stack).cluster.version
    found = objects(plan)
    kinds = {kind for kind, _ in found}
    assert {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "VerticalPodAutoscaler",
    } <= kinds
    for obj in found.values():
        if has_crd(obj["apiVersion"], obj["kind"]):
            validate_custom_resource(obj)
        else:
            validate_core(obj, version)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    rollout = copy.deepcopy(workload(build_plan("prod")))
    rollout["spec"]["strategy"]["canary"]["steps"][0] = {"setWieght": 5}
    with pytest.raises(jsonschema.ValidationError):
        validate_custom_resource(rollout)
    deployment = copy.deepcopy(workload(build_plan("dev")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(Exception, match="readinesProbe"):
        validate_object(deployment, stack_config("dev").cluster.version)


# --- per environment -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "kind", "replicas", "hpa_min"),
    [("dev", "Deployment", 1, 1), ("staging", "Rollout", 2, 2), ("prod", "Rollout", 3, 3)],
)
def test_replicas_hpa_and_pdb_per_environment(stack: str, kind: str, replicas: int, hpa_min: int) -> None:
    plan = build_plan(stack)
    found = objects(plan)
    assert workload(plan)["kind"] == kind
    assert workload(plan)["spec"]["replicas"] == replicas
    hpa = found[("HorizontalPodAutoscaler", "ai-api")]["spec"]
    assert hpa["minReplicas"] == hpa_min
    assert hpa["maxReplicas"] == stack_config(stack).api.hpa.max_replicas
    assert hpa["scaleTargetRef"]["kind"] == kind
    assert hpa["scaleTargetRef"]["name"] == "ai-api"
    cpu = hpa["metrics"][0]["resource"]
    assert (cpu["name"], cpu["target"]["averageUtilization"]) == ("cpu", 70)
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    pdb = found[("PodDisruptionBudget", "ai-api")]["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"] == workload(plan)["spec"]["selector"]["matchLabels"]
    # The HPA owns the replica count once running: `pulumi up` must not reset it.
    workload_resource = next(r for r in workload_resources(plan) if r.inputs.get("kind") == kind)
    assert "spec.replicas" in workload_resource.ignoreChanges


def test_a_vpa_recommends_requests_for_the_workload_and_never_touches_pods(any_plan: tuple[str, Plan]) -> None:
    """The VPA add-on's recommender has something to recommend: the ai-api workload, whatever its kind (a Rollout
    implements the scale subresource the recommender finds pods through), in `Off` mode only."""
    _, plan = any_plan
    found = objects(plan)
    vpa = found[("VerticalPodAutoscaler", "ai-api")]
    assert vpa["apiVersion"] == "autoscaling.k8s.io/v1"
    assert vpa["spec"]["updatePolicy"] == {"updateMode": "Off"}
    target = {key: workload(plan)[key] for key in ("apiVersion", "kind")} | {"name": "ai-api"}
    assert vpa["spec"]["targetRef"] == target
    assert found[("HorizontalPodAutoscaler", "ai-api")]["spec"]["scaleTargetRef"] == target
    assert vpa["spec"]["resourcePolicy"]["containerPolicies"] == [
        {"containerName": container(plan)["name"], "controlledResources": ["cpu", "memory"]}
    ]


def test_no_vpa_without_the_vpa_addon() -> None:
    plan = build_plan("prod", {"ai-platform:addons": {"vpa": {"enabled": False}}})
    assert not plan.by_type("kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler")
    assert ("HorizontalPodAutoscaler", "ai-api") in objects(plan)


def test_hpa_and_resources_follow_config() -> None:
    plan = build_plan(
        "prod",
        {
            "ai-platform:api": {
                "hpa": {"cpu_target_percent": 55, "scale_down_stabilization_seconds": 600},
                "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
            }
        },
    )
    hpa = objects(plan)[("HorizontalPodAutoscaler", "ai-api")]["spec"]
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 55
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert container(plan)["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }


# --- the container ------------------------------------------------------------------------------------------------


def test_probes_resources_and_port(any_plan: tuple[str, Plan]) -> None:
    _, plan = any_plan
    c = container(plan)
    assert c["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ]
    assert c["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    }
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["path"] == "/health"
        assert c[probe]["httpGet"]["port"] == "http"
    assert (c["readinessProbe"]["initialDelaySeconds"], c["readinessProbe"]["periodSeconds"]) == (30, 10)
    assert (c["livenessProbe"]["initialDelaySeconds"], c["livenessProbe"]["periodSeconds"]) == (60, 30)
    # The startup probe gives a slow start (model loading) minutes before liveness could restart the container.
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 300


def test_restricted_security_context_and_graceful_termination(any_plan: tuple[str, Plan]) -> None:
    _, plan = any_plan
    pod = workload(plan)["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # Never an ID a node's system users or an image's default user could have.
    for key in ("runAsUser", "runAsGroup"):
        assert pod["securityContext"][key] >= 10000
        assert c["securityContext"][key] >= 10000
    assert pod["securityContext"]["fsGroup"] >= 10000
    tmp = next(m for m in c["volumeMounts"] if m["mountPath"] == "/tmp")
    assert next(v for v in pod["volumes"] if v["name"] == tmp["name"])["emptyDir"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "ai-api"
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] < pod["terminationGracePeriodSeconds"]
    spread = {s["topologyKey"]: s for s in pod["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def test_zone_spread_is_strict_outside_dev() -> None:
    for stack, expected in (("dev", "ScheduleAnyway"), ("prod", "DoNotSchedule")):
        pod = workload(build_plan(stack))["spec"]["template"]["spec"]
        zone = next(s for s in pod["topologySpreadConstraints"] if s["topologyKey"] == "topology.kubernetes.io/zone")
        assert zone["whenUnsatisfiable"] == expected


def test_image_comes_from_the_stacks_ecr_repository_and_is_pinned_outside_dev() -> None:
    for stack in ("dev", "staging", "prod"):
        image = container(build_plan(stack))["image"]
        assert image.startswith(f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ai-platform/{stack}/ai-api")
        if stack != "dev":
            assert not re.search(r":latest(@|$)", image)
    assert container(build_plan("prod"))["image"].endswith(
        "@" + stack_config("prod").api.image.digest  # type: ignore[operator]
    )


def test_namespace_enforces_restricted_pod_security_for_the_cluster_version(any_plan: tuple[str, Plan]) -> None:
    stack, plan = any_plan
    labels = objects(plan)[("Namespace", "ai-api")]["metadata"]["labels"]
    version = f"v{stack_config(stack).cluster.version}"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == version
    accounts = [o for (kind, _), o in objects(plan).items() if kind == "ServiceAccount"]
    assert accounts
    assert all(a["automountServiceAccountToken"] is False for a in accounts)


# --- configuration and secrets ---------------------------------------------------------------------------------


def _settings(plan: Plan) -> dict[str, str]:
    name = container(plan)["envFrom"][0]["configMapRef"]["name"]
    return objects(plan)[("ConfigMap", name)]["data"]


def test_the_pods_connect_as_ai_app_with_verified_tls_from_non_secret_settings() -> None:
    plan = build_plan("prod")
    settings = _settings(plan)
    assert {key: value for key, value in settings.items() if key.startswith("PG")} == {
        "PGHOST": plan.outputs["database_endpoint"],  # the writer
        "PGPORT": "5432",
        "PGDATABASE": "aiplatform",
        "PGUSER": "ai_app",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/etc/ssl/certs/rds-global-bundle.pem",
        "PGAPPNAME": "ai-api",
    }
    assert settings["AWS_REGION"] == "us-east-1"  # the region the app signs its IAM tokens for
    # `require` verifies nothing, so no CA bundle is named (libpq would verify the chain if one were).
    encrypted_only = _settings(build_plan("prod", {"ai-platform:api": {"database_sslmode": "require"}}))
    assert encrypted_only["PGSSLMODE"] == "require"
    assert "PGSSLROOTCERT" not in encrypted_only


def test_the_workload_never_sees_the_master_secret(any_plan: tuple[str, Plan]) -> None:
    """No Secret, SecretStore or ExternalSecret in the namespace, no reference to a Secret in the pods, and no
    role of the component may read Secrets Manager or use the database key: the master credentials serve only the
    migrations."""
    stack, plan = any_plan
    found = objects(plan)
    assert not {kind for kind, _ in found} & {"Secret", "SecretStore", "ExternalSecret"}
    pod = json.dumps(workload(plan)["spec"]["template"])
    for reference in ("secretKeyRef", "secretRef", '"secret"'):  # env, envFrom, volumes
        assert reference not in pod
    assert "env" not in container(plan)
    # The migrations' role is the one that reads the master secret; nothing of the ai-api names it or its key.
    migrations = json.loads(plan.by_name(f"{stack}-db-migrations-secrets-policy").inputs["policy"])["Statement"]
    master_secret = plan.outputs["database_master_secret_arn"]
    assert any(s["Resource"] == master_secret for s in migrations)
    database_key = next(s["Resource"] for s in migrations if s["Action"] == "kms:Decrypt")
    text = json.dumps([r.inputs for r in workload_resources(plan)])
    assert "secretsmanager:" not in text
    assert master_secret not in text
    assert database_key not in text


def test_settings_configmap_and_feature_flags_in_ssm() -> None:
    plan = build_plan("prod")
    c = container(plan)
    config_map = objects(plan)[("ConfigMap", c["envFrom"][0]["configMapRef"]["name"])]["data"]
    assert config_map["FEATURE_FLAGS_SSM_PATH"] == "/ai-platform/prod/ai-api/flags"
    assert config_map["MODEL_BUCKET"].startswith("ai-platform-prod-models")
    assert "DATABASE_URL" not in config_map
    parameters = {p.inputs["name"]: p.inputs for p in aws_resource(plan, "aws:ssm/parameter:Parameter")}
    assert parameters["/ai-platform/prod/ai-api/flags/rag_reranker"]["insecureValue"] == "true"
    assert parameters["/ai-platform/prod/ai-api/flags/max_context_documents"]["insecureValue"] == "8"
    assert {p["type"] for p in parameters.values()} == {"String"}
    # A settings change rolls the pods (and so goes through the release strategy).
    changed = build_plan("prod", {"ai-platform:api": {"settings": {"LOG_LEVEL": "warning"}}})
    hash_key = "ai-platform/config-hash"
    assert (
        workload(changed)["spec"]["template"]["metadata"]["annotations"][hash_key]
        != workload(plan)["spec"]["template"]["metadata"]["annotations"][hash_key]
    )


def _role_policy(plan: Plan, role_arn: str) -> list[dict[str, Any]]:
    role_name = role_arn.rsplit("/", 1)[1]
    role = plan.by_name(role_name)
    policies = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == f"{role_name}-id"]
    assert len(policies) == 1, role.name
    return json.loads(policies[0].inputs["policy"])["Statement"]


def test_workload_role_reads_its_model_bucket_and_flags_signs_in_as_ai_app_and_nothing_else() -> None:
    plan = build_plan("prod")
    account = objects(plan)[("ServiceAccount", "ai-api")]
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    trust = json.loads(plan.by_name(role_arn.rsplit("/", 1)[1]).inputs["assumeRolePolicy"])["Statement"][0]
    assert next(iter(trust["Condition"]["StringEquals"].values())) == "system:serviceaccount:ai-api:ai-api"
    statements = _role_policy(plan, role_arn)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "s3:ListBucket",
        "s3:GetObject",
        "kms:Decrypt",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "rds-db:connect",
    }
    models = plan.by_name("prod-storage-models").inputs["bucket"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ListModelBucket"]["Resource"] == f"arn:aws:s3:::{models}"
    assert by_sid["ReadModels"]["Resource"] == f"arn:aws:s3:::{models}/*"
    assert (
        by_sid["DecryptModelsThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    )
    assert all(r.endswith(("/ai-api/flags", "/ai-api/flags/*")) for r in by_sid["ReadFeatureFlags"]["Resource"])
    # IAM database authentication as ai_app on this cluster only: not the master user, not another cluster.
    resource_id = plan.outputs["database_cluster_resource_id"]
    assert by_sid["ConnectToDatabaseAsAppRole"]["Action"] == "rds-db:connect"
    assert by_sid["ConnectToDatabaseAsAppRole"]["Resource"] == (
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/ai_app"
    )
    assert all(s.get("Resource") != "*" for s in statements)


# --- network -------------------------------------------------------------------------------------------------------


def test_network_policies_deny_by_default_and_allow_only_alb_dns_database_and_https() -> None:
    plan = build_plan("prod")
    policies = {name: o["spec"] for (kind, name), o in objects(plan).items() if kind == "NetworkPolicy"}
    deny = policies["ai-api-default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    public = sorted(plan.by_name(f"prod-network-public-us-east-1{z}").inputs["cidrBlock"] for z in "abc")
    database = sorted(plan.by_name(f"prod-network-database-us-east-1{z}").inputs["cidrBlock"] for z in "abc")
    ingress = policies["ai-api-allow-ingress"]["ingress"]
    assert sorted(p["ipBlock"]["cidr"] for p in ingress[0]["from"]) == public
    assert ingress[0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    # Prometheus, from the monitoring namespace, reaches the metrics port only (and the ALB never does).
    assert ingress[1] == {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        "ports": [{"protocol": "TCP", "port": 9090}],
    }
    assert len(ingress) == 2
    egress = policies["ai-api-allow-egress"]["egress"]
    ports = [sorted((p["protocol"], p["port"]) for p in rule["ports"]) for rule in egress]
    # ... and OTLP to the trace collector (tests/test_observability_telemetry.py).
    assert ports == [[("TCP", 53), ("UDP", 53)], [("TCP", 5432)], [("TCP", 443)], [("TCP", 4318)]]
    assert egress[0]["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert sorted(p["ipBlock"]["cidr"] for p in egress[1]["to"]) == database
    assert egress[2]["to"][0]["ipBlock"]["except"] == ["169.254.0.0/16"]  # never the instance metadata service


def test_ingress_is_an_https_alb_with_waf_logs_and_a_modern_tls_policy() -> None:
    plan = build_plan("prod")
    ingress = objects(plan)[("Ingress", "ai-api")]
    notes = ingress["metadata"]["annotations"]
    config = stack_config("prod").api
    web_acl = aws_resource(plan, "aws:wafv2/webAcl:WebAcl")[0]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert notes["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert json.loads(notes["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert notes["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    # prod's certificate is issued through its zone: the Ingress serves the validated one (tests/test_edge.py).
    [validation] = plan.by_type("aws:acm/certificateValidation:CertificateValidation")
    assert config.certificate_arn is None
    assert notes["alb.ingress.kubernetes.io/certificate-arn"] == validation.inputs["certificateArn"]
    assert notes["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13-")
    assert notes["alb.ingress.kubernetes.io/healthcheck-path"] == "/health"
    assert notes["alb.ingress.kubernetes.io/wafv2-acl-arn"].endswith(
        f"/webacl/{web_acl.inputs['name']}/{web_acl.name}-id"
    )
    attributes = dict(kv.split("=") for kv in notes["alb.ingress.kubernetes.io/load-balancer-attributes"].split(","))
    logs_bucket = plan.by_name("prod-storage-logs").inputs["bucket"]
    assert attributes["access_logs.s3.enabled"] == "true"
    assert (attributes["access_logs.s3.bucket"], attributes["access_logs.s3.prefix"]) == (logs_bucket, "alb")
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert ingress["spec"]["rules"][0]["host"] == config.domain_name


# --- delivery strategies --------------------------------------------------------------------------------------------


def test_prod_canary_goes_5_25_50_100_with_pauses_alb_weights_and_analysis() -> None:
    plan = build_plan("prod")
    found = objects(plan)
    canary = workload(plan)["spec"]["strategy"]["canary"]
    steps = canary["steps"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [5, 25, 50, 100]
    assert [list(s) for s in steps] == [["setWeight"], ["pause"]] * 3 + [["setWeight"]]
    assert [s["pause"]["duration"] for s in steps if "pause" in s] == ["5m", "10m", "10m"]
    alb = canary["trafficRouting"]["alb"]
    assert ("Ingress", alb["ingress"]) in found
    for service in (canary["stableService"], canary["canaryService"], alb["rootService"]):
        assert ("Service", service) in found
    # The ALB rule forwards through the weighted action the controller writes (exact weights, no pod-count maths).
    backend = found[("Ingress", alb["ingress"])]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": alb["rootService"], "port": {"name": "use-annotation"}}
    analysis = canary["analysis"]
    assert analysis["startingStep"] == 1
    template = found[("AnalysisTemplate", analysis["templates"][0]["templateName"])]["spec"]
    metrics = {m["name"]: m for m in template["metrics"]}
    assert set(metrics) == {"success-rate", "latency-p99"}
    for metric in metrics.values():
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
        assert 'rollouts_pod_template_hash="{{args.revision-hash}}"' in prometheus["query"]
        assert "count" not in metric  # background analysis runs until the rollout completes
    assert "histogram_quantile(0.99" in metrics["latency-p99"]["provider"]["prometheus"]["query"]
    assert "result[0] >= 0.99" in metrics["success-rate"]["successCondition"]
    assert metrics["success-rate"]["failureLimit"] == 1
    assert workload(plan)["spec"]["progressDeadlineAbort"] is True


def test_thresholds_are_config_and_the_analysis_queries_the_observability_prometheus() -> None:
    plan = build_plan(
        "prod",
        {"ai-platform:api": {"analysis": {"success_rate_min": 0.995}, "canary": {"pause_minutes": [2, 5, 15]}}},
    )
    template = objects(plan)[("AnalysisTemplate", "ai-api-canary")]["spec"]
    assert {m["provider"]["prometheus"]["address"] for m in template["metrics"]} == {
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"  # the chart's Service (fullnameOverride)
    }
    assert "result[0] >= 0.995" in template["metrics"][0]["successCondition"]
    steps = workload(plan)["spec"]["strategy"]["canary"]["steps"]
    assert [s["pause"]["duration"] for s in steps if "pause" in s] == ["2m", "5m", "15m"]


def test_blue_green_in_prod_waits_for_a_person_and_keeps_the_old_version() -> None:
    plan = build_plan("prod", BLUE_GREEN_PROD)
    found = objects(plan)
    blue_green = workload(plan)["spec"]["strategy"]["blueGreen"]
    assert blue_green["autoPromotionEnabled"] is False
    assert blue_green["scaleDownDelaySeconds"] == 1800
    assert ("Service", blue_green["activeService"]) in found
    assert ("Service", blue_green["previewService"]) in found
    template = found[("AnalysisTemplate", blue_green["prePromotionAnalysis"]["templates"][0]["templateName"])]
    assert all(m["count"] == 5 for m in template["spec"]["metrics"])  # a pre-promotion analysis must end
    backend = found[("Ingress", "ai-api")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": blue_green["activeService"], "port": {"name": "http"}}
    # Switching strategy is only a config change: no canary leftovers.
    assert ("Service", "ai-api-canary") not in found
    assert ("AnalysisTemplate", "ai-api-canary") not in found
    staging = workload(build_plan("staging"))["spec"]["strategy"]["blueGreen"]
    assert staging["autoPromotionEnabled"] is True


def test_rolling_is_a_deployment_with_surge_from_config() -> None:
    plan = build_plan("dev")
    deployment = workload(plan)
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
    }
    assert not [k for k in objects(plan) if k[0] in ("Rollout", "AnalysisTemplate")]
    backend = objects(plan)[("Ingress", "ai-api")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "ai-api", "port": {"name": "http"}}


# --- ECR and WAF -------------------------------------------------------------------------------------------------


def test_ecr_repository_is_immutable_scanned_encrypted_and_pruned() -> None:
    plan = build_plan("prod")
    repository = aws_resource(plan, "aws:ecr/repository:Repository")[0]
    storage_key = plan.by_name("prod-identity-storage-key")
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": f"arn:aws:kms:us-east-1:123456789012:key/{storage_key.name}-key-id"}
    ]
    assert repository.protect is True
    rules = json.loads(aws_resource(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy")[0].inputs["policy"])["rules"]
    keep = next(r for r in rules if r["selection"]["countType"] == "imageCountMoreThan")
    assert keep["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100}
    assert keep["rulePriority"] == max(r["rulePriority"] for r in rules)  # "any" must be the last rule
    dev = aws_resource(build_plan("dev"), "aws:ecr/repository:Repository")[0]
    assert dev.inputs["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert dev.inputs["imageTagMutabilityExclusionFilters"] == [{"filter": "latest", "filterType": "WILDCARD"}]


def test_waf_has_managed_rules_rate_limit_blocklist_and_logging() -> None:
    plan = build_plan("prod")
    web_acl = aws_resource(plan, "aws:wafv2/webAcl:WebAcl")[0].inputs
    assert web_acl["scope"] == "REGIONAL"
    assert web_acl["defaultAction"] == {"allow": {}}
    rules = {r["name"]: r for r in web_acl["rules"]}
    managed = {
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in rules.values()
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    assert len({r["priority"] for r in rules.values()}) == len(rules)
    rate = rules["rate-limit-per-ip"]
    assert rate["statement"]["rateBasedStatement"]["limit"] == 2000
    assert rate["action"] == {"block": {}}
    ip_set = aws_resource(plan, "aws:wafv2/ipSet:IpSet")[0]
    assert rules["blocklist"]["statement"]["ipSetReferenceStatement"]["arn"].endswith(f"/{ip_set.name}-id")
    assert rules["blocklist"]["priority"] == 0
    assert ip_set.ignoreChanges == ["addresses"]  # the security automation owns the list
    logging = aws_resource(plan, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")[0].inputs
    group = aws_resource(plan, "aws:cloudwatch/logGroup:LogGroup")[0].inputs
    assert group["name"].startswith("aws-waf-logs-")
    assert group["retentionInDays"] == 365
    assert (
        group["kmsKeyId"]
        == f"arn:aws:kms:us-east-1:123456789012:key/{plan.by_name('prod-identity-logs-key').name}-key-id"
    )
    assert logging["logDestinationConfigs"] == [f"arn:aws:logs:us-east-1:123456789012:log-group:{group['name']}"]
    assert {"singleHeader": {"name": "authorization"}} in logging["redactedFields"]
    outputs = plan.outputs
    assert outputs["waf_blocklist_ip_set_arn"].endswith(f"/{ip_set.name}-id")
    assert outputs["waf_web_acl_arn"].startswith("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/")


def test_waf_rate_limit_and_count_only_rules_are_config() -> None:
    plan = build_plan("prod", {"ai-platform:api": {"waf": {"rate_limit": 500, "common_rules_count_only": []}}})
    rules = {r["name"]: r for r in aws_resource(plan, "aws:wafv2/webAcl:WebAcl")[0].inputs["rules"]}
    assert rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"]["limit"] == 500
    assert "ruleActionOverrides" not in rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    default = aws_resource(build_plan("prod"), "aws:wafv2/webAcl:WebAcl")[0].inputs["rules"]
    common = next(r for r in default if r["name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert overrides == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]


# --- config validation ---------------------------------------------------------------------------------------------


def test_shipped_stacks_pick_their_strategy() -> None:
    assert [stack_config(s).api.strategy for s in ("dev", "staging", "prod")] == ["rolling", "blue-green", "canary"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("tag", ["latest", "main", "Latest"])
def test_moving_tags_are_rejected_outside_dev(stack: str, tag: str) -> None:
    message = problems(stack, {"image": {"tag": tag}})
    assert f"Pulumi.{stack}.yaml: ai-platform:api.image.tag: {tag!r} is a moving tag" in message
    assert "allowed: an immutable tag" in message


def test_dev_may_run_latest_and_digests_must_be_sha256() -> None:
    assert stack_config("dev", {"ai-platform:api": {"image": {"tag": "latest"}}}).api.image.tag == "latest"
    assert "ai-platform:api.image.digest" in problems("prod", {"image": {"digest": "sha256:abc"}})
    assert "neither tag nor digest" in problems("prod", {"image": {}})


def test_prod_refuses_blue_green_auto_promotion_and_mutable_tag_filters() -> None:
    message = problems("prod", {"blue_green": {"auto_promotion": True}})
    assert "ai-platform:api.blue_green.auto_promotion: prod releases are promoted by a person" in message
    assert "ai-platform:api.ecr.mutable_tag_filters" in problems("staging", {"ecr": {"mutable_tag_filters": ["x*"]}})


def test_progressive_strategies_need_argo_rollouts() -> None:
    addons = {"argo_rollouts": {"enabled": False}}
    message = problems("prod", {}, addons=addons)
    assert "ai-platform:api.strategy: 'canary' needs Argo Rollouts" in message
    assert "addons.argo_rollouts.enabled is false" in message
    assert load_stack_config("prod", raw_with("prod", {"strategy": "rolling"}, addons=addons)).api.strategy == "rolling"


@pytest.mark.parametrize(
    ("api", "key", "text"),
    [
        ({"certificate_arn": "arn:aws:acm:us-east-1:123:certificate/x"}, "certificate_arn", "not an ACM certificate"),
        (
            {"certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
            "certificate_arn",
            "certificate is in eu-west-1 but the ALB is in us-east-1",
        ),
        ({"resources": {"requests": {"cpu": "2"}}}, "resources.requests.cpu", "exceeds limits.cpu 500m"),
        ({"resources": {"limits": {"memory": "1 GB"}}}, "resources.limits.memory", "not a memory quantity"),
        ({"resources": {"requests": {"cpu": "250mc"}}}, "resources.requests.cpu", "not a CPU quantity"),
        ({"hpa": {"min_replicas": 5, "max_replicas": 4}}, "hpa.min_replicas", "exceeds max_replicas 4"),
        ({"hpa": {"cpu_target_percent": 120}}, "hpa.cpu_target_percent", "out of range"),
        ({"replicas": 30}, "replicas", "outside the HPA bounds 3-20"),
        ({"strategy": "recreate"}, "strategy", "not a valid choice"),
        ({"namespace": "default"}, "namespace", "not a usable namespace"),
        ({"settings": {"DB_PASSWORD": "x"}}, "settings", "looks like a secret"),
        ({"pre_stop_sleep_seconds": 60}, "pre_stop_sleep_seconds", "leaves no time to shut down"),
        ({"rolling": {"max_surge": 0, "max_unavailable": "0%"}}, "rolling.max_surge", "both 0"),
        ({"pdb_max_unavailable": "150%"}, "pdb_max_unavailable", "not a count or a percentage"),
        ({"prometheus_address": "http://prometheus:9090"}, "prometheus_address", "unknown key; allowed:"),
        ({"waf": {"common_rules_count_only": ["NoSuchRule"]}}, "waf.common_rules_count_only", "not in the common"),
        ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, "ssl_policy", "not a valid choice"),
        ({"domian_name": "x.example.com"}, "domian_name", "unknown key; allowed:"),
        ({"image": {"tag": 1.5}}, "image.tag", "read as a number (YAML); allowed: the tag quoted"),
        ({"run_as_user": 1000}, "run_as_user", "out of range"),
    ],
)
def test_bad_api_config_is_one_clear_line(api: dict[str, Any], key: str, text: str) -> None:
    message = problems("prod", api)
    line = next((p for p in message.splitlines() if f"ai-platform:api.{key}:" in p), message)
    assert line.startswith("Pulumi.prod.yaml: ai-platform:api.")
    assert text in line
    assert "allowed" in line


def test_a_stack_without_an_api_section_runs_no_workload() -> None:
    raw = read_stack_config("dev")
    del raw["ai-platform:api"]
    assert load_stack_config("dev", raw).api is None
    with pytest.raises(StackConfigError, match=r"ai-platform:api.domain_name: required key is missing"):
        load_stack_config("dev", {**raw, "ai-platform:api": {"image": {"tag": "1.0.0"}}})


def test_the_offline_plan_names_each_stacks_release_strategy() -> None:
    from ops.plan import render_releases

    assert render_releases(full_plan("prod")) == [
        "release: Rollout ai-api/ai-api: canary 5 -> 25 -> 50 -> 100%, with analysis, 3 replicas",
        # the warm standby in the DR region, at dr.standby.api_replicas
        "release: Rollout ai-api/ai-api: canary 5 -> 25 -> 50 -> 100%, with analysis, 1 replicas",
    ]
    assert render_releases(build_plan("prod", BLUE_GREEN_PROD)) == [
        "release: Rollout ai-api/ai-api: blue-green, manual promotion, 3 replicas"
    ]
    assert render_releases(build_plan("dev")) == [
        "release: Deployment ai-api/ai-api: rolling (maxSurge 25%, maxUnavailable 0), 1 replicas"
    ]


def test_edge_and_pods_wait_for_the_log_bucket_policy_and_the_schema(any_plan: tuple[str, Plan]) -> None:
    """The ALB rejects access logging to a bucket whose policy does not yet admit Elastic Load Balancing, and pods
    started before the migrations Job has run face a database without its schema (or without instances)."""
    _, plan = any_plan
    logs_policy = next(r for r in plan.by_type("aws:s3/bucketPolicy:BucketPolicy") if "-logs-" in r.inputs["bucket"])
    migrations_job = plan.by_type("kubernetes:batch/v1:Job")[0]
    resources = workload_resources(plan)
    [ingress] = [r for r in resources if r.inputs.get("kind") == "Ingress"]
    [workload_resource] = [
        r for r in resources
        if r.inputs.get("kind") in ("Deployment", "Rollout") and r.inputs["metadata"]["name"] == "ai-api"
    ]  # fmt: skip
    assert logs_policy.urn in ingress.dependencies
    assert migrations_job.urn in workload_resource.dependencies
