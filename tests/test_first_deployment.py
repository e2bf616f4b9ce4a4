"""Deployer access (README "First deployment"): the settings fail with one clear line, the plan has exactly the
configured path, and the README's steps work as far as a plan can show it: its first-run settings open the public
endpoint to exactly the listed address, its later settings admit the deployers on 443 with the endpoint private,
and no stack, shipped or configured as the README says, ever opens a path from the whole internet."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
import yaml

from config import StackConfigError, deep_merge
from ops.engine import PROJECT_DIR
from ops.gate import evaluate
from tests.conftest import STACKS, stack_config

README = (PROJECT_DIR / "README.md").read_text()
EKS = "eks:index:Cluster"
INGRESS_TYPES = (
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
)


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


FIRST_DEPLOYMENT = section("First deployment")


def first_run_config() -> dict[str, Any]:
    """The one YAML block of "First deployment": the stack settings of the first `pulumi up`."""
    blocks = re.findall(r"^\s*```yaml\n(.*?)^\s*```", FIRST_DEPLOYMENT, re.S | re.M)
    assert len(blocks) == 1, "First deployment keeps its stack settings in one fenced YAML block"
    return yaml.safe_load(blocks[0])["config"]


def later_settings() -> dict[str, Any]:
    """The deployer settings step 5 names inline (`deployer_...: [...]`), as one cluster section."""
    found = re.findall(r"`(deployer_\w+: \[[^\]`]*\])`", FIRST_DEPLOYMENT)
    settings: dict[str, Any] = {}
    for text in found:
        settings.update(yaml.safe_load(text))
    assert set(settings) == {"deployer_cidrs", "deployer_security_group_ids"}, found
    return settings


def after_bootstrap() -> dict[str, Any]:
    """Step 6: the first run's settings plus the deployers, with the bootstrap line deleted."""
    config = first_run_config()
    cluster = {k: v for k, v in config["ai-platform:cluster"].items() if k != "bootstrap_public_access_cidrs"}
    return {**config, "ai-platform:cluster": {**cluster, **later_settings()}}


def eks_of(plan) -> Any:
    """The primary site's cluster (a warm standby has a second one, `<stack>-dr-cluster-eks`, configured alike)."""
    [eks] = [e for e in plan.by_type(EKS) if e.name == f"{plan.stack}-cluster-eks"]
    return eks


def cluster_rules(plan, stack: str) -> list:
    return [
        r
        for r in plan.by_type("aws:ec2/securityGroupRule:SecurityGroupRule")
        if r.inputs["securityGroupId"] == f"sg-ai-platform-{stack}-cluster"
    ]


