"""Identity rules: KMS keys, IAM (policies, attachments, users, trust), Secrets Manager."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    CRITICAL,
    HIGH,
    MEDIUM,
    DocumentError,
    Param,
    StackIndex,
    as_strings,
    condition_keys,
    document,
    is_set,
    items,
    mapping,
    principals,
    resource_rule,
    stack_rule,
    statements,
    tag,
    truthy,
)  # fmt: skip

KMS_KEY = "aws:kms/key:Key"
IAM_ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_USER = "aws:iam/user:User"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ACCESS_KEY = "aws:iam/accessKey:AccessKey"
IAM_LOGIN_PROFILE = "aws:iam/userLoginProfile:UserLoginProfile"
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 - a type token
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"  # noqa: S105

ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AWSCloudFormationFullAccess")
KMS_SCOPING_CONDITIONS = {
    "kms:calleraccount", "kms:viaservice", "aws:principalorgid", "aws:principalaccount", "aws:sourceaccount",
    "aws:sourcearn", "kms:encryptioncontext:aws:logs:arn",
}  # fmt: skip
# A secret rotated by whoever issues it (e.g. a third-party API key) carries this tag with value "external".
ROTATION_TAG = "ai-platform/rotation"


# --- KMS --------------------------------------------------------------------------------------------------------


@resource_rule(
    id="kms-key-rotation",
    area="identity",
    types=(KMS_KEY,),
    description="Symmetric KMS keys rotate their key material at least yearly.",
    severity=MEDIUM,
    remediation="Set enable_key_rotation=True and rotation_period_in_days between 90 and 365.",
    controls=("FSBP KMS.4", "CIS 3.6", "CKV_AWS_7"),
    on_unknown="fail",
)
def kms_key_rotation(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return  # AWS rotates only symmetric encryption keys
    if not truthy(props.get("enableKeyRotation")):
        yield "enableKeyRotation is not true"
    elif (period := props.get("rotationPeriodInDays")) is not None and int(period) > 365:
        yield f"rotationPeriodInDays is {period}; at most 365"


@resource_rule(
    id="kms-no-lockout-bypass",
    area="identity",
    types=(KMS_KEY,),
    description="Key policies are never applied with the policy-lockout safety check bypassed.",
    severity=HIGH,
    remediation=(
        "Remove bypass_policy_lockout_safety_check (or set it False) and keep the account root in the key policy."
    ),
    controls=(),
    on_unknown="fail",
)
def kms_no_lockout_bypass(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if truthy(props.get("bypassPolicyLockoutSafetyCheck")):
        yield "bypassPolicyLockoutSafetyCheck is true: a bad key policy can make the key unmanageable forever"


@resource_rule(
    id="kms-deletion-window",
    area="identity",
    types=(KMS_KEY,),
    description="A scheduled key deletion waits at least the environment's minimum window (30 days in prod).",
    severity=MEDIUM,
    remediation="Set deletion_window_in_days to at least the minimum (pack config minimumDays; 7-30).",
    controls=("FSBP KMS.3",),
    on_unknown="fail",
    params={"minimumDays": Param(30, {"type": "integer", "minimum": 7, "maximum": 30}, "Minimum KMS deletion window.")},
)
def kms_deletion_window(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    days = props.get("deletionWindowInDays")
    if days is not None and int(days) < int(config["minimumDays"]):
        yield f"deletionWindowInDays is {days}; at least {config['minimumDays']}"


@resource_rule(
    id="kms-no-open-principal",
    area="identity",
    types=(KMS_KEY,),
    description="No key policy statement allows Principal * without scoping it to the account, a service or the org.",
    severity=CRITICAL,
    remediation=(
        "Name principals (the account root, roles, service principals) or add kms:CallerAccount / kms:ViaService."
    ),
    controls=("FSBP KMS.5", "CKV_AWS_33"),
    on_unknown="pass",
)
def kms_no_open_principal(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if props.get("policy") is None:
        return  # AWS's default key policy: the account root only
    try:
        doc = document(props.get("policy"))
    except DocumentError as error:
        yield str(error)
        return
    for statement in statements(doc):
        open_to_all = statement.get("Effect") == "Allow" and "*" in principals(statement)
        if open_to_all and not condition_keys(statement) & KMS_SCOPING_CONDITIONS:
            yield f"statement {statement.get('Sid', '(no Sid)')} lets anyone use or manage the key"


# --- IAM --------------------------------------------------------------------------------------------------------


def _policy_documents(resource_type: str, props: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    if resource_type == IAM_ROLE:
        for inline in items(props.get("inlinePolicies")):
            yield f"inline policy {mapping(inline).get('name', '?')}", mapping(inline).get("policy")
    else:
        yield "policy", props.get("policy")


@resource_rule(
    id="iam-no-wildcard-admin",
    area="identity",
    types=(IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, IAM_ROLE),
    description='No IAM policy allows Action "*" on Resource "*" (full administrator).',
    severity=CRITICAL,
    remediation="List the actions the workload needs on the ARNs it owns; never '*' on '*'.",
    controls=("FSBP IAM.1", "FSBP IAM.21", "CIS 1.16", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_290", "CKV_AWS_355"),
    on_unknown="pass",
)
def iam_no_wildcard_admin(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for label, raw in _policy_documents(resource_type, props):
        if raw is None:
            continue
        try:
            doc = document(raw)
        except DocumentError as error:
            yield f"{label}: {error}"
            continue
        for statement in statements(doc):
            if statement.get("Effect") != "Allow":
                continue
            actions, resources = as_strings(statement.get("Action")), as_strings(statement.get("Resource"))
            if {"*", "*:*"} & set(actions) and "*" in resources:
                yield f"{label}: statement {statement.get('Sid', '(no Sid)')} allows * on *"
            elif statement.get("NotAction") is not None and "*" in resources:
                sid = statement.get("Sid", "(no Sid)")
                yield f"{label}: statement {sid} allows everything but a few actions (NotAction) on *"


@resource_rule(
    id="iam-no-admin-attachments",
    area="identity",
    types=(*ATTACHMENTS, IAM_ROLE),
    description=(
        "No AWS-managed administrator policy (AdministratorAccess, PowerUserAccess, IAMFullAccess) is attached."
    ),
    severity=CRITICAL,
    remediation="Attach a least-privilege customer-managed or inline policy instead.",
    controls=("FSBP IAM.1", "CIS 1.16", "CKV_AWS_274"),
    on_unknown="pass",
)
def iam_no_admin_attachments(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    arns = (
        as_strings(props.get("managedPolicyArns")) if resource_type == IAM_ROLE else as_strings(props.get("policyArn"))
    )
    for arn in arns:
        if arn.rsplit("/", 1)[-1] in ADMIN_POLICIES and ":aws:policy/" in arn:
            yield f"{arn} grants administrator-level access"


@resource_rule(
    id="iam-no-users",
    area="identity",
    types=(IAM_USER, IAM_LOGIN_PROFILE),
    description="No IAM users: people use SSO, workloads use roles (IRSA / OIDC federation).",
    severity=HIGH,
    remediation=(
        "Delete the user; give the workload an IAM role (IRSA) or the person an IAM Identity Center permission set."
    ),
    controls=("FSBP IAM.2", "CIS 1.15", "CKV_AWS_273"),
    on_unknown="fail",
)
def iam_no_users(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    yield f"{resource_type.rsplit(':', 1)[-1]} declared: long-lived IAM identities are not allowed"


@resource_rule(
    id="iam-no-access-keys",
    area="identity",
    types=(IAM_ACCESS_KEY,),
    description="No IAM access keys (long-lived credentials) are created.",
    severity=CRITICAL,
    remediation="Use role-based, short-lived credentials (IRSA, GitHub OIDC); never a key in state.",
    controls=("FSBP IAM.3", "CIS 1.14", "CKV_AWS_273"),
    on_unknown="fail",
)
def iam_no_access_keys(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    yield "an access key is a long-lived credential (and its secret would live in state)"


def _pinned(values: list[str]) -> bool:
    return bool(values) and not any(v == "*" or v.startswith("*") or v.endswith(":*") for v in values)


@resource_rule(
    id="iam-web-identity-trust-pinned",
    area="identity",
    types=(IAM_ROLE,),
    description="A role trusted through web identity (OIDC: IRSA, GitHub) pins both the token's :sub and :aud.",
    severity=CRITICAL,
    remediation=(
        "Condition StringEquals {'<issuer>:sub': 'system:serviceaccount:<ns>:<sa>', '<issuer>:aud': "
        "'sts.amazonaws.com'} (components.identity.irsa_trust_policy)."
    ),
    controls=("CKV_AWS_358",),
    on_unknown="pass",
)
def iam_web_identity_trust_pinned(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    try:
        doc = document(props.get("assumeRolePolicy"))
    except DocumentError as error:
        yield f"assumeRolePolicy: {error}"
        return
    for statement in statements(doc):
        actions = as_strings(statement.get("Action"))
        federated = as_strings(mapping(statement.get("Principal")).get("Federated"))
        if statement.get("Effect") != "Allow" or not (federated or "sts:AssumeRoleWithWebIdentity" in actions):
            continue
        conditions = mapping(statement.get("Condition"))
        exact = {k.lower(): as_strings(v) for k, v in mapping(conditions.get("StringEquals")).items()}
        like = {k.lower(): as_strings(v) for k, v in mapping(conditions.get("StringLike")).items()}
        sub = next((v for k, v in {**like, **exact}.items() if k.endswith(":sub")), [])
        aud = next((v for k, v in exact.items() if k.endswith(":aud")), [])
        sid = statement.get("Sid", "(no Sid)")
        if not _pinned(sub):
            yield f"statement {sid}: the token's :sub is not pinned (any identity of the issuer could assume the role)"
        if not _pinned(aud):
            yield f"statement {sid}: the token's :aud is not pinned with StringEquals"


@resource_rule(
    id="iam-trust-no-open-principal",
    area="identity",
    types=(IAM_ROLE,),
    description="No role trust policy lets any AWS principal (Principal *) assume it.",
    severity=CRITICAL,
    remediation="Name the trusted principal (service, account role, OIDC provider) in the trust policy.",
    controls=("CKV_AWS_60", "CKV_AWS_61"),
    on_unknown="pass",
)
def iam_trust_no_open_principal(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    try:
        doc = document(props.get("assumeRolePolicy"))
    except DocumentError:
        return  # reported by iam-web-identity-trust-pinned
    for statement in statements(doc):
        open_to_all = statement.get("Effect") == "Allow" and "*" in principals(statement)
        if open_to_all and "aws:principalorgid" not in condition_keys(statement):
            yield f"statement {statement.get('Sid', '(no Sid)')} lets any AWS principal assume the role"


# --- Secrets Manager --------------------------------------------------------------------------------------------


@resource_rule(
    id="secretsmanager-cmk",
    area="identity",
    types=(SECRET,),
    description="Secrets are encrypted with a customer-managed KMS key.",
    severity=MEDIUM,
    remediation="Set kms_key_id to the platform key of the secret's data class (database, storage...).",
    controls=("CKV_AWS_149",),
    on_unknown="pass",
)
def secretsmanager_cmk(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "kmsKeyId"):
        yield "kmsKeyId is not set: the secret uses the AWS-managed aws/secretsmanager key"


@stack_rule(
    id="secretsmanager-rotation",
    area="identity",
    types=(SECRET,),
    description=f"Secrets rotate automatically (a secret rotated by its issuer is tagged {ROTATION_TAG}=external).",
    severity=MEDIUM,
    remediation=(
        "Declare aws.secretsmanager.SecretRotation(secret_id=s.id, rotation_rules={'automatically_after_days': <=90})."
    ),
    controls=("FSBP SecretsManager.1", "FSBP SecretsManager.4", "CKV2_AWS_57"),
    on_unknown="pass",
    params={"maximumDays": Param(90, {"type": "integer", "minimum": 1, "maximum": 365}, "Longest rotation interval.")},
)
def secretsmanager_rotation(
    secret: PolicyResource | None, index: StackIndex, config: Mapping[str, Any]
) -> Iterable[str]:
    assert secret is not None
    if str(tag(secret.props, ROTATION_TAG) or "") == "external":
        return
    rotations = index.dependents(secret, SECRET_ROTATION)
    if not rotations:
        yield f"secret {secret.name} never rotates (no SecretRotation)"
        return
    days = mapping(rotations[0].props.get("rotationRules")).get("automaticallyAfterDays")
    if days is not None and int(days) > int(config["maximumDays"]):
        yield f"secret {secret.name} rotates every {days} days; at most {config['maximumDays']}"
