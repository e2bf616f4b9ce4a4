"""Fixed facts about where Route 53 things live: the canonical hosted zone of each region's Application Load
Balancers (what an alias record to an ALB names), and the region Route 53's own regional parts use.

The ELB zone ids are AWS's published table ("Elastic Load Balancing endpoints and quotas",
https://docs.aws.amazon.com/general/latest/gr/elb.html, column "Route 53 Hosted Zone ID (Application Load
Balancers, Classic Load Balancers)", read 2026-11; the Terraform AWS provider and external-dns carry the same
table). They are the same for every account and never change for a region; a region missing here is refused with
a clear error instead of a wrong alias.
"""

from __future__ import annotations

ALB_HOSTED_ZONE_IDS: dict[str, str] = {
    "us-east-1": "Z35SXDOTRQ7X7K",
    "us-east-2": "Z3AADJGX6KTTL2",
    "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5",
    "af-south-1": "Z268VQBMOI5EKX",
    "ap-east-1": "Z3DQVH9N71FHZ0",
    "ap-south-1": "ZP97RAFLXTNZK",
    "ap-south-2": "Z0173938T07WNTVAEPZN",
    "ap-southeast-1": "Z1LMS91P8CMLE5",
    "ap-southeast-2": "Z1GM3OXH4ZPM65",
    "ap-southeast-3": "Z08888821HLRG5A9ZRTER",
    "ap-southeast-4": "Z09517862IB2WZLPXG76F",
    "ap-southeast-5": "Z06010284QMVVW7WO5J",
    "ap-southeast-7": "Z0390008CMBRTHFGWBCB",
    "ap-northeast-1": "Z14GRHDCWA56QT",
    "ap-northeast-2": "ZWKZPGTI48KDX",
    "ap-northeast-3": "Z5LXEXXYW11ES",
    "ca-central-1": "ZQSVJUPU6J1EY",
    "ca-west-1": "Z06473681N0SF6OS049SD",
    "eu-central-1": "Z215JYRZR1TBD5",
    "eu-central-2": "Z06391101F2ZOEP8P5EB3",
    "eu-west-1": "Z32O12XQLNTSW2",
    "eu-west-2": "ZHURV8PSTC4K8",
    "eu-west-3": "Z3Q77PNBQS71R4",
    "eu-north-1": "Z23TAZ6LKFMNIO",
    "eu-south-1": "Z3ULH7SSC9OV64",
    "eu-south-2": "Z0956581394HF5D5LXGAP",
    "il-central-1": "Z09170902867EHPV2DABU",
    "me-south-1": "ZS929ML54UICD",
    "me-central-1": "Z08230872XQRWHG2XF6I",
    "sa-east-1": "Z2P70J7HTTTPLU",
    "mx-central-1": "Z023552324OKD1BB28BH5",
    "cn-north-1": "Z1GDH35T77C1KE",
    "cn-northwest-1": "ZM7IZAIOVVDZF",
    "us-gov-west-1": "Z33AYJ8TM3BH4J",
    "us-gov-east-1": "Z166TLBEWOO7G0",
}

# Route 53 is a global service whose regional parts (query-log groups, health-check metrics and the alarms on them)
# live in one region per partition: us-east-1 in the commercial partition.
ROUTE53_HOME_REGIONS: dict[str, str] = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}


def alb_hosted_zone_id(region: str) -> str:
    """The canonical hosted zone id of ALBs in `region` (the alias target's `zone_id`)."""
    try:
        return ALB_HOSTED_ZONE_IDS[region]
    except KeyError:
        raise ValueError(
            f"no known ALB hosted zone id for {region}; add it to components/edge/targets.py from "
            "https://docs.aws.amazon.com/general/latest/gr/elb.html"
        ) from None


def route53_home_region(partition: str) -> str:
    """Where Route 53 keeps query logs and health-check metrics in `partition`."""
    return ROUTE53_HOME_REGIONS[partition]
