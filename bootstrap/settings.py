"""The bootstrap project's configuration: `bootstrap/Pulumi.<stack>.yaml`, validated once before any resource.

Keys are `ai-platform-bootstrap:<section>` (or the bare section name) plus `aws:region`; the provider namespaces
`aws`, `github` and `pulumi` are the providers' own. The GitHub token is never configuration: `github:token` in a
stack file is an error (the provider reads `GITHUB_TOKEN` from the environment). The platform stacks the account
holds (`ci.stacks`) are read from their own `Pulumi.<stack>.yaml` with the platform's config model, so their
regions, DR regions and environments are said once. Errors read like the platform's:
`Pulumi.<stack>.yaml: ai-platform-bootstrap:<key>: <what is wrong>; allowed: <...>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, model_validator

from config import BackupConfig, StackConfig, load_stack_config
from config.errors import FieldError, StackConfigError
from config.keys import key_text, plain, project_values
from config.problems import problem_lines
from config.types import Section, check_region, check_tags, partition_of
from ops.engine import read_stack_config

BOOTSTRAP_PROJECT = "ai-platform-bootstrap"
BOOTSTRAP_DIR = Path(__file__).resolve().parent
REPOSITORY_ROOT = BOOTSTRAP_DIR.parent
PROVIDER_NAMESPACES = ("aws", "github", "pulumi")
# Provider keys that would put a credential into a stack file (committed, readable by anyone with the repository).
SECRET_PROVIDER_KEYS = {
    "github:token": "the provider reads GITHUB_TOKEN from the environment",
    "github:appAuth": "the provider reads GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PEM_FILE from "
    "the environment",
    "aws:accessKey": "use an AWS profile or SSO session (AWS_PROFILE)",
    "aws:secretKey": "use an AWS profile or SSO session (AWS_PROFILE)",
}
ENVIRONMENT_ORDER = ("dev", "staging", "prod")
GITHUB_NAME = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"
REPOSITORY_NAME = r"^[A-Za-z0-9._-]{1,100}$"


class Reviewers(Section):
    """Who approves a prod deployment (GitHub allows six reviewers in all; one approval lets the job go on)."""

    teams: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")], ...] = Field(
        (), description="Team slugs of the owner organisation (e.g. `platform-leads`)."
    )
    users: tuple[Annotated[str, Field(pattern=GITHUB_NAME)], ...] = Field((), description="GitHub user logins.")

    @model_validator(mode="after")
    def _at_most_six(self) -> Reviewers:
        if len(self.teams) + len(self.users) > 6:
            raise FieldError("teams", f"{len(self.teams) + len(self.users)} reviewers; allowed: at most 6 (GitHub)")
        return self


class GithubSettings(Section):
    """`ai-platform-bootstrap:github`: the repository, its environments, approvals and branch rules."""

    owner: str = Field(pattern=GITHUB_NAME, description="Organisation (or user) owning the repositories.")
    repository: str = Field(pattern=REPOSITORY_NAME, description="This repository's name (without the owner).")
    manage_repository: bool = Field(
        True,
        description="Declare the repository-wide settings (branch protection of the default branch, the "
        "DEPLOY_RUNNER repository variable). Exactly one bootstrap stack per repository sets it; with one account "
        "per environment, the others set false.",
    )
    default_branch: str = Field("main", min_length=1, description="The branch deploys come from.")
    reviewers: Reviewers = Field(
        default_factory=Reviewers, description="Required reviewers of the prod environments (at least one)."
    )
    prod_wait_timer_minutes: int = Field(
        10, ge=0, le=43200, description="Minutes a prod deployment waits after its approval (GitHub: 0-43200)."
    )
    prevent_self_review: bool = Field(True, description="Whoever triggered a prod deployment cannot approve it.")
    required_approving_reviews: int = Field(
        1, ge=1, le=6, description="Approvals a pull request into the default branch needs."
    )
    require_code_owner_reviews: bool = Field(False, description="A pull request needs its CODEOWNERS' approval.")
    deploy_runner: str | None = Field(
        None,
        min_length=1,
        description="Runner label of the jobs that reach the private EKS endpoint (repository variable "
        "DEPLOY_RUNNER); unset: the workflows fall back to a hosted runner.",
    )
    pull_request_workflow: str = Field(
        ".github/workflows/pull-request.yml",
        description="The workflow whose jobs are the default branch's required status checks (path in this "
        "repository).",
    )
    ai_api_repository: str | None = Field(
        "ai-api",
        pattern=REPOSITORY_NAME,
        description="The ai-api's own repository (same owner): its workflow assumes the push role of each stack "
        "from its `<stack>` environment; null: no push roles.",
    )
    manage_ai_api_environments: bool = Field(
        True,
        description="Declare the ai-api repository's `<stack>` environments (default branch only) and their "
        "variables AWS_PUSH_ROLE_ARN, ECR_REPOSITORY, AWS_REGION.",
    )


class StateSettings(Section):
    """`ai-platform-bootstrap:state`: the state bucket, its replica and the keys."""

    dr_region: Annotated[str, AfterValidator(check_region)] = Field(
        description="Region of the state bucket's replica and of the keys' replicas."
    )
    noncurrent_version_expiration_days: int = Field(
        365, ge=1, le=3650, description="Days a superseded state file version is kept."
    )
    noncurrent_versions_to_keep: int = Field(
        100, ge=0, le=100, description="Newest superseded versions of each state file kept regardless of age."
    )
    logs_expiration_days: int = Field(365, ge=90, le=3650, description="Days the state buckets' access logs are kept.")
    kms_deletion_window_days: int = Field(
        30, ge=7, le=30, description="Days a scheduled deletion of a key waits (7-30)."
    )


class CiSettings(Section):
    """`ai-platform-bootstrap:ci`: the platform stacks of this account and their CI roles."""

    stacks: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,20}$")], ...] = Field(
        min_length=1,
        description="Platform stacks whose state and CI roles live in this account (each has a Pulumi.<stack>.yaml "
        "at the repository root).",
    )
    session_duration_seconds: int = Field(
        10800,
        ge=3600,
        le=43200,
        description="Longest CI session (the roles' MaxSessionDuration; the workflows' role-duration-seconds may not "
        "exceed it). A first deploy takes over an hour.",
    )


class BootstrapConfig(Section):
    """The whole validated configuration of one bootstrap stack (one AWS account)."""

    stack: str = Field(description="Bootstrap stack name (from the stack file name).")
    region: Annotated[str, AfterValidator(check_region)] = Field(description="`aws:region`: the state bucket's.")
    tags: Annotated[dict[str, str], AfterValidator(check_tags)] = Field(
        description="`ai-platform-bootstrap:tags`: extra tags; must include owner and cost-center."
    )
    github: GithubSettings
    state: StateSettings
    ci: CiSettings
    backup: BackupConfig = Field(
        default_factory=BackupConfig,
        description="`ai-platform-bootstrap:backup`: AWS Backup of the state bucket and of its replica (the "
        "platform's `ai-platform:backup` model and production defaults).",
    )

    @model_validator(mode="after")
    def _check(self) -> BootstrapConfig:
        if self.state.dr_region == self.region:
            raise FieldError("state.dr_region", f"{self.region} is aws:region; allowed: another region")
        if partition_of(self.state.dr_region) != partition_of(self.region):
            raise FieldError(
                "state.dr_region", f"{self.state.dr_region} is in another partition; allowed: one of {self.region}'s"
            )
        return self


@dataclass(frozen=True)
class Bootstrap:
    """A bootstrap stack's config and the validated config of each platform stack it serves."""

    config: BootstrapConfig
    stacks: dict[str, StackConfig]

    @property
    def environment(self) -> str:
        """The strictest environment among the account's stacks: what its resources are tagged with and judged by."""
        return max((s.environment for s in self.stacks.values()), key=ENVIRONMENT_ORDER.index)

    def mandatory_tags(self) -> dict[str, str]:
        return {**self.config.tags, "project": "ai-platform", "stack": self.config.stack,
                "environment": self.environment, "managed-by": "pulumi"}  # fmt: skip


