"""Backup: vault (backup key, lock per environment), plan rules and retention per environment, selection over the
Aurora cluster and the data buckets, notifications, the service role, and the cross-region copy seam."""

from __future__ import annotations

import json

import pytest

from components.backup import VAULT_EVENTS, Backup, BackupArgs
from config import StackConfigError
from config.backup import BackupConfig
from lib.aws import AwsContext
from ops.engine import Plan, RecordedResource, read_stack_config, run_program
from tests.conftest import stack_config


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/{}-key-id"


def the(plan: Plan, type_: str) -> RecordedResource:
    [resource] = plan.by_type(type_)
    return resource


def rules_of(plan: Plan) -> dict[str, dict]:
    return {r["ruleName"]: r for r in the(plan, "aws:backup/plan:Plan").inputs["rules"]}


@pytest.mark.parametrize(
    ("stack", "retention"),
    [
        ("dev", {"hourly": 1, "daily": 7, "weekly": 28, "monthly": 90}),
        ("staging", {"hourly": 1, "daily": 14, "weekly": 60, "monthly": 180}),
        ("prod", {"hourly": 2, "daily": 35, "weekly": 90, "monthly": 365}),
    ],
)
def test_rules_follow_the_schedule_with_retention_per_environment(plan_of, stack, retention) -> None:
    rules = rules_of(plan_of(stack))
    assert list(rules) == ["hourly", "daily", "weekly", "monthly"]
    assert {name: rule["lifecycle"]["deleteAfter"] for name, rule in rules.items()} == retention
    schedules = {name: rule["schedule"] for name, rule in rules.items()}
    assert schedules == {
        "hourly": "cron(0 * ? * * *)", "daily": "cron(0 5 ? * * *)",
        "weekly": "cron(0 6 ? * SUN *)", "monthly": "cron(0 7 1 * ? *)",
    }  # fmt: skip
    vault = the(plan_of(stack), "aws:backup/vault:Vault")
    assert all(rule["targetVaultName"] == vault.inputs["name"] for rule in rules.values())
    # AWS Backup refuses a completion window less than an hour after the start window.
    assert all(r["completionWindow"] >= r["startWindow"] + 60 for r in rules.values())


def test_monthly_points_go_cold_and_daily_has_point_in_time_recovery_in_prod(plan_of) -> None:
    rules = rules_of(plan_of("prod"))
    monthly = rules["monthly"]["lifecycle"]
    assert monthly == {"coldStorageAfter": 90, "deleteAfter": 365, "optInToArchiveForSupportedResources": True}
    assert monthly["deleteAfter"] - monthly["coldStorageAfter"] >= 90
    assert rules["daily"]["enableContinuousBackup"] is True
    assert [name for name, rule in rules.items() if rule.get("enableContinuousBackup")] == ["daily"]
    assert not any("coldStorageAfter" in rule["lifecycle"] for name, rule in rules.items() if name != "monthly")


def test_dev_keeps_it_cheap_no_cold_storage_no_continuous_backup(plan_of) -> None:
    rules = rules_of(plan_of("dev"))
    assert not any(rule.get("enableContinuousBackup") for rule in rules.values())
    assert "coldStorageAfter" not in rules["monthly"]["lifecycle"]


def test_a_stack_without_disaster_recovery_copies_nowhere(plan_of) -> None:
    """dev (`dr.strategy` none) keeps its recovery points in its own region; tests/test_dr.py covers the copies."""
    assert not any("copyActions" in rule for rule in rules_of(plan_of("dev")).values())


def test_vault_is_encrypted_with_the_backup_key_and_never_force_destroyed(plan_of, any_stack) -> None:
    vault = the(plan_of(any_stack), "aws:backup/vault:Vault")
    assert vault.inputs["kmsKeyArn"] == KEY_ARN.format(f"{any_stack}-identity-backup-key")
    assert vault.inputs["forceDestroy"] is False
    assert (vault.protect, vault.retainOnDelete) == ((any_stack != "dev"),) * 2


def test_vault_lock_is_compliance_in_prod_governance_in_staging_and_absent_in_dev(plan_of) -> None:
    locks = {s: plan_of(s).by_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration") for s in
             ("dev", "staging", "prod")}  # fmt: skip
    assert locks["dev"] == []
    [staging], [prod] = locks["staging"], locks["prod"]
    assert "changeableForDays" not in staging.inputs  # governance: no grace period, removable with permission
    assert prod.inputs["changeableForDays"] == 7  # compliance: immutable after seven days
    longest = max(rule["lifecycle"]["deleteAfter"] for rule in rules_of(plan_of("prod")).values())
    shortest = min(rule["lifecycle"]["deleteAfter"] for rule in rules_of(plan_of("prod")).values())
    assert prod.inputs["minRetentionDays"] <= shortest
    assert prod.inputs["maxRetentionDays"] >= longest


