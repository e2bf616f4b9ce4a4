"""Approvals and branch rules as code: the GitHub environments of each platform stack, their variables, and the
default branch's protection (pulumi-github).

- `<stack>` (deploys): only the default branch may deploy (a custom deployment branch policy naming it); a prod
  stack's environment also has required reviewers, a wait timer, self-review prevented and no admin bypass.
- `<stack>-preview` (pull-request previews, drift checks): no branch policy (a pull request's merge ref must get
  in), no reviewers; its role is read-only.
- Variables per environment (`lib/ci_names.py`): the role ARN, region, backend URL and secrets provider. Nothing
  here is a secret: the roles are assumed through OIDC, so the workflows need no AWS secret at all.
- With `github.manage_repository`: branch protection of the default branch (required status checks = the jobs of
  the pull-request workflow, read from the workflow file itself; reviews required, stale approvals dismissed, linear
  history, conversations resolved, no force push, no deletion, admins included) and the repository variable
  `DEPLOY_RUNNER` (`runs-on` cannot read environment variables).
- The ai-api repository's `<stack>` environments (default branch only) with the push role and repository name.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_github as github
import yaml

from bootstrap.settings import REPOSITORY_ROOT, BootstrapConfig
from components.base import PlatformComponent
from config import StackConfig
from lib.ci_names import (
    BACKEND_VARIABLE,
    DEPLOY_ROLE_VARIABLE,
    DEPLOY_RUNNER_VARIABLE,
    ECR_REPOSITORY_VARIABLE,
    PREVIEW_ROLE_VARIABLE,
    PUSH_ROLE_VARIABLE,
    REGION_VARIABLE,
    SECRETS_PROVIDER_VARIABLE,
    deploy_environment,
    ecr_repository_name,
    preview_environment,
)

_EXPRESSION = re.compile(r"\$\{\{\s*(matrix|inputs)\.([A-Za-z0-9_-]+)\s*\}\}")


class WorkflowError(ValueError):
    """A workflow whose check names cannot be worked out offline (a computed matrix, an unknown expression)."""


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise WorkflowError(f"{path}: cannot read the workflow: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise WorkflowError(f"{path}: not a workflow (no `jobs:` map)")
    return data


def _combinations(job_id: str, strategy: Any) -> list[dict[str, str]]:
    """The matrix combinations of a job, in GitHub's order (keys as written, then `include` entries)."""
    matrix = strategy.get("matrix") if isinstance(strategy, Mapping) else None
    if matrix is None:
        return [{}]
    if not isinstance(matrix, Mapping):
        raise WorkflowError(f"job {job_id}: a computed matrix ({matrix!r}) has no check names known offline")
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    if any(not isinstance(values, list) for values in axes.values()):
        raise WorkflowError(f"job {job_id}: a matrix axis is not a list; its check names are not known offline")
    combos: list[dict[str, str]] = [
        dict(zip(axes, (str(v) for v in values), strict=True)) for values in itertools.product(*axes.values())
    ]
    excluded = [{str(k): str(v) for k, v in e.items()} for e in matrix.get("exclude") or []]
    combos = [c for c in combos if not any(e.items() <= c.items() for e in excluded)]
    for extra in matrix.get("include") or []:
        # GitHub adds an include entry's new keys to every combination it does not contradict; an entry that
        # contradicts them all is a combination of its own.
        entry = {str(k): str(v) for k, v in extra.items()}
        fitting = [c for c in combos if all(c[k] == v for k, v in entry.items() if k in axes)] if axes else []
        for combo in fitting:
            combo.update({k: v for k, v in entry.items() if k not in axes})
        if not fitting:
            combos.append(entry)
    return combos or [{}]


