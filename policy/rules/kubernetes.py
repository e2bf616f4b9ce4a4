"""Kubernetes rules over the manifests the platform declares: pod security, resources, probes, images,
disruption budgets, namespaces, plain-text secrets, and pinned chart versions.

Offline, the gate sees each Helm chart as one resource; in a real preview every object the chart renders is a
resource of its own (its URN's type chain contains `kubernetes:helm.sh/v4:Chart$`). The platform does not author
those manifests, it tunes them through chart values. So the rules split in two:

- Affirmative dangers stay mandatory for every object, the platform's own and chart-rendered alike: a privileged
  container, the node's namespaces, hostPath, added capabilities, an image from a registry outside the allow-list,
  a Secret with data in the manifest. A chart upgrade or a values change that introduces one must stop the deploy.
- Hardening the platform owes its own workloads (allowPrivilegeEscalation false, runAsNonRoot, drop ALL, read-only
  root filesystem, requests and limits, probes, pinned tags, PodDisruptionBudgets, a namespace) is mandatory for the
  program's objects only; `k8s-chart-hardening` runs the very same checks over chart-rendered objects at advisory
  level, so a vendor chart's gaps are visible (and fixable through values) without blocking a deploy.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .core import (
    ADVISORY,
    CHART,
    CRITICAL,
    EKS,
    HIGH,
    LOW,
    MEDIUM,
    PROGRAM,
    SEMVER_PIN,
    Param,
    Rule,
    StackIndex,
    as_strings,
    containers,
    dig,
    iter_k8s_pod_spec,
    mapping,
    resource_rule,
    stack_rule,
    truthy,
)  # fmt: skip

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token
NAMESPACED = (
    "kubernetes:core/v1:Service", "kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ConfigMap", SECRET,
    "kubernetes:networking.k8s.io/v1:Ingress", PDB, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
)  # fmt: skip
HELM_CHARTS = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v3:Release")

WORKLOADS = (DEPLOYMENT, ROLLOUT, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB, POD)
LONG_RUNNING = (DEPLOYMENT, ROLLOUT, STATEFUL_SET, DAEMON_SET)
REPLICATED = (DEPLOYMENT, ROLLOUT, STATEFUL_SET)
# Registries images may come from: the account's private ECR, and the public registries of the add-ons' vendors.
ALLOWED_REGISTRIES = [
    "*.dkr.ecr.*.amazonaws.com/*",
    "*.dkr.ecr.*.amazonaws.com.cn/*",
    "public.ecr.aws/*",
    "registry.k8s.io/*",
    "quay.io/argoproj/*",
    "quay.io/jetstack/*",
    "ghcr.io/external-secrets/*",
    # kube-prometheus-stack's images, from their projects' own organisations (not whole registries).
    "quay.io/prometheus/*",
    "quay.io/prometheus-operator/*",
    "docker.io/grafana/*",
    "quay.io/kiwigrid/*",
    "oci.external-secrets.io/external-secrets/*",
]
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}
# Lowest uid/gid a container runs as (Checkov CKV_K8S_40's threshold): below it live images' and nodes' own accounts.
MINIMUM_ID = 10000
ID_KEYS = ("runAsNonRoot", "runAsUser", "runAsGroup")
# Origins whose manifests the platform authors: its own objects (and any pulumi-eks renders). Chart-rendered objects
# are judged by these rules' checks through `k8s-chart-hardening` (advisory) instead.
OWN = (PROGRAM, EKS)


def workload_specs(
    resource_type: str, props: Mapping[str, Any]
) -> Iterable[tuple[Mapping[str, Any], list[Mapping[str, Any]]]]:
    """(pod spec, containers incl. init containers) of a workload manifest; nothing for a Rollout's workloadRef."""
    for spec in iter_k8s_pod_spec(resource_type, props):
        yield spec, containers(spec)


def _name(container: Mapping[str, Any]) -> str:
    return str(container.get("name", "?"))