# --- the settings: one clear line per mistake ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"deployer_cidrs": ["0.0.0.0/0"]}, "cluster.deployer_cidrs.0", "open the Kubernetes API to the internet"),
        ({"deployer_cidrs": ["10.0.0.0/8"]}, "cluster.deployer_cidrs.0", "wider than /16"),
        ({"deployer_cidrs": ["198.51.100.0/24"]}, "cluster.deployer_cidrs.0", "not a private range"),
        ({"deployer_cidrs": ["10.200.0.1/22"]}, "cluster.deployer_cidrs.0", "host bits set"),
        ({"deployer_cidrs": ["10.200.0.0/33"]}, "cluster.deployer_cidrs.0", "is not an IPv4 network"),
        ({"deployer_cidrs": ["fd00::/64"]}, "cluster.deployer_cidrs.0", "is not an IPv4 network"),
        ({"deployer_cidrs": ["\uff11\uff10.200.0.0/22"]}, "cluster.deployer_cidrs.0", "not an ASCII IPv4 network"),
        ({"deployer_cidrs": ["10.200.0.0/22 "]}, "cluster.deployer_cidrs.0", "not an ASCII IPv4 network"),
        (
            {"deployer_cidrs": ["10.200.0.0/22", "10.200.0.0/22"]},
            "cluster.deployer_cidrs",
            "10.200.0.0/22 listed more than once",
        ),
        ({"deployer_cidrs": ["10.200.0.0/22", "10.200.1.0/24"]}, "cluster.deployer_cidrs", "overlaps 10.200.1.0/24"),
        ({"deployer_cidrs": [f"10.{i}.0.0/16" for i in range(21)]}, "cluster.deployer_cidrs", "at most 20"),
        (
            {"deployer_security_group_ids": ["sg-12345"]},
            "cluster.deployer_security_group_ids.0",
            "not a security group",
        ),
        (
            {"deployer_security_group_ids": ["sg-0123456789abcdef0", "sg-0123456789abcdef0"]},
            "cluster.deployer_security_group_ids",
            "sg-0123456789abcdef0 listed more than once",
        ),
        (
            {"bootstrap_public_access_cidrs": ["0.0.0.0/0"]},
            "cluster.bootstrap_public_access_cidrs.0",
            "open the Kubernetes API to the internet",
        ),
        (
            {"bootstrap_public_access_cidrs": ["203.0.113.0/24"]},
            "cluster.bootstrap_public_access_cidrs.0",
            "wider than /28",
        ),
        (
            {"bootstrap_public_access_cidrs": ["192.168.1.10/32"]},
            "cluster.bootstrap_public_access_cidrs.0",
            "not an internet address",
        ),
        (
            {"bootstrap_public_access_cidrs": ["203.0.113.10/32", "203.0.113.10/32"]},
            "cluster.bootstrap_public_access_cidrs",
            "listed more than once",
        ),
        (
            {
                "bootstrap_public_access_cidrs": ["203.0.113.10/32"],
                "endpoint_public_access": True,
                "public_access_cidrs": ["198.51.100.0/24"],
            },
            "cluster.bootstrap_public_access_cidrs",
            "set together with endpoint_public_access",
        ),
    ],
)
def test_bad_deployer_settings_are_one_clear_line(overrides: dict, key: str, message: str) -> None:
    with pytest.raises(StackConfigError) as error:
        stack_config("dev", {"ai-platform:cluster": overrides})
    [problem] = error.value.problems
    assert problem.startswith(f"Pulumi.dev.yaml: ai-platform:{key}: ")
    assert message in problem
    assert "; allowed: " in problem


# --- the deployer path on the plan --------------------------------------------------------------------------------

DEPLOYERS = {
    "ai-platform:cluster": {
        "deployer_cidrs": ["10.200.0.0/22", "192.168.40.0/24"],
        "deployer_security_group_ids": ["sg-0123456789abcdef0"],
    }
}
BOOTSTRAP = {"ai-platform:cluster": {"bootstrap_public_access_cidrs": ["203.0.113.10/32"]}}


def test_no_deployer_path_unless_configured(plan_of, any_stack) -> None:
    """The cluster security group admits only the nodes (pulumi-eks' own rule) in a shipped stack."""
    plan = plan_of(any_stack)
    assert cluster_rules(plan, any_stack) == []
    assert "clusterTags" not in eks_of(plan).inputs


def test_deployers_reach_the_private_endpoint_on_443_only(plan_of) -> None:
    plan = plan_of("dev", DEPLOYERS)
    rules = cluster_rules(plan, "dev")
    sources = sorted(
        ("cidr", *r.inputs["cidrBlocks"]) if "cidrBlocks" in r.inputs else ("group", r.inputs["sourceSecurityGroupId"])
        for r in rules
    )
    assert sources == [("cidr", "10.200.0.0/22"), ("cidr", "192.168.40.0/24"), ("group", "sg-0123456789abcdef0")]
    for rule in rules:
        assert (rule.inputs["type"], rule.inputs["protocol"]) == ("ingress", "tcp")
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (443, 443)
        assert rule.propertyDependencies["securityGroupId"] == [eks_of(plan).urn]
        assert rule.inputs["description"].isascii()
    assert {r.name for r in rules} == {
        "dev-cluster-deployer-10-200-0-0-22",
        "dev-cluster-deployer-192-168-40-0-24",
        "dev-cluster-deployer-sg-0123456789abcdef0",
    }, "rules are keyed by their source: adding one never replaces the others"
    eks = eks_of(plan)
    assert eks.inputs["endpointPublicAccess"] is False, "deployer access keeps the endpoint private"
    assert "publicAccessCidrs" not in eks.inputs