def _render(template: str, values: Mapping[str, Mapping[str, str]], where: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = values.get(match[1], {}).get(match[2])
        if value is None:
            raise WorkflowError(f"{where}: {match[0]} has no value known offline")
        return value

    rendered = _EXPRESSION.sub(substitute, template)
    if "${{" in rendered:
        raise WorkflowError(f"{where}: the name {template!r} holds an expression not known offline")
    return rendered


def check_names(workflow: Path, inputs: Mapping[str, str] | None = None) -> list[str]:
    """The status-check names GitHub gives the jobs of `workflow`: the job's name (default: its id), then, for a
    matrix job whose name does not use the matrix, its values in parentheses (`offline-gate (dev)`); a job calling
    a local reusable workflow is `<caller> / <called job>`."""
    data = _load(workflow)
    names: list[str] = []
    for job_id, job in data["jobs"].items():
        job = job if isinstance(job, Mapping) else {}
        template = str(job.get("name", job_id))
        for combo in _combinations(job_id, job.get("strategy")):
            context = {"matrix": combo, "inputs": dict(inputs or {})}
            name = _render(template, context, f"{workflow.name}: job {job_id}")
            if combo and not _EXPRESSION.search(template):
                name = f"{name} ({', '.join(combo.values())})"
            called = job.get("uses")
            if isinstance(called, str) and called.startswith("./"):
                given = {k: _render(str(v), context, f"{workflow.name}: job {job_id}")
                         for k, v in (job.get("with") or {}).items()}  # fmt: skip
                names += [f"{name} / {inner}" for inner in check_names(REPOSITORY_ROOT / called[2:], given)]
            else:
                names.append(name)
    return names


@dataclass(frozen=True)
class StackVariables:
    """What the workflows of one platform stack read from its environments."""

    region: str
    deploy_role_arn: pulumi.Input[str]
    preview_role_arn: pulumi.Input[str]
    push_role_arn: pulumi.Input[str] | None


@dataclass(frozen=True)
class RepositorySettingsArgs:
    """Inputs of `RepositorySettings`.

    config: the bootstrap config. stacks: the account's platform stacks. variables: per stack, the role ARNs and
    region. backend_url / secrets_provider: the backend every stack uses. required_checks: the default branch's
    required status checks (`check_names` of the pull-request workflow).
    """

    config: BootstrapConfig
    stacks: dict[str, StackConfig]
    variables: dict[str, StackVariables]
    backend_url: pulumi.Input[str]
    secrets_provider: str
    required_checks: list[str]


class RepositorySettings(PlatformComponent):
    """Environments, their protection rules and variables; branch protection; the deploy runner variable."""

    area = "github"

    def __init__(self, name: str, args: RepositorySettingsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        settings = self._github = args.config.github
        self.environments: dict[str, github.RepositoryEnvironment] = {}
        for stack, stack_config in args.stacks.items():
            values = args.variables[stack]
            common = {REGION_VARIABLE: values.region, BACKEND_VARIABLE: args.backend_url,
                      SECRETS_PROVIDER_VARIABLE: args.secrets_provider}  # fmt: skip
            deploy = self._environment(
                name, settings.repository, deploy_environment(stack), prod=stack_config.environment == "prod"
            )
            self._variables(name, deploy, {DEPLOY_ROLE_VARIABLE: values.deploy_role_arn, **common})
            preview = self._environment(name, settings.repository, preview_environment(stack), previews=True)
            self._variables(name, preview, {PREVIEW_ROLE_VARIABLE: values.preview_role_arn, **common})
            if settings.ai_api_repository and settings.manage_ai_api_environments and values.push_role_arn:
                pushes = self._environment(name, settings.ai_api_repository, deploy_environment(stack))
                self._variables(name, pushes, {
                    PUSH_ROLE_VARIABLE: values.push_role_arn, ECR_REPOSITORY_VARIABLE: ecr_repository_name(stack),
                    REGION_VARIABLE: values.region,
                })  # fmt: skip
        self.branch_protection: github.BranchProtection | None = None
        if settings.manage_repository:
            self._repository_rules(name, args)
        self.environment_names = sorted(self.environments)
        self.register_outputs({"environment_names": self.environment_names})

    def _environment(
        self, name: str, repository: str, environment: str, *, prod: bool = False, previews: bool = False
    ) -> github.RepositoryEnvironment:
        """An environment; deploy environments accept only the default branch, prod ones wait for a reviewer."""
        settings = self._github
        key = f"{repository}/{environment}"
        reviewers: list[github.RepositoryEnvironmentReviewerArgs] | None = None
        if prod:
            # Reviewers are numeric ids: looked up by slug / login through this component's GitHub provider.
            invoke = pulumi.InvokeOptions(parent=self)
            teams = [int(github.get_team(slug=s, summary_only=True, opts=invoke).id) for s in settings.reviewers.teams]
            users = [int(github.get_user(username=u, opts=invoke).id) for u in settings.reviewers.users]
            reviewers = [github.RepositoryEnvironmentReviewerArgs(teams=teams or None, users=users or None)]
        env = github.RepositoryEnvironment(
            f"{name}-{repository}-{environment}",
            repository=repository,
            environment=environment,
            wait_timer=settings.prod_wait_timer_minutes if prod else None,
            reviewers=reviewers,
            prevent_self_review=settings.prevent_self_review if prod else None,
            # Admins cannot skip a deploy environment's rules: the branch policy is what keeps its role on main.
            can_admins_bypass=previews,
            deployment_branch_policy=None
            if previews
            else {"protected_branches": False, "custom_branch_policies": True},
            opts=self.child_opts(),
        )
        if not previews:
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-{repository}-{environment}-branch",
                repository=repository,
                environment=env.environment,
                branch_pattern=settings.default_branch,
                opts=self.child_opts(),
            )
        self.environments[key] = env
        return env

    def _variables(self, name: str, env: github.RepositoryEnvironment, values: Mapping[str, pulumi.Input[str]]) -> None:
        """One variable of the environment `env` per entry of `values` (created once the environment exists)."""
        key = next(k for k, v in self.environments.items() if v is env)
        repository, environment = key.split("/", 1)
        for variable, value in values.items():
            github.ActionsEnvironmentVariable(
                f"{name}-{repository}-{environment}-{variable.lower().replace('_', '-')}",
                repository=repository,
                environment=env.environment,
                variable_name=variable,
                value=value,
                opts=self.child_opts(),
            )

    def _repository_rules(self, name: str, args: RepositorySettingsArgs) -> None:
        settings = args.config.github
        self.branch_protection = github.BranchProtection(
            f"{name}-{settings.default_branch}-protection",
            repository_id=settings.repository,
            pattern=settings.default_branch,
            enforce_admins=True,
            allows_deletions=False,
            allows_force_pushes=False,
            required_linear_history=True,
            require_conversation_resolution=True,
            required_status_checks=[{"strict": True, "contexts": args.required_checks}],
            required_pull_request_reviews=[
                {
                    "dismiss_stale_reviews": True,
                    "require_code_owner_reviews": settings.require_code_owner_reviews,
                    "required_approving_review_count": settings.required_approving_reviews,
                    "require_last_push_approval": True,
                }
            ],
            opts=self.child_opts(),
        )
        if settings.deploy_runner:
            github.ActionsVariable(
                f"{name}-deploy-runner",
                repository=settings.repository,
                variable_name=DEPLOY_RUNNER_VARIABLE,
                value=settings.deploy_runner,
                opts=self.child_opts(),
            )
