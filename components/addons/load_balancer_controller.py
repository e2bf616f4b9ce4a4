"""AWS Load Balancer Controller: ALBs and NLBs for Ingresses and Services, with AWS's documented IAM policy scoped to
this account and region, to this VPC and to load balancers tagged as this cluster's (`iam.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.addons.charts import (
    Installed,
    chart,
    controller_placement,
    irsa_role,
    irsa_service_account,
    zone_spread,
)
from components.addons.iam import load_balancer_controller_statements
from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.addons import AddonsArgs

LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"


def install(parent: PlatformComponent, name: str, args: AddonsArgs) -> Installed:
    """Declare the controller's IRSA role and its chart under `parent`."""
    addon = args.config.load_balancer_controller
    role = irsa_role(
        parent,
        name,
        "load_balancer_controller",
        LBC_SERVICE_ACCOUNT,
        load_balancer_controller_statements(args.aws, args.cluster_name, args.vpc_id, args.node_security_group_id),
        args,
        f"AWS Load Balancer Controller of {args.cluster_name}",
    )
    labels = {"app.kubernetes.io/name": "aws-load-balancer-controller"}
    installed = chart(
        parent,
        name,
        "load_balancer_controller",
        addon,
        {
            "clusterName": args.cluster_name,
            "region": args.aws.region,  # explicit: pods cannot reach IMDS (hop limit 1)
            "vpcId": args.vpc_id,
            "replicaCount": addon.replicas,
            "serviceAccount": irsa_service_account(LBC_SERVICE_ACCOUNT, role),
            "enableServiceMutatorWebhook": False,  # Services get an NLB only when they ask for one
            "podDisruptionBudget": {"minAvailable": 1} if addon.replicas > 1 else {},
            "topologySpreadConstraints": zone_spread(labels),
            **controller_placement(),
        },
        depends_on=role.ready,
    )
    return Installed(chart=installed, role=role)
