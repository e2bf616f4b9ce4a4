"""The IP-blocking Lambda: a high-severity GuardDuty finding (EventBridge) blocks its remote IPv4 addresses at the
ai-api's WAF for `BLOCK_HOURS`; the scheduled event (every 15 minutes) removes expired blocks.

Environment (set by the program, nothing secret): `IP_SET_NAME`, `IP_SET_ID`, `IP_SET_SCOPE`, `TABLE_NAME`,
`BLOCK_HOURS`, `MIN_SEVERITY`. Every decision is logged as one JSON line. An error raises: the invocation is
retried and then lands in the dead-letter queue, where an operator sees it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import boto3

from . import blocklist


def _log(record: Mapping[str, Any]) -> None:
    print(json.dumps(record, sort_keys=True, default=str))


def remote_addresses(detail: Mapping[str, Any]) -> list[str]:
    """The distinct remote IPv4 addresses of a finding's `detail`, in the order they appear."""

    def walk(node: Any, path: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
        if not path:
            if isinstance(node, Mapping):
                yield node
            return
        head, rest = path[0], path[1:]
        if head == "*":
            for item in node if isinstance(node, list) else []:
                yield from walk(item, rest)
        elif isinstance(node, Mapping) and head in node:
            yield from walk(node[head], rest)

    action = (detail.get("service") or {}).get("action") or {}
    found: list[str] = []
    for member, path in blocklist.REMOTE_IP_PATHS.items():
        for remote in walk(action.get(member), path):
            address = remote.get("ipAddressV4")
            if isinstance(address, str) and address not in found:
                found.append(address)
    return found


def on_finding(event: Mapping[str, Any], blocks: blocklist.Blocklist, *, hours: int, min_severity: float) -> list[dict]:
    """Block every public remote address of a finding of at least `min_severity`; skip (and log) the rest."""
    detail = event.get("detail") or {}
    finding_id, finding_type = detail.get("id", "?"), detail.get("type", "?")
    severity = float(detail.get("severity") or 0)
    if severity < min_severity:
        _log({"action": "ignored", "finding": finding_id, "why": f"severity {severity} < {min_severity}"})
        return []
    addresses = remote_addresses(detail)
    if not addresses:
        _log({"action": "ignored", "finding": finding_id, "type": finding_type, "why": "no remote IPv4 address"})
        return []
    results = []
    for address in addresses:
        try:
            outcome = blocks.block(
                address, hours=hours, added_by=f"guardduty:{finding_id}", reason=f"{finding_type} (severity {severity})"
            )
        except blocklist.BlockError as refused:  # a private or otherwise unblockable remote: nothing to do at the WAF
            _log({"action": "skipped", "finding": finding_id, "address": address, "why": str(refused)})
            continue
        record = {**outcome.to_json(), "finding": finding_id, "type": finding_type, "severity": severity}
        _log(record)
        results.append(record)
    return results


def blocklist_from_environment(environ: Mapping[str, str] = os.environ) -> blocklist.Blocklist:
    return blocklist.Blocklist(
        wafv2=boto3.client("wafv2"),
        dynamodb=boto3.client("dynamodb"),
        ip_set=blocklist.IpSetRef(
            name=environ["IP_SET_NAME"], id=environ["IP_SET_ID"], scope=environ.get("IP_SET_SCOPE", "REGIONAL")
        ),
        table=environ["TABLE_NAME"],
    )


def handle(event: Mapping[str, Any], _context: Any = None) -> dict[str, Any]:
    """Entry point: a GuardDuty finding or the scheduled expiry run; anything else is an error (retried, then the
    dead-letter queue)."""
    source, kind = event.get("source"), event.get("detail-type")
    blocks = blocklist_from_environment()
    if source == "aws.guardduty" and kind == "GuardDuty Finding":
        hours = int(os.environ.get("BLOCK_HOURS", "24"))
        results = on_finding(event, blocks, hours=hours, min_severity=float(os.environ.get("MIN_SEVERITY", "7")))
        return {"blocked": results}
    if source == "aws.events" and kind == "Scheduled Event":
        expired = [outcome.to_json() for outcome in blocks.expire()]
        for record in expired:
            _log(record)
        return {"expired": expired}
    raise ValueError(f"unexpected event: source {source!r}, detail-type {kind!r}")
