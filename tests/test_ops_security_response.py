"""`python -m ops security` response commands against moto (IAM, EC2, STS) and two explicit stubs, named as such:
`StubEksAccessEntries` (moto has no EKS access-entry API) and `StubKubeApi` (no cluster here). Each command:
dry-run changes nothing, --apply does exactly the action, a re-run changes nothing more, bad input exits 2 with
one message and nothing changed; every action is an audit-log JSON line naming who ran it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ec2.models import ec2_backends

from ops.__main__ import main
from ops.security import quarantine, response
from ops.security.context import boto3_client
from tests.conftest import stack_config
from tests.manifests import validate_core

REGION = "us-east-1"
CLUSTER = "ai-platform-prod"
ACCOUNT = "123456789012"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"  # the prod stack file's admin role
CI_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/ci-deploy"
SUSPECT = f"arn:aws:iam::{ACCOUNT}:role/suspect"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def run(tmp_path: Path, *argv: str) -> int:
    return main(["security", *argv, "--stack", "prod", "--audit-log", str(tmp_path / "audit.jsonl")])


def audit(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- revoke-sessions ---------------------------------------------------------------------------------------------


def _role(name: str = "ai-api") -> None:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}  # fmt: skip
    boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def test_revoke_sessions_dry_run_changes_nothing(aws, tmp_path, capsys) -> None:
    _role()
    assert run(tmp_path, "revoke-sessions", "--role", "ai-api") == 0
    assert boto3.client("iam").list_role_policies(RoleName="ai-api")["PolicyNames"] == []
    out = capsys.readouterr().out
    assert "would do: put inline policy AWSRevokeOlderSessions on role arn:aws:iam::" in out
    [record] = audit(tmp_path)
    assert record["mode"] == "dry-run"
    assert record["command"] == "revoke-sessions"
    assert record["who"].startswith(f"arn:aws:sts::{ACCOUNT}:") or record["who"].startswith("arn:aws:iam::")


def test_revoke_sessions_apply_denies_older_tokens_and_rerun_keeps_one_policy(aws, tmp_path) -> None:
    _role()
    iam = boto3.client("iam")
    assert run(tmp_path, "revoke-sessions", "--role", "ai-api", "--apply") == 0
    assert run(tmp_path, "revoke-sessions", "--role", "ai-api", "--apply") == 0
    assert iam.list_role_policies(RoleName="ai-api")["PolicyNames"] == ["AWSRevokeOlderSessions"]
    document = iam.get_role_policy(RoleName="ai-api", PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
    [statement] = document["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == ["*"]
    assert statement["Resource"] == ["*"]
    cutoff = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert cutoff == audit(tmp_path)[-1]["detail"]["denies sessions issued before"], "the latest run's cut-off"
    assert [r["mode"] for r in audit(tmp_path)] == ["apply", "apply"]


@pytest.mark.parametrize(
    ("role", "message"),
    [("nobody", "--role nobody: no such role in this account"), ("bad role!", "is not an IAM role name")],
)
def test_revoke_sessions_bad_role_exits_2_with_nothing_changed(aws, tmp_path, capsys, role, message) -> None:
    _role()
    assert run(tmp_path, "revoke-sessions", "--role", role, "--apply") == 2
    assert message in capsys.readouterr().err
    assert boto3.client("iam").list_role_policies(RoleName="ai-api")["PolicyNames"] == []
    assert audit(tmp_path) == []


# --- disable-access ----------------------------------------------------------------------------------------------


class StubEksAccessEntries:
    """Explicit stub: moto implements no EKS access-entry API. Holds one cluster's entries (principal -> access
    policy ARNs) and records every call; raises EKS's own errors for an unknown cluster or entry."""

    def __init__(self, entries: dict[str, list[str]], cluster: str = CLUSTER) -> None:
        self.entries, self.cluster, self.calls = entries, cluster, []

    def _check(self, name: str) -> None:
        if name != self.cluster:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": f"No cluster found for name: {name}."}}
            raise ClientError(error, "DescribeCluster")

    def describe_cluster(self, name: str) -> dict[str, Any]:
        self.calls.append(("describe_cluster", name))
        self._check(name)
        return {"cluster": {"name": name}}

    def list_access_entries(self, clusterName: str, **_: Any) -> dict[str, Any]:
        self._check(clusterName)
        return {"accessEntries": sorted(self.entries)}

    def list_associated_access_policies(self, clusterName: str, principalArn: str, **_: Any) -> dict[str, Any]:
        return {"associatedAccessPolicies": [{"policyArn": arn} for arn in self.entries[principalArn]]}

    def delete_access_entry(self, clusterName: str, principalArn: str) -> dict[str, Any]:
        self.calls.append(("delete_access_entry", clusterName, principalArn))
        del self.entries[principalArn]
        return {}


