"""Disaster recovery: what each strategy builds in the DR region, the Aurora Global Database, replication and
copies, the standby composed from the same components with the DR provider, which side is active, and the config
errors a user can make."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import StackConfigError
from ops.engine import Plan, RecordedResource
from tests.conftest import stack_config

DR_REGION = "us-west-2"
DATA_BUCKETS = ("models", "data", "exports")
# Stateful resources of the DR side: each must be protected (Pulumi) and encrypted with a customer key.
STATEFUL = ("aws:s3/bucket:Bucket", "aws:rds/cluster:Cluster", "aws:backup/vault:Vault", "aws:kms/key:Key")
SWAPPED = {"ai-platform:dr": {"active_region": DR_REGION}}


def region_of(plan: Plan, resource: RecordedResource) -> str:
    """The region a resource is created in: its provider's."""
    provider = plan.provider_of(resource)
    assert provider is not None, resource.name
    return str(provider.inputs["region"])


def in_region(plan: Plan, type_: str, region: str) -> list[RecordedResource]:
    return [r for r in plan.by_type(type_) if region_of(plan, r) == region]


def component_names(plan: Plan) -> set[str]:
    return {r.name for r in plan.components()}


def instances_of(plan: Plan, cluster_name: str) -> list[RecordedResource]:
    cluster = plan.by_name(f"{cluster_name}-cluster")
    return [r for r in plan.by_type("aws:rds/clusterInstance:ClusterInstance") if cluster.urn in r.dependencies]


def system_nodes(plan: Plan, cluster_component: str) -> dict[str, Any]:
    [group] = [r for r in plan.by_type("aws:eks/nodeGroup:NodeGroup") if r.name == f"{cluster_component}-system"]
    return group.inputs["scalingConfig"]


def replicas(plan: Plan, ai_api_component: str) -> int:
    component = plan.by_name(ai_api_component)
    [workload] = [
        r
        for r in plan.descendants(component.urn)
        if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
    ]
    spec = workload.inputs["spec"]
    return int(spec["replicas"])


# --- what each strategy builds ------------------------------------------------------------------------------------


def test_dev_has_no_dr_region(plan_of) -> None:
    plan = plan_of("dev")
    assert not [r for r in plan.by_type("pulumi:providers:aws") if r.inputs.get("region") == DR_REGION]
    assert not plan.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert not plan.by_type("aws:rds/globalCluster:GlobalCluster")
    assert plan.outputs["dr_strategy"] == "none"
    assert plan.outputs["dr_region"] is None


