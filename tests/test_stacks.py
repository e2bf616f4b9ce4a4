"""Whole-stack checks over every shipped stack: what no single component test can see on its own."""

from __future__ import annotations

import json

import pulumi
import pytest

from config import StackConfigError
from ops.engine import SECRET
from tests.conftest import stack_config
from tests.manifests import kubernetes_objects, manifest, validate_object

STATEFUL_TYPES = ("aws:rds/cluster:Cluster", "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:backup/vault:Vault")


def test_every_kubernetes_object_of_the_stack_is_valid_for_its_cluster_version(plan_of, any_stack) -> None:
    """Core kinds against the Kubernetes OpenAPI schema (strict), custom resources against their CRDs."""
    plan = plan_of(any_stack)
    version = stack_config(any_stack).cluster.version
    objects = kubernetes_objects(plan)
    assert len(objects) > 20
    failures = []
    for resource in objects:
        try:
            validate_object(manifest(resource), version)
        except Exception as error:
            failures.append(f"{resource.urn}: {str(error).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_no_kubernetes_object_lives_in_the_default_namespace(plan_of, any_stack) -> None:
    for resource in kubernetes_objects(plan_of(any_stack)):
        assert resource.inputs.get("metadata", {}).get("namespace") != "default", resource.urn


def test_stateful_resources_are_protected_outside_dev(plan_of) -> None:
    for stack in ("staging", "prod"):
        plan = plan_of(stack)
        unprotected = [r.urn for t in STATEFUL_TYPES for r in plan.by_type(t) if not r.protect]
        assert not unprotected, f"{stack}: {unprotected}"


def test_kubeconfig_and_no_other_export_carries_a_secret_in_plain_text(plan_of, any_stack) -> None:
    outputs = plan_of(any_stack).outputs
    assert outputs["kubeconfig"] == SECRET
    rendered = json.dumps(outputs).lower()
    assert "password" not in rendered
    assert "token" not in rendered


def test_no_kubernetes_secret_object_is_declared_with_data(plan_of, any_stack) -> None:
    """Secrets reach the cluster only through external-secrets: no Secret manifest carries a value."""
    for resource in plan_of(any_stack).by_type("kubernetes:core/v1:Secret"):
        assert not resource.inputs.get("data"), resource.urn
        assert not resource.inputs.get("stringData"), resource.urn


def test_config_error_is_a_pulumi_run_error_so_pulumi_up_prints_no_traceback() -> None:
    assert issubclass(StackConfigError, pulumi.RunError)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_component_is_a_platform_component_with_a_typed_token(plan_of, stack: str) -> None:
    components = [r for r in plan_of(stack).components() if r.type.startswith("ai-platform:")]
    areas = {r.type.split(":")[1] for r in components}
    assert {"platform", "network", "identity", "cluster", "addons", "storage", "database", "backup", "ai-api"} <= areas
