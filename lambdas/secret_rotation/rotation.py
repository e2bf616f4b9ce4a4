"""Secrets Manager rotation of the ai-api's generated API keys: the four documented steps with the AWSPENDING and
AWSCURRENT staging labels.

A value is JSON `{"api_key": <new>, "previous_api_key": <the key it replaces>}`. The ai-api itself is the service
that checks the key (clients present it), and it accepts both: clients holding the previous key keep working until
the next rotation, so a rotation never breaks anyone. Hence `setSecret` has nothing to configure elsewhere, and
`testSecret` checks the pending value's shape and strength. The length of a key is the secret's tag
`ai-platform/key-length` (default 48); keys are letters and digits from the `secrets` module (no API call, so the
role needs no `secretsmanager:GetRandomPassword` on `*`).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from typing import Any

import boto3

ALPHABET = string.ascii_letters + string.digits
LENGTH_TAG = "ai-platform/key-length"
DEFAULT_LENGTH, MIN_LENGTH = 48, 32


def _log(record: Mapping[str, Any]) -> None:
    print(json.dumps(record, sort_keys=True))


def _value(client: Any, arn: str, **version: str) -> dict[str, Any] | None:
    """The JSON value of one version (`VersionStage=` or `VersionId=`), or None when there is none."""
    try:
        return json.loads(client.get_secret_value(SecretId=arn, **version)["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        return None


def _length(metadata: Mapping[str, Any]) -> int:
    tags = {tag["Key"]: tag["Value"] for tag in metadata.get("Tags", [])}
    return max(MIN_LENGTH, int(tags.get(LENGTH_TAG, DEFAULT_LENGTH)))


def create_secret(client: Any, arn: str, token: str, metadata: Mapping[str, Any]) -> None:
    """Put a new key as AWSPENDING under `token` (once: a retried step finds it there), keeping the current key as
    the previous one. The very first value (no AWSCURRENT yet) has no other key to keep: both fields hold it."""
    if _value(client, arn, VersionId=token) is not None:  # the version of this rotation exists already
        return
    key = "".join(secrets.choice(ALPHABET) for _ in range(_length(metadata)))
    current = _value(client, arn, VersionStage="AWSCURRENT")
    previous = (current or {}).get("api_key") or key
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps({"api_key": key, "previous_api_key": previous}),
        VersionStages=["AWSPENDING"],
    )


def set_secret(_client: Any, arn: str, token: str, _metadata: Mapping[str, Any]) -> None:
    """Nothing to set elsewhere: the ai-api is the service that checks this key, and it reads both keys."""
    _log({"step": "setSecret", "secret": arn, "version": token, "detail": "no external service to update"})


def test_secret(client: Any, arn: str, token: str, metadata: Mapping[str, Any]) -> None:
    """The pending value is JSON with a new key of the right length and alphabet, and keeps a previous key."""
    value = _value(client, arn, VersionId=token)
    if value is None:
        raise ValueError(f"{arn}: version {token} has no AWSPENDING value")
    key, previous = value.get("api_key"), value.get("previous_api_key")
    if not isinstance(key, str) or len(key) < _length(metadata) or set(key) - set(ALPHABET):
        raise ValueError(f"{arn}: pending api_key is not {_length(metadata)} letters and digits")
    if not isinstance(previous, str) or not previous:
        raise ValueError(f"{arn}: pending value lost previous_api_key")


def finish_secret(client: Any, arn: str, token: str, metadata: Mapping[str, Any]) -> None:
    """Move AWSCURRENT to `token` (Secrets Manager then labels the old version AWSPREVIOUS)."""
    current = next((v for v, stages in metadata["VersionIdsToStages"].items() if "AWSCURRENT" in stages), None)
    if current == token:
        return
    move: dict[str, str] = {"RemoveFromVersionId": current} if current else {}
    client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, **move)
    _log({"step": "finishSecret", "secret": arn, "version": token, "replaced": current})


STEPS: dict[str, Callable[[Any, str, str, Mapping[str, Any]], None]] = {
    "createSecret": create_secret,
    "setSecret": set_secret,
    "testSecret": test_secret,
    "finishSecret": finish_secret,
}


def rotate(client: Any, event: Mapping[str, Any]) -> None:
    """Run one step for `event` ({SecretId, ClientRequestToken, Step}) after the documented checks."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise ValueError(f"unknown rotation step {step!r}; allowed: {', '.join(STEPS)}")
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"{arn}: rotation is not enabled")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages is not None and "AWSCURRENT" in stages:
        _log({"step": step, "secret": arn, "version": token, "detail": "already AWSCURRENT"})
        return
    # RotateSecret registers the token as AWSPENDING before the first step; later steps must find it so.
    if step != "createSecret" and (stages is None or "AWSPENDING" not in stages):
        raise ValueError(f"{arn}: version {token} is not AWSPENDING")
    STEPS[step](client, arn, token, metadata)
    _log({"step": step, "secret": arn, "version": token, "detail": "done"})


def handle(event: Mapping[str, Any], _context: Any = None) -> None:
    """Entry point Secrets Manager invokes once per step."""
    rotate(boto3.client("secretsmanager"), event)
