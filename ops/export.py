"""An offline plan in the formats other tools read: Terraform plan JSON for the AWS side, YAML for Kubernetes.

Checkov (and every Terraform scanner) cannot read a Pulumi program, but reads `terraform show -json` output. Most
pulumi-aws resources are bridged from the Terraform AWS provider, so a plan maps back mechanically:

- type: `aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock` -> `aws_s3_bucket_public_access_block`
  (`aws_<module>_<snake name>`, with the `ec2` module dropped as Terraform does, and the renames in `_TYPE_RENAMES`);
- values: camelCase -> snake_case; Pulumi's pluralised list-of-block names back to Terraform's singular block name
  (`rules` -> `rule`); nested objects become one-element block lists; maps (`tags`) keep their keys; values the
  plan does not know yet (`[unknown]`) are left out, as Terraform leaves them out of `planned_values`;
- references: every input that depends on another exported resource (`propertyDependencies`) becomes
  `configuration.root_module.resources[].expressions.<attr>.references`, so checks that join resources (a bucket and
  its public access block, its encryption configuration) see the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ops.engine import UNKNOWN, Plan, RecordedResource

TERRAFORM_FORMAT_VERSION = "1.2"
# Pulumi token -> Terraform type where the mechanical rule does not give it.
_TYPE_RENAMES = {
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:alb/loadBalancer:LoadBalancer": "aws_lb",
}
# Terraform types of the ec2 module keep no module prefix (aws_vpc, aws_subnet...), except these.
_EC2_KEEPS_PREFIX = ("transitGateway", "clientVpn", "fleet", "host", "capacityReservation", "tag")
# Inputs that are maps in Terraform (their keys are data, not attribute names).
_MAP_INPUTS = {"tags", "tagsAll", "labels", "parameters", "variables"}
# List-of-block attributes whose Terraform name is itself plural (Pulumi does not pluralise these).
_PLURAL_BLOCKS = {"blockDeviceMappings", "tagSpecifications", "networkInterfaces", "licenseSpecifications"}
# Pulumi keeps singular names for these lists of blocks already; and a few Terraform names end in "s".
_NOT_PLURALISED = {"ingress", "egress", "settings", "status", "access", "address", "alias", "dns", "ipv6_address"}
# Objects Pulumi's Kubernetes provider owns itself (not API objects).
_NOT_API_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/", "pulumi:providers:")
_MANIFEST_FIELDS = (
    "apiVersion", "kind", "metadata", "spec", "data", "stringData", "type", "rules", "roleRef", "subjects", "webhooks",
    "immutable", "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion",
    "automountServiceAccountToken", "imagePullSecrets", "secrets",
)  # fmt: skip


def snake(name: str) -> str:
    """camelCase -> snake_case (`kmsMasterKeyId` -> `kms_master_key_id`, `enableDnsHostnames` -> ...)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z][a-z])", r"_\1\2", name).lower()


def terraform_type(token: str) -> str:
    """The Terraform resource type of a pulumi-aws type token."""
    if token in _TYPE_RENAMES:
        return _TYPE_RENAMES[token]
    package, module_path, _ = token.split(":")
    module, resource = module_path.split("/")
    if module == "ec2" and not resource.startswith(_EC2_KEEPS_PREFIX):
        return f"{package}_{snake(resource)}"
    return f"{package}_{module}_{snake(resource)}"


def _attribute(name: str, value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and name not in _PLURAL_BLOCKS:
        tf_name = snake(name)
        if tf_name not in _NOT_PLURALISED and tf_name.endswith("s"):
            return tf_name[:-3] + "y" if tf_name.endswith("ies") else tf_name[:-1]
        return tf_name
    return snake(name)


def terraform_values(inputs: dict[str, Any]) -> dict[str, Any]:
    """A resource's inputs as Terraform attribute values (see the module docstring)."""
    values: dict[str, Any] = {}
    for name, value in inputs.items():
        if value == UNKNOWN or name.startswith("__"):
            continue
        if name in _MAP_INPUTS and isinstance(value, dict):
            values[snake(name)] = value
        else:
            values[_attribute(name, value)] = _terraform_value(value)
    return values


def _terraform_value(value: Any) -> Any:
    if isinstance(value, dict):
        return [terraform_values(value)]
    if isinstance(value, list):
        return [terraform_values(v) if isinstance(v, dict) else v for v in value if v != UNKNOWN]
    return value


def _addresses(resources: Iterable[RecordedResource]) -> dict[str, tuple[str, str]]:
    """urn -> (Terraform type, unique name) of each exported resource."""
    taken: set[str] = set()
    found: dict[str, tuple[str, str]] = {}
    for resource in resources:
        tf_type = terraform_type(resource.type)
        base = re.sub(r"[^A-Za-z0-9_-]", "_", resource.name)
        name, counter = base, 1
        while f"{tf_type}.{name}" in taken:
            counter += 1
            name = f"{base}_{counter}"
        taken.add(f"{tf_type}.{name}")
        found[resource.urn] = (tf_type, name)
    return found


def aws_resources(plan: Plan) -> list[RecordedResource]:
    """The plan's AWS resources (custom resources of the aws package)."""
    return [r for r in plan.resources if r.custom and r.type.startswith("aws:")]


def terraform_plan(plan: Plan) -> dict[str, Any]:
    """The plan's AWS resources as a Terraform plan JSON document (`terraform show -json` shape)."""
    resources = aws_resources(plan)
    addresses = _addresses(resources)
    planned: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    for resource in resources:
        tf_type, name = addresses[resource.urn]
        address = f"{tf_type}.{name}"
        values = terraform_values(resource.inputs)
        planned.append({
            "address": address, "mode": "managed", "type": tf_type, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0, "values": values,
        })  # fmt: skip
        expressions: dict[str, Any] = {}
        for prop, urns in resource.propertyDependencies.items():
            references = [ref for urn in urns if urn in addresses for ref in _references(addresses[urn])]
            if references and prop in resource.inputs:
                expressions[_attribute(prop, resource.inputs[prop])] = {"references": references}
        configured.append({
            "address": address, "mode": "managed", "type": tf_type, "name": name,
            "provider_config_key": "aws", "expressions": expressions, "schema_version": 0,
        })  # fmt: skip
    return {
        "format_version": TERRAFORM_FORMAT_VERSION,
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [_change(p) for p in planned],
        "configuration": {"root_module": {"resources": configured}},
    }


def _change(planned: dict[str, Any]) -> dict[str, Any]:
    """The plan's `resource_changes` entry of a resource to create with these values."""
    change = {"actions": ["create"], "before": None, "after": planned["values"], "after_unknown": {}}
    return {key: planned[key] for key in ("address", "mode", "type", "name")} | {"change": change}


def _references(address: tuple[str, str]) -> list[str]:
    """How Terraform lists a reference to a resource's id: the attribute, then the resource."""
    return [f"{address[0]}.{address[1]}.id", f"{address[0]}.{address[1]}"]


def kubernetes_objects(plan: Plan) -> list[RecordedResource]:
    """The plan's Kubernetes API objects (not Helm releases, YAML groups or providers)."""
    return [r for r in plan.resources if r.type.startswith("kubernetes:") and not r.type.startswith(_NOT_API_OBJECTS)]


def manifest(resource: RecordedResource) -> dict[str, Any]:
    """The object a Kubernetes resource in the plan would send to the API server."""
    return {k: v for k, v in resource.inputs.items() if k in _MANIFEST_FIELDS}
