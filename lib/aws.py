"""The target AWS account's facts (account, partition, region), and the ARNs and names derived from them."""

from __future__ import annotations

from dataclasses import dataclass

# Interface endpoint services whose name starts `cn.com.amazonaws.` instead of `com.amazonaws.` in the AWS China
# regions (`aws ec2 describe-vpc-endpoint-services` there; the AWS CDK keeps the same exception list). Gateway
# endpoints (S3, DynamoDB) keep `com.amazonaws.` everywhere.
CHINA_PREFIXED_INTERFACE_SERVICES: frozenset[str] = frozenset(
    {"ec2", "ecr.api", "ecr.dkr", "eks", "elasticache", "lambda", "monitoring", "rds", "s3", "sqs", "sts", "xray"}
)


@dataclass(frozen=True)
class AwsContext:
    """Facts about the target AWS account, looked up once by the platform and passed to components.

    Keeps ARNs and service principals correct in every partition (aws, aws-cn, aws-us-gov) without each component
    doing its own lookups.
    """

    account_id: str
    partition: str
    region: str
    dns_suffix: str = "amazonaws.com"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """`arn:<partition>:<service>:<region>:<account>:<resource>`, with region/account blank where AWS wants."""
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    @property
    def root_principal(self) -> str:
        """The account's root principal: in a key policy it delegates access control to IAM policies."""
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def service_principal(self, service: str) -> str:
        return f"{service}.{self.dns_suffix}"

    def managed_policy_arn(self, name: str) -> str:
        """An AWS managed policy in this partition: `name` is `AmazonEKSClusterPolicy` or `service-role/...`."""
        return f"arn:{self.partition}:iam::aws:policy/{name}"

    def vpc_endpoint_service(self, service: str, *, gateway: bool = False) -> str:
        """The VPC endpoint service name of an AWS service in this region, e.g. `com.amazonaws.us-east-1.sts`;
        partition-correct: interface endpoints of some services are `cn.com.amazonaws.<region>.<service>` in China."""
        china = self.partition == "aws-cn" and not gateway and service in CHINA_PREFIXED_INTERFACE_SERVICES
        return f"{'cn.' if china else ''}com.amazonaws.{self.region}.{service}"

    def regional_endpoint(self, service: str) -> str:
        """`<service>.<region>.<dns suffix>`: the name a regional service uses in `kms:ViaService` and in
        regional service principals (CloudWatch Logs)."""
        return f"{service}.{self.region}.{self.dns_suffix}"
