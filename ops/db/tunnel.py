"""The way to the database: an SSM Session Manager port forward through one of the cluster's nodes.

The Aurora writer has no route from outside the VPC; the EKS nodes reach it (the database security group admits
them) and run the SSM agent with `AmazonSSMManagedInstanceCore` (components/identity.py). `aws ssm start-session`
with `AWS-StartPortForwardingSessionToRemoteHost` forwards a local port to the writer through a node: no inbound
port, no bastion, IAM-authorised and recorded in CloudTrail. TLS runs end to end: libpq connects to 127.0.0.1
(`hostaddr`) while checking the certificate against the writer's name (`host`) with sslmode verify-full when the
RDS CA bundle is given, require otherwise. The master password is read from the RDS-managed secret at run time and
only held in memory.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ops.db.aws import Targets
from ops.db.sql import APPLICATION_NAME, StepError


def find_node(ec2: Any, cluster_name: str) -> str:
    """A running node of the cluster (EKS tags its nodes `kubernetes.io/cluster/<name>`: owned)."""
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": f"tag:kubernetes.io/cluster/{cluster_name}", "Values": ["owned"]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )
    ids = sorted(i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"])
    if not ids:
        raise StepError(f"no running node of cluster {cluster_name} to forward through (pass --via-instance)")
    return ids[0]


def port_forward_command(targets: Targets, instance_id: str, local_port: int) -> list[str]:
    parameters = {"host": [targets.writer_endpoint], "portNumber": [str(targets.port)],
                  "localPortNumber": [str(local_port)]}  # fmt: skip
    return [
        "aws", "ssm", "start-session", "--region", targets.region, "--target", instance_id,
        "--document-name", "AWS-StartPortForwardingSessionToRemoteHost", "--parameters", json.dumps(parameters),
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def ssm_tunnel(targets: Targets, instance_id: str, local_port: int, timeout: float = 60) -> Iterator[int]:
    """Run the port forward for the duration of the block; yields the local port once it accepts connections."""
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        port_forward_command(targets, instance_id, local_port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                detail = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise StepError(f"the SSM port forward through {instance_id} ended: {detail.strip()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", local_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise StepError(
                        f"the SSM port forward through {instance_id} did not open within {timeout}s"
                    ) from None
                time.sleep(1)
        yield local_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def master_credentials(secrets: Any, secret_arn: str) -> tuple[str, str]:
    secret = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
    return str(secret["username"]), str(secret["password"])


def connect(targets: Targets, local_port: int, user: str, password: str, ca_bundle: Path | None) -> Any:
    """A psycopg connection to the writer through the forwarded port (autocommit; TLS checked against the
    writer's name when `ca_bundle` is given)."""
    import psycopg

    tls: dict[str, Any] = (
        {"sslmode": "verify-full", "sslrootcert": str(ca_bundle)} if ca_bundle else {"sslmode": "require"}
    )
    return psycopg.connect(
        host=targets.writer_endpoint, hostaddr="127.0.0.1", port=local_port, dbname=targets.database, user=user,
        password=password, application_name=APPLICATION_NAME, connect_timeout=30, autocommit=True, **tls,
    )  # fmt: skip
