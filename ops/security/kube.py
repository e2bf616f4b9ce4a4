"""The few Kubernetes calls the response commands make, behind a small interface of plain dicts (the API's JSON
shape, camelCase keys): `KubernetesApi` runs them with the official client, tests pass a recording stub."""

from __future__ import annotations

from typing import Any, Protocol

from ops.security.context import ResponseError, Target


class KubeApi(Protocol):
    """Reads return None for an object that does not exist; patches are strategic-merge patches."""

    def read_pod(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list_services(self, namespace: str) -> list[dict[str, Any]]: ...

    def list_network_policies(self, namespace: str) -> list[dict[str, Any]]: ...

    def patch_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> None: ...

    def create_network_policy(self, namespace: str, body: dict[str, Any]) -> None: ...

    def read_node(self, name: str) -> dict[str, Any] | None: ...

    def patch_node(self, name: str, patch: dict[str, Any]) -> None: ...


class KubernetesApi:
    """`KubeApi` through the official `kubernetes` client and the kubeconfig context of the stack's cluster (as
    `aws eks update-kubeconfig --name <cluster>` writes it: the context's cluster is the cluster's ARN)."""

    def __init__(self, target: Target) -> None:
        from kubernetes import client, config

        try:
            contexts, _ = config.list_kube_config_contexts()
        except config.ConfigException as error:
            raise ResponseError(f"no kubeconfig: {error}") from None
        wanted = [c["name"] for c in contexts if c["context"].get("cluster", "").endswith(f"/{target.cluster_name}")]
        if not wanted:
            raise ResponseError(
                f"no kubeconfig context for cluster {target.cluster_name}; run: aws eks update-kubeconfig "
                f"--name {target.cluster_name} --region {target.region}"
            )
        api_client = config.new_client_from_config(context=wanted[0])
        self._core = client.CoreV1Api(api_client)
        self._networking = client.NetworkingV1Api(api_client)
        self._plain = api_client.sanitize_for_serialization
        self._missing = client.ApiException

    def _read(self, call: Any, *args: str) -> dict[str, Any] | None:
        try:
            return dict(self._plain(call(*args)))
        except self._missing as error:
            if error.status == 404:
                return None
            raise

    def read_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._read(self._core.read_namespaced_pod, name, namespace)

    def list_services(self, namespace: str) -> list[dict[str, Any]]:
        return list(self._plain(self._core.list_namespaced_service(namespace)).get("items", []))

    def list_network_policies(self, namespace: str) -> list[dict[str, Any]]:
        return list(self._plain(self._networking.list_namespaced_network_policy(namespace)).get("items", []))

    def patch_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self._core.patch_namespaced_pod(name, namespace, patch)

    def create_network_policy(self, namespace: str, body: dict[str, Any]) -> None:
        self._networking.create_namespaced_network_policy(namespace, body)  # type: ignore[arg-type] # a dict is sent as is

    def read_node(self, name: str) -> dict[str, Any] | None:
        return self._read(self._core.read_node, name)

    def patch_node(self, name: str, patch: dict[str, Any]) -> None:
        self._core.patch_node(name, patch)
