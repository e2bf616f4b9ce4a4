"""`python -m ops image`: the release workflow's checks and record of an ai-api image digest.

- `image check --stack S --digest sha256:...`: the image is in the stack's ECR repository
  (`ai-platform/<stack>/ai-api`, components/ai_api/registry.py) and its scan (on push) is complete with no CRITICAL
  finding. Waits for a scan still in progress (bounded). Exit 0 when releasable, 1 when not, 2 for bad arguments.
- `image record --stacks dev staging prod --digest sha256:... [--tag T]`: sets `ai-platform:api.image.digest`
  (and `image.tag`; without --tag a stale tag is removed, so people never read a tag the digest contradicts) in each
  stack file by editing those lines in place (ops/stackedit.py): every comment and every other line stays as it
  was. The result is validated with the stack's own config model before it is written.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import PROJECT, StackConfigError
from config.stackfile import read_stack_file
from ops.engine import PROJECT_DIR, stack_file
from ops.stackedit import DELETE, StackEditError, update_file

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
API_KEY = "ai-platform:api"
# Scan states after which the findings are final (basic scanning: COMPLETE; enhanced scanning: ACTIVE).
_SCAN_DONE = {"COMPLETE", "ACTIVE"}
_SCAN_PENDING = {"IN_PROGRESS", "PENDING"}


class ImageError(Exception):
    """The image cannot be released (missing, unscanned, critical findings) or a stack file cannot be edited."""


def repository_name(stack: str) -> str:
    """The stack's ai-api ECR repository (as components/ai_api/registry.py names it)."""
    return f"{PROJECT}/{stack}/ai-api"


@dataclass(frozen=True)
class ScanVerdict:
    status: str
    severity_counts: dict[str, int]

    @property
    def critical(self) -> int:
        return self.severity_counts.get("CRITICAL", 0)


def scan_verdict(ecr: Any, stack: str, digest: str, *, wait_seconds: float = 600, pause: float = 15) -> ScanVerdict:
    """The finished scan of `digest` in the stack's repository; ImageError when it is missing or never finishes."""
    repository = repository_name(stack)
    image_id = {"imageDigest": digest}
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[image_id])
    except ecr.exceptions.RepositoryNotFoundException:
        raise ImageError(f"no ECR repository {repository} (has stack {stack} been deployed?)") from None
    except ecr.exceptions.ImageNotFoundException:
        raise ImageError(f"{digest} is not in {repository}: push it there first (README 'Releasing ai-api')") from None
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            answer = ecr.describe_image_scan_findings(repositoryName=repository, imageId=image_id)
        except ecr.exceptions.ScanNotFoundException:
            raise ImageError(
                f"{digest} in {repository} has never been scanned (the repository scans on push)"
            ) from None
        status = answer.get("imageScanStatus", {}).get("status", "UNKNOWN")
        if status in _SCAN_DONE:
            counts = answer.get("imageScanFindings", {}).get("findingSeverityCounts", {})
            return ScanVerdict(status, {str(k): int(v) for k, v in counts.items()})
        if status not in _SCAN_PENDING or time.monotonic() + pause > deadline:
            detail = answer.get("imageScanStatus", {}).get("description", "")
            raise ImageError(f"the scan of {digest} in {repository} is {status}: {detail}".rstrip(": "))
        time.sleep(pause)


def check(ecr: Any, stack: str, digest: str, *, wait_seconds: float = 600, pause: float = 15) -> ScanVerdict:
    """`scan_verdict`, and ImageError when the scan found anything CRITICAL."""
    verdict = scan_verdict(ecr, stack, digest, wait_seconds=wait_seconds, pause=pause)
    if verdict.critical:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(verdict.severity_counts.items()))
        raise ImageError(f"{digest} in {repository_name(stack)} has CRITICAL findings ({counts}): not releasable")
    return verdict


# --- recording a digest in a stack file ---------------------------------------------------------------------------


def record(stack: str, digest: str, tag: str | None, project_dir: Path = PROJECT_DIR) -> Path:
    """Write the digest (and tag) into `Pulumi.<stack>.yaml`, after validating the result as the stack's config."""
    path = stack_file(stack, project_dir)
    if not path.is_file():
        raise ImageError(f"{path.name}: no such stack file")
    if API_KEY not in read_stack_file(path):
        raise ImageError(f"{path.name}: no `{API_KEY}:` section: this stack runs no ai-api, nothing to release")
    # The digest first: removing a stale tag then never leaves `image:` empty.
    changes: dict[tuple[str, ...], object] = {
        ("image", "digest"): digest,
        ("image", "tag"): DELETE if tag is None else tag,
    }
    try:
        update_file(path, API_KEY, changes, stack=stack)
    except StackEditError as error:
        raise ImageError(str(error)) from None
    return path


# --- command line -------------------------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """`python -m ops image check|record`."""
    parser = subparsers.add_parser("image", help="check an ai-api image digest in ECR, record it in stack files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check_parser = actions.add_parser("check", help="the digest is in the stack's ECR with no CRITICAL finding")
    check_parser.add_argument("--stack", required=True)
    check_parser.add_argument("--digest", required=True)
    check_parser.add_argument("--wait", type=float, default=600, help="seconds to wait for a scan in progress")
    record_parser = actions.add_parser("record", help="set ai-platform:api.image.digest in stack files")
    record_parser.add_argument("--stacks", nargs="+", required=True)
    record_parser.add_argument("--digest", required=True)
    record_parser.add_argument("--tag", default=None)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not DIGEST.match(args.digest):
        print(f"error: --digest {args.digest!r} is not sha256:<64 lowercase hex>", file=sys.stderr)
        return 2
    if getattr(args, "tag", None) is not None and not TAG.match(args.tag):
        print(f"error: --tag {args.tag!r} is not an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})", file=sys.stderr)
        return 2
    try:
        if args.action == "check":
            import boto3  # only this action talks to AWS

            verdict = check(boto3.client("ecr"), args.stack, args.digest, wait_seconds=args.wait)
            counts = ", ".join(f"{k} {v}" for k, v in sorted(verdict.severity_counts.items())) or "no findings"
            print(f"{args.digest} in {repository_name(args.stack)}: scan {verdict.status}, {counts}: releasable")
            return 0
        for stack in args.stacks:
            path = record(stack, args.digest, args.tag)
            print(
                f"{path.name}: ai-platform:api.image.digest = {args.digest}" + (f", tag {args.tag}" if args.tag else "")
            )
        return 0
    except ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except StackConfigError as error:
        print(f"error: the edited stack file is not valid: {error}", file=sys.stderr)
        return 1
