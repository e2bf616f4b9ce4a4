"""Every Helm value the program sets is a key of the pinned chart (tests/schemas/charts/, from
scripts/chart_values.py): the offline engine accepts any key, a real install silently ignores a misspelt one."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ops.engine import PROJECT_DIR, RecordedResource
from scripts import chart_values
from scripts.chart_values import ChartValues, install_reference
from tests.conftest import STACKS, build_plan

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
CHART_DIR = chart_values.OUT_DIR
SHIPPED: dict[str, ChartValues] = {p.name: ChartValues.load(p) for p in sorted(CHART_DIR.glob("*.json"))}
REGENERATE = "python scripts/chart_values.py"


def shipped_for(install: str) -> list[ChartValues]:
    return [record for record in SHIPPED.values() if record.install == install]


def chart_problems(resource: RecordedResource) -> list[str]:
    """What is wrong with one Helm `Chart` of a plan against the shipped values of its pinned chart: a version
    without shipped values, a key the chart does not define, a value its values.schema.json rejects."""
    inputs = resource.inputs
    install = install_reference(inputs["chart"], (inputs.get("repositoryOpts") or {}).get("repo"))
    records = shipped_for(install)
    if not records:
        return [f"{resource.name}: no shipped values for `{install}` in tests/schemas/charts; add the chart to "
                f"CHARTS in scripts/chart_values.py and run `{REGENERATE}`"]  # fmt: skip
    matching = [record for record in records if record.version == inputs["version"]]
    if not matching:
        shipped = ", ".join(sorted(record.version for record in records))
        return [f"{resource.name}: {install} is pinned to {inputs['version']} but tests/schemas/charts has its values "
                f"for {shipped}; set that version (and its commit) in CHARTS in scripts/chart_values.py and run "
                f"`{REGENERATE}`"]  # fmt: skip
    record, values = matching[0], inputs.get("values", {})
    if not isinstance(values, dict):
        return [f"{resource.name}: values are {values!r}, not a map the check can read"]
    problems = [f"{resource.name}: {line}" for line in record.unknown_keys(values)]
    if record.schema is not None:  # Helm validates the merged values; no shipped schema has `required` (tested)
        validator = jsonschema.validators.validator_for(record.schema)(record.schema)
        problems += [f"{resource.name}: values.schema.json: {'.'.join(map(str, error.absolute_path)) or '(root)'}: "
                     f"{error.message}" for error in validator.iter_errors(values)]  # fmt: skip
    return problems


def charts_of(stack: str) -> dict[str, RecordedResource]:
    """The stack's Helm charts by chart name (the OCI reference's last segment for an OCI chart)."""
    return {r.inputs["chart"].rsplit("/", 1)[-1]: r for r in build_plan(stack).by_type(CHART_TYPE)}


# Real mistakes found today, each marked so the suite stays green while the fix is pending: none.
KNOWN_MISTAKES: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for stack in STACKS:
        for record in sorted({r.chart for r in SHIPPED.values()}):
            reason = KNOWN_MISTAKES.get((stack, record))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(stack, record, marks=marks, id=f"{stack}-{record}"))
    return cases


@pytest.mark.parametrize(("stack", "chart"), _cases())
def test_every_value_the_program_sets_is_a_key_of_its_pinned_chart(stack: str, chart: str) -> None:
    charts = charts_of(stack)
    if chart not in charts:
        pytest.skip(f"{chart} is not installed in {stack}")
    assert chart_problems(charts[chart]) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_chart_in_the_plan_has_shipped_values_at_its_pinned_version(stack: str) -> None:
    charts = charts_of(stack)
    assert charts, f"{stack} installs no Helm chart"
    for resource in charts.values():
        install = install_reference(resource.inputs["chart"], (resource.inputs.get("repositoryOpts") or {}).get("repo"))
        versions = [record.version for record in shipped_for(install)]
        assert resource.inputs["version"] in versions, chart_problems(resource)


def _dev_chart(chart: str) -> RecordedResource:
    return copy.deepcopy(charts_of("dev")[chart])


def test_a_misspelt_key_fails_naming_the_charts_key() -> None:
    karpenter = _dev_chart("karpenter")
    assert chart_problems(karpenter) == []
    karpenter.inputs["values"]["settings"]["clustername"] = karpenter.inputs["values"]["settings"].pop("clusterName")
    assert chart_problems(karpenter) == [
        "dev-addons-karpenter: `settings.clustername` is not a value of karpenter 1.8.1; did you mean "
        "`settings.clusterName`?"
    ]
    lbc = _dev_chart("aws-load-balancer-controller")
    lbc.inputs["values"]["serviceAccount"]["anotations"] = lbc.inputs["values"]["serviceAccount"].pop("annotations")
    lbc.inputs["values"]["replicas"] = lbc.inputs["values"].pop("replicaCount")
    assert chart_problems(lbc) == [
        "dev-addons-load-balancer-controller: `serviceAccount.anotations` is not a value of "
        "aws-load-balancer-controller 1.13.0; did you mean `serviceAccount.annotations`?",
        "dev-addons-load-balancer-controller: `replicas` is not a value of aws-load-balancer-controller 1.13.0; "
        "did you mean `replicaCount`?",
    ]


def test_free_form_values_pass_but_a_map_under_a_single_value_fails() -> None:
    argo = _dev_chart("argo-rollouts")
    controller = argo.inputs["values"]["controller"]
    controller["nodeSelector"]["anything.example.com/any"] = "x"
    controller["resources"] = {"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}}
    controller["podAnnotations"] = {"example.com/anything": "y"}
    assert chart_problems(argo) == []
    controller["replicas"] = {"count": 2}
    assert chart_problems(argo) == [
        "dev-addons-argo-rollouts: `controller.replicas.count` is not a value of argo-rollouts 2.40.1: its "
        "`controller.replicas` is a single value"
    ]


def test_a_value_the_charts_schema_rejects_fails() -> None:
    eso = _dev_chart("external-secrets")
    assert SHIPPED["external-secrets-1.3.2.json"].schema is not None
    eso.inputs["values"]["webhook"]["replicaCount"] = "2"
    assert chart_problems(eso) == [
        "dev-addons-external-secrets: values.schema.json: webhook.replicaCount: '2' is not of type 'integer'"
    ]


def test_a_version_bump_without_regenerating_fails_naming_the_script() -> None:
    vpa = _dev_chart("vertical-pod-autoscaler")
    vpa.inputs["version"] = "0.9.0"
    (problem,) = chart_problems(vpa)
    assert "pinned to 0.9.0 but tests/schemas/charts has its values for 0.8.1" in problem
    assert REGENERATE in problem
    vpa.inputs["repositoryOpts"] = {"repo": "https://cowboysysop.github.io/charts/"}
    (problem,) = chart_problems(vpa)
    assert "no shipped values for `https://cowboysysop.github.io/charts vertical-pod-autoscaler`" in problem


def test_every_shipped_file_is_the_generators_record_of_a_table_entry() -> None:
    assert CHART_DIR.is_relative_to(PROJECT_DIR)
    table = {source.file_name: source for source in chart_values.CHARTS}
    assert set(SHIPPED) == set(table)
    for name, source in table.items():
        data = json.loads((CHART_DIR / name).read_text())
        assert chart_values.dump(data) == (CHART_DIR / name).read_text(), f"{name} is not in canonical form"
        assert (data["chart"], data["version"], data["install"]) == (source.chart, source.version, source.install)
        assert data["source"]["url"] == (
            f"https://raw.githubusercontent.com/{source.repository}/{source.commit}/{source.path}/values.yaml"
        )
        assert len(data["source"]["commit"]) == 40
        assert data["paths"] == sorted(set(data["paths"]))
        assert set(data["open"]) <= set(data["paths"])
        assert ("schema" in data) == (source.schema_blob is not None)
        assert not re.search(r'"required": \[', json.dumps(data.get("schema"))), f"{name}: validate merged values"


FAKE_VALUES = """\
# A chart's defaults, with a comment.
replicaCount: 1
image:
  repository: example/widget
  tag: ""
