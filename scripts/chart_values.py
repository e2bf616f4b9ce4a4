"""Regenerate the value key paths of every pinned Helm chart (`tests/schemas/charts/<chart>-<version>.json`).

The offline engine accepts any Helm values, so a misspelt or removed key would silently do nothing on a real
install. For each chart in `CHARTS` (exact version, upstream repository, the commit whose `Chart.yaml` has that
version) this script reads the chart's `values.yaml` (checked against its recorded git blob), its `Chart.yaml`
(whose `version` must be the pinned one) and its `values.schema.json` when the chart ships one, and writes the
derived facts tests/test_chart_values.py checks the program's values with:

- `paths`: every dotted key path the chart defines (values.yaml, plus the schema's `properties`);
- `open`: paths whose value is free-form for the chart, so any key below them is the user's: an empty map or a
  list in values.yaml, a schema object without `properties` or an array, a Kubernetes-typed or label/annotation
  field (`FREE_FORM_KEYS`), and subchart values (`dependencies` in Chart.yaml);
- `schema`: the chart's values.schema.json without documentation keys (Helm validates values against it).

Output is deterministic (sorted keys and paths, fixed indentation).

    python scripts/chart_values.py                       # download the pinned files from GitHub
    python scripts/chart_values.py --from DIR            # DIR/<chart>/ as `helm pull --untar -d DIR` leaves it
    python scripts/chart_values.py --chart NAME --from DIR/NAME/values.yaml   # one chart from a local copy
    python scripts/chart_values.py --check [--from ...]  # exit 1 if the shipped files are not what it generates

To move a chart to a new version: bump it in config/addons.py (config/observability.py for kube-prometheus-stack),
update its entry in `CHARTS` (version, commit whose Chart.yaml has that version, blob of its values.yaml) and rerun.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:
    from scripts.crd_schemas import dump, git_blob_id, publish, reduce_schema
except ModuleNotFoundError:  # run as `python scripts/chart_values.py`
    from crd_schemas import dump, git_blob_id, publish, reduce_schema  # type: ignore[no-redef]

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "schemas" / "charts"
VALUES, CHART_FILE, SCHEMA = "values.yaml", "Chart.yaml", "values.schema.json"
# Fields every chart renders wholesale (`toYaml`) into a Kubernetes object: their keys are Kubernetes' or the user's
# (labels, annotations, selectors, container settings), not the chart's, whatever example the chart's default shows.
FREE_FORM_KEYS = frozenset({
    "additionalAnnotations", "additionalLabels", "affinity", "annotations", "commonLabels", "containerSecurityContext",
    "deploymentAnnotations", "deploymentLabels", "dnsConfig", "env", "envFrom", "extraArgs", "extraEnv", "labels",
    "lifecycle", "livenessProbe", "nodeSelector", "podAnnotations", "podLabels", "podSecurityContext",
    "readinessProbe", "resources", "securityContext", "startupProbe", "strategy", "tolerations",
    "topologySpreadConstraints", "updateStrategy",
})  # fmt: skip


@dataclass(frozen=True)
class ChartValuesSource:
    """One chart version and the upstream commit its values are read from."""

    chart: str  # the chart's name (Chart.yaml `name`, the output file's prefix)
    version: str  # the pinned chart version (config/addons.py)
    install: str  # what the program installs: `<helm repository URL> <chart>` or the OCI reference
    repository: str  # owner/name on GitHub
    ref: str  # the release tag of the chart
    commit: str  # the commit whose Chart.yaml has `version`
    path: str  # the chart's directory in the repository
    values_blob: str  # prefix of the git blob id of values.yaml, checked on every read
    schema_blob: str | None = None  # the same for values.schema.json, when the chart ships one
    note: str = ""
    # The `version` the repository's Chart.yaml holds when a release tool stamps the real one only when packaging.
    source_chart_version: str | None = None

    def url(self, name: str) -> str:
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{self.path}/{name}"

    @property
    def file_name(self) -> str:
        return f"{self.chart}-{self.version}.json"


CHARTS: tuple[ChartValuesSource, ...] = (
    ChartValuesSource(
        "aws-load-balancer-controller", "1.13.0", "https://aws.github.io/eks-charts aws-load-balancer-controller",
        "aws/eks-charts", "v0.0.196", "1c41b77e40cc29a164625e2bf61ca2a85051bbb6",
        "stable/aws-load-balancer-controller", "8585416aa33b",
    ),
    ChartValuesSource(
        "karpenter", "1.8.1", "oci://public.ecr.aws/karpenter/karpenter",
        "aws/karpenter-provider-aws", "v1.8.1", "00cc250f446b6b93c41ccf36bd077740d10feff0", "charts/karpenter",
        "94082e3ec75f",
        note="tag v1.8.1 still says 1.8.0; its release commit (this one, the tag's child) sets the chart version and "
        "controller image and changes nothing else in the chart",
    ),
    ChartValuesSource(
        "metrics-server", "3.12.2", "https://kubernetes-sigs.github.io/metrics-server metrics-server",
        "kubernetes-sigs/metrics-server", "metrics-server-helm-chart-3.12.2",
        "65945d221ff1e269f11bf66f01846fe6133640b4", "charts/metrics-server", "be843db413d3",
    ),
    ChartValuesSource(
        "vertical-pod-autoscaler", "0.8.1", "https://kubernetes.github.io/autoscaler vertical-pod-autoscaler",
        "kubernetes/autoscaler", "vertical-pod-autoscaler-chart-0.8.1", "b27030bd50841da7a110ce27f75f8ed1be150590",
        "vertical-pod-autoscaler/charts/vertical-pod-autoscaler", "7f182426d53e",
    ),
    ChartValuesSource(
        "external-secrets", "1.3.2", "https://charts.external-secrets.io external-secrets",
        "external-secrets/external-secrets", "helm-chart-1.3.2", "a8fd8f6cc19b70bc5c828d5bf4c2ec8488360040",
        "deploy/charts/external-secrets", "b937b074511a", schema_blob="3ade4b3f3480",
    ),
    ChartValuesSource(
        "argo-rollouts", "2.40.1", "https://argoproj.github.io/argo-helm argo-rollouts",
        "argoproj/argo-helm", "argo-rollouts-2.40.1", "5636e15e1c79be7532a483cefab45e0369f3d46a",
        "charts/argo-rollouts", "0cfafb31621e",
    ),
    ChartValuesSource(
        "kube-prometheus-stack", "88.5.3",
        "https://prometheus-community.github.io/helm-charts kube-prometheus-stack",
        "prometheus-community/helm-charts", "kube-prometheus-stack-88.5.3", "ea930baeebeba39f56d6b44e351f23b2a072a600",
        "charts/kube-prometheus-stack", "958534f2d676",
        note="subcharts (grafana, kube-state-metrics, prometheus-node-exporter) are open: their keys are their own",
    ),
    ChartValuesSource(
        "aws-for-fluent-bit", "0.2.0", "https://aws.github.io/eks-charts aws-for-fluent-bit",
        "aws/eks-charts", "v0.0.224", "2942cdce0d98bd257822c64520779a05c25df2c2", "stable/aws-for-fluent-bit",
        "d06bbd6cd284",
    ),
    ChartValuesSource(
        "opentelemetry-collector", "0.170.0",
        "https://open-telemetry.github.io/opentelemetry-helm-charts opentelemetry-collector",
        "open-telemetry/opentelemetry-helm-charts", "opentelemetry-collector-0.170.0",
        "f5178cb97987004b474867a99e081be59b7f9bab", "charts/opentelemetry-collector", "e5ba0491ebb2",
        note="values.schema.json (blob 481db07d2b60) not shipped: it makes top-level and nested keys `required` "
        "(apiVersion, mode, serviceAccount.create, ingress.enabled...), which only Helm's merged values meet, "
        "while the check validates the program's own values",
    ),
    ChartValuesSource(
        "cert-manager", "v1.21.1", "https://charts.jetstack.io cert-manager",
        "cert-manager/cert-manager", "v1.21.1", "24e33194fb39488eff2bbf10c6dc640f407cad44",
        "deploy/charts/cert-manager", "903bbdfd19d7", schema_blob="fdc145ec3240", source_chart_version="v0.0.0",
        note="the repository's Chart.yaml says v0.0.0: cert-manager's release tool stamps the tag's version "
        "(v1.21.1, with its v, as charts.jetstack.io lists it) into the packaged chart; its values.schema.json "
        "refers to `$defs`, inlined here",
    ),
)  # fmt: skip

Reader = Callable[[ChartValuesSource, str], bytes]


def install_reference(chart: str, repo: str | None) -> str:
    """How a Helm chart input names what it installs, as `ChartValuesSource.install` records it."""
    return f"{repo.rstrip('/')} {chart}" if repo else chart


def join(parent: str, key: Any) -> str:
    """The dotted path of `key` under `parent` (a key that itself holds a dot is written `["a.b"]`)."""
    segment = f'["{key}"]' if "." in str(key) else str(key)
    return f"{parent}.{segment}" if parent else segment


def values_paths(values: Mapping[str, Any], parent: str = "") -> tuple[set[str], set[str]]:
    """(paths, open paths) of a values.yaml document: maps are walked; an empty map, a list or a `FREE_FORM_KEYS`
    field is open (a null is a single value unless its name is free-form)."""
    paths: set[str] = set()
    open_: set[str] = set()
    for key, value in values.items():
        path = join(parent, key)
        paths.add(path)
        if str(key) in FREE_FORM_KEYS or isinstance(value, list) or value == {}:
            open_.add(path)
        elif isinstance(value, dict):
            sub_paths, sub_open = values_paths(value, path)
            paths |= sub_paths
            open_ |= sub_open
    return paths, open_


def schema_paths(schema: Mapping[str, Any], parent: str = "") -> tuple[set[str], set[str]]:
    """(paths, open paths) of a values JSON schema: `properties` are walked; an object without `properties` (or
    with `additionalProperties` allowed explicitly), an array or an untyped node is open."""
    paths: set[str] = set()
    open_: set[str] = set()
    for key, node in schema.get("properties", {}).items():
        path = join(parent, key)
        paths.add(path)
        types = node.get("type", ["object"])
        types = [types] if isinstance(types, str) else types
        walked = "properties" in node and key not in FREE_FORM_KEYS
        extensible = node.get("additionalProperties") not in (None, False)
        if key in FREE_FORM_KEYS or extensible or (not walked and ("object" in types or "array" in types)):
            open_.add(path)
        if walked:
            sub_paths, sub_open = schema_paths(node, path)
            paths |= sub_paths
            open_ |= sub_open
    return paths, open_


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every local `{"$ref": "#/$defs/<name>"}` replaced by the definition it names (recursively) and
    `$defs` dropped, so that its `properties` can be walked. A schema without references comes back unchanged."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                raise ValueError(f"recursive schema reference {ref}")
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return resolve({**definitions[name], **rest}, (*seen, name))
        return {key: resolve(value, seen) for key, value in node.items() if key != "$defs"}

    return resolve(schema, ())


def derive(source: ChartValuesSource, read: Reader) -> dict[str, Any]:
    """The shipped record of one chart: where it came from, its paths, open paths and reduced schema."""
    values_text = read(source, VALUES)
    blobs = {VALUES: (values_text, source.values_blob)}
    chart = yaml.safe_load(read(source, CHART_FILE)) or {}
    expected_version = source.source_chart_version or source.version
    if str(chart.get("version")) != expected_version or chart.get("name") != source.chart:
        raise ValueError(f"{source.url(CHART_FILE)}: chart {chart.get('name')} {chart.get('version')}, "
                         f"expected {source.chart} {expected_version} (wrong commit in CHARTS?)")  # fmt: skip
    schema = None
    if source.schema_blob:
        schema_text = read(source, SCHEMA)
        blobs[SCHEMA] = (schema_text, source.schema_blob)
        schema = reduce_schema(inline_refs(json.loads(schema_text)))
    for name, (content, expected) in blobs.items():
        actual = git_blob_id(content)
        if not actual.startswith(expected):
            raise ValueError(f"{source.chart} {name}: git blob {actual[:12]}, expected {expected} ({source.url(name)})")
    paths, open_ = values_paths(yaml.safe_load(values_text) or {})
    if schema is not None:
        more_paths, more_open = schema_paths(schema)
        paths |= more_paths
        open_ |= more_open
    dependencies = sorted(dep.get("alias") or dep["name"] for dep in chart.get("dependencies") or [])
    paths |= set(dependencies)
    open_ |= set(dependencies)  # a subchart's own values: not this chart's to define
    record: dict[str, Any] = {
        "chart": source.chart,
        "version": source.version,
        "install": source.install,
        "source": {"repository": source.repository, "ref": source.ref, "commit": source.commit,
                   "path": f"{source.path}/{VALUES}", "url": source.url(VALUES)},
        "dependencies": dependencies,
        "paths": sorted(paths),
        "open": sorted(open_),
    }  # fmt: skip
    if source.note:
        record["source"]["note"] = source.note
    if schema is not None:
        record["schema"] = schema
        record["schema_source"] = {"path": f"{source.path}/{SCHEMA}", "url": source.url(SCHEMA)}
    return record


def generate(sources: Iterable[ChartValuesSource], read: Reader) -> dict[str, str]:
    """File name -> content of every chart's record, in memory."""
    return {source.file_name: dump(derive(source, read)) for source in sources}


