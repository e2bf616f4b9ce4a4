"""A stack's first `pulumi preview`, simulated offline (`plan_stack(stack, preview=True)`): nothing exists yet, so
every output AWS assigns at creation is unknown, and so is every input built from one. The gate must pass there
too, because CI's first preview of a new stack runs the policy pack on exactly that."""

from __future__ import annotations

from typing import Any

import pytest

from ops.answers import MOCK_ACCOUNT_ID
from ops.engine import UNKNOWN, Plan, plan_stack
from ops.gate import evaluate, stack_environment
from policy.rules import enabled_ids

_previews: dict[str, Plan] = {}


@pytest.fixture
def preview_of() -> Any:
    """`preview_of("prod")`: the stack's plan in preview mode, built once per session."""

    def build(stack: str) -> Plan:
        if stack not in _previews:
            _previews[stack] = plan_stack(stack, preview=True)
        return _previews[stack]

    return build


def test_first_preview_declares_exactly_what_a_deployment_does(preview_of: Any, plan_of: Any, any_stack: str) -> None:
    """A resource declared inside an `apply` would be missing from a first preview (the callback never runs on an
    unknown): the policy pack would never see it before it exists."""
    preview, deployed = preview_of(any_stack), plan_of(any_stack)
    assert preview.preview
    assert not deployed.preview
    assert [r.urn for r in preview.resources] == [r.urn for r in deployed.resources]


def test_first_preview_passes_the_gate(preview_of: Any, any_stack: str) -> None:
    environment = stack_environment(any_stack)
    result = evaluate(preview_of(any_stack), environment)
    assert [(v.rule, v.urn, v.message) for v in result.mandatory] == []
    assert result.rules == len(enabled_ids(environment))
    assert "as a first preview" in result.summary()


def test_ids_assigned_at_creation_are_unknown_in_a_first_preview(preview_of: Any, plan_of: Any) -> None:
    preview, deployed = preview_of("prod"), plan_of("prod")
    subnets = preview.by_type("aws:ec2/subnet:Subnet")
    assert subnets
    assert {s.inputs["vpcId"] for s in subnets} == {UNKNOWN}
    assert {s.inputs["vpcId"] for s in deployed.by_type("aws:ec2/subnet:Subnet")} == {
        "vpc-prod-network-vpc",
        "vpc-prod-dr-network-vpc",  # the warm standby's
    }
    assert {s.inputs["cidrBlock"] for s in subnets} == {
        s.inputs["cidrBlock"] for s in deployed.by_type("aws:ec2/subnet:Subnet")
    }  # what the program computes itself stays known
    assert preview.outputs["vpc_id"] == UNKNOWN
    assert preview.outputs["vpc_cidr"] == deployed.outputs["vpc_cidr"]


def _workload(plan: Plan) -> Any:
    return plan.by_name("prod-ai-api-rollout").inputs["spec"]["template"]["spec"]["containers"][0]


def test_the_ai_api_image_is_known_before_its_repository_exists(preview_of: Any, plan_of: Any) -> None:
    """The image reference is built from the account's registry and the repository's own name, not from the
    repository's URL output (unknown until ECR creates it), so the pack checks its registry and pin at preview."""
    image = _workload(preview_of("prod"))["image"]
    assert image.startswith(f"{MOCK_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/ai-platform/prod/ai-api")
    assert image == _workload(plan_of("prod"))["image"]
    repository = plan_of("prod").by_name("prod-ai-api-repository")
    workload = plan_of("prod").by_name("prod-ai-api-rollout")
    assert repository.urn in workload.dependencies  # the pods still wait for their repository


def test_the_web_acl_annotation_is_unknown_until_the_acl_exists(preview_of: Any, plan_of: Any) -> None:
    annotation = "alb.ingress.kubernetes.io/wafv2-acl-arn"
    preview = preview_of("prod").by_name("prod-ai-api-ingress")
    assert preview.inputs["metadata"]["annotations"][annotation] == UNKNOWN
    deployed = plan_of("prod").by_name("prod-ai-api-ingress")
    assert deployed.inputs["metadata"]["annotations"][annotation].startswith("arn:aws:wafv2:us-east-1:")
