"""`python -m ops dr` against moto (rds, ec2, kms, cloudwatch, route53, secretsmanager) with the named stubs of
tests/dr_fakes.py for what moto lacks (Aurora Global membership and writer moves, AWS Backup restore jobs): the
happy paths, refusal without --apply, bad input (exit 2, nothing changed), a failure mid-way and its re-run, and a
re-run after success that changes nothing. The RPO/RTO plan is checked for every shipped stack."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto import mock_aws

import ops.dr
from lib import dr_names
from ops.__main__ import main
from ops.dr.steps import Clock
from ops.engine import PROJECT_DIR, plan_stack
from tests.dr_fakes import ACCOUNT, FakeAws

PRIMARY, DR = "us-east-1", "us-west-2"


# --- the plan: RPO and RTO from the settings -------------------------------------------------------------------


def plan_json(stack: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["dr", "plan", "--stack", stack, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_prod_warm_standby_loses_about_a_second_and_serves_again_within_five_minutes(capsys) -> None:
    prod = plan_json("prod", capsys)
    assert prod["strategy"] == "warm-standby"
    assert prod["database_rpo_seconds"] == pytest.approx(1, abs=1)
    assert prod["objects_rpo_seconds"] == 900  # S3 Replication Time Control
    assert prod["rto_seconds"] <= 300
    assert [p["what"] for p in prod["rto_parts"]] == ["detection", "DNS TTL", "promotion of the secondary"]
    assert prod["rto_parts"][0]["seconds"] == 10 * 3  # interval x failure threshold, from config


def test_staging_backup_restore_loses_at_most_an_hour_and_states_its_rto(capsys) -> None:
    staging = plan_json("staging", capsys)
    assert staging["strategy"] == "backup-restore"
    assert staging["database_rpo_seconds"] <= 3600
    assert staging["rto_seconds"] > 300  # a platform to build: stated, not hidden
    assert "hourly" in staging["rpo_basis"]


def test_dev_without_dr_has_only_the_primary_backups(capsys) -> None:
    dev = plan_json("dev", capsys)
    assert (dev["database_rpo_seconds"], dev["rto_seconds"]) == (None, None)
    assert "primary's own backups" in dev["rpo_basis"]


def test_the_rto_follows_the_health_check_settings(tmp_path: Path, capsys) -> None:
    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    text += "  ai-platform:dr:\n    dns:\n      health_check_interval_seconds: 30\n      record_ttl_seconds: 300\n"
    (tmp_path / "Pulumi.prod.yaml").write_text(text)
    assert main(["dr", "plan", "--stack", "prod", "--json", "--project-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["rto_seconds"] == 30 * 3 + 300 + 60


def test_the_program_names_the_primary_cluster_as_the_commands_do() -> None:
    plan = plan_stack("dev")
    [cluster] = plan.by_type("aws:rds/cluster:Cluster")
    assert cluster.inputs["clusterIdentifier"] == dr_names.primary_cluster_identifier("dev")
    writer = next(i for i in plan.by_type("aws:rds/clusterInstance:ClusterInstance") if i.inputs["promotionTier"] == 0)
    assert writer.inputs["identifier"] == dr_names.writer_instance_identifier(cluster.inputs["clusterIdentifier"])


# --- a moto-backed prod ----------------------------------------------------------------------------------------


@dataclass
class World:
    aws: FakeAws
    project: Path
    log: Path

    @property
    def stack_file(self) -> Path:
        return self.project / "Pulumi.prod.yaml"

    def arn(self, region: str) -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{dr_names.cluster_identifier_in('prod', region, PRIMARY)}"

    def run(self, *argv: str) -> int:
        return main(["dr", *argv, "--stack", "prod", "--project-dir", str(self.project), "--log", str(self.log)])

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


def _region(aws: FakeAws, region: str, cluster_id: str, instances: int) -> dict:
    ec2, rds = aws.client("ec2", region), aws.client("rds", region)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{region}{az}")[
        "Subnet"]["SubnetId"] for i, az in enumerate("ab")]  # fmt: skip
    sg = ec2.create_security_group(GroupName=f"{cluster_id}-sg", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName=f"{cluster_id}-subnets-7f3a", DBSubnetGroupDescription="db",
                               SubnetIds=subnets)  # fmt: skip
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{cluster_id}-params-pg16-9c1d",
                                          DBParameterGroupFamily="aurora-postgresql16", Description="db")  # fmt: skip
    key = aws.client("kms", region).create_key()["KeyMetadata"]["Arn"]
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", MasterUsername="aiadmin",
        ManageMasterUserPassword=True, DBSubnetGroupName=f"{cluster_id}-subnets-7f3a", VpcSecurityGroupIds=[sg],
        DBClusterParameterGroupName=f"{cluster_id}-params-pg16-9c1d", StorageEncrypted=True, KmsKeyId=key,
        ServerlessV2ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 64},
    )  # fmt: skip
    for i in range(instances):
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-instance-{i + 1}", DBClusterIdentifier=cluster_id,
                               Engine="aurora-postgresql", DBInstanceClass="db.serverless")  # fmt: skip
    return {"sg": sg, "key": key}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name in ("Pulumi.prod.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    with mock_aws():
        aws = FakeAws(dr_names.global_cluster_identifier("prod"))
        primary = _region(aws, PRIMARY, "prod-database", instances=2)
        _region(aws, DR, "prod-database-dr", instances=0)  # headless secondary: a failover adds its writer
        world = World(aws, tmp_path, tmp_path / "steps.jsonl")
        aws.globals.members = {world.arn(PRIMARY): True, world.arn(DR): False}
        aws.backups.add_point(dr_names.backup_vault_name("prod"), world.arn(PRIMARY),
                              f"arn:aws:iam::{ACCOUNT}:role/prod-backup-role")  # fmt: skip
        world.primary = primary  # type: ignore[attr-defined]
        monkeypatch.setattr(ops.dr, "client_factory", lambda: aws.client)
        monkeypatch.setattr(ops.dr, "clock", lambda: Clock(sleep=lambda _: None, poll_seconds=0, timeout_seconds=5))
        yield world


def _writer(world: World) -> str:
    return next(arn for arn, writer in world.aws.globals.members.items() if writer).split(":")[3]


def _declared(world: World) -> str | None:
    from ops.dr.aurora import declared_active_region

    return declared_active_region(world.stack_file, "prod")


# --- switchover / failover / failback ----------------------------------------------------------------------------


def test_switchover_is_a_dry_run_without_apply(world: World, capsys) -> None:
    before = world.stack_file.read_text()
    assert world.run("switchover", "--to", DR) == 0
    assert "[to do] switch the global writer to prod-database-dr" in capsys.readouterr().err
    assert world.stack_file.read_text() == before
    assert _writer(world) == PRIMARY
    assert "SwitchoverGlobalCluster" not in world.aws.globals.calls


def test_switchover_moves_the_writer_declares_it_and_a_rerun_changes_nothing(world: World, capsys) -> None:
    before = world.stack_file.read_text()
    assert world.run("switchover", "--to", DR, "--apply") == 0
    assert _writer(world) == DR
    assert _declared(world) == DR
    after = world.stack_file.read_text()
    assert after.startswith(before.rstrip("\n").split("\n")[0])  # the header comment survives
    assert after.count("#") == before.count("#"), "every comment of the stack file is kept"
    assert "ai-platform:dr:\n    active_region: us-west-2" in after
    assert "next: pulumi up --stack prod" in capsys.readouterr().err
    assert [e["status"] for e in world.events()] == ["started", "done", "started", "done", "done"]
    assert all(e["seconds"] is not None for e in world.events() if e["status"] == "done")

    assert world.run("switchover", "--to", DR, "--apply") == 0
    assert world.stack_file.read_text() == after
    assert world.aws.globals.calls.count("SwitchoverGlobalCluster") == 1
    assert [e["status"] for e in world.events()[-3:]] == ["skipped", "skipped", "done"]


def test_failover_reports_the_data_loss_window_adds_a_writer_and_survives_a_failure_midway(world, capsys) -> None:
    world.aws.client("cloudwatch", DR).put_metric_data(Namespace="AWS/RDS", MetricData=[{
        "MetricName": "AuroraGlobalDBReplicationLag", "Value": 850.0, "Unit": "Milliseconds",
        "Dimensions": [{"Name": "DBClusterIdentifier", "Value": "prod-database-dr"}]}])  # fmt: skip
    world.aws.client("rds", DR).fail["create_db_instance"] = 1  # the writer instance fails the first time
    assert world.run("failover", "--to", DR, "--apply") == 1
    err = capsys.readouterr().err
    assert "data-loss window: up to 850 ms" in err
    assert "[failed] a writer instance in prod-database-dr" in err
    assert _writer(world) == DR
    assert _declared(world) == PRIMARY

    assert world.run("failover", "--to", DR, "--apply") == 0
    assert world.aws.globals.calls.count("FailoverGlobalCluster") == 1, "the re-run skips the done step"
    members = world.aws.client("rds", DR).describe_db_clusters(DBClusterIdentifier="prod-database-dr")[
        "DBClusters"][0]["DBClusterMembers"]  # fmt: skip
    assert [m["DBInstanceIdentifier"] for m in members] == ["prod-database-dr-instance-1"]
    assert _declared(world) == DR


def test_detach_and_promote_then_failback_needs_the_old_primary_back(world: World, capsys) -> None:
    assert world.run("failover", "--to", DR, "--detach", "--apply") == 0
    assert world.arn(DR) not in world.aws.globals.members
    assert _declared(world) == DR
    before = world.stack_file.read_text()
    # The global writer is still the stale old primary: switching "back" to it would discard the DR writes.
    assert world.run("failback", "--apply") == 2
    assert "prod-database-dr (us-west-2) is not in the global cluster" in capsys.readouterr().err
    assert world.stack_file.read_text() == before


def test_failback_switches_back_to_the_primary_region(world: World) -> None:
    assert world.run("switchover", "--to", DR, "--apply") == 0
    assert world.run("failback", "--apply") == 0
    assert _writer(world) == PRIMARY
    assert _declared(world) == PRIMARY


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("switchover", "--to", "eu-west-1", "--apply"), "--to eu-west-1: not a region of stack prod"),
        (("failover", "--to", "mars-east-1", "--apply"), "not a region of stack prod"),
        (("restore", "--to-time", "2001-01-01T00:00:00Z", "--apply"), "outside the restorable window"),
        (("restore", "--latest", "--region", "ap-south-1", "--apply"), "--region ap-south-1: not a region"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_changes_nothing(world, capsys, argv, message) -> None:
    before = world.stack_file.read_text()
    assert world.run(*argv) == 2
    assert message in capsys.readouterr().err
    assert world.stack_file.read_text() == before
    assert _writer(world) == PRIMARY
    clusters = world.aws.client("rds", PRIMARY).describe_db_clusters()["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in clusters] == ["prod-database"]


def test_a_stack_without_dr_refuses_the_region_moves(world: World, capsys) -> None:
    code = main(["dr", "switchover", "--stack", "dev", "--to", DR, "--apply", "--project-dir", str(world.project)])
    assert code == 2
    assert "ai-platform:dr.strategy is 'none'" in capsys.readouterr().err


# --- restore ---------------------------------------------------------------------------------------------------


def _cluster(world: World, identifier: str) -> dict:
    return world.aws.client("rds", PRIMARY).describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]


def test_restore_to_a_time_uses_the_platform_settings_not_the_defaults(world: World, capsys) -> None:
    when = _cluster(world, "prod-database")["LatestRestorableTime"].astimezone(UTC)
    assert world.run("restore", "--to-time", when.isoformat()) == 0  # dry run
    assert len(world.aws.client("rds", PRIMARY).describe_db_clusters()["DBClusters"]) == 1
    assert world.run("restore", "--to-time", when.isoformat(), "--apply") == 0
    new_id = dr_names.restored_cluster_identifier("prod", when.strftime("%Y%m%dt%H%M%S"))
    restored = _cluster(world, new_id)
    assert restored["DBSubnetGroup"] == "prod-database-subnets-7f3a"
    assert restored["DBClusterParameterGroup"] == "prod-database-params-pg16-9c1d"
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [world.primary["sg"]]
    assert restored["KmsKeyId"] == world.primary["key"]
    assert restored["DeletionProtection"] is True
    assert [m["DBInstanceIdentifier"] for m in restored["DBClusterMembers"]] == [f"{new_id}-instance-1"]
    capsys.readouterr()
    assert world.run("restore", "--to-time", when.isoformat(), "--apply") == 0
    assert "[done]" not in capsys.readouterr().err.replace("[done] all steps", "")  # everything skipped


def test_restore_from_a_recovery_point_passes_string_metadata(world: World) -> None:
    [point] = world.aws.backups.points[dr_names.backup_vault_name("prod")]
    assert world.run("restore", "--recovery-point", point["RecoveryPointArn"], "--label", "rp1", "--apply") == 0
    [metadata] = world.aws.backups.metadata
    assert metadata["DBClusterIdentifier"] == "prod-database-restore-rp1"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == [world.primary["sg"]]
    assert _cluster(world, "prod-database-restore-rp1")["DBClusterParameterGroup"] == "prod-database-params-pg16-9c1d"


# --- adopt: the workload moves onto the restored cluster ---------------------------------------------------------


def _clusters(world: World) -> dict[str, dict]:
    """Identifier -> (members, deletion protection, tags) of every cluster of the primary region."""
    return {c["DBClusterIdentifier"]: {"members": sorted(m["DBInstanceIdentifier"] for m in c["DBClusterMembers"]),
                                       "protected": c["DeletionProtection"], "endpoint": c["Endpoint"]}
            for c in world.aws.client("rds", PRIMARY).describe_db_clusters()["DBClusters"]}  # fmt: skip


@pytest.fixture
def restored(world: World) -> str:
    """A restored cluster beside the live one, in a stack taken out of warm standby for the swap (the runbook's
    order: a live cluster inside an Aurora Global Database cannot be swapped)."""
    assert world.run("restore", "--latest", "--label", "t1", "--apply") == 0
    world.log.unlink()
    world.stack_file.write_text(world.stack_file.read_text() + "  ai-platform:dr:\n    strategy: backup-restore\n")
    return "prod-database-restore-t1"


def test_adopt_refuses_a_live_cluster_inside_a_global_database(world: World, capsys) -> None:
    assert world.run("restore", "--latest", "--label", "t2", "--apply") == 0
    before = _clusters(world)
    assert world.run("adopt", "--restored", "prod-database-restore-t2", "--apply") == 2
    assert "runs an Aurora Global Database" in capsys.readouterr().err
    assert _clusters(world) == before


def _assert_adopted(world: World, before: dict[str, dict]) -> None:
    after = _clusters(world)
    [replaced] = [c for c in after if c.startswith("prod-database-replaced-")]
    assert re.fullmatch(r"prod-database-replaced-\d{12}", replaced)
    assert set(after) == {"prod-database", replaced}
    assert after["prod-database"]["members"] == ["prod-database-instance-1"]
    assert after["prod-database"]["endpoint"].startswith("prod-database.cluster-"), "the old endpoint name"
    assert after["prod-database"]["protected"] is True  # the restored cluster's protection
    assert after[replaced]["members"] == [f"{replaced}-instance-1", f"{replaced}-instance-2"]
    assert after[replaced]["protected"] == before["prod-database"]["protected"], "kept as it was, for forensics"


def test_adopt_is_a_dry_run_without_apply(world: World, restored: str, capsys) -> None:
    before = _clusters(world)
    assert world.run("adopt", "--restored", restored) == 0
    err = capsys.readouterr().err
    assert "[to do] rename the live cluster prod-database" in err
    assert f"[to do] rename the restored cluster {restored} to prod-database and its writer" in err
    assert "then: pulumi refresh --stack prod, then pulumi up --stack prod" in err
    assert _clusters(world) == before


def test_adopt_renames_the_live_cluster_away_and_the_restored_one_in_and_a_rerun_changes_nothing(
    world: World, restored: str, capsys
) -> None:
    before = _clusters(world)
    assert world.run("adopt", "--restored", restored, "--apply") == 0
    _assert_adopted(world, before)
    assert "next: pulumi refresh --stack prod, then pulumi up --stack prod" in capsys.readouterr().err
    assert [e["status"] for e in world.events()] == ["started", "done", "started", "done", "done"]
    assert all(e["seconds"] is not None for e in world.events() if e["status"] == "done")
    adopted = _clusters(world)

    assert world.run("adopt", "--restored", restored, "--apply") == 0, "the restored id is gone: still no error"
    assert _clusters(world) == adopted
    assert [e["status"] for e in world.events()[-3:]] == ["skipped", "skipped", "done"]


def test_adopt_continues_after_a_failure_midway(world: World, restored: str, capsys) -> None:
    before = _clusters(world)
    world.aws.client("rds", PRIMARY).fail["modify_db_instance"] = 1  # the first instance rename fails
    assert world.run("adopt", "--restored", restored, "--apply") == 1
    assert "[failed] rename the live cluster prod-database" in capsys.readouterr().err
    assert "prod-database" not in _clusters(world), "the cluster was renamed before the instance failed"
    assert world.run("adopt", "--restored", restored, "--apply") == 0
    _assert_adopted(world, before)


@pytest.mark.parametrize(
    ("restored_id", "message"),
    [
        ("prod-database-restore-nope", "--restored prod-database-restore-nope: no such cluster in us-east-1"),
        ("prod-database", "--restored prod-database: that is the live cluster"),
        ("prod-database-restore-t1", "status 'stopped'; allowed: 'available'"),
    ],
)
def test_adopt_bad_input_exits_2_and_changes_nothing(world, restored, capsys, restored_id, message) -> None:
    world.aws.client("rds", PRIMARY).stop_db_cluster(DBClusterIdentifier=restored)
    before = _clusters(world)
    assert world.run("adopt", "--restored", restored_id, "--apply") == 2
    assert message in capsys.readouterr().err
    assert _clusters(world) == before
    assert world.events() == []


def test_adopt_works_on_a_stack_without_dr(world: World) -> None:
    _region(world.aws, PRIMARY, "dev-database", instances=1)
    _region(world.aws, PRIMARY, "dev-database-restore-x", instances=1)
    code = main(["dr", "adopt", "--stack", "dev", "--restored", "dev-database-restore-x", "--apply",
                 "--project-dir", str(world.project), "--log", str(world.log)])  # fmt: skip
    assert code == 0
    after = _clusters(world)
    assert after["dev-database"]["members"] == ["dev-database-instance-1"]
    assert "dev-database-restore-x" not in after
    assert any(c.startswith("dev-database-replaced-") for c in after)


# --- drill (AWS side; the integrity check on real PostgreSQL is tests/test_dr_integrity.py) ----------------------


def test_drill_tears_down_the_scratch_cluster_writes_a_report_and_publishes_metrics(world, monkeypatch) -> None:
    import ops.dr.drill as drill_module
    from ops.dr.integrity import IntegrityReport

    seen = []
    monkeypatch.setattr(drill_module, "connect_with_managed_secret", lambda ctx, region, cid: seen.append(cid))
    monkeypatch.setattr(drill_module, "check_integrity", lambda source, restored, **_: IntegrityReport(
        problems=["ai.embeddings: 9 rows restored, source has 10"]))  # fmt: skip
    report = world.project / "drill.json"
    code = main(["dr", "drill", "--stack", "prod", "--apply", "--project-dir", str(world.project),
                 "--log", str(world.log), "--report", str(report)])  # fmt: skip
    assert code == 1, "a drill whose data does not check out fails"
    data = json.loads(report.read_text())
    assert data["succeeded"] is False
    assert data["time_to_usable_seconds"] is not None
    assert seen[0] == "prod-database"
    assert seen[1].startswith("prod-database-drill-")
    clusters = world.aws.client("rds", PRIMARY).describe_db_clusters()["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in clusters] == ["prod-database"], "the scratch cluster is gone"
    now = datetime.now(UTC)
    stats = world.aws.client("cloudwatch", PRIMARY).get_metric_statistics(
        Namespace="ai-platform/dr",
        MetricName="DrillSucceeded",
        Dimensions=[{"Name": "Stack", "Value": "prod"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [0.0]


def test_status_compares_the_declared_region_with_the_writer(world: World, capsys) -> None:
    assert world.run("switchover", "--to", DR, "--apply") == 0
    world.stack_file.write_text((PROJECT_DIR / "Pulumi.prod.yaml").read_text())  # someone reverted the file
    capsys.readouterr()
    assert main(["dr", "status", "--stack", "prod", "--json", "--project-dir", str(world.project)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["writer_region"], status["active_region_declared"], status["in_agreement"]) == (
        DR, PRIMARY, False)  # fmt: skip
    assert status["last_recovery_point"][PRIMARY] is not None