def download(source: ChartValuesSource, name: str) -> bytes:
    url = source.url(name)
    if not url.startswith("https://"):
        raise ValueError(f"refusing to fetch a non-https URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https only, checked above)
            return response.read()
    except urllib.error.URLError as error:
        raise OSError(f"cannot download {url}: {error.reason} (offline? use --from DIR)") from error


def local_reader(path: Path, single: bool) -> Reader:
    """Read local copies: `path/<chart>/<file>` for every chart, or, for one chart, the chart directory `path`
    (or its values.yaml)."""
    if single and path.is_file():
        path = path.parent
    return lambda source, name: ((path if single else path / source.chart) / name).read_bytes()


# --- checking a program's values against a shipped record -------------------------------------------------------


@dataclass(frozen=True)
class ChartValues:
    """A shipped record: the key paths one chart version defines."""

    chart: str
    version: str
    install: str
    paths: frozenset[str]
    open: frozenset[str]
    schema: dict[str, Any] | None

    @classmethod
    def load(cls, file: Path) -> ChartValues:
        data = json.loads(file.read_text(encoding="utf-8"))
        return cls(data["chart"], data["version"], data["install"], frozenset(data["paths"]),
                   frozenset(data["open"]), data.get("schema"))  # fmt: skip

    def children(self, parent: str) -> list[str]:
        """The chart's keys directly under `parent` (top-level keys for "")."""
        depth = len(split_path(parent)) if parent else 0
        prefix = f"{parent}." if parent else ""
        return sorted({split_path(p)[depth] for p in self.paths if p.startswith(prefix) and p != parent})

    def unknown_keys(self, values: Mapping[str, Any], parent: str = "") -> list[str]:
        """One line per key the values set that the chart does not define (the outermost such key of a branch),
        naming the chart's closest key when one is close. Lists and empty maps are single values (Helm replaces
        them whole); nothing under an open path is judged."""
        problems: list[str] = []
        for key, value in values.items():
            path = join(parent, key)
            if path in self.open:
                continue
            if path not in self.paths:
                problems.append(self._unknown(path, str(key), parent))
            elif isinstance(value, dict) and value:
                problems += self.unknown_keys(value, path)
        return problems

    def _unknown(self, path: str, key: str, parent: str) -> str:
        siblings = self.children(parent)
        if parent and not siblings:
            return f"`{path}` is not a value of {self.chart} {self.version}: its `{parent}` is a single value"
        close = [s for s in siblings if s.lower() == key.lower()]
        close += difflib.get_close_matches(key, siblings, n=1, cutoff=0.6)
        hint = f"; did you mean `{join(parent, close[0])}`?" if close else ""
        return f"`{path}` is not a value of {self.chart} {self.version}{hint}"


def split_path(path: str) -> list[str]:
    """The keys of a dotted path (`a.["b.c"].d` -> a, b.c, d)."""
    return [quoted or plain for quoted, plain in re.findall(r'\["([^"]*)"\]|([^.\[\]]+)', path)]


def main(argv: Sequence[str] | None = None, sources: Sequence[ChartValuesSource] = CHARTS) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", metavar="PATH", type=Path,
                        help="read local copies: DIR/<chart>/ for every chart, or with --chart that chart's "
                        "directory or values.yaml, instead of GitHub")  # fmt: skip
    parser.add_argument("--chart", choices=sorted(s.chart for s in sources), help="regenerate this chart only")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default {OUT_DIR})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the shipped files differ")
    args = parser.parse_args(argv)
    selected = [s for s in sources if args.chart in (None, s.chart)]
    read = local_reader(args.source, args.chart is not None) if args.source else download
    try:
        files = generate(selected, read)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.chart:  # one chart: leave the other charts' files alone
        shipped = {p.name: p.read_text(encoding="utf-8") for p in args.out.glob("*.json")}
        files = {
            **{n: t for n, t in shipped.items() if not re.fullmatch(rf"{re.escape(args.chart)}-v?\d.*", n)},
            **files,
        }
    return publish(files, args.out, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
