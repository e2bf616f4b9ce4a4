"""Names of the security automation's AWS resources, derived from the stack alone: the component declares them
with these names and `python -m ops security` finds them with the same function, with no stack outputs needed."""

from __future__ import annotations

from dataclasses import dataclass

from config.types import PROJECT

APP = "ai-api"


@dataclass(frozen=True)
class BlockingNames:
    """The WAF blocklist IP set, the table recording the automation's blocks, and the Lambda of one stack."""

    ip_set: str
    table: str
    function: str


def blocking_names(stack: str) -> BlockingNames:
    """`ai-platform-<stack>-ai-api-blocklist` (IP set), `ai-platform-<stack>-ip-blocks` (table),
    `ai-platform-<stack>-ip-blocking` (function)."""
    return BlockingNames(
        ip_set=f"{PROJECT}-{stack}-{APP}-blocklist",
        table=f"{PROJECT}-{stack}-ip-blocks",
        function=f"{PROJECT}-{stack}-ip-blocking",
    )


def app_secret_name(stack: str, name: str) -> str:
    """`ai-platform/<stack>/ai-api/<name>`: an ai-api secret, under the prefix the shared ClusterSecretStore reads."""
    return f"{PROJECT}/{stack}/{APP}/{name}"


def rotation_function_name(stack: str) -> str:
    """`ai-platform-<stack>-secret-rotation`: the Lambda rotating the ai-api's generated keys."""
    return f"{PROJECT}-{stack}-secret-rotation"
