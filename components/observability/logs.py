"""Container logs: Fluent Bit (chart `aws-for-fluent-bit`) on every node ships every container's log to one
CloudWatch Logs group per stack, `/aws/eks/<cluster>/containers`, which the program declares (KMS, retention).

One group rather than one per namespace: every container's log shares the retention (`logs.retention_days`) and
the key, so per-namespace groups would only multiply resources; and since Fluent Bit never creates a group
(`auto_create_group false`, its role cannot), a namespace without a declared group would lose its logs, whereas one
group takes every namespace, the platform's and any created later. Streams are named
`<namespace>.<pod>.<container>`, and every record carries its Kubernetes metadata (`kubernetes.namespace_name`...),
so Logs Insights filters by namespace, pod or container.

Fluent Bit reads `/var/log/containers` (symlinks into `/var/log/pods`) from the node through hostPath, read-only,
and keeps its read positions in a hostPath state directory so a restarted pod neither resends nor skips lines. That
takes Pod Security `privileged` for its namespace (`baseline` already forbids hostPath) and root inside the
container (the log files are root's, mode 0640); it adds nothing else: no capability (ALL dropped), no privilege
escalation, a read-only root filesystem, no host network. Its DaemonSet tolerates every taint, so the `system`
nodes' logs (the add-ons') are shipped too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_aws as aws

from components.addons.charts import ChartSource
from components.base import PlatformComponent
from components.identity import WorkloadRole
from components.observability.telemetry_base import (
    chart,
    irsa_role,
    namespace,
    service_account_values,
)
from config.namespaces import LOGS_NAMESPACE
from lib.aws import AwsContext

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs

FLUENT_BIT_CHART = ChartSource("aws-for-fluent-bit", "https://aws.github.io/eks-charts")
SERVICE_ACCOUNT = "fluent-bit"
# The only CloudWatch Logs calls Fluent Bit's `cloudwatch_logs` output makes into existing groups: streams are
# created and written (resource type log-stream), a group's streams listed (resource type log-group).
STREAM_ACTIONS: tuple[str, ...] = ("logs:CreateLogStream", "logs:PutLogEvents")
GROUP_ACTIONS: tuple[str, ...] = ("logs:DescribeLogStreams",)
# On the node: the container logs (read-only) and Fluent Bit's read positions (its tail database).
STATE_DIRECTORY = "/var/fluent-bit/state"
HOST_VOLUMES: list[dict[str, Any]] = [
    {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
    {"name": "state", "hostPath": {"path": STATE_DIRECTORY, "type": "DirectoryOrCreate"}},
]
HOST_MOUNTS: list[dict[str, Any]] = [
    {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
    {"name": "state", "mountPath": STATE_DIRECTORY},
]
# Fluent Bit's built-in HTTP server (`service.extraService` of the chart) answers the health checks.
HEALTH_PORT = 2020
# Stream per container; a record whose metadata is missing falls back to `log_stream_prefix` + its tag.
LOG_STREAM_TEMPLATE = "$kubernetes['namespace_name'].$kubernetes['pod_name'].$kubernetes['container_name']"


def container_log_group_name(cluster_name: str) -> str:
    """The stack's container log group, beside the control plane's `/aws/eks/<cluster>/cluster`."""
    return f"/aws/eks/{cluster_name}/containers"


def writer_statements(aws_ctx: AwsContext, group_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Fluent Bit's permissions: create and write streams in, and list the streams of, exactly `group_names`, each
    action on the resource type the Service Authorization Reference gives it; no CreateLogGroup, so it can never
    write anywhere the program did not declare."""
    return [
        {
            "Sid": "WriteContainerLogStreams",
            "Effect": "Allow",
            "Action": list(STREAM_ACTIONS),
            "Resource": [aws_ctx.arn("logs", f"log-group:{group}:log-stream:*") for group in group_names],
        },
        {
            "Sid": "ListContainerLogStreams",
            "Effect": "Allow",
            "Action": list(GROUP_ACTIONS),
            "Resource": [aws_ctx.arn("logs", f"log-group:{group}") for group in group_names],
        },
    ]


def fluent_bit_values(region: str, group_name: str, role: WorkloadRole) -> dict[str, Any]:
    """Helm values of aws-for-fluent-bit: tail every container log, add Kubernetes metadata, write to `group_name`
    only (never creating a group), on every node, hardened as far as reading the node's logs allows."""
    return {
        "fullnameOverride": "fluent-bit",
        "serviceAccount": service_account_values(SERVICE_ACCOUNT, role),
        "input": {"db": f"{STATE_DIRECTORY}/flb_kube.db"},
        "cloudWatchLogs": {
            "enabled": True,
            "region": region,  # explicit: pods cannot reach IMDS (hop limit 1)
            "logGroupName": group_name,
            "logStreamTemplate": LOG_STREAM_TEMPLATE,
            "logStreamPrefix": "fallback-",
            # A string: the chart writes the line only when the value is truthy, so a boolean false would leave
            # the plugin's default in force silently; "false" renders `auto_create_group false` explicitly.
            "autoCreateGroup": "false",
        },
        # Every node, the tainted `system` nodes included (a toleration with no key matches every taint).
        "tolerations": [{"operator": "Exists"}],
        "resources": {"requests": {"cpu": "50m", "memory": "100Mi"}, "limits": {"memory": "250Mi"}},
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {
            "runAsUser": 0,  # the node's log files are root's (0640): reading them takes root, nothing more
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "privileged": False,
        },
        "volumes": HOST_VOLUMES,
        "volumeMounts": HOST_MOUNTS,
        "readinessProbe": {
            "httpGet": {"path": "/api/v1/health", "port": HEALTH_PORT, "scheme": "HTTP"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
    }


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> tuple[str, ...]:
    """Declare the container log group, Fluent Bit's namespace, IRSA role and chart under `parent`; returns the
    names of the groups it writes to."""
    settings = args.config.logs
    group_name = container_log_group_name(args.cluster_name)
    group = aws.cloudwatch.LogGroup(
        f"{name}-container-logs",
        name=group_name,
        retention_in_days=settings.retention_days,
        kms_key_id=args.logs_kms_key_arn,
        opts=parent.child_opts(),
    )
    groups = (group_name,)
    logs_namespace = namespace(parent, name, LOGS_NAMESPACE, args.kubernetes_version, "privileged")
    role = irsa_role(
        parent,
        f"{name}-fluent-bit",
        args,
        namespace_name=LOGS_NAMESPACE,
        service_account=SERVICE_ACCOUNT,
        statements=writer_statements(args.aws, groups),
        description=f"Fluent Bit of {args.cluster_name}: write container logs to {group_name}",
    )
    chart(
        parent,
        f"{name}-fluent-bit",
        FLUENT_BIT_CHART,
        settings.fluent_bit_chart_version,
        LOGS_NAMESPACE,
        fluent_bit_values(args.aws.region, group_name, role),
        depends_on=[logs_namespace, group, *role.ready],
    )
    return groups
