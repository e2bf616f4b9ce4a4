"""`ai-platform:api`: the ai-api workload, its release strategy, edge (ALB, TLS, WAF), image and settings."""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.errors import FieldError
from config.namespaces import RESERVED_NAMESPACES
from config.types import (
    CpuQuantity,
    IntOrPercent,
    LogRetentionDays,
    MemoryQuantity,
    Section,
    cpu_millicores,
    memory_bytes,
)

DeliveryStrategy = Literal["rolling", "blue-green", "canary"]
# Image tags that name a moving target (a branch or a channel, not a build): never deployed outside dev.
MUTABLE_IMAGE_TAGS = frozenset(
    {"latest", "main", "master", "develop", "dev", "head", "edge", "nightly", "stable", "staging", "prod",
     "production", "release", "current", "canary", "test", "snapshot"}
)  # fmt: skip
# ALB TLS policies that allow only TLS 1.2+ with forward-secret AEAD ciphers (TLS 1.3 where supported).
ALB_SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
# Rules of AWSManagedRulesCommonRuleSet that may be switched to count (an AI API takes large prompt bodies).
WAF_COMMON_RULES = (
    "NoUserAgent_HEADER", "UserAgent_BadBots_HEADER", "SizeRestrictions_QUERYSTRING", "SizeRestrictions_Cookie_HEADER",
    "SizeRestrictions_BODY", "SizeRestrictions_URIPATH", "EC2MetaDataSSRF_BODY", "EC2MetaDataSSRF_COOKIE",
    "EC2MetaDataSSRF_URIPATH", "EC2MetaDataSSRF_QUERYARGUMENTS", "GenericLFI_QUERYARGUMENTS", "GenericLFI_URIPATH",
    "GenericLFI_BODY", "RestrictedExtensions_URIPATH", "RestrictedExtensions_QUERYARGUMENTS",
    "GenericRFI_QUERYARGUMENTS", "GenericRFI_BODY", "GenericRFI_URIPATH", "CrossSiteScripting_COOKIE",
    "CrossSiteScripting_QUERYARGUMENTS", "CrossSiteScripting_BODY", "CrossSiteScripting_URIPATH",
)  # fmt: skip


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "DATABASE_URL")


def _check_namespace(name: str) -> str:
    """Allowed: a DNS label (lowercase letters, digits, -), not default or kube-*."""
    if not re.fullmatch(_DNS_LABEL, name) or name == "default" or name.startswith("kube-"):
        raise ValueError(f"{name!r} is not a usable namespace; allowed: a DNS label, not default or kube-*")
    return name


def _check_workload_namespace(name: str) -> str:
    if name in RESERVED_NAMESPACES:
        raise ValueError(
            f"{name!r} is not a usable namespace: the platform or Kubernetes owns it; allowed: a DNS label "
            f"other than {', '.join(RESERVED_NAMESPACES)} or kube-*"
        )
    return _check_namespace(name)


_check_workload_namespace.__doc__ = (
    f"Allowed: a DNS label (lowercase letters, digits, -), not kube-* nor a namespace the platform owns "
    f"({', '.join(RESERVED_NAMESPACES)})."
)


def _check_hostname(name: str) -> str:
    """Allowed: a lowercase fully qualified DNS name, e.g. api.example.com."""
    labels = name.split(".") if isinstance(name, str) else []
    if len(labels) < 2 or len(name) > 253 or not all(re.fullmatch(_DNS_LABEL, label) for label in labels):
        raise ValueError(f"{name!r} is not a DNS name; allowed: a lowercase fully qualified name like api.example.com")
    return name


def _check_certificate_arn(arn: str) -> str:
    """Allowed: arn:aws:acm:<the stack's region>:<12-digit account>:certificate/<uuid>."""
    pattern = r"arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}"
    if not isinstance(arn, str) or not re.fullmatch(pattern, arn):
        raise ValueError(
            f"{arn!r} is not an ACM certificate ARN; allowed: arn:aws:acm:<region>:<12-digit account>:certificate/<id>"
        )
    return arn


def _check_settings(settings: dict[str, str]) -> dict[str, str]:
    """Allowed: map of environment-variable names ([A-Z][A-Z0-9_]*) to text; no secret-looking names (PASSWORD,
    TOKEN, ...)."""
    for key in settings:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"{key!r} is not an environment variable name; allowed: [A-Z][A-Z0-9_]*")
        if any(word in key for word in _SECRET_WORDS):
            raise ValueError(
                f"{key} looks like a secret, which never goes in stack config; allowed: non-secret settings "
                "(secrets come from AWS Secrets Manager through external-secrets)"
            )
    return settings


