"""Typed stack configuration: the one place where stacks differ, validated once before any resource exists.

A stack file (`Pulumi.<stack>.yaml`) sets `aws:region` and the project's own keys (`ai-platform:<section>`).
`ai-platform:environment` picks a set of defaults (dev cheap, prod resilient) from `ENVIRONMENT_DEFAULTS`;
every key the stack file sets overrides its default, key by key. The merged result is validated by pydantic
models that forbid unknown keys. Every mistake is collected into one `StackConfigError` whose lines read
`Pulumi.<stack>.yaml: ai-platform:<key>: <what is wrong>; allowed: <...>`.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

PROJECT = "ai-platform"
Environment = Literal["dev", "staging", "prod"]

# Every AWS region name (commercial, GovCloud, China) as of 2026-11; a typo here is caught before any API call.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "ca-central-1", "ca-west-1", "mx-central-1", "sa-east-1",
        "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "eu-south-1", "eu-south-2", "eu-north-1",
        "il-central-1", "me-south-1", "me-central-1", "af-south-1",
        "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
    }
)  # fmt: skip

# The retention values CloudWatch Logs accepts (PutRetentionPolicy); anything else fails at deploy time.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Tags the platform sets itself on every taggable resource; a stack may not override them.
MANDATORY_TAG_KEYS: tuple[str, ...] = ("project", "stack", "environment", "component", "managed-by")
# Tags every stack must supply (cost allocation and ownership).
REQUIRED_USER_TAG_KEYS: tuple[str, ...] = ("owner", "cost-center")

PRIVATE_RANGES = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
# Smallest private (workload) subnet: EKS's VPC CNI hands every pod an address from it.
MIN_PRIVATE_SUBNET_PREFIX = 22
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs")
InterfaceEndpoint = Literal["ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"]


class StackConfigError(pulumi.RunError):
    """A user mistake in a stack file: one line per bad key, reported without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


# --- reusable field types -------------------------------------------------------------------------------------


def _check_log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"{days} is not a CloudWatch Logs retention; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return days


LogRetentionDays = Annotated[int, AfterValidator(_check_log_retention)]


class Section(BaseModel):
    """Base of every config section: immutable, and unknown keys are errors (a typo never goes unnoticed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- validation helpers ---------------------------------------------------------------------------------------


class _FieldError(ValueError):
    """Raised by a model validator to blame one field (dotted path relative to the model)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def subnet_slots(az_count: int) -> int:
    """Subnets per tier are carved in a power-of-two grid, so growing to more AZs never moves existing ranges."""
    return 1 << max(1, math.ceil(math.log2(az_count)))


def _parse_private_cidr(cidr: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{cidr!r} is not an IPv4 network ({error}); allowed: e.g. 10.0.0.0/16 with host bits zero"
        ) from None
    if not any(network.subnet_of(r) for r in PRIVATE_RANGES):
        raise ValueError(
            f"{cidr} is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
        )
    if network.prefixlen < 16:
        raise ValueError(f"{cidr} is larger than a VPC can be; allowed: a prefix from /16 (AWS maximum)")
    return network


def _check_region(region: str) -> str:
    if region not in AWS_REGIONS:
        raise ValueError(f"{region!r} is not an AWS region; allowed: {', '.join(sorted(AWS_REGIONS))}")
    return region


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    missing = [k for k in REQUIRED_USER_TAG_KEYS if not tags.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}; allowed: a map that sets {', '.join(REQUIRED_USER_TAG_KEYS)}")
    reserved = sorted(set(tags) & set(MANDATORY_TAG_KEYS))
    if reserved:
        raise ValueError(f"{', '.join(reserved)} are set by the platform; allowed: any other key")
    for key, value in tags.items():
        if key.lower().startswith("aws:") or not 1 <= len(key) <= 128 or len(value) > 256:
            raise ValueError(f"tag {key!r} is invalid; allowed: keys of 1-128 chars not starting with aws:, values <= 256 chars")
    return tags


# --- sections ---------------------------------------------------------------------------------------------------