def _qualified(raw: Mapping[Any, Any], source: str, problems: list[str]) -> dict[str, Any]:
    """Stack-file keys as `<namespace>:<name>` (a bare key is the project's); unknown namespaces and credentials
    become problems."""
    keys: dict[str, Any] = {}
    for key, value in raw.items():
        written = key if isinstance(key, str) else json.dumps(plain(key))
        namespace, colon, name = written.partition(":")
        if not colon:
            namespace, name = BOOTSTRAP_PROJECT, written
        qualified = f"{namespace}:{name}"
        if qualified in SECRET_PROVIDER_KEYS:
            problems.append(
                f"{source}: {key_text(qualified)}: a credential never goes into a stack file; allowed: nothing here "
                f"({SECRET_PROVIDER_KEYS[qualified]})"
            )
        elif namespace not in (BOOTSTRAP_PROJECT, *PROVIDER_NAMESPACES):
            allowed = f"{BOOTSTRAP_PROJECT}:<key> (or <key> alone), " + ", ".join(
                f"{n}:<key>" for n in PROVIDER_NAMESPACES
            )
            problems.append(
                f"{source}: {key_text(written)}: unknown namespace {key_text(namespace)}; allowed: {allowed}"
            )
        else:
            keys[qualified] = value
    return keys


def load_bootstrap_config(stack: str, raw: Mapping[Any, Any], source: str | None = None) -> Bootstrap:
    """Validate a bootstrap stack's raw config and the platform stacks it names; `StackConfigError` naming every
    bad key (a platform stack's own errors name its own file)."""
    source = source or f"bootstrap/Pulumi.{stack}.yaml"
    problems: list[str] = []
    data: dict[str, Any] = {"stack": stack}
    fields = set(BootstrapConfig.model_fields) - {"stack", "region"}
    data.update(
        project_values(_qualified(raw, source, problems), source, BOOTSTRAP_PROJECT, {"aws:region": "region"}, fields,
                       problems)
    )  # fmt: skip
    try:
        config = BootstrapConfig.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        raise StackConfigError(problems + problem_lines(error, source, BootstrapConfig, BOOTSTRAP_PROJECT)) from None
    if problems:
        raise StackConfigError(problems)
    stacks: dict[str, StackConfig] = {}
    for name in config.ci.stacks:
        try:
            stacks[name] = load_stack_config(name, read_stack_config(name, REPOSITORY_ROOT))
        except StackConfigError as error:
            problems += [f"{source}: {BOOTSTRAP_PROJECT}:ci.stacks: {name}: {line}" for line in error.problems]
    for name, platform in stacks.items():
        if partition_of(platform.region) != partition_of(config.region):
            problems.append(
                f"{source}: {BOOTSTRAP_PROJECT}:ci.stacks: {name} is in {platform.region}, another partition than "
                f"aws:region {config.region}; allowed: stacks of one partition per bootstrap stack"
            )
    if any(s.environment == "prod" for s in stacks.values()) and not (
        config.github.reviewers.teams or config.github.reviewers.users
    ):
        problems.append(
            f"{source}: {BOOTSTRAP_PROJECT}:github.reviewers: no reviewer for the prod environment; allowed: at least "
            "one team slug or user login (prod deploys wait for an approval)"
        )
    if problems:
        raise StackConfigError(problems)
    return Bootstrap(config=config, stacks=stacks)