def _check_flags(flags: dict[str, str | bool | int]) -> dict[str, str | bool | int]:
    """Allowed: map of names ([a-zA-Z0-9_.-], 1-128 chars) to text (1-4096 chars), true/false or a number."""
    for key, value in flags.items():
        if not re.fullmatch(r"[a-zA-Z0-9_.-]{1,128}", key):
            raise ValueError(f"flag {key!r} is not a parameter name; allowed: [a-zA-Z0-9_.-], 1-128 chars")
        if isinstance(value, str) and not 1 <= len(value) <= 4096:
            raise ValueError(
                f"flag {key} value must be 1-4096 characters; allowed: a short string, true/false or a number"
            )
    return flags


class ApiRequests(Section):
    """What the scheduler reserves per pod (and what the HPA's CPU target is relative to)."""

    cpu: CpuQuantity = Field("250m", description="CPU request, e.g. 250m or 0.5.")
    memory: MemoryQuantity = Field("512Mi", description="Memory request, e.g. 512Mi or 1Gi.")


class ApiLimits(Section):
    """The most a pod may use (CPU is throttled above it; memory above it is an OOM kill)."""

    cpu: CpuQuantity = Field("500m", description="CPU limit.")
    memory: MemoryQuantity = Field("1Gi", description="Memory limit.")


class ApiResourcesConfig(Section):
    """Requests and limits of the ai-api container (Kubernetes quantities); each key can be set on its own."""

    requests: ApiRequests = Field(default_factory=ApiRequests, description="Requests per pod.")
    limits: ApiLimits = Field(default_factory=ApiLimits, description="Limits per pod.")

    @model_validator(mode="after")
    def _check(self) -> ApiResourcesConfig:
        if cpu_millicores(self.requests.cpu) > cpu_millicores(self.limits.cpu):
            raise FieldError(
                "requests.cpu", f"{self.requests.cpu} exceeds limits.cpu {self.limits.cpu}; allowed: <= the limit"
            )
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            raise FieldError(
                "requests.memory",
                f"{self.requests.memory} exceeds limits.memory {self.limits.memory}; allowed: <= the limit",
            )
        return self


class ApiImageConfig(Section):
    """The ai-api image in the project's ECR repository: an immutable tag, a digest, or both (digest wins)."""

    tag: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="Image tag, e.g. 1.4.2 or a git SHA."
    )
    digest: str | None = Field(None, pattern=r"^sha256:[0-9a-f]{64}$", description="Image digest sha256:<64 hex>.")

    @model_validator(mode="after")
    def _check(self) -> ApiImageConfig:
        if self.tag is None and self.digest is None:
            raise FieldError("tag", "neither tag nor digest is set; allowed: an immutable tag and/or sha256:<64 hex>")
        return self


class ApiHpaConfig(Section):
    """HorizontalPodAutoscaler: replica bounds, CPU target and how fast it scales each way."""

    min_replicas: int = Field(3, ge=1, le=100, description="Fewest pods.")
    max_replicas: int = Field(20, ge=1, le=500, description="Most pods (a cost ceiling).")
    cpu_target_percent: int = Field(70, ge=1, le=100, description="Average CPU utilisation (of requests) to hold.")
    scale_up_stabilization_seconds: int = Field(0, ge=0, le=3600, description="Look-back before scaling up.")
    scale_down_stabilization_seconds: int = Field(300, ge=0, le=3600, description="Look-back before scaling down.")
    scale_up_percent: int = Field(100, ge=1, le=1000, description="Most pods added per period, as % of current.")
    scale_down_percent: int = Field(10, ge=1, le=100, description="Most pods removed per period, as % of current.")
    period_seconds: int = Field(60, ge=1, le=1800, description="Period of the scale-up/down policies.")

    @model_validator(mode="after")
    def _check(self) -> ApiHpaConfig:
        if self.min_replicas > self.max_replicas:
            raise FieldError(
                "min_replicas",
                f"{self.min_replicas} exceeds max_replicas {self.max_replicas}; allowed: <= max_replicas",
            )
        return self


