"""Identity: KMS keys per purpose, their policies, and the platform-wide IAM invariants (pinned web-identity
trust, no `*` action on `*`)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.identity import KEY_PURPOSES, key_policy
from lib.aws import AwsContext
from lib.iam import irsa_trust_policy
from tests.conftest import stack_config


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


AWS = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")


def statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_documents(plan) -> list[tuple[str, str]]:
    """(resource name, policy JSON) of every identity policy in the plan: inline, managed and role policies."""
    found = []
    for type_ in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy"):
        found += [(r.name, r.inputs["policy"]) for r in plan.by_type(type_)]
    return found


# --- KMS ------------------------------------------------------------------------------------------------------------


def test_one_rotating_protected_key_per_purpose(plan_of, any_stack) -> None:
    keys = plan_of(any_stack).by_type("aws:kms/key:Key")
    # The audit key exists only in the stack owning the account's trail (prod in the shipped files).
    owner = stack_config(any_stack).security.manage_account_security
    assert sorted(k.name.rsplit("-", 2)[-2] for k in keys) == sorted([*KEY_PURPOSES, *(["audit"] if owner else [])])
    window = stack_config(any_stack).identity.kms_deletion_window_days
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == window
        assert key.protect is True, "a key that encrypts state must survive `pulumi destroy`"
    assert {"dev": 7, "staging": 30, "prod": 30}[any_stack] == window


def test_key_policies_name_their_principals(plan_of) -> None:
    for key in plan_of("prod").by_type("aws:kms/key:Key"):
        for statement in statements(key.inputs["policy"]):
            principal = statement["Principal"]
            assert principal != "*", key.name
            assert principal != {"AWS": "*"}, key.name
            if "Service" in principal:
                assert "Condition" in statement, f"{key.name}: a service principal without a condition"
            else:
                assert principal == {"AWS": "arn:aws:iam::123456789012:root"}


def test_logs_key_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups() -> None:
    [_, logs] = statements(key_policy("logs", AWS))
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"}
    }
    assert "kms:*" not in as_list(logs["Action"])


def test_deletion_window_outside_the_kms_range_is_refused() -> None:
    from config import StackConfigError

    with pytest.raises(StackConfigError, match=r"ai-platform:identity.kms_deletion_window_days: 3 is out of range"):
        stack_config("dev", {"ai-platform:identity": {"kms_deletion_window_days": 3}})


# --- IAM invariants over every stack ------------------------------------------------------------------------------


def test_every_web_identity_trust_pins_subject_and_audience(plan_of, any_stack) -> None:
    roles = plan_of(any_stack).by_type("aws:iam/role:Role")
    web_identity = 0
    for role in roles:
        for statement in statements(role.inputs["assumeRolePolicy"]):
            if "sts:AssumeRoleWithWebIdentity" not in as_list(statement["Action"]):
                continue
            web_identity += 1
            exact = statement["Condition"]["StringEquals"]
            subs = [v for k, v in exact.items() if k.endswith(":sub")]
            auds = [v for k, v in exact.items() if k.endswith(":aud")]
            assert len(subs) == 1, role.name
            assert subs[0].startswith("system:serviceaccount:"), role.name
            assert "*" not in subs[0], f"{role.name}: a wildcard subject trusts more than one service account"
            assert auds == ["sts.amazonaws.com"], role.name
            assert "StringLike" not in statement["Condition"], role.name
            assert statement["Principal"]["Federated"].startswith("arn:aws:iam::123456789012:oidc-provider/")
    assert web_identity >= 5, "vpc-cni, EBS CSI, load balancer controller, Karpenter, external-secrets at least"


def test_no_policy_allows_every_action_on_every_resource(plan_of, any_stack) -> None:
    documents = iam_documents(plan_of(any_stack))
    assert documents
    for name, document in documents:
        for statement in statements(document):
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement.get("Action", []))
            assert "*" not in actions, f"{name}: Action '*'"
            assert not any(a.endswith(":*") for a in actions) or statement.get("Resource") != "*", (
                f"{name}: a whole service on every resource"
            )


def test_roles_trust_a_named_principal(plan_of) -> None:
    for role in plan_of("prod").by_type("aws:iam/role:Role"):
        for statement in statements(role.inputs["assumeRolePolicy"]):
            principal = statement["Principal"]
            assert principal != "*", role.name
            assert principal.get("AWS") != "*", role.name


# --- helpers --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer", ["https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "oidc.eks.us-east-1.amazonaws.com/id/ABC"]
)
def test_irsa_trust_policy_accepts_the_issuer_with_or_without_scheme(issuer: str) -> None:
    provider = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
    rendered: list[str] = []

    @pulumi.runtime.test
    def check() -> pulumi.Output[None]:
        return irsa_trust_policy(provider, issuer, "ai-api", "ai-api").apply(rendered.append)

    check()
    [statement] = statements(rendered[0])
    assert statement["Condition"]["StringEquals"] == {
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ai-api:ai-api",
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
    }
