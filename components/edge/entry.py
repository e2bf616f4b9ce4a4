"""EntryRecord: the public name of an entry point (the ai-api's `domain_name`) pointing at a load balancer.

Three roles, so that one component serves a single region and both sides of a disaster-recovery pair:

- `simple`: an alias A record to the ALB (no TTL of its own, free queries, possible at the zone apex).
- `primary` / `secondary`: Route 53 failover records. Route 53 answers with the primary while its health check
  passes, with the secondary otherwise. They are CNAMEs to the ALB's name with the configured TTL, chosen over
  aliases so that `dr.dns.record_ttl_seconds` bounds how long resolvers keep the old answer after a failover; the
  price is billed queries ($0.40 per million, where alias queries to an ALB are free) and no failover record at the
  zone apex (the config refuses that). The health check (HTTPS to the ALB's own name, the configured path, interval
  and failure threshold) is required on the primary and optional on the secondary.

Inputs are plain values (a host name, a zone id, a role, health-check settings), so the disaster-recovery standby
composes the component again with its own ALB's host name and the `secondary` role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent

RecordRole = Literal["simple", "primary", "secondary"]
HTTPS_PORT = 443


@dataclass(frozen=True)
class HealthCheckSettings:
    """A Route 53 HTTPS health check of a load balancer: `path` every `interval_seconds` (10 or 30), unhealthy
    after `failure_threshold` consecutive failures."""

    path: str
    interval_seconds: Literal[10, 30]
    failure_threshold: int


@dataclass(frozen=True)
class EntryRecordArgs:
    """Inputs of `EntryRecord`.

    zone_id: the public hosted zone of `record_name`.
    record_name: the DNS name clients use (e.g. api.ai-platform.example.com).
    target_hostname: the load balancer's DNS name (`<name>-<id>.<region>.elb.amazonaws.com`).
    target_zone_id: the canonical hosted zone of load balancers of the target's region
        (`components.edge.targets.alb_hosted_zone_id`); used by the `simple` role's alias.
    role: simple (default), primary or secondary.
    ttl_seconds: TTL of the failover CNAMEs (default 60).
    health_check: the target's health check; required for `primary`, optional for `secondary`, not used by `simple`.
    """

    zone_id: pulumi.Input[str]
    record_name: str
    target_hostname: pulumi.Input[str]
    target_zone_id: str
    role: RecordRole = "simple"
    ttl_seconds: int = 60
    health_check: HealthCheckSettings | None = None


class EntryRecord(PlatformComponent):
    """The record (and, for failover, the health check) of one entry point. `health_check_id` is None without a
    health check: `Alarms` watches it (Route 53 publishes `HealthCheckStatus` in us-east-1)."""

    area = "edge"

    def __init__(self, name: str, args: EntryRecordArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        if args.role == "primary" and args.health_check is None:
            raise ValueError("a primary failover record needs a health check: without one Route 53 never fails over")
        if args.role == "simple" and args.health_check is not None:
            raise ValueError("a simple record does not use a health check; give it to a failover role")
        self.health_check_id: pulumi.Output[str] | None = None
        health_check = None
        if args.health_check is not None:
            health_check = self._health_check(name, args, args.health_check)
            self.health_check_id = health_check.id
        # A simple record and failover records of one name cannot coexist: switching roles replaces the record,
        # deleting the old one first (the name is unresolvable for the seconds in between).
        replace_first = self.child_opts(delete_before_replace=True)
        if args.role == "simple":
            record = aws.route53.Record(
                f"{name}-record",
                zone_id=args.zone_id,
                name=args.record_name,
                type="A",
                aliases=[
                    {"name": args.target_hostname, "zone_id": args.target_zone_id, "evaluate_target_health": True}
                ],
                opts=replace_first,
            )
        else:
            record = aws.route53.Record(
                f"{name}-record",
                zone_id=args.zone_id,
                name=args.record_name,
                type="CNAME",
                ttl=args.ttl_seconds,
                records=[args.target_hostname],
                set_identifier=args.role,
                failover_routing_policies=[{"type": args.role.upper()}],
                health_check_id=health_check.id if health_check is not None else None,
                opts=replace_first,
            )
        self.fqdn: pulumi.Output[str] = record.fqdn
        self.role = args.role
        self.register_outputs({"fqdn": self.fqdn, "role": self.role, "health_check_id": self.health_check_id})

    def _health_check(self, name: str, args: EntryRecordArgs, settings: HealthCheckSettings) -> aws.route53.HealthCheck:
        """HTTPS to the load balancer's own name (not `record_name`, which after a failover resolves to the other
        region): Route 53 sends that name as Host header and SNI, so the Ingress routes `settings.path` for any
        host (`AiApiArgs.direct_health_path`). Route 53 does not verify the certificate."""
        return aws.route53.HealthCheck(
            f"{name}-health-check",
            type="HTTPS",
            fqdn=args.target_hostname,
            port=HTTPS_PORT,
            resource_path=settings.path,
            request_interval=settings.interval_seconds,
            failure_threshold=settings.failure_threshold,
            enable_sni=True,
            tags={"Name": f"{args.record_name} {args.role}"},
            opts=self.child_opts(),
        )
