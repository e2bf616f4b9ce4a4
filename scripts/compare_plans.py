"""Compare two offline plans (`python -m ops plan --stack S --json FILE`) resource by resource.

A refactor that should not change what a stack declares is checked with it: resources are matched by
(type, name), so a component that moved or was re-parented still pairs with its old self, and the inputs
are compared key by key. Prints every resource only in one plan and every input that differs; exit 1 if any.

    python scripts/compare_plans.py before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _index(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["type"], r["name"]): r for r in json.loads(path.read_text())}


def _diff(before: Any, after: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        lines: list[str] = []
        for key in sorted(set(before) | set(after)):
            lines += _diff(before.get(key), after.get(key), f"{where}.{key}" if where else key)
        return lines
    if before != after:
        return [f"{where}: {json.dumps(before, sort_keys=True)[:300]} -> {json.dumps(after, sort_keys=True)[:300]}"]
    return []


def _decoded(value: Any) -> Any:
    """JSON documents held as strings (IAM policies, chart values) compared as structures, not as text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def compare(before: Path, after: Path) -> list[str]:
    """Human-readable differences between two plan files (empty when they declare the same)."""
    old, new = _index(before), _index(after)
    lines = [f"- only before: {t} {n}" for t, n in sorted(set(old) - set(new))]
    lines += [f"+ only after:  {t} {n}" for t, n in sorted(set(new) - set(old))]
    for key in sorted(set(old) & set(new)):
        for field in ("inputs", "protect", "retainOnDelete", "ignoreChanges"):
            changes = _diff(_decoded(old[key].get(field)), _decoded(new[key].get(field)), field)
            lines += [f"~ {key[0]} {key[1]}: {change}" for change in changes]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    lines = compare(args.before, args.after)
    print("\n".join(lines) if lines else "same resources, same inputs")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
