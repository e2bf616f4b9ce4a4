"""Ordering on the plan: every dependency is one a real create needs, and nothing waits for what it does not need.

"Waits for" is transitive: a resource starts only once its dependencies, its inputs' dependencies and its provider
are created, and so on down (components in `dependencies` are already expanded to their resources).
"""

from __future__ import annotations

import pytest

from ops.engine import Plan, RecordedResource


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


CHART = "kubernetes:helm.sh/v4:Chart"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"


def waits_for(plan: Plan, resource: RecordedResource) -> set[str]:
    """Every URN the resource's create transitively waits for."""
    by_urn = {r.urn: r for r in plan.resources}
    seen: set[str] = set()
    frontier = [resource]
    while frontier:
        current = frontier.pop()
        direct = set(current.dependencies) | {u for deps in current.propertyDependencies.values() for u in deps}
        if current.provider:
            direct.add(current.provider.rsplit("::", 1)[0])
        for urn in direct - seen:
            seen.add(urn)
            if urn in by_urn:
                frontier.append(by_urn[urn])
    return seen


def instances(plan: Plan) -> tuple[RecordedResource, list[RecordedResource]]:
    """The writer (`instance-1`) and the readers."""
    writer, *readers = sorted(plan.by_type(INSTANCE), key=lambda r: r.name)
    return writer, readers


def chart(plan: Plan, key: str) -> RecordedResource:
    return plan.by_name(f"{plan.stack}-addons-{key}")


def test_migrations_wait_for_the_writer_the_secrets_controller_and_capacity_only(plan_of, any_stack) -> None:
    """The schema runs as soon as the writer, the external-secrets controller and nodes exist: not after the
    readers (one more instance creation) nor after add-ons it does not use."""
    plan = plan_of(any_stack)
    job = plan.by_type("kubernetes:batch/v1:Job")[0]
    before = waits_for(plan, job)
    writer, readers = instances(plan)
    assert writer.urn in before
    assert chart(plan, "external-secrets").urn in before
    assert plan.by_name(f"{any_stack}-addons-karpenter-nodepool").urn in before, "the Job's pod needs a node"
    assert plan.by_name(f"{any_stack}-cluster-coredns").urn in before, "PGHOST is a DNS name"
    assert not {r.urn for r in readers} & before
    for unrelated in ("metrics-server", "vpa", "load-balancer-controller", "argo-rollouts"):
        assert chart(plan, unrelated).urn not in before, unrelated


def test_readers_are_created_in_parallel_after_the_writer(plan_of) -> None:
    plan = plan_of("prod")
    writer, readers = instances(plan)
    assert len(readers) == 2
    for reader in readers:
        assert writer.urn in reader.dependencies
        assert not {r.urn for r in readers} & waits_for(plan, reader), f"{reader.name} waits for another reader"
    assert not {r.urn for r in readers} & waits_for(plan, writer)


def test_charts_wait_for_their_role_policies_and_the_nodes(plan_of, any_stack) -> None:
    """A controller started before its policy is attached crash-loops on AccessDenied; one started before any
    node exists cannot become ready."""
    plan = plan_of(any_stack)
    charts = plan.by_type(CHART)
    assert len(charts) == 10  # seven add-ons, the kube-prometheus-stack, Fluent Bit and the trace collector
    with_roles = 0
    for found in charts:
        policy = next((r for r in plan.resources if r.name == f"{found.name}-policy"), None)
        if policy is not None:
            with_roles += 1
            assert {policy.urn, plan.by_name(f"{found.name}-role").urn} <= set(found.dependencies), found.name
        before = waits_for(plan, found)
        assert plan.by_name(f"{any_stack}-cluster-system").urn in before, found.name
    assert with_roles == 5  # load balancer controller, Karpenter, external-secrets, Fluent Bit, the collector


def test_only_the_ai_api_pods_wait_for_the_schema(plan_of, any_stack) -> None:
    """The ALB, WAF, ECR, roles, namespace, Services, HPA, PDB and policies start without the migrations; the pods
    (the only readers of the schema) wait for them."""
    plan = plan_of(any_stack)
    job = plan.by_type("kubernetes:batch/v1:Job")[0]
    api = plan.component("ai-platform:ai-api:AiApi")
    workloads = {"Deployment", "Rollout"}
    checked = 0
    for resource in plan.descendants(api.urn):
        before = waits_for(plan, resource)
        if resource.inputs.get("kind") in workloads:
            assert job.urn in before, resource.name
        else:
            assert job.urn not in before, f"{resource.name} waits for the migrations"
            checked += 1
    assert checked >= 15


def test_ingress_waits_for_the_load_balancer_controller_and_the_log_bucket_policy_only(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    [ingress] = plan.by_type("kubernetes:networking.k8s.io/v1:Ingress")
    before = waits_for(plan, ingress)
    logs_policy = plan.by_name(f"{any_stack}-storage-logs-policy")
    assert {chart(plan, "load-balancer-controller").urn, logs_policy.urn} <= before
    writer, _ = instances(plan)
    assert writer.urn not in before
    for unrelated in ("metrics-server", "vpa", "argo-rollouts", "external-secrets"):
        assert chart(plan, unrelated).urn not in before, unrelated


def test_ai_api_objects_wait_for_the_add_on_they_use(plan_of, any_stack) -> None:
    """Custom resources wait for the chart of their CRDs, the pods for capacity, the ALB webhook and the schema
    (whose migrations read their credentials through external-secrets); plain objects
    (Service, HPA, PDB, network policies) for no add-on at all."""
    plan = plan_of(any_stack)
    api = plan.component("ai-platform:ai-api:AiApi")
    uses = {
        "VerticalPodAutoscaler": {"vpa"},
        "AnalysisTemplate": {"argo-rollouts"},
        "Rollout": {"argo-rollouts", "load-balancer-controller", "karpenter", "external-secrets"},
        "Deployment": {"load-balancer-controller", "karpenter", "external-secrets"},
        # The monitoring CRDs' chart, which itself waits for Grafana's admin Secret (synced by external-secrets).
        "ServiceMonitor": {"kube-prometheus-stack", "external-secrets"},
    }
    all_charts = {
        r.urn: r.name.removeprefix(f"{any_stack}-addons-").removeprefix(f"{any_stack}-observability-")
        for r in plan.by_type(CHART)
    }
    checked = 0
    for resource in plan.descendants(api.urn):
        kind = resource.inputs.get("kind")
        if not resource.type.startswith("kubernetes:") or kind in (None, "Ingress"):
            continue
        checked += 1
        waited = {all_charts[u] for u in waits_for(plan, resource) if u in all_charts}
        assert waited == uses.get(kind, set()), f"{resource.name} ({kind}) waits for {sorted(waited)}"
    assert checked >= 10
