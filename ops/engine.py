"""The offline engine: runs the real Pulumi program against `pulumi.runtime.set_mocks` and records what it declares.

It is the one mock engine of the project: the tests, `python -m ops plan` and `python -m ops gate` all use it.
For each registered resource it keeps what the Pulumi engine itself would see: URN, type, name, parent, the input
properties under their engine (camelCase) names, and the request options (dependencies, protect,
retain-on-delete, provider, ignore-changes...). Secret inputs are recorded as `"[secret]"`, never in plain text.
Invokes get realistic answers from `ops.answers.INVOKES`; an invoke nobody taught it is an error, not a silent
`{}`.
"""

from __future__ import annotations

import gc
import json
import runpy
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from config.errors import StackConfigError
from config.stackfile import read_stack_file
from ops.answers import INVOKES, OUTPUTS, default_outputs

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "ai-platform"
SECRET = "[secret]"  # noqa: S105 - the mask shown instead of a secret, not a secret
UNKNOWN = "[unknown]"

# Signatures of the Pulumi wire format (pulumi.runtime.rpc).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - wire-format signature
_SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class Project:
    """A Pulumi project of the repository: its name (`Pulumi.yaml`), its directory and how its config is checked
    (`validate(stack, raw)` raises `StackConfigError` before anything is declared)."""

    name: str
    directory: Path
    validate: Callable[[str, Mapping[str, Any]], object]


def _validate_platform(stack: str, raw: Mapping[str, Any]) -> object:
    from config import load_stack_config

    return load_stack_config(stack, raw)


def _validate_bootstrap(stack: str, raw: Mapping[str, Any]) -> object:
    from bootstrap.settings import load_bootstrap_config

    return load_bootstrap_config(stack, raw)


PROJECTS: dict[str, Project] = {
    "platform": Project(PROJECT, PROJECT_DIR, _validate_platform),
    "bootstrap": Project("ai-platform-bootstrap", PROJECT_DIR / "bootstrap", _validate_bootstrap),
}


class UnknownInvokeError(LookupError):
    """The program asked for a lookup the offline engine has no realistic answer for (teach it one in
    `ops.answers.INVOKES`)."""


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
    preview: bool = False  # built as a first `pulumi preview` sees it: outputs of resources to create unknown

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


class RecordingMocks(Mocks):
    """`pulumi.runtime.Mocks` that answer like AWS would and let the monitor record each registration.

    With `preview`, they answer like the engine during a stack's first `pulumi preview`, where nothing exists yet:
    a custom resource (providers included) gets an unknown id and only its inputs back, as the providers' planned
    state (the Terraform bridge's `Create` with `preview`) holds what was set and leaves every computed output
    (ids, ARNs, URLs, endpoints) unknown; a remote component (pulumi-eks, Helm v4 Chart) gets nothing back, so all
    its outputs are unknown. Invokes still answer: the engine runs them during a preview too.
    """

    def __init__(self, region: str, preview: bool = False) -> None:
        self.region = region
        self.preview = preview
        self.provider_regions: dict[str, str] = {}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = INVOKES.get(args.token)
        if answer is None:
            raise UnknownInvokeError(
                f"the offline engine has no answer for invoke {args.token}; teach it one in ops/answers.py INVOKES"
            )
        provider_urn = args.provider.rsplit("::", 1)[0] if args.provider else ""
        region = self.provider_regions.get(provider_urn, self.region)
        return answer(args.args, region), []  # no check failures

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if self.preview:
            return "", dict(args.inputs) if args.custom else {}
        # A resource is created in its provider's region (the DR side's resources answer with DR-region ARNs).
        provider_urn = args.provider.rsplit("::", 1)[0] if args.provider else ""
        region = args.inputs.get("region") or self.provider_regions.get(provider_urn, self.region)
        if args.typ == "pulumi:providers:aws":
            region = args.inputs.get("region", self.region)
        state = default_outputs(args.typ, args.name, args.inputs, region)
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


def _references_as_ids(request: Any) -> Any:
    """The request with every resource reference in its inputs replaced by the resource's id (its URN when it has
    none), as the mocks see them.

    The mock monitor runs in a worker thread with an event loop of its own; deserializing a reference there would
    rebuild the resource (`get_resource`), an RPC on that thread's loop which the program's loop may then await at
    shutdown ("attached to a different loop"): it did, now and then, when the answer (a preview's) left it pending.
    The recorded inputs are read from the original request (references as URNs, `_plain`).
    """
    if not request.HasField("object") or _SIG_RESOURCE.encode() not in request.object.SerializeToString():
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    for value in copy.object.fields.values():
        _reference_as_id(value)
    return copy


