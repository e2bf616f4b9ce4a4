"""The rule model shared by the CrossGuard pack, the offline gate (`python -m ops gate`) and the tests.

A rule is a plain validation function over `(resource_type, props, config)` (props under the engine's camelCase
names) plus the metadata a reviewer needs: id, description, severity, default enforcement, remediation steps,
the controls it maps to, and whether a value unknown during preview counts as a pass or a failure.

Stack rules join resources that are only meaningful together (a bucket and its public-access block, a Deployment
and its PodDisruptionBudget, a stateful resource and the backup selection covering it) through their
dependencies: a companion depends on its subject because its inputs take the subject's id or ARN.

`Rule.policy()` turns a rule into the SDK's `ResourceValidationPolicy` / `StackValidationPolicy`; the pack
(`policy/__main__.py`) and the offline gate use exactly those objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

OnUnknown = Literal["pass", "fail"]
RuleKind = Literal["resource", "stack"]
MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
LOW, MEDIUM, HIGH, CRITICAL = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

# Tags the platform puts on every taggable resource (mirrors config.MANDATORY_TAG_KEYS; a test keeps
# them equal: the pack has its own requirements and cannot import the program).
MANDATORY_TAG_KEYS: tuple[str, ...] = ("project", "stack", "environment", "component", "managed-by")
# A bucket that receives S3 server access logs or load-balancer access logs: those services only write to
# SSE-S3 (AES256) buckets, so such a bucket is exempt from SSE-KMS (and from logging into itself).
LOG_DELIVERY_TAG = "ai-platform/log-delivery"

# Who created a resource, read from its URN's parent-type chain (`Platform$Addons$kubernetes:helm.sh/v4:Chart$...`):
# the platform program itself, pulumi-eks inside an `eks:index:*` component, or a Helm chart rendering its templates.
# The offline gate sees a remote component as one resource; a real preview also shows the pack everything the
# component creates, so a rule says which origins it judges (`Rule.origins`).
Origin = Literal["program", "eks", "chart"]
PROGRAM: Origin = "program"
EKS: Origin = "eks"
CHART: Origin = "chart"
ALL_ORIGINS: frozenset[Origin] = frozenset({PROGRAM, EKS, CHART})
HELM_CHART_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart")
EKS_COMPONENT_PREFIX = "eks:index:"

ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[PolicyResource | None, "StackIndex", Mapping[str, Any]], Iterable[str]]


def parent_types(urn: str | None) -> list[str]:
    """The types of a resource's ancestors, outermost first, from its URN
    (`urn:pulumi:<stack>::<project>::<parent>$<parent>$<type>::<name>`; names may contain `::`)."""
    parts = (urn or "").split("::", 3)
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        return []
    return parts[2].split("$")[:-1]


def origin_of(urn: str | None) -> Origin:
    """Which origin a resource has: rendered by a Helm chart, created by pulumi-eks, or declared by the program."""
    parents = parent_types(urn)
    if any(t in HELM_CHART_TYPES for t in parents):
        return CHART
    if any(t.startswith(EKS_COMPONENT_PREFIX) for t in parents):
        return EKS
    return PROGRAM


@dataclass(frozen=True)
class Param:
    """A rule setting that pack config may override per environment (e.g. minimum retention days)."""

    default: Any
    schema: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class Rule:
    """One policy: metadata plus a check. `kind` is "resource" (one resource at a time) or "stack" (joins)."""

    id: str
    kind: RuleKind
    area: str
    types: tuple[str, ...]
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    remediation: str
    controls: tuple[str, ...]
    on_unknown: OnUnknown
    check: Callable[..., Iterable[str]]
    params: Mapping[str, Param] = field(default_factory=dict)
    origins: frozenset[Origin] = ALL_ORIGINS

    # --- evaluation (the same code path for CrossGuard and the offline gate) --------------------------------

    def settings(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """Parameter defaults overlaid with pack config for this rule (enforcementLevel is not a setting)."""
        merged = {name: param.default for name, param in self.params.items()}
        for key, value in (config or {}).items():
            if key != "enforcementLevel":
                merged[key] = value
        return merged

    def applies_to(self, resource_type: str, urn: str | None = None) -> bool:
        """True for a resource of one of `types` whose origin (from its URN; none: the program) the rule judges."""
        return resource_type in self.types and origin_of(urn) in self.origins

    def evaluate_resource(
        self,
        resource_type: str,
        props: Mapping[str, Any],
        config: Mapping[str, Any] | None = None,
        urn: str | None = None,
    ) -> list[str]:
        """Messages for one resource; a value unknown during preview passes or fails as `on_unknown` says, and a
        malformed value (a number that is not one, a list that is a string) is a violation, never a crash."""
        if self.kind != "resource" or not self.applies_to(resource_type, urn):
            return []
        messages: list[str] = []
        try:
            messages.extend(self.check(resource_type, props, self.settings(config)))
        except UnknownValueError as unknown:
            if self.on_unknown == "fail":
                messages.append(f"cannot be verified: {unknown.message} (unknown counts as a violation for this rule)")
        except (TypeError, ValueError, AttributeError) as error:  # a malformed value fails closed, never crashes
            messages.append(f"malformed input, cannot be evaluated: {error}")
        return messages

    def evaluate_stack(
        self, resources: Sequence[PolicyResource], config: Mapping[str, Any] | None = None
    ) -> list[tuple[str | None, str]]:
        """(urn or None, message) pairs over a whole stack; unknowns are judged per subject resource."""
        if self.kind != "stack":
            return []
        index = StackIndex(resources)
        settings = self.settings(config)
        subjects: list[PolicyResource | None] = (
            [r for r in index.by_type(*self.types) if origin_of(r.urn) in self.origins] if self.types else [None]
        )
        found: list[tuple[str | None, str]] = []
        for subject in subjects:
            urn = subject.urn if subject is not None else None
            try:
                found.extend((urn, message) for message in self.check(subject, index, settings))
            except UnknownValueError as unknown:
                if self.on_unknown == "fail":
                    found.append(
                        (urn, f"cannot be verified: {unknown.message} (unknown counts as a violation for this rule)")
                    )
            except (TypeError, ValueError, AttributeError) as error:
                found.append((urn, f"malformed input, cannot be evaluated: {error}"))
        return found

    # --- the SDK object ---------------------------------------------------------------------------------------

    def framework(self) -> PolicyComplianceFramework:
        return PolicyComplianceFramework(
            name="AWS FSBP / CIS / Checkov", reference=", ".join(self.controls), specification=self.description
        )

    def config_schema(self) -> PolicyConfigSchema | None:
        if not self.params:
            return None
        return PolicyConfigSchema(
            properties={
                name: {**param.schema, "default": param.default, "description": param.description}
                for name, param in self.params.items()
            }
        )

    def policy(self) -> ResourceValidationPolicy | StackValidationPolicy:
        """The CrossGuard policy object running this rule (what `policy/__main__.py` puts in the pack)."""
        common: dict[str, Any] = {
            "name": self.id,
            "description": self.description,
            "enforcement_level": self.enforcement,
            "config_schema": self.config_schema(),
            "severity": self.severity,
            "framework": self.framework(),
            "tags": [self.area, *self.controls],
            "remediation_steps": self.remediation,
        }
        if self.kind == "resource":

            def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
                for message in self.evaluate_resource(args.resource_type, args.props, args.get_config(), args.urn):
                    report(message, None)

            return ResourceValidationPolicy(validate=validate_resource, **common)

        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
            for urn, message in self.evaluate_stack(args.resources, args.get_config()):
                report(message, urn)

        return StackValidationPolicy(validate=validate_stack, **common)


REGISTRY: list[Rule] = []


def _register(rule: Rule) -> Rule:
    if any(existing.id == rule.id for existing in REGISTRY):
        raise ValueError(f"duplicate rule id {rule.id}")
    REGISTRY.append(rule)
    return rule


def _declarer(kind: RuleKind, doc: str) -> Callable[..., Callable[[Any], Rule]]:
    """Build the `resource_rule` / `stack_rule` decorators: same metadata, different kind of check."""

    def declare(
        *,
        id: str,
        area: str,
        types: Sequence[str],
        description: str,
        severity: Severity,
        remediation: str,
        controls: Sequence[str],
        on_unknown: OnUnknown,
        enforcement: EnforcementLevel = MANDATORY,
        params: Mapping[str, Param] | None = None,
        origins: Iterable[Origin] = ALL_ORIGINS,
    ) -> Callable[[Any], Rule]:
        def wrap(check: Any) -> Rule:
            rule = Rule(
                id, kind, area, tuple(types), description, severity, enforcement, remediation, tuple(controls),
                on_unknown, check, dict(params or {}), frozenset(origins),
            )  # fmt: skip
            return _register(rule)

        return wrap

    declare.__doc__ = doc
    return declare


resource_rule = _declarer(
    "resource", "Declare a resource rule: the decorated function yields one message per violation."
)
stack_rule = _declarer(
    "stack", "Declare a stack rule: called once per resource of `types` (or once with None when `types` is empty)."
)


# --- joins ------------------------------------------------------------------------------------------------------


class StackIndex:
    """Queries over a stack's `PolicyResource`s: by type, and companions joined through dependencies."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = list(resources)

    def by_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]

    def dependents(self, subject: PolicyResource, *types: str) -> list[PolicyResource]:
        """Resources of `types` that depend on `subject` (directly or through a property dependency)."""
        found = []
        for resource in self.by_type(*types):
            linked = [d.urn for d in resource.dependencies]
            linked += [d.urn for deps in resource.property_dependencies.values() for d in deps]
            if subject.urn in linked:
                found.append(resource)
        return found


