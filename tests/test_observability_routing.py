"""Alertmanager's routing: the configuration amtool accepts, each severity reaching exactly its receivers, the
inhibition seen by a running Alertmanager, and the receivers' secrets only ever as mounted files synced by an
ExternalSecret."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.observability import ObservabilityArgs, routing
from components.observability.alerting import alertmanager_values, aws_secret_name, external_secret
from config import StackConfigError, load_stack_config
from config.observability import RoutingSettings
from lib.aws import AwsContext
from ops.engine import read_stack_config, run_program
from tests.conftest import stack_config
from tests.manifests import manifest, validate_object


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


ALL_SECRETS = (
    routing.PAGERDUTY_KEY, routing.SLACK_URL, routing.SMTP_PASSWORD, routing.STATUS_PAGE_URL,
    routing.DEAD_MANS_SWITCH_URL,
)  # fmt: skip
FULL = {
    "pagerduty": True,
    "status_page_webhook": True,
    "dead_mans_switch_webhook": True,
    "email_to": ["oncall@example.com", "platform@example.com"],
    "smtp_username": "AKIAIOSFODNN7EXAMPLE",
}
# Routing settings -> the receivers an alert of each severity (and the Watchdog) must reach, in order.
EXPECTED: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "prod-defaults": ({}, {"critical": "pagerduty", "warning": "slack", "info": "slack", "Watchdog": "null"}),
    "no-pagerduty": ({"pagerduty": False}, {"critical": "slack", "warning": "slack", "info": "slack"}),
    "everything": (
        FULL,
        {"critical": "pagerduty,status-page", "warning": "slack", "info": "email", "Watchdog": "dead-mans-switch"},
    ),
}


def _tool(*names: str) -> str:
    """Path of the first tool found; skipped when absent locally, a failure on CI (`.ci/run` installs it)."""
    for name in names:
        path = shutil.which(name)
        if path is not None:
            return path
    if os.environ.get("CI"):
        pytest.fail(f"{names[0]} is not installed on CI: .ci/run installs the Debian prometheus-alertmanager package")
    pytest.skip(f"{names[0]} is not installed (apt-get install prometheus-alertmanager)")


def _amtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("amtool"), *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=60)


def _secrets_dir(tmp_path: Path) -> Path:
    """Placeholder secret files where the configuration expects them (as the Alertmanager pods mount them)."""
    folder = tmp_path / "secrets" / routing.RECEIVERS_SECRET
    folder.mkdir(parents=True, exist_ok=True)
    for secret in ALL_SECRETS:
        value = "https://hooks.example.invalid/placeholder" if secret.key.endswith("url") else "placeholder"
        (folder / secret.key).write_text(value)
    return tmp_path / "secrets"


def _amtool_reads_url_file(tmp_path: Path) -> bool:
    """Whether this amtool knows webhook `url_file` (Alertmanager 0.26+; Debian 12 ships amtool 0.25)."""
    probe = tmp_path / "probe.yml"
    probe.write_text("route: {receiver: hook}\nreceivers: [{name: hook, webhook_configs: [{url_file: /dev/null}]}]\n")
    return _amtool("check-config", str(probe)).returncode == 0


def _for_this_amtool(config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The configuration, with webhook `url_file` swapped for a literal URL when amtool predates `url_file`. The
    deployed Alertmanager (the chart's, 0.26+) reads `url_file`; routing never depends on a webhook's URL."""
    if _amtool_reads_url_file(tmp_path):
        return config
    copy = json.loads(json.dumps(config))
    for receiver in copy["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"https://hooks.example.invalid/{Path(hook.pop('url_file')).name}"
    return copy


def _write_config(settings: dict[str, Any], tmp_path: Path) -> Path:
    config = routing.alertmanager_config(
        RoutingSettings(**settings), "eu-west-1", secrets_dir=str(_secrets_dir(tmp_path))
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(_for_this_amtool(config, tmp_path), sort_keys=False))
    return path


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_amtool_accepts_the_configuration(tmp_path, case: str) -> None:
    result = _amtool("check-config", str(_write_config(EXPECTED[case][0], tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_objects_to_nothing_but_url_file_when_it_predates_it(tmp_path) -> None:
    """The full configuration, untouched: valid for amtool 0.26+, and for an older one only `url_file` is new."""
    config = routing.alertmanager_config(RoutingSettings(**FULL), "eu-west-1", secrets_dir=str(_secrets_dir(tmp_path)))
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = _amtool("check-config", str(path))
    if _amtool_reads_url_file(tmp_path):
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        problems = [line for line in (result.stdout + result.stderr).splitlines() if "not found in type" in line]
        assert problems, result.stdout + result.stderr
        assert all("field url_file not found" in line for line in problems), problems


@pytest.mark.parametrize(
    ("case", "alert"), [(case, alert) for case in sorted(EXPECTED) for alert in EXPECTED[case][1]]
)  # fmt: skip
def test_each_alert_reaches_exactly_its_receivers(tmp_path, case: str, alert: str) -> None:
    settings, expected = EXPECTED[case]
    path = _write_config(settings, tmp_path)
    labels = (
        [f"alertname={alert}", "severity=info"]
        if alert == "Watchdog"
        else ["alertname=AiApiErrorBudgetBurn", f"severity={alert}", "namespace=ai-api"]
    )
    result = _amtool(
        "config", "routes", "test", f"--config.file={path}", f"--verify.receivers={expected[alert]}", *labels
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == expected[alert]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_the_severity_matrix_matches_the_routes(case: str) -> None:
    settings, expected = EXPECTED[case]
    matrix = routing.severity_receivers(RoutingSettings(**settings))
    assert {severity: ",".join(receivers) for severity, receivers in matrix.items()} == {
        severity: expected[severity] for severity in ("critical", "warning", "info")
    }


def test_repeat_intervals_and_grouping_follow_the_settings() -> None:
    settings = RoutingSettings(repeat_interval_critical="30m", repeat_interval_warning="3h", repeat_interval_info="48h")
    route = routing.alertmanager_config(settings, "eu-west-1")["route"]
    by_severity = {r["matchers"][0]: r["repeat_interval"] for r in route["routes"] if "severity" in r["matchers"][0]}
    assert by_severity == {'severity="critical"': "30m", 'severity="warning"': "3h", 'severity="info"': "48h"}
    assert route["group_by"] == ["alertname", "namespace", "service"]
    assert (route["group_wait"], route["group_interval"]) == ("30s", "5m")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path) -> Iterator[str]:
    """A real Alertmanager on a free local port with the prod-like configuration; its URL."""
    binary = _tool("prometheus-alertmanager", "alertmanager")
    config = _write_config({"email_to": ["oncall@example.com"], "smtp_username": "ses-user"}, tmp_path)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_critical_alert_inhibits_the_warning_and_info_of_the_same_alert_and_namespace(alertmanager: str) -> None:
    sent = [
        ("Disk", "critical", "monitoring"),
        ("Disk", "warning", "monitoring"),  # inhibited by the critical
        ("Disk", "info", "monitoring"),  # inhibited by the critical (and the warning)
        ("Disk", "warning", "ai-api"),  # another namespace: not inhibited
        ("Throttle", "warning", "shop"),
        ("Throttle", "info", "shop"),  # inhibited by the warning
        ("Other", "info", "monitoring"),  # another alert: not inhibited
    ]
    for name, severity, namespace in sent:
        added = _amtool(
            "alert", "add", f"--alertmanager.url={alertmanager}",
            f"alertname={name}", f"severity={severity}", f"namespace={namespace}",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    result = _amtool("alert", "query", "--active", "--inhibited", "--output=json", f"--alertmanager.url={alertmanager}")
    assert result.returncode == 0, result.stderr
    states = {
        (a["labels"]["alertname"], a["labels"]["severity"], a["labels"]["namespace"]): a["status"]["state"]
        for a in json.loads(result.stdout)
    }
    suppressed = {
        ("Disk", "warning", "monitoring"), ("Disk", "info", "monitoring"), ("Throttle", "info", "shop"),
    }  # fmt: skip
    assert states == {key: "suppressed" if key in suppressed else "active" for key in sent}


def test_secrets_are_only_file_paths_synced_by_the_external_secret(tmp_path) -> None:
    """Every `*_file` of the configuration is a key the ExternalSecret syncs, and every synced key is used."""
    config = routing.alertmanager_config(RoutingSettings(**FULL), "eu-west-1")
    text = json.dumps(config)
    integrations = [i for receiver in config["receivers"] for v in receiver.values() if isinstance(v, list) for i in v]
    files = {value for integration in integrations for key, value in integration.items() if key.endswith("_file")}
    assert files == {routing.secret_file(secret) for secret in ALL_SECRETS}
    assert all(path.startswith(f"{routing.SECRETS_DIR}/{routing.RECEIVERS_SECRET}/") for path in files)
    for forbidden in ('routing_key"', 'api_url"', 'auth_password"', '"url"'):
        assert forbidden not in text


def test_the_plan_syncs_the_receivers_secrets_and_mounts_them(plan_of) -> None:
    plan = plan_of("prod")
    (resource,) = [r for r in plan.resources if r.type == "kubernetes:external-secrets.io/v1:ExternalSecret"
                   and r.inputs["metadata"]["namespace"] == "monitoring"
                   and r.inputs["metadata"]["name"] == routing.RECEIVERS_SECRET]  # fmt: skip
    obj = manifest(resource)
    validate_object(obj, stack_config("prod").cluster.version)
    assert obj["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    assert obj["spec"]["target"]["name"] == routing.RECEIVERS_SECRET
    assert [(d["secretKey"], d["remoteRef"]["key"]) for d in obj["spec"]["data"]] == [
        ("pagerduty-routing-key", "ai-platform/prod/observability/pagerduty-routing-key"),
        ("slack-webhook-url", "ai-platform/prod/observability/slack-webhook-url"),
    ]
    addons = {r.urn for r in plan.resources if r.name.startswith("prod-addons-external-secrets")}
    assert set(resource.dependencies) & addons, "the ExternalSecret does not wait for the external-secrets add-on"


def test_alertmanager_values_mount_the_receivers_secret() -> None:
    args = _args()
    values = alertmanager_values(args, routing.RECEIVERS_SECRET)["alertmanager"]
    assert values["alertmanagerSpec"]["secrets"] == [routing.RECEIVERS_SECRET]
    receivers = [receiver["name"] for receiver in values["config"]["receivers"]]
    assert receivers == ["null", "pagerduty", "slack"]
    smtp = routing.alertmanager_config(RoutingSettings(**FULL), "us-gov-west-1", "amazonaws.com")
    (email,) = [r["email_configs"][0] for r in smtp["receivers"] if r["name"] == "email"]
    assert email["smarthost"] == "email-smtp.us-gov-west-1.amazonaws.com:587"
    assert email["to"] == "oncall@example.com, platform@example.com"


def test_without_a_secret_store_every_alert_goes_to_null(tmp_path) -> None:
    values = alertmanager_values(_args(), None)["alertmanager"]
    assert "alertmanagerSpec" not in values
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(values["config"]))
    result = _amtool("config", "routes", "test", f"--config.file={path}", "severity=critical", "alertname=X")
    assert result.stdout.strip() == "null"


def test_a_stack_without_external_secrets_cannot_run_observability() -> None:
    """Without external-secrets neither the receivers' secrets nor Grafana's admin password can reach the cluster:
    observability must be off (one line), and then nothing of it is declared."""
    raw = {key: value for key, value in read_stack_config("dev").items() if key != "ai-platform:api"}
    raw["ai-platform:addons"] = {**raw.get("ai-platform:addons", {}), "external_secrets": {"enabled": False}}
    with pytest.raises(StackConfigError) as error:
        load_stack_config("dev", raw)
    [line] = error.value.problems
    assert line.startswith("Pulumi.dev.yaml: ai-platform:observability.enabled: ")
    raw["ai-platform:observability"] = {"enabled": False}
    plan = run_program("dev", raw)
    assert not [r for r in plan.resources if r.type == "kubernetes:external-secrets.io/v1:ExternalSecret"]
    assert not [r for r in plan.resources if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"]


def test_external_secret_names_each_aws_secret_under_the_stack_prefix() -> None:
    obj = external_secret(_args(), "monitoring", "aws-secrets-manager")
    assert obj["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
    assert aws_secret_name("ai-platform/prod/", routing.SMTP_PASSWORD) == "ai-platform/prod/observability/smtp-password"


def test_email_without_an_smtp_user_is_a_one_line_config_error() -> None:
    raw = read_stack_config("dev")
    raw["ai-platform:observability"] = {"routing": {"email_to": ["oncall@example.com"]}}
    with pytest.raises(StackConfigError) as error:
        load_stack_config("dev", raw)
    assert error.value.problems == [
        "Pulumi.dev.yaml: ai-platform:observability.routing.smtp_username: empty while email_to is set; allowed: "
        "the SES SMTP user name that sends the e-mails"
    ]


def _args() -> ObservabilityArgs:
    """ObservabilityArgs of the prod stack as the platform builds them (outputs replaced by plain strings)."""
    config = stack_config("prod")
    return ObservabilityArgs(
        config=config.observability, stack="prod", cluster_name="ai-platform-prod", kubernetes_version="1.34",
        oidc_provider_arn="arn", oidc_issuer="issuer", logs_kms_key_arn="key", secrets_path_prefix="ai-platform/prod/",
        cluster_secret_store_name="aws-secrets-manager", storage_class="gp3",
        aws=AwsContext(account_id="123456789012", partition="aws", region="eu-west-1"), api=config.api,
    )  # fmt: skip
