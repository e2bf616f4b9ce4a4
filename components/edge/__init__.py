"""Edge: the platform's public names and certificates as code.

- `DnsZone` (zone.py): the stack's public hosted zone, created and protected or an existing one by id, with DNS
  query logging (Route 53 public query logs to a KMS-encrypted log group in us-east-1).
- `DnsCertificate` (certificate.py): an ACM certificate (DNS validation through the zone, RSA 2048 or ECDSA) and
  the validation that waits until it is issued, in the region of the provider it is given.
- `EntryRecord` (entry.py): the entry point's record, an alias to the ALB or, with DR warm-standby, a failover
  record (primary with its Route 53 health check, or secondary).
- `targets.py`: the ALB canonical hosted zone id of each region (AWS's published table), Route 53's home region.

The platform composes all three for the primary region; the disaster-recovery standby composes `DnsCertificate`
and `EntryRecord` again with the DR region's provider and the same zone id (README "DNS and certificates").
"""

from components.edge.certificate import DnsCertificate, DnsCertificateArgs
from components.edge.entry import EntryRecord, EntryRecordArgs, HealthCheckSettings, RecordRole
from components.edge.targets import alb_hosted_zone_id, route53_home_region
from components.edge.zone import DnsZone, DnsZoneArgs

__all__ = [
    "DnsCertificate",
    "DnsCertificateArgs",
    "DnsZone",
    "DnsZoneArgs",
    "EntryRecord",
    "EntryRecordArgs",
    "HealthCheckSettings",
    "RecordRole",
    "alb_hosted_zone_id",
    "route53_home_region",
]
