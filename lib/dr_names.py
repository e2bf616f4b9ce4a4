"""Names of the disaster-recovery resources, shared by the program (components) and `python -m ops dr`.

The commands find the live resources by these names, so the program must declare them with the same functions:
one definition per name, no copy in a component and another in the command line.
"""

from __future__ import annotations


def primary_cluster_identifier(stack: str) -> str:
    """The Aurora cluster of `aws:region`: the `Database` component named `<stack>-database` uses its own name
    as the identifier (components/platform.py; tests/test_ops_dr.py checks the plan agrees)."""
    return f"{stack}-database"


def writer_instance_identifier(cluster_identifier: str) -> str:
    """The first instance of a cluster, the writer (the `Database` component's `<identifier>-instance-1`)."""
    return f"{cluster_identifier}-instance-1"


def secondary_cluster_identifier(stack: str) -> str:
    """The Aurora Global secondary cluster in the DR region (`dr.region`)."""
    return f"{stack}-database-dr"


def global_cluster_identifier(stack: str) -> str:
    """The Aurora Global Database the primary and the secondary clusters are members of."""
    return f"{stack}-database-global"


def cluster_identifier_in(stack: str, region: str, primary_region: str) -> str:
    """The identifier of the stack's cluster in `region`: the primary's in `aws:region`, the secondary's elsewhere.
    Membership is fixed by region; which one holds the writer is `dr.active_region`."""
    return primary_cluster_identifier(stack) if region == primary_region else secondary_cluster_identifier(stack)


def backup_vault_name(stack: str) -> str:
    """The AWS Backup vault in `aws:region` (the `Backup` component `<stack>-backup` names it `<name>-vault`)."""
    return f"{stack}-backup-vault"


def dr_backup_vault_name(stack: str) -> str:
    """The AWS Backup vault in the DR region receiving copies of the daily, weekly and monthly recovery points."""
    return f"{stack}-backup-dr-vault"


def restored_cluster_identifier(stack: str, label: str) -> str:
    """A cluster `ops dr restore` creates beside the primary (`label`: the restore time, e.g. `20261201t0930`)."""
    return f"{stack}-database-restore-{label}"


def drill_cluster_identifier(stack: str, label: str) -> str:
    """The scratch cluster of a restore drill (deleted by the drill, even when it fails)."""
    return f"{stack}-database-drill-{label}"


# The CloudWatch namespace and metrics the drill publishes; the overdue/failed-drill alarm watches them.
DRILL_METRIC_NAMESPACE = "ai-platform/dr"
DRILL_SUCCEEDED_METRIC = "DrillSucceeded"
DRILL_AGE_METRIC = "DrillAgeHours"
DRILL_RTO_METRIC = "DrillTimeToUsableSeconds"
