"""The price table `python -m ops cost` reads: on-demand list prices of us-east-1, each with its public source.

Prices are AWS's published on-demand list prices (no free tier, no Savings Plans, no reserved capacity), in USD,
as read on `PRICED_ON` from the page in each entry's `source`. Whoever updates a price updates the date. Usage
that a plan cannot know (GB stored, requests, LCUs) is set in `ASSUMPTIONS` and printed with every estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-1"
PRICED_ON = "2025-06-01"
HOURS_PER_MONTH = 730  # AWS's own convention on its pricing pages (8,760 h / 12)

_EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/"
_EKS = "https://aws.amazon.com/eks/pricing/"
_VPC = "https://aws.amazon.com/vpc/pricing/"
_PRIVATELINK = "https://aws.amazon.com/privatelink/pricing/"
_AURORA = "https://aws.amazon.com/rds/aurora/pricing/"
_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
_ROUTE53 = "https://aws.amazon.com/route53/pricing/"


@dataclass(frozen=True)
class Price:
    """One list price: USD per `unit`, in REGION, from `source`."""

    usd: float
    unit: str
    source: str
    region: str = REGION
    date: str = PRICED_ON


PRICES: dict[str, Price] = {
    "eks.cluster.standard": Price(0.10, "cluster-hour", _EKS),
    "eks.cluster.extended": Price(0.60, "cluster-hour", _EKS),
    "ec2.t3.medium": Price(0.0416, "instance-hour", _EC2),
    "ec2.t3.large": Price(0.0832, "instance-hour", _EC2),
    "ec2.t3a.large": Price(0.0752, "instance-hour", _EC2),
    "ec2.m6i.large": Price(0.096, "instance-hour", _EC2),
    "ec2.m6i.xlarge": Price(0.192, "instance-hour", _EC2),
    "ec2.m6i.2xlarge": Price(0.384, "instance-hour", _EC2),
    "ec2.m6a.large": Price(0.0864, "instance-hour", _EC2),
    "ec2.m6a.xlarge": Price(0.1728, "instance-hour", _EC2),
    "ec2.m6a.2xlarge": Price(0.3456, "instance-hour", _EC2),
    "ec2.m7i.large": Price(0.1008, "instance-hour", _EC2),
    "ec2.m7i.xlarge": Price(0.2016, "instance-hour", _EC2),
    "ec2.c6i.large": Price(0.085, "instance-hour", _EC2),
    "ec2.c6i.xlarge": Price(0.17, "instance-hour", _EC2),
    "ebs.gp3": Price(0.08, "GB-month", "https://aws.amazon.com/ebs/pricing/"),
    "vpc.nat_gateway": Price(0.045, "gateway-hour", _VPC),
    "vpc.public_ipv4": Price(0.005, "address-hour", _VPC),
    "vpc.interface_endpoint": Price(0.01, "endpoint-AZ-hour", _PRIVATELINK),
    "aurora.serverless_v2": Price(0.12, "ACU-hour", _AURORA),
    "aurora.db.t4g.medium": Price(0.073, "instance-hour", _AURORA),
    "aurora.db.r6g.large": Price(0.26, "instance-hour", _AURORA),
    "aurora.db.r6g.xlarge": Price(0.519, "instance-hour", _AURORA),
    "aurora.db.r7g.large": Price(0.276, "instance-hour", _AURORA),
    "aurora.storage": Price(0.10, "GB-month", _AURORA),
    "kms.key": Price(1.00, "key-month", "https://aws.amazon.com/kms/pricing/"),
    "secretsmanager.secret": Price(0.40, "secret-month", "https://aws.amazon.com/secrets-manager/pricing/"),
    "elb.alb": Price(0.0225, "ALB-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/"),
    "elb.alb_lcu": Price(0.008, "LCU-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/"),
    "waf.web_acl": Price(5.00, "web-ACL-month", "https://aws.amazon.com/waf/pricing/"),
    "waf.rule": Price(1.00, "rule-month", "https://aws.amazon.com/waf/pricing/"),
    "cloudwatch.alarm": Price(0.10, "alarm-metric-month", _CLOUDWATCH),
    "cloudwatch.dashboard": Price(3.00, "dashboard-month", _CLOUDWATCH),
    "s3.standard": Price(0.023, "GB-month", "https://aws.amazon.com/s3/pricing/"),
    "backup.warm": Price(0.05, "GB-month", "https://aws.amazon.com/backup/pricing/"),
    "ecr.storage": Price(0.10, "GB-month", "https://aws.amazon.com/ecr/pricing/"),
    "route53.hosted_zone": Price(0.50, "zone-month (first 25)", _ROUTE53),
    # Health checks of AWS endpoints (an ALB of the same account); each optional feature is billed on top.
    "route53.health_check": Price(0.50, "health-check-month", _ROUTE53),
    "route53.health_check_feature": Price(1.00, "feature-month", _ROUTE53),
}

# Usage the plan cannot know: what the estimate assumes, printed with it.
ASSUMPTIONS: dict[str, float] = {
    "aurora_storage_gb": 20,  # data + indexes of a young pgvector database
    "s3_gb_per_bucket": 10,
    "backup_gb": 20,  # recovery points in the backup vault (warm storage)
    "ecr_gb": 5,  # images kept by the repository's lifecycle policy
    "alb_lcu": 1,  # a quiet load balancer: one LCU around the clock
}