# --- reading props defensively -----------------------------------------------------------------------------------


def items(value: Any) -> list[Any]:
    """A list input as a list (None -> []); works on the SDK's unknown-checking list proxy."""
    if value is None or isinstance(value, (str | bytes, Mapping)):
        return [] if value is None else [value]
    if isinstance(value, Sequence):
        return [value[i] for i in range(len(value))]
    return [value]


def mapping(value: Any) -> Mapping[str, Any]:
    """A map input as a mapping (None or anything else -> {})."""
    return value if isinstance(value, Mapping) else {}


def dig(props: Mapping[str, Any], *path: str | int, default: Any = None) -> Any:
    """`props[a][b]...`, `default` where a key is missing; unknown values raise (through the proxy)."""
    current: Any = props
    for part in path:
        if isinstance(part, int):
            seq = items(current)
            if part >= len(seq):
                return default
            current = seq[part]
        elif isinstance(current, Mapping):
            if part not in current:
                return default
            current = current[part]
        else:
            return default
        if current is None:
            return default
    return current


def truthy(value: Any) -> bool:
    """True for True and "true" (some AWS inputs, e.g. launch-template EBS `encrypted`, are strings)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def tag(props: Mapping[str, Any], key: str) -> Any:
    tags = props.get("tags") if isinstance(props, Mapping) else None
    return tags.get(key) if isinstance(tags, Mapping) else None


def is_log_delivery(props: Mapping[str, Any]) -> bool:
    return str(tag(props, LOG_DELIVERY_TAG) or "").lower() == "true"


class DocumentError(ValueError):
    """A JSON policy document that does not parse."""


def document(value: Any) -> Mapping[str, Any]:
    """An IAM/KMS/S3 policy document from its JSON text (or an already-parsed map)."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        raise DocumentError(f"expected a JSON policy document, got {type(value).__name__}")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise DocumentError(f"policy document is not valid JSON ({error.msg})") from None
    if not isinstance(parsed, dict):
        raise DocumentError("policy document is not a JSON object")
    return parsed


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in items(doc.get("Statement")) if isinstance(s, Mapping)]