@pytest.fixture
def eks_stub(aws, monkeypatch: pytest.MonkeyPatch) -> StubEksAccessEntries:
    stub = StubEksAccessEntries({ADMIN: [ADMIN_POLICY], CI_ADMIN: [ADMIN_POLICY], SUSPECT: [VIEW_POLICY]})
    monkeypatch.setattr(response, "CLIENTS", lambda s, r: stub if s == "eks" else boto3_client(s, r))
    return stub


def _deletes(stub: StubEksAccessEntries) -> list[tuple[str, ...]]:
    return [call for call in stub.calls if call[0] == "delete_access_entry"]


def test_disable_access_dry_run_then_apply_then_rerun(eks_stub, tmp_path, capsys) -> None:
    assert run(tmp_path, "disable-access", "--principal-arn", SUSPECT) == 0
    assert _deletes(eks_stub) == []
    assert SUSPECT in eks_stub.entries
    assert run(tmp_path, "disable-access", "--principal-arn", SUSPECT, "--apply") == 0
    assert _deletes(eks_stub) == [("delete_access_entry", CLUSTER, SUSPECT)]
    assert sorted(eks_stub.entries) == sorted([ADMIN, CI_ADMIN]), "only the suspect's entry is gone"
    assert run(tmp_path, "disable-access", "--principal-arn", SUSPECT, "--apply") == 0
    assert len(_deletes(eks_stub)) == 1
    assert "note: no EKS access entry to remove" in capsys.readouterr().out


def test_disable_access_of_a_configured_admin_warns_that_pulumi_restores_it(eks_stub, tmp_path, capsys) -> None:
    assert run(tmp_path, "disable-access", "--principal-arn", ADMIN, "--apply") == 0
    assert _deletes(eks_stub) == [("delete_access_entry", CLUSTER, ADMIN)]
    assert "the next pulumi up restores the entry" in capsys.readouterr().out


def test_disable_access_refuses_to_remove_the_last_admin(aws, tmp_path, monkeypatch, capsys) -> None:
    stub = StubEksAccessEntries({ADMIN: [ADMIN_POLICY], SUSPECT: [VIEW_POLICY]})
    monkeypatch.setattr(response, "CLIENTS", lambda s, r: stub if s == "eks" else boto3_client(s, r))
    assert run(tmp_path, "disable-access", "--principal-arn", ADMIN, "--apply") == 2
    assert "last cluster-admin access entry of ai-platform-prod" in capsys.readouterr().err
    assert _deletes(stub) == []
    assert ADMIN in stub.entries


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("arn:aws:iam::12345:role/x", "is not an IAM role or user ARN"),
        ("platform-admin", "is not an IAM role or user ARN"),
    ],
)
def test_disable_access_malformed_arn_exits_2(eks_stub, tmp_path, capsys, arn, message) -> None:
    assert run(tmp_path, "disable-access", "--principal-arn", arn, "--apply") == 2
    assert message in capsys.readouterr().err
    assert eks_stub.calls == []
    assert audit(tmp_path) == []


def test_disable_access_on_a_missing_cluster_exits_2(aws, tmp_path, monkeypatch, capsys) -> None:
    stub = StubEksAccessEntries({SUSPECT: []}, cluster="another-cluster")
    monkeypatch.setattr(response, "CLIENTS", lambda s, r: stub if s == "eks" else boto3_client(s, r))
    assert run(tmp_path, "disable-access", "--principal-arn", SUSPECT, "--apply") == 2
    assert "cluster ai-platform-prod not found in us-east-1" in capsys.readouterr().err
    assert _deletes(stub) == []


# --- Kubernetes stub ---------------------------------------------------------------------------------------------


class StubKubeApi:
    """Explicit stub of `ops.security.kube.KubeApi` (no cluster here): objects as the API's JSON, patches applied
    as a strategic merge of maps (null removes a key), every write recorded."""

    def __init__(self, pods=(), services=(), policies=(), nodes=()) -> None:
        self.pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): copy.deepcopy(p) for p in pods}
        self.services, self.policies = [copy.deepcopy(s) for s in services], [copy.deepcopy(p) for p in policies]
        self.nodes = {n["metadata"]["name"]: copy.deepcopy(n) for n in nodes}
        self.writes: list[tuple[str, ...]] = []

    @staticmethod
    def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
        for key, value in patch.items():
            if value is None:
                target.pop(key, None)
            elif isinstance(value, dict):
                StubKubeApi._merge(target.setdefault(key, {}), value)
            else:
                target[key] = value

    def read_pod(self, namespace, name):
        return copy.deepcopy(self.pods.get((namespace, name)))

    def list_services(self, namespace):
        return [s for s in self.services if s["metadata"]["namespace"] == namespace]

    def list_network_policies(self, namespace):
        return [p for p in self.policies if p["metadata"]["namespace"] == namespace]

    def patch_pod(self, namespace, name, patch):
        self.writes.append(("patch_pod", namespace, name))
        self._merge(self.pods[(namespace, name)], patch)

    def create_network_policy(self, namespace, body):
        self.writes.append(("create_network_policy", namespace, body["metadata"]["name"]))
        self.policies.append(copy.deepcopy(body))

    def read_node(self, name):
        return copy.deepcopy(self.nodes.get(name))

    def patch_node(self, name, patch):
        self.writes.append(("patch_node", name))
        self._merge(self.nodes[name], patch)


