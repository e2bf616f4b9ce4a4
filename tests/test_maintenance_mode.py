"""Maintenance mode in the plan: the ALB answers a fixed 503 while the pods, the HPA and the Rollout stay.

`ai-platform:api.maintenance_mode: true` changes the ai-api Ingress and nothing else: a fixed-response action
(checked against the Elastic Load Balancing API model and the Kubernetes schemas) behind every path but the health
check, which still reaches the pods. Out of maintenance the Ingress routes everything to the Service, as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest

from config.api import ApiMaintenanceConfig
from ops.engine import Plan
from tests.conftest import primary_site
from tests.manifests import manifest, validate_object

ACTION = "alb.ingress.kubernetes.io/actions.maintenance"
ON = {"ai-platform:api": {"maintenance_mode": True}}
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def api_ingress(plan: Plan) -> dict[str, Any]:
    """The primary site's ai-api Ingress (a warm standby's own is `<stack>-dr-ai-api-ingress`)."""
    (ingress,) = [r for r in primary_site(plan).by_type(INGRESS) if r.name.endswith("-ai-api-ingress")]
    return manifest(ingress)


def paths(ingress: dict[str, Any]) -> list[dict[str, Any]]:
    """The paths of the domain's rule (a warm-standby stack adds a host-less rule for the Route 53 health check:
    tests/test_edge.py)."""
    [rule] = [r for r in ingress["spec"]["rules"] if "host" in r]
    return list(rule["http"]["paths"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_out_of_maintenance_everything_goes_to_the_service(plan_of: Callable[..., Plan], stack: str) -> None:
    ingress = api_ingress(plan_of(stack))
    assert ACTION not in ingress["metadata"]["annotations"]
    port = "use-annotation" if stack == "prod" else "http"  # prod's canary: Argo Rollouts writes the weights
    assert paths(ingress) == [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "ai-api", "port": {"name": port}}}}
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_maintenance_mode_answers_503_except_health(plan_of: Callable[..., Plan], stack: str) -> None:
    plan = plan_of(stack, ON)
    ingress = api_ingress(plan)
    health, rest = paths(ingress)
    assert health["path"] == "/health"
    assert health["pathType"] == "Exact"
    assert health["backend"]["service"]["name"] == "ai-api", "the health check must keep reaching the pods"
    assert rest == {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "maintenance", "port": {"name": "use-annotation"}}},
    }
    action = json.loads(ingress["metadata"]["annotations"][ACTION])
    assert action["type"] == "fixed-response"
    config = action["fixedResponseConfig"]
    # The AWS API's own constraints (botocore's model of FixedResponseActionConfig).
    shape = botocore.session.get_session().get_service_model("elbv2").shape_for("FixedResponseActionConfig")
    assert re.fullmatch(shape.members["StatusCode"].metadata["pattern"], config["statusCode"])
    assert config["statusCode"] == "503"
    assert len(config["messageBody"]) <= shape.members["MessageBody"].metadata["max"]
    assert config["contentType"] in (
        "text/plain",
        "text/css",
        "text/html",
        "application/javascript",
        "application/json",
    )
    body = json.loads(config["messageBody"])
    assert body["error"] == "maintenance"
    assert body["retry_after_seconds"] == 900
    validate_object(ingress, plan_of(stack).outputs.get("kubernetes_version") or "1.34")
    if stack == "prod":  # the warm standby's ALB answers the same: its database is a replica of the one maintained
        standby = manifest(plan.by_name("prod-dr-ai-api-ingress"))
        assert json.loads(standby["metadata"]["annotations"][ACTION]) == action
        assert [p["backend"]["service"]["name"] for p in paths(standby)] == ["ai-api", "maintenance"]


def test_maintenance_mode_changes_only_the_ingress(plan_of: Callable[..., Plan]) -> None:
    """Pods, HPA, Rollout, Services, PDB: identical in and out of maintenance (the seed's `replicas 0` is gone); the
    flag changes each site's ai-api Ingress (the primary's and the standby's: `ops db maintenance` targets both)."""
    before = {r.urn: r.inputs for r in plan_of("prod").resources}
    after = {r.urn: r.inputs for r in plan_of("prod", ON).resources}
    assert before.keys() == after.keys()
    changed = sorted(urn.rsplit("::", 1)[-1] for urn in before if before[urn] != after[urn])
    assert changed == ["prod-ai-api-ingress", "prod-dr-ai-api-ingress"]


def test_maintenance_message_and_retry_are_configurable(plan_of: Callable[..., Plan]) -> None:
    custom = {"ai-platform:api": {"maintenance_mode": True, "maintenance": {"message": "Back at 02:00 UTC",
                                                                           "retry_after_seconds": 3600}}}  # fmt: skip
    action = json.loads(api_ingress(plan_of("dev", custom))["metadata"]["annotations"][ACTION])
    assert json.loads(action["fixedResponseConfig"]["messageBody"]) == {
        "error": "maintenance", "message": "Back at 02:00 UTC", "retry_after_seconds": 3600}  # fmt: skip


def test_a_body_over_the_alb_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="1024 characters"):
        ApiMaintenanceConfig(message="x" * 1000)