def as_strings(value: Any) -> list[str]:
    return [str(v) for v in items(value)]


def principals(statement: Mapping[str, Any]) -> list[str]:
    """Every principal of a statement, flattened (`"*"` stays `"*"`)."""
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [principal]
    found: list[str] = []
    for value in mapping(principal).values():
        found.extend(as_strings(value))
    return found


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Lower-cased condition keys of a statement, across operators."""
    keys: set[str] = set()
    for block in mapping(statement.get("Condition")).values():
        keys.update(k.lower() for k in mapping(block))
    return keys


SEMVER_PIN = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")


def iter_k8s_pod_spec(resource_type: str, props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The pod spec inside a workload manifest (Deployment, Rollout, Job, StatefulSet, DaemonSet, CronJob, Pod)."""
    kind = resource_type.rsplit(":", 1)[-1]
    if kind == "Pod":
        spec = dig(props, "spec")
    elif kind == "CronJob":
        spec = dig(props, "spec", "jobTemplate", "spec", "template", "spec")
    else:
        spec = dig(props, "spec", "template", "spec")
    if isinstance(spec, Mapping):
        yield spec


def containers(pod_spec: Mapping[str, Any], *, init: bool = True) -> list[Mapping[str, Any]]:
    found = [c for c in items(pod_spec.get("containers")) if isinstance(c, Mapping)]
    if init:
        found += [c for c in items(pod_spec.get("initContainers")) if isinstance(c, Mapping)]
    return found


