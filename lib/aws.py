"""The target AWS account's facts (account, partition, region), and the ARNs and names derived from them."""

from __future__ import annotations

from dataclasses import dataclass


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

    def regional_endpoint(self, service: str) -> str:
        """`<service>.<region>.<dns suffix>`: the name a regional service uses in `kms:ViaService` and in
        regional service principals (CloudWatch Logs)."""
        return f"{service}.{self.region}.{self.dns_suffix}"
