"""Kubernetes metadata shared by every namespace and object the platform declares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Pulumi's Kubernetes provider waits for this condition before it reports the object created: a store that has
# validated its credentials, an ExternalSecret whose Kubernetes Secret exists. Whatever depends on them (the
# ExternalSecret on its store, a Job or pods on the Secret) then starts against something that works, instead of
# racing the controller's first reconcile.
WAIT_FOR_READY: dict[str, str] = {"pulumi.com/waitFor": "condition=Ready"}

POD_SECURITY_MODES: tuple[str, ...] = ("enforce", "audit", "warn")


def pod_security_labels(kubernetes_version: str, level: str = "restricted") -> dict[str, str]:
    """Namespace labels for Pod Security Admission: `level` enforced, audited and warned, each pinned to the
    cluster's own Kubernetes version (`v1.34`), so an upgrade never tightens or loosens a profile silently."""
    labels = {f"pod-security.kubernetes.io/{mode}": level for mode in POD_SECURITY_MODES}
    labels |= {f"pod-security.kubernetes.io/{mode}-version": f"v{kubernetes_version}" for mode in POD_SECURITY_MODES}
    return labels


def object_metadata(name: str, namespace: str, labels: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """`metadata` of a namespaced object: its name, namespace and labels, plus any `extra` field (`annotations`)."""
    return {"name": name, "namespace": namespace, "labels": labels, **extra}
