"""The pack as Pulumi loads it: PulumiPolicy.yaml, `__main__.py` building one PolicyPack from the registry, the
per-environment configs, the taggable-type list, and docs/policies.md kept in sync with the code."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel

from config import MANDATORY_TAG_KEYS
from lib.tagging import is_taggable
from ops.engine import PROJECT_DIR
from ops.gate import render_docs
from policy.rules import RULES, RULES_BY_ID, PackConfigError, enforcement_for, load_pack_config, mandatory_ids
from policy.rules.core import MANDATORY_TAG_KEYS as POLICY_TAG_KEYS
from policy.rules.stack import TAGGABLE_TYPES
from tests.conftest import sdk_class

POLICY_DIR = PROJECT_DIR / "policy"


def test_pulumi_policy_yaml_declares_a_python_pack() -> None:
    manifest = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert manifest["runtime"]["options"]["virtualenv"] == ".venv", (
        "the pack runs in policy/.venv, built from policy/requirements.lock by make policy-venv"
    )
    assert manifest["name"] == "ai-platform"
    assert manifest["version"]


def test_pack_requirements_pin_the_sdks() -> None:
    lines = (POLICY_DIR / "requirements.txt").read_text().split()
    assert any(line.startswith("pulumi-policy>=") for line in lines)
    assert any(line.startswith("pulumi>=") for line in lines)


def test_main_builds_one_pack_from_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run policy/__main__.py with PolicyPack replaced (the real one starts a gRPC server and never returns)."""
    built: list[dict[str, Any]] = []

    class FakePack:
        def __init__(self, **kwargs: Any) -> None:
            built.append(kwargs)

    monkeypatch.setattr("pulumi_policy.PolicyPack", FakePack)
    monkeypatch.syspath_prepend(str(POLICY_DIR))
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    assert len(built) == 1
    assert [p.name for p in built[0]["policies"]] == [r.id for r in RULES]
    assert built[0]["name"] == "ai-platform"


def test_pack_imports_only_its_own_requirements() -> None:
    """Pulumi runs the pack in its own environment (policy/requirements.txt): no program modules, no PyYAML."""
    allowed = {"__future__", "collections", "contextvars", "dataclasses", "difflib", "fnmatch", "functools", "json",
               "ipaddress", "pathlib", "re", "sys", "typing", "unicodedata", "botocore", "pulumi_policy",
               "policy_sentry", "rules"}  # fmt: skip
    for path in POLICY_DIR.rglob("*.py"):
        if ".venv" in path.relative_to(POLICY_DIR).parts:
            continue  # the pack's virtualenv (make policy-venv), not the pack
        for line in path.read_text().splitlines():
            words = line.split()
            if line.startswith(("import ", "from ")) and not words[1].startswith("."):
                assert words[1].split(".")[0] in allowed, f"{path.relative_to(PROJECT_DIR)}: {line}"


def test_rule_ids_are_unique_and_kebab_case() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i and "_" not in i for i in ids)


def test_pack_tag_keys_match_the_program() -> None:
    assert POLICY_TAG_KEYS == MANDATORY_TAG_KEYS


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_environment_has_a_valid_pack_config(environment: str) -> None:
    config = load_pack_config(environment)
    for key, value in config.items():
        assert key in RULES_BY_ID
        if isinstance(value, dict):
            json.dumps(value)  # plain JSON, as `--policy-pack-config` expects


def test_enforcement_is_stricter_in_prod() -> None:
    dev, staging, prod = (mandatory_ids(env) for env in ("dev", "staging", "prod"))
    assert dev < staging < prod
    assert {"rds-multi-az", "backup-vault-lock", "backup-plan-present"} <= prod - staging
    assert "stateful-protected" in staging
    assert "stateful-protected" not in dev


def test_all_entry_and_string_form_follow_the_cli_semantics() -> None:
    rule = RULES_BY_ID["s3-acls-disabled"]
    assert enforcement_for(rule, {}) == EnforcementLevel.ADVISORY
    assert enforcement_for(rule, {"all": "mandatory"}) == EnforcementLevel.MANDATORY
    assert (
        enforcement_for(rule, {"all": "mandatory", "s3-acls-disabled": {"enforcementLevel": "disabled"}})
        == EnforcementLevel.DISABLED
    )


def test_bad_pack_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "prod.json").write_text(json.dumps({"rds-multi-azz": "mandatory"}))
    with pytest.raises(PackConfigError, match=r"rds-multi-azz: unknown rule; allowed: all, "):
        load_pack_config("prod", tmp_path)
    (tmp_path / "prod.json").write_text(json.dumps({"rds-backup-retention": {"minimumDayz": 3}}))
    with pytest.raises(
        PackConfigError, match=r"unknown setting\(s\) minimumDayz; allowed: enforcementLevel, minimumDays"
    ):
        load_pack_config("prod", tmp_path)
    (tmp_path / "prod.json").write_text(json.dumps({"rds-backup-retention": {"minimumDays": 90}}))
    with pytest.raises(
        PackConfigError, match=r"rds-backup-retention.minimumDays: 90 is out of range; allowed: 1 to 35"
    ):
        load_pack_config("prod", tmp_path)
    (tmp_path / "prod.json").write_text(json.dumps({"k8s-allowed-registry": {"allowedRegistries": "ecr"}}))
    with pytest.raises(PackConfigError, match=r"'ecr' is not a list of strings"):
        load_pack_config("prod", tmp_path)
    (tmp_path / "prod.json").write_text(json.dumps({"rds-multi-az": "blocking"}))
    with pytest.raises(PackConfigError, match=r"enforcement 'blocking'; allowed: "):
        load_pack_config("prod", tmp_path)


def _accepts_tags(type_token: str) -> bool:
    cls = sdk_class(type_token)
    return cls is not None and is_taggable(cls)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # importing pulumi_eks warns about its legacy NodeGroup
def test_taggable_types_really_accept_tags() -> None:
    assert [t for t in sorted(TAGGABLE_TYPES) if not _accepts_tags(t)] == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_taggable_type_the_stacks_declare_is_listed(plan_of: Any, any_stack: str) -> None:
    declared = {r.type for r in plan_of(any_stack).resources if r.custom or r.remote}
    candidates = [t for t in declared if t.split(":")[0] in ("aws", "eks") and not t.startswith("pulumi:")]
    taggable = {t for t in candidates if _accepts_tags(t)}
    assert sorted(taggable - TAGGABLE_TYPES) == [], "add these types to TAGGABLE_TYPES in policy/rules/stack.py"


def test_docs_list_every_rule() -> None:
    text = render_docs()  # freshness of docs/policies.md itself: tests/test_docs.py
    for rule in RULES:
        assert f"| `{rule.id}` |" in text
