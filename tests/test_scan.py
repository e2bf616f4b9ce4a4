"""ops scan: the Terraform-plan export checkov reads, the allow-list, and checkov itself over a small export.

The checkov tests run the pinned checkov from its own virtualenv (`.venv-checkov`, installed on first use like
`make scan` does); they are skipped, saying why, only when it cannot be installed (no PyPI).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ops import scan
from ops.engine import PROJECT_DIR, Plan, RecordedResource
from ops.export import snake, terraform_plan, terraform_type, terraform_values
from tests.conftest import build_plan


def test_type_tokens_map_to_terraform_types() -> None:
    assert terraform_type("aws:s3/bucket:Bucket") == "aws_s3_bucket"
    assert terraform_type("aws:s3/bucketV2:BucketV2") == "aws_s3_bucket"
    assert (
        terraform_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") == "aws_s3_bucket_public_access_block"
    )
    assert terraform_type("aws:ec2/vpc:Vpc") == "aws_vpc"
    assert terraform_type("aws:ec2/securityGroup:SecurityGroup") == "aws_security_group"
    assert terraform_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == (
        "aws_vpc_security_group_ingress_rule"
    )
    assert terraform_type("aws:rds/subnetGroup:SubnetGroup") == "aws_db_subnet_group"
    assert terraform_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == "aws_iam_openid_connect_provider"
    assert terraform_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration") == (
        "aws_wafv2_web_acl_logging_configuration"
    )


def test_values_use_terraform_attribute_names_and_blocks() -> None:
    values = terraform_values({
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}],
        "tags": {"cost-center": "x", "Name": "y"},
        "enableDnsHostnames": True,
        "subnetIds": ["subnet-1"],
        "arn": "[unknown]",
    })  # fmt: skip
    assert values == {
        "rule": [
            {"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}], "bucket_key_enabled": True}
        ],
        "tags": {"cost-center": "x", "Name": "y"},  # a map keeps its keys
        "enable_dns_hostnames": True,
        "subnet_ids": ["subnet-1"],
    }
    assert snake("kmsMasterKeyId") == "kms_master_key_id"


def test_every_aws_resource_of_a_stack_is_exported_with_its_references() -> None:
    plan = build_plan("prod")
    exported = terraform_plan(plan)
    planned = exported["planned_values"]["root_module"]["resources"]
    assert exported["format_version"]
    assert len(planned) == len([r for r in plan.resources if r.custom and r.type.startswith("aws:")])
    assert all(r["type"].startswith("aws_") and r["address"] == f"{r['type']}.{r['name']}" for r in planned)
    configured = {r["address"]: r for r in exported["configuration"]["root_module"]["resources"]}
    block = configured["aws_s3_bucket_public_access_block.prod-storage-models-public-access-block"]
    assert block["expressions"]["bucket"]["references"] == [
        "aws_s3_bucket.prod-storage-models.id",
        "aws_s3_bucket.prod-storage-models",
    ]


def test_allow_list_entries_each_carry_a_reason(tmp_path: Path) -> None:
    allowances = scan.load_allowlist()
    assert allowances
    assert all(len(a.reason) >= 20 for a in allowances)
    bad = tmp_path / "allow.yaml"
    bad.write_text("- check: CKV_AWS_18\n  reason: ok\n")
    with pytest.raises(scan.ScanSetupError, match=r"entry 1 \(CKV_AWS_18\): a `reason` of at least 20"):
        scan.load_allowlist(bad)
    bad.write_text("- check: S3_LOGGING\n  reason: a long enough reason for the entry\n")
    with pytest.raises(scan.ScanSetupError, match="must be a checkov id"):
        scan.load_allowlist(bad)


def test_the_allow_list_covers_only_the_resources_it_names() -> None:
    logs = scan.Allowance("CKV_AWS_145", "the access-log bucket takes SSE-S3 only", ("aws_s3_bucket.*-storage-logs",))
    found = [
        scan.Finding("CKV_AWS_145", "aws_s3_bucket.prod-storage-logs", "kms", "checkov"),
        scan.Finding("CKV_AWS_145", "aws_s3_bucket.prod-storage-models", "kms", "checkov"),
    ]
    failures, accepted = scan.judge(found, [logs])
    assert [f.resource for f in accepted] == ["aws_s3_bucket.prod-storage-logs"]
    assert [f.resource for f in failures] == ["aws_s3_bucket.prod-storage-models"]


# --- checkov over a small export ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov() -> Path:
    try:
        return scan.tool_python(PROJECT_DIR / ".venv-checkov", scan.CHECKOV)
    except scan.ScanSetupError as error:
        pytest.skip(f"checkov cannot be installed here ({str(error)[:200]})")


def _bucket_plan(*, public_access_block: bool, encryption: bool) -> Plan:
    """The prod models bucket and its companions, from the real plan, optionally without two of them."""
    plan = build_plan("prod")
    bucket = next(r for r in plan.by_type("aws:s3/bucket:Bucket") if r.name == "prod-storage-models")
    keep = [bucket]
    for resource in plan.resources:
        if bucket.urn in resource.propertyDependencies.get("bucket", []):
            if resource.type.endswith("PublicAccessBlock") and not public_access_block:
                continue
            if resource.type.endswith("ServerSideEncryptionConfiguration") and not encryption:
                continue
            keep.append(copy.deepcopy(resource))
    return Plan(stack="prod", resources=keep)


def _failed(checkov: Path, plan: Plan, tmp_path: Path) -> set[str]:
    plan_json, _ = scan.export(plan, tmp_path)
    return {f.key for f in scan.run_checkov(checkov, "terraform_plan", plan_json)}


def test_checkov_joins_the_bucket_to_its_public_access_block_and_encryption(checkov: Path, tmp_path: Path) -> None:
    complete = _failed(checkov, _bucket_plan(public_access_block=True, encryption=True), tmp_path / "complete")
    assert not {"CKV2_AWS_6", "CKV_AWS_145"} & complete
    broken = _failed(checkov, _bucket_plan(public_access_block=False, encryption=False), tmp_path / "broken")
    assert {"CKV2_AWS_6", "CKV_AWS_145"} <= broken, "removing them must turn passing checks into failures"


def test_checkov_reads_the_kubernetes_manifests(checkov: Path, tmp_path: Path) -> None:
    _, manifests = scan.export(build_plan("dev"), tmp_path)
    findings = scan.run_checkov(checkov, "kubernetes", manifests)
    failures, _ = scan.judge(findings, scan.load_allowlist())
    assert not failures, failures


def test_unrecorded_resource_fields_are_not_needed() -> None:
    resource = RecordedResource(urn="u", type="aws:s3/bucket:Bucket", name="b", parent="", custom=True, inputs={})
    assert (
        terraform_plan(Plan(stack="dev", resources=[resource]))["planned_values"]["root_module"]["resources"][0][
            "values"
        ]
        == {}
    )
