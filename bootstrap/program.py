"""The bootstrap program: one AWS account's Pulumi backend and CI access, and the GitHub settings of its stacks.

Reading it top to bottom is reading the bootstrap: providers (the bootstrap region, the DR region, GitHub), the
state backend, the CI roles that use it, then the GitHub environments that hand those roles to the workflows.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from bootstrap.ci_access import CiAccess, CiAccessArgs
from bootstrap.repository import RepositorySettings, RepositorySettingsArgs, StackVariables, check_names
from bootstrap.settings import REPOSITORY_ROOT, Bootstrap
from bootstrap.state_backend import StateBackend, StateBackendArgs, state_bucket_arn
from components.backup import Backup, BackupArgs
from components.base import PlatformComponent
from components.platform import lookup_aws_context
from lib.aws import AwsContext
from lib.tagging import tagging_transformation

# Every stack output (`pulumi stack output <name>`) and what it is for.
OUTPUTS: dict[str, str] = {
    "backend_url": "Where the platform stacks keep their state: `pulumi login <backend_url>`.",
    "secrets_provider": "The platform stacks' secrets provider: `pulumi stack init <stack> --secrets-provider "
    "<secrets_provider>`.",
    "dr_secrets_provider": "The same key's replica in the DR region (`pulumi stack change-secrets-provider` there "
    "during a regional outage).",
    "state_bucket_name": "The state bucket (versioned, SSE-KMS, replicated to the DR region).",
    "replica_bucket_name": "Its replica in the DR region (`pulumi login s3://<replica>` during a regional outage).",
    "github_oidc_provider_arn": "The IAM OIDC provider of GitHub Actions.",
    "deploy_role_arns": "Per platform stack, the role `pulumi up` runs as in CI (environment `<stack>`).",
    "preview_role_arns": "Per platform stack, the read-only role of previews and drift checks (`<stack>-preview`).",
    "push_role_arns": "Per platform stack with the ai-api, the ai-api repository's push-only ECR role.",
    "required_checks": "The default branch's required status checks (the pull-request workflow's jobs).",
}


class BootstrapAccount(PlatformComponent):
    """Everything one bootstrap stack declares."""

    area = "bootstrap"

    def __init__(self, name: str, bootstrap: Bootstrap, opts: pulumi.ResourceOptions | None = None) -> None:
        # The tagging transformation sits on the root component, so every descendant inherits it.
        tagging = pulumi.ResourceOptions(transformations=[tagging_transformation(bootstrap.mandatory_tags())])
        super().__init__(name, pulumi.ResourceOptions.merge(opts, tagging))
        config = bootstrap.config
        aws_provider = aws.Provider(f"{name}-aws", region=config.region, opts=self.child_opts())
        dr_provider = aws.Provider(f"{name}-aws-dr", region=config.state.dr_region, opts=self.child_opts())
        # The token is the environment's (GITHUB_TOKEN), never the stack file's.
        github_provider = github.Provider(f"{name}-github", owner=config.github.owner, opts=self.child_opts())
        home = lookup_aws_context(config.region, aws_provider)
        dr = AwsContext(home.account_id, home.partition, config.state.dr_region, home.dns_suffix)

        self.state = StateBackend(
            f"{name}-backend",
            StateBackendArgs(settings=config.state, home=home, dr=dr, dr_provider=dr_provider),
            self.child_opts(providers={"aws": aws_provider}),
        )
        # Versions and the replica guard against a bad write; AWS Backup (with a vault lock) against a deletion of
        # versions or of a bucket, in each region, by anyone. Each region's plan also copies its points into the
        # other region's vault: the state's history survives the loss of a region whether or not replication kept
        # up (the `dr-backup-copies` rule every prod stack meets).
        sites = (
            ("backup", home, aws_provider, self.state.state_bucket_arn, self.state.state_key_arn),
            ("dr-backup", dr, dr_provider, self.state.replica_bucket_arn, self.state.replica_state_key_arn),
        )
        vault_arns = {ctx.region: ctx.arn("backup", f"backup-vault:{name}-{role}-vault") for role, ctx, *_ in sites}
        self.backups = [
            Backup(
                f"{name}-{role}",
                BackupArgs(
                    config=config.backup,
                    kms_key_arn=self.state.backup_key_arns[ctx.region],
                    protected_resources={"state": bucket},
                    source_kms_key_arns=[key],
                    aws=ctx,
                    copy_destination_vault_arn=vault_arns[other.region],
                    copy_destination_kms_key_arn=self.state.backup_key_arns[other.region],
                ),
                self.child_opts(providers={"aws": provider}),
            )
            for (role, ctx, provider, bucket, key), other in zip(sites, (dr, home), strict=True)
        ]
        self.ci = CiAccess(
            f"{name}-ci",
            CiAccessArgs(
                config=config,
                stacks=bootstrap.stacks,
                home=home,
                state_bucket_arn=state_bucket_arn(home),
                state_key_arn=self.state.state_key_arn,
                secrets_key_arn=self.state.secrets_key_arn,
                protected_bucket_arns=[state_bucket_arn(home), state_bucket_arn(dr)],
                protected_key_arns=[self.state.state_key_arn, self.state.secrets_key_arn],
            ),
            self.child_opts(providers={"aws": aws_provider}),
        )
        self.required_checks = check_names(REPOSITORY_ROOT / config.github.pull_request_workflow)
        variables = {
            stack: StackVariables(
                region=stack_config.region,
                deploy_role_arn=self.ci.deploy_role_arns[stack],
                preview_role_arn=self.ci.preview_role_arns[stack],
                push_role_arn=self.ci.push_role_arns.get(stack),
            )
            for stack, stack_config in bootstrap.stacks.items()
        }
        self.repository = RepositorySettings(
            f"{name}-github",
            RepositorySettingsArgs(
                config=config,
                stacks=bootstrap.stacks,
                variables=variables,
                backend_url=self.state.backend_url,
                secrets_provider=self.state.secrets_provider,
                required_checks=self.required_checks,
            ),
            self.child_opts(providers={"github": github_provider}),
        )
        self.register_outputs(self.exports())

    def exports(self) -> dict[str, object]:
        """The stack outputs, keyed as `OUTPUTS` lists them."""
        return {
            "backend_url": self.state.backend_url,
            "secrets_provider": self.state.secrets_provider,
            "dr_secrets_provider": self.state.dr_secrets_provider,
            "state_bucket_name": self.state.state_bucket_name,
            "replica_bucket_name": self.state.replica_bucket_name,
            "github_oidc_provider_arn": self.ci.provider_arn,
            "deploy_role_arns": self.ci.deploy_role_arns,
            "preview_role_arns": self.ci.preview_role_arns,
            "push_role_arns": self.ci.push_role_arns,
            "required_checks": self.required_checks,
        }


def build(bootstrap: Bootstrap) -> BootstrapAccount:
    """Declare the bootstrap of one account and export its outputs (the whole body of `__main__.py`)."""
    account = BootstrapAccount(bootstrap.config.stack, bootstrap)
    for key, value in account.exports().items():
        pulumi.export(key, value)
    return account