def _reference_as_id(value: Any) -> None:
    kind = value.WhichOneof("kind")
    if kind == "list_value":
        for item in value.list_value.values:
            _reference_as_id(item)
    elif kind == "struct_value":
        fields = value.struct_value.fields
        if _SIG_KEY in fields and fields[_SIG_KEY].string_value == _SIG_RESOURCE:
            ref_id = fields["id"].string_value if "id" in fields else None
            value.string_value = (ref_id or _UNKNOWN_VALUE) if ref_id is not None else fields["urn"].string_value
        else:
            for item in fields.values():
                _reference_as_id(item)


def _make_monitor(mocks: RecordingMocks, recorded: list[RecordedResource]) -> Any:
    from pulumi.runtime.mocks import MockMonitor

    lock = threading.Lock()

    class RecordingMonitor(MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(_references_as_ids(request))
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
    preview: bool = False,
    project: Project | None = None,
) -> Plan:
    """Run `program` (default: the `__main__.py` of `project`, the platform's unless given) for `stack` with
    `raw_config` under the mock engine.

    `preview` runs it as the stack's first `pulumi preview` (see `RecordingMocks`): inputs built from outputs of
    resources not yet created are recorded as `"[unknown]"`. Validate the config with `config.load_stack_config`
    first to get a clean error; a failure inside the program propagates as the program raised it.
    """
    with without_cycle_collection():
        return _run(stack, raw_config, program, preview, project or PROJECTS["platform"])


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a build (reference counting still frees what it can).

    A build creates hundreds of thousands of objects that live until it ends (the SDK modules it imports lazily,
    their type annotations, every Output and future) and almost no garbage cycles, so each full collection rescans
    all of them for nothing: a third of a cold build went there. Collection resumes as it was afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _skip_stack_traces() -> None:
    """The SDK captures each registration's Python stack trace (`traceback.extract_stack`, reading every frame's
    source line) for the engine's diagnostics; the offline engine records no stack trace, and that capture is a
    tenth of a build. Only this process's mock runs are affected, never a `pulumi up`."""
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import source_pb2

    runtime_resource._get_stack_trace = source_pb2.StackTrace


def _run(
    stack: str, raw_config: Mapping[str, Any], program: Callable[[], Any] | None, preview: bool, project: Project
) -> Plan:
    """`run_program`'s build: mocks and monitor, the program, its exports."""
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    region = str(raw_config.get("aws:region", "us-east-1"))
    mocks = RecordingMocks(region, preview=preview)
    recorded: list[RecordedResource] = []
    monitor = _make_monitor(mocks, recorded)
    runtime_config.set_all_config(_as_pulumi_config(raw_config), [])
    settings.ROOT.set(None)  # a new root stack per run: an earlier run's exports must not show in this plan's outputs
    pulumi.runtime.set_mocks(mocks, project=project.name, stack=stack, preview=preview, monitor=monitor)
    _skip_stack_traces()

    def main() -> None:
        if program is not None:
            program()
        else:
            runpy.run_path(str(project.directory / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(main))
    root = pulumi.runtime.get_root_resource()
    outputs = _resolve_outputs(getattr(root, "outputs", {}) or {}) if root is not None else {}
    # Registrations arrive from several threads: order by URN so that every run of a stack reads the same.
    return Plan(stack=stack, resources=sorted(recorded, key=lambda r: r.urn), outputs=outputs, preview=preview)


def _resolve_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack exports as plain values; secret ones masked, unknown ones (during a preview) marked."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        if _sync_await(output.is_secret()):
            resolved[key] = SECRET
        elif not _sync_await(output.is_known()):
            resolved[key] = UNKNOWN
        else:
            resolved[key] = _plain_output(_sync_await(output.future()))
    return resolved


def _plain_output(value: Any) -> Any:
    """A resolved export with any unknown nested inside it (a preview echoes unknown inputs) marked."""
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _plain_output(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_output(v) for v in value]
    return value


def plan_stack(
    stack: str,
    project_dir: Path = PROJECT_DIR,
    overrides: Mapping[str, Any] | None = None,
    preview: bool = False,
) -> Plan:
    """Validate and build a platform stack from its stack file (plus `overrides`, deep-merged per key) offline;
    `preview`: as the stack's first `pulumi preview` sees it (`run_program`)."""
    from config import deep_merge, load_stack_config

    raw = deep_merge(read_stack_config(stack, project_dir), overrides or {})
    load_stack_config(stack, raw)  # raises StackConfigError before anything is declared
    return run_program(stack, raw, preview=preview)


def plan_project(project: str, stack: str, overrides: Mapping[str, Any] | None = None, preview: bool = False) -> Plan:
    """`plan_stack` for any project of `PROJECTS` (`platform`, `bootstrap`): its stack file in its directory,
    validated by its own config model."""
    from config import deep_merge

    if project == "platform":
        return plan_stack(stack, overrides=overrides, preview=preview)
    spec = PROJECTS[project]
    raw = deep_merge(read_stack_config(stack, spec.directory), overrides or {})
    spec.validate(stack, raw)
    return run_program(stack, raw, preview=preview, project=spec)
