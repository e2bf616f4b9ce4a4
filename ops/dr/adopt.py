"""Moving the workload onto a restored cluster: the live cluster is renamed away (kept, still deletion-protected,
for forensics) and the restored cluster takes the platform's identifiers, so its endpoints carry the old names and
the workload reconnects without a change. `pulumi refresh` and `pulumi up` then make the state follow.

Tags carry the progress across runs (the replaced cluster's name holds the time of the first run): the replaced
cluster is tagged `dr-replaced-by=<restored id>`, the adopted one `dr-adopted-from=<restored id>`, so a re-run
after a partial failure finds both, and a re-run after success (the restored id no longer exists) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib import dr_names
from ops.dr.context import DrContext
from ops.dr.steps import DrInputError, Step

REPLACED_BY_TAG = "dr-replaced-by"
ADOPTED_FROM_TAG = "dr-adopted-from"


def _tags(cluster: dict[str, Any] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (cluster or {}).get("TagList", [])}


def _members(cluster: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((cluster or {}).get("DBClusterMembers", []))


@dataclass(frozen=True)
class Adoption:
    """Who is who: the restored cluster to adopt, the platform's identifier in `region`, and the name the live
    cluster is (or was) renamed to."""

    region: str
    restored_id: str
    platform_id: str
    replaced_id: str

    @property
    def writer_id(self) -> str:
        return dr_names.writer_instance_identifier(self.platform_id)

    def replaced_instance_id(self, instance_id: str) -> str:
        """`<platform>-instance-2` -> `<replaced>-instance-2` (any other name gets the replaced prefix)."""
        suffix = instance_id.removeprefix(self.platform_id) if instance_id.startswith(self.platform_id) else (
            f"-{instance_id}")  # fmt: skip
        return f"{self.replaced_id}{suffix}"


def _replaced_cluster(ctx: DrContext, region: str, platform_id: str, restored_id: str) -> dict[str, Any] | None:
    """A cluster an earlier run of this adoption renamed away (found by its tag)."""
    paginator = ctx.client("rds", region).get_paginator("describe_db_clusters")
    for page in paginator.paginate():
        for cluster in page["DBClusters"]:
            if cluster["DBClusterIdentifier"].startswith(f"{platform_id}-replaced-") and (
                _tags(cluster).get(REPLACED_BY_TAG) == restored_id
            ):
                return cluster
    return None


def plan_adoption(ctx: DrContext, region: str, restored_id: str, now: datetime) -> Adoption:
    """Check the input (`DrInputError`: nothing changed) and name the clusters."""
    platform_id = ctx.cluster_id(region)
    if ctx.config.dr.strategy == "warm-standby":
        # The live cluster is a member of the stack's Aurora Global Database; a renamed member keeps the global
        # cluster and the restored one is outside it: the global database must be taken apart first.
        raise DrInputError(
            f"stack {ctx.stack} runs an Aurora Global Database (dr.strategy warm-standby): the live cluster cannot be "
            'swapped under it; allowed: remove both members from the global cluster (docs/runbooks/dr.md "After a '
            'restore"), set dr.strategy to backup-restore for the swap, adopt, then restore the strategy'
        )
    if restored_id == platform_id:
        raise DrInputError(f"--restored {restored_id}: that is the live cluster; allowed: a cluster `ops dr restore` "
                           f"created, e.g. {dr_names.restored_cluster_identifier(ctx.stack, '<label>')}")  # fmt: skip
    restored = ctx.describe_cluster(region, restored_id)
    live = ctx.describe_cluster(region, platform_id)
    adopted = live is not None and _tags(live).get(ADOPTED_FROM_TAG) == restored_id
    if restored is None and not adopted:
        raise DrInputError(f"--restored {restored_id}: no such cluster in {region}; allowed: a cluster `ops dr "
                           f"restore` created there (--region for another region of the stack)")  # fmt: skip
    if restored is not None and restored["Status"] != "available":
        raise DrInputError(f"--restored {restored_id}: status {restored['Status']!r}; allowed: 'available' (wait "
                           "for `ops dr restore` to finish)")  # fmt: skip
    previous = _replaced_cluster(ctx, region, platform_id, restored_id)
    if live is None and previous is None:
        raise DrInputError(f"no live cluster {platform_id} in {region} to replace; allowed: a region where `pulumi "
                           "up` built the stack's Aurora cluster")  # fmt: skip
    replaced_id = previous["DBClusterIdentifier"] if previous else f"{platform_id}-replaced-{now:%Y%m%d%H%M}"
    return Adoption(region, restored_id, platform_id, replaced_id)


def _rename_cluster(ctx: DrContext, a: Adoption, old: str, new: str, tag: tuple[str, str]) -> None:
    rds = ctx.client("rds", a.region)
    cluster = ctx.describe_cluster(a.region, old)
    if cluster is not None:
        rds.add_tags_to_resource(ResourceName=cluster["DBClusterArn"], Tags=[{"Key": tag[0], "Value": tag[1]}])
        rds.modify_db_cluster(DBClusterIdentifier=old, NewDBClusterIdentifier=new, ApplyImmediately=True)

    def renamed() -> bool:
        return (ctx.describe_cluster(a.region, new) or {}).get("Status") == "available"

    ctx.clock.wait_until(f"{old} renamed to {new}", renamed)


def _rename_instance(ctx: DrContext, a: Adoption, old: str, new: str) -> None:
    if ctx.instance_status(a.region, old) is not None:
        ctx.client("rds", a.region).modify_db_instance(DBInstanceIdentifier=old, NewDBInstanceIdentifier=new,
                                                       ApplyImmediately=True)  # fmt: skip
    ctx.clock.wait_until(f"{old} renamed to {new}", lambda: ctx.instance_status(a.region, new) == "available")


def adopt_steps(ctx: DrContext, a: Adoption) -> list[Step]:
    """Rename the live cluster and its instances away, then give the restored cluster and its writer the
    platform's identifiers; each step waits until RDS reports the renamed resources available."""

    def adopted() -> dict[str, Any] | None:
        cluster = ctx.describe_cluster(a.region, a.platform_id)
        return cluster if _tags(cluster).get(ADOPTED_FROM_TAG) == a.restored_id else None

    def replaced() -> dict[str, Any] | None:
        return ctx.describe_cluster(a.region, a.replaced_id)

    def live_renamed() -> bool:
        if adopted() is not None:  # the platform's identifier already names the restored cluster
            return True
        cluster = replaced()
        if cluster is None or cluster["Status"] != "available":
            return False
        ids = [m["DBInstanceIdentifier"] for m in _members(cluster)]
        return all(i.startswith(f"{a.replaced_id}-") and ctx.instance_status(a.region, i) == "available" for i in ids)

    def rename_live() -> None:
        if replaced() is None:
            _rename_cluster(ctx, a, a.platform_id, a.replaced_id, (REPLACED_BY_TAG, a.restored_id))
        for member in _members(replaced()):
            old = member["DBInstanceIdentifier"]
            _rename_instance(ctx, a, old, old if old.startswith(f"{a.replaced_id}-") else a.replaced_instance_id(old))

    def restored_renamed() -> bool:
        cluster = adopted()
        if cluster is None or cluster["Status"] != "available":
            return False
        writers = [m["DBInstanceIdentifier"] for m in _members(cluster) if m.get("IsClusterWriter")]
        return writers == [a.writer_id] and ctx.instance_status(a.region, a.writer_id) == "available"

    def rename_restored() -> None:
        if adopted() is None:
            _rename_cluster(ctx, a, a.restored_id, a.platform_id, (ADOPTED_FROM_TAG, a.restored_id))
        writers = [m["DBInstanceIdentifier"] for m in _members(adopted()) if m.get("IsClusterWriter")]
        if not writers:
            raise RuntimeError(f"{a.platform_id} has no writer instance; add one (ops dr restore does) and re-run")
        _rename_instance(ctx, a, writers[0], a.writer_id)

    return [
        Step(f"rename the live cluster {a.platform_id} and its instances to {a.replaced_id}[-...] ({a.region}; "
             "kept, deletion protection on)", live_renamed, rename_live),
        Step(f"rename the restored cluster {a.restored_id} to {a.platform_id} and its writer to {a.writer_id}",
             restored_renamed, rename_restored),
    ]  # fmt: skip