def test_kubernetes_provider_waits_for_the_deployer_rules(plan_of) -> None:
    """Otherwise `pulumi up` could talk to the API before the rule admitting its own runner exists."""
    plan = plan_of("dev", DEPLOYERS)
    [provider] = plan.by_type("pulumi:providers:kubernetes")
    assert {r.urn for r in cluster_rules(plan, "dev")} <= set(provider.propertyDependencies["kubeconfig"])


def test_bootstrap_opens_the_public_endpoint_to_exactly_its_cidrs_and_says_so(plan_of) -> None:
    eks = eks_of(plan_of("prod", BOOTSTRAP))
    assert eks.inputs["endpointPublicAccess"] is True
    assert eks.inputs["endpointPrivateAccess"] is True
    assert eks.inputs["publicAccessCidrs"] == ["203.0.113.10/32"]
    assert eks.inputs["clusterTags"] == {"ai-platform/public-endpoint": "bootstrap"}
    assert cluster_rules(plan_of("prod", BOOTSTRAP), "prod") == []


def test_a_permanent_public_endpoint_is_not_marked_as_the_bootstrap(plan_of) -> None:
    permanent = {"ai-platform:cluster": {"endpoint_public_access": True, "public_access_cidrs": ["198.51.100.0/24"]}}
    assert "clusterTags" not in eks_of(plan_of("dev", permanent)).inputs


# --- the README's steps, applied to the shipped stacks ------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_first_run_opens_the_public_endpoint_to_the_readme_address_only(plan_of, stack: str) -> None:
    first = first_run_config()
    cidrs = first["ai-platform:cluster"]["bootstrap_public_access_cidrs"]
    assert all(ipaddress.IPv4Network(c).prefixlen == 32 for c in cidrs), "the README shows a /32"
    plan = plan_of(stack, first)
    eks = eks_of(plan)
    assert (eks.inputs["endpointPublicAccess"], eks.inputs["publicAccessCidrs"]) == (True, cidrs)
    assert eks.inputs["endpointPrivateAccess"] is True
    assert eks.inputs["clusterTags"] == {"ai-platform/public-endpoint": "bootstrap"}
    assert cluster_rules(plan, stack) == [], "no deployer rule before step 5"
    result = evaluate(plan, stack)
    assert result.passed, "the first run passes the policy gate of its environment"
    shipped = {(v.rule, v.urn) for v in evaluate(plan_of(stack), stack).violations}
    added = [(v.rule, v.enforcement, v.urn) for v in result.violations if (v.rule, v.urn) not in shipped]
    # (a warm standby's cluster, configured alike, shows the same reminder)
    expected = sorted(("eks-endpoint-bootstrap-open", "advisory", e.urn) for e in plan.by_type(EKS))
    assert sorted(added) == expected, "only the reminder, and it shows"


def test_first_run_admins_are_the_readme_roles(plan_of) -> None:
    roles = first_run_config()["ai-platform:cluster"]["admin_roles"]
    entries = eks_of(plan_of("dev", first_run_config())).inputs["accessEntries"]
    assert sorted(entries) == sorted(f"admin-{r.lower()}" for r in roles)
    assert len(roles) >= 2, "the README lists the administrators and CI's deploy role"


