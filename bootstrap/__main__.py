"""ai-platform-bootstrap: load and validate this account's bootstrap config, then declare it.

Pulumi runs this file with `bootstrap/` as the working directory; the program shares the repository's packages
(config, lib, components), so the repository root goes first on the import path (before `bootstrap/` itself, whose
module names must not shadow them).
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pulumi  # noqa: E402 - after the import path is set

from bootstrap.program import build  # noqa: E402
from bootstrap.settings import load_bootstrap_config  # noqa: E402
from config import pulumi_runtime_config  # noqa: E402

build(load_bootstrap_config(pulumi.get_stack(), pulumi_runtime_config()))
