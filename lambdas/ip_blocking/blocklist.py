"""Blocking single public IPv4 addresses at the ai-api's WAF blocklist, with an expiry, without ever touching an
address someone else put there.

The WAF IP set holds the addresses; a DynamoDB table (key `address`) holds what this automation added: who, why,
until when. An address is ours only if the table has it, so expiry and `unblock` never remove an address an
operator or another tool added by hand. Every change of the IP set reads it with `GetIPSet`, changes the list and
writes it back with `UpdateIPSet` and the lock token of that read; a concurrent writer makes WAF refuse with
`WAFOptimisticLockException`, and the change is redone from a fresh read (bounded attempts, exponential backoff with
full jitter), so no concurrent change is ever lost.

The ALB is IPv4-only (`ip-address-type: ipv4`): an IPv6 client cannot reach it, so the blocklist is IPv4 and an
IPv6 address is refused rather than blocked uselessly.

Used by the Lambda (`handler.py`) and by `python -m ops security block-ip|unblock-ip|list-blocks`; only the
standard library and boto3 (both in the Lambda runtime).
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# Attempts at one IP set change before giving up (each after a fresh GetIPSet).
MAX_ATTEMPTS = 6
BASE_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
# The table's TTL attribute (`purge_at`) is this long after the block's expiry: the scheduled run (every 15 minutes)
# removes the address long before DynamoDB's TTL (which may delete at any time after `purge_at`) could drop the
# record that proves the address is ours.
PURGE_GRACE_SECONDS = 7 * 24 * 3600
MAX_BLOCK_HOURS = 8760
# Checked in this order (Python counts 240.0.0.0/4 and 0.0.0.0 as private too: the narrower name comes first).
_REFUSED = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_reserved", "a reserved"),
    ("is_private", "a private"),
)


# Where a GuardDuty finding carries the remote party's address (finding format, `service.action`): the action type's
# member, and inside it the path to `remoteIpDetails` (`*`: each element of a list; a port probe lists one entry per
# probing address). The Lambda reads these, and the EventBridge rule (components/remediation) matches them.
REMOTE_IP_PATHS: dict[str, tuple[str, ...]] = {
    "networkConnectionAction": ("remoteIpDetails",),
    "awsApiCallAction": ("remoteIpDetails",),
    "portProbeAction": ("portProbeDetails", "*", "remoteIpDetails"),
    "kubernetesApiCallAction": ("remoteIpDetails",),
    "rdsLoginAttemptAction": ("remoteIpDetails",),
}


class BlockError(ValueError):
    """Input the blocklist refuses (not an IP, not a single public IPv4 host, bad duration); nothing was changed."""


def host_cidr(text: str) -> str:
    """`203.0.113.7`-style input as the IP set's `a.b.c.d/32`, or `BlockError` saying why not.

    Allowed: one public IPv4 address, optionally written as `/32`. Refused: anything that is not an address, a
    range (any other prefix, /0 included), IPv6, and private, loopback, link-local, multicast, reserved, unspecified
    and other non-global addresses (blocking those at an internet-facing ALB is a mistake, never a defence).
    """
    raw = text.strip() if isinstance(text, str) else ""
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        raise BlockError(
            f"{text!r} is not an IP address; allowed: one public IPv4 address, e.g. 198.51.100.1 or 8.8.8.8/32"
        ) from None
    if network.version == 6:
        raise BlockError(
            f"{raw} is IPv6; allowed: a public IPv4 address (the ai-api ALB is IPv4-only, IPv6 cannot reach it)"
        )
    if network.prefixlen != 32:
        raise BlockError(
            f"{raw} is a /{network.prefixlen} range of {network.num_addresses} addresses; allowed: a single host "
            "(one address or /32)"
        )
    address = network.network_address
    for attribute, kind in _REFUSED:
        if getattr(address, attribute):
            raise BlockError(f"{address} is {kind} address; allowed: a public IPv4 address")
    if not address.is_global:
        raise BlockError(f"{address} is not globally routable (shared or special-purpose range); allowed: a public "
                         "IPv4 address")  # fmt: skip
    return f"{address}/32"


def check_hours(hours: int) -> int:
    """A block's duration in hours: 1 to 8760 (a year), else `BlockError`."""
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_BLOCK_HOURS:
        raise BlockError(
            f"block duration {hours!r} hours; allowed: a whole number of hours from 1 to {MAX_BLOCK_HOURS}"
        )
    return hours


