"""`python -m ops security block-ip | unblock-ip | list-blocks` against moto (wafv2, dynamodb, sts): dry run by
default, `--apply` acts, one JSON line per action naming who, bad input exits 2 before AWS is touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lib.security import blocking_names
from ops.__main__ import main

REGION = "us-east-1"  # the dev stack's aws:region
NAMES = blocking_names("dev")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        wafv2 = boto3.client("wafv2", REGION)
        summary = wafv2.create_ip_set(
            Name=NAMES.ip_set, Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=["45.33.32.156/32"]
        )["Summary"]
        boto3.client("dynamodb", REGION).create_table(
            TableName=NAMES.table,
            AttributeDefinitions=[{"AttributeName": "address", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "address", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield {"wafv2": wafv2, "id": summary["Id"]}


def addresses(aws: dict[str, Any]) -> list[str]:
    return sorted(aws["wafv2"].get_ip_set(Name=NAMES.ip_set, Scope="REGIONAL", Id=aws["id"])["IPSet"]["Addresses"])


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_block_ip_is_a_dry_run_without_apply(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["security", "block-ip", "8.8.8.8", "--reason", "INC-42"]) == 0
    [record] = lines(capsys)
    assert (record["action"], record["applied"], record["address"]) == ("blocked", False, "8.8.8.8/32")
    assert addresses(aws) == ["45.33.32.156/32"]


def test_block_list_and_unblock_with_apply(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["security", "block-ip", "8.8.8.8", "--reason", "INC-42", "--hours", "2", "--apply"]) == 0
    [record] = lines(capsys)
    assert record["who"] == "arn:aws:sts::123456789012:user/moto"
    assert record["command"] == "block-ip"
    assert (record["applied"], record["hours"], record["reason"]) == (True, 2, "INC-42")
    assert "time" in record
    assert addresses(aws) == ["45.33.32.156/32", "8.8.8.8/32"]

    assert main(["security", "list-blocks"]) == 0
    listed = {r["address"]: r for r in lines(capsys)}
    assert listed["45.33.32.156/32"]["managed"] is False
    assert listed["8.8.8.8/32"]["managed"] is True
    assert listed["8.8.8.8/32"]["added_by"] == "ops:arn:aws:sts::123456789012:user/moto"

    assert main(["security", "unblock-ip", "8.8.8.8"]) == 0  # dry run
    assert addresses(aws) == ["45.33.32.156/32", "8.8.8.8/32"]
    assert main(["security", "unblock-ip", "8.8.8.8", "--apply"]) == 0
    assert addresses(aws) == ["45.33.32.156/32"]


def test_unblock_refuses_an_address_it_did_not_add(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["security", "unblock-ip", "45.33.32.156", "--apply"]) == 2
    assert "was not blocked by this automation" in capsys.readouterr().err
    assert addresses(aws) == ["45.33.32.156/32"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["block-ip", "0.0.0.0/0", "--reason", "x", "--apply"], "is a /0 range"),
        (["block-ip", "10.0.0.8", "--reason", "x", "--apply"], "is a private address"),
        (["block-ip", "nonsense", "--reason", "x", "--apply"], "is not an IP address"),
        (["block-ip", "8.8.8.8", "--reason", "x", "--hours", "9000", "--apply"], "from 1 to 8760"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["security", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert addresses(aws) == ["45.33.32.156/32"]


def test_a_stack_without_its_ip_set_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        assert main(["security", "list-blocks", "--stack", "prod"]) == 1
    assert "no REGIONAL WAF IP set named ai-platform-prod-ai-api-blocklist" in capsys.readouterr().err


def test_an_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["security", "list-blocks", "--stack", "nope"]) == 2
    assert "no such stack file" in capsys.readouterr().err
