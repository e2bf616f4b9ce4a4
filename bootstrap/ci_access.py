"""GitHub Actions' way into the account: the OIDC provider and, per platform stack, the deploy, preview and image-push
roles (names in `lib/ci_names.py`, documents in `bootstrap/ci_policies.py`).

Which claim carries what (GitHub's default subject template, which the trust policies pin exactly):
- `aud` is `sts.amazonaws.com` (what `aws-actions/configure-aws-credentials` asks for);
- `sub` is `repo:<owner>/<repo>:environment:<environment>` for a job with `environment:`. It names the repository
  and the environment, not the branch: the branch is enforced by the environment's deployment branch policy
  (`bootstrap/repository.py`: deploy environments accept the default branch only), because GitHub issues no token
  for that environment to a job whose branch the policy refuses. So a deploy role (environment `<stack>`) can only
  be assumed from `main`; a preview role (environment `<stack>-preview`, no branch policy, read-only) from any
  branch's pull request; the ai-api push role from the ai-api repository's `<stack>` environment.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bootstrap import ci_policies
from bootstrap.settings import BootstrapConfig
from components.base import PlatformComponent
from config import StackConfig
from lib.aws import AwsContext
from lib.ci_names import (
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    deploy_environment,
    deploy_role_name,
    oidc_subject,
    preview_environment,
    preview_role_name,
    push_role_name,
)
from lib.iam import policy_document, web_identity_trust_policy


@dataclass(frozen=True)
class CiAccessArgs:
    """Inputs of `CiAccess`.

    config: the bootstrap config (owner, repositories, session length). stacks: the platform stacks of this
    account. home: the account in the bootstrap's region. state_bucket_arn / state_key_arn / secrets_key_arn: the
    backend the roles read and write. protected_bucket_arns / protected_key_arns: what no CI role may change.
    """

    config: BootstrapConfig
    stacks: dict[str, StackConfig]
    home: AwsContext
    state_bucket_arn: str
    state_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    protected_bucket_arns: list[str]
    protected_key_arns: list[pulumi.Input[str]]


def stack_contexts(home: AwsContext, stack: StackConfig) -> list[AwsContext]:
    """The stack's regions as account contexts: primary first, then the DR region when it has one."""
    regions = [stack.region] + ([stack.dr.region] if stack.dr.strategy != "none" else [])
    return [AwsContext(home.account_id, home.partition, region, home.dns_suffix) for region in regions]


class CiAccess(PlatformComponent):
    """The GitHub OIDC provider and the CI roles of each platform stack."""

    area = "ci"

    def __init__(self, name: str, args: CiAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        github, home = args.config.github, args.home
        # AWS secures the connection to GitHub's issuer with its own library of trusted root CAs and no longer uses
        # thumbprints for it (IAM user guide, "Create an OpenID Connect (OIDC) identity provider in IAM"): none set.
        self.provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github-oidc",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_lists=[GITHUB_OIDC_AUDIENCE],
            opts=self.child_opts(),
        )
        protected = ci_policies.protect_bootstrap_statements(
            ci_policies.ci_role_arns(home, list(args.stacks)), args.protected_bucket_arns, args.protected_key_arns
        )
        self.deploy_role_arns: dict[str, pulumi.Output[str]] = {}
        self.preview_role_arns: dict[str, pulumi.Output[str]] = {}
        self.push_role_arns: dict[str, pulumi.Output[str]] = {}
        for stack, stack_config in args.stacks.items():
            contexts = stack_contexts(home, stack_config)
            subject = oidc_subject(github.owner, github.repository, deploy_environment(stack))
            state = ci_policies.state_statements(
                args.state_bucket_arn, stack, args.state_key_arn, args.secrets_key_arn, home, write=True
            )
            self.deploy_role_arns[stack] = self._role(
                f"{name}-{stack}-deploy", deploy_role_name(stack), subject,
                f"pulumi up of platform stack {stack} from GitHub environment {deploy_environment(stack)}",
                state + ci_policies.deploy_statements(stack, contexts, [args.state_key_arn, args.secrets_key_arn])
                + protected, args,
            )  # fmt: skip
            read_state = ci_policies.state_statements(
                args.state_bucket_arn, stack, args.state_key_arn, args.secrets_key_arn, home, write=False
            )
            self.preview_role_arns[stack] = self._role(
                f"{name}-{stack}-preview", preview_role_name(stack),
                oidc_subject(github.owner, github.repository, preview_environment(stack)),
                f"read-only pulumi preview of platform stack {stack} from GitHub environment "
                f"{preview_environment(stack)}",
                read_state + ci_policies.preview_statements(stack, contexts), args,
            )  # fmt: skip
            if github.ai_api_repository and stack_config.api is not None:
                self.push_role_arns[stack] = self._role(
                    f"{name}-{stack}-push", push_role_name(stack),
                    oidc_subject(github.owner, github.ai_api_repository, deploy_environment(stack)),
                    f"image push of {github.ai_api_repository} to the {stack} ECR repository (push only)",
                    ci_policies.push_statements(stack, contexts[0]), args,
                )  # fmt: skip
        self.provider_arn: pulumi.Output[str] = self.provider.arn
        self.register_outputs(
            {
                "provider_arn": self.provider_arn,
                "deploy_role_arns": self.deploy_role_arns,
                "preview_role_arns": self.preview_role_arns,
                "push_role_arns": self.push_role_arns,
            }
        )

    def _role(
        self, name: str, role_name: str, subject: str, description: str, statements: list[dict[str, object]],
        args: CiAccessArgs,
    ) -> pulumi.Output[str]:  # fmt: skip
        """A role assumable by exactly one GitHub OIDC subject, with its inline policy."""
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=description,
            assume_role_policy=web_identity_trust_policy(
                self.provider.arn, GITHUB_OIDC_HOST, [subject], GITHUB_OIDC_AUDIENCE
            ),
            max_session_duration=args.config.ci.session_duration_seconds,
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(policy_document(statements)),
            opts=self.child_opts(),
        )
        return role.arn
