"""IAM documents checked against AWS's own action catalogue (the Service Authorization Reference, shipped offline
in the policy-sentry package): every action exists, every resource ARN is one the action acts on, an action without
resource-level permissions is granted on `"*"` (scoped to ARNs, AWS denies it at run time), and every condition key
is one AWS evaluates for the action.

The catalogue answers three questions (`Catalogue`): which actions a name or wildcard denotes, the ARN formats of the
resource types an action supports (`*` when none), and the condition keys it supports (its own, its resource types',
and the global `aws:` keys of `GLOBAL_CONDITION_KEYS`). Lookups are cached: the whole stack is checked in well
under a second after the catalogue is loaded once.

Statements with `NotAction` (everything but these actions) get the existence check only; `NotResource` ARNs must
be ARNs the statement's actions act on (an exclusion nothing could match excludes nothing). A value unknown during
preview (`[unknown]`) passes.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy_sentry.querying.actions import get_action_data, get_actions_for_service
from policy_sentry.querying.all import get_all_service_prefixes
from policy_sentry.querying.arns import get_raw_arns_for_service
from policy_sentry.querying.conditions import get_condition_keys_for_service
from policy_sentry.util.conditions import is_condition_key_match
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from .core import HIGH, DocumentError, StackIndex, as_strings, document, items, mapping, stack_rule, statements

# Every input that holds an IAM policy document, by resource type (role: trust policy and inline policies apart).
POLICY_INPUTS: Mapping[str, tuple[str, ...]] = {
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
    "aws:kms/keyPolicy:KeyPolicy": ("policy",),
    "aws:kms/replicaKey:ReplicaKey": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:s3/bucket:Bucket": ("policy",),
    "aws:s3/bucketV2:BucketV2": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:sns/topic:Topic": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sqs/queue:Queue": ("policy",),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy",),
    "aws:ecr/registryPolicy:RegistryPolicy": ("policy",),
    "aws:backup/vaultPolicy:VaultPolicy": ("policy",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy",),
    "aws:secretsmanager/secret:Secret": ("policy",),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": ("policyDocument",),
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": ("policy",),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": ("policy",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("policy",),
    "aws:opensearch/domainPolicy:DomainPolicy": ("accessPolicies",),
}
# Global condition keys (IAM User Guide, "AWS global condition context keys"); `/` ends a prefix for tag keys.
GLOBAL_CONDITION_KEYS: tuple[str, ...] = (
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime", "aws:EpochTime",
    "aws:Ec2InstanceSourcePrivateIPv4", "aws:Ec2InstanceSourceVpc", "aws:FederatedProvider", "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList",
    "aws:PrincipalTag/", "aws:PrincipalType", "aws:referer", "aws:RequestedRegion", "aws:RequestTag/",
    "aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths", "aws:ResourceTag/", "aws:SecureTransport",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceIdentity", "aws:SourceIp", "aws:SourceOrgID",
    "aws:SourceOrgPaths", "aws:SourceVpc", "aws:SourceVpcArn", "aws:SourceVpce", "aws:TagKeys", "aws:TokenIssueTime",
    "aws:UserAgent", "aws:userid", "aws:username", "aws:ViaAWSService", "aws:VpcSourceIp", "aws:VpceAccount",
    "aws:VpceOrgID", "aws:VpceOrgPaths", "aws:IsMcpServiceAction", "aws:ViaAWSMCPService",
)  # fmt: skip
# Claims an OIDC identity provider's token exposes as `<issuer>:<claim>` keys in a web-identity trust policy.
WEB_IDENTITY_CLAIMS = frozenset({"amr", "aud", "azp", "email", "oaud", "sub"})
WEB_IDENTITY_ACTIONS = frozenset({"sts:assumerolewithwebidentity"})
UNKNOWN_MARKERS = ("[unknown]", UNKNOWN_STRING_VALUE)
SECRET_MASK = "[secret]"  # noqa: S105 - how the offline engine records a secret input
# AWS-owned resources whose ARNs carry no account although the format has `${Account}`: (service, resource prefix).
ACCOUNTLESS: tuple[tuple[str, str], ...] = (("ssm", "parameter/aws/"),)  # public parameters (AMI ids...)
SHOWN = 6  # how many allowed values a finding lists before "..."


# --- the catalogue --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionFacts:
    """What AWS says about one action: its resource types' ARN formats (empty: no resource-level permissions) and
    the condition keys it supports (its own and its resource types')."""

    name: str
    arn_formats: tuple[str, ...]
    condition_keys: tuple[str, ...]


@functools.cache
def service_actions(service: str) -> tuple[str, ...]:
    """Every action name of a service prefix, as AWS spells it (empty for an unknown service)."""
    if service.lower() not in get_all_service_prefixes():
        return ()
    return tuple(a.split(":", 1)[1] for a in get_actions_for_service(service.lower()))


@functools.cache
def expand(action: str) -> tuple[str, ...]:
    """The actions `service:Name` or a wildcard (`s3:Get*`, `kms:*`, `*`) denotes, as `service:Name`."""
    if action == "*":
        return ("*",)
    service, _, name = action.partition(":")
    pattern = _glob_parts(name.lower())
    return tuple(f"{service.lower()}:{n}" for n in service_actions(service) if _pattern_matches(pattern, n.lower()))


@functools.cache
def facts(action: str) -> ActionFacts:
    """The resource ARN formats and condition keys of one existing action (`service:Name`)."""
    service, name = action.split(":", 1)
    entries = get_action_data(service, name).get(service, [])
    arns = tuple(sorted({e["resource_arn_format"] for e in entries} - {"*"}))
    keys = tuple(sorted({k for e in entries for k in e["condition_keys"]}))
    return ActionFacts(action, arns, keys)


@functools.cache
def service_arn_formats(service: str) -> tuple[str, ...]:
    return tuple(get_raw_arns_for_service(service)) if service in get_all_service_prefixes() else ()


@functools.cache
def known_condition_key(key: str, actions: tuple[str, ...]) -> bool:
    """True when AWS evaluates `key` for at least one of `actions` (`*`: for any action of any service)."""
    lowered = key.lower()
    if any(lowered == g.lower() or (g.endswith("/") and lowered.startswith(g.lower())) for g in GLOBAL_CONDITION_KEYS):
        return True
    issuer, _, claim = key.rpartition(":")
    web_identity = "*" in actions or bool(WEB_IDENTITY_ACTIONS & {a.lower() for a in actions})
    if "." in issuer and claim in WEB_IDENTITY_CLAIMS and web_identity:
        return True  # `<oidc issuer>:sub` etc.: the federated identity provider's token claims
    if "*" in actions:
        service = key.split(":", 1)[0].lower()
        if service not in get_all_service_prefixes():
            return False
        return any(is_condition_key_match(k, key) for k in get_condition_keys_for_service(service))
    return any(is_condition_key_match(k, key) for action in actions for k in facts(action).condition_keys)


# --- ARN patterns ------------------------------------------------------------------------------------------------

STAR, ONE = "\x00*", "\x00?"  # a policy wildcard: any run of characters / exactly one


def _glob_parts(text: str) -> tuple[str, ...]:
    """A policy string as tokens: literal characters, `*`, `?`; a policy variable `${...}` counts as `*`."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i) and "}" in text[i:]:
            tokens.append(STAR)
            i = text.index("}", i) + 1
            continue
        tokens.append(STAR if text[i] == "*" else ONE if text[i] == "?" else text[i])
        i += 1
    return tuple(tokens)


def _pattern_matches(pattern: tuple[str, ...], text: str) -> bool:
    """fnmatch-like: does the token pattern match the literal text (`*` may span any character)."""
    return _overlap(pattern, tuple(text))


@functools.cache
def _format_parts(arn_format: str) -> tuple[str, ...]:
    """An ARN format's resource part as tokens: a placeholder `${...}` is one or more characters other than `:`
    (and `/` for `${BucketName}`: bucket names have none), kept as its name."""
    tokens: list[str] = []
    i = 0
    while i < len(arn_format):
        if arn_format.startswith("${", i) and "}" in arn_format[i:]:
            end = arn_format.index("}", i)
            tokens.append(arn_format[i : end + 1])
            i = end + 1
            continue
        tokens.append(arn_format[i])
        i += 1
    return tuple(tokens)


def _excluded(placeholder: str) -> str:
    return ":/" if placeholder == "${BucketName}" else ":"


def _overlap(policy: tuple[str, ...], fmt: tuple[str, ...]) -> bool:
    """True when some string matches both the policy pattern and the ARN-format pattern (a search over pairs of
    positions; a placeholder matches one or more allowed characters)."""
    seen: set[tuple[int, int, bool]] = set()
    stack = [(0, 0, False)]  # (policy position, format position, inside a placeholder that has consumed a char)
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j, inside = state
        if i == len(policy) and j == len(fmt):
            return True
        p = policy[i] if i < len(policy) else None
        f = fmt[j] if j < len(fmt) else None
        placeholder = f is not None and f.startswith("${")
        if p == STAR:
            stack.append((i + 1, j, inside))  # the star matches nothing more
        if placeholder and inside:
            stack.append((i, j + 1, False))  # the placeholder ends
        if p is None or f is None:
            continue
        # one character consumed on both sides
        if placeholder:
            if p in (STAR, ONE) or p not in _excluded(f):
                stack.append((i if p == STAR else i + 1, j, True))
        elif p in (STAR, ONE) or p == f:
            stack.append((i if p == STAR else i + 1, j + 1, False))
    return False


@functools.cache
def arn_matches(arn: str, arn_format: str) -> bool:
    """True when the policy ARN (with `*`/`?` wildcards) can name a resource of the ARN format."""
    if arn == "*":
        return True
    ours, theirs = arn.split(":", 5), arn_format.split(":", 5)
    if len(ours) < 6 or len(theirs) < 6:
        return False
    accountless = any(ours[2] == service and ours[5].startswith(prefix) for service, prefix in ACCOUNTLESS)
    for mine, documented in zip(ours[:5], theirs[:5], strict=True):
        if documented.startswith("${"):
            if mine == "" and not (documented == "${Account}" and accountless):
                return False
        elif not _pattern_matches(_glob_parts(mine.lower()), documented.lower()):
            return False
    return _overlap(_glob_parts(ours[5]), _format_parts(theirs[5]))


def _shown(values: Iterable[str]) -> str:
    listed = list(values)
    return ", ".join(listed[:SHOWN]) + (f" ... ({len(listed)} in all)" if len(listed) > SHOWN else "")


# --- one statement -----------------------------------------------------------------------------------------------


def _unknown(value: str) -> bool:
    return any(marker in value for marker in UNKNOWN_MARKERS)


def _condition_keys(statement: Mapping[str, Any]) -> list[str]:
    return [key for block in mapping(statement.get("Condition")).values() for key in mapping(block)]


def _similar_actions(action: str) -> str:
    """The service's actions closest to a misspelt one (all of them when none is close)."""
    service, _, name = action.partition(":")
    known = service_actions(service)
    if not known:
        return "a known service prefix"
    close = difflib.get_close_matches(name.rstrip("*"), known, n=SHOWN, cutoff=0.6) or list(known)
    return _shown(f"{service.lower()}:{n}" for n in close)


def statement_findings(statement: Mapping[str, Any]) -> Iterator[str]:
    """What AWS's catalogue says is wrong with one statement (no Sid/resource prefix)."""
    negated = statement.get("NotAction") is not None
    named = [a for a in as_strings(statement.get("NotAction" if negated else "Action")) if not _unknown(a)]
    actions: list[str] = []
    for action in named:
        denoted = expand(action)
        if not denoted:
            yield f"{action} is no AWS action; AWS allows: {_similar_actions(action)}"
        actions.extend(denoted)
    if negated:
        return  # the statement covers every other action: nothing more to attribute
    yield from _resource_findings(statement, named, tuple(sorted(set(actions))))
    for key in _condition_keys(statement):
        if not _unknown(key) and actions and not known_condition_key(key, tuple(sorted(set(actions)))):
            allowed = _shown(sorted({k for a in actions if a != "*" for k in facts(a).condition_keys}))
            yield f"condition key {key} is not evaluated for {_shown(named)}; AWS allows: aws:* global keys, {allowed}"


def _resource_findings(statement: Mapping[str, Any], named: list[str], actions: tuple[str, ...]) -> Iterator[str]:
    """Resource/NotResource against the ARN formats of the statement's actions."""
    negated = statement.get("NotResource") is not None
    arns = [r for r in as_strings(statement.get("NotResource" if negated else "Resource")) if not _unknown(r)]
    if not arns or "*" in actions:
        return
    for arn in arns:
        if arn != "*" and not arn.startswith("arn:"):
            yield f"resource {arn} is not an ARN; AWS allows: an ARN or *"
    arns = [a for a in arns if a == "*" or a.startswith("arn:")]
    for action in named:
        denoted = expand(action)
        formats = {f for a in denoted for f in facts(a).arn_formats}
        if not denoted or negated or "*" in arns:
            continue
        if not formats and "*" not in action:
            yield f'{action} supports no resource-level permissions; AWS allows: "Resource": "*" only'
        elif formats and not any(arn_matches(arn, f) for arn in arns for f in formats):
            yield f"{action} acts on none of {_shown(arns)}; AWS allows: {_shown(sorted(formats))}"
    formats_of_all = {f for a in actions for f in facts(a).arn_formats}
    for arn in arns:
        if arn != "*" and formats_of_all and not any(arn_matches(arn, f) for f in formats_of_all):
            allowed = _shown(sorted(formats_of_all))
            yield f"resource {arn} is none of the resource types of {_shown(named)}; AWS allows: {allowed}"


def document_findings(raw: Any) -> Iterator[str]:
    """Findings for one policy document (JSON text or a parsed map), each prefixed with its statement's Sid."""
    if isinstance(raw, str) and raw.strip() in (*UNKNOWN_MARKERS, SECRET_MASK):
        return  # not known during preview, or a secret the engine masked
    try:
        doc = document(raw)
    except DocumentError as error:
        yield str(error)
        return
    for index, statement in enumerate(statements(doc)):
        sid = statement.get("Sid") or f"#{index + 1}"
        for finding in statement_findings(statement):
            yield f"statement {sid}: {finding}"


def policy_documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, document) for every IAM document a resource's inputs hold."""
    for name in POLICY_INPUTS.get(resource_type, ()):
        if props.get(name) is not None:
            yield name, props.get(name)
    if resource_type == "aws:iam/role:Role":
        for inline in items(props.get("inlinePolicies")):
            if mapping(inline).get("policy") is not None:
                yield f"inline policy {mapping(inline).get('name', '?')}", mapping(inline).get("policy")


@stack_rule(
    id="iam-catalog-valid",
    area="identity",
    types=tuple(POLICY_INPUTS),
    description=(
        "IAM documents (identity, trust, key, bucket, topic, queue, repository, vault policies) use only actions, "
        "resource ARNs and condition keys AWS's action catalogue defines for each other."
    ),
    severity=HIGH,
    remediation=(
        "Use the action's documented resource types (Service Authorization Reference); grant actions without "
        'resource-level permissions on "*" (narrow them with supported condition keys instead); drop unknown '
        "actions and condition keys."
    ),
    controls=("IAM Access Analyzer policy validation",),
    on_unknown="pass",
)
def iam_catalog_valid(subject: PolicyResource | None, _index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert subject is not None
    for label, raw in policy_documents(subject.resource_type, subject.props):
        for finding in document_findings(raw):
            yield f"{subject.name} {label} {finding}"