def test_selection_covers_the_aurora_cluster_and_the_data_buckets_but_not_logs(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    selection = plan.by_name(f"{any_stack}-backup-selection")  # the IP-blocking table has a selection of its own
    cluster = the(plan, "aws:rds/cluster:Cluster")
    buckets = {b.inputs["tags"]["purpose"]: b.inputs["bucket"] for b in plan.by_type("aws:s3/bucket:Bucket")}
    expected = [f"arn:aws:rds:us-east-1:123456789012:cluster:{cluster.inputs['clusterIdentifier']}"] + [
        f"arn:aws:s3:::{buckets[key]}" for key in ("models", "data", "exports")
    ]
    assert selection.inputs["resources"] == expected
    role = selection.inputs["iamRoleArn"]
    assert role.endswith(f"role/{any_stack}-backup-role")


def test_service_role_has_the_backup_and_s3_managed_policies_and_key_use(plan_of) -> None:
    plan = plan_of("prod")
    role = plan.by_name("prod-backup-role")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    attached = {a.inputs["policyArn"] for a in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.name.startswith("prod-backup-role-")}  # fmt: skip
    assert attached == {
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
    }
    statements = json.loads(plan.by_name("prod-backup-role-kms").inputs["policy"])["Statement"]
    keys = {KEY_ARN.format(f"prod-identity-{p}-key") for p in ("backup", "storage", "database", "security")}
    # ... and the DR vault's key: a copy job re-encrypts each point with it.
    keys.add("arn:aws:kms:us-west-2:123456789012:key/prod-dr-identity-backup-key-key-id")
    assert all(set(s["Resource"]) == keys for s in statements)
    assert all("*" not in s["Action"] for s in statements)
    grant = next(s for s in statements if s["Action"] == "kms:CreateGrant")
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_job_events_go_to_an_encrypted_topic_only_aws_backup_may_publish_to(plan_of) -> None:
    plan = plan_of("prod")
    topic = plan.by_name("prod-backup-events")  # the alarms' topics are the observability component's
    assert topic.inputs["kmsMasterKeyId"] == KEY_ARN.format("prod-identity-backup-key")
    topic_policy = json.loads(plan.by_name("prod-backup-events-policy").inputs["policy"])
    statements = {s["Sid"]: s for s in topic_policy["Statement"]}
    publish = statements["AwsBackupPublishesVaultEvents"]
    assert publish["Principal"] == {"Service": "backup.amazonaws.com"}
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    notifications = the(plan, "aws:backup/vaultNotifications:VaultNotifications")
    assert notifications.inputs["snsTopicArn"] == "arn:aws:sns:us-east-1:123456789012:prod-backup-events"
    assert notifications.inputs["backupVaultEvents"] == list(VAULT_EVENTS)
    assert {"BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "S3_BACKUP_OBJECT_FAILED"} <= set(VAULT_EVENTS)
    # The backup key lets AWS Backup encrypt those notifications (and nothing else changes for other keys).
    [key] = [k for k in plan.by_type("aws:kms/key:Key") if k.name == "prod-identity-backup-key"]
    sids = [s["Sid"] for s in json.loads(key.inputs["policy"])["Statement"]]
    assert "AwsBackupPublishesEncryptedNotifications" in sids


def test_copy_destination_adds_copy_actions_to_every_rule() -> None:
    """The disaster-recovery seam: a destination vault ARN (a stand-in here) makes the rules copy there."""
    destination = "arn:aws:backup:us-west-2:123456789012:backup-vault:ai-platform-prod-dr"
    config = stack_config("prod").backup
    ctx = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")

    def program() -> None:
        Backup(
            "seam-backup",
            BackupArgs(
                config=config,
                kms_key_arn=KEY_ARN.format("backup"),
                protected_resources={"database": "arn:aws:rds:us-east-1:123456789012:cluster:db"},
                source_kms_key_arns=[],
                aws=ctx,
                copy_destination_vault_arn=destination,
            ),
        )

    rules = rules_of(run_program("prod", read_stack_config("prod"), program=program))
    copied = {name for name, rule in rules.items() if "copyActions" in rule}
    assert (
        copied == {job.name for job in BackupConfig().jobs() if job.copied} == {"hourly", "daily", "weekly", "monthly"}
    )
    for name in copied:
        [action] = rules[name]["copyActions"]
        assert action["destinationVaultArn"] == destination
        assert action["lifecycle"] == rules[name]["lifecycle"]


def problems(overrides: dict) -> list[str]:
    with pytest.raises(StackConfigError) as error:
        stack_config("prod", overrides)
    return error.value.problems


def test_cold_storage_must_leave_90_days_before_deletion() -> None:
    assert problems({"ai-platform:backup": {"monthly_cold_storage_after_days": 300}}) == [
        "Pulumi.prod.yaml: ai-platform:backup.monthly_cold_storage_after_days: cold storage after 300 days leaves 65 "
        "days before deletion (monthly_retention_days 365); allowed: at most 275 (AWS keeps cold recovery points "
        ">= 90 days)"
    ]


def test_continuous_backup_retention_is_capped_at_35_days() -> None:
    [problem] = problems({"ai-platform:backup": {"daily_retention_days": 40}})
    assert problem.startswith("Pulumi.prod.yaml: ai-platform:backup.daily_retention_days: 40 days with continuous")
    assert problem.endswith("allowed: 1 to 35 (AWS PITR limit)")


def test_rule_retention_must_fit_inside_the_vault_lock() -> None:
    [problem] = problems({"ai-platform:backup": {"monthly_retention_days": 500}})
    assert problem.startswith("Pulumi.prod.yaml: ai-platform:backup.monthly_retention_days: 500 days is above")
    [problem] = problems({"ai-platform:backup": {"vault_lock_min_retention_days": 3}})
    assert "ai-platform:backup.hourly_retention_days: 2 days is below the vault lock minimum 3" in problem


def test_compliance_lock_needs_a_grace_period_of_at_least_three_days() -> None:
    [problem] = problems({"ai-platform:backup": {"vault_lock_changeable_for_days": 1}})
    assert problem == (
        "Pulumi.prod.yaml: ai-platform:backup.vault_lock_changeable_for_days: 1 is out of range; allowed: >= 3"
    )


def test_continuous_backup_and_database_retention_must_agree() -> None:
    [problem] = problems({"ai-platform:database": {"backup_retention_days": 30}})
    assert problem.startswith("Pulumi.prod.yaml: ai-platform:database.backup_retention_days: 30 days differs")
