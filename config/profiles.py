"""Environment profiles: how dev and staging differ from production.

The models' own defaults are the production values; a profile lists only the keys where its environment departs
from them (dev cheap and disposable, staging production's shape at lower cost). The loader deep-merges a profile
over the model defaults and the stack file over the result, so a stack file's key always wins. Keys and shapes
mirror the section models (`ai-platform:<section>` -> `PROFILES[env][section]`).
"""

from __future__ import annotations

from typing import Any, get_args

from config.addons import ADDON_KEYS
from config.types import Environment

ENVIRONMENTS: tuple[str, ...] = get_args(Environment)

# The smaller environments let Karpenter launch spot capacity too.
_SPOT_TOO = ["spot", "on-demand"]

# fmt: off
DEV: dict[str, Any] = {
    "network": {"az_count": 2, "nat_strategy": "single", "flow_logs_retention_days": 30, "interface_endpoints": []},
    "identity": {"kms_deletion_window_days": 7},
    "cluster": {
        "log_retention_days": 30,
        "deletion_protection": False,
        # Burstable AMD nodes: the add-ons and observability request ~2.5 vCPU / 5 GiB and idle far below it; two
        # t3a.large (2 vCPU, 8 GiB, 35 pods each) hold them for $30/month less than m6i.large. Given up: sustained
        # CPU (a t3a runs above its 30% baseline on credits; unlimited mode bills the surplus).
        "node_groups": {"system": {"instance_types": ["t3a.large"], "min_size": 2, "desired_size": 2, "max_size": 3}},
    },
    # One replica of every controller (the VPA recommender always runs one).
    "addons": {name: {"replicas": 1} for name in ADDON_KEYS if name != "vpa"}
    | {"karpenter": {"replicas": 1, "cpu_limit": 32, "memory_limit_gib": 128, "capacity_types": _SPOT_TOO,
                     "consolidate_after": "1m"}},
    "database": {
        "serverless_min_capacity": 0, "serverless_max_capacity": 4, "auto_pause_after_seconds": 900,
        "reader_count": 0, "backup_retention_days": 1, "deletion_protection": False, "final_snapshot": False,
        "protect": False, "performance_insights_retention_days": 7, "log_retention_days": 30,
    },
    "storage": {
        "noncurrent_version_expiration_days": 30, "noncurrent_versions_to_keep": 1, "logs_expiration_days": 90,
        "exports_object_lock": False, "protect": False,
    },
    "backup": {
        "hourly_retention_days": 1, "daily_retention_days": 7, "weekly_retention_days": 28,
        "monthly_retention_days": 90, "monthly_cold_storage_after_days": None, "continuous_backup": False,
        "vault_lock_mode": "none", "protect": False,
    },
    # One of each, short retention, nobody paged; every trace kept (little traffic).
    "observability": {
        "prometheus": {"replicas": 1, "retention_days": 3, "storage_gib": 20},
        "alertmanager": {"replicas": 1},
        "grafana": {"replicas": 1},
        "routing": {"pagerduty": False},
        "logs": {"retention_days": 30},
        "traces": {"sampling_ratio": 1.0},
    },
    # Same account as prod in the shipped stack files: prod owns the account's trail, detector and hub. A dev account
    # of its own sets manage_account_security true in its stack file and gets a cheaper, shorter-kept trail.
    "security": {
        "manage_account_security": False,
        "cloudtrail": {"object_lock_mode": "GOVERNANCE", "object_lock_days": 30, "expiration_days": 180,
                       "log_retention_days": 30},
        "ip_blocking": {"log_retention_days": 30, "table_deletion_protection": False},
        "rotation": {"log_retention_days": 30, "recovery_window_days": 7},
    },
    # No second region: a lost region is rebuilt from the primary's own backups (README "Disaster recovery").
    "dr": {"strategy": "none"},
    # Nodes may be replaced any time; the budget is dev's idle floor (README "Cost") with room for workload nodes.
    "maintenance": {"window": None},
    "cost": {"monthly_budget_usd": 500, "anomaly_threshold_usd": 25},
    # A disposable zone keeps a month of query logs.
    "dns": {"query_log_retention_days": 30},
    "api": {
        "strategy": "rolling", "replicas": 1, "hpa": {"min_replicas": 1, "max_replicas": 3},
        "zone_spread": "ScheduleAnyway", "settings": {"LOG_LEVEL": "debug"},
        "blue_green": {"auto_promotion": True, "scale_down_delay_seconds": 60},
        "waf": {"log_retention_days": 30},
        "ecr": {"keep_last_images": 20, "mutable_tag_filters": ["latest"], "protect": False},
        "load_balancer_deletion_protection": False,
    },
}

STAGING: dict[str, Any] = {
    "network": {"nat_strategy": "single", "flow_logs_retention_days": 90},
    "cluster": {
        "log_retention_days": 90,
        "node_groups": {"system": {"instance_types": ["m6i.large", "m6a.large"], "min_size": 2, "max_size": 4}},
    },
    "addons": {"karpenter": {"cpu_limit": 64, "memory_limit_gib": 256, "capacity_types": _SPOT_TOO}},
    "database": {
        "serverless_min_capacity": 0.5, "serverless_max_capacity": 16, "reader_count": 1,
        "backup_retention_days": 14, "performance_insights_retention_days": 7, "log_retention_days": 90,
    },
    "storage": {
        "noncurrent_version_expiration_days": 60, "noncurrent_versions_to_keep": 2, "logs_expiration_days": 180,
        "exports_object_lock": False,
    },
    "backup": {
        "hourly_retention_days": 1, "daily_retention_days": 14, "weekly_retention_days": 60,
        "monthly_retention_days": 180, "vault_lock_mode": "governance",
    },
    "observability": {
        "prometheus": {"replicas": 1, "retention_days": 7, "storage_gib": 50},
        "alertmanager": {"replicas": 2},
        "grafana": {"replicas": 1},
        "logs": {"retention_days": 90},
        "traces": {"sampling_ratio": 0.2},
    },
    # Same account as prod (see dev).
    "security": {
        "manage_account_security": False,
        "cloudtrail": {"object_lock_mode": "GOVERNANCE", "object_lock_days": 90, "expiration_days": 400,
                       "log_retention_days": 90},
    },
    # Data and recovery points copied to the DR region; nothing running there.
    "dr": {"strategy": "backup-restore", "copy_retention_days": 14},
    "cost": {"monthly_budget_usd": 1200, "anomaly_threshold_usd": 50},
    "dns": {"query_log_retention_days": 90},
    "api": {
        "strategy": "blue-green", "replicas": 2, "hpa": {"min_replicas": 2, "max_replicas": 6},
        "blue_green": {"auto_promotion": True, "scale_down_delay_seconds": 600},
        "waf": {"log_retention_days": 90},
        "ecr": {"keep_last_images": 50},
    },
}

# fmt: on

# Environment -> its departures from the model defaults; prod has none (the defaults are production's values).
PROFILES: dict[str, dict[str, Any]] = {"dev": DEV, "staging": STAGING, "prod": {}}
