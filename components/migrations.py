"""Database migrations: the SQL in `db/migrations/` applied in-cluster by a Kubernetes Job, as code.

The SQL files are idempotent (IF NOT EXISTS, DO blocks), so applying them again is harmless. They ship in a
ConfigMap; a Job runs `psql` against the Aurora writer with the master credentials, which external-secrets syncs
from the RDS-managed secret into a Kubernetes Secret (refreshed hourly, so rotations reach it). RDS names that
secret `rds!cluster-...`, outside the stack prefix the shared ClusterSecretStore may read, so the namespace has its
own SecretStore whose IRSA role can read exactly that one secret (and decrypt it through Secrets Manager only):
widening the shared controller's role would let any namespace's ExternalSecret read the master password.

The ConfigMap and Job names carry a hash of the SQL and the image: when a migration changes, the next `pulumi up`
creates a new Job and the SQL runs again; when nothing changed, nothing runs.

All files are applied in one `psql` session and one transaction, under a transaction-scoped advisory lock: two Jobs
can never interleave, and a failing file leaves the database exactly as it was. The connection requires TLS (the
server refuses anything else: `rds.force_ssl`). The pod runs as UID/GID 10001 (the platform's floor is 10000, above
any image's or host's system users) with a read-only root file system, no capabilities and the runtime's seccomp
profile (Pod Security `restricted`), and may only talk to DNS and to PostgreSQL in the database subnets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.secret_access import database_credentials_secret, single_secret_store
from config.namespaces import MIGRATIONS_NAMESPACE
from lib.aws import AwsContext
from lib.k8s import pod_security_labels

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "db" / "migrations"
# A PostgreSQL client pinned by version (never `latest`); its major is >= the server's (pg_dump/psql compatible).
MIGRATIONS_IMAGE = "public.ecr.aws/docker/library/postgres:17.6-alpine"
MOUNT_PATH = "/migrations"
# UID and GID of the Job's pod. Not the image's `postgres` user (70): IDs below 10000 may be a node's system users.
# psql needs no passwd entry for it: the user name comes from PGUSER and the home directory from HOME.
RUN_AS_ID = 10001
# Serialises concurrent migration runs (transaction-scoped advisory lock; any constant unique to this purpose).
ADVISORY_LOCK_KEY = 7_402_113_925
SECRETS_READER = "db-secrets-reader"  # service account and SecretStore reading the master secret
LABELS = {"app.kubernetes.io/name": "db-migrations", "app.kubernetes.io/part-of": "ai-platform"}


def migration_files(directory: Path = MIGRATIONS_DIR) -> dict[str, str]:
    """File name -> SQL, in the order they apply (their numeric prefix)."""
    files = {path.name: path.read_text() for path in sorted(directory.glob("*.sql"))}
    if not files:
        raise FileNotFoundError(f"no *.sql migrations in {directory}")
    return files


def psql_arguments(file_paths: Sequence[str]) -> list[str]:
    """`psql` arguments applying `file_paths` in one session and one transaction, stopping at the first error,
    after taking the migrations' advisory lock. The Job and the tests run exactly these arguments."""
    return [
        "--no-psqlrc",
        "--set=ON_ERROR_STOP=1",
        "--single-transaction",
        f"--command=SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})",
        *(f"--file={path}" for path in file_paths),
    ]


def content_hash(files: dict[str, str], image: str) -> str:
    """Short, stable hash of the SQL (names and contents) and the client image: a new value means a new Job."""
    digest = hashlib.sha256(image.encode())
    for name, sql in sorted(files.items()):
        digest.update(name.encode() + b"\0" + sql.encode() + b"\0")
    return digest.hexdigest()[:10]


@dataclass(frozen=True)
class DatabaseMigrationsArgs:
    """Inputs of `DatabaseMigrations`.

    master_user_secret_arn: the RDS-managed master secret (`rds!cluster-...`); external-secrets reads it.
    host: the cluster's writer endpoint.
    port: the PostgreSQL port.
    database_name: the application database the migrations apply to.
    database_cidrs: the database subnets' ranges: the only PostgreSQL destinations the Job may reach.
    secret_kms_key_arn: the key encrypting the master secret (the platform's database key).
    oidc_provider_arn / oidc_issuer: the cluster's IRSA identity provider (for the SecretStore's role).
    aws: account/partition/region, for ARNs and the Secrets Manager service name in the key condition.
    kubernetes_version: the cluster's version ("1.34"): pins the namespace's Pod Security Admission version.
    namespace: the namespace created for the Job, its Secret and ConfigMap (default `platform-db`).
    image: the psql client image, pinned (default `MIGRATIONS_IMAGE`).
    migrations_dir: directory of the `*.sql` files (default `db/migrations` of the project).
    secrets_ready: the external-secrets add-on (default none): the SecretStore and ExternalSecret wait for it
        (their CRDs, and the controller that makes them Ready).
    """

    master_user_secret_arn: pulumi.Input[str]
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: str
    database_cidrs: Sequence[pulumi.Input[str]]
    secret_kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    aws: AwsContext
    kubernetes_version: str
    namespace: str = MIGRATIONS_NAMESPACE
    image: str = MIGRATIONS_IMAGE
    migrations_dir: Path = field(default=MIGRATIONS_DIR)
    secrets_ready: Sequence[pulumi.Resource] = ()


