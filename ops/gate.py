"""`python -m ops gate`: the policy pack's rules over an offline plan, exactly as CrossGuard would run them.

The gate builds a stack with the offline engine (`--stack`, the same engine as `ops plan`; `--preview`: as the
stack's first `pulumi preview` sees it; `ops plan --gate` gates the plan it has just built) or reads a saved plan
(`--plan FILE`, the `ops plan --json` format, possibly written by hand), turns every recorded resource into the
`pulumi_policy` argument types (`ResourceValidationArgs`, `PolicyResource`, `StackValidationArgs`, with props
wrapped in the SDK's unknown-checking proxy and `"[unknown]"` mapped to the SDK's unknown sentinel), and calls
the very `ResourceValidationPolicy` / `StackValidationPolicy` objects the pack registers. Enforcement and rule
settings come from `policy/config/<environment>.json`, the file CI passes as `--policy-pack-config`.

Exit status: 0 when no mandatory rule is violated (advisory violations are shown), 1 otherwise, 2 for a user
error (unknown stack, bad config, unreadable plan file).

`python -m ops policies` lists the rules; docs/policies.md is generated from the registry by `python -m ops docs`
(`render_docs` below).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from ops.engine import (
    PROJECT,
    PROJECT_DIR,
    UNKNOWN,
    Plan,
    RecordedResource,
    plan_stack,
    read_stack_config,
    without_cycle_collection,
)
from policy.rules import ENVIRONMENTS, RULES, PackConfigError, enforcement_for, load_pack_config, rule_config
from policy.rules.core import ALL_ORIGINS, CHART, EKS, PROGRAM

DOCS_PATH = PROJECT_DIR / "docs" / "policies.md"
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
ORIGIN_ORDER = (PROGRAM, EKS, CHART)


class GateInputError(Exception):
    """A plan file that cannot be read, or an environment that cannot be determined."""


@dataclass(frozen=True)
class Violation:
    """One rule violated by one resource (or by the stack as a whole when `urn` is empty)."""

    rule: str
    severity: str
    enforcement: str
    urn: str
    message: str
    remediation: str


@dataclass(frozen=True)
class GateResult:
    stack: str
    environment: str
    resources: int
    rules: int
    violations: tuple[Violation, ...]
    preview: bool = False  # the plan was built as a first `pulumi preview` sees it

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == EnforcementLevel.MANDATORY.value]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == EnforcementLevel.ADVISORY.value]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        mode = ", as a first preview" if self.preview else ""
        return (
            f"gate {verdict}: stack {self.stack} (environment {self.environment}{mode}): {self.rules} rules over "
            f"{self.resources} resources: {len(self.mandatory)} mandatory, {len(self.advisory)} advisory violation(s)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "environment": self.environment,
            "passed": self.passed,
            "preview": self.preview,
            "summary": self.summary(),
            "counts": {
                "resources": self.resources,
                "rules": self.rules,
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
            },
            "violations": [asdict(v) for v in self.violations],
        }


# --- plan -> pulumi_policy argument types ------------------------------------------------------------------------


def _engine_value(value: Any) -> Any:
    """A recorded input as the analyzer receives it: `"[unknown]"` becomes the SDK's unknown sentinel."""
    if value == UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_value(v) for v in value]
    return value


def _props(resource: RecordedResource) -> Mapping[str, Any]:
    return unknown_checking_proxy(_engine_value(resource.inputs))


def _options(resource: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignoreChanges),
        delete_before_replace=None,
        aliases=list(resource.aliases),
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(resource.additionalSecretOutputs),
        parent=resource.parent or None,
    )


def _provider(plan: Plan, resource: RecordedResource) -> PolicyProviderResource | None:
    try:
        provider = plan.provider_of(resource)
    except KeyError:
        return None
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, _props(provider), provider.urn, provider.name)


def policy_resources(plan: Plan) -> list[PolicyResource]:
    """Every recorded resource as a `PolicyResource`, parents and dependencies linked like `AnalyzeStack` does."""
    by_urn: dict[str, PolicyResource] = {}
    for resource in plan.resources:
        by_urn[resource.urn] = PolicyResource(
            resource.type, _props(resource), resource.urn, resource.name, _options(resource),
            _provider(plan, resource), None, [], {},
        )  # fmt: skip
    for resource in plan.resources:
        target = by_urn[resource.urn]
        target.parent = by_urn.get(resource.parent)
        target.dependencies = [by_urn[d] for d in resource.dependencies if d in by_urn]
        target.property_dependencies = {
            key: [by_urn[d] for d in urns if d in by_urn] for key, urns in resource.propertyDependencies.items()
        }
    return list(by_urn.values())


# --- evaluation --------------------------------------------------------------------------------------------------


