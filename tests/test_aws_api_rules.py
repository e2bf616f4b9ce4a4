"""The AWS API rules (`policy/rules/aws_api.py`): the mapping table resolves in botocore's models, the stacks'
AWS types are covered, patterns are translated from Java faithfully, generated names are checked at their
generated length, unknowns skip only their input, and the shipped stacks pass.

The per-rule compliant/violating/unknown cases live in tests/aws_api_cases.py and run in tests/test_policy_rules.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as US

from ops.gate import evaluate
from policy.rules import RULES_BY_ID, aws_api
from policy.rules.aws_api import MAPPING, java_regex, model_constraint
from policy.rules.aws_api_documented import RDS_PI_RETENTION, S3_IA_TRANSITION, window_ok
from tests.aws_api_cases import AWS_API_CASES
from tests.test_policy_rules import run

ROWS = [(type_, row) for type_, rows in MAPPING.items() for row in rows]
LONG = "a-really-long-logical-name-for-a-role-that-pulumi-would-autoname-x"  # 66 chars

# AWS types the stacks declare whose inputs are only IDs, ARNs, CIDRs, booleans or JSON documents other rules judge:
# the API puts no length, pattern, enum or range on them that a value here could break.
UNCONSTRAINED = {
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",  # vpcId and (empty) rule lists
    "aws:ec2/internetGateway:InternetGateway",  # vpcId
    "aws:ec2/route:Route",  # route table, CIDR and gateway IDs
    "aws:ec2/routeTable:RouteTable",  # vpcId
    "aws:ec2/routeTableAssociation:RouteTableAssociation",  # IDs
    "aws:ec2/subnet:Subnet",  # CIDR, AZ, booleans
    "aws:ec2/vpc:Vpc",  # CIDR and booleans
    "aws:s3/bucketPolicy:BucketPolicy",  # bucket name (checked on the bucket) and a policy document
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",  # booleans
    "aws:s3/bucketVersioning:BucketVersioning",  # Pulumi also accepts "Disabled", which it never sends to S3
    "aws:sns/topicPolicy:TopicPolicy",  # topic ARN and a policy document
    "aws:sqs/queuePolicy:QueuePolicy",  # queue URL and a policy document
    "aws:acm/certificateValidation:CertificateValidation",  # an ARN and record names: no API call, ACM is polled
}


def _violations(plan_of: Any, stack: str) -> list[tuple[str, str, str]]:
    result = evaluate(plan_of(stack), stack)
    return [(v.rule, v.urn.rsplit("::", 1)[-1], v.message) for v in result.violations if v.rule.startswith("aws-api")]


# --- the table -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("type_", "row"), ROWS, ids=[f"{t.split(':')[-1]}.{r.prop}" for t, r in ROWS])
def test_every_mapping_row_exists_in_the_botocore_model(type_: str, row: aws_api.ApiField) -> None:
    constraint = model_constraint(row.service, row.operation, row.member)
    assert constraint.shape
    # A row that says nothing is useless: the model or the documentation must constrain the value.
    said = constraint.low, constraint.high, constraint.pattern, constraint.enum, row.documented
    assert any(x not in (None, ()) for x in said), f"{type_} {row.prop}: no constraint in the model or documented"


def test_a_typo_in_the_table_fails() -> None:
    with pytest.raises(KeyError, match="no member 'Descripton'"):
        model_constraint("ec2", "CreateSecurityGroup", "Descripton")
    with pytest.raises(ValueError, match="not a list"):
        model_constraint("ec2", "CreateSecurityGroup", "Description[]")
    with pytest.raises(Exception, match="CreateSecurityGrup"):
        model_constraint("ec2", "CreateSecurityGrup", "Description")


def test_each_type_maps_to_one_service_and_one_rule() -> None:
    for type_, rows in MAPPING.items():
        services = {row.service for row in rows}
        assert len(services) == 1, f"{type_}: {services}"
        assert type_ in RULES_BY_ID[f"aws-api-{services.pop()}"].types
    assert sorted(AWS_API_CASES) == sorted(f"aws-api-{s}" for s in aws_api.SERVICES)


def test_the_stacks_aws_types_are_covered(plan_of: Any, any_stack: str) -> None:
    declared = {r.type for r in plan_of(any_stack).resources if r.type.startswith("aws:")}
    assert sorted(declared - set(MAPPING) - UNCONSTRAINED) == [], "map these types in policy/rules/aws_api_table.py"


def test_service_models_load_once_per_process(plan_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    session = aws_api._session()
    real = session.get_service_model
    monkeypatch.setattr(session, "get_service_model", lambda name, *a, **k: loads.append(name) or real(name, *a, **k))
    aws_api.service_model.cache_clear()
    aws_api.model_constraint.cache_clear()
    for _ in range(2):
        evaluate(plan_of("prod"), "prod")
    assert sorted(loads) == sorted(set(loads)), loads
    assert set(loads) <= set(aws_api.SERVICES)


# --- Java patterns ---------------------------------------------------------------------------------------------


def test_java_shorthand_classes_are_ascii() -> None:
    regex = java_regex(r"[\w-]+")
    assert regex is not None
    assert regex.fullmatch("ai_platform-prod")
    assert not regex.fullmatch("caf\u00e9")  # Java's \w is ASCII; Python's would accept the é
    assert not java_regex(r"\s+").fullmatch("\u00a0")  # type: ignore[union-attr]
    assert java_regex(r"\D+").fullmatch("abc")  # type: ignore[union-attr]


def test_java_unicode_categories_are_translated() -> None:
    regex = java_regex(r"[\p{L}\p{N} _-]+")
    assert regex is not None
    assert regex.fullmatch("Gr\u00fc\u00dfe 42")
    assert not regex.fullmatch("a\u2014b")
    assert java_regex(r"\P{N}+").fullmatch("abc")  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="intersection"):
        java_regex("[a-z&&[^b]]")


def test_iam_description_refuses_what_latin_1_lacks() -> None:
    rule = RULES_BY_ID["aws-api-iam"]
    assert run(rule, ("aws:iam/role:Role", {"description": "caf\u00e9 r\u00f4le"})) == []
    [message] = run(rule, ("aws:iam/role:Role", {"description": "EKS nodes \u2192 ECR"}))
    assert "characters the API refuses: '\u2192'" in message


# --- security groups -----------------------------------------------------------------------------------------


def test_security_group_descriptions_refuse_what_ec2_refuses() -> None:
    rule = RULES_BY_ID["aws-api-ec2"]
    group = "aws:ec2/securityGroup:SecurityGroup"
    assert run(rule, (group, {"description": "nodes & pods: HTTPS [443] {VPC} #1 @ prod!"})) == []
    [message] = run(rule, (group, {"description": "nodes > pods"}))
    assert "characters the API refuses: '>'" in message
    assert "API_CreateSecurityGroup.html" in message
    # A rule's description may go to UserIdGroupPairs or PrefixListIds, which refuse "&".
    [message] = run(rule, (group, {"description": "ok", "ingress": [{"description": "nodes & pods"}]}))
    assert message.startswith("ingress[0].description 'nodes & pods': characters the API refuses: '&'")
    standalone = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert run(rule, (standalone, {"description": "PostgreSQL from the nodes security group"})) == []


def test_security_group_name_may_not_start_with_sg() -> None:
    [message] = run(RULES_BY_ID["aws-api-ec2"], ("aws:ec2/securityGroup:SecurityGroup", {"name": "sg-nodes"}))
    assert "not starting with sg-" in message


# --- generated names -----------------------------------------------------------------------------------------


def test_autonamed_name_is_checked_at_its_generated_length() -> None:
    rule = RULES_BY_ID["aws-api-iam"]
    urn = f"urn:pulumi:prod::ai-platform::aws:iam/role:Role::{LONG}"
    [message] = run(rule, ("aws:iam/role:Role", {"description": "d"}, urn))
    assert message.startswith("name 'a-really-long-logical-name")
    assert "(not set: the provider generates logical name + '-' + 7 random hex, 74 chars)" in message
    assert "length 74; allowed 1 to 64" in message
    assert run(rule, ("aws:iam/role:Role", {"name": "short"}, urn)) == []
    assert run(rule, ("aws:iam/role:Role", {"namePrefix": "short-"}, urn)) == []


def test_name_prefix_counts_the_providers_suffix() -> None:
    rule = RULES_BY_ID["aws-api-ec2"]
    template = "aws:ec2/launchTemplate:LaunchTemplate"
    assert run(rule, (template, {"namePrefix": "ai-platform-prod-system-"})) == []
    [message] = run(rule, (template, {"namePrefix": "x" * 103}))
    assert "(+ the provider's 26-character suffix: 129 chars)" in message


def test_s3_bucket_autoname_must_fit_63_characters() -> None:
    urn = "urn:pulumi:prod::ai-platform::aws:s3/bucket:Bucket::" + "b" * 56
    [message] = run(RULES_BY_ID["aws-api-s3"], ("aws:s3/bucket:Bucket", {}, urn))
    assert "3-63 of a-z" in message


# --- numbers, windows, lifecycles ------------------------------------------------------------------------------


def test_unknown_skips_only_its_own_input() -> None:
    [message] = run(RULES_BY_ID["aws-api-iam"], ("aws:iam/role:Role", {"description": US, "maxSessionDuration": 60}))
    assert message.startswith("maxSessionDuration 60: out of range; allowed 3600 to 43200")


def test_a_malformed_number_fails_closed() -> None:
    [message] = run(RULES_BY_ID["aws-api-kms"], ("aws:kms/key:Key", {"rotationPeriodInDays": "yearly"}))
    assert message.startswith("malformed input, cannot be evaluated")


@pytest.mark.parametrize(
    ("window", "weekly", "ok"),
    [
        ("03:00-03:30", False, True),
        ("23:45-00:15", False, True),
        ("03:00-03:29", False, False),
        ("3:00-4:00", False, False),
        ("24:00-01:00", False, False),
        ("sun:23:30-mon:00:00", True, True),
        ("Tue:09:00-Tue:10:00", True, True),
        ("tue:09:00-tue:09:10", True, False),
        ("tue:09:00-10:00", True, False),
        ("xyz:09:00-xyz:10:00", True, False),
    ],
)
def test_rds_windows(window: str, weekly: bool, ok: bool) -> None:
    assert window_ok(window, weekly) is ok


def test_rds_performance_insights_retention_values() -> None:
    assert RDS_PI_RETENTION.check is not None
    assert [v for v in (7, 31, 93, 713, 731) if not RDS_PI_RETENTION.check(v)] == []
    assert [v for v in (0, 8, 94, 744, 732) if RDS_PI_RETENTION.check(v)] == []


def test_s3_lifecycle_days() -> None:
    rule = RULES_BY_ID["aws-api-s3"]
    lifecycle = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    good = {
        "rules": [{"id": "tier", "status": "Enabled", "transitions": [{"days": 30, "storageClass": "STANDARD_IA"}]}]
    }
    assert run(rule, (lifecycle, good)) == []
    early = {
        "rules": [{"id": "tier", "status": "Enabled", "transitions": [{"days": 10, "storageClass": "ONEZONE_IA"}]}]
    }
    [message] = run(rule, (lifecycle, early))
    assert message.startswith("rules[0].transitions[0]")
    assert "30 days or more" in message
    assert S3_IA_TRANSITION.check is not None
    assert S3_IA_TRANSITION.check({"days": 0, "storageClass": "GLACIER"})
    zero = {"rules": [{"id": "x", "status": "Enabled", "expiration": {"days": 0}}]}
    [message] = run(rule, (lifecycle, zero))
    assert "rules[0].expiration.days 0: out of range; allowed: a positive whole number of days" in message


def test_backup_cold_storage_needs_90_more_days() -> None:
    rule = RULES_BY_ID["aws-api-backup"]
    plan = "aws:backup/plan:Plan"
    good = {"name": "p", "rules": [{"ruleName": "r", "lifecycle": {"coldStorageAfter": 30, "deleteAfter": 120}}]}
    assert run(rule, (plan, good)) == []
    bad = {"name": "p", "rules": [{"ruleName": "r", "lifecycle": {"coldStorageAfter": 30, "deleteAfter": 60}}]}
    [message] = run(rule, (plan, bad))
    assert message.startswith("rules[0].lifecycle ")
    assert "deleteAfter at least 90 days after coldStorageAfter" in message


def test_log_retention_must_be_a_cloudwatch_value() -> None:
    rule = RULES_BY_ID["aws-api-logs"]
    assert run(rule, ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/x", "retentionInDays": 731})) == []
    assert run(rule, ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/x", "retentionInDays": 730}))


# --- the shipped stacks ----------------------------------------------------------------------------------------


def test_stack_passes_the_aws_api_rules(plan_of: Any, any_stack: str) -> None:
    assert _violations(plan_of, any_stack) == []


def test_waf_descriptions_without_parentheses_pass() -> None:
    """The WAF refuses parentheses in descriptions (the stacks had them); the shipped wording passes."""
    rule = RULES_BY_ID["aws-api-wafv2"]
    assert run(rule, ("aws:wafv2/webAcl:WebAcl", {"description": "ai-api ALB (prod): blocklist"}))
    assert run(rule, ("aws:wafv2/webAcl:WebAcl", {"description": "ai-api ALB, prod: blocklist, rate limit"})) == []


def test_master_user_name_is_letters_and_digits_as_rds_documents() -> None:
    """RDS CreateDBCluster: MasterUsername is 1 to 16 letters or numbers, a letter first (no underscore)."""
    rule = RULES_BY_ID["aws-api-rds"]
    cluster = "aws:rds/cluster:Cluster"
    assert run(rule, (cluster, {"clusterIdentifier": "prod-database", "masterUsername": "platformadmin"})) == []
    assert run(rule, (cluster, {"clusterIdentifier": "prod-database", "masterUsername": "platform_admin"}))
    assert run(rule, (cluster, {"clusterIdentifier": "prod-database", "masterUsername": "a" * 17}))
