"""`ai-platform:dns`: the public Route 53 hosted zone of the stack's names, its query logs, and the ACM certificate
the platform issues through it for `ai-platform:api.domain_name`."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from config.types import LogRetentionDays, Section

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
# ACM key algorithms an ALB can serve (RSA 2048+ or ECDSA P-256/P-384): weaker keys are refused, P-521 and the
# larger RSA keys are not supported by Elastic Load Balancing listeners.
CertificateKeyAlgorithm = Literal["RSA_2048", "EC_prime256v1", "EC_secp384r1"]


def _check_zone_name(name: str) -> str:
    """Allowed: a lowercase DNS name without the trailing dot, e.g. ai-platform.example.com."""
    labels = name.split(".") if isinstance(name, str) else []
    if len(labels) < 2 or len(name) > 253 or not all(re.fullmatch(_DNS_LABEL, label) for label in labels):
        raise ValueError(f"{name!r} is not a zone name; allowed: a lowercase DNS name like ai-platform.example.com")
    return name


def _check_zone_id(zone_id: str) -> str:
    """Allowed: a Route 53 hosted zone id, Z followed by letters and digits (at most 32 characters)."""
    if not isinstance(zone_id, str) or not re.fullmatch(r"Z[0-9A-Z]{4,31}", zone_id):
        raise ValueError(
            f"{zone_id!r} is not a hosted zone id; allowed: the id Route 53 shows, like Z0123456789ABCDEFGHIJ "
            "(without /hostedzone/)"
        )
    return zone_id


def in_zone(name: str, zone: str) -> bool:
    """Whether DNS name `name` is `zone` itself or a name below it (label-wise, not a mere suffix)."""
    return name == zone or name.endswith(f".{zone}")


class DnsCertificateConfig(Section):
    """`ai-platform:dns.certificate`: the ACM certificate the platform requests for `api.domain_name` (unless
    `api.certificate_arn` names one made elsewhere)."""

    key_algorithm: CertificateKeyAlgorithm = Field(
        "RSA_2048",
        description="Key of the certificate: RSA_2048 (every client), EC_prime256v1 or EC_secp384r1 (ECDSA).",
    )


class DnsConfig(Section):
    """`ai-platform:dns`: the public hosted zone the stack's names live in.

    Optional: without it nothing in DNS is managed and `api.certificate_arn` must name a certificate made elsewhere.
    With it, the platform owns the ai-api record (an alias to the ALB, or failover records with DR warm-standby),
    logs every query the zone answers, and, unless `api.certificate_arn` is set, issues the ai-api certificate
    through the zone (ACM, DNS validation).
    """

    zone_name: Annotated[str, AfterValidator(_check_zone_name)] = Field(
        description="The zone's DNS name, e.g. ai-platform.example.com; api.domain_name must be it or below it."
    )
    zone_id: Annotated[str, AfterValidator(_check_zone_id)] | None = Field(
        None,
        description="Use this existing public hosted zone (named zone_name) instead of creating one; none: the "
        "stack creates the zone and exports its name servers for the delegation.",
    )
    query_log_retention_days: LogRetentionDays = Field(
        365, description="Retention of the zone's DNS query logs (a log group in us-east-1, as Route 53 requires)."
    )
    certificate: DnsCertificateConfig = Field(
        default_factory=DnsCertificateConfig, description="The certificate issued through the zone."
    )
    protect: bool = Field(
        True, description="Pulumi `protect` on a zone the stack creates (a new zone has new name servers)."
    )
