"""Quarantine a pod or a node: cut it off from the network and from new work, keep it for forensics.

Pod. NetworkPolicies only add allowances: a deny-all policy does not stop traffic another policy admits to the same
pod. So the pod leaves every Service and every allowing NetworkPolicy by losing the labels they select on (kept in
the annotation `ai-platform/quarantine-original-labels`), gains `ai-platform/quarantine=true`, and the namespace's
`ai-platform-quarantine` NetworkPolicy (selecting that label, no rules) denies all its ingress and egress. Its
ReplicaSet usually selects on the same labels: it then releases the pod (never deletes it) and starts a
replacement, which is what an incident wants: capacity is restored and the evidence stays. A policy that selects
every pod of the namespace cannot be left by relabelling: the command names it.

Node. Cordoned (no new pods) and labelled; every network interface of its EC2 instance (EKS nodes carry several:
the VPC CNI's pod ENIs too) gets only the stack's isolation security group (no rules: nothing in or out), created if
absent; each interface keeps its previous groups in the tag `ai-platform/quarantine-previous-security-groups`.
"""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from config import PROJECT
from ops.security.context import Response, ResponseError
from ops.security.kube import KubeApi

QUARANTINE_LABEL = "ai-platform/quarantine"
ORIGINAL_LABELS = "ai-platform/quarantine-original-labels"
QUARANTINE_POLICY = "ai-platform-quarantine"
PREVIOUS_GROUPS_TAG = "ai-platform/quarantine-previous-security-groups"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
PROVIDER_ID = re.compile(r"aws:///[a-z0-9-]+/(i-[0-9a-f]{8,17})")


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels; `{}` selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        held = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
                "Exists": key in labels, "DoesNotExist": key not in labels}[operator]  # fmt: skip
        if not held:
            return False
    return True


def _selector_keys(selector: dict[str, Any]) -> set[str]:
    keys = set(selector.get("matchLabels") or {})
    keys |= {e["key"] for e in selector.get("matchExpressions") or [] if e["operator"] in ("In", "Exists")}
    return keys


def deny_all_policy(namespace: str) -> dict[str, Any]:
    """The namespace's quarantine NetworkPolicy: pods labelled `ai-platform/quarantine=true`, no ingress or egress."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": QUARANTINE_POLICY,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "ai-platform-ops-security"},
        },
        "spec": {"podSelector": {"matchLabels": {QUARANTINE_LABEL: "true"}}, "policyTypes": ["Ingress", "Egress"]},
    }


def check_pod_names(namespace: str, name: str) -> None:
    if not DNS_LABEL.fullmatch(namespace):
        raise ResponseError(f"--namespace {namespace!r} is not a namespace name; allowed: a DNS label")
    if not DNS_SUBDOMAIN.fullmatch(name):
        raise ResponseError(f"--pod {name!r} is not a pod name; allowed: a DNS subdomain")


def check_node_name(node_name: str) -> None:
    if not DNS_SUBDOMAIN.fullmatch(node_name):
        raise ResponseError(f"--node {node_name!r} is not a node name; allowed: a DNS subdomain")


def quarantine_pod(response: Response, kube: KubeApi, namespace: str, name: str) -> None:
    """Quarantine one pod (module docstring). Undo: delete the pod once the evidence is taken (its replacement
    already runs); or restore the labels from the annotation and remove `ai-platform/quarantine`."""
    check_pod_names(namespace, name)
    pod = kube.read_pod(namespace, name)
    if pod is None:
        raise ResponseError(f"no pod {namespace}/{name} in cluster {response.target.cluster_name}")
    where = f"pod {namespace}/{name}"
    labels: dict[str, str] = dict(pod.get("metadata", {}).get("labels") or {})
    services = [s for s in kube.list_services(namespace) if (s.get("spec") or {}).get("selector")]
    policies = [p for p in kube.list_network_policies(namespace) if p["metadata"]["name"] != QUARANTINE_POLICY]
    serving = [s for s in services if selects({"matchLabels": s["spec"]["selector"]}, labels)]
    leaving = [f"Service {s['metadata']['name']}" for s in serving]
    drop = {key for s in serving for key in s["spec"]["selector"]}
    for policy in policies:
        selector = policy["spec"].get("podSelector") or {}
        if _selector_keys(selector) and selects(selector, labels):
            drop |= _selector_keys(selector)
            leaving.append(f"NetworkPolicy {policy['metadata']['name']}")
    drop.discard(QUARANTINE_LABEL)
    drop &= set(labels)
    if labels.get(QUARANTINE_LABEL) != "true" or drop:
        patch: dict[str, Any] = {"metadata": {"labels": {QUARANTINE_LABEL: "true", **dict.fromkeys(sorted(drop))}}}
        if drop:
            kept = {k: labels[k] for k in sorted(drop)}
            patch["metadata"]["annotations"] = {ORIGINAL_LABELS: json.dumps(kept, sort_keys=True)}
        response.act(
            "label pod", where, {"set": {QUARANTINE_LABEL: "true"}, "remove": sorted(drop), "leaves": leaving},
            lambda: kube.patch_pod(namespace, name, patch),
        )  # fmt: skip
        _owner_note(response, where, pod, drop)
    if not any(p["metadata"]["name"] == QUARANTINE_POLICY for p in kube.list_network_policies(namespace)):
        body = deny_all_policy(namespace)
        response.act(
            "create NetworkPolicy", f"{namespace}/{QUARANTINE_POLICY}", {"denies": "all ingress and egress"},
            lambda: kube.create_network_policy(namespace, body),
        )  # fmt: skip
    after = {k: v for k, v in labels.items() if k not in drop} | {QUARANTINE_LABEL: "true"}
    for policy in policies:
        allows = policy["spec"].get("ingress") or policy["spec"].get("egress")
        if allows and selects(policy["spec"].get("podSelector"), after):
            response.act(
                "still allowed by NetworkPolicy", f"{namespace}/{policy['metadata']['name']}",
                {"why": "it selects every pod (or this one) by labels the pod keeps: its rules still admit traffic; "
                 "narrow or remove it to isolate the pod"}, None,
            )  # fmt: skip


def _owner_note(response: Response, where: str, pod: dict[str, Any], drop: set[str]) -> None:
    """Say what the pod's controller does once the pod stops matching its selector."""
    for owner in pod.get("metadata", {}).get("ownerReferences") or []:
        if owner.get("controller") and drop:
            response.act(
                "controller releases the pod", where,
                {"owner": f"{owner['kind']} {owner['name']}",
                 "effect": "it no longer matches the selector: the controller starts a replacement; the pod is kept"},
                None,
            )  # fmt: skip