APP = {"app.kubernetes.io/name": "ai-api", "app.kubernetes.io/instance": "ai-api"}
POD = {
    "metadata": {
        "name": "ai-api-7d9f-x2x", "namespace": "ai-api", "labels": {**APP, "pod-template-hash": "7d9f"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "ai-api-7d9f", "controller": True}],
    },
    "spec": {"containers": [{"name": "api", "image": "ai-api:1"}]},
}  # fmt: skip
SERVICE = {"metadata": {"name": "ai-api", "namespace": "ai-api"}, "spec": {"selector": APP}}
ALLOW_ALB = {
    "metadata": {"name": "ai-api", "namespace": "ai-api"},
    "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ai-api"}}, "policyTypes": ["Ingress"],
             "ingress": [{"ports": [{"port": 8080}]}]},
}  # fmt: skip
DEFAULT_DENY = {"metadata": {"name": "default-deny", "namespace": "ai-api"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}  # fmt: skip


@pytest.fixture
def kube(aws, monkeypatch: pytest.MonkeyPatch) -> StubKubeApi:
    stub = StubKubeApi(pods=[POD], services=[SERVICE], policies=[ALLOW_ALB, DEFAULT_DENY])
    monkeypatch.setattr(response, "KUBE", lambda target: stub)
    return stub


# --- quarantine-pod ----------------------------------------------------------------------------------------------


def test_quarantine_pod_dry_run_changes_nothing(kube, tmp_path, capsys) -> None:
    assert run(tmp_path, "quarantine-pod", "--namespace", "ai-api", "--pod", "ai-api-7d9f-x2x") == 0
    assert kube.writes == []
    out = capsys.readouterr().out
    assert "would do: label pod pod ai-api/ai-api-7d9f-x2x" in out
    assert "would do: create NetworkPolicy ai-api/ai-platform-quarantine" in out
    assert "ReplicaSet ai-api-7d9f" in out


def test_quarantine_pod_apply_isolates_keeps_the_pod_and_rerun_is_a_no_op(kube, tmp_path) -> None:
    assert run(tmp_path, "quarantine-pod", "--namespace", "ai-api", "--pod", "ai-api-7d9f-x2x", "--apply") == 0
    assert kube.writes == [("patch_pod", "ai-api", "ai-api-7d9f-x2x"),
                           ("create_network_policy", "ai-api", "ai-platform-quarantine")]  # fmt: skip
    pod = kube.pods[("ai-api", "ai-api-7d9f-x2x")]
    labels = pod["metadata"]["labels"]
    assert labels == {"ai-platform/quarantine": "true", "pod-template-hash": "7d9f"}, "off the Service and policy"
    assert json.loads(pod["metadata"]["annotations"][quarantine.ORIGINAL_LABELS]) == APP
    assert not quarantine.selects({"matchLabels": SERVICE["spec"]["selector"]}, labels)
    assert not quarantine.selects(ALLOW_ALB["spec"]["podSelector"], labels)
    [policy] = [p for p in kube.policies if p["metadata"]["name"] == quarantine.QUARANTINE_POLICY]
    assert quarantine.selects(policy["spec"]["podSelector"], labels)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"]
    validate_core(policy, stack_config("prod").cluster.version)
    assert run(tmp_path, "quarantine-pod", "--namespace", "ai-api", "--pod", "ai-api-7d9f-x2x", "--apply") == 0
    assert len(kube.writes) == 2, "a quarantined pod is left alone"


def test_quarantine_pod_names_a_policy_that_still_admits_it(aws, tmp_path, monkeypatch, capsys) -> None:
    dns = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53}]}]}
    allow_all = {"metadata": {"name": "allow-dns", "namespace": "ai-api"}, "spec": dns}
    stub = StubKubeApi(pods=[POD], services=[SERVICE], policies=[allow_all])
    monkeypatch.setattr(response, "KUBE", lambda target: stub)
    assert run(tmp_path, "quarantine-pod", "--namespace", "ai-api", "--pod", "ai-api-7d9f-x2x", "--apply") == 0
    assert "note: still allowed by NetworkPolicy ai-api/allow-dns" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("namespace", "pod", "message"),
    [("ai-api", "gone", "no pod ai-api/gone in cluster ai-platform-prod"),
     ("AI_API", "x", "is not a namespace name"), ("ai-api", "Bad/Pod", "is not a pod name")],
)  # fmt: skip
def test_quarantine_pod_bad_input_exits_2(kube, tmp_path, capsys, namespace, pod, message) -> None:
    assert run(tmp_path, "quarantine-pod", "--namespace", namespace, "--pod", pod, "--apply") == 2
    assert message in capsys.readouterr().err
    assert kube.writes == []