@pytest.mark.parametrize("stack", STACKS)
def test_after_bootstrap_the_endpoint_is_private_and_the_deployers_are_admitted(plan_of, stack: str) -> None:
    settings = after_bootstrap()
    plan = plan_of(stack, settings)
    eks = eks_of(plan)
    assert eks.inputs["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in eks.inputs
    assert "clusterTags" not in eks.inputs, "the bootstrap tag goes with the opening"
    cluster = settings["ai-platform:cluster"]
    rules = cluster_rules(plan, stack)
    assert sorted(r.inputs.get("cidrBlocks", [None])[0] or r.inputs["sourceSecurityGroupId"] for r in rules) == sorted(
        [*cluster["deployer_cidrs"], *cluster["deployer_security_group_ids"]]
    )
    assert all((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["protocol"]) == (443, 443, "tcp") for r in rules)
    result = evaluate(plan, stack)
    assert result.passed
    assert not [v for v in result.violations if v.rule.startswith("eks-endpoint-")], "the reminder goes with the tag"


@pytest.mark.parametrize("stack", STACKS)
def test_a_permanent_public_endpoint_fails_the_gate(plan_of, stack: str) -> None:
    """An allow-listed public endpoint without the bootstrap tag is what the deployer path replaces (FSBP EKS.1)."""
    permanent = {"ai-platform:cluster": {"endpoint_public_access": True, "public_access_cidrs": ["198.51.100.0/24"]}}
    result = evaluate(plan_of(stack, permanent), stack)
    clusters = plan_of(stack).by_type(EKS)  # the standby's too, with warm standby: it shares the cluster settings
    assert sorted((v.rule, v.urn) for v in result.mandatory) == sorted(
        ("eks-endpoint-not-public", e.urn) for e in clusters
    )


def test_the_steps_say_which_setting_to_delete_and_where_ci_runs() -> None:
    assert "Delete the `bootstrap_public_access_cidrs` line" in FIRST_DEPLOYMENT
    assert "`curl https://checkip.amazonaws.com`" in FIRST_DEPLOYMENT
    ci = section("CI/CD (GitHub Actions)")
    assert "ai-platform:cluster.deployer_security_group_ids" in ci
    workflow = (PROJECT_DIR / ".github" / "workflows" / "pulumi-up.yml").read_text()
    assert "runs-on: ${{ vars.DEPLOY_RUNNER || 'ubuntu-24.04' }}" in workflow, "the README describes this runs-on"
    assert "vars.DEPLOY_RUNNER == ''" in workflow, "the job stops when no deploy runner is set"
    assert "`DEPLOY_RUNNER`" in ci
    assert "repository variable" in ci


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_files_are_private_and_say_where_the_deployer_settings_go(stack: str) -> None:
    text = (PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for key in ("bootstrap_public_access_cidrs", "deployer_security_group_ids", "deployer_cidrs"):
        assert key in comments, f"Pulumi.{stack}.yaml does not say where {key} goes"
    cluster = stack_config(stack).cluster
    assert cluster.endpoint_public_access is False
    assert cluster.bootstrap_public_access_cidrs == ()
    assert cluster.deployer_cidrs == cluster.deployer_security_group_ids == (), "deployers are the account's own"


# --- never a path from the whole internet -------------------------------------------------------------------------


def world_sources(resource) -> list[str]:
    """Sources of every ingress a security-group resource opens that are the whole internet (any /0)."""
    inputs = resource.inputs
    if resource.type == "aws:ec2/securityGroupRule:SecurityGroupRule" and inputs.get("type") != "ingress":
        return []
    entries = (inputs.get("ingress") or []) if "ingress" in inputs else [inputs]
    found = []
    for entry in entries:
        cidrs = [*entry.get("cidrBlocks", []), *entry.get("ipv6CidrBlocks", [])]
        cidrs += [entry[k] for k in ("cidrIpv4", "cidrIpv6") if entry.get(k)]
        found += [c for c in cidrs if ipaddress.ip_network(c, strict=False).prefixlen == 0]
    return found


CONFIGURED = {
    "shipped": None,
    "readme first run": first_run_config(),
    "readme after bootstrap": after_bootstrap(),
    "readme both at once": deep_merge(first_run_config(), {"ai-platform:cluster": later_settings()}),
}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("name", list(CONFIGURED))
def test_no_stack_opens_anything_to_the_whole_internet(plan_of, stack: str, name: str) -> None:
    plan = plan_of(stack, CONFIGURED[name])
    checked = [r for r in plan.resources if r.type in INGRESS_TYPES]
    assert checked, "the plan has security groups to check"
    assert {r.name: world_sources(r) for r in checked if world_sources(r)} == {}
    eks = eks_of(plan)  # offline, the pulumi-eks component carries the endpoint settings (AWS's default: public)
    if eks.inputs.get("endpointPublicAccess", True):
        cidrs = eks.inputs.get("publicAccessCidrs")
        assert cidrs, "a public endpoint without CIDRs is open to 0.0.0.0/0"
        assert all(ipaddress.IPv4Network(c).prefixlen > 0 for c in cidrs)