serviceAccount:
  create: true
  name:
  annotations: {}
extraArgs: []
resources:
  limits: {cpu: 1}
"""
FAKE_CHART = """\
apiVersion: v2
name: widget
version: 1.2.3
dependencies:
  - {name: redis, alias: cache, version: 1.0.0, repository: "https://example.com/charts"}
"""
FAKE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "replicaCount": {"type": "integer", "description": "How many."},
        "podLabels": {"type": "object", "description": "Labels."},
        "image": {"type": "object", "properties": {"repository": {"type": "string"}, "tag": {"type": "string"}}},
    },
}


def _fake_source(**changes: Any) -> chart_values.ChartValuesSource:
    fields = {
        "chart": "widget", "version": "1.2.3", "install": "https://charts.example.com widget",
        "repository": "example/charts", "ref": "widget-1.2.3", "commit": "a" * 40, "path": "charts/widget",
        "values_blob": chart_values.git_blob_id(FAKE_VALUES.encode())[:12],
        "schema_blob": chart_values.git_blob_id(json.dumps(FAKE_SCHEMA).encode())[:12],
    }  # fmt: skip
    return chart_values.ChartValuesSource(**{**fields, **changes})


def _chart_dir(root: Path, values: str = FAKE_VALUES, chart: str = FAKE_CHART) -> Path:
    directory = root / "widget"
    directory.mkdir(parents=True)
    (directory / "values.yaml").write_text(values)
    (directory / "Chart.yaml").write_text(chart)
    (directory / "values.schema.json").write_text(json.dumps(FAKE_SCHEMA))
    return directory


def test_regenerating_from_a_local_chart_is_deterministic_and_checkable(tmp_path) -> None:
    _chart_dir(tmp_path / "pulled")
    out, source = tmp_path / "charts", (_fake_source(),)
    assert chart_values.main(["--from", str(tmp_path / "pulled"), "--out", str(out)], sources=source) == 0
    first = (out / "widget-1.2.3.json").read_bytes()
    record = json.loads(first)
    assert record["paths"] == [
        "cache", "extraArgs", "image", "image.repository", "image.tag", "podLabels", "replicaCount", "resources",
        "serviceAccount", "serviceAccount.annotations", "serviceAccount.create", "serviceAccount.name",
    ]  # fmt: skip
    assert record["open"] == ["cache", "extraArgs", "podLabels", "resources", "serviceAccount.annotations"]
    assert record["dependencies"] == ["cache"]
    assert record["schema"]["properties"]["replicaCount"] == {"type": "integer"}  # documentation dropped
    base = f"https://raw.githubusercontent.com/example/charts/{'a' * 40}/charts/widget"
    assert record["source"]["url"] == f"{base}/values.yaml"

    one = ["--chart", "widget", "--from", str(tmp_path / "pulled" / "widget" / "values.yaml"), "--out", str(out)]
    assert chart_values.main([*one, "--check"], sources=source) == 0
    (out / "widget-1.2.3.json").write_text("{}\n")
    (out / "widget-1.2.2.json").write_text("{}\n")  # the previous version's file, no longer generated
    assert chart_values.main([*one, "--check"], sources=source) == 1
    assert chart_values.main(one, sources=source) == 0
    assert [p.name for p in out.iterdir()] == ["widget-1.2.3.json"]
    assert (out / "widget-1.2.3.json").read_bytes() == first


def test_the_default_reads_the_pinned_commit_from_github(tmp_path, monkeypatch) -> None:
    directory = _chart_dir(tmp_path)
    fetched: list[str] = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        fetched.append(url)
        return io.BytesIO((directory / url.rsplit("/", 1)[-1]).read_bytes())

    monkeypatch.setattr(chart_values.urllib.request, "urlopen", urlopen)
    assert chart_values.main(["--out", str(tmp_path / "out")], sources=(_fake_source(),)) == 0
    base = f"https://raw.githubusercontent.com/example/charts/{'a' * 40}/charts/widget"
    assert fetched == [f"{base}/values.yaml", f"{base}/Chart.yaml", f"{base}/values.schema.json"]


@pytest.mark.parametrize(
    ("values", "chart", "message"),
    [
        (FAKE_VALUES + "extra: 1\n", FAKE_CHART, "widget values.yaml: git blob"),
        (FAKE_VALUES, FAKE_CHART.replace("1.2.3", "1.2.4"), "chart widget 1.2.4, expected widget 1.2.3"),
    ],
    ids=["edited-values", "wrong-chart-version"],
)
def test_a_local_copy_that_is_not_the_pinned_chart_is_refused(tmp_path, capsys, values, chart, message) -> None:
    _chart_dir(tmp_path, values, chart)
    out = tmp_path / "out"
    assert chart_values.main(["--from", str(tmp_path), "--out", str(out)], sources=(_fake_source(),)) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