# --- quarantine-node ---------------------------------------------------------------------------------------------


def _instance_with_two_enis() -> tuple[str, str, list[str]]:
    """An EKS-like node: an instance with its primary ENI and a second (pod) ENI, both in the node group's SG."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    node_sg = ec2.create_security_group(GroupName="nodes", Description="nodes", VpcId=vpc)["GroupId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"], SecurityGroupIds=[node_sg]
    )["Instances"][0]["InstanceId"]
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Groups=[node_sg])["NetworkInterface"]
    ec2.attach_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=instance, DeviceIndex=1)
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return vpc, instance, sorted(e["NetworkInterfaceId"] for e in described["NetworkInterfaces"])


def _node(instance: str) -> dict[str, Any]:
    return {"metadata": {"name": "ip-10-30-0-10.ec2.internal", "labels": {}},
            "spec": {"providerID": f"aws:///us-east-1a/{instance}"}}  # fmt: skip


def _groups(eni: str) -> list[str]:
    """The interface's own security groups. Read from moto's backend: moto's DescribeNetworkInterfaces adds the
    instance's launch groups to every attached interface (`NetworkInterface.group_set`), which real EC2 does not
    (there an instance's groups are its primary interface's)."""
    interface = ec2_backends[ACCOUNT][REGION].get_network_interface(eni)
    return sorted(group.id for group in interface._group_set)


def test_quarantine_node_dry_run_then_apply_then_rerun(aws, tmp_path, monkeypatch, capsys) -> None:
    vpc, instance, enis = _instance_with_two_enis()
    before = {eni: _groups(eni) for eni in enis}
    stub = StubKubeApi(nodes=[_node(instance)])
    monkeypatch.setattr(response, "KUBE", lambda target: stub)
    ec2 = boto3.client("ec2")
    isolation = [{"Name": "group-name", "Values": ["ai-platform-prod-isolation"]}]

    assert run(tmp_path, "quarantine-node", "--node", "ip-10-30-0-10.ec2.internal") == 0
    assert stub.writes == []
    assert ec2.describe_security_groups(Filters=isolation)["SecurityGroups"] == []
    assert {eni: _groups(eni) for eni in enis} == before
    assert capsys.readouterr().out.count("would do: swap security groups") == 2, "every interface, not only eth0"

    assert run(tmp_path, "quarantine-node", "--node", "ip-10-30-0-10.ec2.internal", "--apply") == 0
    assert stub.nodes["ip-10-30-0-10.ec2.internal"]["spec"]["unschedulable"] is True
    [group] = ec2.describe_security_groups(Filters=isolation)["SecurityGroups"]
    assert group["VpcId"] == vpc
    assert group["IpPermissions"] == []
    assert group["IpPermissionsEgress"] == []
    for eni in enis:
        assert _groups(eni) == [group["GroupId"]]
        tags = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["TagSet"]
        assert {"Key": quarantine.PREVIOUS_GROUPS_TAG, "Value": ",".join(before[eni])} in tags
    tags = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["Tags"]
    assert {"Key": "ai-platform/quarantine", "Value": "true"} in tags

    applied = len(audit(tmp_path))
    assert run(tmp_path, "quarantine-node", "--node", "ip-10-30-0-10.ec2.internal", "--apply") == 0
    assert len(audit(tmp_path)) == applied, "nothing left to do"
    assert len(ec2.describe_security_groups(Filters=isolation)["SecurityGroups"]) == 1
    assert all(r["who"] for r in audit(tmp_path))


@pytest.mark.parametrize(
    ("node", "message"),
    [("ip-10-9-9-9.ec2.internal", "no node ip-10-9-9-9.ec2.internal"), ("Node_1", "is not a node name")],
)
def test_quarantine_node_bad_input_exits_2(kube, tmp_path, capsys, node, message) -> None:
    assert run(tmp_path, "quarantine-node", "--node", node, "--apply") == 2
    assert message in capsys.readouterr().err
    assert kube.writes == []
    assert audit(tmp_path) == []
