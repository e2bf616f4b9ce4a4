"""Regenerate the CRD schemas the tests validate custom resources with (`tests/schemas/crds/`).

Every CustomResourceDefinition the platform declares objects of (or will) is listed in `CRDS` below with the
upstream project, its version (`git describe --tags` of the pinned commit) and the raw URL of the official
manifest at that commit. For each served version of each CRD the script writes the *structural* part of its
`openAPIV3Schema` (documentation such as `description` and `example` stripped, every validating keyword kept) to
`tests/schemas/crds/<group>_<version>_<Kind>.json`, and records where each file came from in `SOURCES.json` there.
Output is deterministic (sorted keys, fixed indentation): regenerating unchanged sources gives identical bytes.

    python scripts/crd_schemas.py                   # download the pinned manifests from GitHub
    python scripts/crd_schemas.py --from DIR        # read local copies named `<project>__<file name>`
    python scripts/crd_schemas.py --check [--from DIR]   # exit 1 if the shipped files are not what it generates

To move to a new upstream release, change the project's tag and commit in `UPSTREAMS` and rerun.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "schemas" / "crds"
SOURCES_FILE = "SOURCES.json"
# Keys of a schema node that only document it; everything else (types, bounds, patterns, enums, defaults,
# x-kubernetes-* markers, combinators) takes part in validation and is kept.
DOC_KEYS = frozenset({"description", "example", "externalDocs", "title"})
# Keys whose value is a schema, or a list / name map of schemas; other values (enum, default...) are data.
_SCHEMA_KEYS = ("items", "additionalProperties", "not")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")


@dataclass(frozen=True)
class Upstream:
    """A project's repository and the commit its CRDs are taken from."""

    repository: str  # owner/name on GitHub
    version: str  # `git describe --tags` of the commit
    commit: str


@dataclass(frozen=True)
class CrdSource:
    """One CustomResourceDefinition: which project ships it, in which file of its repository."""

    project: str
    kind: str
    path: str  # inside the repository
    blob: str  # prefix of the file's git blob id (`git hash-object`), checked on every read

    @property
    def upstream(self) -> Upstream:
        return UPSTREAMS[self.project]

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.upstream.repository}/{self.upstream.commit}/{self.path}"

    @property
    def local_name(self) -> str:
        """The name of a local copy: `<project>__<file name>`."""
        return f"{self.project}__{self.path.rsplit('/', 1)[-1]}"


UPSTREAMS: dict[str, Upstream] = {
    "argo-rollouts": Upstream(
        "argoproj/argo-rollouts", "v1.10.0-rc1-70-g9f8d111d8", "9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d"
    ),
    "aws-load-balancer-controller": Upstream(
        "kubernetes-sigs/aws-load-balancer-controller",
        "v3.5.0-8-g225f44568",
        "225f44568848eb25f13e304a5f1cc68c0cd9415d",
    ),
    # The release the cert-manager add-on installs (config/addons.py): its chart ships these very CRDs.
    "cert-manager": Upstream("cert-manager/cert-manager", "v1.21.1", "24e33194fb39488eff2bbf10c6dc640f407cad44"),
    "external-secrets": Upstream(
        "external-secrets/external-secrets", "v2.9.0-1-gcc5bfbc22", "cc5bfbc2234ace9cb0caff4ea89c435cf517b27b"
    ),
    "karpenter": Upstream(
        "aws/karpenter-provider-aws", "v1.14.0-68-g1d927085d", "1d927085dd81a9df9301e613f371dac5b4d16bfe"
    ),
    "prometheus-operator": Upstream(
        "prometheus-operator/prometheus-operator", "v0.93.0-24-g6adcebc50", "6adcebc5076c34f4f55f8f5f7b1e528929373ac7"
    ),
    "vpa": Upstream(
        "kubernetes/autoscaler",
        "vertical-pod-autoscaler-chart-0.11.0-68-g55c37cd5eb",
        "55c37cd5eb550756c5ccc5a89e9068d77797e575",
    ),
}

