"""What the ai-api pods are and how a new version reaches them: pure builders, no resources.

`rolling` is a Deployment's rolling update; `blue-green` and `canary` are Argo Rollouts strategies, checked by
Prometheus analysis (success rate and p99 latency of the new revision's pods). `release_shape` says which objects a
strategy needs (Services, AnalysisTemplates, the workload kind and how the Ingress reaches the pods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.ai_api.names import (
    APP,
    CONTAINER_PORT,
    HEALTH_PATH,
    LABELS,
    METRICS_PORT,
    SELECTOR,
    SERVICE_PORT,
)
from config import ApiConfig

ROLLOUTS_API = "argoproj.io/v1alpha1"
# The label each controller puts on a revision's pods: topology spread is computed per revision with it, so a
# new version is spread over zones on its own instead of piling up where the old one left room.
REVISION_LABEL = {
    "rolling": "pod-template-hash",
    "blue-green": "rollouts-pod-template-hash",
    "canary": "rollouts-pod-template-hash",
}
# How long a new revision's pods may take to progress before the controller aborts the release (Argo Rollouts with
# `progressDeadlineAbort`; a Deployment reports ProgressDeadlineExceeded).
PROGRESS_DEADLINE_SECONDS = 600
# With blue-green and manual promotion, how long `pulumi up` waits for a person to promote the preview.
MANUAL_PROMOTION_WINDOW_SECONDS = 3600
# pulumi-kubernetes' await annotations (experimental, documented in its CHANGELOG since v4.18 and honoured on creates
# and updates): the Rollout is ready when the JSONPath matches; past the timeout, `pulumi up` fails.
WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
ROLLOUT_HEALTHY = "jsonpath={.status.phase}=Healthy"
# The analysis argument naming the revision under test: the hash of the newest pod template.
_LATEST_REVISION_ARG = {"name": "revision-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}


def _probe(initial_delay: int, period: int, failure_threshold: int = 3) -> dict[str, Any]:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failure_threshold,
        "successThreshold": 1,
    }


def _container(config: ApiConfig, image: pulumi.Input[str], config_map_name: str) -> dict[str, Any]:
    """The ai-api container: settings (database connection included) from the ConfigMap, restricted, probed.

    No Secret is referenced: the database password of each connection is an IAM token the app signs itself.
    """
    uid = config.run_as_user
    resources = config.resources
    return {
        "name": APP,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "envFrom": [{"configMapRef": {"name": config_map_name}}],
        "resources": {
            "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
            "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
        },
        # Up to 5 minutes to start (model loading) before liveness may restart the container.
        "startupProbe": _probe(initial_delay=10, period=10, failure_threshold=30),
        "readinessProbe": _probe(initial_delay=30, period=10),
        "livenessProbe": _probe(initial_delay=60, period=30),
        # The ALB keeps routing for a few seconds after the pod starts terminating: keep serving meanwhile.
        "lifecycle": {"preStop": {"sleep": {"seconds": config.pre_stop_sleep_seconds}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir, not the host's /tmp
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def pod_template(
    config: ApiConfig, image: pulumi.Input[str], config_map_name: str, config_hash: pulumi.Input[str]
) -> dict[str, Any]:
    """The pod template shared by the Deployment and the Rollout."""
    uid = config.run_as_user
    revision_label = REVISION_LABEL[config.strategy]
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": SELECTOR},
            "matchLabelKeys": [revision_label],
        }
        for key, when in (
            ("topology.kubernetes.io/zone", config.zone_spread),
            ("kubernetes.io/hostname", "ScheduleAnyway"),
        )
    ]
    return {
        "metadata": {"labels": LABELS, "annotations": {"ai-platform/config-hash": config_hash}},
        "spec": {
            "serviceAccountName": APP,
            # IRSA's web-identity token is projected by the EKS pod identity webhook; the API token is not needed.
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": config.termination_grace_period_seconds,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": uid,
                "fsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "topologySpreadConstraints": spread,
            "containers": [_container(config, image, config_map_name)],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        },
    }


def canary_steps(config: ApiConfig) -> list[dict[str, Any]]:
    """5% -> 25% -> 50% with a timed pause after each (analysis runs throughout), then 100%."""
    steps: list[dict[str, Any]] = []
    for weight, minutes in zip((5, 25, 50), config.canary.pause_minutes, strict=True):
        steps += [{"setWeight": weight}, {"pause": {"duration": f"{minutes}m"}}]
    return [*steps, {"setWeight": 100}]


def release_timeout_seconds(config: ApiConfig) -> int:
    """How long a good release of `config.strategy` may take from the new spec to Healthy, in seconds.

    canary: every pause, the time the analysis needs for its verdict after the last one (failure_limit + 1
    measurements), and one progress deadline for the pods. blue-green: the pre-promotion measurements, one progress
    deadline and, without auto-promotion, the window for a person to promote. A release that aborts never becomes
    Healthy, so `pulumi up` fails when this runs out.
    """
    analysis = config.analysis
    if config.strategy == "canary":
        verdict = analysis.interval_seconds * (analysis.failure_limit + 1)
        return sum(config.canary.pause_minutes) * 60 + verdict + PROGRESS_DEADLINE_SECONDS
    promotion = 0 if config.blue_green.auto_promotion else MANUAL_PROMOTION_WINDOW_SECONDS
    measurements = analysis.prepromotion_measurements * analysis.interval_seconds
    return measurements + PROGRESS_DEADLINE_SECONDS + promotion


def release_wait_annotations(config: ApiConfig) -> dict[str, str]:
    """The Rollout's annotations that make `pulumi up` wait for the release to finish: Healthy, or a failed update.

    Without them pulumi-kubernetes returns once the Rollout's spec is accepted, and a canary that aborts later would
    leave a green pipeline behind it.
    """
    return {WAIT_FOR_ANNOTATION: ROLLOUT_HEALTHY, TIMEOUT_ANNOTATION: str(release_timeout_seconds(config))}


def analysis_template_spec(
    config: ApiConfig, namespace: str, count: int | None, prometheus_address: str
) -> dict[str, Any]:
    """Success rate and p99 latency of one revision's pods (by `rollouts-pod-template-hash`, which the ServiceMonitor
    copies onto every series as `rollouts_pod_template_hash`), from the Prometheus at `prometheus_address`.

    With `count` the analysis ends after that many measurements (blue-green pre-promotion); without, it runs until
    the rollout completes (canary background analysis). A revision that served no request yet has no evidence
    against it: an empty or NaN result passes, so a quiet 5% step does not abort a good release.
    """
    analysis = config.analysis
    selector = f'namespace="{namespace}",rollouts_pod_template_hash="{{{{args.revision-hash}}}}"'
    window = f"{max(2 * analysis.interval_seconds, 60)}s"
    requests = f"{analysis.request_metric}{{{selector}}}"
    success_query = (
        f'sum(rate({analysis.request_metric}{{{selector},code!~"5.."}}[{window}])) / sum(rate({requests}[{window}]))'
    )
    latency_query = (
        f"histogram_quantile(0.99, sum by (le) (rate({analysis.latency_metric}_bucket{{{selector}}}[{window}])))"
    )

    def metric(name: str, query: str, condition: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "interval": f"{analysis.interval_seconds}s",
            "failureLimit": analysis.failure_limit,
            "successCondition": f"len(result) == 0 || isNaN(result[0]) || {condition}",
            "provider": {"prometheus": {"address": prometheus_address, "query": query, "timeout": 30}},
        }
        if count is not None:
            body["count"] = count
        return body

    return {
        "args": [{"name": "revision-hash"}],
        "metrics": [
            metric("success-rate", success_query, f"result[0] >= {analysis.success_rate_min}"),
            metric("latency-p99", latency_query, f"result[0] <= {analysis.p99_latency_max_seconds}"),
        ],
    }


@dataclass(frozen=True)
class ReleaseShape:
    """The objects a release strategy needs around the pod template.

    services: Service role -> name. `main` (`ai-api`: all pods; the active one in blue-green, the ALB's root in
        canary) keeps its resource name whatever the strategy, so switching strategy never replaces it.
    ingress_port: the port name the Ingress backend uses: `http`, or `use-annotation` when the Rollouts
        controller writes the canary weights into `alb.ingress.kubernetes.io/actions.<rootService>`.
    analysis_templates: AnalysisTemplate name -> its number of measurements (None: until the rollout completes).
    rollout_strategy: the Rollout's `spec.strategy`; None for `rolling`, a Deployment.
    """

    services: dict[str, str]
    ingress_port: str
    analysis_templates: dict[str, int | None]
    rollout_strategy: dict[str, Any] | None

    @property
    def workload_ref(self) -> dict[str, str]:
        """The workload as the HPA's `scaleTargetRef` names it."""
        if self.rollout_strategy is None:
            return {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP}
        return {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": APP}


def release_shape(config: ApiConfig) -> ReleaseShape:
    """The Services, AnalysisTemplates and Rollout strategy of `config.strategy` (a Deployment for `rolling`)."""
    if config.strategy == "rolling":
        return ReleaseShape(services={"main": APP}, ingress_port="http", analysis_templates={}, rollout_strategy=None)
    if config.strategy == "canary":
        services = {"main": APP, "stable": f"{APP}-stable", "canary": f"{APP}-canary"}
        canary = {
            "stableService": services["stable"],
            "canaryService": services["canary"],
            "trafficRouting": {"alb": {"ingress": APP, "rootService": APP, "servicePort": SERVICE_PORT}},
            "analysis": {
                "templates": [{"templateName": f"{APP}-canary"}],
                "startingStep": 1,  # from the first 5% of traffic on
                "args": [_LATEST_REVISION_ARG],
            },
            "steps": canary_steps(config),
            "maxSurge": "25%",
            "maxUnavailable": 0,
            "abortScaleDownDelaySeconds": 30,
        }
        return ReleaseShape(
            services=services,
            ingress_port="use-annotation",
            analysis_templates={f"{APP}-canary": None},
            rollout_strategy={"canary": canary},
        )
    # blue-green: the main service is the active one, so in-cluster callers never reach an unpromoted version.
    services = {"main": APP, "preview": f"{APP}-preview"}
    blue_green: dict[str, Any] = {
        "activeService": APP,
        "previewService": services["preview"],
        "autoPromotionEnabled": config.blue_green.auto_promotion,
        "scaleDownDelaySeconds": config.blue_green.scale_down_delay_seconds,
        "abortScaleDownDelaySeconds": 30,
        "prePromotionAnalysis": {
            "templates": [{"templateName": f"{APP}-prepromotion"}],
            "args": [_LATEST_REVISION_ARG],
        },
    }
    if config.blue_green.preview_replicas is not None:
        blue_green["previewReplicaCount"] = config.blue_green.preview_replicas
    return ReleaseShape(
        services=services,
        ingress_port="http",
        analysis_templates={f"{APP}-prepromotion": config.analysis.prepromotion_measurements},
        rollout_strategy={"blueGreen": blue_green},
    )
