"""The ai-platform CrossGuard pack: `pulumi preview --policy-pack policy --policy-pack-config policy/config/<env>.json`.

It only assembles the pack; every rule lives in `rules/` (shared with `python -m ops gate` and the tests).
Constructing a `PolicyPack` starts the analyzer's gRPC server, so nothing but Pulumi ever runs this file.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # Pulumi runs the pack from any working directory

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import RULES

PolicyPack(
    name="ai-platform",
    description=(
        "Guard rails for the ai-platform stacks: AWS FSBP, CIS and Checkov controls over what the platform declares."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[rule.policy() for rule in RULES],
)
