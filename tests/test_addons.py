"""Add-ons: pinned official charts, their IRSA wiring, Karpenter's AWS side and default pool, external-secrets'
scope, per-stack switches, and every Kubernetes object validated against its schema."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from components.addons import CHARTS, NAMESPACES, Addons, AddonsArgs
from components.addons.iam import (
    external_secrets_statements,
    karpenter_controller_statements,
    load_balancer_controller_statements,
)
from components.addons.karpenter import interruption_queue_policy
from config import ADDON_KEYS, AddonsConfig
from config.maintenance import MaintenanceConfig
from lib.aws import AwsContext
from ops.engine import run_program
from tests.conftest import stack_config
from tests.manifests import has_crd, kubernetes_objects, manifest, validate_object


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


ADDONS = "ai-platform:addons:Addons"
CHART = "kubernetes:helm.sh/v4:Chart"
# The service account each add-on's controller runs as (the one its IRSA role trusts), when it has a role.
ROLE_SERVICE_ACCOUNTS = {
    "load_balancer_controller": "aws-load-balancer-controller",
    "karpenter": "karpenter",
    "external_secrets": "external-secrets",
}


def addon_resources(plan, type_: str | None = None):
    component = plan.component(ADDONS)
    return [r for r in plan.descendants(component.urn) if type_ is None or r.type == type_]


def charts(plan) -> dict[str, object]:
    return {r.name.split("-addons-", 1)[1].replace("-", "_"): r for r in addon_resources(plan, CHART)}


def role_of_chart(plan, chart):
    [role_urn] = [
        urn for urn in chart.propertyDependencies.get("values", []) if plan.get(urn).type == "aws:iam/role:Role"
    ]
    return plan.get(role_urn)


def test_every_addon_is_an_official_chart_at_its_pinned_version(plan_of, any_stack) -> None:
    config = stack_config(any_stack).addons
    found = charts(plan_of(any_stack))
    assert set(found) == set(ADDON_KEYS)
    for key, chart in found.items():
        assert chart.inputs["version"] == getattr(config, key).chart_version
        assert chart.inputs["chart"] == CHARTS[key].chart
        assert chart.inputs.get("repositoryOpts", {}).get("repo") == CHARTS[key].repo
        assert chart.inputs["namespace"] == NAMESPACES[key]
    assert found["karpenter"].inputs["chart"].startswith("oci://public.ecr.aws/karpenter/")


@pytest.mark.parametrize("key", sorted(ROLE_SERVICE_ACCOUNTS))
def test_service_account_is_annotated_with_a_role_that_trusts_exactly_it(plan_of, key: str) -> None:
    plan = plan_of("prod")
    chart = charts(plan)[key]
    values = chart.inputs["values"]
    account = values["serviceAccount"]
    assert account["name"] == ROLE_SERVICE_ACCOUNTS[key]
    role = role_of_chart(plan, chart)
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role.name}"}
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    sub = next(v for k, v in conditions.items() if k.endswith(":sub"))
    assert sub == f"system:serviceaccount:{NAMESPACES[key]}:{ROLE_SERVICE_ACCOUNTS[key]}"


def test_controllers_run_on_the_system_node_group(plan_of) -> None:
    found = charts(plan_of("prod"))
    placements = [
        found["load_balancer_controller"].inputs["values"],
        found["karpenter"].inputs["values"],
        found["metrics_server"].inputs["values"],
        found["vpa"].inputs["values"]["recommender"],
        found["external_secrets"].inputs["values"],
        found["external_secrets"].inputs["values"]["webhook"],
        found["argo_rollouts"].inputs["values"]["controller"],
    ]
    for values in placements:
        assert values["nodeSelector"] == {"node.kubernetes.io/node-group": "system"}
        assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in values["tolerations"]


def test_dev_runs_single_replicas_and_prod_two_with_disruption_budgets(plan_of) -> None:
    dev, prod = charts(plan_of("dev")), charts(plan_of("prod"))
    assert dev["metrics_server"].inputs["values"]["replicas"] == 1
    assert dev["metrics_server"].inputs["values"]["podDisruptionBudget"] == {"enabled": False}
    assert prod["metrics_server"].inputs["values"]["replicas"] == 2
    assert prod["metrics_server"].inputs["values"]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert dev["karpenter"].inputs["values"]["replicas"] == 1
    assert prod["karpenter"].inputs["values"]["replicas"] == 2
    assert prod["argo_rollouts"].inputs["values"]["controller"]["replicas"] == 2
    assert prod["load_balancer_controller"].inputs["values"]["replicaCount"] == 2
    assert prod["vpa"].inputs["values"]["recommender"]["replicas"] == 1, "no leader election: one recommender"


def test_vpa_only_recommends(plan_of) -> None:
    values = charts(plan_of("prod"))["vpa"].inputs["values"]
    assert values["recommender"]["enabled"] is True
    assert values["updater"] == {"enabled": False}
    assert values["admissionController"] == {"enabled": False}


def test_load_balancer_controller_knows_its_cluster_region_and_vpc(plan_of) -> None:
    plan = plan_of("prod")
    values = charts(plan)["load_balancer_controller"].inputs["values"]
    [vpc] = plan.by_type("aws:ec2/vpc:Vpc")
    assert values["clusterName"] == "ai-platform-prod"
    assert values["region"] == "us-east-1"
    assert values["vpcId"] == f"vpc-{vpc.name}"


def test_load_balancer_controller_may_only_change_this_clusters_load_balancers(plan_of) -> None:
    plan = plan_of("prod")
    role = role_of_chart(plan, charts(plan)["load_balancer_controller"])
    [policy] = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{role.name[:-5]}-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    create = statements["CreateTaggedLoadBalancers"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": "ai-platform-prod"}}
    for sid in ("ModifyOwnLoadBalancers", "ManageOwnSecurityGroups"):
        assert statements[sid]["Condition"]["StringEquals"] == {
            "aws:ResourceTag/elbv2.k8s.aws/cluster": "ai-platform-prod"
        }
    assert statements["CreateSecurityGroupInThisVpc"]["Resource"][1].endswith(":vpc/vpc-prod-network-vpc")
    assert statements["ManageNodeSecurityGroupRules"]["Resource"] == (
        "arn:aws:ec2:us-east-1:123456789012:security-group/sg-ai-platform-prod-node"
    )
    wildcard = [s["Sid"] for s in statements.values() if s["Resource"] == "*"]
    assert wildcard == ["Describe", "WafShield", "ListServerCertificates"], "only lookups, WAF and Shield"


# --- Karpenter ----------------------------------------------------------------------------------------------------


def test_karpenter_interruption_queue_receives_the_four_event_kinds(plan_of) -> None:
    plan = plan_of("prod")
    [queue] = addon_resources(plan, "aws:sqs/queue:Queue")
    assert queue.inputs["name"] == "ai-platform-prod"
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert charts(plan)["karpenter"].inputs["values"]["settings"] == {
        "clusterName": "ai-platform-prod",
        "interruptionQueue": "ai-platform-prod",
    }
    rules = addon_resources(plan, "aws:cloudwatch/eventRule:EventRule")
    kinds = {json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in rules}
    assert kinds == {
        "AWS Health Event",
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
    }
    targets = addon_resources(plan, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 4
    assert all(t.propertyDependencies["arn"] == [queue.urn] for t in targets)
    [policy] = addon_resources(plan, "aws:sqs/queuePolicy:QueuePolicy")
    deny = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_karpenter_nodes_join_through_an_access_entry_for_their_role(plan_of) -> None:
    plan = plan_of("prod")
    [entry] = addon_resources(plan, "aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["type"] == "EC2_LINUX"
    assert entry.inputs["clusterName"] == "ai-platform-prod"
    [role_urn] = entry.propertyDependencies["principalArn"]
    role = plan.get(role_urn)
    assert role.inputs["name"] == "ai-platform-prod-karpenter-node"
    [node_class] = addon_resources(plan, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert node_class.inputs["spec"]["role"] == role.inputs["name"]
    karpenter = charts(plan)["karpenter"]
    assert entry.urn in karpenter.dependencies, "Karpenter must not launch nodes that cannot join"


def test_karpenter_node_class_exists_only_once_its_role_has_its_policies(plan_of) -> None:
    """Karpenter launches nodes as soon as the EC2NodeClass exists; their role must already carry the node
    policies, or the first nodes never join."""
    plan = plan_of("prod")
    [node_class] = addon_resources(plan, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    role = plan.by_name("prod-addons-karpenter-node-role")
    attachments = [
        r.urn
        for r in addon_resources(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if role.urn in r.propertyDependencies.get("role", [])
    ]
    assert len(attachments) == 3
    assert set(attachments) <= set(node_class.dependencies)


def test_karpenter_controller_may_pass_only_the_node_role(plan_of) -> None:
    plan = plan_of("prod")
    role = role_of_chart(plan, charts(plan)["karpenter"])
    [policy] = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{role.name[:-5]}-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["AllowPassingInstanceRole"]["Resource"].endswith(":role/ai-platform-prod-karpenter-node")
    assert statements["AllowInterruptionQueueActions"]["Resource"].endswith(":ai-platform-prod")
    assert statements["AllowScopedDeletion"]["Condition"]["StringEquals"] == {
        "aws:ResourceTag/kubernetes.io/cluster/ai-platform-prod": "owned"
    }


def test_ec2_node_class_uses_private_subnets_node_security_group_and_imdsv2(plan_of) -> None:
    plan = plan_of("prod")
    [node_class] = addon_resources(plan, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    spec = node_class.inputs["spec"]
    [group] = plan.by_type("aws:eks/nodeGroup:NodeGroup")
    assert [t["id"] for t in spec["subnetSelectorTerms"]] == group.inputs["subnetIds"]
    assert spec["securityGroupSelectorTerms"] == [{"id": "sg-ai-platform-prod-node"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == stack_config("prod").cluster.imds_hop_limit
    [root] = spec["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] is True
    assert root["ebs"]["volumeType"] == "gp3"
    assert spec["tags"]["cost-center"] == "ai-platform-prod"


def test_node_pool_has_limits_consolidation_and_a_disruption_budget(plan_of) -> None:
    for stack in ("dev", "prod"):
        config = stack_config(stack).addons.karpenter
        [pool] = addon_resources(plan_of(stack), "kubernetes:karpenter.sh/v1:NodePool")
        spec = pool.inputs["spec"]
        assert spec["limits"] == {"cpu": str(config.cpu_limit), "memory": f"{config.memory_limit_gib}Gi"}
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
        assert spec["disruption"]["budgets"][0] == {"nodes": "10%"}  # the window's budget: tests/test_operations.py
        requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
        assert requirements["karpenter.sh/capacity-type"] == list(config.capacity_types)
    assert stack_config("prod").addons.karpenter.capacity_types == ("on-demand",)
    assert "spot" in stack_config("dev").addons.karpenter.capacity_types


def test_custom_resources_wait_for_their_charts(plan_of) -> None:
    plan = plan_of("prod")
    found = charts(plan)
    for type_, key in (
        ("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "karpenter"),
        ("kubernetes:karpenter.sh/v1:NodePool", "karpenter"),
        ("kubernetes:external-secrets.io/v1:ClusterSecretStore", "external_secrets"),
    ):
        [resource] = addon_resources(plan, type_)
        assert found[key].urn in resource.dependencies, type_


# --- external-secrets ---------------------------------------------------------------------------------------------


def test_external_secrets_reads_only_this_stacks_path(plan_of) -> None:
    plan = plan_of("prod")
    role = role_of_chart(plan, charts(plan)["external_secrets"])
    [policy] = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{role.name[:-5]}-policy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    secrets = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ai-platform/prod/*"
    read = statements[0]
    assert read["Resource"] == secrets
    assert all(action.startswith("secretsmanager:") and "Put" not in action for action in read["Action"])
    decrypt = statements[1]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"]["StringLike"] == {"kms:EncryptionContext:SecretARN": secrets}
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    assert plan.outputs["secrets_path_prefix"] == "ai-platform/prod/"


def test_cluster_secret_store_points_at_secrets_manager_in_the_region(plan_of) -> None:
    [store] = addon_resources(plan_of("prod"), "kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert store.inputs["metadata"]["name"] == "aws-secrets-manager"
    assert store.inputs["spec"] == {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}}


# --- IAM builders, without the Pulumi runtime ----------------------------------------------------------------------

AWS_CTX = AwsContext(account_id="123456789012", partition="aws", region="eu-west-1")


def test_iam_statements_have_unique_sids_and_only_documented_wildcards() -> None:
    lbc = load_balancer_controller_statements(AWS_CTX, "c1", "vpc-1", "sg-1")
    karpenter = karpenter_controller_statements(AWS_CTX, "c1", "arn:aws:iam::123456789012:role/n", "arn:q")
    for statements in (lbc, karpenter, external_secrets_statements(AWS_CTX, "ai-platform/x/")):
        sids = [s["Sid"] for s in statements]
        assert len(sids) == len(set(sids))
        assert all(s["Effect"] == "Allow" for s in statements)
    assert [s["Sid"] for s in lbc if s["Resource"] == "*"] == ["Describe", "WafShield", "ListServerCertificates"]
    wildcard = {s["Sid"]: s for s in karpenter if s["Resource"] == "*"}
    assert set(wildcard) == {
        "AllowRegionalReadActions", "AllowPricingReadActions", "AllowUnscopedInstanceProfileListAction"
    }  # fmt: skip
    assert wildcard["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    assert json.loads(json.dumps(karpenter)) == karpenter, "plain inputs give a plain JSON document"


def test_load_balancer_controller_changes_only_resources_tagged_as_its_clusters() -> None:
    statements = {s["Sid"]: s for s in load_balancer_controller_statements(AWS_CTX, "c1", "vpc-1", "sg-1")}
    ours = {"aws:ResourceTag/elbv2.k8s.aws/cluster": "c1"}
    for sid in ("RetagOwnSecurityGroups", "ManageOwnSecurityGroups", "RetagOwnLoadBalancers", "ModifyOwnLoadBalancers"):
        assert statements[sid]["Condition"]["StringEquals"] == ours, sid
    for sid in ("TagNewSecurityGroups", "CreateTaggedLoadBalancers", "TagOnCreate"):
        assert statements[sid]["Condition"]["StringEquals"]["aws:RequestTag/elbv2.k8s.aws/cluster"] == "c1", sid
    assert "elasticloadbalancing:DeleteLoadBalancer" in statements["ModifyOwnLoadBalancers"]["Action"]
    assert statements["CreateTaggedLoadBalancers"]["Resource"][0] == (
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/*"
    )


def test_karpenter_touches_only_this_clusters_instances_and_passes_only_the_node_role() -> None:
    node_role = "arn:aws:iam::123456789012:role/c1-karpenter-node"
    statements = {s["Sid"]: s for s in karpenter_controller_statements(AWS_CTX, "c1", node_role, "arn:q")}
    owned = {"aws:ResourceTag/kubernetes.io/cluster/c1": "owned"}
    for sid in ("AllowScopedEC2LaunchTemplateAccessActions", "AllowScopedResourceTagging", "AllowScopedDeletion"):
        assert statements[sid]["Condition"]["StringEquals"] == owned, sid
        assert statements[sid]["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.sh/nodepool": "*"}, sid
    for sid in ("AllowScopedEC2InstanceActionsWithTags", "AllowScopedInstanceProfileCreationActions"):
        assert statements[sid]["Condition"]["StringEquals"]["aws:RequestTag/kubernetes.io/cluster/c1"] == "owned"
    assert statements["AllowPassingInstanceRole"]["Resource"] == node_role
    assert statements["AllowPassingInstanceRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}
    }
    assert statements["AllowInterruptionQueueActions"]["Resource"] == "arn:q"
    assert statements["AllowAPIServerEndpointDiscovery"]["Resource"] == "arn:aws:eks:eu-west-1:123456789012:cluster/c1"


def test_interruption_queue_takes_events_only_over_tls() -> None:
    policy = interruption_queue_policy(AWS_CTX, "arn:q")
    assert policy["Version"] == "2012-10-17"
    deliver, deny = policy["Statement"]
    assert deliver["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert deliver["Action"] == "sqs:SendMessage"
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == "arn:q"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_external_secrets_statements_read_and_decrypt_only_the_prefix() -> None:
    read, decrypt = external_secrets_statements(AWS_CTX, "ai-platform/x/")
    secrets = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-platform/x/*"
    assert read["Resource"] == secrets
    reads = ("secretsmanager:Get", "secretsmanager:Describe", "secretsmanager:List")
    assert all(action.startswith(reads) for action in read["Action"])
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:SecretARN": secrets},
    }


# --- switches and schemas -----------------------------------------------------------------------------------------


def addons_only_plan(config: AddonsConfig):
    """A plan of the Addons component alone (minimal configuration: no ai-api depending on any add-on)."""

    def program() -> None:
        aws_ctx = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
        providers = {
            "aws": aws.Provider("aws", region="us-east-1"),
            "kubernetes": k8s.Provider("k8s", kubeconfig="{}"),
        }
        Addons(
            "solo-addons",
            AddonsArgs(
                config=config,
                cluster_name="solo",
                oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X",
                oidc_issuer="https://oidc.eks.us-east-1.amazonaws.com/id/X",
                vpc_id="vpc-0123",
                private_subnet_ids=["subnet-0a", "subnet-0b"],
                node_security_group_id="sg-0123",
                imds_hop_limit=1,
                secrets_path_prefix="ai-platform/solo/",
                node_tags={"owner": "t"},
                aws=aws_ctx,
                kubernetes_version="1.34",
                maintenance=MaintenanceConfig(window=None),
            ),
            pulumi.ResourceOptions(providers=providers),
        )

    return run_program("solo", {"aws:region": "us-east-1"}, program)


def test_switching_every_addon_off_removes_them_and_their_aws_side() -> None:
    off = AddonsConfig.model_validate({key: {"enabled": False} for key in ADDON_KEYS})
    plan = addons_only_plan(off)
    assert {r.type for r in addon_resources(plan)} == {"kubernetes:storage.k8s.io/v1:StorageClass"}
    on = addons_only_plan(AddonsConfig())
    assert set(charts(on)) == set(ADDON_KEYS)
    assert {"aws:sqs/queue:Queue", "aws:iam/role:Role", "kubernetes:core/v1:Namespace"} <= {
        r.type for r in addon_resources(on)
    }


def test_switching_one_addon_off_keeps_the_others(plan_of) -> None:
    plan = plan_of("dev", {"ai-platform:addons": {"karpenter": {"enabled": False}}})
    assert set(charts(plan)) == set(ADDON_KEYS) - {"karpenter"}
    assert addon_resources(plan, "aws:sqs/queue:Queue") == []
    assert addon_resources(plan, "kubernetes:karpenter.sh/v1:NodePool") == []
    assert addon_resources(plan, "aws:eks/accessEntry:AccessEntry") == []


def test_default_storage_class_is_encrypted_gp3(plan_of) -> None:
    [storage_class] = addon_resources(plan_of("prod"), "kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class.inputs["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage_class.inputs["provisioner"] == "ebs.csi.aws.com"
    assert storage_class.inputs["parameters"]["type"] == "gp3"
    assert storage_class.inputs["parameters"]["encrypted"] == "true"
    assert storage_class.inputs["volumeBindingMode"] == "WaitForFirstConsumer"


def test_addon_objects_match_their_schemas(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    version = stack_config(any_stack).cluster.version
    objects = [r for r in kubernetes_objects(plan) if r.parent == plan.component(ADDONS).urn]
    kinds = {r.inputs["kind"] for r in objects}
    assert {"StorageClass", "Namespace", "EC2NodeClass", "NodePool", "ClusterSecretStore"} <= kinds
    for resource in objects:
        obj = manifest(resource)
        if obj["kind"] in ("EC2NodeClass", "NodePool", "ClusterSecretStore"):
            assert has_crd(obj["apiVersion"], obj["kind"]), obj["kind"]
        validate_object(obj, version)


def test_bad_addon_config_is_one_clear_line() -> None:
    from config import StackConfigError

    bad = {
        "ai-platform:addons": {
            "karpenter": {"chart_version": "latest", "capacity_types": ["reserved"]},
            "vpa": {"replicas": 0},
            "istio": {"enabled": True},
        }
    }
    with pytest.raises(StackConfigError) as error:
        stack_config("dev", bad)
    text = "\n".join(error.value.problems)
    assert "ai-platform:addons.karpenter.chart_version: 'latest' is not a pinned chart version" in text
    assert "ai-platform:addons.karpenter.capacity_types.0: 'reserved' is not a valid choice" in text
    assert "ai-platform:addons.vpa.replicas: 0 is out of range; allowed: >= 1" in text
    assert (
        "ai-platform:addons.istio: unknown key; allowed: argo_rollouts, cert_manager, external_secrets, karpenter"
        in text
    )


def test_karpenter_must_support_the_clusters_kubernetes_version() -> None:
    """Karpenter 1.8 supports Kubernetes up to 1.34: a cluster upgraded without Karpenter is refused up front."""
    from config import StackConfigError

    cluster = {"version": "1.35", "addon_versions": {"kube_proxy": "v1.35.3-eksbuild.2"}}
    with pytest.raises(StackConfigError) as error:
        stack_config("dev", {"ai-platform:cluster": cluster})
    assert error.value.problems == [
        "Pulumi.dev.yaml: ai-platform:addons.karpenter.chart_version: Karpenter 1.8.1 supports Kubernetes up to "
        "1.34 but cluster.version is 1.35; allowed: a Karpenter release supporting 1.35"
    ]
    upgraded = stack_config(
        "dev", {"ai-platform:cluster": cluster, "ai-platform:addons": {"karpenter": {"chart_version": "1.11.1"}}}
    )
    assert upgraded.cluster.version == "1.35"


# The chart that installs each custom resource's CRD (API group -> add-on key).
CRD_CHARTS = {
    "external-secrets.io": "external_secrets",
    "karpenter.sh": "karpenter",
    "karpenter.k8s.aws": "karpenter",
    "argoproj.io": "argo_rollouts",
}


def test_every_custom_resource_waits_for_the_chart_installing_its_crd(plan_of, any_stack) -> None:
    """A custom resource sent before its CRD exists fails a real `pulumi up` (no such kind): whichever component
    declares it, it must depend on the chart that installs the CRD (which resolves once the chart's objects,
    CRDs and webhooks included, are ready)."""
    plan = plan_of(any_stack)
    found = charts(plan)
    checked = 0
    for resource in kubernetes_objects(plan):
        group = resource.inputs.get("apiVersion", "").split("/")[0]
        if group not in CRD_CHARTS:
            continue
        checked += 1
        chart = found[CRD_CHARTS[group]]
        assert chart.urn in resource.dependencies, f"{resource.name} does not wait for {chart.name}"
    assert checked >= 4


def test_controllers_with_replicas_to_spare_spread_over_zones(plan_of) -> None:
    """Every controller that runs two or more replicas (staging, prod) spreads them over zones, so one zone's loss
    never takes a controller down; the selector names the chart's own pod labels."""
    plan = plan_of("prod")
    values = {r.name.removeprefix("prod-addons-"): r.inputs["values"] for r in plan.by_type(CHART)}
    spreads = {
        "load-balancer-controller": values["load-balancer-controller"]["topologySpreadConstraints"],
        "karpenter": values["karpenter"]["topologySpreadConstraints"],
        "metrics-server": values["metrics-server"]["topologySpreadConstraints"],
        "external-secrets": values["external-secrets"]["topologySpreadConstraints"],
        "external-secrets-webhook": values["external-secrets"]["webhook"]["topologySpreadConstraints"],
        "argo-rollouts": values["argo-rollouts"]["controller"]["topologySpreadConstraints"],
    }
    for key, [spread] in spreads.items():
        assert spread["topologyKey"] == "topology.kubernetes.io/zone", key
        assert spread["labelSelector"]["matchLabels"], key