def is_set(props: Mapping[str, Any], *path: str) -> bool:
    """True when the value at `path` is present and non-empty. An unknown value counts as set: during a real
    preview, a reference to a resource being created (a key ARN, a bucket id) is unknown but certainly given."""
    current: Any = props
    try:
        for part in path:
            if not isinstance(current, Mapping) or part not in set(iter(current)):
                return False
            current = current[part]
    except UnknownValueError:
        return True
    return current not in (None, "", [], {}) and not (isinstance(current, Sequence | Mapping) and len(current) == 0)


def tls_only_findings(
    subject: PolicyResource,
    index: StackIndex,
    policy_type: str,
    noun: str,
    what: str,
    denies_insecure: Callable[[Mapping[str, Any]], bool],
) -> Iterator[str]:
    """Findings for a bucket, topic or queue (`noun`) unless one of its `policy_type` resource policies denies plain
    HTTP (`denies_insecure` judges a document); `what` names the requests refused (requests, publishing)."""
    policies = index.dependents(subject, policy_type)
    if not policies:
        yield f"{noun} {subject.name} has no {noun} policy denying plain-HTTP {what}"
        return
    for policy in policies:
        try:
            if denies_insecure(document(policy.props.get("policy"))):
                return
        except DocumentError as error:
            yield f"{noun} {subject.name}'s policy: {error}"
            return
    yield f"{noun} {subject.name}'s policy does not deny aws:SecureTransport=false"


# Tag of a CloudTrail archive bucket (components/security): Object Lock keeps it, not backups or replication.
AUDIT_LOG_TAG = "ai-platform/audit-log"
OBJECT_LOCK_CONFIGURATION = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"


def locked_audit_archive(resource: PolicyResource, index: StackIndex) -> bool:
    """An audit-log bucket (tagged) whose every new object version is locked by a default retention."""
    if str(tag(resource.props, AUDIT_LOG_TAG) or "").lower() != "true":
        return False
    locks = index.dependents(resource, OBJECT_LOCK_CONFIGURATION)
    return any(is_set(lock.props, "rule", "defaultRetention") for lock in locks)