@resource_rule(
    id="k8s-no-privileged",
    area="kubernetes",
    types=WORKLOADS,
    description="No container is privileged (the platform's own and chart-rendered workloads alike).",
    severity=CRITICAL,
    remediation=(
        "securityContext.privileged: false on every container; for a chart, set its values (or replace the chart)."
    ),
    controls=("CIS EKS 4.2.1", "CKV_K8S_16"),
    on_unknown="fail",
)
def k8s_no_privileged(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            if truthy(mapping(container.get("securityContext")).get("privileged")):
                yield f"container {_name(container)} is privileged"


@resource_rule(
    id="k8s-no-privilege-escalation",
    area="kubernetes",
    types=WORKLOADS,
    description=(
        "The platform's containers cannot escalate privileges (allowPrivilegeEscalation: false); chart-rendered "
        "ones are judged by k8s-chart-hardening."
    ),
    severity=HIGH,
    remediation="securityContext.allowPrivilegeEscalation: false on every container (init containers included).",
    controls=("CIS EKS 4.2.5", "CKV_K8S_20"),
    on_unknown="fail",
    origins=OWN,
)
def k8s_no_privilege_escalation(
    resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterable[str]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            if mapping(container.get("securityContext")).get("allowPrivilegeEscalation") is not False:
                yield f"container {_name(container)} does not set allowPrivilegeEscalation: false"


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2147483647}


@resource_rule(
    id="k8s-run-as-non-root",
    area="kubernetes",
    types=WORKLOADS,
    description=(
        "Containers run as non-root, outside the IDs images and nodes use: runAsNonRoot: true and runAsUser / "
        "runAsGroup >= 10000 (settings minimumUid / minimumGid), the container's securityContext value, else the pod's."
    ),
    severity=HIGH,
    remediation=(
        "Pod securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001} (or per container); build "
        "images with a numeric USER >= 10000. Lower IDs are images' and nodes' own accounts: a container escaping as "
        "one acts as that user on the node."
    ),
    controls=("CIS EKS 4.2.6", "CKV_K8S_23", "CKV_K8S_40"),
    on_unknown="fail",
    params={
        "minimumUid": Param(MINIMUM_ID, _ID_SCHEMA, "Lowest runAsUser a container may run as."),
        "minimumGid": Param(MINIMUM_ID, _ID_SCHEMA, "Lowest runAsGroup a container may run as."),
    },
    origins=OWN,
)
def k8s_run_as_non_root(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    for spec, found in workload_specs(resource_type, props):
        pod = mapping(spec.get("securityContext"))
        for container in found:
            context, name = mapping(container.get("securityContext")), _name(container)
            # the kubelet applies the container's value if set, else the pod's
            effective = {k: pod.get(k) if context.get(k) is None else context[k] for k in ID_KEYS}
            if not truthy(effective["runAsNonRoot"]):
                yield f"container {name} does not set runAsNonRoot: true"
            for key, what, setting in (("runAsUser", "uid", "minimumUid"), ("runAsGroup", "gid", "minimumGid")):
                minimum = int(config[setting])
                value = effective[key]
                if value is None:
                    yield f"container {name} sets no {key} (the image's {what} applies); at least {minimum}"
                elif int(value) < minimum:
                    yield f"container {name} runs as {what} {value}; at least {minimum}"


@resource_rule(
    id="k8s-drop-all-capabilities",
    area="kubernetes",
    types=WORKLOADS,
    description="The platform's containers drop ALL Linux capabilities (chart-rendered: k8s-chart-hardening).",
    severity=MEDIUM,
    remediation="securityContext.capabilities: {drop: ['ALL']} on every container.",
    controls=("CIS EKS 4.2.7", "CIS EKS 4.2.9", "CKV_K8S_28", "CKV_K8S_37"),
    on_unknown="fail",
    origins=OWN,
)
def k8s_drop_all(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            capabilities = mapping(dig(container, "securityContext", "capabilities"))
            if "ALL" not in as_strings(capabilities.get("drop")):
                yield f"container {_name(container)} does not drop ALL capabilities"


@resource_rule(
    id="k8s-no-added-capabilities",
    area="kubernetes",
    types=WORKLOADS,
    description=(
        "No container adds Linux capabilities beyond NET_BIND_SERVICE (the platform's own and chart-rendered alike)."
    ),
    severity=HIGH,
    remediation="Remove securityContext.capabilities.add entries other than NET_BIND_SERVICE (chart: via values).",
    controls=("CIS EKS 4.2.8", "CKV_K8S_25", "CKV_K8S_39"),
    on_unknown="fail",
)
def k8s_no_added_capabilities(
    resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterable[str]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            added = as_strings(dig(container, "securityContext", "capabilities", "add"))
            extra = sorted(set(added) - ALLOWED_ADDED_CAPABILITIES)
            if extra:
                yield f"container {_name(container)} adds capabilities {extra}"


@resource_rule(
    id="k8s-read-only-root-fs",
    area="kubernetes",
    types=WORKLOADS,
    description="Container root filesystems are read-only (writable paths are explicit emptyDir volumes).",
    severity=MEDIUM,
    remediation="securityContext.readOnlyRootFilesystem: true; mount an emptyDir at /tmp if the process writes there.",
    controls=("CKV_K8S_22",),
    on_unknown="fail",
    origins=OWN,
)
def k8s_read_only_root_fs(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            if not truthy(dig(container, "securityContext", "readOnlyRootFilesystem")):
                yield f"container {_name(container)} has a writable root filesystem"


@resource_rule(
    id="k8s-resources",
    area="kubernetes",
    types=WORKLOADS,
    description="Containers request CPU and memory and limit memory (schedulable, and an OOM stays in its pod).",
    severity=MEDIUM,
    remediation="resources: {requests: {cpu, memory}, limits: {memory}} on every container (CPU limits optional).",
    controls=("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"),
    on_unknown="fail",
    origins=OWN,
)
def k8s_resources(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            resources = mapping(container.get("resources"))
            missing = [f"requests.{k}" for k in ("cpu", "memory") if not dig(resources, "requests", k)]
            missing += ["limits.memory"] if not dig(resources, "limits", "memory") else []
            if missing:
                yield f"container {_name(container)} has no {', '.join(missing)}"


@resource_rule(
    id="k8s-probes",
    area="kubernetes",
    types=LONG_RUNNING,
    description="Long-running containers have readiness and liveness probes.",
    severity=MEDIUM,
    remediation="Add readinessProbe (gates traffic) and livenessProbe (restarts a hung process) to every container.",
    controls=("CKV_K8S_8", "CKV_K8S_9"),
    on_unknown="fail",
    origins=OWN,
)
def k8s_probes(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for spec in iter_k8s_pod_spec(resource_type, props):
        for container in containers(spec, init=False):
            for probe in ("readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    yield f"container {_name(container)} has no {probe}"


def _images(resource_type: str, props: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for _spec, found in workload_specs(resource_type, props):
        for container in found:
            yield _name(container), str(container.get("image", ""))


@resource_rule(
    id="k8s-image-pinned",
    area="kubernetes",
    types=WORKLOADS,
    description="Images are pinned to a version tag or digest, never latest or untagged.",
    severity=MEDIUM,
    remediation="Use <registry>/<repo>:<version> or @sha256:<digest> (ECR repositories are tag-immutable).",
    controls=("CKV_K8S_14", "CKV_K8S_43"),
    on_unknown="fail",
    origins=OWN,
)
def k8s_image_pinned(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for name, image in _images(resource_type, props):
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if not tag or tag == "latest":
            yield f"container {name} image {image!r} is {'latest' if tag else 'untagged'}"


@resource_rule(
    id="k8s-allowed-registry",
    area="kubernetes",
    types=WORKLOADS,
    description="Images come from an allowed registry (the account's ECR, or the add-on vendors' registries).",
    severity=HIGH,
    remediation=(
        "Push the image to the platform's ECR (or mirror it there); pack config allowedRegistries lists the patterns."
    ),
    controls=("CIS EKS 5.1.4",),
    on_unknown="fail",
    params={
        "allowedRegistries": Param(
            ALLOWED_REGISTRIES,
            {"type": "array", "items": {"type": "string"}},
            "fnmatch patterns an image reference must match.",
        ),
    },
)
def k8s_allowed_registry(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    for name, image in _images(resource_type, props):
        if not any(fnmatch.fnmatchcase(image, pattern) for pattern in config["allowedRegistries"]):
            yield f"container {name} image {image!r} is not from an allowed registry"


@stack_rule(
    id="k8s-pdb-for-replicated",
    area="kubernetes",
    types=REPLICATED,
    description=(
        "A workload running more than one replica (its own replicas, or its HorizontalPodAutoscaler's minReplicas) "
        "has a PodDisruptionBudget selecting its pods in the same namespace."
    ),
    severity=MEDIUM,
    remediation=(
        "Declare a policy/v1 PodDisruptionBudget with maxUnavailable: 1 (or minAvailable) whose selector matches the "
        "pod labels."
    ),
    controls=(),
    on_unknown="pass",
    origins=OWN,
)
def k8s_pdb_for_replicated(
    workload: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert workload is not None
    kind = workload.resource_type.rsplit(":", 1)[-1]
    name = dig(workload.props, "metadata", "name", default=workload.name)
    namespace = dig(workload.props, "metadata", "namespace", default="default")
    replicas = int(dig(workload.props, "spec", "replicas", default=1))
    for hpa in index.by_type(HPA):
        target = mapping(dig(hpa.props, "spec", "scaleTargetRef"))
        same_ns = dig(hpa.props, "metadata", "namespace", default="default") == namespace
        if same_ns and target.get("kind") == kind and target.get("name") == name:
            replicas = max(replicas, int(dig(hpa.props, "spec", "minReplicas", default=1)))
    if replicas < 2:
        return
    labels = mapping(dig(workload.props, "spec", "template", "metadata", "labels")) or mapping(
        dig(workload.props, "spec", "selector", "matchLabels")
    )
    for pdb in index.by_type(PDB):
        selector = mapping(dig(pdb.props, "spec", "selector", "matchLabels"))
        same_ns = dig(pdb.props, "metadata", "namespace", default="default") == namespace
        if same_ns and selector and all(labels.get(k) == v for k, v in selector.items()):
            return
    yield f"{kind} {workload.name} runs {replicas} replicas with no PodDisruptionBudget"


@resource_rule(
    id="k8s-not-default-namespace",
    area="kubernetes",
    types=(*WORKLOADS, *NAMESPACED),
    description="Objects live in a dedicated namespace, never `default`.",
    severity=LOW,
    remediation="Set metadata.namespace to the workload's namespace (declared by the platform).",
    controls=("CIS EKS 4.6.2", "CKV_K8S_21"),
    on_unknown="pass",
    origins=OWN,
)
def k8s_not_default_namespace(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    namespace = dig(props, "metadata", "namespace")
    if namespace in (None, "", "default"):
        yield f"metadata.namespace is {namespace or 'unset'}: the object lands in `default`"


@resource_rule(
    id="k8s-no-plain-secret",
    area="kubernetes",
    types=(SECRET,),
    description="No Kubernetes Secret carries data in the program: secrets come from AWS via external-secrets.",
    severity=HIGH,
    remediation="Store the value in Secrets Manager and declare an ExternalSecret that syncs it into the namespace.",
    controls=("CIS EKS 4.4.2", "CKV_SECRET_6"),
    on_unknown="fail",
)
def k8s_no_plain_secret(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if props.get("type") in ("kubernetes.io/tls", "kubernetes.io/service-account-token"):
        return
    for key in ("data", "stringData"):
        if mapping(props.get(key)):
            yield f"Secret {dig(props, 'metadata', 'name', default='?')} has {key} in the manifest (and in state)"


@resource_rule(
    id="helm-chart-version-pinned",
    area="kubernetes",
    types=HELM_CHARTS,
    description="Helm charts are pinned to an exact version (or an OCI digest), never latest or a range.",
    severity=MEDIUM,
    remediation="Set version='<x.y.z>' on the Chart; upgrade it deliberately in a reviewed change.",
    controls=(),
    on_unknown="fail",
)
def helm_chart_version_pinned(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    chart = str(props.get("chart", ""))
    if "@sha256:" in chart:
        return
    version = props.get("version")
    if not version:
        yield f"chart {chart} has no version: every deploy may pull a different chart"
    elif not SEMVER_PIN.match(str(version)):
        yield f"chart {chart} version {version!r} is a range, not an exact version"


# Rules whose checks judge only the platform's own manifests; `k8s-chart-hardening` runs them over chart output.
CHART_ADVISORY_RULES: tuple[Rule, ...] = (
    k8s_no_privilege_escalation, k8s_run_as_non_root, k8s_drop_all, k8s_read_only_root_fs, k8s_resources,
    k8s_probes, k8s_image_pinned, k8s_pdb_for_replicated, k8s_not_default_namespace,
)  # fmt: skip


def _delegated(rule: Rule, subject: PolicyResource, index: StackIndex, config: Mapping[str, Any]) -> Iterable[str]:
    """One own-manifest rule's messages for a chart-rendered object; its unknowns count as that rule declares."""
    try:
        if rule.kind == "resource":
            found = list(rule.check(subject.resource_type, subject.props, rule.settings(config)))
        else:
            found = list(rule.check(subject, index, rule.settings(config)))
    except UnknownValueError as unknown:
        found = [f"cannot be verified: {unknown.message}"] if rule.on_unknown == "fail" else []
    except (TypeError, ValueError, AttributeError) as error:
        found = [f"malformed input, cannot be evaluated: {error}"]
    return [f"[{rule.id}] {message}" for message in found]


@stack_rule(
    id="k8s-chart-hardening",
    area="kubernetes",
    types=(*WORKLOADS, *NAMESPACED),
    description=(
        "Objects a Helm chart renders (visible in a real preview, not offline) meet the hardening the platform's "
        "own manifests must: "
        + ", ".join(r.id for r in CHART_ADVISORY_RULES)
        + ". Advisory: the platform tunes vendor manifests through chart values, it does not author them."
    ),
    severity=MEDIUM,
    enforcement=ADVISORY,
    remediation=(
        "Set the chart's values (securityContext, containerSecurityContext, resources, probes, podDisruptionBudget, "
        "namespace) so the rendered object complies; the message names the rule whose check failed."
    ),
    controls=("CIS EKS 4.2", "CKV_K8S_8", "CKV_K8S_10", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_37", "CKV_K8S_40"),
    on_unknown="fail",
    origins=(CHART,),
)
def k8s_chart_hardening(subject: PolicyResource | None, index: StackIndex, config: Mapping[str, Any]) -> Iterable[str]:
    assert subject is not None
    for rule in CHART_ADVISORY_RULES:
        if subject.resource_type in rule.types:
            yield from _delegated(rule, subject, index, config)
