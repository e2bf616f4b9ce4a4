"""Modelled from-scratch deploy time of a plan: the critical path through its recorded dependency graph.

How Pulumi orders a create, as modelled here: a resource starts once everything it depends on is created, that is
its `dependencies` (explicit `depends_on`, with components already expanded to their resources by the SDK), its
`propertyDependencies` (the resources behind its inputs) and its provider; it then takes the create duration of its
type (`DURATIONS`, a few seconds for types not listed). A component creates nothing: it is "complete" when all its
children are, which matters only when something depends on the component itself; a component's own dependencies are
not passed on to its children. Remote components (a Helm v4 Chart, pulumi-eks' Cluster) are leaves here: their
children are not in the plan, their duration is the whole chart's or cluster's.

The unavoidable chain is what no ordering can shorten, the longest of: the cluster chain (VPC, subnet, EKS control
plane, the CNI add-on nodes need to become Ready, the node group, CoreDNS, an add-on chart, the migrations Job, the
workload), the schema chain (VPC, subnet, DB subnet group, Aurora cluster, writer, migrations Job, workload) and,
with readers, the readers chain (the same up to the writer, then a reader: Aurora makes the first instance that is
available the writer, so readers follow it). A critical path much longer than it means something waits for what
it does not need.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ops.engine import Plan, RecordedResource


@dataclass(frozen=True)
class Duration:
    """A modelled create duration and where the figure comes from."""

    seconds: float
    source: str
    says: str


DEFAULT_SECONDS = 5.0  # an API call and a short wait: IAM, KMS, S3, security groups, most Kubernetes objects

# Type token -> modelled create duration (from scratch, typical, us-east-1), each with its public source.
DURATIONS: dict[str, Duration] = {
    "eks:index:Cluster": Duration(
        600,
        "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html; "
        "https://github.com/aws/containers-roadmap/issues/1227",
        "AWS: 'Cluster creation typically takes between 10 and 15 minutes' (earlier revision; now 'several "
        "minutes'); the EKS roadmap issue: control plane provisioning 'averages 15 minutes', being reduced",
    ),
    "aws:eks/nodeGroup:NodeGroup": Duration(
        180,
        "https://alchemy.run/providers/aws/eks/nodegroup",
        "managed node group creation is asynchronous, CREATING -> ACTIVE in ~2-5 min",
    ),
    "aws:eks/addon:Addon": Duration(
        45,
        "https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html",
        "no AWS figure; public Terraform apply logs show vpc-cni/kube-proxy 'Creation complete after 8s'-'45s' "
        "and coredns 14s once nodes exist: the upper end is modelled",
    ),
    "aws:rds/cluster:Cluster": Duration(
        180,
        "https://raw.githubusercontent.com/aws/agent-toolkit-for-aws/main/skills/specialized-skills/"
        "database-skills/creating-amazon-aurora-db-cluster-with-instances/SKILL.md",
        "AWS's Aurora skill: 'Aurora cluster and instance creation can take 10-20 minutes'; the instance is "
        "most of it (cluster 3 min + instance 10 min modelled)",
    ),
    "aws:rds/clusterInstance:ClusterInstance": Duration(
        600,
        "https://raw.githubusercontent.com/aws/agent-toolkit-for-aws/main/skills/specialized-skills/"
        "database-skills/creating-amazon-aurora-db-cluster-with-instances/SKILL.md",
        "'Aurora cluster and instance creation can take 10-20 minutes' (instance ~10 min modelled)",
    ),
    "aws:ec2/natGateway:NatGateway": Duration(
        120,
        "https://github.com/kubernetes/kops/pull/995",
        "kops waits for NAT gateways: 'It takes forever (up to 5 min...) for a NatGateway to become available'",
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": Duration(
        120,
        "https://github.com/hashicorp/terraform-provider-aws/issues/32774",
        "an endpoint 'takes approximately 120-150 seconds to go from Pending to Available'",
    ),
    "kubernetes:helm.sh/v4:Chart": Duration(
        90,
        "https://pulumi.com/blog/improving-kubernetes-management-with-pulumis-await-logic/",
        "Pulumi marks the chart's objects created only once its await logic sees them ready (Deployments "
        "available: image pull, controller start, webhook serving): ~1-2 min for a controller chart",
    ),
    "kubernetes:networking.k8s.io/v1:Ingress": Duration(
        180,
        "https://github.com/hashicorp/terraform/issues/24799",
        "the Ingress is created once the controller's ALB has an address; 'spinning up an application load "
        "balancer should take no more than 5 minutes' (most CI runs), ~3 min modelled",
    ),
    "kubernetes:batch/v1:Job": Duration(
        90,
        "https://docs.aws.amazon.com/eks/latest/userguide/autoscaling.html",
        "Pulumi awaits the Job's completion; its pod first needs a node: Karpenter 'launches right-sized compute "
        "resources ... in under a minute', then image pull and psql (~90 s modelled)",
    ),
    "kubernetes:apps/v1:Deployment": Duration(
        120,
        "https://docs.aws.amazon.com/eks/latest/userguide/autoscaling.html",
        "Pulumi awaits available replicas: a node from Karpenter ('in under a minute'), image pull, readiness "
        "probes (~2 min modelled)",
    ),
    "kubernetes:argoproj.io/v1alpha1:Rollout": Duration(
        120,
        "https://docs.aws.amazon.com/eks/latest/userguide/autoscaling.html",
        "as a Deployment: a node from Karpenter ('in under a minute'), image pull, readiness (~2 min modelled)",
    ),
}

WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
JOB = "kubernetes:batch/v1:Job"
# The unavoidable chains, as (step, type tokens) in order; a step whose type the plan lacks is skipped.
CLUSTER_CHAIN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("VPC", ("aws:ec2/vpc:Vpc",)),
    ("subnet", ("aws:ec2/subnet:Subnet",)),
    ("EKS control plane", ("eks:index:Cluster",)),
    ("CNI add-on (nodes need it to become Ready)", ("aws:eks/addon:Addon",)),
    ("node group", ("aws:eks/nodeGroup:NodeGroup",)),
    ("CoreDNS add-on (controllers resolve AWS endpoints)", ("aws:eks/addon:Addon",)),
    ("add-on chart", ("kubernetes:helm.sh/v4:Chart",)),
    ("migrations Job", (JOB,)),
    ("workload", WORKLOAD_TYPES),
)
_TO_WRITER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("VPC", ("aws:ec2/vpc:Vpc",)),
    ("subnet", ("aws:ec2/subnet:Subnet",)),
    ("DB subnet group", ("aws:rds/subnetGroup:SubnetGroup",)),
    ("Aurora cluster", ("aws:rds/cluster:Cluster",)),
    ("writer instance", ("aws:rds/clusterInstance:ClusterInstance",)),
)
SCHEMA_CHAIN = (*_TO_WRITER, ("migrations Job", (JOB,)), ("workload", WORKLOAD_TYPES))
READERS_CHAIN = (*_TO_WRITER, ("reader instance", ("aws:rds/clusterInstance:ClusterInstance",)))
# An Aurora Global secondary joins once the primary has its writer (the Terraform/Pulumi documentation's
# `depends_on` the primary instance), then gets its own instance: a chain only plans with a second cluster have.
GLOBAL_SECONDARY_CHAIN = (
    *_TO_WRITER,
    ("secondary Aurora cluster", ("aws:rds/cluster:Cluster",)),
    ("secondary instance", ("aws:rds/clusterInstance:ClusterInstance",)),
)
CHAINS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "cluster": CLUSTER_CHAIN,
    "schema": SCHEMA_CHAIN,
    "readers": READERS_CHAIN,
    "global secondary": GLOBAL_SECONDARY_CHAIN,
}


def duration_of(type_: str) -> float:
    """Modelled create seconds of a resource type (`DEFAULT_SECONDS` when the table does not list it)."""
    found = DURATIONS.get(type_)
    return found.seconds if found else DEFAULT_SECONDS


@dataclass(frozen=True)
class Step:
    """One resource on the critical path: when it starts and ends (seconds from the start of the deploy)."""

    urn: str
    type: str
    start: float
    end: float


@dataclass(frozen=True)
class CriticalPath:
    """The modelled total of a deploy and the chain of resources that sets it (first to last)."""

    total: float
    chain: tuple[Step, ...]


def _waits_for(resource: RecordedResource, known: set[str]) -> set[str]:
    """URNs a resource's create waits for: its dependencies, its inputs' dependencies and its provider."""
    urns = set(resource.dependencies)
    for deps in resource.propertyDependencies.values():
        urns.update(deps)
    if resource.provider:
        urns.add(resource.provider.rsplit("::", 1)[0])
    return urns & known


def critical_path(plan: Plan, duration: Callable[[str], float] = duration_of) -> CriticalPath:
    """The longest chain of creates through the plan's dependency graph, with `duration(type)` per resource."""
    by_urn = {r.urn: r for r in plan.resources}
    known = set(by_urn)
    children: dict[str, list[str]] = {}
    for resource in plan.resources:
        children.setdefault(resource.parent, []).append(resource.urn)
    end: dict[str, float] = {}
    before: dict[str, str | None] = {}  # the predecessor that decided each resource's start

    def finish(urn: str, visiting: frozenset[str] = frozenset()) -> float:
        if urn in end:
            return end[urn]
        if urn in visiting:
            raise ValueError(f"dependency cycle through {urn}")
        resource = by_urn[urn]
        inner = visiting | {urn}
        if not resource.custom and not resource.remote:
            # A component: complete when its children are; it takes no time and waits for nothing itself.
            waits, own = children.get(urn, []), 0.0
        else:
            waits, own = sorted(_waits_for(resource, known)), duration(resource.type)
        finishes = {w: finish(w, inner) for w in waits}
        before[urn] = max(finishes, key=lambda w: finishes[w]) if finishes else None
        end[urn] = max(finishes.values(), default=0.0) + own
        return end[urn]

    for urn in by_urn:
        finish(urn)
    last = max(end, key=lambda urn: end[urn]) if end else None
    chain: list[Step] = []
    while last is not None:
        resource = by_urn[last]
        if resource.custom or resource.remote:
            own = duration(resource.type)
            chain.append(Step(last, resource.type, end[last] - own, end[last]))
        last = before[last]
    chain.reverse()
    return CriticalPath(total=chain[-1].end if chain else 0.0, chain=tuple(chain))


def chain_total(
    plan: Plan, steps: Sequence[tuple[str, Sequence[str]]], duration: Callable[[str], float] = duration_of
) -> tuple[float, list[tuple[str, float]]]:
    """Seconds of an unavoidable chain and its (step, seconds) parts. A step counts when the plan holds a resource
    of its types not already used by an earlier step (two add-on steps need two add-ons, a reader step a second
    instance)."""
    left = Counter(r.type for r in plan.resources)
    parts = []
    for step, types in steps:
        type_ = next((t for t in types if left[t] > 0), None)
        if type_ is not None:
            left[type_] -= 1
            parts.append((step, duration(type_)))
    return sum(seconds for _, seconds in parts), parts


def unavoidable(
    plan: Plan, duration: Callable[[str], float] = duration_of
) -> tuple[float, str, list[tuple[str, float]]]:
    """The longest of the unavoidable chains (`CHAINS`): (seconds, which chain, its parts)."""
    totals = {name: chain_total(plan, steps, duration) for name, steps in CHAINS.items()}
    name = max(totals, key=lambda n: totals[n][0])
    return totals[name][0], name, totals[name][1]
