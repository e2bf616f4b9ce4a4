"""The ai-api's application secrets in the pods: one ExternalSecret per Secrets Manager secret
(`ai-platform/<stack>/ai-api/<name>`, read through the shared ClusterSecretStore), mounted read-only as files.

Files, not environment variables: the kubelet refreshes a mounted Secret in place (about a minute after it changes;
never with `subPath`), so a rotated key reaches running pods without a restart and without an outage, provided the
app reads the file when it uses the key (or re-reads it when it changes). external-secrets re-reads Secrets Manager
every `REFRESH_INTERVAL`, far under the shortest rotation period (1 day). A generated key's Secret holds the new key
(`api_key`) and the one it replaced (`previous_api_key`): the app accepts both, so clients holding the previous key
keep working until the next rotation.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.ai_api.names import APP, LABELS
from config.api import ApiConfig, ApiSecretConfig
from lib.k8s import WAIT_FOR_READY
from lib.security import app_secret_name

SECRETS_DIR = f"/var/run/secrets/{APP}"
SECRETS_VOLUME = "app-secrets"
REFRESH_INTERVAL = "15m"


def secret_keys(secret: ApiSecretConfig) -> tuple[str, ...]:
    """The JSON keys of the secret's value, each a file: a generated key also keeps the previous one."""
    return ("api_key", "previous_api_key") if secret.source == "generated" else ("api_key",)


def kubernetes_secret_name(secret: ApiSecretConfig) -> str:
    return f"{APP}-{secret.name}"


def external_secret_spec(stack: str, secret: ApiSecretConfig, store_name: str) -> dict[str, Any]:
    """Sync the secret's JSON keys into the Secret `ai-api-<name>` every REFRESH_INTERVAL."""
    return {
        "refreshInterval": REFRESH_INTERVAL,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": store_name},
        "target": {"name": kubernetes_secret_name(secret), "creationPolicy": "Owner", "deletionPolicy": "Retain"},
        "data": [
            {"secretKey": key, "remoteRef": {"key": app_secret_name(stack, secret.name), "property": key}}
            for key in secret_keys(secret)
        ],
    }


def external_secrets(
    name: str, config: ApiConfig, stack: str, store_name: str, opts: pulumi.ResourceOptions
) -> list[k8s.apiextensions.CustomResource]:
    """Declare `<name>-secret-<secret>` per configured secret; each counts as created once its Secret exists, so the
    pods (which wait for them) never start without their files."""
    return [
        k8s.apiextensions.CustomResource(
            f"{name}-secret-{secret.name}",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={
                "name": kubernetes_secret_name(secret),
                "namespace": config.namespace,
                "labels": dict(LABELS),
                "annotations": dict(WAIT_FOR_READY),
            },
            spec=external_secret_spec(stack, secret, store_name),
            opts=opts,
        )
        for secret in config.secrets
    ]


def mount(pod: dict[str, Any], config: ApiConfig) -> dict[str, Any]:
    """`pod` (a pod template) with the secrets as one read-only projected volume at SECRETS_DIR/<name>/<key>."""
    if not config.secrets:
        return pod
    sources = [
        {
            "secret": {
                "name": kubernetes_secret_name(secret),
                "items": [{"key": key, "path": f"{secret.name}/{key}"} for key in secret_keys(secret)],
            }
        }
        for secret in config.secrets
    ]
    spec = pod["spec"]
    spec["volumes"] = [
        *spec["volumes"],
        {"name": SECRETS_VOLUME, "projected": {"sources": sources, "defaultMode": 0o440}},
    ]
    for container in spec["containers"]:
        container["volumeMounts"] = [
            *container["volumeMounts"],
            {"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True},
        ]
    return pod
