"""Response runbooks (docs/runbooks/security.md): revoke a role's sessions, remove an EKS access entry, quarantine
a pod, quarantine a node. Dry-run by default; `--apply` acts; every action is audit-logged (ops.security.context).

Bad input (a malformed name or ARN, a role, cluster, pod or node that does not exist) and refused actions (removing
the last cluster-admin entry) exit 2 with one message and nothing changed. Re-running a command that already took
effect changes nothing more (revoke-sessions moves the cut-off to the new "now", as the console does).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.security import quarantine
from ops.security.context import (
    ClientFactory,
    Response,
    ResponseError,
    Target,
    add_common_arguments,
    boto3_client,
    run_command,
)
from ops.security.kube import KubeApi, KubernetesApi

# The console's name for the revocation policy (IAM user guide, "Revoking IAM role temporary security credentials").
REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
PRINCIPAL_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::(\d{12}):(role|user)/([\w+=,.@/-]{1,512})")
ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"

# Injection points: tests replace these with moto-backed clients and a recording Kubernetes stub.
CLIENTS: ClientFactory = boto3_client
KUBE: Callable[[Target], KubeApi] = KubernetesApi


def register(subparsers: argparse._SubParsersAction) -> None:
    """The subcommands of this module under `python -m ops security`."""
    commands: list[tuple[str, str, Callable[[argparse.ArgumentParser], object], Callable[..., None]]] = [
        ("revoke-sessions", "deny every session of a role issued before now (AWSRevokeOlderSessions)",
         lambda p: p.add_argument("--role", required=True, help="IAM role name"), _revoke),
        ("disable-access", "remove a principal's EKS access entry from the stack's cluster",
         lambda p: p.add_argument("--principal-arn", required=True, help="IAM role or user ARN"), _disable),
        ("quarantine-pod", "label a pod, cut it off with a deny-all NetworkPolicy and out of its Services (kept)",
         _pod_arguments, _quarantine_pod),
        ("quarantine-node", "cordon a node and swap its ENIs' security groups for an isolation group",
         lambda p: p.add_argument("--node", required=True, help="Kubernetes node name"), _quarantine_node),
    ]  # fmt: skip
    for name, help_text, arguments, body in commands:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        arguments(parser)
        add_common_arguments(parser)
        parser.set_defaults(handler=lambda args, body=body: _run(args, body))


def _run(args: argparse.Namespace, body: Callable[..., None]) -> int:
    """Run one subcommand: its argument check first (nothing called yet), then the body with the stack's context."""
    checks: dict[str, Callable[[], object]] = {
        "revoke-sessions": lambda: check_role_name(args.role),
        "disable-access": lambda: check_principal_arn(args.principal_arn),
        "quarantine-pod": lambda: quarantine.check_pod_names(args.namespace, args.pod),
        "quarantine-node": lambda: quarantine.check_node_name(args.node),
    }
    return run_command(args, lambda response: body(response, args), CLIENTS, checks[args.security_command])


def _pod_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", required=True, help="the pod's namespace")
    parser.add_argument("--pod", required=True, help="the pod's name")


def _revoke(response: Response, args: argparse.Namespace) -> None:
    revoke_sessions(response, args.role)


def _disable(response: Response, args: argparse.Namespace) -> None:
    disable_access(response, args.principal_arn)


def _quarantine_pod(response: Response, args: argparse.Namespace) -> None:
    quarantine.quarantine_pod(response, KUBE(response.target), args.namespace, args.pod)


def _quarantine_node(response: Response, args: argparse.Namespace) -> None:
    quarantine.quarantine_node(response, KUBE(response.target), args.node)


def check_role_name(role: str) -> None:
    if not ROLE_NAME.fullmatch(role):
        raise ResponseError(f"--role {role!r} is not an IAM role name; allowed: 1-64 of letters, digits and +=,.@_-")