class ApiRollingConfig(Section):
    """`rolling` strategy: a Deployment's rolling update."""

    max_surge: IntOrPercent = Field("25%", description="Extra pods during an update (count or %).")
    max_unavailable: IntOrPercent = Field(0, description="Pods that may be unavailable during an update.")

    @model_validator(mode="after")
    def _check(self) -> ApiRollingConfig:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            raise FieldError("max_surge", "max_surge and max_unavailable are both 0; allowed: at least one above 0")
        return self


class ApiCanaryConfig(Section):
    """`canary` strategy: pauses after the 5%, 25% and 50% traffic steps (100% follows the last pause)."""

    pause_minutes: tuple[int, int, int] = Field(
        (5, 10, 10), description="Minutes to hold at 5%, 25% and 50% (each 1-1440) while analysis runs."
    )

    @model_validator(mode="after")
    def _check(self) -> ApiCanaryConfig:
        if not all(1 <= minutes <= 1440 for minutes in self.pause_minutes):
            raise FieldError("pause_minutes", f"{list(self.pause_minutes)} out of range; allowed: three values 1-1440")
        return self


class ApiBlueGreenConfig(Section):
    """`blue-green` strategy: preview stack, promotion and how long the old version stays up."""

    auto_promotion: bool = Field(False, description="Promote automatically once the pre-promotion analysis passes.")
    scale_down_delay_seconds: int = Field(
        1800, ge=30, le=86400, description="How long the old version keeps running after promotion (instant rollback)."
    )
    preview_replicas: int | None = Field(
        None, ge=1, le=100, description="Pods of the preview version before promotion; default: as many as active."
    )


class ApiAnalysisConfig(Section):
    """The Prometheus analysis that gates canary steps and blue-green promotion; it queries the observability stack's
    Prometheus (`ai-platform:observability`), which scrapes the pods' `/metrics` on the metrics port."""

    interval_seconds: int = Field(60, ge=15, le=600, description="Time between measurements.")
    failure_limit: int = Field(1, ge=0, le=10, description="Failed measurements tolerated before aborting.")
    success_rate_min: float = Field(0.99, gt=0, le=1, description="Lowest share of non-5xx responses (0-1].")
    p99_latency_max_seconds: float = Field(1.0, gt=0, le=120, description="Highest p99 request latency (seconds).")
    prepromotion_measurements: int = Field(5, ge=1, le=60, description="Measurements of the blue-green analysis.")
    request_metric: str = Field(
        "http_requests_total", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="Counter of requests (label `code`)."
    )
    latency_metric: str = Field(
        "http_request_duration_seconds", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        description="Histogram of request latency in seconds (without `_bucket`).",
    )  # fmt: skip


class ApiWafConfig(Section):
    """The regional WAF web ACL in front of the ALB."""

    rate_limit: int = Field(2000, ge=10, le=2_000_000_000, description="Requests per IP per window before blocking.")
    rate_limit_window_seconds: Literal[60, 120, 300, 600] = Field(300, description="Window of the rate-based rule.")
    common_rules_count_only: tuple[str, ...] = Field(
        ("SizeRestrictions_BODY",),
        description="Common-rule-set rules that only count (bodies over 8 KB are normal for prompts).",
        json_schema_extra={"allowed": "rule names of AWSManagedRulesCommonRuleSet (SizeRestrictions_BODY, ...)"},
    )
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the WAF log group.")

    @model_validator(mode="after")
    def _check(self) -> ApiWafConfig:
        unknown = [rule for rule in self.common_rules_count_only if rule not in WAF_COMMON_RULES]
        if unknown:
            raise FieldError(
                "common_rules_count_only",
                f"{', '.join(unknown)} not in the common rule set; allowed: {', '.join(WAF_COMMON_RULES)}",
            )
        return self


class ApiEcrConfig(Section):
    """The ai-api ECR repository."""

    keep_last_images: int = Field(100, ge=1, le=10000, description="Images kept; older ones expire (lifecycle policy).")
    untagged_expire_days: int = Field(7, ge=1, le=365, description="Days before untagged images expire.")
    mutable_tag_filters: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9._*-]{1,128}$")], ...] = Field(
        (), description="Tag patterns exempt from immutability (IMMUTABLE_WITH_EXCLUSION), e.g. latest in dev."
    )
    protect: bool = Field(True, description="Pulumi `protect` on the repository (its images are releases).")


# An ALB fixed response carries at most 1024 characters of body (Elastic Load Balancing FixedResponseActionConfig).
FIXED_RESPONSE_BODY_MAX = 1024


