"""`python -m ops cost`: exact arithmetic on a hand-made plan, sources for every price, and the shipped stacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ops import cost
from ops.__main__ import main
from ops.engine import Plan, RecordedResource
from ops.pricing import PRICES, Price
from tests.test_plan_cli import run_ops

NET = "urn:pulumi:t::ai-platform::ai-platform:network:Network::t-network"
DB = "urn:pulumi:t::ai-platform::ai-platform:database:Database::t-database"


def _res(type_: str, name: str, parent: str, custom: bool = True, **inputs: Any) -> RecordedResource:
    urn = f"urn:pulumi:t::ai-platform::{type_}::{name}"
    return RecordedResource(urn=urn, type=type_, name=name, parent=parent, custom=custom, inputs=inputs)


def tiny_plan() -> Plan:
    return Plan(
        stack="t",
        resources=[
            _res("ai-platform:network:Network", "t-network", "", custom=False),
            _res("ai-platform:database:Database", "t-database", "", custom=False),
            _res("aws:ec2/natGateway:NatGateway", "t-nat", NET),
            _res(
                "aws:ec2/vpcEndpoint:VpcEndpoint",
                "t-sts",
                NET,
                vpcEndpointType="Interface",
                serviceName="com.amazonaws.us-east-1.sts",
                subnetIds=["a", "b"],
            ),
            _res("aws:ec2/vpcEndpoint:VpcEndpoint", "t-s3", NET, vpcEndpointType="Gateway"),
            _res("aws:kms/key:Key", "t-key", DB),
            _res(
                "aws:rds/cluster:Cluster",
                "t-cluster",
                DB,
                clusterIdentifier="t",
                serverlessv2ScalingConfiguration={"minCapacity": 0.5, "maxCapacity": 4},
            ),
            _res(
                "aws:rds/clusterInstance:ClusterInstance",
                "t-writer",
                DB,
                clusterIdentifier="t",
                instanceClass="db.serverless",
            ),
            _res(
                "aws:eks/nodeGroup:NodeGroup",
                "t-exotic",
                NET,
                instanceTypes=["x9z.huge"],
                scalingConfig={"desiredSize": 2},
            ),
            _res("aws:gamelift/fleet:Fleet", "t-fleet", NET),
            _res("aws:iam/role:Role", "t-role", NET),
            _res("aws:cloudwatch/logGroup:LogGroup", "t-logs", NET),
        ],
    )


@pytest.fixture
def known_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {
        "vpc.nat_gateway": Price(0.05, "gateway-hour", "https://example.test/nat"),
        "vpc.interface_endpoint": Price(0.01, "endpoint-AZ-hour", "https://example.test/pl"),
        "kms.key": Price(1.0, "key-month", "https://example.test/kms"),
        "aurora.serverless_v2": Price(0.1, "ACU-hour", "https://example.test/acu"),
        "aurora.storage": Price(0.1, "GB-month", "https://example.test/gb"),
    }
    monkeypatch.setattr(cost, "PRICES", table)
    monkeypatch.setattr(cost, "ASSUMPTIONS", {**cost.ASSUMPTIONS, "aurora_storage_gb": 10})


@pytest.mark.usefixtures("known_prices")
def test_a_hand_made_plan_costs_exactly_the_sum_of_its_lines() -> None:
    est = cost.estimate(tiny_plan())
    # NAT 0.05 x 730 = 36.5; endpoint 2 AZ x 730 x 0.01 = 14.6; key 1; 0.5 ACU x 730 x 0.1 = 36.5; 10 GB x 0.1 = 1
    assert est.total == pytest.approx(89.6)
    assert est.by(key="component") == pytest.approx({"t-network": 51.1, "t-database": 38.5})
    assert est.by(key="type")["aws:rds/clusterInstance:ClusterInstance"] == pytest.approx(36.5)
    assert [d.resource for d in est.drivers()] == ["t-nat", "t-writer", "t-sts"]


@pytest.mark.usefixtures("known_prices")
def test_what_has_no_price_is_counted_never_silently_zero() -> None:
    est = cost.estimate(tiny_plan())
    assert est.not_priced == {"aws:eks/nodeGroup:NodeGroup": 1, "aws:gamelift/fleet:Fleet": 1}
    assert est.usage_based == {"aws:cloudwatch/logGroup:LogGroup": 1}
    assert est.free == {"aws:iam/role:Role": 1}
    text = cost.render(est)
    assert "aws:gamelift/fleet:Fleet x1" in text
    assert "aws:eks/nodeGroup:NodeGroup x1" in text


def test_every_price_has_a_region_a_date_and_an_aws_source() -> None:
    for key, price in PRICES.items():
        assert price.usd > 0, key
        assert price.source.startswith("https://aws.amazon.com/"), key
        assert "/pricing/" in price.source, key
        assert price.region == "us-east-1", key
        assert len(price.date) == 10, key


@pytest.fixture(params=("dev", "staging", "prod"))
def stack_estimate(request: pytest.FixtureRequest, plan_of: Callable[..., Plan]) -> cost.Estimate:
    return cost.estimate(plan_of(request.param))


def test_every_billable_resource_of_a_stack_is_priced_from_the_table(stack_estimate: cost.Estimate) -> None:
    assert stack_estimate.not_priced == {}
    assert stack_estimate.total > 0
    for line in stack_estimate.lines:
        assert PRICES[line.price].source.startswith("https://aws.amazon.com/"), line
    components = stack_estimate.by(key="component")
    assert {f"{stack_estimate.stack}-{c}" for c in ("cluster", "network", "database", "ai-api")} <= set(components)


def test_prod_prices_its_ha_shape(plan_of: Callable[..., Plan]) -> None:
    est = cost.estimate(plan_of("prod"))
    primary = cost.Estimate(
        est.stack, est.region, [line for line in est.lines if not line.component.startswith("prod-dr")]
    )
    by_type = primary.by(key="type")
    assert by_type["aws:ec2/natGateway:NatGateway"] == pytest.approx(3 * 0.045 * 730)
    # three Serverless v2 instances at the 2 ACU floor
    assert by_type["aws:rds/clusterInstance:ClusterInstance"] == pytest.approx(3 * 2 * 0.12 * 730)
    # The warm standby in the DR region: its own NAT gateways and one secondary reader at the floor.
    standby = cost.Estimate(est.stack, est.region, [line for line in est.lines if line.component.startswith("prod-dr")])
    assert standby.by(key="type")["aws:ec2/natGateway:NatGateway"] == pytest.approx(3 * 0.045 * 730)
    assert standby.by(key="type")["aws:rds/clusterInstance:ClusterInstance"] == pytest.approx(1 * 2 * 0.12 * 730)
    gp3 = [line for line in primary.lines if line.type == "kubernetes:helm.sh/v4:Chart"]
    assert sum(line.quantity for line in gp3) == 2 * 100 + 3 * 10  # Prometheus 2 x 100 GiB, Alertmanager 3 x 10


def test_the_command_prints_dev_breakdown_and_its_gap_to_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_ops("cost", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    for heading in ("by component:", "by resource type:", "top drivers:", "assumptions:", "target: $200.00/month"):
        assert heading in result.stdout
    assert "dev-cluster-system: 2 x t3a.large" in result.stdout
    # The JSON form through the same entry point in this process (the subprocess above proved the command line).
    assert main(["cost", "--stack", "dev", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target_usd_per_month"] == 200.0
    assert data["total_usd_per_month"] == pytest.approx(sum(data["by_type"].values()), abs=0.05)
    assert all(line["source"].startswith("https://aws.amazon.com/") for line in data["lines"])
