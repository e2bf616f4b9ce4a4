"""Karpenter: node autoscaling for workloads. Its node role with the EKS access entry nodes join through, the SQS
interruption queue fed by EventBridge rules, the controller's IRSA role and chart, and the default `EC2NodeClass`
and `NodePool` (limits, consolidation, a disruption budget). Karpenter itself runs on the managed `system` node
group, never on nodes it manages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.charts import (
    Installed,
    chart,
    controller_placement,
    custom_resource_args,
    irsa_role,
    irsa_service_account,
    zone_spread,
)
from components.addons.iam import karpenter_controller_statements
from components.base import PlatformComponent
from components.identity import node_role
from config import KarpenterConfig
from config.maintenance import MaintenanceConfig
from lib.aws import AwsContext
from lib.iam import deny_insecure_transport, policy_document

if TYPE_CHECKING:
    from components.addons import AddonsArgs

KARPENTER_SERVICE_ACCOUNT = "karpenter"


@dataclass(frozen=True)
class KarpenterInstalled(Installed):
    """Karpenter's chart and controller role, plus the node role's IAM name and the default node class and pool."""

    node_role_name: str
    interruption_queue_name: pulumi.Output[str]
    ec2_node_class: k8s.apiextensions.CustomResource
    node_pool: k8s.apiextensions.CustomResource


def install(parent: PlatformComponent, name: str, args: AddonsArgs) -> KarpenterInstalled:
    """Declare Karpenter under `parent`: node role and access entry, interruption queue, controller role and chart,
    then the default EC2NodeClass and NodePool once the chart (and its CRDs) and the node role's policies exist."""
    addon, cluster = args.config.karpenter, args.cluster_name
    node_role_name = f"{cluster}-karpenter-node"
    nodes, node_policies = node_role(
        f"{name}-karpenter-node",
        aws_ctx=args.aws,
        parent=parent,
        role_name=node_role_name,
        description=f"Nodes Karpenter launches for {cluster}",
    )
    # API authentication mode: nodes join through an EC2_LINUX access entry for their role.
    access_entry = aws.eks.AccessEntry(
        f"{name}-karpenter-node-access",
        cluster_name=cluster,
        principal_arn=nodes.arn,
        type="EC2_LINUX",
        opts=parent.child_opts(),
    )
    queue = _interruption_queue(parent, name, args)

    role = irsa_role(
        parent,
        name,
        "karpenter",
        KARPENTER_SERVICE_ACCOUNT,
        karpenter_controller_statements(args.aws, cluster, nodes.arn, queue.arn),
        args,
        f"Karpenter controller of {cluster}",
    )
    labels = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": f"{name}-karpenter"}
    installed = chart(
        parent,
        name,
        "karpenter",
        addon,
        {
            "settings": {"clusterName": cluster, "interruptionQueue": cluster},
            "serviceAccount": irsa_service_account(KARPENTER_SERVICE_ACCOUNT, role),
            "replicas": addon.replicas,
            "controller": {
                "env": [{"name": "AWS_REGION", "value": args.aws.region}],
                "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            },
            "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            "topologySpreadConstraints": zone_spread(labels),
            # Karpenter must never run on nodes it manages: only on the managed `system` group.
            **controller_placement(),
        },
        depends_on=[access_entry, *role.ready],
    )
    node_class = k8s.apiextensions.CustomResource(
        f"{name}-karpenter-ec2nodeclass",
        **custom_resource_args(
            ec2_node_class(
                addon,
                node_role_name=node_role_name,
                subnet_ids=args.private_subnet_ids,
                security_group_id=args.node_security_group_id,
                imds_hop_limit=args.imds_hop_limit,
                tags={**args.node_tags, "Name": f"{cluster}-karpenter"},
            )
        ),
        # Karpenter launches nodes as soon as the class exists: the role must carry its policies by then.
        opts=parent.child_opts(depends_on=[installed, nodes, *node_policies]),
    )
    pool = k8s.apiextensions.CustomResource(
        f"{name}-karpenter-nodepool",
        **custom_resource_args(node_pool(addon, args.maintenance)),
        opts=parent.child_opts(depends_on=[installed, node_class]),
    )
    return KarpenterInstalled(
        chart=installed,
        role=role,
        node_role_name=node_role_name,
        interruption_queue_name=queue.name,
        ec2_node_class=node_class,
        node_pool=pool,
    )


def _interruption_queue(parent: PlatformComponent, name: str, args: AddonsArgs) -> aws.sqs.Queue:
    """The SQS queue (named after the cluster, as the chart's `interruptionQueue` setting says) and the EventBridge
    rules feeding it the events Karpenter handles ahead of time."""
    cluster = args.cluster_name
    queue = aws.sqs.Queue(
        f"{name}-karpenter-interruptions",
        name=cluster,
        message_retention_seconds=300,
        sqs_managed_sse_enabled=True,
        opts=parent.child_opts(),
    )
    aws.sqs.QueuePolicy(
        f"{name}-karpenter-interruptions-policy",
        queue_url=queue.url,
        policy=pulumi.Output.json_dumps(interruption_queue_policy(args.aws, queue.arn)),
        opts=parent.child_opts(),
    )
    for rule_key, pattern in interruption_rules().items():
        rule = aws.cloudwatch.EventRule(
            f"{name}-karpenter-{rule_key}",
            description=f"Karpenter interruption handling for {cluster}: {rule_key}",
            event_pattern=pulumi.Output.json_dumps(pattern),
            opts=parent.child_opts(),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-karpenter-{rule_key}-target",
            rule=rule.name,
            arn=queue.arn,
            target_id="karpenter-interruption-queue",
            opts=parent.child_opts(),
        )
    return queue


# --- pure builders --------------------------------------------------------------------------------------------------


def interruption_queue_policy(aws_ctx: AwsContext, queue_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The interruption queue's resource policy: EventBridge (and SQS itself) may deliver to it; nothing may use it
    without TLS."""
    return policy_document(
        [
            {
                "Sid": "EventBridgeAndSqsDeliver",
                "Effect": "Allow",
                "Principal": {"Service": [aws_ctx.service_principal("events"), aws_ctx.service_principal("sqs")]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            deny_insecure_transport("sqs:*", queue_arn, sid="DenyHTTP"),
        ]
    )


def interruption_rules() -> dict[str, dict[str, Any]]:
    """EventBridge patterns Karpenter handles ahead of time: spot interruptions, rebalance recommendations,
    scheduled maintenance and instance state changes."""
    return {
        "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    }


def ec2_node_class(
    config: KarpenterConfig,
    *,
    node_role_name: str,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    imds_hop_limit: int,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The default `EC2NodeClass`: AL2023, private subnets and the node security group by id, IMDSv2 only,
    encrypted gp3 root volume."""
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "default"},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": config.ami_alias}],
            "subnetSelectorTerms": [{"id": subnet_id} for subnet_id in subnet_ids],
            "securityGroupSelectorTerms": [{"id": security_group_id}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": imds_hop_limit,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
                }
            ],
            "detailedMonitoring": True,
            "tags": dict(tags),
        },
    }


