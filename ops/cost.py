"""`python -m ops cost --stack S`: a monthly cost estimate of a stack, priced from its offline plan.

Each billable resource of the plan becomes priced lines (quantity x list price of `ops.pricing`); a resource type
with no price is never silently zero: it is either known to cost nothing by itself (`FREE`), billed only by usage
the plan cannot know (`USAGE_BASED`, listed as excluded), or listed as "not priced" with its count. Capacity the
cluster adds at run time (Karpenter nodes for the workloads) is usage, not in the plan, so not counted.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ops.engine import Plan, RecordedResource, plan_stack
from ops.pricing import ASSUMPTIONS, HOURS_PER_MONTH, PRICED_ON, PRICES, REGION

TARGETS = {"dev": 200.0}  # the idle target per stack, USD per month
DRIVER_SHARE = 0.20  # a line above this share of the total is a driver, besides the three largest

FREE_PREFIXES = ("aws:iam/", "kubernetes:", "pulumi:providers:", "random:", "github:")
FREE = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:kms/alias:Alias",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/addon:Addon",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:backup/plan:Plan",
        "aws:backup/selection:Selection",
        "aws:backup/vaultNotifications:VaultNotifications",
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
        "aws:wafv2/ipSet:IpSet",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:secretsmanager/secretRotation:SecretRotation",
        "aws:ssm/parameter:Parameter",
        "aws:costexplorer/anomalyMonitor:AnomalyMonitor",  # Cost Anomaly Detection is free
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        "aws:costexplorer/costAllocationTag:CostAllocationTag",
        # Public ACM certificates (and their validation) cost nothing; query-log configs and the log group's
        # resource policy neither (the log group's ingestion is billed).
        "aws:acm/certificate:Certificate",
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:route53/queryLog:QueryLog",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "aws:lambda/permission:Permission",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    }
)
USAGE_BASED = {
    "aws:cloudwatch/logGroup:LogGroup": "log ingestion and storage per GB",
    "aws:ec2/flowLog:FlowLog": "flow-log delivery per GB (vended logs)",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "WAF log delivery per GB",
    "aws:sqs/queue:Queue": "SQS requests",
    "aws:sns/topic:Topic": "SNS publishes and deliveries",
    "aws:cloudwatch/eventRule:EventRule": "EventBridge events (AWS service events are free)",
    "aws:cloudwatch/eventTarget:EventTarget": "EventBridge deliveries",
    "aws:budgets/budget:Budget": "AWS Budgets: an account's first two budgets are free, then $0.02 per budget-day",
    "aws:scheduler/schedule:Schedule": "EventBridge Scheduler invocations ($1.00 per million after 14 million free)",
    "aws:route53/record:Record": "DNS queries per million (alias queries to an ALB are free)",
    "aws:cloudtrail/trail:Trail": "the account's first copy of management events is free; S3 data events per "
    "100,000 events",
    "aws:guardduty/detector:Detector": "GuardDuty per GB of CloudTrail events, VPC flow and DNS logs analysed",
    "aws:guardduty/detectorFeature:DetectorFeature": "each protection plan per its usage (EKS audit events, vCPU "
    "monitored, RDS logins, S3 events, GB scanned)",
    "aws:securityhub/account:Account": "Security Hub finding ingestions",
    "aws:securityhub/standardsSubscription:StandardsSubscription": "Security Hub per security check run",
    "aws:inspector2/enabler:Enabler": "Inspector per image scanned and per instance monitored",
    "aws:lambda/function:Function": "Lambda requests and GB-seconds (a few runs an hour: within the free tier)",
    "aws:dynamodb/table:Table": "DynamoDB on-demand requests, storage and PITR per GB (a few KB here)",
    # Disaster recovery: the DR side's nodes, Aurora instances, buckets, keys and vault are priced as resources of
    # their own; what flows between the regions is billed by volume.
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "S3 replication: inter-region transfer and "
    "Replication Time Control per GB replicated, replica PUTs (replica storage is the replica bucket's)",
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": "ECR replication: inter-region transfer per GB "
    "of image layers pushed",
    "aws:rds/globalCluster:GlobalCluster": "Aurora Global Database: replicated write I/Os and inter-region "
    "transfer per GB written (the member clusters are priced on their own)",
}


@dataclass
class Line:
    """One priced quantity: `quantity` units of `price` for `resource` (a resource of `type`, under `component`)."""

    component: str
    type: str
    resource: str
    item: str
    quantity: float
    price: str

    @property
    def monthly(self) -> float:
        return self.quantity * PRICES[self.price].usd


@dataclass
class Estimate:
    """A stack's lines, what was left unpriced and why, and the assumptions behind the figures."""

    stack: str
    region: str
    lines: list[Line] = field(default_factory=list)
    not_priced: Counter[str] = field(default_factory=Counter)
    usage_based: Counter[str] = field(default_factory=Counter)
    free: Counter[str] = field(default_factory=Counter)
    assumptions: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def by(self, key: str) -> dict[str, float]:
        """Monthly totals grouped by a Line attribute (`component` or `type`), largest first."""
        sums: dict[str, float] = defaultdict(float)
        for line in self.lines:
            sums[getattr(line, key)] += line.monthly
        return dict(sorted(sums.items(), key=lambda kv: -kv[1]))

    def drivers(self) -> list[Line]:
        """The three largest lines, and any line above DRIVER_SHARE of the total."""
        ranked = sorted(self.lines, key=lambda line: -line.monthly)
        return [line for i, line in enumerate(ranked) if i < 3 or line.monthly > DRIVER_SHARE * self.total]


