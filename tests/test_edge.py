"""DNS and certificates as code: the zone (created or existing) with query logging, the ai-api certificate issued
through it (or `api.certificate_arn`), the record pointing at the ALB (alias, or the failover primary with its
health check), the config rules between them, and cert-manager's internal CA validated against its CRDs."""

from __future__ import annotations

import json

import pytest

from components.addons.cert_manager import CA_ISSUER, CA_SECRET, SELF_SIGNED_ISSUER
from components.edge.targets import ALB_HOSTED_ZONE_IDS, alb_hosted_zone_id
from config import StackConfigError
from ops.engine import run_program
from policy.rules import RULES_BY_ID
from tests.conftest import STACKS, build_plan, build_primary_plan, primary_site, stack_config
from tests.manifests import has_crd, manifest, validate_object

ZONE = "aws:route53/zone:Zone"
RECORD = "aws:route53/record:Record"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
IMPORTED = "arn:aws:acm:us-east-1:123456789012:certificate/0b7e2c1a-4d5f-4a8e-9c3b-1f2d3e4a5b6c"


def ingress(plan):
    [found] = plan.by_type(INGRESS)
    return found


def entry_record(plan):
    [record] = [r for r in plan.by_type(RECORD) if r.name.endswith("-api-entry-record")]
    return record