def disruption_budgets(config: KarpenterConfig, maintenance: MaintenanceConfig) -> list[dict[str, Any]]:
    """At most `disruption_budget` nodes at once; with a maintenance window, none at all for the window's reasons
    outside it (Karpenter applies the most restrictive active budget)."""
    budgets: list[dict[str, Any]] = [{"nodes": config.disruption_budget}]
    closed = maintenance.closed_period()
    if closed is not None:
        schedule, duration = closed
        budgets.append(
            {"nodes": "0", "reasons": list(maintenance.window_reasons), "schedule": schedule, "duration": duration}
        )
    return budgets


def node_pool(config: KarpenterConfig, maintenance: MaintenanceConfig) -> dict[str, Any]:
    """The default `NodePool`: instance families and capacity types from config, a vCPU/memory ceiling, nodes
    replaced after `expire_after`, consolidation when empty or underused, at most `disruption_budget` at once and
    only inside the maintenance window for the reasons held to it."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "default"},
        "spec": {
            "template": {
                "metadata": {"labels": {"node.kubernetes.io/pool": "default"}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "requirements": [
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": list(config.architectures)},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(config.capacity_types)},
                        {
                            "key": "karpenter.k8s.aws/instance-category",
                            "operator": "In",
                            "values": list(config.instance_categories),
                        },
                        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
                    ],
                    "expireAfter": config.expire_after,
                },
            },
            "limits": {"cpu": str(config.cpu_limit), "memory": f"{config.memory_limit_gib}Gi"},
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": config.consolidate_after,
                "budgets": disruption_budgets(config, maintenance),
            },
        },
    }