_ESO = "config/crds/bases"
_PROM = "example/prometheus-operator-crd"
_VPA = "vertical-pod-autoscaler/deploy/vpa-v1-crd-gen.yaml"
CRDS: tuple[CrdSource, ...] = (
    CrdSource("argo-rollouts", "AnalysisRun", "manifests/crds/analysis-run-crd.yaml", "731d9632b606"),
    CrdSource("argo-rollouts", "AnalysisTemplate", "manifests/crds/analysis-template-crd.yaml", "27fa7c5e8fd9"),
    CrdSource(
        "argo-rollouts", "ClusterAnalysisTemplate", "manifests/crds/cluster-analysis-template-crd.yaml", "869cca87e438"
    ),
    CrdSource("argo-rollouts", "Rollout", "manifests/crds/rollout-crd.yaml", "a13a2a3ed492"),
    CrdSource(
        "aws-load-balancer-controller",
        "IngressClassParams",
        "config/crd/bases/elbv2.k8s.aws_ingressclassparams.yaml",
        "e56242a5e31b",
    ),
    CrdSource(
        "aws-load-balancer-controller",
        "TargetGroupBinding",
        "config/crd/bases/elbv2.k8s.aws_targetgroupbindings.yaml",
        "45841ebf12c0",
    ),
    CrdSource("cert-manager", "Certificate", "deploy/crds/cert-manager.io_certificates.yaml", "1eb46fbeed21"),
    CrdSource("cert-manager", "ClusterIssuer", "deploy/crds/cert-manager.io_clusterissuers.yaml", "f24cab2d55eb"),
    CrdSource("cert-manager", "Issuer", "deploy/crds/cert-manager.io_issuers.yaml", "bfa8262b5628"),
    CrdSource(
        "external-secrets", "ClusterSecretStore", f"{_ESO}/external-secrets.io_clustersecretstores.yaml", "9a8f7347d3e3"
    ),
    CrdSource("external-secrets", "ExternalSecret", f"{_ESO}/external-secrets.io_externalsecrets.yaml", "51aa7e2adde2"),
    CrdSource("external-secrets", "SecretStore", f"{_ESO}/external-secrets.io_secretstores.yaml", "3fd038cc4a6a"),
    CrdSource("karpenter", "EC2NodeClass", "pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml", "9fd4df3e1095"),
    CrdSource("karpenter", "NodeClaim", "pkg/apis/crds/karpenter.sh_nodeclaims.yaml", "5b70afa36d64"),
    CrdSource("karpenter", "NodePool", "pkg/apis/crds/karpenter.sh_nodepools.yaml", "8fa24a9217b5"),
    CrdSource(
        "prometheus-operator",
        "AlertmanagerConfig",
        f"{_PROM}/monitoring.coreos.com_alertmanagerconfigs.yaml",
        "52a56f35b681",
    ),
    CrdSource("prometheus-operator", "PodMonitor", f"{_PROM}/monitoring.coreos.com_podmonitors.yaml", "5c1bde3d4a5f"),
    CrdSource(
        "prometheus-operator", "PrometheusRule", f"{_PROM}/monitoring.coreos.com_prometheusrules.yaml", "b423c3225b18"
    ),
    CrdSource(
        "prometheus-operator", "ServiceMonitor", f"{_PROM}/monitoring.coreos.com_servicemonitors.yaml", "f5736255990a"
    ),
    CrdSource("vpa", "VerticalPodAutoscaler", _VPA, "4273ac8dcb13"),
    CrdSource("vpa", "VerticalPodAutoscalerCheckpoint", _VPA, "4273ac8dcb13"),
)