Pricer = Callable[[RecordedResource, Plan, Estimate], list[tuple[str, float, str]]]


def _hours(count: float) -> float:
    return count * HOURS_PER_MONTH


def _eks(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    support = resource.inputs.get("upgradePolicy", {}).get("supportType", "STANDARD").lower()
    return [(f"control plane ({support} support)", _hours(1), f"eks.cluster.{support}")]


def _launch_template_gb(resource: RecordedResource, plan: Plan) -> float:
    """Root volume GB of the node group's launch template (the mock id names it), 0 when not in the plan."""
    lt_id = str(resource.inputs.get("launchTemplate", {}).get("id", ""))
    for lt in plan.by_type("aws:ec2/launchTemplate:LaunchTemplate"):
        if lt.name in lt_id:
            return sum(float(m.get("ebs", {}).get("volumeSize", 0)) for m in lt.inputs.get("blockDeviceMappings", []))
    return 0.0


def _node_group(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    types = resource.inputs.get("instanceTypes") or []
    desired = resource.inputs.get("scalingConfig", {}).get("desiredSize", 0)
    if not types or f"ec2.{types[0]}" not in PRICES:
        return []
    if len(types) > 1:
        est.assumptions.append(f"node group {resource.name}: priced as {types[0]}, the first of {', '.join(types)}")
    lines = [(f"{desired} x {types[0]} (desired size)", _hours(desired), f"ec2.{types[0]}")]
    root_gb = _launch_template_gb(resource, plan)
    if root_gb:
        lines.append((f"{desired} x {root_gb:g} GB gp3 root volumes", desired * root_gb, "ebs.gp3"))
    return lines


def _nat(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    return [("gateway hours (data processing excluded)", _hours(1), "vpc.nat_gateway")]


def _eip(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    return [("public IPv4 address", _hours(1), "vpc.public_ipv4")]


def _endpoint(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    if resource.inputs.get("vpcEndpointType") != "Interface":
        return [("gateway endpoint (no charge)", 0.0, "vpc.interface_endpoint")]
    azs = len(resource.inputs.get("subnetIds") or [])
    service = str(resource.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    return [(f"{service} in {azs} AZs", _hours(azs), "vpc.interface_endpoint")]


def _db_cluster(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    lines = [
        (
            f"storage, {ASSUMPTIONS['aurora_storage_gb']:g} GB assumed",
            ASSUMPTIONS["aurora_storage_gb"],
            "aurora.storage",
        )
    ]
    if resource.inputs.get("manageMasterUserPassword"):
        lines.append(("RDS-managed master user secret", 1.0, "secretsmanager.secret"))
    return lines


def _db_instance(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    klass = resource.inputs.get("instanceClass", "")
    if klass != "db.serverless":
        return [(klass, _hours(1), f"aurora.{klass}")] if f"aurora.{klass}" in PRICES else []
    clusters = [
        c
        for c in plan.by_type("aws:rds/cluster:Cluster")
        if c.inputs.get("clusterIdentifier") == resource.inputs.get("clusterIdentifier")
    ]
    scaling = clusters[0].inputs.get("serverlessv2ScalingConfiguration", {}) if clusters else {}
    floor = float(scaling.get("minCapacity", 0) or 0)
    note = ", pauses when idle" if scaling.get("secondsUntilAutoPause") and floor == 0 else ""
    return [(f"Serverless v2 idle floor: {floor:g} ACU (min capacity{note})", _hours(floor), "aurora.serverless_v2")]


def _per_month(item: str, price: str) -> Pricer:
    return lambda resource, plan, est: [(item, 1.0, price)]


def _assumed_gb(item: str, key: str, price: str) -> Pricer:
    return lambda resource, plan, est: [(f"{item}, {ASSUMPTIONS[key]:g} GB assumed", ASSUMPTIONS[key], price)]


def _waf(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    rules = len(resource.inputs.get("rules") or [])
    return [("web ACL (requests excluded)", 1.0, "waf.web_acl"), (f"{rules} rules", float(rules), "waf.rule")]


def _alarm(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    queries = resource.inputs.get("metricQueries") or []
    metrics = sum(1 for q in queries if q.get("metric")) or 1
    return [(f"{metrics} metric(s), standard resolution", float(metrics), "cloudwatch.alarm")]


def _health_check(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    """A Route 53 health check of an AWS endpoint plus each optional feature it uses (HTTPS, fast interval, string
    matching, latency measurement)."""
    inputs = resource.inputs
    kind = str(inputs.get("type", "HTTP"))
    features = [
        name
        for name, used in (
            ("HTTPS", kind.startswith("HTTPS")),
            ("fast interval", inputs.get("requestInterval") == 10),
            ("string matching", kind.endswith("STR_MATCH")),
            ("latency measurement", bool(inputs.get("measureLatency"))),
        )
        if used
    ]
    lines = [("health check (AWS endpoint)", 1.0, "route53.health_check")]
    if features:
        lines.append((", ".join(features), float(len(features)), "route53.health_check_feature"))
    return lines


def _ingress(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    """An Ingress the AWS load balancer controller turns into its own ALB (an ingress group shares one)."""
    annotations = resource.inputs.get("metadata", {}).get("annotations", {})
    if "alb.ingress.kubernetes.io/scheme" not in annotations:
        return [("not an ALB ingress", 0.0, "elb.alb")]
    if "alb.ingress.kubernetes.io/group.name" in annotations:
        est.assumptions.append(f"{resource.name}: in an ingress group, priced as an ALB of its own")
    lcu = ASSUMPTIONS["alb_lcu"]
    return [("ALB hours", _hours(1), "elb.alb"), (f"{lcu:g} LCU assumed", _hours(lcu), "elb.alb_lcu")]


def _chart(resource: RecordedResource, plan: Plan, est: Estimate) -> list[tuple[str, float, str]]:
    """Prometheus and Alertmanager volumes of kube-prometheus-stack: gp3 GB x replicas."""
    if resource.inputs.get("chart") != "kube-prometheus-stack":
        return []
    values, lines = resource.inputs.get("values", {}), []
    for app in ("prometheus", "alertmanager"):
        spec = values.get(app, {}).get(f"{app}Spec", {})
        claim = (spec.get("storageSpec") or spec.get("storage") or {}).get("volumeClaimTemplate", {}).get("spec", {})
        size = str(claim.get("resources", {}).get("requests", {}).get("storage", "0Gi"))
        gib, replicas = float(size.removesuffix("Gi") or 0), int(spec.get("replicas", 1))
        if gib:
            lines.append((f"{app}: {replicas} x {gib:g} GiB gp3", replicas * gib, "ebs.gp3"))
    return lines


PRICERS: dict[str, Pricer] = {
    "eks:index:Cluster": _eks,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:rds/cluster:Cluster": _db_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _db_instance,
    "aws:kms/key:Key": _per_month("customer managed key", "kms.key"),
    "aws:kms/replicaKey:ReplicaKey": _per_month("multi-Region replica key", "kms.key"),
    "aws:secretsmanager/secret:Secret": _per_month("secret", "secretsmanager.secret"),
    "kubernetes:networking.k8s.io/v1:Ingress": _ingress,
    "aws:wafv2/webAcl:WebAcl": _waf,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _per_month("dashboard", "cloudwatch.dashboard"),
    "kubernetes:helm.sh/v4:Chart": _chart,
    "aws:s3/bucket:Bucket": _assumed_gb("S3 Standard", "s3_gb_per_bucket", "s3.standard"),
    "aws:backup/vault:Vault": _assumed_gb("backup warm storage", "backup_gb", "backup.warm"),
    "aws:ecr/repository:Repository": _assumed_gb("image storage", "ecr_gb", "ecr.storage"),
    "aws:route53/zone:Zone": _per_month("public hosted zone (queries excluded)", "route53.hosted_zone"),
    "aws:route53/healthCheck:HealthCheck": _health_check,
}


def _component_of(resource: RecordedResource, plan: Plan) -> str:
    """The nearest ai-platform component above a resource (the plan's component parents), by name."""
    known = {r.urn: r for r in plan.resources}
    parent = known.get(resource.parent)
    while parent is not None:
        if parent.type.startswith("ai-platform:") and parent.type != "ai-platform:platform:Platform":
            return parent.name
        parent = known.get(parent.parent)
    return "(stack)"


def _region(plan: Plan) -> str:
    providers = plan.by_type("pulumi:providers:aws")
    return str(providers[0].inputs.get("region", REGION)) if providers else REGION


def estimate(plan: Plan) -> Estimate:
    """Price every resource of a plan; what has no price is counted as free, usage-based or not priced."""
    est = Estimate(stack=plan.stack, region=_region(plan))
    for resource in plan.resources:
        pricer = PRICERS.get(resource.type)
        if pricer is not None:
            priced = pricer(resource, plan, est)
            if not priced and resource.custom:
                est.not_priced[resource.type] += 1
            component = _component_of(resource, plan)
            est.lines.extend(
                Line(component, resource.type, resource.name, item, qty, price) for item, qty, price in priced if qty
            )
        elif not resource.custom:
            continue
        elif resource.type in FREE or resource.type.startswith(FREE_PREFIXES):
            est.free[resource.type] += 1
        elif resource.type in USAGE_BASED:
            est.usage_based[resource.type] += 1
        else:
            est.not_priced[resource.type] += 1
    est.assumptions[:0] = _base_assumptions(est)
    return est


def _base_assumptions(est: Estimate) -> list[str]:
    notes = [
        f"on-demand list prices of {REGION} as of {PRICED_ON} (ops/pricing.py), {HOURS_PER_MONTH} h/month, "
        "no free tier, Savings Plans or reservations",
        "idle floor: node groups at desired size, Aurora Serverless v2 at min capacity; Karpenter-provisioned "
        "workload nodes, data transfer, NAT/endpoint data processing, requests and log ingestion are excluded",
        f"assumed usage: Aurora storage {ASSUMPTIONS['aurora_storage_gb']:g} GB, "
        f"S3 {ASSUMPTIONS['s3_gb_per_bucket']:g} GB per bucket, backups {ASSUMPTIONS['backup_gb']:g} GB, "
        f"ECR {ASSUMPTIONS['ecr_gb']:g} GB, ALB {ASSUMPTIONS['alb_lcu']:g} LCU; Route 53 queries and AMP: none",
    ]
    if est.region != REGION:
        notes.append(f"the stack runs in {est.region}: priced with {REGION} list prices")
    return notes


def to_json(est: Estimate) -> dict[str, Any]:
    """The estimate as data (`--json`)."""
    return {
        "stack": est.stack,
        "region": est.region,
        "total_usd_per_month": round(est.total, 2),
        "target_usd_per_month": TARGETS.get(est.stack),
        "by_component": {k: round(v, 2) for k, v in est.by(key="component").items()},
        "by_type": {k: round(v, 2) for k, v in est.by(key="type").items()},
        "lines": [
            {**asdict(line), "usd_per_month": round(line.monthly, 2), "source": PRICES[line.price].source}
            for line in est.lines
        ],
        "drivers": [line.resource + ": " + line.item for line in est.drivers()],
        "not_priced": dict(est.not_priced),
        "usage_based_excluded": dict(est.usage_based),
        "assumptions": est.assumptions,
    }


def render(est: Estimate) -> str:
    """The estimate as text: total, breakdowns, drivers, what is not counted, assumptions."""
    total = est.total or 1.0
    out = [f"stack {est.stack}: ${est.total:,.2f}/month (idle floor estimate)"]
    for title, key in (("by component", "component"), ("by resource type", "type")):
        out.append(f"{title}:")
        out.extend(f"  {v:>10,.2f}  {v / total:6.1%}  {k}" for k, v in est.by(key=key).items())
    out.append("top drivers:")
    out.extend(f"  {d.monthly:>10,.2f}  {d.monthly / total:6.1%}  {d.resource}: {d.item}" for d in est.drivers())
    if est.not_priced:
        out.append("not priced (no price in ops/pricing.py):")
        out.extend(f"  {t} x{n}" for t, n in sorted(est.not_priced.items()))
    out.append("usage-based, excluded:")
    out.extend(f"  {t} x{n}: {USAGE_BASED[t]}" for t, n in sorted(est.usage_based.items()))
    out.append(f"no charge by themselves: {sum(est.free.values())} resources of {len(est.free)} types")
    out.append("assumptions:")
    out.extend(f"  - {note}" for note in est.assumptions)
    target = TARGETS.get(est.stack)
    if target is not None:
        gap = est.total - target
        verdict = f"over by ${gap:,.2f}" if gap > 0 else f"under by ${-gap:,.2f}"
        out.append(f"target: ${target:,.2f}/month, {verdict}")
    return "\n".join(out)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cost", help="estimate a stack's monthly cost from its offline plan")
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON instead of text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    est = estimate(plan_stack(args.stack))
    print(json.dumps(to_json(est), indent=2) if args.json else render(est))
    return 0
