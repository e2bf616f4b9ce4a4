"""`python -m ops scan --stack S`: the pipeline's security scan, with the scanners Terraform users have.

1. The stack's offline plan is exported (ops/export.py): its AWS resources as Terraform plan JSON, its Kubernetes
   objects as YAML, into `scan-<stack>/` (or --out).
2. checkov (pinned, in its own virtualenv `.venv-checkov`, created on first use: mixed into the project's it would
   change boto3's version) runs `--framework terraform_plan` over the JSON and `--framework kubernetes` over the
   manifests, with `--skip-download` (no platform calls).
3. pip-audit (pinned, own virtualenv `.venv-audit`) checks requirements.lock and policy/requirements.lock against the
   PyPI advisory database (--skip-audit leaves it out, e.g. offline).
Failures outside ops/scan_allowlist.yaml (every entry with its reason) fail the stage: exit 1; exit 2 for a bad
stack or allow-list.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ops.engine import PROJECT_DIR, Plan, plan_stack
from ops.export import kubernetes_objects, manifest, terraform_plan

CHECKOV = "checkov==3.3.30"
PIP_AUDIT = "pip-audit==2.10.1"
ALLOWLIST_PATH = PROJECT_DIR / "ops" / "scan_allowlist.yaml"
LOCKS = (PROJECT_DIR / "requirements.lock", PROJECT_DIR / "policy" / "requirements.lock")
_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_MIN_REASON = 20


class ScanSetupError(Exception):
    """A scanner cannot be installed or run, or the allow-list is malformed."""


@dataclass(frozen=True)
class Allowance:
    key: str  # a checkov check id or an advisory id
    reason: str
    resources: tuple[str, ...] = ()

    def covers(self, key: str, resource: str) -> bool:
        return key == self.key and (not self.resources or any(fnmatch.fnmatch(resource, p) for p in self.resources))


@dataclass(frozen=True)
class Finding:
    key: str
    resource: str
    title: str
    tool: str


def load_allowlist(path: Path = ALLOWLIST_PATH) -> list[Allowance]:
    """The reviewed exceptions; ScanSetupError names the entry without a check id or a real reason."""
    entries = yaml.safe_load(path.read_text()) or []
    if not isinstance(entries, list):
        raise ScanSetupError(f"{path.name}: a list of entries is expected")
    allowances = []
    for number, entry in enumerate(entries, 1):
        where = f"{path.name}: entry {number}"
        if not isinstance(entry, dict) or set(entry) - {"check", "vulnerability", "reason", "resources"}:
            raise ScanSetupError(f"{where}: allowed keys are check or vulnerability, reason, resources")
        key = entry.get("check") or entry.get("vulnerability")
        if not isinstance(key, str) or ("check" in entry and not _CHECK_ID.match(key)):
            raise ScanSetupError(f"{where}: `check` must be a checkov id (CKV_AWS_1) or `vulnerability` an advisory id")
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.strip()) < _MIN_REASON:
            raise ScanSetupError(f"{where} ({key}): a `reason` of at least {_MIN_REASON} characters is required")
        resources = entry.get("resources", [])
        if not isinstance(resources, list) or not all(isinstance(r, str) and r for r in resources):
            raise ScanSetupError(f"{where} ({key}): `resources` must be a list of patterns")
        allowances.append(Allowance(key, " ".join(reason.split()), tuple(resources)))
    return allowances


def tool_python(venv: Path, requirement: str) -> Path:
    """The interpreter of `venv` with `requirement` installed (created or upgraded once; a marker records it)."""
    marker = venv / ".installed"
    python = venv / "bin" / "python"
    if marker.is_file() and marker.read_text() == requirement and python.exists():
        return python
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        raise ScanSetupError(f"cannot install {requirement} into {venv}: {(error.stderr or '')[-2000:]}") from None
    marker.write_text(requirement)
    return python


def export(plan: Plan, out: Path) -> tuple[Path, Path]:
    """Write the Terraform plan JSON and the Kubernetes manifests of `plan` into `out`; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    plan_json = out / "plan.json"
    plan_json.write_text(json.dumps(terraform_plan(plan), indent=1))
    manifests = out / "kubernetes"
    manifests.mkdir(exist_ok=True)
    objects = [manifest(r) for r in kubernetes_objects(plan)]
    (manifests / "manifests.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return plan_json, manifests


def run_checkov(python: Path, framework: str, target: Path) -> list[Finding]:
    """checkov's failed checks over `target` (a file for terraform_plan, a directory for kubernetes)."""
    flag = "-f" if target.is_file() else "-d"
    command = [str(python), "-m", "checkov.main", flag, str(target), "--framework", framework, "--skip-download",
               "--output", "json", "--soft-fail", "--compact", "--quiet"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report: Any = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ScanSetupError(f"checkov {framework} gave no report: {result.stderr[-2000:]}") from None
    reports = report if isinstance(report, list) else [report]
    findings = []
    for one in reports:
        if one.get("summary", {}).get("parsing_errors"):
            raise ScanSetupError(f"checkov {framework} could not parse {target}")
        for failed in one.get("results", {}).get("failed_checks", []):
            findings.append(
                Finding(failed["check_id"], failed["resource"], failed["check_name"], f"checkov {framework}")
            )
    return findings


def run_pip_audit(python: Path, locks: tuple[Path, ...] = LOCKS) -> list[Finding]:
    """Known vulnerabilities of the locked versions (no install: pinned, hashed requirements)."""
    findings = []
    for lock in locks:
        command = [str(python), "-m", "pip_audit", "--requirement", str(lock), "--disable-pip", "--no-deps",
                   "--format", "json", "--progress-spinner", "off"]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            raise ScanSetupError(f"pip-audit gave no report for {lock.name}: {result.stderr[-2000:]}") from None
        for dependency in report.get("dependencies", []):
            for vulnerability in dependency.get("vulns", []):
                resource = f"{dependency['name']}=={dependency.get('version', '?')}"
                fixed = ", ".join(vulnerability.get("fix_versions", [])) or "no fix yet"
                findings.append(Finding(vulnerability["id"], resource, f"fixed in {fixed}", f"pip-audit {lock.name}"))
    return findings


def judge(findings: list[Finding], allowances: list[Allowance]) -> tuple[list[Finding], list[Finding]]:
    """(failures, accepted): findings outside the allow-list, and those an entry covers."""
    accepted = [f for f in findings if any(a.covers(f.key, f.resource) for a in allowances)]
    return [f for f in findings if f not in accepted], accepted


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """`python -m ops scan`."""
    parser = subparsers.add_parser("scan", help="security scan: checkov over the plan and manifests, pip-audit")
    parser.add_argument("--stack", required=True, help="stack to scan (dev, staging, prod)")
    parser.add_argument("--out", type=Path, help="where the exports go (default: a temporary directory)")
    parser.add_argument("--skip-audit", action="store_true", help="leave pip-audit out (it needs PyPI)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        allowances = load_allowlist()
        plan = plan_stack(args.stack, PROJECT_DIR)
        with tempfile.TemporaryDirectory(prefix=f"scan-{args.stack}-") as scratch:
            plan_json, manifests = export(plan, args.out or Path(scratch))
            checkov = tool_python(PROJECT_DIR / ".venv-checkov", CHECKOV)
            findings = run_checkov(checkov, "terraform_plan", plan_json) + run_checkov(checkov, "kubernetes", manifests)
        if not args.skip_audit:
            findings += run_pip_audit(tool_python(PROJECT_DIR / ".venv-audit", PIP_AUDIT))
    except ScanSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failures, accepted = judge(findings, allowances)
    print(
        f"security scan of {args.stack}: {len(findings)} finding(s), {len(accepted)} accepted by {ALLOWLIST_PATH.name}"
    )
    for finding in accepted:
        print(f"  accepted {finding.key} {finding.resource} ({finding.tool})")
    for finding in failures:
        print(f"  FAILED   {finding.key} {finding.resource}: {finding.title} ({finding.tool})")
    print("scan passed" if not failures else f"scan FAILED: {len(failures)} finding(s) outside the allow-list")
    return 1 if failures else 0
