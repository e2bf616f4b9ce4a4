"""What every `ops dr` command starts from: the stack's validated config, its stack file, the deterministic names
of its DR resources, and AWS clients per region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import StackConfig, load_stack_config
from lib import dr_names
from ops.dr.steps import Clock, DrInputError
from ops.engine import read_stack_config, stack_file

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client


def boto3_clients() -> ClientFactory:
    """boto3 clients from the default credential chain (a profile, SSO, or the CI's OIDC role), one per
    (service, region)."""
    import boto3

    session = boto3.session.Session()
    cache: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in cache:
            cache[(service, region)] = session.client(service, region_name=region)
        return cache[(service, region)]

    return client


@dataclass
class DrContext:
    """One stack's DR facts and the means to act on them."""

    stack: str
    config: StackConfig
    stack_path: Path
    clients: ClientFactory
    clock: Clock = field(default_factory=Clock)

    @classmethod
    def load(cls, stack: str, project_dir: Path, clients: ClientFactory, clock: Clock | None = None) -> DrContext:
        config = load_stack_config(stack, read_stack_config(stack, project_dir))
        return cls(stack, config, stack_file(stack, project_dir), clients, clock or Clock())

    def client(self, service: str, region: str) -> Any:
        return self.clients(service, region)

    # --- regions and names -------------------------------------------------------------------------------------

    @property
    def regions(self) -> tuple[str, ...]:
        """The stack's regions: `aws:region`, then `dr.region` when it has DR."""
        if self.config.dr.strategy == "none":
            return (self.config.region,)
        return (self.config.region, self.config.dr.region)

    def require_dr(self, command: str) -> None:
        if self.config.dr.strategy == "none":
            raise DrInputError(
                f"{command}: Pulumi.{self.stack}.yaml: ai-platform:dr.strategy is 'none' (no second region); "
                "allowed: set strategy backup-restore or warm-standby and run pulumi up first"
            )

    def require_region(self, region: str, option: str) -> str:
        if region not in self.regions:
            raise DrInputError(f"{option} {region}: not a region of stack {self.stack}; allowed: "
                               f"{', '.join(self.regions)}")  # fmt: skip
        return region

    def cluster_id(self, region: str) -> str:
        """The stack's Aurora cluster in `region`."""
        return dr_names.cluster_identifier_in(self.stack, region, self.config.region)

    @property
    def global_cluster_id(self) -> str:
        return dr_names.global_cluster_identifier(self.stack)

    def vault_name(self, region: str) -> str:
        if region == self.config.region:
            return dr_names.backup_vault_name(self.stack)
        return dr_names.dr_backup_vault_name(self.stack)

    # --- live facts --------------------------------------------------------------------------------------------

    def describe_cluster(self, region: str, identifier: str) -> dict[str, Any] | None:
        """The cluster as RDS describes it, or None when it does not exist."""
        rds = self.client("rds", region)
        try:
            clusters = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except rds.exceptions.DBClusterNotFoundFault:
            return None
        return clusters[0] if clusters else None

    def instance_status(self, region: str, identifier: str) -> str | None:
        """The instance's status (`available`, `creating`...), or None when it does not exist."""
        rds = self.client("rds", region)
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except rds.exceptions.DBInstanceNotFoundFault:
            return None
        return str(found[0]["DBInstanceStatus"]) if found else None

    def global_members(self) -> dict[str, bool]:
        """Member cluster ARN -> is the writer, from the global cluster (any region answers for it)."""
        rds = self.client("rds", self.config.region)
        try:
            found = rds.describe_global_clusters(GlobalClusterIdentifier=self.global_cluster_id)["GlobalClusters"]
        except rds.exceptions.GlobalClusterNotFoundFault:
            return {}
        if not found:
            return {}
        return {m["DBClusterArn"]: bool(m.get("IsWriter")) for m in found[0].get("GlobalClusterMembers", [])}

    def cluster_arn(self, region: str) -> str:
        """The ARN of the stack's cluster in `region`; `DrInputError` when it does not exist."""
        cluster = self.describe_cluster(region, self.cluster_id(region))
        if cluster is None:
            raise DrInputError(f"no cluster {self.cluster_id(region)} in {region}; allowed: a region where "
                               f"`pulumi up` built the stack's Aurora cluster")  # fmt: skip
        return str(cluster["DBClusterArn"])

    def writer_region(self) -> str | None:
        """The region whose cluster holds the global database's writer (None: no global cluster)."""
        members = self.global_members()
        for arn, is_writer in members.items():
            if is_writer:
                return arn.split(":")[3]
        return None