@dataclass(frozen=True)
class IpSetRef:
    """The WAF IP set: its name and id (UpdateIPSet needs both) and scope."""

    name: str
    id: str
    scope: str = "REGIONAL"


def find_ip_set(wafv2: Any, name: str, scope: str = "REGIONAL") -> IpSetRef:
    """The IP set named `name` (ListIPSets, every page); `LookupError` when there is none."""
    marker: str | None = None
    while True:
        page = wafv2.list_ip_sets(Scope=scope, Limit=100, **({"NextMarker": marker} if marker else {}))
        for summary in page.get("IPSets", []):
            if summary["Name"] == name:
                return IpSetRef(name=name, id=summary["Id"], scope=scope)
        marker = page.get("NextMarker")
        if not marker or not page.get("IPSets"):
            raise LookupError(f"no {scope} WAF IP set named {name}")


@dataclass(frozen=True)
class Block:
    """One block this automation owns: the table's record of it."""

    address: str
    added_by: str
    reason: str
    created_at: str
    expires_at: int

    @property
    def expires(self) -> str:
        return datetime.fromtimestamp(self.expires_at, UTC).isoformat()


@dataclass(frozen=True)
class Outcome:
    """What one call did (or, dry run, would do): `action` is one word a log query can count."""

    action: str
    address: str
    detail: str = ""
    applied: bool = True
    expires_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