def test_staging_copies_and_replicates_but_runs_nothing_in_the_dr_region(plan_of) -> None:
    plan = plan_of("staging")
    assert in_region(plan, "aws:s3/bucket:Bucket", DR_REGION), "replica buckets in the DR region"
    assert len(plan.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")) == len(DATA_BUCKETS)
    [_vault] = in_region(plan, "aws:backup/vault:Vault", DR_REGION)
    [backup_plan] = plan.by_type("aws:backup/plan:Plan")
    rules = backup_plan.inputs["rules"]
    copies = [action for rule in rules for action in rule.get("copyActions", [])]
    # Every rule copies, hourly included: the hourly points bound backup-restore's data loss to an hour.
    assert {rule["ruleName"] for rule in rules if rule.get("copyActions")} == {"hourly", "daily", "weekly", "monthly"}
    assert len(copies) == 4
    assert all(c["lifecycle"] == {"deleteAfter": 14} for c in copies)
    assert all(f":{DR_REGION}:" in c["destinationVaultArn"] for c in copies)
    # Nothing running: no cluster, no database, no workload in the DR region; only the keys of the copies.
    assert not in_region(plan, "aws:eks/nodeGroup:NodeGroup", DR_REGION)
    assert not in_region(plan, "aws:rds/cluster:Cluster", DR_REGION)
    assert not plan.by_type("aws:rds/globalCluster:GlobalCluster")
    assert {k.name for k in in_region(plan, "aws:kms/key:Key", DR_REGION)} == {
        "staging-dr-identity-storage-key",
        "staging-dr-identity-backup-key",
    }
    # The image repository exists in the DR region (a restore deploys from it), fed by registry replication.
    [repository] = in_region(plan, "aws:ecr/repository:Repository", DR_REGION)
    assert repository.inputs["name"] == "ai-platform/staging/ai-api"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert plan.by_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")


def test_prod_runs_a_warm_standby_built_from_the_same_components(plan_of) -> None:
    plan = plan_of("prod")
    names = component_names(plan)
    for component in ("identity", "network", "cluster", "addons", "observability", "database", "ai-api", "alarms"):
        assert {f"prod-{component}", f"prod-dr-{component}"} <= names, component
    # The same component types on both sides (reuse, not a copy of the code).
    primary = {r.type for r in plan.components() if r.name.startswith("prod-") and not r.name.startswith("prod-dr")}
    standby = {r.type for r in plan.components() if r.name.startswith("prod-dr-")}
    assert standby - primary == set()
    # (pulumi-eks is a remote component: its node groups show the provider it was given)
    [group] = in_region(plan, "aws:eks/nodeGroup:NodeGroup", DR_REGION)
    assert group.name == "prod-dr-cluster-system"
    assert plan.by_name("prod-dr-cluster-eks").inputs["name"] == "ai-platform-prod-dr"
    assert system_nodes(plan, "prod-dr-cluster")["desiredSize"] == 2
    assert system_nodes(plan, "prod-cluster")["desiredSize"] == 3
    assert replicas(plan, "prod-dr-ai-api") == 1
    assert replicas(plan, "prod-ai-api") == 3
    # The standby's VPC does not overlap the primary's.
    cidrs = {region_of(plan, v): v.inputs["cidrBlock"] for v in plan.by_type("aws:ec2/vpc:Vpc")}
    assert cidrs == {"us-east-1": "10.30.0.0/16", DR_REGION: "10.31.0.0/16"}


def test_prod_has_an_aurora_global_database_with_a_secondary_in_the_dr_region(plan_of) -> None:
    plan = plan_of("prod")
    primary, secondary = plan.by_name("prod-database-cluster"), plan.by_name("prod-dr-database-cluster")
    [global_cluster] = plan.by_type("aws:rds/globalCluster:GlobalCluster")
    assert global_cluster.inputs["globalClusterIdentifier"] == "ai-platform-prod"
    assert (
        global_cluster.inputs["sourceDbClusterIdentifier"] == "arn:aws:rds:us-east-1:123456789012:cluster:prod-database"
    )
    assert secondary.inputs["globalClusterIdentifier"] == "ai-platform-prod"
    assert region_of(plan, secondary) == DR_REGION
    assert secondary.inputs["engineVersion"] == primary.inputs["engineVersion"]
    assert f":{DR_REGION}:" in secondary.inputs["kmsKeyId"]
    # A secondary has no master user or database of its own: both replicate.
    assert not {"masterUsername", "databaseName", "manageMasterUserPassword"} & set(secondary.inputs)
    # Its own subnet group, security group and parameter group, in the standby network.
    assert secondary.inputs["dbSubnetGroupName"] != primary.inputs["dbSubnetGroupName"]
    assert region_of(plan, plan.by_name("prod-dr-database-sg")) == DR_REGION
    assert len(instances_of(plan, "prod-dr-database")) == 1  # dr.standby.database_reader_count
    assert len(instances_of(plan, "prod-database")) == 3  # a writer and database.reader_count readers
    # The standby ai-api reads the secondary's reader endpoint; the primary's writes to its writer.
    standby_settings = _settings(plan, "prod-dr-ai-api")
    assert standby_settings["PGHOST"] == "prod-dr-database.cluster-ro-c0ffee123456.us-west-2.rds.amazonaws.com"
    assert _settings(plan, "prod-ai-api")["PGHOST"] == "prod-database.cluster-c0ffee123456.us-east-1.rds.amazonaws.com"


def _settings(plan: Plan, ai_api: str) -> dict[str, str]:
    component = plan.by_name(ai_api)
    [config_map] = [
        r
        for r in plan.descendants(component.urn)
        if r.type == "kubernetes:core/v1:ConfigMap" and r.inputs["metadata"]["name"] == "ai-api-settings"
    ]
    return config_map.inputs["data"]


def test_a_headless_secondary_has_no_instances(plan_of) -> None:
    plan = plan_of("prod", {"ai-platform:dr": {"standby": {"database_reader_count": 0}}})
    assert instances_of(plan, "prod-dr-database") == []
    assert plan.by_name("prod-dr-database-cluster").inputs["globalClusterIdentifier"] == "ai-platform-prod"


def test_the_master_secret_of_a_global_database_is_generated_replicated_and_write_only(plan_of) -> None:
    plan = plan_of("prod")
    primary = plan.by_name("prod-database-cluster")
    assert "manageMasterUserPassword" not in primary.inputs
    assert primary.inputs["masterPasswordWo"] == "[secret]"
    assert primary.inputs["masterPasswordWoVersion"] == 1
    secret = plan.by_name("prod-database-master-secret")
    [replica] = secret.inputs["replicas"]
    assert replica["region"] == DR_REGION
    assert f":{DR_REGION}:" in replica["kmsKeyId"]
    assert secret.protect
    # staging (no global database) keeps the RDS-managed secret.
    assert plan_of("staging").by_name("staging-database-cluster").inputs["manageMasterUserPassword"] is True


def test_data_buckets_replicate_with_time_control_into_equally_protected_replicas(plan_of) -> None:
    plan = plan_of("prod")
    configs = {c.name: c for c in plan.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")}
    assert set(configs) == {f"prod-dr-{key}-replication" for key in DATA_BUCKETS}
    for key in DATA_BUCKETS:
        config = configs[f"prod-dr-{key}-replication"]
        assert region_of(plan, config) == "us-east-1"  # on the source bucket
        [rule] = config.inputs["rules"]
        destination = rule["destination"]
        assert destination["bucket"] == f"arn:aws:s3:::ai-platform-prod-{key}-123456789012-{DR_REGION}"
        assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert destination["metrics"]["status"] == "Enabled"
        assert f":{DR_REGION}:" in destination["encryptionConfiguration"]["replicaKmsKeyId"]
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    replica_exports = plan.by_name("prod-dr-storage-exports")
    assert replica_exports.inputs["objectLockEnabled"] is True  # the source has Object Lock: so does its replica


def test_replication_can_run_without_time_control(plan_of) -> None:
    plan = plan_of("prod", {"ai-platform:dr": {"replication_time_control": False}})
    for config in plan.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        [rule] = config.inputs["rules"]
        assert "replicationTime" not in rule["destination"]
        assert rule["destination"]["metrics"]["status"] == "Enabled"  # the alarms still have their metrics


def test_the_replication_role_is_least_privilege(plan_of) -> None:
    plan = plan_of("prod")
    role = plan.by_name("prod-dr-replication-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    statements = {
        s["Sid"]: s for s in json.loads(plan.by_name("prod-dr-replication-policy").inputs["policy"])["Statement"]
    }
    decrypt, encrypt = statements["DecryptSourceThroughS3"], statements["EncryptReplicasThroughS3"]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert ":us-east-1:" in decrypt["Resource"]
    assert f":{DR_REGION}:" in encrypt["Resource"]
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{DR_REGION}.amazonaws.com"}
    assert all("*" not in str(s["Resource"]).replace("/*", "") for s in statements.values())
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_backups_copy_into_a_locked_dr_vault_and_the_role_may_use_its_key(plan_of) -> None:
    plan = plan_of("prod")
    [vault] = in_region(plan, "aws:backup/vault:Vault", DR_REGION)
    assert f":{DR_REGION}:" in vault.inputs["kmsKeyArn"]
    assert vault.protect
    [lock] = [
        r
        for r in plan.by_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
        if r.name == "prod-dr-vault-lock"
    ]
    assert lock.inputs["changeableForDays"] == 7  # compliance mode, like the primary vault
    rules = {r["ruleName"]: r for r in plan.by_name("prod-backup-plan").inputs["rules"]}
    # Hourly points are copied too (backup-restore's RPO of an hour; the same schedule serves warm-standby).
    assert {name for name, rule in rules.items() if "copyActions" in rule} == {"hourly", "daily", "weekly", "monthly"}
    assert all(
        action["destinationVaultArn"].endswith(f":backup-vault:{vault.inputs['name']}")
        for rule in rules.values()
        for action in rule["copyActions"]
    )
    statements = json.loads(plan.by_name("prod-backup-role-kms").inputs["policy"])["Statement"]
    assert any(f":{DR_REGION}:" in key for key in statements[0]["Resource"])


def test_every_stateful_dr_resource_is_protected_and_encrypted(plan_of) -> None:
    plan = plan_of("prod")
    for type_ in STATEFUL:
        for resource in in_region(plan, type_, DR_REGION):
            assert resource.protect, f"{resource.name} is not protected"
    for cluster in in_region(plan, "aws:rds/cluster:Cluster", DR_REGION):
        assert cluster.inputs["storageEncrypted"] is True
        assert cluster.inputs["deletionProtection"] is True
    for bucket in in_region(plan, "aws:s3/bucket:Bucket", DR_REGION):
        [encryption] = [
            r
            for r in plan.by_type(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
            )
            if bucket.urn in r.dependencies
        ]
        algorithm = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        assert algorithm == ("AES256" if bucket.name.endswith("-logs") else "aws:kms"), bucket.name


def test_replication_and_global_lag_alarms_live_where_their_metrics_are(plan_of) -> None:
    plan = plan_of("prod")
    alarms = {a.inputs["name"]: region_of(plan, a) for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["ai-platform-prod-s3-replication-failed"] == "us-east-1"
    assert alarms["ai-platform-prod-s3-replication-latency"] == "us-east-1"
    assert alarms["ai-platform-prod-dr-db-global-replication-lag"] == DR_REGION
    assert alarms["ai-platform-prod-dr-db-global-rpo-lag"] == DR_REGION
    dashboards = [d.inputs["dashboardName"] for d in plan.by_type("aws:cloudwatch/dashboard:Dashboard")]
    assert sorted(dashboards) == ["ai-platform-prod", "ai-platform-prod-dr"]  # dashboard names are global


def test_dr_outputs_name_what_the_dr_commands_need(plan_of) -> None:
    outputs = plan_of("prod").outputs
    assert outputs["dr_region"] == DR_REGION
    assert outputs["active_region"] == "us-east-1"
    assert outputs["database_global_cluster_identifier"] == "ai-platform-prod"
    assert outputs["dr_database_cluster_identifier"] == "prod-dr-database"
    assert outputs["dr_cluster_name"] == "ai-platform-prod-dr"
    assert outputs["dr_backup_vault_name"] == "prod-dr-vault"


# --- the active region ---------------------------------------------------------------------------------------------


def test_failing_over_swaps_roles_and_renames_nothing(plan_of) -> None:
    before, after = plan_of("prod"), plan_of("prod", SWAPPED)
    # Every component but the migrations (they follow the writer) and every piece of state keeps its URN.
    kept = {r.urn for r in after.resources}
    assert {r.name for r in before.components() if r.urn not in kept} == {"prod-db-migrations"}
    stateful = (*STATEFUL, "aws:secretsmanager/secret:Secret", "aws:rds/globalCluster:GlobalCluster")
    assert all(r.urn in kept for r in before.resources if r.type in stateful)
    # The DR side is now full size, the primary region's the standby.
    assert system_nodes(after, "prod-dr-cluster")["desiredSize"] == 3
    assert system_nodes(after, "prod-cluster")["desiredSize"] == 2
    assert replicas(after, "prod-dr-ai-api") == 3
    assert replicas(after, "prod-ai-api") == 1
    assert len(instances_of(after, "prod-dr-database")) == 3
    assert len(instances_of(after, "prod-database")) == 1
    # The writer's side runs the migrations, with the replica of the master secret in its own region.
    assert "prod-dr-db-migrations" in component_names(after)
    assert "prod-db-migrations" not in component_names(after)
    assert _settings(after, "prod-dr-ai-api")["PGHOST"].startswith("prod-dr-database.cluster-c0ffee")
    assert _settings(after, "prod-ai-api")["PGHOST"].startswith("prod-database.cluster-ro-")
    # The global cluster keeps its source (a new source would replace it) and the lag alarms move to the secondary.
    [global_cluster] = after.by_type("aws:rds/globalCluster:GlobalCluster")
    assert global_cluster.inputs["sourceDbClusterIdentifier"].endswith(":cluster:prod-database")
    alarms = {a.inputs["name"] for a in after.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert "ai-platform-prod-db-global-rpo-lag" in alarms
    assert "ai-platform-prod-dr-db-global-rpo-lag" not in alarms
    assert after.outputs["active_region"] == DR_REGION


def test_the_migrations_on_the_dr_side_read_the_secret_replica(plan_of) -> None:
    plan = plan_of("prod", SWAPPED)
    policy = json.loads(plan.by_name("prod-dr-db-migrations-secrets-policy").inputs["policy"])
    resources = [s["Resource"] for s in policy["Statement"] if s.get("Sid") == "ReadOneSecret"]
    assert resources == [
        f"arn:aws:secretsmanager:{DR_REGION}:123456789012:secret:ai-platform-database/prod-database/master-AbCdEf"
    ]


# --- config errors -----------------------------------------------------------------------------------------------


def problems(overrides: dict[str, Any], stack: str = "prod") -> list[str]:
    with pytest.raises(StackConfigError) as error:
        stack_config(stack, overrides)
    return error.value.problems


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ai-platform:dr": {"region": "us-east-1"}}, "ai-platform:dr.region: us-east-1 is the primary region"),
        ({"ai-platform:dr": {"region": "us-gov-west-1"}}, "in another partition than us-east-1"),
        ({"ai-platform:dr": {"active_region": "eu-west-1"}}, "allowed: us-east-1 or us-west-2"),
        ({"ai-platform:dr": {"standby": {"network_cidr": "10.30.128.0/17"}}}, "overlaps network.cidr 10.30.0.0/16"),
        # Without a zone the standby can neither get a certificate issued nor a failover record: one message, the
        # cause (not a request for a standby certificate that would not make the config valid).
        (
            {
                "ai-platform:dns": None,
                "ai-platform:api": {
                    "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                    "4e3d2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f"
                },
            },
            "warm-standby fails the ai-api over to the DR region through Route 53 failover records, but there is no "
            "ai-platform:dns zone",
        ),
        (
            {
                "ai-platform:dr": {
                    "standby": {
                        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                        "4e3d2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f"
                    }
                }
            },
            "certificate is in us-east-1 but the standby ALB is in us-west-2",
        ),
    ],
)
def test_bad_dr_config_is_one_clear_message(overrides: dict[str, Any], expected: str) -> None:
    [message] = problems(overrides)
    assert message.startswith("Pulumi.prod.yaml: ai-platform:dr.")
    assert expected in message


def test_an_active_region_without_dr_is_refused() -> None:
    [message] = problems({"ai-platform:dr": {"active_region": "us-east-1"}}, stack="dev")
    assert "set while strategy is 'none'" in message