class _CrdLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader reading a bare `=` as the string Kubernetes sees (PyYAML's YAML 1.1 makes it a tag)."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def reduce_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without its documentation keys, recursively through sub-schemas only.

    Field names under `properties` are kept whatever they are called (a field named `description` is data), and
    values that are data rather than schemas (`enum`, `default`, `x-kubernetes-validations`...) are copied as is.
    """
    reduced: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DOC_KEYS:
            continue
        if key == "properties":
            value = {name: reduce_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_KEYS and isinstance(value, dict):
            value = reduce_schema(value)
        elif key in _SCHEMA_LIST_KEYS or (key == "items" and isinstance(value, list)):
            value = [reduce_schema(sub) for sub in value]
        reduced[key] = value
    return reduced


def served_schemas(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(apiVersion, kind, reduced openAPIV3Schema) for every served version of a CRD document."""
    spec = document["spec"]
    for version in spec["versions"]:
        if version.get("served", True):
            yield (f"{spec['group']}/{version['name']}", spec["names"]["kind"],
                   reduce_schema(version["schema"]["openAPIV3Schema"]))  # fmt: skip


def schema_file_name(api_version: str, kind: str) -> str:
    group, version = api_version.split("/")
    return f"{group}_{version}_{kind}.json"


def dump(data: Any) -> str:
    """The one serialisation every generated file uses (stable key order and indentation)."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def git_blob_id(content: bytes) -> str:
    """What `git hash-object` prints for a file with this content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def download(source: CrdSource) -> bytes:
    if not source.url.startswith("https://"):
        raise ValueError(f"refusing to fetch a non-https URL: {source.url}")
    try:
        with urllib.request.urlopen(source.url, timeout=60) as response:  # noqa: S310 (https only, checked above)
            return response.read()
    except urllib.error.URLError as error:
        raise OSError(f"cannot download {source.url}: {error.reason} (offline? use --from DIR)") from error


def local_reader(directory: Path) -> Callable[[CrdSource], bytes]:
    return lambda source: (directory / source.local_name).read_bytes()


def generate(sources: Iterable[CrdSource], read: Callable[[CrdSource], bytes]) -> dict[str, str]:
    """File name -> content of every schema file plus `SOURCES.json`, in memory.

    Each source file is read once (several CRDs may share one) and must be the blob recorded in the table.
    """
    contents: dict[str, bytes] = {}
    files: dict[str, str] = {}
    records: dict[str, dict[str, str]] = {}
    for source in sources:
        key = f"{source.project}/{source.path}"
        if key not in contents:
            contents[key] = read(source)
            actual = git_blob_id(contents[key])
            if not actual.startswith(source.blob):
                raise ValueError(f"{source.local_name}: git blob {actual[:12]}, expected {source.blob} ({source.url})")
        documents = [d for d in yaml.load_all(contents[key], Loader=_CrdLoader) if d]
        crds = [d for d in documents if d.get("kind") == "CustomResourceDefinition"
                and d["spec"]["names"]["kind"] == source.kind]  # fmt: skip
        if len(crds) != 1:
            raise ValueError(f"{source.local_name}: {len(crds)} CustomResourceDefinitions of kind {source.kind}")
        for api_version, kind, schema in served_schemas(crds[0]):
            name = schema_file_name(api_version, kind)
            files[name] = dump(schema)
            records[name] = {"apiVersion": api_version, "kind": kind, "project": source.project,
                             "repository": source.upstream.repository, "version": source.upstream.version,
                             "commit": source.upstream.commit, "path": source.path, "url": source.url}  # fmt: skip
    files[SOURCES_FILE] = dump(records)
    return files


def write(files: dict[str, str], out_dir: Path) -> None:
    """Write the generated files and remove schema files no longer generated (a CRD dropped from the table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(set(p.name for p in out_dir.glob("*.json")) - set(files)):
        (out_dir / stale).unlink()
    for name, text in sorted(files.items()):
        (out_dir / name).write_text(text, encoding="utf-8")


def differences(files: dict[str, str], out_dir: Path) -> list[str]:
    """Files in `out_dir` that are missing, stale or different from what was generated."""
    shipped = {p.name for p in out_dir.glob("*.json")}
    lines = [f"missing: {name}" for name in sorted(set(files) - shipped)]
    lines += [f"not generated: {name}" for name in sorted(shipped - set(files))]
    lines += [f"differs: {name}" for name in sorted(set(files) & shipped)
              if (out_dir / name).read_text(encoding="utf-8") != files[name]]  # fmt: skip
    return lines


def publish(files: dict[str, str], out_dir: Path, *, check: bool) -> int:
    """Write `files` into `out_dir`, or with `check` only report how the shipped ones differ: the exit code."""
    if check:
        lines = differences(files, out_dir)
        print("\n".join(lines) if lines else f"{len(files)} files up to date in {out_dir}")
        return 1 if lines else 0
    write(files, out_dir)
    print(f"wrote {len(files)} files to {out_dir}")
    return 0


def main(argv: Sequence[str] | None = None, sources: Sequence[CrdSource] = CRDS) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source_help = "read local copies `<project>__<file name>` from DIR instead of GitHub"
    parser.add_argument("--from", dest="source_dir", metavar="DIR", type=Path, help=source_help)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default {OUT_DIR})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the shipped files differ")
    args = parser.parse_args(argv)
    try:
        files = generate(sources, local_reader(args.source_dir) if args.source_dir else download)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return publish(files, args.out, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