@dataclass
class Blocklist:
    """The WAF IP set and the ownership table of one stack.

    `clock` (epoch seconds) and `sleep` are injectable so tests control time and skip the backoff.
    """

    wafv2: Any
    dynamodb: Any
    ip_set: IpSetRef
    table: str
    clock: Callable[[], float] = field(default_factory=lambda: _now)
    sleep: Callable[[float], None] = field(default_factory=lambda: time.sleep)
    attempts: int = MAX_ATTEMPTS
    conflicts: list[int] = field(default_factory=list)  # attempt numbers that met a concurrent change

    # --- reading ---------------------------------------------------------------------------------------------

    def addresses(self) -> list[str]:
        """The IP set's addresses as WAF has them now."""
        return list(self._read()[0])

    def owned(self) -> dict[str, Block]:
        """Every block the table records (a full scan: the table holds at most a few thousand small items)."""
        blocks: dict[str, Block] = {}
        for item in self._scan():
            block = _block_of(item)
            blocks[block.address] = block
        return blocks

    def record(self, address: str) -> Block | None:
        item = self.dynamodb.get_item(TableName=self.table, Key={"address": {"S": address}}, ConsistentRead=True)
        return _block_of(item["Item"]) if "Item" in item else None

    # --- changing ---------------------------------------------------------------------------------------------

    def block(
        self, text: str, *, hours: int, added_by: str, reason: str, apply: bool = True, _tries: int = 3
    ) -> Outcome:
        """Block `text` for `hours`: record it as ours (or extend our record), then add it to the IP set.

        An address already in the set without a record of ours belongs to someone else: it stays as it is, and
        no record is written (expiry would otherwise remove it). Two writers claiming one address at once: the
        loser's conditional write fails and it starts over from the winner's record.
        """
        address, hours = host_cidr(text), check_hours(hours)
        now = int(self.clock())
        expires_at = now + hours * 3600
        mine = self.record(address)
        if mine is None and address in self.addresses():
            return Outcome("kept-unmanaged", address, "already in the IP set, not added by this automation", False)
        if mine is not None and mine.expires_at >= expires_at:
            if address not in self.addresses() and apply:
                self._change(add=address)
                return Outcome("restored", address, "recorded but missing from the IP set", True, mine.expires_at)
            return Outcome("already-blocked", address, f"until {mine.expires}", False, mine.expires_at)
        action = "extended" if mine is not None else "blocked"
        if not apply:
            return Outcome(action, address, "dry run: nothing changed", False, expires_at)
        try:
            self._claim(address, expires_at, added_by=added_by, reason=reason, now=now, previous=mine)
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            if _tries <= 1:
                raise
            return self.block(text, hours=hours, added_by=added_by, reason=reason, apply=apply, _tries=_tries - 1)
        self._change(add=address)
        return Outcome(action, address, reason, True, expires_at)

    def unblock(self, text: str, *, apply: bool = True) -> Outcome:
        """Remove a block this automation owns (IP set, then its record); an address it does not own is refused."""
        address = host_cidr(text)
        mine = self.record(address)
        if mine is None:
            raise BlockError(
                f"{address} was not blocked by this automation (no record in {self.table}); allowed: an address "
                "list-blocks shows as managed (remove others in the WAF console, where whoever added them can see it)"
            )
        if not apply:
            return Outcome("unblocked", address, "dry run: nothing changed", False, mine.expires_at)
        self._release(mine)
        return Outcome("unblocked", address, f"added by {mine.added_by}: {mine.reason}", True, mine.expires_at)

    def expire(self, *, apply: bool = True) -> list[Outcome]:
        """Remove every block whose expiry has passed (the scheduled run)."""
        now = int(self.clock())
        outcomes = []
        for block in sorted(self.owned().values(), key=lambda b: b.expires_at):
            if block.expires_at > now:
                continue
            if apply:
                self._release(block)
            outcomes.append(Outcome("expired", block.address, f"added by {block.added_by}", apply, block.expires_at))
        return outcomes

    # --- internals --------------------------------------------------------------------------------------------

    def _read(self) -> tuple[list[str], str]:
        answer = self.wafv2.get_ip_set(Name=self.ip_set.name, Scope=self.ip_set.scope, Id=self.ip_set.id)
        return list(answer["IPSet"]["Addresses"]), answer["LockToken"]

    def _change(self, *, add: str | None = None, remove: str | None = None) -> bool:
        """Add and/or remove one address with the lock token of a fresh read, redoing the change on a concurrent
        update. True when the set changed; False when it already was as asked."""
        for attempt in range(1, self.attempts + 1):
            addresses, token = self._read()
            wanted = [a for a in addresses if a != remove]
            if add is not None and add not in wanted:
                wanted.append(add)
            if wanted == addresses:
                return False
            try:
                self.wafv2.update_ip_set(
                    Name=self.ip_set.name, Scope=self.ip_set.scope, Id=self.ip_set.id, Addresses=wanted,
                    LockToken=token,
                )  # fmt: skip
                return True
            except self.wafv2.exceptions.WAFOptimisticLockException:
                self.conflicts.append(attempt)
                if attempt == self.attempts:
                    raise
                ceiling = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** (attempt - 1))
                self.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not cryptography
        return False  # pragma: no cover - the loop returns or raises

    def _claim(
        self, address: str, expires_at: int, *, added_by: str, reason: str, now: int, previous: Block | None
    ) -> None:
        """Write our record: a new one only if none exists, an extension only of the record we read."""
        item = {
            "address": {"S": address},
            "added_by": {"S": added_by[:512]},
            "reason": {"S": reason[:1024] or "-"},
            "created_at": {"S": datetime.fromtimestamp(now, UTC).isoformat()},
            "expires_at": {"N": str(expires_at)},
            "purge_at": {"N": str(expires_at + PURGE_GRACE_SECONDS)},
        }
        if previous is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(address)"}
        else:
            condition = {
                "ConditionExpression": "expires_at = :seen",
                "ExpressionAttributeValues": {":seen": {"N": str(previous.expires_at)}},
            }
        self.dynamodb.put_item(TableName=self.table, Item=item, **condition)

    def _release(self, block: Block) -> None:
        """Take the address out of the IP set, then delete the record we read. If the record changed meanwhile (a
        new block extended it), the address goes back in: the newer block wins."""
        self._change(remove=block.address)
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"address": {"S": block.address}},
                ConditionExpression="expires_at = :seen",
                ExpressionAttributeValues={":seen": {"N": str(block.expires_at)}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            self._change(add=block.address)

    def _scan(self) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            more = {"ExclusiveStartKey": start} if start else {}
            page = self.dynamodb.scan(TableName=self.table, ConsistentRead=True, **more)
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return


def _now() -> float:
    return time.time()


def _block_of(item: dict[str, Any]) -> Block:
    return Block(
        address=item["address"]["S"],
        added_by=item.get("added_by", {}).get("S", "?"),
        reason=item.get("reason", {}).get("S", ""),
        created_at=item.get("created_at", {}).get("S", ""),
        expires_at=int(item["expires_at"]["N"]),
    )