class NetworkConfig(Section):
    """`ai-platform:network`: the VPC and how it reaches the internet and AWS APIs."""

    cidr: Annotated[str, AfterValidator(lambda cidr: str(_parse_private_cidr(cidr)))] = Field(
        "10.0.0.0/16", description="VPC IPv4 range: private (RFC 1918), /16 to the size the AZs need."
    )
    az_count: int = Field(3, ge=2, le=6, description="Availability zones to spread subnets over (2-6).")
    availability_zones: tuple[str, ...] | None = Field(
        None, description="Explicit AZ names (e.g. us-east-1a); default: the first az_count AZs the region offers."
    )
    nat_strategy: Literal["single", "one_per_az"] = Field(
        "one_per_az", description="One NAT gateway for the VPC (cheap) or one per AZ (survives an AZ outage)."
    )
    flow_logs_retention_days: LogRetentionDays = Field(365, description="Retention of the VPC flow-log group.")
    flow_logs_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = Field("ALL", description="Traffic the flow log records.")
    interface_endpoints: tuple[InterfaceEndpoint, ...] = Field(
        INTERFACE_ENDPOINTS, description="Interface VPC endpoints to create (the S3 gateway endpoint always exists)."
    )

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        network = ipaddress.IPv4Network(self.cidr)
        slots = subnet_slots(self.az_count)
        private_prefix = network.prefixlen + 1 + int(math.log2(slots))
        if private_prefix > MIN_PRIVATE_SUBNET_PREFIX:
            largest = MIN_PRIVATE_SUBNET_PREFIX - 1 - int(math.log2(slots))
            raise _FieldError(
                "cidr",
                f"{self.cidr} is too small for {self.az_count} AZs (private subnets would be /{private_prefix}, "
                f"too few pod IPs); allowed: a prefix from /16 to /{largest}",
            )
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise _FieldError(
                "availability_zones",
                f"{len(self.availability_zones)} names given but az_count is {self.az_count}; "
                f"allowed: exactly az_count distinct AZ names",
            )
        if self.availability_zones is not None and len(set(self.availability_zones)) != self.az_count:
            raise _FieldError("availability_zones", "names repeat; allowed: distinct AZ names")
        return self


class IdentityConfig(Section):
    """`ai-platform:identity`: KMS keys and IAM."""

    kms_deletion_window_days: int = Field(
        30, ge=7, le=30, description="Days a scheduled KMS key deletion waits (7-30); the window to cancel a mistake."
    )


class StackConfig(Section):
    """The whole validated configuration of one stack."""

    stack: str = Field(description="Stack name (from the stack file name).")
    environment: Environment = Field(description="`ai-platform:environment`: selects the defaults.")
    region: Annotated[str, AfterValidator(_check_region)] = Field(description="`aws:region`: the primary region.")
    tags: Annotated[dict[str, str], AfterValidator(_check_tags)] = Field(description="`ai-platform:tags`: extra tags; must include owner and cost-center.")
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)

    @model_validator(mode="after")
    def _check(self) -> StackConfig:
        azs = self.network.availability_zones or ()
        wrong = [az for az in azs if not re.fullmatch(rf"{re.escape(self.region)}[a-z]", az)]
        if wrong:
            raise _FieldError(
                "network.availability_zones",
                f"{', '.join(wrong)} not in region {self.region}; allowed: {self.region}a, {self.region}b, ...",
            )
        return self

    def mandatory_tags(self) -> dict[str, str]:
        """The stack-wide tags every taggable resource carries (the `component` tag is added per component)."""
        return {**self.tags, "project": PROJECT, "stack": self.stack, "environment": self.environment,
                "managed-by": "pulumi"}  # fmt: skip


# Defaults per environment, merged under the stack file's own values. Keys and shapes mirror the models above.
ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "network": {
            "az_count": 2,
            "nat_strategy": "single",
            "flow_logs_retention_days": 30,
            "interface_endpoints": [],
        },
        "identity": {"kms_deletion_window_days": 7},
    },
    "staging": {
        "network": {"az_count": 3, "nat_strategy": "single", "flow_logs_retention_days": 90},
        "identity": {"kms_deletion_window_days": 30},
    },
    "prod": {
        "network": {"az_count": 3, "nat_strategy": "one_per_az", "flow_logs_retention_days": 365},
        "identity": {"kms_deletion_window_days": 30},
    },
}

