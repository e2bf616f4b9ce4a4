"""A site: one region's side of the platform, and the config slice its components are built from.

The platform is composed twice with warm standby: the primary region (`aws:region`) and the DR region
(`ai-platform:dr.region`) are both sites, built by the same layer methods of `Platform` from the same components
with their own AWS provider. What differs between them is data, decided here:

- names: the primary site keeps the names the platform always had (`<stack>-network`, cluster `ai-platform-<stack>`);
  the DR site's are `<stack>-dr-...` and `ai-platform-<stack>-dr` (IAM names are global: they must differ);
- the config slice: the DR site has its own VPC range (`dr.standby.network_cidr`) and certificate
  (`dr.standby.certificate_arn`); whichever site is not active (`StackConfig.active_region`) runs at standby size
  (`dr.standby`: system nodes, ai-api replicas, database instances) and the active one at full size. A failover that
  sets `dr.active_region` therefore swaps the sizes on the next `pulumi up` and renames nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from config import PROJECT, StackConfig

if TYPE_CHECKING:
    from components.addons import Addons
    from components.ai_api import AiApi
    from components.cluster import Cluster
    from components.database import Database
    from components.edge import EntryRecord
    from components.identity import Identity
    from components.migrations import DatabaseMigrations
    from components.network import Network
    from components.observability import Observability
    from components.observability.alarms import Alarms
    from components.storage import Storage
    from lib.aws import AwsContext

SiteKey = Literal["primary", "dr"]


def site_config(config: StackConfig, *, key: SiteKey, active: bool) -> StackConfig:
    """The config slice a site is built from: the stack's own for the primary site, with the DR site's network and
    certificate for the DR site; standby sizes (`dr.standby`) when the site is not the active one.

    Built with `model_copy` from validated sections: every value comes from a validated field."""
    standby = config.dr.standby
    updates: dict[str, object] = {}
    api = config.api
    if key == "dr":
        updates["region"] = config.dr.region
        updates["network"] = config.network.model_copy(
            update={"cidr": standby.network_cidr, "availability_zones": None}
        )
        if api is not None:
            api = api.model_copy(update={"certificate_arn": standby.certificate_arn})
    if not active:
        groups = dict(config.cluster.node_groups)
        system = groups["system"]
        count = standby.system_node_count
        groups["system"] = system.model_copy(
            update={"min_size": count, "desired_size": count, "max_size": max(system.max_size, count)}
        )
        updates["cluster"] = config.cluster.model_copy(update={"node_groups": groups})
        if api is not None:
            replicas = standby.api_replicas
            hpa = api.hpa.model_copy(
                update={"min_replicas": replicas, "max_replicas": max(api.hpa.max_replicas, replicas)}
            )
            api = api.model_copy(update={"replicas": replicas, "hpa": hpa})
    updates["api"] = api
    return config.model_copy(update=updates)


def database_instances(config: StackConfig, *, active: bool) -> int:
    """Aurora instances of a site's cluster: a writer and `database.reader_count` readers when active, else
    `dr.standby.database_reader_count` (0: headless, storage replicated and no compute)."""
    return config.database.reader_count + 1 if active else config.dr.standby.database_reader_count


@dataclass
class Site:
    """One region's side: where it is, its role, and the components the layer methods build for it (set as they
    are built; a backup-restore DR site has only its keys and replica buckets)."""

    key: SiteKey
    name: str
    config: StackConfig
    active: bool
    provider: aws.Provider
    aws_ctx: AwsContext
    availability_zones: tuple[str, ...]
    cluster_name: str = field(init=False)
    identity: Identity = field(init=False)
    network: Network = field(init=False)
    cluster: Cluster = field(init=False)
    k8s_provider: k8s.Provider = field(init=False)
    addons: Addons = field(init=False)
    storage: Storage = field(init=False)
    database: Database = field(init=False)
    observability: Observability | None = None
    migrations: DatabaseMigrations | None = None
    ai_api: AiApi | None = None
    alarms: Alarms | None = None
    entry: EntryRecord | None = None

    def __post_init__(self) -> None:
        suffix = "" if self.key == "primary" else "-dr"
        self.cluster_name = f"{PROJECT}-{self.config.stack}{suffix}"

    def aws_opts(self, owner: PlatformComponent, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a component of this site that only declares AWS resources: a child of `owner` on the site's
        AWS provider."""
        return owner.child_opts(providers={"aws": self.provider}, **kwargs)

    def k8s_opts(self, owner: PlatformComponent, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a component of this site with AWS and Kubernetes resources (the site's cluster)."""
        return owner.child_opts(providers={"aws": self.provider, "kubernetes": self.k8s_provider}, **kwargs)
