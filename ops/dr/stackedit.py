"""Setting `ai-platform:dr.active_region` in `Pulumi.<stack>.yaml`, keeping the file's comments and layout.

The DR commands change which region the program declares primary; the file is edited round-trip with ruamel.yaml
(comments, key order and quoting survive) and re-read with the project's own loader afterwards, so a file the
program would refuse is never left behind.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from config import load_stack_config
from config.stackfile import read_stack_file

KEY = "ai-platform:dr"


def _yaml() -> YAML:
    yaml = YAML()  # round-trip mode
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def declared_active_region(path: Path, stack: str) -> str:
    """The active region the stack file declares (`aws:region` when `dr.active_region` is unset)."""
    return load_stack_config(stack, read_stack_file(path), source=path.name).active_region


def set_active_region(path: Path, stack: str, region: str) -> bool:
    """Make the stack file declare `region` active; False when it already does (the file is not touched)."""
    if declared_active_region(path, stack) == region:
        return False
    yaml = _yaml()
    original = path.read_text()
    document = yaml.load(original)
    config = document["config"]
    section = config.get(KEY)
    if section is None:
        section = CommentedMap()
        config[KEY] = section
    section["active_region"] = region
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    path.write_text(buffer.getvalue())
    try:
        if declared_active_region(path, stack) != region:
            raise RuntimeError(f"{path.name} does not read back with dr.active_region {region}")
    except Exception:
        path.write_text(original)  # never leave a file the program would refuse
        raise
    return True
