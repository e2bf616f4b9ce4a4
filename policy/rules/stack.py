"""Stack-wide rules: mandatory tags on every taggable resource, and stateful resources protected from deletion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import HIGH, MANDATORY_TAG_KEYS, MEDIUM, Param, StackIndex, mapping, resource_rule, stack_rule

# Resource types the platform declares that accept `tags` (pulumi_aws / pulumi_eks constructors with a `tags`
# argument). A plan only shows whether `tags` is present, not whether a type could carry them, and the pack cannot
# import pulumi_aws, so the rule works from this explicit list. tests/test_policy_pack.py checks it against
# pulumi_aws introspection and fails when a shipped stack declares a taggable type missing from it.
TAGGABLE_TYPES: frozenset[str] = frozenset(
    {
        "aws:acm/certificate:Certificate", "aws:backup/plan:Plan", "aws:backup/vault:Vault",
        "aws:budgets/budget:Budget", "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        "aws:cloudtrail/trail:Trail", "aws:guardduty/detector:Detector",
        "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:dynamodb/table:Table",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/eip:Eip", "aws:ec2/flowLog:FlowLog",
        "aws:ec2/internetGateway:InternetGateway", "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/natGateway:NatGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet", "aws:ec2/vpc:Vpc", "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ecr/repository:Repository", "aws:efs/fileSystem:FileSystem", "aws:eks/accessEntry:AccessEntry",
        "aws:eks/addon:Addon", "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/policy:Policy", "aws:iam/role:Role",
        "aws:iam/user:User", "aws:kms/key:Key", "aws:lambda/function:Function", "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup", "aws:rds/globalCluster:GlobalCluster",
        "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
        "aws:route53/healthCheck:HealthCheck", "aws:route53/zone:Zone", "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2", "aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic",
        "aws:sqs/queue:Queue", "aws:ssm/parameter:Parameter", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:wafv2/ipSet:IpSet",
        "aws:wafv2/webAcl:WebAcl", "eks:index:Cluster", "eks:index:ManagedNodeGroup",
    }
)  # fmt: skip

# tags-mandatory judges every origin: the program's resources (tagged by lib/tagging.py) and the AWS resources
# pulumi-eks creates in a real preview, which carry the tags the program passes as the eks Cluster's `tags` (cluster,
# security groups, add-ons, roles). pulumi-eks 4 creates its OIDC provider untagged and an access entry with only the
# tags of its `accessEntries` item: the cluster component must tag those itself. Helm charts create no AWS
# resources in Pulumi (controllers create load balancers and instances at runtime, tagged from the chart values
# and the EC2NodeClass), so no chart-rendered object is taggable here.

# Resources whose loss loses data or keys: protected (`protect=True`) in staging and prod.
STATEFUL_TYPES = (
    "aws:rds/cluster:Cluster",
    "aws:rds/instance:Instance",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:backup/vault:Vault",
    "aws:efs/fileSystem:FileSystem",
    "aws:dynamodb/table:Table",
    # A recreated zone has new name servers: the delegation to it breaks until someone changes the registrar's.
    "aws:route53/zone:Zone",
)


@resource_rule(
    id="tags-mandatory",
    area="stack",
    types=tuple(sorted(TAGGABLE_TYPES)),
    description=f"Every taggable resource carries the mandatory tags ({', '.join(MANDATORY_TAG_KEYS)}).",
    severity=MEDIUM,
    remediation=(
        "Declare the resource under the Platform component: lib/tagging.py adds the tags; never build outside it."
    ),
    controls=("FSBP EKS.6", "FSBP RDS.28", "FSBP EC2.33"),
    on_unknown="pass",
    params={
        "requiredKeys": Param(
            list(MANDATORY_TAG_KEYS),
            {"type": "array", "items": {"type": "string"}},
            "Tag keys every taggable resource must carry.",
        ),
    },
)
def tags_mandatory(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    tags = mapping(props.get("tags"))
    missing = [k for k in config["requiredKeys"] if not tags.get(k)]
    if missing:
        yield f"missing tags: {', '.join(missing)}"


@stack_rule(
    id="stateful-protected",
    area="stack",
    types=STATEFUL_TYPES,
    description=(
        "Stateful resources (databases, buckets, keys, vaults, file systems, tables, hosted zones) are protected from "
        "deletion (staging, prod)."
    ),
    severity=HIGH,
    remediation="Create the resource with opts protect=True (the component's protect setting from config outside dev).",
    controls=(),
    on_unknown="pass",
)
def stateful_protected(
    resource: PolicyResource | None, _index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert resource is not None
    if not resource.opts.protect:
        kind = resource.resource_type.rsplit(":", 1)[-1]
        yield f"{kind} {resource.name} is not protected: `pulumi destroy` or a bad refactor deletes it"
