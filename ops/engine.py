"""The offline engine: runs the real Pulumi program against `pulumi.runtime.set_mocks` and records what it declares.

It is the one mock engine of the project: the tests, `python -m ops plan` and `python -m ops gate` all use it.
For each registered resource it keeps what the Pulumi engine itself would see: URN, type, name, parent, the input
properties under their engine (camelCase) names, and the request options (dependencies, protect,
retain-on-delete, provider, ignore-changes...). Secret inputs are recorded as `"[secret]"`, never in plain text.
Invokes get realistic answers from `INVOKES`; an invoke nobody taught it is an error, not a silent `{}`.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from config.errors import StackConfigError
from config.stackfile import read_stack_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "ai-platform"
MOCK_ACCOUNT_ID = "123456789012"
SECRET = "[secret]"  # noqa: S105 - the mask shown instead of a secret, not a secret
UNKNOWN = "[unknown]"

# Signatures of the Pulumi wire format (pulumi.runtime.rpc).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - wire-format signature
_SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class UnknownInvokeError(LookupError):
    """The program asked for a lookup the offline engine has no realistic answer for (teach it one in INVOKES)."""


class StackFileError(StackConfigError):
    """The stack file is missing, or is not a UTF-8 YAML document with a `config:` map: one line, naming the file."""


@dataclass
class RecordedResource:
    """One resource as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    retainOnDelete: bool = False
    provider: str = ""
    ignoreChanges: list[str] = field(default_factory=list)
    additionalSecretOutputs: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    remote: bool = False
    propertyDependencies: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """Everything one run of the program declared, with the queries tests and the gate need."""

    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def get(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def children(self, parent_urn: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def descendants(self, ancestor_urn: str) -> list[RecordedResource]:
        found, frontier = [], [ancestor_urn]
        while frontier:
            kids = [r for r in self.resources if r.parent in frontier]
            found.extend(kids)
            frontier = [k.urn for k in kids]
        return found

    def components(self) -> list[RecordedResource]:
        return [r for r in self.resources if not r.custom]

    def component(self, type_: str) -> RecordedResource:
        """The single component of a type token, e.g. `ai-platform:network:Network`."""
        matches = self.by_type(type_)
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} components of type {type_}")
        return matches[0]

    def provider_of(self, resource: RecordedResource) -> RecordedResource | None:
        """The provider resource a resource was registered with (the reference is `<urn>::<id>`)."""
        if not resource.provider:
            return None
        return self.get(resource.provider.rsplit("::", 1)[0])

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in sorted(self.resources, key=lambda r: r.urn)]

    @classmethod
    def from_json(cls, stack: str, data: Iterable[Mapping[str, Any]]) -> Plan:
        """Read a plan written by `ops plan --json` (or by hand: only urn, type, name and inputs are required)."""
        resources = []
        for item in data:
            known = {k: v for k, v in item.items() if k in RecordedResource.__dataclass_fields__}
            known.setdefault("parent", "")
            known.setdefault("custom", True)
            known.setdefault("inputs", {})
            resources.append(RecordedResource(**known))
        return cls(stack=stack, resources=resources)


# --- realistic answers -----------------------------------------------------------------------------------------

_AZ_LETTERS = {"us-east-1": "abcdef", "us-west-1": "bc"}


def _availability_zones(region: str) -> dict[str, Any]:
    letters = _AZ_LETTERS.get(region, "abc" if region.startswith(("ap-northeast-2", "sa-")) else "abcd")
    prefix = "".join(word[0] for word in region.split("-")[:2]) + region.rsplit("-", 1)[1]
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{prefix}-az{i + 1}" for i in range(len(letters))],
        "state": "available",
        "groupNames": [region],
    }


def _partition(region: str) -> dict[str, Any]:
    if region.startswith("cn-"):
        return {"id": "aws-cn", "partition": "aws-cn", "dnsSuffix": "amazonaws.com.cn",
                "reverseDnsPrefix": "cn.com.amazonaws"}  # fmt: skip
    if region.startswith("us-gov-"):
        return {"id": "aws-us-gov", "partition": "aws-us-gov", "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws"}  # fmt: skip
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


