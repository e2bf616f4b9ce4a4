"""Kubernetes rules about reaching into the node: the host's namespaces and file system. Mandatory for every object,
the platform's own and chart-rendered alike; the only exceptions are the node agents the platform runs on purpose
(node-exporter, the log shipper), each narrowed to its own namespace and, for files, read-only paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .core import HIGH, Param, dig, items, mapping, resource_rule, truthy
from .kubernetes import WORKLOADS, workload_specs

# node-exporter (components/observability/metrics.py) reports the node itself: it shares the node's network and PID
# namespaces, in its own namespace only. No other pod may.
NODE_AGENT_HOST_NAMESPACES: dict[str, list[str]] = {"node-exporter": ["hostNetwork", "hostPID"]}


@resource_rule(
    id="k8s-no-host-namespaces",
    area="kubernetes",
    types=WORKLOADS,
    description=(
        "Pods do not share the node's network, PID or IPC namespaces, except node agents listed in setting "
        "allowedHostNamespaces (node-exporter: network and PID, in its own namespace)."
    ),
    severity=HIGH,
    remediation="Remove hostNetwork / hostPID / hostIPC from the pod spec.",
    controls=("CIS EKS 4.2.2", "CIS EKS 4.2.3", "CIS EKS 4.2.4", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),
    on_unknown="fail",
    params={
        "allowedHostNamespaces": Param(
            {namespace: list(keys) for namespace, keys in NODE_AGENT_HOST_NAMESPACES.items()},
            {
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {"enum": ["hostNetwork", "hostPID", "hostIPC"]},
                },
            },
            "Kubernetes namespace -> the host namespaces its pods may share (node agents only).",
        )
    },
)
def k8s_no_host_namespaces(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    allowed = items(mapping(config.get("allowedHostNamespaces")).get(dig(props, "metadata", "namespace") or ""))
    for spec, _found in workload_specs(resource_type, props):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if truthy(spec.get(key)) and key not in allowed:
                yield f"{key} is true"


# Node agents must read the node: the log shipper (components/observability/logs.py) /var/log read-only plus its
# position-keeping state directory, node-exporter /proc, /sys and / read-only, each in its own namespace only.
# Nothing else may mount the node.
NODE_AGENT_HOST_PATHS: tuple[dict[str, Any], ...] = (
    {"namespace": "logging", "path": "/var/log", "readOnly": True},
    {"namespace": "logging", "path": "/var/fluent-bit/state", "readOnly": False},
    # node-exporter reads the node's /proc, /sys and root file system, read-only.
    {"namespace": "node-exporter", "path": "/proc", "readOnly": True},
    {"namespace": "node-exporter", "path": "/sys", "readOnly": True},
    {"namespace": "node-exporter", "path": "/", "readOnly": True},
)
_HOST_PATHS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"namespace": {"type": "string"}, "path": {"type": "string"}, "readOnly": {"type": "boolean"}},
        "required": ["namespace", "path", "readOnly"],
        "additionalProperties": False,
    },
}


def _host_path_allowed(
    namespace: str | None, volume: Mapping[str, Any], mounts: list[Mapping[str, Any]], allowed: Iterable[Any]
) -> bool:
    """True when `volume` (a hostPath) is one the settings allow in `namespace`, mounted read-only where required."""
    path = dig(volume, "hostPath", "path")
    for entry in allowed:
        entry = mapping(entry)
        if entry.get("namespace") == namespace and entry.get("path") == path:
            return not entry.get("readOnly") or all(truthy(m.get("readOnly")) for m in mounts)
    return False


@resource_rule(
    id="k8s-no-host-path",
    area="kubernetes",
    types=WORKLOADS,
    description=(
        "Pods mount no hostPath volumes, except the node agents listed in setting allowedHostPaths (the log shipper "
        "reads /var/log read-only in its own namespace)."
    ),
    severity=HIGH,
    remediation="Use emptyDir, a projected volume or a PersistentVolumeClaim instead of hostPath.",
    controls=("CKV_K8S_27",),
    on_unknown="fail",
    params={
        "allowedHostPaths": Param(
            [dict(entry) for entry in NODE_AGENT_HOST_PATHS],
            _HOST_PATHS_SCHEMA,
            "hostPath volumes a node agent may mount: namespace, exact path, and whether every mount of it must be "
            "read-only.",
        )
    },
)
def k8s_no_host_path(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    namespace = dig(props, "metadata", "namespace")
    for spec, found in workload_specs(resource_type, props):
        for volume in items(spec.get("volumes")):
            volume = mapping(volume)
            if volume.get("hostPath") is None:
                continue
            mounts = [
                mapping(m)
                for c in found
                for m in items(c.get("volumeMounts"))
                if mapping(m).get("name") == volume.get("name")
            ]
            if not _host_path_allowed(namespace, volume, mounts, items(config.get("allowedHostPaths"))):
                yield f"volume {volume.get('name', '?')} mounts hostPath {dig(volume, 'hostPath', 'path')}"
