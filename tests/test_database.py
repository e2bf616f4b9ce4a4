"""Database: Aurora PostgreSQL (pgvector) per environment — encryption with the right keys, no password anywhere,
protection outside dev, readers spread over AZs, ingress only from the cluster, TLS/pg_stat_statements parameters,
the managed secret's rotation, logs — and the in-cluster migrations (Job, ConfigMap, SecretStore, ExternalSecret)
validated against the Kubernetes schemas and the external-secrets CRDs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.database import instance_zones
from components.migrations import MIGRATIONS_IMAGE, content_hash, migration_files, psql_arguments
from config import StackConfigError, parse_backup_window, parse_maintenance_window
from ops.engine import Plan, RecordedResource
from tests.conftest import stack_config
from tests.manifests import manifest, validate_core, validate_custom_resource


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/{stack}-identity-{purpose}-key-key-id"


def the(plan: Plan, type_: str) -> RecordedResource:
    [resource] = plan.by_type(type_)
    return resource


def cluster(plan: Plan) -> RecordedResource:
    return the(plan, "aws:rds/cluster:Cluster")


def instances(plan: Plan) -> list[RecordedResource]:
    return plan.by_type("aws:rds/clusterInstance:ClusterInstance")


# --- encryption ---------------------------------------------------------------------------------------------------


def test_storage_secret_and_insights_are_encrypted_with_the_database_key(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    key = KEY_ARN.format(stack=any_stack, purpose="database")
    inputs = cluster(plan).inputs
    assert inputs["storageEncrypted"] is True
    assert inputs["kmsKeyId"] == key
    if inputs.get("manageMasterUserPassword"):
        assert inputs["masterUserSecretKmsKeyId"] == key
    else:  # prod's global database: the master secret is the component's own, with the same key
        assert plan.by_name(f"{any_stack}-database-master-secret").inputs["kmsKeyId"] == key
    for instance in instances(plan):
        assert instance.inputs["performanceInsightsEnabled"] is True
        assert instance.inputs["performanceInsightsKmsKeyId"] == key


def test_exported_logs_go_to_log_groups_encrypted_with_the_logs_key(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    config = stack_config(any_stack).database
    identifier = cluster(plan).inputs["clusterIdentifier"]
    assert cluster(plan).inputs["enabledCloudwatchLogsExports"] == ["postgresql", "iam-db-auth-error"]
    groups = {g.inputs["name"]: g for g in plan.by_type("aws:cloudwatch/logGroup:LogGroup")}
    for export in config.log_exports:
        group = groups[f"/aws/rds/cluster/{identifier}/{export}"]  # the name RDS writes to
        assert group.inputs["kmsKeyId"] == KEY_ARN.format(stack=any_stack, purpose="logs")
        assert group.inputs["retentionInDays"] == config.log_retention_days
        assert group.urn in cluster(plan).dependencies, "the group exists before RDS would create its own"


# --- secrets ------------------------------------------------------------------------------------------------------


def _password_keys(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        found = [f"{path}.{k}" for k in value if "password" in k.lower() and k != "manageMasterUserPassword"]
        return found + [hit for k, v in value.items() for hit in _password_keys(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _password_keys(v, f"{path}[{i}]")]
    return []


def test_no_password_property_anywhere_in_the_plan_or_outputs(plan_of, any_stack) -> None:
    """RDS manages the password; a global database's source (prod's warm standby), for which RDS cannot, takes its
    generated password write-only and masked (tests/test_dr.py)."""
    plan = plan_of(any_stack)
    global_source = bool(plan.by_type("aws:rds/globalCluster:GlobalCluster"))
    allowed = {f"{cluster(plan).name}.masterPasswordWo", f"{cluster(plan).name}.masterPasswordWoVersion"}
    found = {f"{r.name}{hit}" for r in plan.resources for hit in _password_keys(r.inputs)}
    assert found == (allowed if global_source else set())
    assert _password_keys(plan.outputs) == []
    inputs = cluster(plan).inputs
    assert "masterPassword" not in inputs
    if global_source:
        assert inputs["masterPasswordWo"] == "[secret]"
        assert "manageMasterUserPassword" not in inputs
    else:
        assert inputs["manageMasterUserPassword"] is True
        assert "masterPasswordWo" not in inputs


@pytest.mark.parametrize("stack", ["dev", "staging"])  # prod's global database: RDS manages no secret (test_dr.py)
def test_the_managed_secret_rotates_on_the_configured_schedule(plan_of, stack) -> None:
    any_stack = stack
    plan = plan_of(any_stack)
    rotation = the(plan, "aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.inputs["secretId"] == plan.outputs["database_master_secret_arn"]
    assert ":secret:rds!cluster-" in rotation.inputs["secretId"]
    assert rotation.inputs["rotationRules"] == {
        "automaticallyAfterDays": stack_config(any_stack).database.secret_rotation_days
    }
    assert rotation.inputs["rotateImmediately"] is False
    assert "rotationLambdaArn" not in rotation.inputs  # RDS-managed rotation: no Lambda to maintain


# --- protection -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_cluster_is_protected_with_a_named_final_snapshot_outside_dev(plan_of, stack) -> None:
    plan = plan_of(stack)
    db = cluster(plan)
    assert db.protect is True
    assert db.inputs["deletionProtection"] is True
    assert db.inputs["skipFinalSnapshot"] is False
    assert db.inputs["finalSnapshotIdentifier"] == f"{db.inputs['clusterIdentifier']}-final"
    assert db.inputs["deleteAutomatedBackups"] is False
    assert all(i.protect for i in instances(plan))


def test_dev_can_be_torn_down(plan_of) -> None:
    db = cluster(plan_of("dev"))
    assert db.protect is False
    assert db.inputs["deletionProtection"] is False
    assert db.inputs["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in db.inputs


def test_backups_windows_and_upgrades(plan_of, any_stack) -> None:
    config = stack_config(any_stack).database
    inputs = cluster(plan_of(any_stack)).inputs
    assert inputs["backupRetentionPeriod"] == config.backup_retention_days
    assert inputs["copyTagsToSnapshot"] is True
    assert not parse_backup_window(inputs["preferredBackupWindow"]) & parse_maintenance_window(
        inputs["preferredMaintenanceWindow"]
    )
    assert inputs["allowMajorVersionUpgrade"] is False
    assert all(i.inputs["autoMinorVersionUpgrade"] is True for i in instances(plan_of(any_stack)))
    assert "engineVersion" in cluster(plan_of(any_stack)).ignoreChanges  # AWS applies minor upgrades
    if any_stack == "prod":
        assert inputs["backupRetentionPeriod"] == 35


# --- topology -------------------------------------------------------------------------------------------------------


def test_prod_has_a_writer_and_two_readers_in_three_different_azs(plan_of) -> None:
    plan = plan_of("prod")
    members = sorted(instances(plan), key=lambda r: r.name)
    assert len(members) == 3
    assert len({m.inputs["availabilityZone"] for m in members}) == 3
    writer, *readers = members
    assert writer.inputs["promotionTier"] == 0
    assert all(writer.urn in r.dependencies for r in readers), "readers follow the writer"
    assert all(r.inputs["promotionTier"] == 1 for r in readers)
    assert all(m.inputs["publiclyAccessible"] is False for m in members)


def test_dev_runs_one_serverless_instance_that_can_pause(plan_of) -> None:
    plan = plan_of("dev")
    [only] = instances(plan)
    assert only.inputs["instanceClass"] == "db.serverless"
    assert cluster(plan).inputs["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 900,
    }  # fmt: skip


def test_readers_wrap_around_the_zones_when_there_are_more_instances_than_azs() -> None:
    assert instance_zones(("a", "b"), 4) == {"instance-1": "a", "instance-2": "b", "instance-3": "a", "instance-4": "b"}


def test_the_database_lives_in_the_database_subnets(plan_of) -> None:
    plan = plan_of("prod")
    subnet_group = the(plan, "aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group.inputs["subnetIds"] == plan.outputs["database_subnet_ids"]
    assert cluster(plan).inputs["dbSubnetGroupName"] == subnet_group.inputs.get("name", subnet_group.name)


# --- network --------------------------------------------------------------------------------------------------------


def test_only_the_clusters_security_groups_reach_5432(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    [sg_id] = cluster(plan).inputs["vpcSecurityGroupIds"]
    [sg] = [s for s in plan.by_type("aws:ec2/securityGroup:SecurityGroup") if f"sg-{s.name}" == sg_id]
    assert "ingress" not in sg.inputs or sg.inputs["ingress"] == []
    assert "egress" not in sg.inputs or sg.inputs["egress"] == []
    rules = [r for r in plan.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == sg_id]  # fmt: skip
    # The EKS nodes' security group (as the offline engine names it), and nothing else: not the control plane's.
    cluster_name = plan.outputs["cluster_name"]
    assert [r.inputs["referencedSecurityGroupId"] for r in rules] == [f"sg-{cluster_name}-node"]
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)
    assert plan.outputs["database_security_group_id"] == sg_id


def test_server_enforces_tls_loads_pg_stat_statements_and_logs_usefully(plan_of) -> None:
    plan = plan_of("prod")
    group = the(plan, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    assert group.inputs["family"] == "aurora-postgresql17"
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["ssl_min_protocol_version"] == "TLSv1.2"
    assert "pg_stat_statements" in parameters["shared_preload_libraries"].split(",")
    assert parameters["log_min_duration_statement"] == "1000"
    assert parameters["log_connections"] == parameters["log_lock_waits"] == "1"
    inputs = cluster(plan).inputs
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["port"] == 5432


def test_enhanced_monitoring_uses_a_role_only_rds_monitoring_can_assume(plan_of) -> None:
    plan = plan_of("prod")
    role = plan.by_name("prod-database-monitoring-role")
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    for instance in instances(plan):
        assert instance.inputs["monitoringInterval"] == 60
        assert instance.inputs["monitoringRoleArn"].endswith("role/prod-database-monitoring-role")


def test_engine_ships_pgvector_08() -> None:
    version = stack_config("prod").database.engine_version
    major, minor = map(int, version.split("."))
    assert (major, minor) >= (17, 4) or (major == 16 and minor >= 8)


# --- config errors --------------------------------------------------------------------------------------------------


def database_problems(section: dict) -> list[str]:
    with pytest.raises(StackConfigError) as error:
        stack_config("staging", {"ai-platform:database": section})
    return error.value.problems


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"engine_version": "16.4"}, "engine_version: Aurora PostgreSQL 16.4 ships pgvector older than 0.8"),
        ({"backup_window": "3am"}, "ai-platform:database.backup_window: '3am' is not a daily window; allowed: hh:mm"),
        ({"backup_window": "03:00-03:10"}, "ai-platform:database.backup_window: 03:00-03:10 lasts 10 minutes"),
        ({"maintenance_window": "sun:03:30-sun:04:30"}, "maintenance_window: sun:03:30-sun:04:30 overlaps"),
        ({"maintenance_window": "sunday:05:00-sun:06:00"}, "does not start with a weekday; allowed: mon, tue"),
        ({"serverless_min_capacity": 8, "serverless_max_capacity": 4}, "serverless_min_capacity: 8.0 ACUs is above"),
        ({"serverless_min_capacity": 0}, "auto_pause_after_seconds: required when serverless_min_capacity is 0"),
        ({"auto_pause_after_seconds": 600}, "auto_pause_after_seconds: only a cluster that scales to 0 pauses"),
        ({"serverless_max_capacity": 7.3}, "7.3 is not a Serverless v2 capacity; allowed: 0 to 256 ACUs in steps"),
        ({"backup_retention_days": 36}, "backup_retention_days: 36 is out of range; allowed: <= 35"),
        ({"performance_insights_retention_days": 30}, "30 is not a Performance Insights retention; allowed: 7"),
        ({"monitoring_interval_seconds": 2}, "2 is not an enhanced-monitoring interval; allowed: 0, 1, 5"),
        ({"master_username": "postgres"}, "master_username: 'postgres' is not a master user name RDS accepts"),
        ({"master_username": "platform_admin"}, "allowed: a lowercase letter then letters or digits (1-16 in all"),
        ({"master_username": "a" * 17}, "is not a master user name RDS accepts"),
        ({"master_password": "hunter2"}, "ai-platform:database.master_password: unknown key; allowed:"),
    ],
)
def test_bad_database_config_is_one_clear_line(section, expected) -> None:
    [problem] = database_problems(section)
    assert problem.startswith("Pulumi.staging.yaml: ai-platform:database.")
    assert expected in problem
    assert "; allowed: " in problem


def test_windows_wrapping_midnight_and_the_week_are_understood() -> None:
    assert len(parse_backup_window("23:30-00:30")) == 7 * 60
    sunday_night = parse_maintenance_window("sun:23:00-mon:01:00")
    assert len(sunday_night) == 120
    assert parse_backup_window("00:00-00:30") & sunday_night  # Monday 00:00 is in both


# --- migrations in the cluster ----------------------------------------------------------------------------------


def k8s_object(plan: Plan, kind: str, name_prefix: str = "") -> dict:
    matches = [manifest(r) for r in plan.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind
               and r.inputs["metadata"]["namespace" if kind != "Namespace" else "name"] == "platform-db"
               and r.inputs["metadata"]["name"].startswith(name_prefix)]  # fmt: skip
    assert len(matches) == 1, f"{len(matches)} {kind} objects in platform-db"
    return matches[0]


@pytest.mark.parametrize("kind", ["Namespace", "ConfigMap", "Job", "NetworkPolicy", "ServiceAccount"])
def test_migration_objects_are_valid_kubernetes(plan_of, kind) -> None:
    validate_core(k8s_object(plan_of("prod"), kind), stack_config("prod").cluster.version)


@pytest.mark.parametrize("kind", ["ExternalSecret", "SecretStore"])
def test_secret_objects_match_the_external_secrets_crds(plan_of, kind) -> None:
    validate_custom_resource(k8s_object(plan_of("prod"), kind))


def test_external_secret_syncs_exactly_the_managed_master_secret(plan_of) -> None:
    plan = plan_of("prod")
    spec = k8s_object(plan, "ExternalSecret")["spec"]
    assert spec["secretStoreRef"] == {"kind": "SecretStore", "name": "db-secrets-reader"}
    assert {d["secretKey"]: d["remoteRef"] for d in spec["data"]} == {
        key: {"key": plan.outputs["database_master_secret_arn"], "property": key} for key in ("username", "password")
    }
    role_policy = json.loads(plan.by_name("prod-db-migrations-secrets-policy").inputs["policy"])
    read, decrypt = role_policy["Statement"]
    assert read["Resource"] == plan.outputs["database_master_secret_arn"]
    assert decrypt["Resource"] == KEY_ARN.format(stack="prod", purpose="database")
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}


def test_job_applies_the_shipped_sql_with_tls_and_credentials_from_the_synced_secret(plan_of) -> None:
    plan = plan_of("prod")
    job = k8s_object(plan, "Job")
    config_map = k8s_object(plan, "ConfigMap")
    files = migration_files()
    assert config_map["data"] == files
    assert config_map["immutable"] is True
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["psql", *psql_arguments([f"/migrations/{name}" for name in files])]
    assert pod["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]
    env = {e["name"]: e for e in container["env"]}
    assert env["PGSSLMODE"]["value"] == "require"
    assert env["PGHOST"]["value"] == plan.outputs["database_endpoint"]
    assert env["PGDATABASE"]["value"] == "aiplatform"
    for variable, key in (("PGUSER", "username"), ("PGPASSWORD", "password")):
        assert env[variable] == {"name": variable, "valueFrom": {"secretKeyRef": {"name": "db-master-credentials",
                                                                                  "key": key}}}  # fmt: skip
    assert container["image"] == MIGRATIONS_IMAGE
    assert not container["image"].endswith(":latest")


def test_job_runs_restricted_bounded_and_cleans_up(plan_of) -> None:
    job = k8s_object(plan_of("prod"), "Job")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert (spec["backoffLimit"], spec["ttlSecondsAfterFinished"]) == (3, 3 * 24 * 3600)
    assert spec["activeDeadlineSeconds"] == 900
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # Never an ID a node's system users or an image's default user (postgres is 70) could have.
    assert min(pod["securityContext"][key] for key in ("runAsUser", "runAsGroup", "fsGroup")) >= 10000
    [container] = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
        "runAsUser": pod["securityContext"]["runAsUser"], "runAsGroup": pod["securityContext"]["runAsGroup"],
        "capabilities": {"drop": ["ALL"]},
    }  # fmt: skip
    assert set(container["resources"]) == {"requests", "limits"}
    namespace = k8s_object(plan_of("prod"), "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_job_may_only_reach_dns_and_postgres_in_the_database_subnets(plan_of) -> None:
    plan = plan_of("prod")
    policy = k8s_object(plan, "NetworkPolicy")["spec"]
    assert policy["podSelector"] == {}
    assert policy["ingress"] == []
    dns, postgres = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    database_cidrs = [s.inputs["cidrBlock"] for s in plan.by_type("aws:ec2/subnet:Subnet")
                      if s.inputs["tags"]["tier"] == "database"]  # fmt: skip
    assert sorted(t["ipBlock"]["cidr"] for t in postgres["to"]) == sorted(database_cidrs)
    assert postgres["ports"] == [{"protocol": "TCP", "port": 5432}]


def test_changing_the_sql_renames_the_job_so_it_runs_again(tmp_path: Path, plan_of) -> None:
    files = migration_files()
    current = content_hash(files, MIGRATIONS_IMAGE)
    assert k8s_object(plan_of("prod"), "Job")["metadata"]["name"] == f"db-migrate-{current}"
    changed = {**files, "0004_more.sql": "SELECT 1;\n"}
    assert content_hash(changed, MIGRATIONS_IMAGE) != current
    edited = {**files, "0003_embeddings.sql": files["0003_embeddings.sql"] + "-- tweak\n"}
    assert content_hash(edited, MIGRATIONS_IMAGE) != current
    assert content_hash(files, "public.ecr.aws/docker/library/postgres:17.7-alpine") != current
    assert content_hash(dict(reversed(list(files.items()))), MIGRATIONS_IMAGE) == current  # order-independent


def test_job_waits_for_the_writer_instance_and_the_synced_secret(plan_of) -> None:
    """The Job needs the writer running (not the readers: they would only delay the schema by an instance)."""
    plan = plan_of("prod")
    job = plan.by_name("prod-db-migrations-job")
    waits_for = set(job.dependencies)
    writer, *readers = sorted(instances(plan), key=lambda i: i.name)
    assert writer.urn in waits_for
    assert readers
    assert not {r.urn for r in readers} & waits_for
    assert plan.by_name("prod-db-migrations-master-credentials").urn in waits_for


def test_secret_store_and_external_secret_wait_for_the_external_secrets_crds(plan_of) -> None:
    """Under a real engine a SecretStore created before the external-secrets chart fails: its kind does not exist."""
    plan = plan_of("prod")
    chart = plan.by_name("prod-addons-external-secrets")
    for name in ("prod-db-migrations-secret-store", "prod-db-migrations-master-credentials"):
        assert chart.urn in plan.by_name(name).dependencies, name


def test_job_starts_only_once_the_credentials_secret_is_synced(plan_of) -> None:
    """The provider reports the ExternalSecret (and its store) created only when Ready: the Secret then exists."""
    plan = plan_of("prod")
    store = plan.by_name("prod-db-migrations-secret-store")
    external_secret = plan.by_name("prod-db-migrations-master-credentials")
    for resource in (store, external_secret):
        assert resource.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    assert plan.by_name("prod-db-migrations-secrets-service-account").urn in store.dependencies
    assert store.urn in external_secret.dependencies
    assert external_secret.urn in plan.by_name("prod-db-migrations-job").dependencies
