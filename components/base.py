"""What every platform component shares: its type token, and the AWS facts it needs (account, partition, region)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi

from components.config import PROJECT


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

    def regional_endpoint(self, service: str) -> str:
        """`<service>.<region>.<dns suffix>`: the name a regional service uses in `kms:ViaService` and in
        regional service principals (CloudWatch Logs)."""
        return f"{service}.{self.region}.{self.dns_suffix}"


class PlatformComponent(pulumi.ComponentResource):
    """Base of every component: type token `ai-platform:<area>:<ClassName>`; `area` also names the `component` tag."""

    area: ClassVar[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
        super().__init__(f"{PROJECT}:{self.area}:{type(self).__name__}", name, None, opts, **kwargs)

    def child_opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a direct child: always parented to this component (names, tags and providers follow)."""
        return pulumi.ResourceOptions(parent=self, **kwargs)