# Invoke token -> answer(args, region). Extend here when the program needs a new lookup.
INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _a, region: {
        "accountId": MOCK_ACCOUNT_ID,
        "arn": f"arn:{_partition(region)['partition']}:iam::{MOCK_ACCOUNT_ID}:role/deployer",
        "userId": "AROAEXAMPLEDEPLOYER:ci",
        "id": MOCK_ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda _a, region: _partition(region),
    "aws:index/getRegion:getRegion": lambda _a, region: {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _a, region: _availability_zones(region),
}


def _arn_for(type_: str, name: str, region: str) -> str:
    """A plausible ARN for an AWS resource type token like `aws:kms/key:Key`."""
    service = type_.split(":")[1].split("/")[0]
    kind = type_.rsplit(":", 1)[1].lower()
    if service == "iam":
        return f"arn:aws:iam::{MOCK_ACCOUNT_ID}:{kind}/{name}"
    if service == "s3":
        return f"arn:aws:s3:::{name}"
    return f"arn:aws:{service}:{region}:{MOCK_ACCOUNT_ID}:{kind}/{name}"


def _default_outputs(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs echo the inputs; AWS resources also get the `arn` and `name` AWS would assign."""
    state = dict(inputs)
    if type_.startswith("aws:"):
        state.setdefault("arn", _arn_for(type_, inputs.get("name") or name, region))
        state.setdefault("name", name)
    return state


# Type token -> extra computed outputs(name, inputs, region); the platform's components add theirs here.
OUTPUTS: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "aws:kms/key:Key": lambda name, _i, region: {
        "keyId": f"{name}-key-id",
        "arn": f"arn:aws:kms:{region}:{MOCK_ACCOUNT_ID}:key/{name}-key-id",
    },
    "aws:ec2/vpc:Vpc": lambda name, _i, _r: {"id": f"vpc-{name}", "defaultSecurityGroupId": f"sg-{name}-default"},
    "aws:ec2/eip:Eip": lambda name, _i, _r: {"allocationId": f"eipalloc-{name}", "publicIp": "203.0.113.10"},
    "aws:iam/role:Role": lambda name, _i, _r: {"uniqueId": f"AROA{name.upper()[:16]}"},
    "eks:index:Cluster": lambda name, inputs, region: _eks_cluster_outputs(name, inputs, region),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda _n, inputs, _r: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, _i, _r: {"id": f"lt-{name}", "latestVersion": 1},
    "aws:sqs/queue:Queue": lambda name, inputs, region: {
        "arn": f"arn:aws:sqs:{region}:{MOCK_ACCOUNT_ID}:{inputs.get('name', name)}",
        "url": f"https://sqs.{region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{inputs.get('name', name)}",
    },
    # Real-looking subnet ids: Karpenter's EC2NodeClass schema only accepts `subnet-<hex>`.
    "aws:ec2/subnet:Subnet": lambda name, _i, _r: {
        "id": "subnet-" + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:17],
    },
    "aws:rds/cluster:Cluster": lambda name, inputs, region: _rds_cluster_outputs(name, inputs, region),
    "aws:s3/bucket:Bucket": lambda name, inputs, _r: {
        "id": inputs.get("bucket", name),
        "bucket": inputs.get("bucket", name),
        "arn": f"arn:aws:s3:::{inputs.get('bucket', name)}",
    },
    "aws:ec2/securityGroup:SecurityGroup": lambda name, _i, _r: {"id": f"sg-{name}"},
    "aws:backup/vault:Vault": lambda name, inputs, region: {
        "id": inputs.get("name", name),
        "arn": f"arn:aws:backup:{region}:{MOCK_ACCOUNT_ID}:backup-vault:{inputs.get('name', name)}",
    },
    "aws:backup/plan:Plan": lambda name, _i, region: {
        "id": f"{name}-plan-id",
        "arn": f"arn:aws:backup:{region}:{MOCK_ACCOUNT_ID}:backup-plan:{name}-plan-id",
    },
    "aws:sns/topic:Topic": lambda name, inputs, region: {
        "arn": f"arn:aws:sns:{region}:{MOCK_ACCOUNT_ID}:{inputs.get('name', name)}",
    },
    "aws:ecr/repository:Repository": lambda name, inputs, region: {
        "id": inputs.get("name", name),
        "registryId": MOCK_ACCOUNT_ID,
        "arn": f"arn:aws:ecr:{region}:{MOCK_ACCOUNT_ID}:repository/{inputs.get('name', name)}",
        "repositoryUrl": f"{MOCK_ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{inputs.get('name', name)}",
    },
    "aws:wafv2/webAcl:WebAcl": lambda name, inputs, region: {
        "id": f"{name}-id",
        "arn": f"arn:aws:wafv2:{region}:{MOCK_ACCOUNT_ID}:regional/webacl/{inputs.get('name', name)}/{name}-id",
    },
    "aws:wafv2/ipSet:IpSet": lambda name, inputs, region: {
        "id": f"{name}-id",
        "arn": f"arn:aws:wafv2:{region}:{MOCK_ACCOUNT_ID}:regional/ipset/{inputs.get('name', name)}/{name}-id",
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda name, inputs, region: {
        "arn": f"arn:aws:logs:{region}:{MOCK_ACCOUNT_ID}:log-group:{inputs.get('name', name)}",
    },
}


def _rds_cluster_outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """What RDS reports for an Aurora cluster, including the managed master secret (`rds!cluster-<uuid>`)."""
    identifier = inputs.get("clusterIdentifier", name)
    resource_id = "cluster-" + hashlib.sha256(identifier.encode()).hexdigest()[:26].upper()
    secrets = []
    if inputs.get("manageMasterUserPassword"):
        secret_name = f"rds!{resource_id.lower()}-AbCdEf"
        secrets = [
            {
                "secretArn": f"arn:aws:secretsmanager:{region}:{MOCK_ACCOUNT_ID}:secret:{secret_name}",
                "secretStatus": "active",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
            }
        ]
    return {
        "id": identifier,
        "clusterIdentifier": identifier,
        "clusterResourceId": resource_id,
        "arn": f"arn:aws:rds:{region}:{MOCK_ACCOUNT_ID}:cluster:{identifier}",
        "endpoint": f"{identifier}.cluster-c0ffee123456.{region}.rds.amazonaws.com",
        "readerEndpoint": f"{identifier}.cluster-ro-c0ffee123456.{region}.rds.amazonaws.com",
        "port": inputs.get("port", 5432),
        "masterUserSecrets": secrets,
    }


def _eks_cluster_outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """What `pulumi_eks.Cluster` reports once created: endpoint, OIDC issuer/provider, security groups, kubeconfig."""
    cluster = inputs.get("name") or name
    oidc_id = hashlib.md5(cluster.encode(), usedforsecurity=False).hexdigest().upper()
    issuer = f"oidc.eks.{region}.amazonaws.com/id/{oidc_id}"
    endpoint = f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes",
                      "cluster": {"server": endpoint, "certificate-authority-data": "LS0tLS1CRUdJTg=="}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--output", "json"]}}}],
    }  # fmt: skip
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcIssuer": issuer,
        "oidcProviderUrl": f"https://{issuer}",
        # pulumi-eks reports a provider ARN only when it created the provider itself.
        "oidcProviderArn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/{issuer}"
        if inputs.get("createOidcProvider")
        else "",
        "clusterSecurityGroupId": f"sg-{cluster}-cluster",
        "nodeSecurityGroupId": f"sg-{cluster}-node",
    }


class RecordingMocks(Mocks):
    """`pulumi.runtime.Mocks` that answer like AWS would and let the monitor record each registration."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.provider_regions: dict[str, str] = {}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = INVOKES.get(args.token)
        if answer is None:
            raise UnknownInvokeError(
                f"the offline engine has no answer for invoke {args.token}; teach it one in ops/engine.py INVOKES"
            )
        provider_urn = args.provider.rsplit("::", 1)[0] if args.provider else ""
        region = self.provider_regions.get(provider_urn, self.region)
        return answer(args.args, region), []  # no check failures

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        region = args.inputs.get("region") or self.region
        if args.typ == "pulumi:providers:aws":
            region = args.inputs.get("region", self.region)
        state = _default_outputs(args.typ, args.name, args.inputs, region)
        extra = OUTPUTS.get(args.typ)
        if extra is not None:
            state.update(extra(args.name, args.inputs, region))
        resource_id = state.pop("id", None) or f"{args.name}-id"
        return resource_id, state


def _plain(value: Any) -> Any:
    """Wire-format value -> plain JSON value: secrets masked, unknowns marked, resource references as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SIG_SECRET:
            return SECRET
        if sig == _SIG_RESOURCE:
            return value.get("urn", "")
        if sig == _SIG_OUTPUT:
            if value.get("secret"):
                return SECRET
            return _plain(value["value"]) if "value" in value else UNKNOWN
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _make_monitor(mocks: RecordingMocks, recorded: list[RecordedResource]) -> Any:
    from pulumi.runtime.mocks import MockMonitor

    lock = threading.Lock()

    class RecordingMonitor(MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type == "pulumi:pulumi:Stack":
                return response
            inputs = _plain(json_format.MessageToDict(request.object)) if request.HasField("object") else {}
            if request.type.startswith("pulumi:providers:"):
                mocks.provider_regions[response.urn] = inputs.get("region", mocks.region)
            record = RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                inputs=inputs,
                dependencies=sorted(set(request.dependencies)),
                protect=request.protect if request.HasField("protect") else False,
                retainOnDelete=request.retainOnDelete if request.HasField("retainOnDelete") else False,
                provider=request.provider,
                ignoreChanges=list(request.ignoreChanges),
                additionalSecretOutputs=list(request.additionalSecretOutputs),
                aliases=[a.urn for a in request.aliases if a.urn] + list(request.aliasURNs),
                remote=request.remote,
                propertyDependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
            )
            with lock:
                recorded.append(record)
            return response

    return RecordingMonitor(mocks)


# --- running a stack ---------------------------------------------------------------------------------------------


def stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    """`Pulumi.<stack>.yaml` of the project."""
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` map of `Pulumi.<stack>.yaml`, as objects, read as the Pulumi CLI reads it
    (`config.stackfile`); `StackFileError` (a `StackConfigError`) when it is missing or not a stack file."""
    path = stack_file(stack, project_dir)
    if not path.is_file():
        available = sorted(p.name.split(".")[1] for p in project_dir.glob("Pulumi.*.yaml"))
        raise StackFileError([f"{path.name}: no such stack file; allowed stacks: {', '.join(available)}"])
    try:
        return read_stack_file(path)
    except StackConfigError as error:
        raise StackFileError(error.problems) from None


def _as_pulumi_config(raw: Mapping[str, Any]) -> dict[str, str]:
    """Config as the Pulumi runtime hands it to a program: scalars as text, structured values as JSON."""

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value)

    return {str(k): text(v) for k, v in raw.items()}


def run_program(
    stack: str,
    raw_config: Mapping[str, Any],
    program: Callable[[], Any] | None = None,
) -> Plan:
    """Run `program` (default: the project's `__main__.py`) for `stack` with `raw_config` under the mock engine.

    Validate the config with `config.load_stack_config` first to get a clean error; a failure inside
    the program propagates as the program raised it.
    """
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    region = str(raw_config.get("aws:region", "us-east-1"))
    mocks = RecordingMocks(region)
    recorded: list[RecordedResource] = []
    monitor = _make_monitor(mocks, recorded)
    runtime_config.set_all_config(_as_pulumi_config(raw_config), [])
    settings.ROOT.set(None)  # a new root stack per run: an earlier run's exports must not show in this plan's outputs
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

    def main() -> None:
        if program is not None:
            program()
        else:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(main))
    root = pulumi.runtime.get_root_resource()
    outputs = _resolve_outputs(getattr(root, "outputs", {}) or {}) if root is not None else {}
    # Registrations arrive from several threads: order by URN so that every run of a stack reads the same.
    return Plan(stack=stack, resources=sorted(recorded, key=lambda r: r.urn), outputs=outputs)


def _resolve_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack exports as plain values; secret ones masked."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        is_secret = _sync_await(output.is_secret())
        resolved[key] = SECRET if is_secret else _sync_await(output.future())
    return resolved


def plan_stack(stack: str, project_dir: Path = PROJECT_DIR, overrides: Mapping[str, Any] | None = None) -> Plan:
    """Validate and build a stack from its stack file (plus `overrides`, deep-merged per key) offline."""
    from config import deep_merge, load_stack_config

    raw = deep_merge(read_stack_config(stack, project_dir), overrides or {})
    load_stack_config(stack, raw)  # raises StackConfigError before anything is declared
    return run_program(stack, raw)