def evaluate(plan: Plan, environment: str, pack_config: Mapping[str, Any] | None = None) -> GateResult:
    """Run every enabled rule of the pack over `plan` with the environment's pack config."""
    config = load_pack_config(environment) if pack_config is None else pack_config
    stack_tags = {"pulumi:project": PROJECT, "pulumi:runtime": "python"}
    resources = policy_resources(plan)
    analyzed = [
        (record, resource) for record, resource in zip(plan.resources, resources, strict=True)
        if not record.type.startswith("pulumi:providers:")
    ]  # fmt: skip
    violations: list[Violation] = []
    enabled = 0
    for rule in RULES:
        level = enforcement_for(rule, config)
        if level == EnforcementLevel.DISABLED:
            continue
        enabled += 1
        shown = EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level
        policy = rule.policy()
        settings = rule_config(rule, config)

        def report(message: str, urn: str | None = None, _rule: Any = rule, _shown: Any = shown, _at: str = "") -> None:
            violations.append(
                Violation(_rule.id, _rule.severity.value, _shown.value, urn or _at, message, _rule.remediation)
            )

        if isinstance(policy, ResourceValidationPolicy):
            for record, resource in analyzed:
                if not rule.applies_to(record.type):
                    continue
                args = ResourceValidationArgs(
                    record.type, resource.props, record.urn, record.name, resource.opts, resource.provider,
                    settings, stack_tags,
                )  # fmt: skip

                def report_here(message: str, _urn: str | None = None, _at: str = record.urn) -> None:
                    report(message, _at)  # a resource policy's violation is always at the resource it validates

                policy.validate(args, report_here)
        else:
            policy.validate(StackValidationArgs(resources, settings, stack_tags), report)
    ordered = sorted(
        violations,
        key=lambda v: (v.enforcement != "mandatory", _SEVERITY_ORDER.get(v.severity, 9), v.rule, v.urn),
    )
    return GateResult(plan.stack, environment, len(analyzed), enabled, tuple(ordered), plan.preview)


# --- inputs ------------------------------------------------------------------------------------------------------


def read_plan_file(path: Path) -> Plan:
    """A plan written by `ops plan --json` (a list of resources) or by hand (`{"resources": [...]}` also works)."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise GateInputError(f"{path}: cannot read the plan: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise GateInputError(f"{path}: not valid JSON: {error}") from None
    items = data.get("resources") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise GateInputError(f"{path}: expected a list of resources (the `ops plan --json` format)")
    missing = [i for i, item in enumerate(items) if not {"urn", "type", "name"} <= set(item)]
    if missing:
        raise GateInputError(f"{path}: resource #{missing[0]} lacks urn, type or name; each resource needs all three")
    urns = Counter(item["urn"] for item in items)
    repeated = sorted(urn for urn, count in urns.items() if count > 1)
    if repeated:
        raise GateInputError(f"{path}: URN {repeated[0]} appears more than once; each resource needs its own URN")
    not_maps = [i for i, item in enumerate(items) if not isinstance(item.get("inputs", {}), dict)]
    if not_maps:
        raise GateInputError(f"{path}: resource #{not_maps[0]}: inputs must be a map of property names to values")
    stack = items[0]["urn"].split("::")[0].rsplit(":", 1)[-1] if items else path.stem
    try:
        return Plan.from_json(stack, items)
    except TypeError as error:
        raise GateInputError(f"{path}: {error}") from None


def environment_of(plan: Plan) -> str:
    """The environment the plan's resources are tagged with (the platform tags every taggable resource)."""
    seen = Counter(
        str(r.inputs["tags"]["environment"]) for r in plan.resources
        if isinstance(r.inputs.get("tags"), dict) and r.inputs["tags"].get("environment")
    )  # fmt: skip
    if not seen:
        raise GateInputError("cannot tell the plan's environment (no `environment` tag); pass --environment")
    environment = seen.most_common(1)[0][0]
    if environment not in ENVIRONMENTS:
        raise GateInputError(f"the plan is tagged environment={environment}; allowed: {', '.join(ENVIRONMENTS)}")
    return environment


def stack_environment(stack: str) -> str:
    from config import load_stack_config

    return load_stack_config(stack, read_stack_config(stack)).environment


# --- output ------------------------------------------------------------------------------------------------------


