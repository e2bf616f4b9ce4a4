"""Validate Kubernetes objects declared in a plan with their ecosystem's schemas.

Core kinds: `kubernetes-validate` (the Kubernetes OpenAPI schemas) for the cluster's version, strict mode, so an
unknown or misspelt field fails. Custom resources: the official CRD's `openAPIV3Schema` from `../shared/crds/`,
checked with `jsonschema` (unknown fields fail too, as the API server's structural pruning would drop them).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from ops.engine import PROJECT_DIR, Plan, RecordedResource

CRD_DIR = PROJECT_DIR.parent / "shared" / "crds"
# Objects Pulumi's Kubernetes provider owns itself (not API objects).
_NOT_API_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/", "pulumi:providers:")


def manifest(resource: RecordedResource) -> dict[str, Any]:
    """The object a Kubernetes resource in the plan would send to the API server."""
    return {k: v for k, v in resource.inputs.items() if k in ("apiVersion", "kind", "metadata", "spec", "data",
            "stringData", "type", "rules", "roleRef", "subjects", "webhooks", "immutable", "provisioner",
            "parameters", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion",
            "automountServiceAccountToken", "imagePullSecrets", "secrets")}  # fmt: skip


def kubernetes_objects(plan: Plan) -> list[RecordedResource]:
    return [r for r in plan.resources if r.type.startswith("kubernetes:") and not r.type.startswith(_NOT_API_OBJECTS)]


@functools.cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema, for every served version of every CRD in ../shared/crds."""
    # One upstream file has bare `=` enum values, which YAML 1.1 reads as a special tag (see SOURCES.md).
    loader = type("CrdLoader", (yaml.SafeLoader,), {})
    loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(Path(CRD_DIR).glob("*.yaml")):
        for document in yaml.load_all(path.read_text(), Loader=loader):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def _structural(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD schema made strict: objects with `properties` and no `x-kubernetes-preserve-unknown-fields` reject
    unknown keys, as the API server would silently prune them (a typo that vanishes is still a bug)."""
    schema = dict(schema)
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema.setdefault("additionalProperties", False)
        schema["properties"] = {k: _structural(v) for k, v in schema["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _structural(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [_structural(s) for s in schema[key]]
    return schema


def has_crd(api_version: str, kind: str) -> bool:
    return (api_version, kind) in _crd_schemas()


def validate_custom_resource(obj: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` if `obj` does not match its CRD (KeyError if no CRD is shipped)."""
    schema = _structural(_crd_schemas()[(obj["apiVersion"], obj["kind"])])
    # metadata is validated by the API server itself, not by the CRD schema.
    schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k != "metadata"}
    body = {k: v for k, v in obj.items() if k != "metadata"}
    jsonschema.Draft7Validator(schema).validate(body)


def validate_core(obj: dict[str, Any], kubernetes_version: str) -> None:
    """Raise if `obj` is not a valid core Kubernetes object for `kubernetes_version` (strict: unknown fields fail)."""
    kubernetes_validate.validate(obj, kubernetes_version, strict=True)


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> None:
    """Validate any object: against its CRD when it is a custom resource we have, else the core schemas."""
    if has_crd(obj["apiVersion"], obj["kind"]):
        validate_custom_resource(obj)
    else:
        validate_core(obj, kubernetes_version)
