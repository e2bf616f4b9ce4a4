"""Container logs and traces: Fluent Bit ships every container's log to CloudWatch Logs (`logs`), an OpenTelemetry
collector receives the ai-api's traces over OTLP and exports them to AWS X-Ray (`traces`).

Each runs in a namespace of its own (reserved in config/namespaces.py) from its official Helm chart at the version
`ai-platform:observability` pins, with an IRSA role allowed exactly what it writes and nothing else
(`telemetry_base`). `install` declares both and returns what the workload needs: the collector's OTLP endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.base import PlatformComponent
from components.observability import logs, traces

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs


@dataclass(frozen=True)
class Telemetry:
    """What logs and traces declared that others use.

    otlp_endpoint: the collector's OTLP/HTTP address in the cluster (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    log_group_names: the CloudWatch Logs groups Fluent Bit writes to, and the only ones its role may write.
    """

    otlp_endpoint: str
    log_group_names: tuple[str, ...]


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> Telemetry:
    """Declare Fluent Bit with its log groups and the trace collector under `parent`."""
    log_group_names = logs.install(parent, name, args)
    otlp_endpoint = traces.install(parent, name, args)
    return Telemetry(otlp_endpoint=otlp_endpoint, log_group_names=log_group_names)
