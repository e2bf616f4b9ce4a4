"""The IP-blocking library and Lambda against moto (wafv2, dynamodb): exact additions, the lock-token retry, expiry,
addresses of others kept, bad input refused with nothing changed, and a real-shaped GuardDuty finding blocked in one
invocation."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.ip_blocking import blocklist, handler
from lambdas.ip_blocking.blocklist import BlockError, Blocklist, IpSetRef

REGION = "us-east-1"
NOW = 1_800_000_000
ATTACKER = "185.220.101.34"
OTHER = "45.33.32.156"

# A GuardDuty finding as EventBridge delivers it (envelope + `detail` in the finding format), abridged from the
# sample of UnauthorizedAccess:EC2/SSHBruteForce (networkConnectionAction, inbound).
FINDING: dict[str, Any] = {
    "version": "0",
    "id": "c8c4daa7-a20c-2f03-0070-b7393dd542ad",
    "detail-type": "GuardDuty Finding",
    "source": "aws.guardduty",
    "account": "123456789012",
    "time": "2026-11-30T10:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "schemaVersion": "2.0",
        "accountId": "123456789012",
        "region": REGION,
        "partition": "aws",
        "id": "16afba5c5c43e07c9e3e5e2e544e95df",
        "arn": "arn:aws:guardduty:us-east-1:123456789012:detector/x/finding/16afba5c5c43e07c9e3e5e2e544e95df",
        "type": "UnauthorizedAccess:EC2/SSHBruteForce",
        "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-99999999"}},
        "service": {
            "serviceName": "guardduty",
            "detectorId": "x",
            "action": {
                "actionType": "NETWORK_CONNECTION",
                "networkConnectionAction": {
                    "connectionDirection": "INBOUND",
                    "remoteIpDetails": {
                        "ipAddressV4": ATTACKER,
                        "organization": {"asn": "-1", "isp": "GeneratedFindingISP"},
                        "country": {"countryName": "GeneratedFindingCountryName"},
                    },
                    "remotePortDetails": {"port": 32794, "portName": "Unknown"},
                    "localPortDetails": {"port": 22, "portName": "SSH"},
                    "protocol": "TCP",
                    "blocked": False,
                },
            },
            "count": 1,
            "eventFirstSeen": "2026-11-30T09:50:00Z",
            "eventLastSeen": "2026-11-30T09:55:00Z",
        },
        "severity": 8,
        "createdAt": "2026-11-30T09:56:00Z",
        "updatedAt": "2026-11-30T09:56:00Z",
        "title": "198.51.100.0 is performing SSH brute force attacks against i-99999999.",
    },
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An IP set and an ownership table (the component's key schema) in moto; the clock stands at NOW."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        wafv2, dynamodb = boto3.client("wafv2", REGION), boto3.client("dynamodb", REGION)
        summary = wafv2.create_ip_set(
            Name="ai-platform-dev-ai-api-blocklist", Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[]
        )["Summary"]
        dynamodb.create_table(
            TableName="ai-platform-dev-ip-blocks",
            AttributeDefinitions=[{"AttributeName": "address", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "address", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ref = IpSetRef(name=summary["Name"], id=summary["Id"])
        clock = {"now": NOW}
        blocks = Blocklist(
            wafv2, dynamodb, ref, "ai-platform-dev-ip-blocks", clock=lambda: clock["now"], sleep=lambda _s: None
        )
        env = {"IP_SET_NAME": ref.name, "IP_SET_ID": ref.id, "TABLE_NAME": blocks.table, "BLOCK_HOURS": "24"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield {"wafv2": wafv2, "dynamodb": dynamodb, "ref": ref, "blocks": blocks, "clock": clock}


def _set(aws: dict[str, Any], addresses: list[str]) -> None:
    ref = aws["ref"]
    token = aws["wafv2"].get_ip_set(Name=ref.name, Scope="REGIONAL", Id=ref.id)["LockToken"]
    aws["wafv2"].update_ip_set(Name=ref.name, Scope="REGIONAL", Id=ref.id, Addresses=addresses, LockToken=token)


def test_blocking_adds_exactly_the_address_and_records_it(aws: dict[str, Any]) -> None:
    outcome = aws["blocks"].block(ATTACKER, hours=24, added_by="ops:arn:aws:iam::123456789012:user/ana", reason="x")
    assert outcome.action == "blocked"
    assert aws["blocks"].addresses() == [f"{ATTACKER}/32"]
    record = aws["blocks"].record(f"{ATTACKER}/32")
    assert record is not None
    assert record.expires_at == NOW + 24 * 3600
    item = aws["dynamodb"].get_item(TableName=aws["blocks"].table, Key={"address": {"S": f"{ATTACKER}/32"}})["Item"]
    assert int(item["purge_at"]["N"]) > record.expires_at  # TTL never drops a record before the expiry run


def test_dry_run_changes_nothing(aws: dict[str, Any]) -> None:
    outcome = aws["blocks"].block(ATTACKER, hours=2, added_by="ops:me", reason="x", apply=False)
    assert (outcome.action, outcome.applied) == ("blocked", False)
    assert aws["blocks"].addresses() == []
    assert aws["blocks"].owned() == {}


class ConcurrentWriterStub:
    """Explicit stub around the real (moto) wafv2 client: between our `get_ip_set` and our `update_ip_set`, another
    writer updates the IP set (adding `intruder`), so the lock token we hold is stale: a race moto cannot stage on
    its own. moto itself then refuses our update with the real `WAFOptimisticLockException`."""

    def __init__(self, client: Any, intruder: str, races: int = 1) -> None:
        self.client, self.intruder, self.races = client, intruder, races
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_ip_set(self, **kwargs: Any) -> dict[str, Any]:
        if self.races > 0:
            self.races -= 1
            where = {k: kwargs[k] for k in ("Name", "Scope", "Id")}
            fresh = self.client.get_ip_set(**where)
            addresses = sorted({*fresh["IPSet"]["Addresses"], self.intruder})
            self.client.update_ip_set(**where, Addresses=addresses, LockToken=fresh["LockToken"])
        return self.client.update_ip_set(**kwargs)


def test_a_concurrent_update_is_retried_and_kept(aws: dict[str, Any]) -> None:
    blocks = aws["blocks"]
    blocks.wafv2 = ConcurrentWriterStub(aws["wafv2"], f"{OTHER}/32", races=2)
    blocks.block(ATTACKER, hours=1, added_by="guardduty:f", reason="x")
    assert blocks.conflicts == [1, 2]
    assert sorted(aws["blocks"].addresses()) == sorted([f"{ATTACKER}/32", f"{OTHER}/32"])


def test_retries_are_bounded(aws: dict[str, Any]) -> None:
    blocks = aws["blocks"]
    blocks.wafv2 = ConcurrentWriterStub(aws["wafv2"], f"{OTHER}/32", races=100)
    blocks.attempts = 3
    with pytest.raises(aws["wafv2"].exceptions.WAFOptimisticLockException):
        blocks.block(ATTACKER, hours=1, added_by="guardduty:f", reason="x")
    assert blocks.conflicts == [1, 2, 3]


def test_expired_blocks_are_removed_and_addresses_of_others_kept(aws: dict[str, Any]) -> None:
    _set(aws, [f"{OTHER}/32"])  # added by hand, not recorded
    blocks = aws["blocks"]
    blocks.block(ATTACKER, hours=1, added_by="guardduty:f", reason="x")
    blocks.block("8.8.8.8", hours=48, added_by="guardduty:g", reason="y")
    assert blocks.expire() == []  # nothing due yet
    aws["clock"]["now"] = NOW + 3600
    expired = blocks.expire()
    assert [o.address for o in expired] == [f"{ATTACKER}/32"]
    assert sorted(blocks.addresses()) == sorted([f"{OTHER}/32", "8.8.8.8/32"])
    assert set(blocks.owned()) == {"8.8.8.8/32"}


def test_an_address_someone_else_blocked_is_never_claimed(aws: dict[str, Any]) -> None:
    _set(aws, [f"{OTHER}/32"])
    outcome = aws["blocks"].block(OTHER, hours=1, added_by="guardduty:f", reason="x")
    assert outcome.action == "kept-unmanaged"
    assert aws["blocks"].owned() == {}
    with pytest.raises(BlockError, match="was not blocked by this automation"):
        aws["blocks"].unblock(OTHER)
    assert aws["blocks"].addresses() == [f"{OTHER}/32"]


def test_a_second_finding_extends_the_block(aws: dict[str, Any]) -> None:
    blocks = aws["blocks"]
    blocks.block(ATTACKER, hours=1, added_by="guardduty:f", reason="x")
    assert blocks.block(ATTACKER, hours=1, added_by="guardduty:g", reason="x").action == "already-blocked"
    assert blocks.block(ATTACKER, hours=5, added_by="guardduty:g", reason="x").action == "extended"
    assert blocks.owned()[f"{ATTACKER}/32"].expires_at == NOW + 5 * 3600
    assert blocks.addresses() == [f"{ATTACKER}/32"]


def test_unblock_removes_the_address_and_its_record(aws: dict[str, Any]) -> None:
    _set(aws, [f"{OTHER}/32"])
    blocks = aws["blocks"]
    blocks.block(ATTACKER, hours=1, added_by="ops:me", reason="x")
    assert blocks.unblock(ATTACKER).action == "unblocked"
    assert blocks.addresses() == [f"{OTHER}/32"]
    assert blocks.owned() == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not-an-ip", "is not an IP address"),
        ("999.1.1.1", "is not an IP address"),
        ("0.0.0.0/0", "is a /0 range of 4294967296 addresses"),
        ("185.220.101.0/24", "is a /24 range"),
        ("185.220.101.1/24", "is not an IP address"),  # host bits set: not a network either
        ("10.1.2.3", "is a private address"),
        ("192.168.0.1", "is a private address"),
        ("127.0.0.1", "is a loopback address"),
        ("169.254.169.254", "is a link-local address"),
        ("224.0.0.1", "is a multicast address"),
        ("240.0.0.1", "is a reserved address"),
        ("0.0.0.0", "is an unspecified address"),
        ("100.64.0.1", "not globally routable"),
        ("2001:4860:4860::8888", "is IPv6"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(aws: dict[str, Any], text: str, message: str) -> None:
    with pytest.raises(BlockError, match=message.replace("(", r"\(")):
        aws["blocks"].block(text, hours=1, added_by="ops:me", reason="x")
    assert aws["blocks"].addresses() == []
    assert aws["blocks"].owned() == {}


@pytest.mark.parametrize("hours", [0, -1, 8761, True])
def test_bad_duration_is_refused(aws: dict[str, Any], hours: Any) -> None:
    with pytest.raises(BlockError, match="allowed: a whole number of hours from 1 to 8760"):
        aws["blocks"].block(ATTACKER, hours=hours, added_by="ops:me", reason="x")
    assert aws["blocks"].addresses() == []


def test_find_ip_set_by_name(aws: dict[str, Any]) -> None:
    assert blocklist.find_ip_set(aws["wafv2"], aws["ref"].name) == aws["ref"]
    with pytest.raises(LookupError, match="no REGIONAL WAF IP set named nope"):
        blocklist.find_ip_set(aws["wafv2"], "nope")


def test_a_guardduty_finding_blocks_its_remote_ip_in_one_invocation(aws: dict[str, Any]) -> None:
    result = handler.handle(copy.deepcopy(FINDING), None)
    assert [r["address"] for r in result["blocked"]] == [f"{ATTACKER}/32"]
    assert aws["blocks"].addresses() == [f"{ATTACKER}/32"]
    record = aws["blocks"].owned()[f"{ATTACKER}/32"]
    assert record.added_by == "guardduty:16afba5c5c43e07c9e3e5e2e544e95df"
    assert "SSHBruteForce" in record.reason


def _finding(action: dict[str, Any], severity: float = 8) -> dict[str, Any]:
    event = copy.deepcopy(FINDING)
    event["detail"]["service"]["action"] = action
    event["detail"]["severity"] = severity
    return event


def test_port_probe_and_api_call_variants_block_every_public_remote(aws: dict[str, Any]) -> None:
    probe = {
        "actionType": "PORT_PROBE",
        "portProbeAction": {
            "blocked": False,
            "portProbeDetails": [
                {"localPortDetails": {"port": 80}, "remoteIpDetails": {"ipAddressV4": OTHER}},
                {"localPortDetails": {"port": 443}, "remoteIpDetails": {"ipAddressV4": "10.0.0.9"}},
            ],
        },
    }
    handler.handle(_finding(probe))
    api_call = {
        "actionType": "AWS_API_CALL",
        "awsApiCallAction": {"api": "ListBuckets", "remoteIpDetails": {"ipAddressV4": ATTACKER}},
    }
    handler.handle(_finding(api_call))
    assert sorted(aws["blocks"].addresses()) == sorted([f"{OTHER}/32", f"{ATTACKER}/32"])  # 10.0.0.9 skipped


def test_findings_without_remote_ip_or_below_the_severity_are_ignored(aws: dict[str, Any]) -> None:
    dns = {"actionType": "DNS_REQUEST", "dnsRequestAction": {"domain": "example.com"}}
    assert handler.handle(_finding(dns)) == {"blocked": []}
    assert handler.handle(_finding(FINDING["detail"]["service"]["action"], severity=5.0)) == {"blocked": []}
    assert aws["blocks"].addresses() == []


def test_the_scheduled_event_expires_blocks(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    aws["blocks"].block(ATTACKER, hours=1, added_by="guardduty:f", reason="x")
    monkeypatch.setattr(blocklist.time, "time", lambda: NOW + 7200)
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    assert [r["address"] for r in handler.handle(scheduled)["expired"]] == [f"{ATTACKER}/32"]
    assert aws["blocks"].addresses() == []


def test_an_unexpected_event_fails_loudly(aws: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unexpected event"):
        handler.handle({"source": "aws.s3", "detail-type": "Object Created"})
