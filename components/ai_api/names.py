"""Names, labels and ports that every part of ai-api agrees on (the registry, the pods, the edge, the guards)."""

from __future__ import annotations

from config import PROJECT

APP = "ai-api"
CONTAINER_PORT = 8080
SERVICE_PORT = 80
HEALTH_PATH = "/health"
SETTINGS_CONFIG_MAP = f"{APP}-settings"
# The PostgreSQL role the pods sign in as with IAM database authentication (db/migrations/0002 creates it).
DATABASE_USER = "ai_app"
SELECTOR = {"app.kubernetes.io/name": APP}
LABELS = {**SELECTOR, "app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi"}


def flags_path(stack: str) -> str:
    """The SSM Parameter Store path of the ai-api feature flags of a stack."""
    return f"/{PROJECT}/{stack}/{APP}/flags"