class ApiMaintenanceConfig(Section):
    """What clients get while `maintenance_mode` is on: the ALB answers 503 with this JSON body itself.

    An ALB fixed response has a status, a content type and a body, and no custom headers, so the retry hint travels
    in the body (`retry_after_seconds`), not in a `Retry-After` header.
    """

    message: str = Field(
        "The API is down for scheduled maintenance. Please retry later.",
        min_length=1, pattern=r"^[^\x00-\x1f]+$",
        description="Human-readable text of the 503 body (one line, no control characters; the whole JSON body "
        "must fit the ALB's 1024 characters).",
    )  # fmt: skip
    retry_after_seconds: int = Field(
        900, ge=60, le=86_400, description="Seconds clients are told to wait (`retry_after_seconds` in the body)."
    )

    @model_validator(mode="after")
    def _fits(self) -> ApiMaintenanceConfig:
        if len(self.body()) > FIXED_RESPONSE_BODY_MAX:
            raise FieldError(
                "message",
                f"the 503 body would be {len(self.body())} characters; allowed: a message whose JSON body fits "
                f"{FIXED_RESPONSE_BODY_MAX} characters (an ALB fixed response's limit)",
            )
        return self

    def body(self) -> str:
        """The fixed response's JSON body (compact, at most `FIXED_RESPONSE_BODY_MAX` characters)."""
        return json.dumps(
            {"error": "maintenance", "message": self.message, "retry_after_seconds": self.retry_after_seconds},
            separators=(",", ":"),
        )


class ApiSecretConfig(Section):
    """One application secret of the ai-api: a Secrets Manager secret `ai-platform/<stack>/ai-api/<name>` (its value
    never in config), synced by external-secrets and mounted read-only as files under `/var/run/secrets/ai-api/<name>/`.
    """

    name: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Secret name (a DNS label): the Secrets Manager name's last part and the directory of its files.",
    )
    source: Literal["generated", "provider"] = Field(
        "generated",
        description="generated: a random API key the rotation Lambda creates and rotates every security.rotation.days "
        "(files api_key and previous_api_key); provider: a third-party key an operator puts as JSON "
        '{"api_key": ...} and rotates at the provider (README "Secret rotation").',
    )
    length: int = Field(48, ge=32, le=128, description="Characters of a generated key (letters and digits).")
    description: str = Field("", max_length=200, description="What the secret is for (shown in Secrets Manager).")


