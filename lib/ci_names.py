"""The names CI and the bootstrap project agree on: IAM roles, GitHub environments and Actions variables.

The bootstrap project (`bootstrap/`) creates these roles, environments and variables; the workflows in
`.github/workflows/` read them. Both sides take the names from here, so a rename is one change.

- `<stack>` environment (dev, staging, prod): deploys of that stack. Variables: `AWS_DEPLOY_ROLE_ARN`, `AWS_REGION`,
  `PULUMI_BACKEND_URL`, `PULUMI_SECRETS_PROVIDER`; assumable role `ai-platform-<stack>-deploy`.
- `<stack>-preview` environment: pull-request previews and drift detection of that stack (no branch policy: a
  pull request's ref must be able to use it). Variables: `AWS_PREVIEW_ROLE_ARN`, `AWS_REGION`,
  `PULUMI_BACKEND_URL`, `PULUMI_SECRETS_PROVIDER`; assumable role `ai-platform-<stack>-preview` (read-only).
- Repository variable `DEPLOY_RUNNER`: the runner label of the jobs that reach the private EKS endpoint. A
  repository variable because `runs-on` cannot read environment variables (the job's environment is chosen after
  its runner).
- `ai-platform-ai-api-<stack>-push`: the role the ai-api's own repository assumes (environment `<stack>` of that
  repository) to push images to the stack's ECR repository `ai-platform/<stack>/ai-api`; push only.
"""

from __future__ import annotations

PROJECT = "ai-platform"
APP = "ai-api"

# The GitHub OIDC issuer and the audience `aws-actions/configure-aws-credentials` asks for.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"

# Variables of the deploy / preview environments (environment variables, `vars.<NAME>` in a job with `environment:`).
DEPLOY_ROLE_VARIABLE = "AWS_DEPLOY_ROLE_ARN"
PREVIEW_ROLE_VARIABLE = "AWS_PREVIEW_ROLE_ARN"
REGION_VARIABLE = "AWS_REGION"
BACKEND_VARIABLE = "PULUMI_BACKEND_URL"
SECRETS_PROVIDER_VARIABLE = "PULUMI_SECRETS_PROVIDER"
# Repository variable (`runs-on` is evaluated before a job's environment is known).
DEPLOY_RUNNER_VARIABLE = "DEPLOY_RUNNER"
# Variables of the ai-api repository's `<stack>` environment (image promotion).
PUSH_ROLE_VARIABLE = "AWS_PUSH_ROLE_ARN"
ECR_REPOSITORY_VARIABLE = "ECR_REPOSITORY"

# What GitHub names the pipeline's jobs' environments.
PREVIEW_SUFFIX = "-preview"


def deploy_environment(stack: str) -> str:
    """GitHub environment of a stack's deploys: the stack's name."""
    return stack


def preview_environment(stack: str) -> str:
    """GitHub environment of a stack's previews and drift checks: `<stack>-preview`."""
    return f"{stack}{PREVIEW_SUFFIX}"


def deploy_role_name(stack: str) -> str:
    """IAM role `pulumi up` of a stack runs as in CI."""
    return f"{PROJECT}-{stack}-deploy"


def preview_role_name(stack: str) -> str:
    """Read-only IAM role of a stack's previews and drift checks."""
    return f"{PROJECT}-{stack}-preview"


def push_role_name(stack: str) -> str:
    """IAM role the ai-api repository's workflow pushes images with (push-only, to the stack's repository)."""
    return f"{PROJECT}-{APP}-{stack}-push"


def ecr_repository_name(stack: str) -> str:
    """The stack's ECR repository of the ai-api image (`components/ai_api/registry.py` creates it)."""
    return f"{PROJECT}/{stack}/{APP}"


def oidc_subject(owner: str, repository: str, environment: str) -> str:
    """The `sub` claim of a GitHub job that runs in `environment` (GitHub's default subject template)."""
    return f"repo:{owner}/{repository}:environment:{environment}"
