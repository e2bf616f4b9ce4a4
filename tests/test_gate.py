"""`python -m ops gate`: the shipped stacks pass, unsafe plans fail naming the rule, every mandatory rule has a
failing fixture, enforcement follows the environment, and the output is usable by people and machines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from ops.__main__ import main
from ops.engine import PROJECT_DIR, UNKNOWN, Plan
from ops.gate import environment_of, evaluate, read_plan_file
from policy.rules import RULES, enabled_ids, mandatory_ids
from policy.rules.core import HIGH, MANDATORY, Rule
from tests.policy_cases import TAGS

FIXTURES = Path(__file__).parent / "fixtures"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def test_shipped_stack_passes_the_gate(plan_of: Any, any_stack: str) -> None:
    result = evaluate(plan_of(any_stack), any_stack)
    assert [(v.rule, v.urn, v.message) for v in result.mandatory] == []
    enabled = enabled_ids(any_stack)  # the shipped stacks are named after their environments
    assert result.rules == len(enabled)
    assert any_stack != "dev" or len(enabled) < len(RULES)  # dev switches the maintenance-window rule off
    assert result.resources > 50


def test_unsafe_fixture_trips_every_mandatory_rule() -> None:
    """A new mandatory rule without a failing case in tests/fixtures/unsafe-plan.json fails here."""
    result = evaluate(read_plan_file(FIXTURES / "unsafe-plan.json"), "prod")
    assert {v.rule for v in result.mandatory} == mandatory_ids("prod")


@pytest.mark.parametrize(
    ("fixture", "rule", "message"),
    [
        (
            "unencrypted-bucket-plan.json",
            "s3-encryption-kms",
            "bucket reports has no server-side encryption configuration",
        ),
        ("public-database-plan.json", "rds-not-public", "publiclyAccessible is true"),
    ],
)
def test_unsafe_plan_file_fails_naming_the_rule(fixture: str, rule: str, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops", "gate", "--plan", str(FIXTURES / fixture)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert rule in done.stdout
    assert message in done.stdout
    assert "gate FAIL: stack prod (environment prod)" in done.stdout.splitlines()[-1]


def test_prod_gate_exits_0_with_a_summary_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["gate", "--stack", "prod"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.splitlines()[-1].startswith(f"gate PASS: stack prod (environment prod): {len(RULES)} rules over ")


def test_advisory_violations_are_shown_but_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dev database without deletion protection: advisory in dev, so shown but exit 0."""
    resources = json.loads((FIXTURES / "public-database-plan.json").read_text())
    resources[0]["inputs"].update(publiclyAccessible=False, deletionProtection=False)
    resources[0]["inputs"]["tags"]["environment"] = "dev"
    budget = {"timeUnit": "MONTHLY", "limitAmount": "500.00", "notifications": [{"subscriberSnsTopicArns": ["t"]}],
              "tags": resources[0]["inputs"]["tags"]}  # fmt: skip
    resources.append(
        {**resources[0], "urn": "urn:pulumi:prod::ai-platform::aws:budgets/budget:Budget::budget",
         "type": "aws:budgets/budget:Budget", "name": "budget", "inputs": budget}
    )  # fmt: skip
    path = tmp_path / "dev-db.json"
    path.write_text(json.dumps(resources))
    assert main(["gate", "--plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "advisory     high      rds-deletion-protection" in out
    assert out.splitlines()[-1].startswith("gate PASS: stack prod (environment dev)")
    assert main(["gate", "--plan", str(path), "--environment", "prod"]) == 1


def test_environment_decides_enforcement(plan_of: Any) -> None:
    """The dev plan, judged with prod's pack config, fails the prod-only rules."""
    result = evaluate(plan_of("dev"), "prod")
    assert {"rds-multi-az", "rds-deletion-protection", "stateful-protected"} <= {v.rule for v in result.mandatory}


def test_saved_plan_and_built_stack_give_the_same_verdict(plan_of: Any, tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(plan_of("prod").to_json()))
    assert evaluate(read_plan_file(path), "prod").violations == evaluate(plan_of("prod"), "prod").violations


def _bucket_plan(encryption_rule: dict[str, Any]) -> Plan:
    bucket = "urn:pulumi:prod::ai-platform::aws:s3/bucket:Bucket::b"
    return Plan.from_json(
        "prod",
        [
            {"urn": bucket, "type": "aws:s3/bucket:Bucket", "name": "b", "protect": True, "inputs": {"tags": TAGS}},
            {
                "urn": f"urn:pulumi:prod::ai-platform::{SSE}::sse",
                "type": SSE,
                "name": "sse",
                "dependencies": [bucket],
                "inputs": {"bucket": "b", "rules": [encryption_rule]},
            },
        ],
    )


def test_unknown_in_a_saved_plan_is_an_unknown_value() -> None:
    unknown_algorithm = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": UNKNOWN}}
    violations = [
        v for v in evaluate(_bucket_plan(unknown_algorithm), "prod").violations if v.rule == "s3-encryption-kms"
    ]
    assert [v.message for v in violations] == [
        "cannot be verified: string value at .rules.0.applyServerSideEncryptionByDefault.sseAlgorithm can't be known "
        "during preview (unknown counts as a violation for this rule)"
    ]
    unknown_key = {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": UNKNOWN},
        "bucketKeyEnabled": True,
    }
    assert not [v for v in evaluate(_bucket_plan(unknown_key), "prod").violations if v.rule == "s3-encryption-kms"]


@pytest.mark.parametrize(("on_unknown", "expected"), [("fail", 1), ("pass", 0)])
def test_a_rule_judges_an_unknown_value_as_it_declares(on_unknown: str, expected: int) -> None:
    """During a preview a value built from a resource not yet created is unknown: an `on_unknown="fail"` rule
    reports it (it cannot vouch for it), an `on_unknown="pass"` rule leaves it to `pulumi up`."""
    rule = Rule(
        "test-unknown", "resource", "test", ("aws:s3/bucket:Bucket",), "d", HIGH, MANDATORY, "r", (), on_unknown,
        lambda _type, props, _config: [f"bad {props['acl']}"] if props["acl"] != "private" else [],
    )  # fmt: skip
    props = unknown_checking_proxy({"acl": UNKNOWN_STRING_VALUE})
    messages = rule.evaluate_resource("aws:s3/bucket:Bucket", props)
    assert len(messages) == expected
    if messages:
        assert messages[0].startswith("cannot be verified: string value at .acl can't be known during preview")
    assert rule.evaluate_resource("aws:s3/bucket:Bucket", unknown_checking_proxy({"acl": "public-read"})) == [
        "bad public-read"
    ]


def _ingress_plan(annotations: Any) -> Plan:
    ingress = "kubernetes:networking.k8s.io/v1:Ingress"
    return Plan.from_json(
        "prod",
        [{"urn": f"urn:pulumi:prod::ai-platform::{ingress}::api", "type": ingress, "name": "api",
          "inputs": {"metadata": {"name": "api", "annotations": annotations}}}],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("annotations", "violated"),
    [
        ({"alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/wafv2-acl-arn": UNKNOWN},
         False),
        ({"alb.ingress.kubernetes.io/scheme": "internet-facing"}, True),
        ({"alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/wafv2-acl-arn": ""}, True),
        ({"alb.ingress.kubernetes.io/scheme": UNKNOWN}, True),
        (UNKNOWN, True),
    ],
    ids=["acl-not-created-yet", "no-acl", "empty-acl", "scheme-unknown", "annotations-unknown"],
)  # fmt: skip
def test_a_web_acl_not_created_yet_protects_the_ingress_but_a_missing_one_does_not(
    annotations: Any, violated: bool
) -> None:
    """In a first preview the Ingress names the web ACL by an ARN AWS has not assigned yet: it is set, so the
    Ingress passes (`pulumi up` sees the ARN); a missing annotation, or one that cannot be read, still fails."""
    violations = evaluate(_ingress_plan(annotations), "prod").violations
    assert any(v.rule == "waf-public-entry-protected" for v in violations) is violated


def test_preview_builds_a_stack_not_a_saved_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--plan", str(FIXTURES / "public-database-plan.json"), "--preview"]) == 2
    assert "--preview builds a stack" in capsys.readouterr().err


def test_gate_of_a_first_preview_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "gate.json"
    assert main(["gate", "--stack", "staging", "--preview", "--json", str(report)]) == 0
    assert "gate PASS: stack staging (environment staging, as a first preview): " in capsys.readouterr().out
    data = json.loads(report.read_text())
    assert data["preview"] is True
    assert data["passed"] is True


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "gate.json"
    assert main(["gate", "--plan", str(FIXTURES / "public-database-plan.json"), "--json", str(report)]) == 1
    data = json.loads(report.read_text())
    assert data["passed"] is False
    assert data["environment"] == "prod"
    first = data["violations"][0]
    assert set(first) == {"rule", "severity", "enforcement", "urn", "message", "remediation"}
    assert first["rule"] == "rds-not-public"
    assert first["enforcement"] == "mandatory"
    assert first["severity"] == "critical"
    assert first["urn"] == "urn:pulumi:prod::ai-platform::aws:rds/instance:Instance::orders-db"


def test_environment_flag_overrides_the_tags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--plan", str(FIXTURES / "public-database-plan.json"), "--environment", "dev"]) == 1
    assert "(environment dev)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read the plan"),
        ("{not json", "not valid JSON"),
        ('{"resources": 3}', "expected a list of resources"),
        ('[{"type": "aws:s3/bucket:Bucket"}]', "resource #0 lacks urn, type or name"),
        ('[{"urn": "u", "type": "t", "name": "n", "inputs": [1]}]', "resource #0: inputs must be a map"),
        (
            '[{"urn": "u", "type": "t", "name": "n"}, {"urn": "u", "type": "t", "name": "n"}]',
            "URN u appears more than once",
        ),
        (
            '[{"urn": "urn:pulumi:x::p::aws:s3/bucket:Bucket::b", "type": "aws:s3/bucket:Bucket", "name": "b"}]',
            "cannot tell the plan's environment",
        ),
    ],
)
def test_bad_plan_file_is_a_user_error(
    tmp_path: Path, content: str | None, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    assert main(["gate", "--plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert error in err
    assert "Traceback" not in err


def test_unknown_stack_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--stack", "qa"]) == 2
    assert "Pulumi.qa.yaml: no such stack file" in capsys.readouterr().err


def test_environment_comes_from_the_tags() -> None:
    assert environment_of(read_plan_file(FIXTURES / "unencrypted-bucket-plan.json")) == "prod"


def test_policies_command_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"{len(RULES)} rules"
    assert "rds-not-public" in out
