"""ops/image.py: the release workflow's ECR check (against moto, whose scan findings are set through its API) and
the record of a digest in the stack files (every comment and other line kept, the result a valid stack config)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from config import load_stack_config
from config.stackfile import read_stack_file
from ops import image
from ops.__main__ import main
from ops.engine import PROJECT_DIR

REGION = "us-east-1"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []})
DIGEST = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()  # what the release records (tests below)


def _ecr_with_image(stack: str, severity_counts: dict[str, int] | None) -> tuple[Any, str]:
    """moto's ECR with the image pushed and scanned; (client, the image's digest as ECR computed it)."""
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=image.repository_name(stack), imageScanningConfiguration={"scanOnPush": True})
    pushed = ecr.put_image(repositoryName=image.repository_name(stack), imageManifest=MANIFEST, imageTag="2.0.0")
    digest = pushed["image"]["imageId"]["imageDigest"]
    ecr.start_image_scan(repositoryName=image.repository_name(stack), imageId={"imageDigest": digest})
    if severity_counts is not None:  # moto's documented way to set a scan's findings
        result = {
            "registryId": "123456789012", "repositoryName": image.repository_name(stack),
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
            "imageScanFindings": {"findings": [], "findingSeverityCounts": severity_counts},
        }  # fmt: skip
        requests.post(
            "http://motoapi.amazonaws.com/moto-api/static/ecr/scan-finding-results",
            json={"results": [result], "region": REGION},
            timeout=10,
        )
    return ecr, digest


@mock_aws
def test_an_image_with_only_lesser_findings_is_releasable() -> None:
    ecr, digest = _ecr_with_image("prod", {"HIGH": 2, "MEDIUM": 5})
    verdict = image.check(ecr, "prod", digest, wait_seconds=0)
    assert verdict.status == "COMPLETE"
    assert verdict.severity_counts == {"HIGH": 2, "MEDIUM": 5}


@mock_aws
def test_a_critical_finding_blocks_the_release() -> None:
    ecr, digest = _ecr_with_image("prod", {"CRITICAL": 1, "HIGH": 3})
    with pytest.raises(image.ImageError, match=r"has CRITICAL findings \(CRITICAL 1, HIGH 3\): not releasable"):
        image.check(ecr, "prod", digest, wait_seconds=0)


@mock_aws
def test_a_digest_missing_from_the_stacks_repository_is_refused() -> None:
    ecr, digest = _ecr_with_image("prod", None)
    other = "sha256:" + "0" * 64
    with pytest.raises(image.ImageError, match=r"is not in ai-platform/prod/ai-api: push it there first"):
        image.check(ecr, "prod", other, wait_seconds=0)
    with pytest.raises(image.ImageError, match=r"no ECR repository ai-platform/staging/ai-api"):
        image.check(ecr, "staging", digest, wait_seconds=0)


@mock_aws
def test_an_unscanned_image_is_refused() -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=image.repository_name("dev"))
    pushed = ecr.put_image(repositoryName=image.repository_name("dev"), imageManifest=MANIFEST, imageTag="2.0.0")
    with pytest.raises(image.ImageError, match="has never been scanned"):
        image.check(ecr, "dev", pushed["image"]["imageId"]["imageDigest"], wait_seconds=0)


class _PendingScan:
    """An explicit stub: moto completes scans at once, ECR takes minutes; this one never finishes."""

    class exceptions:  # boto3 names it so
        RepositoryNotFoundException = ImageNotFoundException = ScanNotFoundException = LookupError

    def describe_images(self, **_: Any) -> dict[str, Any]:
        return {}

    def describe_image_scan_findings(self, **_: Any) -> dict[str, Any]:
        return {"imageScanStatus": {"status": "IN_PROGRESS", "description": "scanning"}}


def test_a_scan_that_never_finishes_is_refused_after_the_wait() -> None:
    with pytest.raises(image.ImageError, match="is IN_PROGRESS: scanning"):
        image.check(_PendingScan(), "prod", DIGEST, wait_seconds=0.05, pause=0.01)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for stack in ("dev", "staging", "prod"):
        shutil.copy(PROJECT_DIR / f"Pulumi.{stack}.yaml", tmp_path)
    return tmp_path


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_recording_a_digest_changes_only_the_image_lines(project: Path, stack: str) -> None:
    before = (project / f"Pulumi.{stack}.yaml").read_text()
    image.record(stack, DIGEST, "2.0.0", project)
    after = (project / f"Pulumi.{stack}.yaml").read_text()
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert all(line.strip().startswith(("tag:", "digest:")) for line in removed + added), (removed, added)
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert all(comment in after.splitlines() for comment in comments)
    raw = read_stack_file(project / f"Pulumi.{stack}.yaml")
    assert raw["ai-platform:api"]["image"] == {"tag": "2.0.0", "digest": DIGEST}
    config = load_stack_config(stack, raw)
    assert config.api is not None
    assert config.api.image.digest == DIGEST


def test_recording_without_a_tag_drops_the_stale_tag_and_keeps_a_trailing_comment(project: Path) -> None:
    image.record("prod", DIGEST, None, project)
    assert read_stack_file(project / "Pulumi.prod.yaml")["ai-platform:api"]["image"] == {"digest": DIGEST}
    path = project / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("      tag: 3f6b2a9  #", "      digest: sha256:" + "1" * 64 + "  #"))
    image.record("dev", DIGEST, None, project)
    assert f"      digest: {DIGEST}  # a commit build" in path.read_text()


def test_a_stack_without_the_api_section_cannot_record_a_release(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: us-east-1\n  ai-platform:environment: dev\n")
    with pytest.raises(image.ImageError, match="no `ai-platform:api:` section"):
        image.record("dev", DIGEST, None, tmp_path)


def test_the_command_refuses_a_malformed_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["image", "record", "--stacks", "dev", "--digest", "sha256:ABC"]) == 2
    assert "is not sha256:<64 lowercase hex>" in capsys.readouterr().err