# --- every shipped stack: certificate through its own zone, record at the ALB, query logs --------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_ingress_serves_the_certificate_validated_through_the_stacks_zone(plan_of, stack) -> None:
    plan = primary_site(plan_of(stack))  # the warm standby's certificate: test_the_standby_... below
    config = stack_config(stack)
    assert config.api is not None
    assert config.dns is not None
    assert config.api.certificate_arn is None
    [certificate] = plan.by_type(CERTIFICATE)
    assert certificate.inputs["domainName"] == config.api.domain_name
    assert certificate.inputs["validationMethod"] == "DNS"
    [record] = [r for r in plan.by_type(RECORD) if "-validation-" in r.name]
    assert record.inputs["type"] == "CNAME"
    assert record.inputs["allowOverwrite"] is True
    assert record.inputs["name"].endswith(f".{config.api.domain_name}.")
    assert record.inputs["records"][0].endswith(".acm-validations.aws.")
    [validation] = plan.by_type(VALIDATION)
    assert validation.inputs["validationRecordFqdns"] == [record.inputs["name"].rstrip(".")]
    zone_id = plan.outputs["dns_zone_id"]
    assert record.inputs["zoneId"] == zone_id
    # The ALB's listener waits for the issued certificate: the Ingress names the validation's output.
    annotations = ingress(plan).inputs["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == validation.inputs["certificateArn"]
    assert plan.outputs["ai_api_certificate_arn"] == validation.inputs["certificateArn"]
    assert any(validation.urn == dep for dep in ingress(plan).dependencies)


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_name_points_at_the_alb_the_controller_created(plan_of, stack) -> None:
    plan = primary_site(plan_of(stack))
    config = stack_config(stack)
    record = entry_record(plan)
    hostname = plan.outputs["ai_api_load_balancer_hostname"]
    assert hostname.startswith("ai-platform-")
    assert hostname.endswith(".us-east-1.elb.amazonaws.com")
    assert record.inputs["name"] == config.api.domain_name
    assert record.inputs["zoneId"] == plan.outputs["dns_zone_id"]
    if config.dr.strategy == "warm-standby":
        assert (record.inputs["type"], record.inputs["records"]) == ("CNAME", [hostname])
        assert record.inputs["ttl"] == config.dr.dns.record_ttl_seconds
    else:
        assert record.inputs["type"] == "A"
        assert record.inputs["aliases"] == [
            {"name": hostname, "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": True}
        ]
        assert plan.by_type(HEALTH_CHECK) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_zone_logs_its_queries_to_an_encrypted_group_in_us_east_1(plan_of, stack) -> None:
    plan = plan_of(stack)
    zone_name = stack_config(stack).dns.zone_name
    [group] = [g for g in plan.by_type("aws:cloudwatch/logGroup:LogGroup") if g.name.endswith("-dns-query-logs")]
    assert group.inputs["name"] == f"/aws/route53/{zone_name}" == plan.outputs["dns_query_log_group"]
    assert group.inputs["region"] == "us-east-1"
    assert group.inputs["kmsKeyId"].endswith(f"{stack}-identity-logs-key-key-id")  # the stack is in us-east-1
    [query_log] = plan.by_type("aws:route53/queryLog:QueryLog")
    assert query_log.inputs["zoneId"] == plan.outputs["dns_zone_id"]
    assert query_log.inputs["cloudwatchLogGroupArn"].startswith("arn:aws:logs:us-east-1:")
    [policy] = plan.by_type("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    assert policy.urn in query_log.dependencies
    [statement] = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "route53.amazonaws.com"}
    assert statement["Resource"] == f"{query_log.inputs['cloudwatchLogGroupArn']}:*"
    assert statement["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:route53:::hostedzone/{plan.outputs['dns_zone_id']}"
    }


def test_a_created_zone_is_protected_and_exports_its_name_servers(plan_of) -> None:
    plan = plan_of("dev")
    [zone] = plan.by_type(ZONE)
    assert zone.inputs["name"] == "dev.ai-platform.example.com"
    assert zone.protect is True
    assert zone.inputs["forceDestroy"] is False
    assert plan.outputs["dns_zone_id"].startswith("Z")
    assert len(plan.outputs["dns_zone_name_servers"]) == 4


def test_an_existing_zone_is_used_by_id_and_never_created(plan_of) -> None:
    plan = plan_of("prod")
    assert plan.by_type(ZONE) == []
    assert plan.outputs["dns_zone_id"] == "Z0123456789ABCDEFGHIJ"
    assert plan.outputs["dns_zone_name_servers"] is None


# --- the alternative: a certificate made elsewhere -----------------------------------------------------------------


def test_certificate_arn_is_served_as_is_and_watched_by_the_expiry_alarms() -> None:
    plan = build_plan("staging", {"ai-platform:api": {"certificate_arn": IMPORTED}})
    assert plan.by_type(CERTIFICATE) == []
    assert plan.by_type(VALIDATION) == []
    assert ingress(plan).inputs["metadata"]["annotations"]["alb.ingress.kubernetes.io/certificate-arn"] == IMPORTED
    expiry = [a for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if "acm-expiry" in a.name]
    assert {a.inputs["dimensions"]["CertificateArn"] for a in expiry} == {IMPORTED}
    assert entry_record(plan).inputs["type"] == "A"  # the zone still owns the record


def test_the_expiry_alarms_watch_the_issued_certificate(plan_of) -> None:
    plan = primary_site(plan_of("prod"))
    [validation] = plan.by_type(VALIDATION)
    expiry = [a for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if "acm-expiry" in a.name]
    assert len(expiry) == 2
    assert {a.inputs["dimensions"]["CertificateArn"] for a in expiry} == {validation.inputs["certificateArn"]}


# --- DR warm-standby: the primary failover record and its health check --------------------------------------------


def test_warm_standby_declares_the_primary_with_its_health_check_and_alarm(plan_of) -> None:
    plan = primary_site(plan_of("prod"))
    dns = stack_config("prod").dr.dns
    hostname = plan.outputs["ai_api_load_balancer_hostname"]
    [check] = plan.by_type(HEALTH_CHECK)
    assert check.inputs == {
        **check.inputs,
        "type": "HTTPS",
        "fqdn": hostname,
        "port": 443,
        "resourcePath": dns.health_check_path,
        "requestInterval": dns.health_check_interval_seconds,
        "failureThreshold": dns.health_check_failure_threshold,
    }
    record = entry_record(plan)
    assert record.inputs["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert record.inputs["setIdentifier"] == "primary"
    assert record.inputs["healthCheckId"]
    # The health check names the ALB itself: its path is routed for any host, the rest only for domain_name.
    rules = ingress(plan).inputs["spec"]["rules"]
    assert [rule.get("host") for rule in rules] == ["api.ai-platform.example.com", None]
    assert rules[1]["http"]["paths"][0] | {"backend": None} == {
        "path": dns.health_check_path, "pathType": "Exact", "backend": None,
    }  # fmt: skip
    [alarm] = [a for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.endswith("api-health-check")]
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Route53", "HealthCheckStatus")
    assert alarm.inputs["dimensions"] == {"HealthCheckId": record.inputs["healthCheckId"]}
    assert alarm.inputs["alarmActions"] == [plan.outputs["alert_topic_arns"]["critical"]]


def test_the_standby_has_its_own_certificate_in_its_region_and_the_secondary_record(plan_of) -> None:
    plan = plan_of("prod")
    by_site = {
        site: [r for r in plan.by_type(CERTIFICATE) if r.name.startswith(f"{prefix}-api-certificate")]
        for site, prefix in (("primary", "prod"), ("standby", "prod-dr"))
    }
    [primary], [standby] = by_site["primary"], by_site["standby"]
    assert standby.inputs["domainName"] == primary.inputs["domainName"] == "api.ai-platform.example.com"
    assert (plan.provider_of(primary).inputs["region"], plan.provider_of(standby).inputs["region"]) == (
        "us-east-1", "us-west-2",
    )  # fmt: skip
    # ACM gives the same validation CNAME for the same name in every region: the standby declares no record of its
    # own (a second one would fight over the name) and validates through the primary's.
    [record] = [r for r in plan.by_type(RECORD) if "-validation-" in r.name]
    assert record.name.startswith("prod-api-certificate-")
    validations = {v.name: v for v in plan.by_type(VALIDATION)}
    standby_validation = validations["prod-dr-api-certificate-validation"]
    assert standby_validation.inputs["validationRecordFqdns"] == [record.inputs["name"].rstrip(".")]
    assert standby_validation.inputs["certificateArn"].startswith("arn:aws:acm:us-west-2:")
    assert any(record.urn == dep for dep in standby_validation.dependencies)
    # The standby's Ingress serves it, and its expiry alarms watch it.
    [standby_ingress] = [i for i in plan.by_type(INGRESS) if i.name == "prod-dr-ai-api-ingress"]
    annotations = standby_ingress.inputs["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == standby_validation.inputs["certificateArn"]
    expiry = [
        a for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.startswith("prod-dr-alarms-acm")
    ]
    assert {a.inputs["dimensions"]["CertificateArn"] for a in expiry} == {standby_validation.inputs["certificateArn"]}
    # The SECONDARY record names the standby's ALB; Route 53 answers with it only when the primary is unhealthy,
    # so it carries no health check of its own.
    secondary = plan.by_name("prod-dr-api-entry-record")
    primary_record = plan.by_name("prod-api-entry-record")
    assert secondary.inputs["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert secondary.inputs["setIdentifier"] == "secondary"
    assert "healthCheckId" not in secondary.inputs
    assert [secondary.inputs[k] for k in ("name", "zoneId", "type", "ttl")] == [
        primary_record.inputs[k] for k in ("name", "zoneId", "type", "ttl")
    ]
    assert secondary.inputs["records"] == [plan.outputs["dr_ai_api_load_balancer_hostname"]]
    assert secondary.inputs["records"] != primary_record.inputs["records"]
    assert len(plan.by_type(HEALTH_CHECK)) == 1


def test_failover_settings_come_from_the_dr_config() -> None:
    dns = {"health_check_interval_seconds": 30, "health_check_failure_threshold": 5, "health_check_path": "/ready",
           "record_ttl_seconds": 30}  # fmt: skip
    whole = build_plan("prod", {"ai-platform:dr": {"dns": dns}})
    plan = primary_site(whole)
    [check] = plan.by_type(HEALTH_CHECK)
    assert (check.inputs["requestInterval"], check.inputs["failureThreshold"], check.inputs["resourcePath"]) == (
        30, 5, "/ready",
    )  # fmt: skip
    assert entry_record(plan).inputs["ttl"] == 30
    assert whole.by_name("prod-dr-api-entry-record").inputs["ttl"] == 30  # both failover records: one TTL
    assert ingress(plan).inputs["spec"]["rules"][1]["http"]["paths"][0]["path"] == "/ready"


def test_without_warm_standby_there_is_no_health_check_and_no_host_less_rule(plan_of) -> None:
    plan = plan_of("staging")  # backup-restore
    assert plan.by_type(HEALTH_CHECK) == []
    assert [rule.get("host") for rule in ingress(plan).inputs["spec"]["rules"]] == [
        "api.staging.ai-platform.example.com"
    ]


# --- outside us-east-1: the logs key of the zone's own, no health-check alarm ----------------------------------------


def test_a_stack_outside_us_east_1_keeps_query_logs_in_us_east_1_with_a_key_there() -> None:
    plan = build_primary_plan("prod", {"aws:region": "eu-west-1", "ai-platform:dr": {"region": "eu-central-1"}})
    [key] = [k for k in plan.by_type("aws:kms/key:Key") if k.name == "prod-dns-query-logs-key"]
    assert key.inputs["region"] == "us-east-1"
    assert key.protect is True
    [statement] = [s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"].startswith("CloudWatchLogs")]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    [group] = [g for g in plan.by_type("aws:cloudwatch/logGroup:LogGroup") if g.name.endswith("-dns-query-logs")]
    assert "prod-dns-query-logs-key" in group.inputs["kmsKeyId"]
    alias = entry_record(plan).inputs
    assert alias["type"] == "CNAME"
    assert alias["records"][0].endswith(".eu-west-1.elb.amazonaws.com")
    assert not [a for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if "health-check" in a.name]


def test_alb_zone_ids_follow_awss_table() -> None:
    assert alb_hosted_zone_id("us-east-1") == "Z35SXDOTRQ7X7K"
    assert alb_hosted_zone_id("eu-north-1") == "Z23TAZ6LKFMNIO"
    assert all(zone_id.startswith("Z") for zone_id in ALB_HOSTED_ZONE_IDS.values())
    with pytest.raises(ValueError, match="no known ALB hosted zone id for xx-east-9"):
        alb_hosted_zone_id("xx-east-9")


# --- config errors ---------------------------------------------------------------------------------------------------


def _problems(stack: str, overrides: dict) -> str:
    with pytest.raises(StackConfigError) as error:
        stack_config(stack, overrides)
    return "\n".join(error.value.problems)


def test_domain_name_must_sit_in_the_zone() -> None:
    text = _problems("dev", {"ai-platform:dns": {"zone_name": "other.example.com"}})
    assert (
        "Pulumi.dev.yaml: ai-platform:api.domain_name: api.dev.ai-platform.example.com is not in the zone "
        "other.example.com (ai-platform:dns.zone_name); allowed: other.example.com or a name ending in "
        ".other.example.com" in text
    )
    # A suffix that is not a label boundary is not "inside".
    assert "is not in the zone" in _problems("dev", {"ai-platform:dns": {"zone_name": "ai-platform.example.co"}})


def test_a_failover_name_cannot_be_the_zone_apex() -> None:
    text = _problems("prod", {"ai-platform:dns": {"zone_name": "api.ai-platform.example.com"}})
    assert "ai-platform:api.domain_name: api.ai-platform.example.com is the zone apex" in text


def test_zone_keys_are_checked() -> None:
    text = _problems("dev", {"ai-platform:dns": {"zone_id": "/hostedzone/Z123", "zone_name": "Dev.Example.com",
                                                 "certificate": {"key_algorithm": "RSA_1024"}}})  # fmt: skip
    assert "ai-platform:dns.zone_id: '/hostedzone/Z123' is not a hosted zone id" in text
    assert "ai-platform:dns.zone_name: 'Dev.Example.com' is not a zone name" in text
    assert "ai-platform:dns.certificate.key_algorithm: 'RSA_1024' is not a valid choice" in text


def test_a_certificate_in_another_region_is_refused() -> None:
    other = IMPORTED.replace("us-east-1", "eu-west-1")
    text = _problems("dev", {"ai-platform:api": {"certificate_arn": other}})
    assert "ai-platform:api.certificate_arn: certificate is in eu-west-1 but the ALB is in us-east-1" in text


def test_no_certificate_source_and_warm_standby_without_a_zone_are_refused() -> None:
    raw = {
        "aws:region": "us-east-1",
        "ai-platform:environment": "dev",
        "ai-platform:tags": {"owner": "o", "cost-center": "c"},
        "ai-platform:api": {"domain_name": "api.example.com", "image": {"tag": "1.0.0"}},
    }
    from config import load_stack_config

    with pytest.raises(StackConfigError) as error:
        load_stack_config("new", raw)
    assert "ai-platform:api.certificate_arn: no certificate for api.domain_name" in error.value.problems[0]
    with pytest.raises(StackConfigError) as error:
        load_stack_config("new", {**raw, "ai-platform:api": {**raw["ai-platform:api"], "certificate_arn": IMPORTED},
                                  "ai-platform:dr": {"strategy": "warm-standby"}})  # fmt: skip
    assert "ai-platform:dr.strategy: warm-standby fails the ai-api over" in error.value.problems[0]
    # Neither a zone nor a workload: nothing in DNS is declared.
    alone = load_stack_config("new", {k: v for k, v in raw.items() if k != "ai-platform:api"})
    assert alone.dns is None
    assert alone.api is None


def test_a_region_without_a_known_alb_zone_stops_before_anything_is_declared() -> None:
    raw = json.loads(json.dumps({"aws:region": "ap-east-2", "ai-platform:dr": {"region": "ap-east-1"}}))
    with pytest.raises(StackConfigError, match="aws:region: ap-east-2 has no known ALB hosted zone id"):
        run_program("prod", {**_stack_file("prod"), **raw})


def _stack_file(stack: str) -> dict:
    from ops.engine import read_stack_config

    return read_stack_config(stack)


# --- cert-manager and the internal CA ------------------------------------------------------------------------------


def test_cert_manager_is_highly_available_non_root_and_critical(plan_of) -> None:
    charts = primary_site(plan_of("prod")).by_type("kubernetes:helm.sh/v4:Chart")
    [chart] = [c for c in charts if c.inputs["chart"] == "cert-manager"]
    values = chart.inputs["values"]
    assert chart.inputs["repositoryOpts"]["repo"] == "https://charts.jetstack.io"
    assert chart.inputs["version"] == "v1.21.1"
    assert chart.inputs["namespace"] == "cert-manager"
    assert values["crds"] == {"enabled": True, "keep": True}
    assert values["global"]["priorityClassName"] == "system-cluster-critical"
    for component in (values, values["webhook"], values["cainjector"]):
        assert component["replicaCount"] == 2
        assert component["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
        assert component["resources"]["requests"]["cpu"]
        assert component["resources"]["limits"]["memory"]
        assert component["nodeSelector"] == {"node.kubernetes.io/node-group": "system"}
    dev = [c for c in plan_of("dev").by_type("kubernetes:helm.sh/v4:Chart") if c.inputs["chart"] == "cert-manager"]
    assert dev[0].inputs["values"]["replicaCount"] == 1
    assert dev[0].inputs["values"]["podDisruptionBudget"] == {"enabled": False}


def test_the_internal_ca_is_bootstrapped_and_renewed_well_ahead(plan_of) -> None:
    plan = plan_of("prod")
    objects = {manifest(r)["kind"] + "/" + manifest(r)["metadata"]["name"]: r
               for r in plan.resources if r.type.startswith("kubernetes:cert-manager.io/")}  # fmt: skip
    assert set(objects) == {
        f"ClusterIssuer/{SELF_SIGNED_ISSUER}",
        f"Certificate/{CA_SECRET}",
        f"ClusterIssuer/{CA_ISSUER}",
    }
    certificate = manifest(objects[f"Certificate/{CA_SECRET}"])
    spec = certificate["spec"]
    assert spec["isCA"] is True
    assert spec["issuerRef"]["name"] == SELF_SIGNED_ISSUER
    assert (spec["duration"], spec["renewBefore"]) == ("43800h", "8760h")
    assert spec["privateKey"]["rotationPolicy"] == "Never"
    assert manifest(objects[f"ClusterIssuer/{CA_ISSUER}"])["spec"] == {"ca": {"secretName": CA_SECRET}}
    issuer = objects[f"ClusterIssuer/{CA_ISSUER}"]
    assert objects[f"Certificate/{CA_SECRET}"].urn in issuer.dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_cert_manager_objects_validate_against_their_crds(plan_of, stack) -> None:
    plan = plan_of(stack)
    version = stack_config(stack).cluster.version
    found = [r for r in plan.resources if r.type.startswith("kubernetes:cert-manager.io/")]
    clusters = 2 if stack_config(stack).dr.strategy == "warm-standby" else 1  # the standby's cluster has its own CA
    assert len(found) == 3 * clusters
    for resource in found:
        obj = manifest(resource)
        assert has_crd(obj["apiVersion"], obj["kind"])
        validate_object(obj, version)


def test_a_renewal_closer_than_half_the_ca_lifetime_is_refused() -> None:
    text = _problems("dev", {"ai-platform:addons": {"cert_manager": {"ca_duration_hours": 2160,
                                                                     "ca_renew_before_hours": 1500}}})  # fmt: skip
    assert "ai-platform:addons.cert_manager.ca_renew_before_hours: 1500h is more than half" in text
    assert "'1.21.1' is not a pinned chart version" in _problems(
        "dev", {"ai-platform:addons": {"cert_manager": {"chart_version": "1.21.1"}}}
    )


def test_the_dns_rules_pass_every_stack(plan_of) -> None:
    from ops.gate import evaluate

    for stack in STACKS:
        result = evaluate(plan_of(stack), stack)
        ids = {"route53-query-logging", "acm-certificate-dns-validated", "route53-known-targets", "aws-api-route53"}
        assert ids <= set(RULES_BY_ID)
        assert [v for v in result.violations if v.rule in ids] == []
