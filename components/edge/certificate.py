"""DnsCertificate: a public ACM certificate for a name of the zone, validated through DNS records in that zone.

Built in the region of the provider it is given (an ALB serves only certificates of its own region): the platform
composes it with the primary region's provider, the disaster-recovery standby again with the DR region's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config.dns import CertificateKeyAlgorithm

# TTL of the validation CNAMEs: ACM re-reads them at every renewal; nothing else resolves them.
VALIDATION_TTL_SECONDS = 300


@dataclass(frozen=True)
class DnsCertificateArgs:
    """Inputs of `DnsCertificate`.

    domain_name: the name the certificate is for (the ai-api's `domain_name`).
    zone_id: the public hosted zone holding `domain_name` (where the validation records go).
    key_algorithm: RSA_2048 (default), EC_prime256v1 or EC_secp384r1.
    subject_alternative_names: further names of the same zone (default none); wildcard names share their base
        name's validation record, so list either, not both.
    validation_record_fqdns: the validation records another certificate of the same names already declared (ACM
        asks every certificate of one name in one account for the same CNAME, whatever the region): the DR region's
        certificate validates through the primary's records instead of declaring them a second time, so removing
        one side never deletes the other's record. Default: declare them.
    """

    domain_name: str
    zone_id: pulumi.Input[str]
    key_algorithm: CertificateKeyAlgorithm = "RSA_2048"
    subject_alternative_names: Sequence[str] = ()
    validation_record_fqdns: Sequence[pulumi.Input[str]] | None = None


def _record_key(domain: str) -> str:
    """A stable resource-name part for one validated name."""
    return re.sub(r"[^a-z0-9]+", "-", domain.lower()).strip("-")


class DnsCertificate(PlatformComponent):
    """The certificate, one validation CNAME per name, and the validation that waits until ACM has issued it.

    `certificate_arn` is the validation's output: whatever uses it (the ALB's listener) waits for an issued
    certificate. ACM renews it by itself as long as the validation records stay (60 days before expiry). ACM gives
    every certificate of one name in one account the same validation CNAME, whatever the region: the standby
    region's certificate is given the primary's records (`validation_record_fqdns`) instead of declaring them again.
    """

    area = "edge"

    def __init__(self, name: str, args: DnsCertificateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        domains = [args.domain_name, *args.subject_alternative_names]
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=args.domain_name,
            subject_alternative_names=list(args.subject_alternative_names) or None,
            validation_method="DNS",
            key_algorithm=args.key_algorithm,
            options={"certificate_transparency_logging_preference": "ENABLED"},
            opts=self.child_opts(),
        )
        if args.validation_record_fqdns is None:
            records = [self._validation_record(name, certificate, args.zone_id, domain) for domain in domains]
            self.validation_record_fqdns: list[pulumi.Input[str]] = [record.fqdn for record in records]
        else:
            self.validation_record_fqdns = list(args.validation_record_fqdns)
        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=self.validation_record_fqdns,
            opts=self.child_opts(),
        )
        self.certificate_arn: pulumi.Output[str] = validation.certificate_arn
        self.domain_name = args.domain_name
        self.register_outputs(
            {
                "certificate_arn": self.certificate_arn,
                "domain_name": self.domain_name,
                "validation_record_fqdns": self.validation_record_fqdns,
            }
        )

    def _validation_record(
        self, name: str, certificate: aws.acm.Certificate, zone_id: pulumi.Input[str], domain: str
    ) -> aws.route53.Record:
        """The CNAME ACM asks for to prove control of `domain` (its option picked by name, not by position)."""
        option = certificate.domain_validation_options.apply(
            lambda options: next(o for o in options if o.domain_name == domain)
        )
        return aws.route53.Record(
            f"{name}-validation-{_record_key(domain)}",
            zone_id=zone_id,
            name=option.apply(lambda o: o.resource_record_name),
            type=option.apply(lambda o: o.resource_record_type),
            records=[option.apply(lambda o: o.resource_record_value)],
            ttl=VALIDATION_TTL_SECONDS,
            allow_overwrite=True,
            opts=self.child_opts(),
        )
