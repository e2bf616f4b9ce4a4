"""Names, labels and ports that every part of ai-api agrees on (the registry, the pods, the edge, the guards)."""

from __future__ import annotations

from config import PROJECT

APP = "ai-api"
CONTAINER_PORT = 8080
SERVICE_PORT = 80
HEALTH_PATH = "/health"
SETTINGS_CONFIG_MAP = f"{APP}-settings"
DATABASE_SECRET = f"{APP}-database"
# The service account external-secrets acts as (its own IRSA role) to read the database secret for this namespace.
SECRETS_READER = f"{APP}-secrets"
DATABASE_URL_KEY = "DATABASE_URL"
SELECTOR = {"app.kubernetes.io/name": APP}
LABELS = {**SELECTOR, "app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi"}


def flags_path(stack: str) -> str:
    """The SSM Parameter Store path of the ai-api feature flags of a stack."""
    return f"/{PROJECT}/{stack}/{APP}/flags"