# Stack-file key -> StackConfig field. `ai-platform:<section>` keys map to the section of the same name.
_FIXED_KEYS = {"aws:region": "region", f"{PROJECT}:environment": "environment"}
_INTERNAL_FIELDS = {"stack", "region", "environment"}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` wins key by key; nested mappings merge, anything else (lists included) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to the program as JSON text; a stack file read directly gives objects."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    """The field names a model accepts at `loc` (for 'unknown key' messages)."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            return None
        annotation = None
        if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        elif get_origin(model) is dict:
            annotation = get_args(model)[1]
        if annotation is None:
            return None
        model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(set(model.model_fields) - (_INTERNAL_FIELDS if model is StackConfig else set()))
    return None


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X, so that optional sections and maps are walked like required ones."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) not in (dict, None) and len(args) == 1:
        return args[0]
    return annotation


def _key_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return f"{PROJECT}:<root>"
    head = parts[0]
    if head == "region":
        return "aws:region"
    return f"{PROJECT}:{head}" + "".join(f".{p}" for p in parts[1:])


def _describe(error: dict[str, Any]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(error["loc"][:-1]))
        return "unknown key; allowed: " + (", ".join(allowed) if allowed else "see the README's configuration reference")
    if kind == "missing":
        return "required key is missing; allowed: see the README's configuration reference"
    if kind == "literal_error":
        return f"{value!r} is not a valid choice; allowed: {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()), "?")
        return f"{value!r} is out of range; allowed: {bound} {limit}"
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a map of keys, got {value!r}; allowed: see the README's configuration reference"
    return f"{error['msg'].rstrip('.')} (got {value!r}); allowed: see the README's configuration reference"


def _located(error: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Move a `_FieldError` raised by a model validator onto the field it blames."""
    cause = (error.get("ctx") or {}).get("error")
    loc = tuple(error["loc"])
    if isinstance(cause, _FieldError):
        loc = loc + tuple(cause.field.split("."))
    return loc, error


# --- loading ----------------------------------------------------------------------------------------------------


def load_stack_config(stack: str, raw: Mapping[str, Any], source: str | None = None) -> StackConfig:
    """Validate a stack's raw config (`{"aws:region": ..., "ai-platform:network": {...}}`) into a `StackConfig`.

    `raw` values may be objects (a parsed stack file) or JSON text (the Pulumi runtime). Raises `StackConfigError`
    naming every bad key; never any other exception for a user mistake.
    """
    source = source or f"Pulumi.{stack}.yaml"
    problems: list[str] = []
    data: dict[str, Any] = {"stack": stack}
    section_fields = set(StackConfig.model_fields) - _INTERNAL_FIELDS
    for key, value in raw.items():
        key = str(key)
        if key in _FIXED_KEYS:
            data[_FIXED_KEYS[key]] = _decode(value)
        elif key.startswith(f"{PROJECT}:"):
            section = key.split(":", 1)[1]
            if section in section_fields:
                data[section] = _decode(value)
            else:
                problems.append(f"{source}: {key}: unknown key; allowed: {', '.join(sorted(section_fields))}")
        # Other namespaces (aws:profile, pulumi:...) belong to their providers and are not ours to judge.

    environment = data.get("environment")
    if environment not in ENVIRONMENT_DEFAULTS:
        shown = "required key is missing" if environment is None else f"{environment!r} is not a valid choice"
        problems.append(f"{source}: {PROJECT}:environment: {shown}; allowed: 'dev', 'staging' or 'prod'")
        raise StackConfigError(problems)
    defaults = ENVIRONMENT_DEFAULTS[environment]
    for section, section_defaults in defaults.items():
        if isinstance(data.get(section, {}), Mapping):
            data[section] = deep_merge(section_defaults, data.get(section, {}))

    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        for loc, detail in sorted(map(_located, error.errors()), key=lambda item: [str(p) for p in item[0]]):
            problems.append(f"{source}: {_key_name(loc)}: {_describe(detail)}")
        raise StackConfigError(problems) from None
    if problems:
        raise StackConfigError(problems)
    return config


def pulumi_runtime_config() -> dict[str, Any]:
    """Every config key the Pulumi runtime holds for this stack (set by `pulumi up` or by the offline engine)."""
    from pulumi.runtime import config as runtime_config  # the SDK exposes no public "all keys" call

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def load_from_pulumi() -> StackConfig:
    """Load the current stack's configuration from the Pulumi runtime (used by `__main__.py`)."""
    return load_stack_config(pulumi.get_stack(), pulumi_runtime_config())