def check_principal_arn(principal_arn: str) -> re.Match[str]:
    match = PRINCIPAL_ARN.fullmatch(principal_arn)
    if not match:
        raise ResponseError(
            f"--principal-arn {principal_arn!r} is not an IAM role or user ARN; allowed: "
            "arn:<partition>:iam::<account>:role/<name> or arn:<partition>:iam::<account>:user/<name>"
        )
    return match


# --- revoke-sessions ------------------------------------------------------------------------------------------------


def revoke_policy(cutoff: str) -> dict[str, Any]:
    """The console's revocation policy: deny everything to sessions whose token was issued before `cutoff`."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
            }
        ],
    }


def revoke_sessions(response: Response, role: str) -> None:
    """Attach AWSRevokeOlderSessions to `role`: sessions issued before now lose every permission; new sessions
    (assumed after the cut-off) work. Undo: delete the inline policy once the old credentials have expired."""
    check_role_name(role)
    iam = response.client("iam")
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            raise ResponseError(f"--role {role}: no such role in this account") from None
        raise
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = json.dumps(revoke_policy(cutoff))
    response.act(
        f"put inline policy {REVOKE_POLICY_NAME} on role",
        arn,
        {"denies sessions issued before": cutoff},
        lambda: iam.put_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME, PolicyDocument=document),
    )


# --- disable-access -------------------------------------------------------------------------------------------------


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paginated EKS list call (nextToken)."""
    found: list[Any] = []
    token: str | None = None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        found += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return found


def cluster_admins(eks: Any, cluster: str, entries: list[str], configured: set[str]) -> set[str]:
    """Principals with cluster-wide admin: entries associated with AmazonEKSClusterAdminPolicy, and the admin roles
    of the stack config that have an entry."""
    admins = {arn for arn in entries if arn in configured}
    for arn in entries:
        policies = _pages(
            eks.list_associated_access_policies, "associatedAccessPolicies", clusterName=cluster, principalArn=arn
        )
        if any(p.get("policyArn", "").endswith(f"/{ADMIN_ACCESS_POLICY}") for p in policies):
            admins.add(arn)
    return admins


def disable_access(response: Response, principal_arn: str) -> None:
    """Delete the EKS access entry of `principal_arn` on the stack's cluster, unless it is the last cluster admin
    (that would lock everyone out). Undo: `pulumi up` restores entries the stack declares; others are recreated
    with `aws eks create-access-entry` and `associate-access-policy`."""
    match = check_principal_arn(principal_arn)
    eks, cluster = response.client("eks"), response.target.cluster_name
    try:
        eks.describe_cluster(name=cluster)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise ResponseError(f"cluster {cluster} not found in {response.target.region}") from None
        raise
    entries = _pages(eks.list_access_entries, "accessEntries", clusterName=cluster)
    if principal_arn not in entries:
        response.act("no EKS access entry to remove", principal_arn, {"cluster": cluster}, None)
        return
    partition, account = match.group(1) or "", match.group(2)
    configured = {f"arn:aws{partition}:iam::{account}:role/{r}" for r in response.target.admin_roles}
    admins = cluster_admins(eks, cluster, entries, configured)
    if principal_arn in admins and not admins - {principal_arn}:
        raise ResponseError(
            f"refused: {principal_arn} is the last cluster-admin access entry of {cluster}; removing it locks "
            "everyone out. Grant another admin first (ai-platform:cluster.admin_roles, pulumi up)"
        )
    if principal_arn in configured:
        response.act(
            "declared in ai-platform:cluster.admin_roles",
            principal_arn,
            {"effect": "the next pulumi up restores the entry: remove the role from the stack file too"},
            None,
        )
    response.act(
        "delete EKS access entry",
        principal_arn,
        {"cluster": cluster, "cluster_admin": principal_arn in admins},
        lambda: eks.delete_access_entry(clusterName=cluster, principalArn=principal_arn),
    )
