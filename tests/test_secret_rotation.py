"""The rotation Lambda's four steps against moto secretsmanager: a first value, then a rotation keeping the previous
key, idempotent retries and refused out-of-order steps."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.secret_rotation import rotation

REGION = "us-east-1"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("secretsmanager", REGION)


def new_secret(client: Any, length: int = 40) -> str:
    """A secret as ApplicationSecrets declares it: no value, the key length as a tag, rotation switched on (moto
    records the schedule; it cannot invoke the Lambda, so the tests run the steps as Secrets Manager would)."""
    arn = client.create_secret(
        Name="ai-platform/dev/ai-api/inference-key", Tags=[{"Key": rotation.LENGTH_TAG, "Value": str(length)}]
    )["ARN"]
    # moto looks the function up in its own Lambda backend after recording the schedule, and fails there.
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.rotate_secret(
            SecretId=arn,
            RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:ai-platform-dev-secret-rotation",
            RotationRules={"AutomaticallyAfterDays": 30},
            RotateImmediately=False,
        )
    return arn


def run_rotation(client: Any, arn: str) -> str:
    token = str(uuid.uuid4())
    for step in STEPS:
        rotation.rotate(client, {"SecretId": arn, "ClientRequestToken": token, "Step": step})
    return token


def current(client: Any, arn: str) -> dict[str, str]:
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


def test_first_rotation_creates_the_key(client: Any) -> None:
    arn = new_secret(client, length=40)
    token = run_rotation(client, arn)
    value = current(client, arn)
    assert len(value["api_key"]) == 40
    assert value["api_key"].isalnum()
    assert value["previous_api_key"] == value["api_key"]  # nothing to keep yet
    assert "AWSCURRENT" in client.describe_secret(SecretId=arn)["VersionIdsToStages"][token]


def test_a_rotation_keeps_the_previous_key_valid(client: Any) -> None:
    arn = new_secret(client)
    run_rotation(client, arn)
    first = current(client, arn)["api_key"]
    token = run_rotation(client, arn)
    second = current(client, arn)
    assert second["api_key"] != first
    assert second["previous_api_key"] == first
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[token]
    assert "AWSPREVIOUS" in [s for v in stages.values() for s in v]
    previous = json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"])
    assert previous["api_key"] == first


def test_a_retried_create_step_keeps_the_pending_key(client: Any) -> None:
    arn = new_secret(client)
    token = str(uuid.uuid4())
    event = {"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}
    rotation.rotate(client, event)
    pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
    rotation.rotate(client, event)
    again = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
    assert again == pending


def test_steps_out_of_order_or_unknown_are_refused(client: Any) -> None:
    arn = new_secret(client)
    with pytest.raises(ValueError, match="is not AWSPENDING"):
        rotation.rotate(client, {"SecretId": arn, "ClientRequestToken": str(uuid.uuid4()), "Step": "finishSecret"})
    with pytest.raises(ValueError, match="unknown rotation step 'bogus'"):
        rotation.rotate(client, {"SecretId": arn, "ClientRequestToken": "t", "Step": "bogus"})


def test_a_weak_pending_value_fails_the_test_step(client: Any) -> None:
    arn = new_secret(client, length=48)
    run_rotation(client, arn)  # a current value exists: the next version is only pending
    token = str(uuid.uuid4())
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=json.dumps({"api_key": "short"}),
        VersionStages=["AWSPENDING"],
    )  # fmt: skip
    with pytest.raises(ValueError, match="pending api_key is not 48 letters and digits"):
        rotation.rotate(client, {"SecretId": arn, "ClientRequestToken": token, "Step": "testSecret"})


def test_rotation_must_be_enabled(client: Any) -> None:
    arn = client.create_secret(Name="ai-platform/dev/ai-api/x")["ARN"]
    with pytest.raises(ValueError, match="rotation is not enabled"):
        rotation.rotate(client, {"SecretId": arn, "ClientRequestToken": "t", "Step": "createSecret"})