class ApiConfig(Section):
    """`ai-platform:api`: the ai-api workload, its release strategy, edge (ALB, TLS, WAF) and image.

    Optional: a stack without this section runs the platform alone. With it, `image` (a tag or a digest) and
    `domain_name` must be set, and a certificate: `certificate_arn`, or the `ai-platform:dns` zone issues one;
    `blue-green` and `canary` need Argo Rollouts and the observability
    stack (their analyses query its Prometheus), and the workload
    needs the load balancer controller and external-secrets add-ons.
    """

    namespace: Annotated[str, AfterValidator(_check_workload_namespace)] = Field(
        "ai-api", description="Kubernetes namespace."
    )
    strategy: DeliveryStrategy = Field("canary", description="Release strategy: rolling, blue-green or canary.")
    replicas: int = Field(3, ge=1, le=100, description="Pods at creation (the HPA moves them within its bounds).")
    image: ApiImageConfig = Field(description="Image tag and/or digest in the project's ECR repository (required).")
    resources: ApiResourcesConfig = Field(default_factory=ApiResourcesConfig, description="Requests and limits.")
    hpa: ApiHpaConfig = Field(default_factory=ApiHpaConfig, description="Horizontal pod autoscaling.")
    pdb_max_unavailable: IntOrPercent = Field(
        1, description="PodDisruptionBudget: pods a voluntary disruption may take (count or %)."
    )
    rolling: ApiRollingConfig = Field(default_factory=ApiRollingConfig, description="`rolling` strategy settings.")
    canary: ApiCanaryConfig = Field(default_factory=ApiCanaryConfig, description="`canary` strategy settings.")
    blue_green: ApiBlueGreenConfig = Field(default_factory=ApiBlueGreenConfig, description="`blue-green` settings.")
    analysis: ApiAnalysisConfig = Field(default_factory=ApiAnalysisConfig, description="Release analysis thresholds.")
    domain_name: Annotated[str, AfterValidator(_check_hostname)] = Field(
        description="Public host name the ALB serves; with `ai-platform:dns` the platform points it at the ALB, "
        "without it point its DNS record at the ALB yourself (kubectl get ingress -n ai-api)."
    )
    certificate_arn: Annotated[str, AfterValidator(_check_certificate_arn)] | None = Field(
        None,
        description="An ACM certificate made elsewhere (same region as the stack) covering domain_name; none: the "
        "platform issues one through the `ai-platform:dns` zone.",
    )
    ssl_policy: Literal[ALB_SSL_POLICIES] = Field(  # type: ignore[valid-type]
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description="ALB TLS policy (TLS 1.2+ only)."
    )
    waf: ApiWafConfig = Field(default_factory=ApiWafConfig, description="WAF web ACL.")
    ecr: ApiEcrConfig = Field(default_factory=ApiEcrConfig, description="ECR repository.")
    feature_flags: Annotated[dict[str, str | bool | int], AfterValidator(_check_flags)] = Field(
        default_factory=dict, description="Flags written to SSM under /ai-platform/<stack>/ai-api/flags/<name>."
    )
    settings: Annotated[dict[str, str], AfterValidator(_check_settings)] = Field(
        default_factory=lambda: {"LOG_LEVEL": "info"}, description="Non-secret environment (ConfigMap)."
    )
    database_sslmode: Literal["require", "verify-ca", "verify-full"] = Field(
        "verify-full", description="libpq sslmode of the pods' connections, PGSSLMODE (TLS is always required)."
    )
    database_ca_bundle_path: str = Field(
        "/etc/ssl/certs/rds-global-bundle.pem", pattern=r"^/[A-Za-z0-9_./-]+$",
        description="Path of the RDS CA bundle in the image (PGSSLROOTCERT; verify-ca/verify-full): ship AWS's "
        "global-bundle.pem there, or use sslmode require.",
    )  # fmt: skip
    zone_spread: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(
        "DoNotSchedule",
        description="Spread pods over zones strictly (DoNotSchedule) or best effort; over nodes always best effort.",
    )
    termination_grace_period_seconds: int = Field(60, ge=10, le=3600, description="Time to drain before SIGKILL.")
    pre_stop_sleep_seconds: int = Field(
        15, ge=1, le=600, description="preStop sleep: the ALB stops routing before the app gets SIGTERM."
    )
    run_as_user: int = Field(
        10001, ge=10000, le=2**31 - 1,
        description="UID (and GID, fsGroup) the pods run as: 10000 or more, never a node's or image's system user.",
    )  # fmt: skip
    idle_timeout_seconds: int = Field(
        120, ge=1, le=4000, description="ALB idle timeout: longest silence in a response (streamed completions)."
    )
    load_balancer_deletion_protection: bool = Field(True, description="ALB deletion protection.")
    maintenance_mode: bool = Field(
        False,
        description="The ALB answers every path but the health check with a 503 maintenance response; the pods, the "
        "HPA and the Rollout stay as they are (`python -m ops db maintenance` sets it for its run).",
    )
    maintenance: ApiMaintenanceConfig = Field(
        default_factory=ApiMaintenanceConfig, description="The 503 response while `maintenance_mode` is on."
    )
    secrets: tuple[ApiSecretConfig, ...] = Field(
        (), description="Application secrets (names only; values live in Secrets Manager), mounted as files."
    )

    @model_validator(mode="after")
    def _check(self) -> ApiConfig:
        if self.pre_stop_sleep_seconds >= self.termination_grace_period_seconds:
            raise FieldError(
                "pre_stop_sleep_seconds",
                f"{self.pre_stop_sleep_seconds}s leaves no time to shut down within termination_grace_period_seconds "
                f"{self.termination_grace_period_seconds}; allowed: less than the grace period",
            )
        names = [secret.name for secret in self.secrets]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise FieldError("secrets", f"{', '.join(repeated)} named more than once; allowed: each name once")
        if not self.hpa.min_replicas <= self.replicas <= self.hpa.max_replicas:
            raise FieldError(
                "replicas",
                f"{self.replicas} outside the HPA bounds {self.hpa.min_replicas}-{self.hpa.max_replicas}; "
                "allowed: hpa.min_replicas <= replicas <= hpa.max_replicas",
            )
        return self

    @property
    def feature_flag_values(self) -> dict[str, str]:
        """Flags as the strings SSM stores (booleans lowercase, as JSON would write them)."""
        return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in self.feature_flags.items()}
