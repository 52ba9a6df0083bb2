"""The chart's values are documented, complete and consistent, without running helm.

- every key of the Go issuer's chart (v1.12.0) is in values.yaml and in the schema;
- the values table in the chart README is generated from values.yaml's ``# --``
  comments and must match it (``make manifests`` rewrites it:
  ``python -m tests.unit.test_chart_docs``);
- the chart's CRDs (``files/crds/``, rendered by templates/crds.yaml) are
  byte-identical to ``manifests/crds/`` (the source of truth);
- chart defaults agree with the controller's (Lease name).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from issuer.config import Config

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "aws-privateca-issuer"
README = CHART / "README.md"
BEGIN = "<!-- BEGIN VALUES TABLE (generated from values.yaml: make manifests) -->"
END = "<!-- END VALUES TABLE -->"

#: Every value key of the Go aws-privateca-issuer chart (charts/aws-pca-issuer, v1.12.0): its
#: values.yaml plus targetMemoryUtilizationPercentage, which its templates read but its
#: values.yaml only shows in a comment. tests/e2e/test_chart_render.py checks this list
#: against the Go chart's source.
UPSTREAM_KEYS = (
    "replicaCount",
    "image.repository",
    "image.pullPolicy",
    "image.tag",
    "disableApprovedCheck",
    "disableClientSideRateLimiting",
    "disableClusterIssuerAmbientCredentials",
    "enableIssuerAmbientCredentials",
    "imagePullSecrets",
    "nameOverride",
    "fullnameOverride",
    "revisionHistoryLimit",
    "serviceAccount.create",
    "serviceAccount.annotations",
    "serviceAccount.name",
    "rbac.create",
    "service.type",
    "service.port",
    "deploymentAnnotations",
    "podAnnotations",
    "podSecurityContext",
    "securityContext",
    "resources",
    "nodeSelector",
    "tolerations",
    "affinity",
    "topologySpreadConstraints",
    "priorityClassName",
    "env",
    "podLabels",
    "volumes",
    "volumeMounts",
    "extraContainers",
    "podDisruptionBudget",
    "autoscaling.enabled",
    "autoscaling.minReplicas",
    "autoscaling.maxReplicas",
    "autoscaling.targetCPUUtilizationPercentage",
    "autoscaling.targetMemoryUtilizationPercentage",
    "approverRole.enabled",
    "approverRole.serviceAccountName",
    "approverRole.namespace",
    "serviceMonitor.create",
    "serviceMonitor.annotations",
    "serviceMonitor.labels",
)

_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z][A-Za-z0-9_]*):(?:\s|$)")


def documented_values(text: str) -> list[tuple[str, str, str]]:
    """(section, dotted key, description) for each key preceded by a ``# --`` comment."""
    out: list[tuple[str, str, str]] = []
    stack: list[tuple[int, str]] = []
    section = ""
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# +docs:section="):
            section = stripped.split("=", 1)[1].strip()
            pending = []
            continue
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
            continue
        if pending and stripped.startswith("#"):
            pending.append(stripped[1:].strip())
            continue
        m = _KEY.match(line)
        if m is None:
            if not stripped:
                pending = []
            continue
        indent = len(m.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group("key")))
        if pending:
            out.append((section, ".".join(k for _, k in stack), " ".join(pending)))
            pending = []
    return out


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


def values_table(values_text: str) -> str:
    """The markdown values table (one per section) for the README."""
    values = yaml.safe_load(values_text)
    lines: list[str] = []
    current = None
    for section, key, desc in documented_values(values_text):
        if section != current:
            current = section
            lines += [
                "",
                f"### {section}",
                "",
                "| Key | Type | Default | Description |",
                "|---|---|---|---|",
            ]
        value = _lookup(values, key)
        default = json.dumps(value, separators=(",", ":")).replace("|", r"\|")
        text = desc.replace("|", r"\|")
        lines.append(f"| `{key}` | {_type_name(value)} | `{default}` | {text} |")
    return "\n".join([BEGIN, *lines, "", END])


def readme_with_table(readme: str, table: str) -> str:
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + table + tail


def _flat_keys(values: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for k, v in values.items():
        dotted = f"{prefix}{k}"
        keys.add(dotted)
        if isinstance(v, dict) and dotted not in _OPAQUE:
            keys |= _flat_keys(v, dotted + ".")
    return keys


#: Values that are Kubernetes objects passed through as they are.
_OPAQUE = {
    "podSecurityContext",
    "securityContext",
    "resources",
    "affinity",
    "nodeSelector",
    "podAnnotations",
    "deploymentAnnotations",
    "podLabels",
    "env",
    "podDisruptionBudget",
    "serviceAccount.annotations",
    "serviceMonitor.annotations",
    "serviceMonitor.labels",
}


def _values_text() -> str:
    return (CHART / "values.yaml").read_text()


def test_every_upstream_key_is_a_value_and_in_the_schema() -> None:
    values = yaml.safe_load(_values_text())
    keys = _flat_keys(values)
    schema = json.loads((CHART / "values.schema.json").read_text())
    for key in UPSTREAM_KEYS:
        assert key in keys, f"upstream value {key} missing from values.yaml"
        node = schema
        for part in key.split("."):
            node = node["properties"][part]


def test_schema_and_values_have_the_same_top_level_keys() -> None:
    values = yaml.safe_load(_values_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) - {"global"} == set(values)


def test_every_value_is_documented() -> None:
    text = _values_text()
    documented = {key for _, key, _ in documented_values(text)}
    values = yaml.safe_load(text)
    leaves = {
        k for k in _flat_keys(values) if k in _OPAQUE or not isinstance(_lookup(values, k), dict)
    }
    assert leaves - documented == set(), "values without a '# --' description"


def test_readme_values_table_is_in_sync() -> None:
    readme = README.read_text()
    assert BEGIN in readme
    assert END in readme
    expected = readme_with_table(readme, values_table(_values_text()))
    assert readme == expected, "chart README values table is stale: run `make manifests`"


def test_chart_crds_are_the_manifests_crds() -> None:
    ours = {p.name: p.read_bytes() for p in (ROOT / "manifests" / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (CHART / "files" / "crds").glob("*.yaml")}
    assert ours, "no CRDs in manifests/crds"
    assert chart == ours, "charts/aws-privateca-issuer/files/crds differs: run `make manifests`"
    assert not (CHART / "crds").exists(), "CRDs are templates (crds.enabled), not in crds/"


def test_chart_defaults_agree_with_the_controller() -> None:
    values = yaml.safe_load(_values_text())
    assert values["leaderElection"]["id"] == Config.leader_election_id
    assert values["workers"] == Config.workers
    assert values["awsThreads"] == Config.aws_threads


def test_upstream_values_file_sets_exactly_the_upstream_keys() -> None:
    upstream = yaml.safe_load((CHART / "ci" / "upstream-values.yaml").read_text())
    keys = _flat_keys(upstream)
    missing = [k for k in UPSTREAM_KEYS if k not in keys]
    assert missing == []
    tops = {k.split(".")[0] for k in UPSTREAM_KEYS}
    assert set(upstream) == tops


def main() -> None:
    """Rewrite the README's values table from values.yaml."""
    README.write_text(readme_with_table(README.read_text(), values_table(_values_text())))
    print(f"wrote {README.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