def pod_spec(
    args: DatabaseMigrationsArgs, files: dict[str, str], secret_name: str, config_map: k8s.core.v1.ConfigMap
) -> dict[str, Any]:
    """The migrations Job's pod: psql over the mounted SQL files, as the master user (credentials from
    `secret_name`), restricted, with a read-only root file system and bounded resources."""
    secret_env = [
        {"name": env, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
        for env, key in (("PGUSER", "username"), ("PGPASSWORD", "password"))
    ]
    plain_env = {
        "PGHOST": args.host,
        "PGPORT": pulumi.Output.from_input(args.port).apply(str),
        "PGDATABASE": args.database_name,
        "PGSSLMODE": "require",  # the server enforces TLS too (rds.force_ssl)
        "PGCONNECT_TIMEOUT": "30",  # a paused Serverless v2 cluster takes ~15 s to resume on first connect
        "PGAPPNAME": "ai-platform-migrations",
        "HOME": "/tmp",  # noqa: S108 - a private emptyDir in the pod
    }
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "fsGroup": RUN_AS_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "psql",
                "image": args.image,
                "imagePullPolicy": "IfNotPresent",
                "command": [
                    "psql",
                    *psql_arguments([f"{MOUNT_PATH}/{file}" for file in files]),
                ],
                "env": [{"name": k, "value": v} for k, v in plain_env.items()] + secret_env,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "runAsUser": RUN_AS_ID,
                    "runAsGroup": RUN_AS_ID,
                    "capabilities": {"drop": ["ALL"]},
                },
                "resources": {
                    "requests": {"cpu": "50m", "memory": "64Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
                "volumeMounts": [
                    {"name": "migrations", "mountPath": MOUNT_PATH, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - emptyDir
                ],
            }
        ],
        "volumes": [
            {"name": "migrations", "configMap": {"name": config_map.metadata.name}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ],
    }


class DatabaseMigrations(PlatformComponent):
    """Namespace, ExternalSecret (master credentials), ConfigMap (SQL), NetworkPolicy and the migrations Job.

    `opts.depends_on` names what must be running before the Job starts besides its Secret and SQL: the writer
    instance (not the readers; the Job would otherwise fail its retries against a cluster without instances) and
    nodes for its pod. The SecretStore and ExternalSecret wait for `args.secrets_ready` instead: their CRDs come
    from the external-secrets add-on; the Job waits for that add-on through its ExternalSecret.
    """

    area = "database"

    def __init__(self, name: str, args: DatabaseMigrationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        files = migration_files(args.migrations_dir)
        suffix = content_hash(files, args.image)
        secret_name = "db-master-credentials"  # noqa: S105 - a Secret object's name, not a password

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {**LABELS, **pod_security_labels(args.kubernetes_version)},
            },
            opts=self.child_opts(),
        )
        in_namespace = self.child_opts(depends_on=[namespace])
        # The SecretStore and ExternalSecret kinds exist only once the external-secrets chart has installed their
        # CRDs (and its webhook runs): they wait for it too, not just for the namespace (not for the database).
        after_addons = self.child_opts(depends_on=[namespace, *args.secrets_ready])
        # The master secret is RDS-named, outside the shared store's prefix: this namespace reads it on its own.
        self.secrets_role, secret_store = single_secret_store(
            name,
            namespace=args.namespace,
            store_name=SECRETS_READER,
            secret_arn=args.master_user_secret_arn,
            kms_key_arn=args.secret_kms_key_arn,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer=args.oidc_issuer,
            aws_ctx=args.aws,
            labels=LABELS,
            parent=self,
            opts=after_addons,
            description="external-secrets for the database migrations: read the RDS-managed master secret",
        )

        # Created once the Secret is synced, so the Job below never starts without its credentials; hourly
        # refresh: a rotated password reaches the Secret within the hour (and each new Job reads it fresh).
        self.external_secret = database_credentials_secret(
            f"{name}-master-credentials",
            secret_name=secret_name,
            namespace=args.namespace,
            store=secret_store,
            store_name=SECRETS_READER,
            secret_arn=args.master_user_secret_arn,
            labels=LABELS,
            refresh_interval="1h",
            deletion_policy="Delete",
            opts=after_addons,
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-sql",
            metadata={"name": f"db-migrations-{suffix}", "namespace": args.namespace, "labels": LABELS},
            data=files,
            immutable=True,
            opts=in_namespace,
        )
        self._network_policy(name, args, in_namespace)

        self.job_name = f"db-migrate-{suffix}"
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={"name": self.job_name, "namespace": args.namespace, "labels": LABELS},
            spec={
                "backoffLimit": 3,
                "activeDeadlineSeconds": 900,
                "ttlSecondsAfterFinished": 3 * 24 * 3600,  # logs stay inspectable for three days
                "template": {"metadata": {"labels": LABELS}, "spec": pod_spec(args, files, secret_name, config_map)},
            },
            # A Job's pod template is immutable: a change (new endpoint, say) replaces it under the same name.
            opts=self.child_opts(
                depends_on=[namespace, self.external_secret, config_map, *self.waits_for], delete_before_replace=True
            ),
        )
        self.namespace = args.namespace
        self.secret_name = secret_name
        self.register_outputs({"namespace": self.namespace, "job_name": self.job_name, "secret_name": secret_name})

    def _network_policy(self, name: str, args: DatabaseMigrationsArgs, opts: pulumi.ResourceOptions) -> None:
        """Nothing may reach the namespace's pods; they may reach DNS and PostgreSQL in the database subnets only."""
        egress: list[dict[str, Any]] = [
            {
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            },
            {
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in args.database_cidrs],
                "ports": [{"protocol": "TCP", "port": args.port}],
            },
        ]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={"name": "db-migrations", "namespace": args.namespace, "labels": LABELS},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": egress},
            opts=opts,
        )
