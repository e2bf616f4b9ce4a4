"""The CRD schemas shipped in tests/schemas/crds/: how scripts/crd_schemas.py reduces and records them, and that
the validator built on them (tests/manifests.py) catches mistakes and names a missing schema clearly."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ops.engine import PROJECT_DIR
from scripts import crd_schemas
from tests.conftest import stack_config
from tests.manifests import (
    CRD_DIR,
    MissingCrdSchemaError,
    has_crd,
    validate_custom_resource,
    validate_object,
)

SHIPPED = {p.name for p in CRD_DIR.glob("*.json")} - {crd_schemas.SOURCES_FILE}
SOURCES = json.loads((CRD_DIR / crd_schemas.SOURCES_FILE).read_text())

FAKE_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        description: A widget.
        type: object
        properties:
          spec:
            description: What the widget should be.
            type: object
            required: [operator]
            properties:
              operator:
                description: How to compare.
                type: string
                enum: [=, "!="]
  - name: v1beta1
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true, example: {any: thing}}
"""


def test_the_reduction_drops_documentation_but_keeps_structure_and_fields_named_description() -> None:
    schema = {
        "description": "A thing.",
        "type": "object",
        "required": ["spec"],
        "x-kubernetes-validations": [{"rule": "has(self.spec)", "message": "spec is required"}],
        "properties": {
            "spec": {
                "description": "The spec.",
                "example": {"description": "not a schema"},
                "type": "object",
                "default": {"description": "data, kept"},
                "properties": {
                    "description": {"description": "A field called description.", "type": "string", "maxLength": 9},
                    "port": {
                        "anyOf": [{"type": "integer", "description": "n"}, {"type": "string"}],
                        "x-kubernetes-int-or-string": True,
                    },
                    "tags": {
                        "type": "array",
                        "x-kubernetes-list-type": "set",
                        "items": {"type": "string", "description": "A tag.", "enum": ["a", "b"]},
                    },
                    "labels": {
                        "type": "object",
                        "nullable": True,
                        "additionalProperties": {"type": "string", "description": "A value."},
                    },
                },
            }
        },
    }
    assert crd_schemas.reduce_schema(schema) == {
        "type": "object",
        "required": ["spec"],
        "x-kubernetes-validations": [{"rule": "has(self.spec)", "message": "spec is required"}],
        "properties": {
            "spec": {
                "type": "object",
                "default": {"description": "data, kept"},
                "properties": {
                    "description": {"type": "string", "maxLength": 9},
                    "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
                    "tags": {
                        "type": "array",
                        "x-kubernetes-list-type": "set",
                        "items": {"type": "string", "enum": ["a", "b"]},
                    },
                    "labels": {"type": "object", "nullable": True, "additionalProperties": {"type": "string"}},
                },
            }
        },
    }


def test_every_shipped_schema_has_a_source_record_matching_the_table() -> None:
    assert CRD_DIR.is_relative_to(PROJECT_DIR)
    assert set(SOURCES) == SHIPPED
    table = {source.kind: source for source in crd_schemas.CRDS}
    assert {record["kind"] for record in SOURCES.values()} == set(table), "table and shipped files disagree"
    for name, record in SOURCES.items():
        source = table[record["kind"]]
        assert name == crd_schemas.schema_file_name(record["apiVersion"], record["kind"])
        assert record == {
            "apiVersion": record["apiVersion"], "kind": source.kind, "project": source.project,
            "repository": source.upstream.repository, "version": source.upstream.version,
            "commit": source.upstream.commit, "path": source.path, "url": source.url,
        }  # fmt: skip
        assert record["url"].startswith(f"https://raw.githubusercontent.com/{record['repository']}/{record['commit']}/")
        assert len(record["commit"]) == 40
        text = (CRD_DIR / name).read_text()
        schema = json.loads(text)
        assert crd_schemas.reduce_schema(schema) == schema, f"{name} still has documentation keys"
        assert crd_schemas.dump(schema) == text, f"{name} is not in the generator's canonical form"


def _regenerate(source_dir: Path, out: Path, *extra: str) -> int:
    """Run the script over FAKE_CRD's two CRDs (project `example`, read as `example__widgets.yaml`)."""
    blob = crd_schemas.git_blob_id(FAKE_CRD.encode())[:12]
    fake = tuple(crd_schemas.CrdSource("example", kind, "deploy/widgets.yaml", blob) for kind in ("Widget", "Gadget"))
    return crd_schemas.main(["--from", str(source_dir), "--out", str(out), *extra], sources=fake)


def test_regenerating_from_local_copies_is_deterministic_and_checkable(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(crd_schemas.UPSTREAMS, "example", crd_schemas.Upstream("example/widgets", "v1.0.0", "a" * 40))
    source_dir, out = tmp_path / "upstream", tmp_path / "crds"
    source_dir.mkdir()
    (source_dir / "example__widgets.yaml").write_text(FAKE_CRD)

    assert _regenerate(source_dir, out) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(first) == {"example.com_v1_Widget.json", "example.com_v1_Gadget.json", "SOURCES.json"}  # no v1beta1
    widget = json.loads(first["example.com_v1_Widget.json"])
    assert "description" not in widget
    assert "description" not in widget["properties"]["spec"]
    assert widget["properties"]["spec"]["properties"]["operator"]["enum"] == ["=", "!="]  # bare `=` is a string
    assert json.loads(first["SOURCES.json"])["example.com_v1_Gadget.json"]["url"] == (
        f"https://raw.githubusercontent.com/example/widgets/{'a' * 40}/deploy/widgets.yaml"
    )

    assert _regenerate(source_dir, out) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert _regenerate(source_dir, out, "--check") == 0

    (out / "example.com_v1_Widget.json").write_text("{}\n")
    (out / "example.com_v2_Stale.json").write_text("{}\n")
    assert _regenerate(source_dir, out, "--check") == 1
    assert _regenerate(source_dir, out) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_a_local_copy_that_is_not_the_pinned_blob_is_refused(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(crd_schemas.UPSTREAMS, "example", crd_schemas.Upstream("example/widgets", "v1.0.0", "a" * 40))
    (tmp_path / "example__widgets.yaml").write_text(FAKE_CRD + "# edited\n")
    assert _regenerate(tmp_path, tmp_path / "crds") == 2
    assert "example__widgets.yaml: git blob" in capsys.readouterr().err
    assert not (tmp_path / "crds").exists()


def test_a_custom_resource_without_a_shipped_schema_fails_naming_it_and_the_fix() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    assert not has_crd("example.com/v1", "Widget")
    message = r"apiVersion 'example\.com/v1' kind 'Widget'.*python scripts/crd_schemas\.py"
    with pytest.raises(MissingCrdSchemaError, match=message) as raised:
        validate_custom_resource(widget)
    assert not isinstance(raised.value, KeyError)
    with pytest.raises(MissingCrdSchemaError, match=message):
        validate_object(widget, stack_config("dev").cluster.version)


def test_a_shipped_schema_rejects_a_misspelt_field_and_accepts_a_valid_object() -> None:
    external_secret = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": "app"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "SecretStore", "name": "reader"},
            "target": {"name": "db", "creationPolicy": "Owner"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "app/db", "property": "password"}}],
        },
    }
    assert has_crd("external-secrets.io/v1", "ExternalSecret")
    validate_custom_resource(external_secret)
    validate_object(external_secret, stack_config("dev").cluster.version)
    external_secret["spec"]["refreshIntervall"] = external_secret["spec"].pop("refreshInterval")
    with pytest.raises(jsonschema.ValidationError, match="refreshIntervall"):
        validate_custom_resource(external_secret)
