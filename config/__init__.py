"""Typed stack configuration: the one place where stacks differ, validated once before any resource exists.

A stack file (`Pulumi.<stack>.yaml`) sets `aws:region` and the project's own keys (`ai-platform:<section>`). The
section models (one module each) hold the production defaults; `ai-platform:environment` picks a profile
(`config/profiles.py`: dev and staging as departures from them); every key the stack file sets overrides its
default, key by key. `config/loader.py` validates the merged result and collects every mistake into one
`StackConfigError` whose lines read `Pulumi.<stack>.yaml: ai-platform:<key>: <what is wrong>; allowed: <...>`.
The names below are what the rest of the project imports.
"""

from config.addons import ADDON_KEYS, AddonsConfig, HelmAddonConfig, KarpenterConfig
from config.api import ApiConfig
from config.backup import BackupConfig
from config.cluster import EKS_LOG_TYPES, ClusterConfig, NodeGroupConfig
from config.database import DatabaseConfig
from config.errors import StackConfigError
from config.identity import IdentityConfig
from config.loader import deep_merge, environment_defaults, load_from_pulumi, load_stack_config, pulumi_runtime_config
from config.network import NetworkConfig, subnet_slots
from config.profiles import ENVIRONMENTS, PROFILES
from config.stack import SECTIONS, StackConfig
from config.storage import StorageConfig
from config.types import (
    MANDATORY_TAG_KEYS,
    PROJECT,
    REQUIRED_USER_TAG_KEYS,
    parse_backup_window,
    parse_maintenance_window,
)

__all__ = [
    "ADDON_KEYS",
    "EKS_LOG_TYPES",
    "ENVIRONMENTS",
    "MANDATORY_TAG_KEYS",
    "PROFILES",
    "PROJECT",
    "REQUIRED_USER_TAG_KEYS",
    "SECTIONS",
    "AddonsConfig",
    "ApiConfig",
    "BackupConfig",
    "ClusterConfig",
    "DatabaseConfig",
    "HelmAddonConfig",
    "IdentityConfig",
    "KarpenterConfig",
    "NetworkConfig",
    "NodeGroupConfig",
    "StackConfig",
    "StackConfigError",
    "StorageConfig",
    "deep_merge",
    "environment_defaults",
    "load_from_pulumi",
    "load_stack_config",
    "parse_backup_window",
    "parse_maintenance_window",
    "pulumi_runtime_config",
    "subnet_slots",
]  # fmt: skip