# --- quarantine-node ------------------------------------------------------------------------------------------------


def isolation_group_name(response: Response) -> str:
    return f"{PROJECT}-{response.target.stack}-isolation"


def quarantine_node(response: Response, kube: KubeApi, node_name: str) -> None:
    """Quarantine one node (module docstring). Undo: restore each interface's groups from its tag
    (`aws ec2 modify-network-interface-attribute --groups ...`), then `kubectl uncordon`; or terminate the instance
    after forensics (snapshot its volumes first)."""
    check_node_name(node_name)
    node = kube.read_node(node_name)
    if node is None:
        raise ResponseError(f"no node {node_name} in cluster {response.target.cluster_name}")
    spec = node.get("spec") or {}
    match = PROVIDER_ID.fullmatch(spec.get("providerID", ""))
    if not match:
        raise ResponseError(f"node {node_name} is not an EC2 instance (providerID {spec.get('providerID')!r})")
    instance_id = match.group(1)
    labels = node.get("metadata", {}).get("labels") or {}
    if not spec.get("unschedulable") or labels.get(QUARANTINE_LABEL) != "true":
        patch = {"spec": {"unschedulable": True}, "metadata": {"labels": {QUARANTINE_LABEL: "true"}}}
        response.act("cordon node", node_name, {"instance": instance_id}, lambda: kube.patch_node(node_name, patch))
    ec2 = response.client("ec2")
    try:
        instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    except (ClientError, IndexError):
        raise ResponseError(
            f"instance {instance_id} of node {node_name} not found in {response.target.region}"
        ) from None
    group = _isolation_group(response, ec2, instance["VpcId"])
    eni_ids = sorted(e["NetworkInterfaceId"] for e in instance.get("NetworkInterfaces", []))
    interfaces = ec2.describe_network_interfaces(NetworkInterfaceIds=eni_ids)["NetworkInterfaces"] if eni_ids else []
    for eni in sorted(interfaces, key=lambda e: e["NetworkInterfaceId"]):
        current = sorted(g["GroupId"] for g in eni.get("Groups", []))
        recorded = any(t["Key"] == PREVIOUS_GROUPS_TAG for t in eni.get("TagSet", []))
        if group["id"] is not None and group["id"] in current and (recorded or current == [group["id"]]):
            continue  # swapped already: its recorded groups are never overwritten
        response.act(
            "swap security groups", eni["NetworkInterfaceId"],
            {"instance": instance_id, "from": current, "to": group["id"] or f"{isolation_group_name(response)} (new)"},
            partial(_swap, ec2, eni["NetworkInterfaceId"], current, group),
        )  # fmt: skip
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    if tags.get(QUARANTINE_LABEL) != "true":
        response.act(
            "tag instance", instance_id, {QUARANTINE_LABEL: "true"},
            lambda: ec2.create_tags(Resources=[instance_id], Tags=[{"Key": QUARANTINE_LABEL, "Value": "true"}]),
        )  # fmt: skip


def _swap(ec2: Any, eni_id: str, previous: list[str], group: dict[str, str | None]) -> None:
    """Record the interface's groups in its tag, then give it the isolation group only (created by then)."""
    ec2.create_tags(Resources=[eni_id], Tags=[{"Key": PREVIOUS_GROUPS_TAG, "Value": ",".join(previous)}])
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Groups=[group["id"]])


def _isolation_group(response: Response, ec2: Any, vpc_id: str) -> dict[str, str | None]:
    """The stack's isolation group in the VPC (`id` None until created): no ingress, and its default allow-all
    egress rule revoked."""
    name = isolation_group_name(response)
    found = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    group: dict[str, str | None] = {"id": found[0]["GroupId"] if found else None}
    if group["id"] is None:

        def create() -> None:
            created = ec2.create_security_group(
                GroupName=name,
                Description="Quarantined nodes: no traffic in or out",
                VpcId=vpc_id,
                TagSpecifications=[{"ResourceType": "security-group",
                                    "Tags": [{"Key": "Name", "Value": name}, {"Key": "project", "Value": PROJECT},
                                             {"Key": "stack", "Value": response.target.stack}]}],
            )  # fmt: skip
            group["id"] = created["GroupId"]
            ec2.revoke_security_group_egress(
                GroupId=created["GroupId"],
                IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            )

        response.act("create isolation security group", name, {"vpc": vpc_id, "rules": "none"}, create)
    return group