def render_table(result: GateResult) -> str:
    if not result.violations:
        return "no violations"
    width = max(len(v.rule) for v in result.violations)
    header = f"{'ENFORCEMENT':<11}  {'SEVERITY':<8}  {'RULE':<{width}}  RESOURCE / MESSAGE / REMEDIATION"
    lines = [header, "-" * len(header)]
    pad = " " * (11 + 2 + 8 + 2 + width + 2)
    for v in result.violations:
        lines.append(f"{v.enforcement:<11}  {v.severity:<8}  {v.rule:<{width}}  {v.urn or '(stack)'}")
        lines.append(f"{pad}{v.message}")
        lines.append(f"{pad}fix: {v.remediation}")
    return "\n".join(lines)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `gate` and `policies`."""
    gate = subparsers.add_parser("gate", help="evaluate the policy pack over a stack's offline plan or a saved plan")
    source = gate.add_mutually_exclusive_group()
    source.add_argument("--stack", help="build Pulumi.<stack>.yaml offline and gate it (default: dev)")
    source.add_argument("--plan", type=Path, metavar="FILE", help="gate a saved plan (`ops plan --json` format)")
    gate.add_argument(
        "--environment",
        choices=ENVIRONMENTS,
        help="pack config to apply (default: the stack's environment, or the plan's environment tag)",
    )
    gate.add_argument(
        "--preview",
        action="store_true",
        help="with --stack: build it as the stack's first `pulumi preview` sees it (outputs of resources to create "
        "unknown)",
    )
    gate.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the result as JSON to FILE ('-' for stdout)"
    )
    gate.set_defaults(handler=run_gate)

    policies = subparsers.add_parser(
        "policies", help="list the policy pack's rules (docs/policies.md: `python -m ops docs`)"
    )
    policies.set_defaults(handler=run_policies)


def run_gate(args: argparse.Namespace) -> int:
    if args.plan is not None and args.preview:
        print("error: --preview builds a stack (--stack); a saved plan is gated as it was recorded", file=sys.stderr)
        return 2
    try:
        if args.plan is not None:
            plan = read_plan_file(args.plan)
            environment = args.environment or environment_of(plan)
        else:
            stack = args.stack or "dev"
            environment = args.environment or stack_environment(stack)
            plan = plan_stack(stack, preview=args.preview)
    except GateInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return gate_plan(plan, environment, args.json)


def gate_plan(plan: Plan, environment: str, json_path: Path | None = None) -> int:
    """Evaluate `plan`, print the table and the summary (and the JSON result to `json_path`, '-' for stdout);
    the gate's exit status: 0 pass, 1 a mandatory violation, 2 a bad pack config. `ops plan --gate` shares it."""
    try:
        with without_cycle_collection():  # loading the botocore models is a burst of long-lived objects too
            result = evaluate(plan, environment)
    except PackConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render_table(result))
    print(result.summary())
    if json_path is not None:
        text = json.dumps(result.to_json(), indent=2) + "\n"
        if str(json_path) == "-":
            sys.stdout.write(text)
        else:
            json_path.write_text(text)
    return 0 if result.passed else 1


# --- the rule catalogue ---------------------------------------------------------------------------------------------


def render_docs() -> str:
    """docs/policies.md, generated from the rule registry and the per-environment pack configs."""
    configs = {env: load_pack_config(env) for env in ENVIRONMENTS}
    lines = [
        "# Policy rules",
        "",
        "Generated from `policy/rules` by `python -m ops docs`; a test fails when it is stale.",
        "",
        "Every rule runs in CrossGuard (`pulumi preview --policy-pack policy --policy-pack-config "
        "policy/config/<env>.json`) and offline (`python -m ops gate`). Enforcement is per environment "
        "(dev / staging / prod) from `policy/config/<env>.json`. *Unknown* says how a value not known during a "
        "preview is judged: `pass` (typically a reference to a resource being created, checked again with real "
        "values during `pulumi up`) or `fail`.",
        "",
        "*Origins* says whose resources a rule judges, read from the URN's parent-type chain: `program` (declared by "
        "the platform program), `eks` (created by pulumi-eks inside `eks:index:Cluster`) and `chart` (rendered by a "
        "`kubernetes:helm.sh/v4:Chart`). The offline gate sees only `program` resources (a remote component is one "
        "resource); a real `pulumi preview` also shows the pack the `eks` and `chart` ones.",
        "",
        f"{len(RULES)} rules.",
        "",
        (
            "| id | kind | resource types | severity | enforcement (dev / staging / prod) | unknown | origins | "
            "controls | description |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        levels = " / ".join(enforcement_for(rule, configs[env]).value for env in ENVIRONMENTS)
        types = "<br>".join(f"`{t}`" for t in rule.types) or "(whole stack)"
        if len(rule.types) > 20:  # the taggable-type list; shorter lists are shown in full
            module = rule.check.__module__.rsplit(".", 1)[-1]
            types = f"{len(rule.types)} taggable types (`TAGGABLE_TYPES` in `policy/rules/{module}.py`)"
        controls = ", ".join(rule.controls) or "—"
        origins = "all" if rule.origins == ALL_ORIGINS else ", ".join(o for o in ORIGIN_ORDER if o in rule.origins)
        lines.append(
            f"| `{rule.id}` | {rule.kind} | {types} | {rule.severity.value} | {levels} | {rule.on_unknown} | "
            f"{origins} | {controls} | {rule.description.replace('|', '/')} |"
        )
    lines += ["", "## Remediation", ""]
    for rule in RULES:
        settings = "".join(
            f" Setting `{name}` (default `{json.dumps(param.default)}`): {param.description}"
            for name, param in rule.params.items()
        )
        lines.append(f"- `{rule.id}`: {rule.remediation}{settings}")
    return "\n".join(lines) + "\n"


def run_policies(args: argparse.Namespace) -> int:
    width = max(len(r.id) for r in RULES)
    for rule in RULES:
        print(f"{rule.id:<{width}}  {rule.severity.value:<8}  {rule.enforcement.value:<9}  {rule.description}")
    print(f"{len(RULES)} rules")
    return 0
