"""Our CRD schemas against upstream v1.12.0's (config/crd/bases), structurally.

Every field, type, pattern, default, length, enum, ``required`` list and
``x-kubernetes-*`` marker of upstream's schema must be in ours, identical.
Anything we have on top must be in ALLOWED_EXTRAS with the reason it is
deliberate; descriptions are prose and not compared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from awspca_devstack.tools import upstream_module_dir

from issuer.api import names
from issuer.api.issuer import DATA_KEY_PATTERN

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "manifests" / "crds"
PLURALS = ("awspcaissuers", "awspcaclusterissuers")

# Schema keywords compared node by node (description is prose: not compared).
KEYWORDS = (
    "type",
    "format",
    "pattern",
    "default",
    "enum",
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "required",
    "x-kubernetes-map-type",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
)

# Deliberate differences: "<path>: <what>" -> why. Paths are schema paths from
# openAPIV3Schema ("" is the root), or "crd.<field>" outside the schema.
ALLOWED_EXTRAS: dict[str, str] = {
    # Session credentials (STS keys) in a Secret: upstream rejects them (DESIGN: beat it).
    ".spec.secretRef.sessionTokenSelector: extra property": "session tokens in Secrets",
    # A map keyed by type: one Ready condition per issuer, enforced by the API server.
    ".status.conditions: x-kubernetes-list-type ours='map' upstream=None": "one condition per type",
    ".status.conditions: x-kubernetes-list-map-keys ours=['type'] upstream=None": (
        "one condition per type"
    ),
    # kubectl get awspcaissuer shows Ready/Reason/Age; `kubectl get cert-manager` lists them.
    "crd.additionalPrinterColumns: extra": "Ready/Reason/Age columns",
    "crd.categories: extra": "listed by `kubectl get cert-manager`",
}


def _or_empty(pattern: str) -> str:
    return f"^({pattern[1:-1]})?$"


# Names that reach an API path must be object names, Secret keys data keys, as
# the API server itself requires: a tenant's "../../<ns>/secrets/x" is refused
# by the schema too (tests/integration/test_tenant_isolation.py). Empty stays valid.
_NAME_RULES = {
    ".spec.secretRef.name": (_or_empty(names.DNS1123_SUBDOMAIN_PATTERN), 253),
    ".spec.secretRef.namespace": (_or_empty(names.DNS1123_LABEL_PATTERN), 63),
    ".spec.serviceAccountRef.name": (_or_empty(names.DNS1123_SUBDOMAIN_PATTERN), 253),
    ".spec.serviceAccountRef.namespace": (_or_empty(names.DNS1123_LABEL_PATTERN), 63),
    ".spec.secretRef.accessKeyIDSelector.key": (_or_empty(DATA_KEY_PATTERN), 253),
    ".spec.secretRef.secretAccessKeySelector.key": (_or_empty(DATA_KEY_PATTERN), 253),
}
for _path, (_pattern, _max) in _NAME_RULES.items():
    ALLOWED_EXTRAS[f"{_path}: pattern ours={_pattern!r} upstream=None"] = "no path traversal"
    ALLOWED_EXTRAS[f"{_path}: maxLength ours={_max!r} upstream=None"] = "no path traversal"


def _crd(path: Path) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert len(docs) == 1, path
    doc: dict[str, Any] = docs[0]
    return doc


def _ours(plural: str) -> dict[str, Any]:
    return _crd(OURS / f"awspca.cert-manager.io_{plural}.yaml")


def _upstream(plural: str) -> dict[str, Any]:
    base = upstream_module_dir() / "config" / "crd" / "bases"
    return _crd(base / f"awspca.cert-manager.io_{plural}.yaml")


def schema_diff(ours: dict[str, Any], upstream: dict[str, Any], path: str = "") -> list[str]:
    """Differences of two OpenAPI schema nodes, as ``"<path>: <what>"`` lines."""
    out: list[str] = []
    for key in KEYWORDS:
        a, b = ours.get(key), upstream.get(key)
        if key == "required":
            a, b = sorted(a or []) or None, sorted(b or []) or None
        if a != b:
            out.append(f"{path}: {key} ours={a!r} upstream={b!r}")
    ours_props, up_props = ours.get("properties") or {}, upstream.get("properties") or {}
    for name in sorted(set(ours_props) | set(up_props)):
        sub = f"{path}.{name}"
        if name not in up_props:
            out.append(f"{sub}: extra property")
        elif name not in ours_props:
            out.append(f"{sub}: missing property")
        else:
            out.extend(schema_diff(ours_props[name], up_props[name], sub))
    if "items" in ours or "items" in upstream:
        out.extend(schema_diff(ours.get("items") or {}, upstream.get("items") or {}, f"{path}[]"))
    return out


def crd_diff(ours: dict[str, Any], upstream: dict[str, Any]) -> list[str]:
    """Differences of two CRDs: identity, scope, versions, and each version's schema."""
    out: list[str] = []
    o, u = ours["spec"], upstream["spec"]
    if ours["metadata"]["name"] != upstream["metadata"]["name"]:
        out.append(
            f"crd.name: ours={ours['metadata']['name']} upstream={upstream['metadata']['name']}"
        )
    for key in ("group", "scope"):
        if o.get(key) != u.get(key):
            out.append(f"crd.{key}: ours={o.get(key)!r} upstream={u.get(key)!r}")
    names = {k: v for k, v in o["names"].items() if k != "categories"}
    if names != u["names"]:
        out.append(f"crd.names: ours={names} upstream={u['names']}")
    if "categories" in o["names"] and "categories" not in u["names"]:
        out.append("crd.categories: extra")
    versions = {v["name"]: v for v in o["versions"]}
    for uv in u["versions"]:
        ov = versions.get(uv["name"])
        if ov is None:
            out.append(f"crd.versions.{uv['name']}: missing")
            continue
        for key in ("served", "storage", "subresources"):
            if ov.get(key) != uv.get(key):
                out.append(
                    f"crd.versions.{uv['name']}.{key}: ours={ov.get(key)} upstream={uv.get(key)}"
                )
        if ov.get("additionalPrinterColumns") and not uv.get("additionalPrinterColumns"):
            out.append("crd.additionalPrinterColumns: extra")
        out.extend(schema_diff(ov["schema"]["openAPIV3Schema"], uv["schema"]["openAPIV3Schema"]))
    return out


@pytest.mark.parametrize("plural", PLURALS)
def test_our_crd_matches_upstream_v1_12_but_for_commented_extras(plural: str) -> None:
    diff = crd_diff(_ours(plural), _upstream(plural))
    unexpected = [d for d in diff if d not in ALLOWED_EXTRAS]
    assert not unexpected, "differences from upstream v1.12.0 not in ALLOWED_EXTRAS:\n" + "\n".join(
        unexpected
    )


@pytest.mark.parametrize("plural", PLURALS)
def test_every_allowed_extra_is_still_a_difference(plural: str) -> None:
    """The allow-list cannot hide anything: each entry names a difference that exists."""
    diff = set(crd_diff(_ours(plural), _upstream(plural)))
    assert set(ALLOWED_EXTRAS) <= diff, sorted(set(ALLOWED_EXTRAS) - diff)


def test_the_diff_sees_each_kind_of_change() -> None:
    """The comparison itself: a dropped field, a changed pattern, default, required, map type."""
    up = _upstream("awspcaissuers")
    base = up["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec = base["properties"]["spec"]
    mutations: dict[str, Callable[[dict[str, Any]], object]] = {
        "missing property": lambda s: s["properties"].pop("notBeforeOffset"),
        "pattern": lambda s: s["properties"]["notBeforeOffset"].update(pattern="^.*$"),
        "default": lambda s: s["properties"]["secretRef"]["properties"]["accessKeyIDSelector"][
            "properties"
        ]["name"].pop("default"),
        "required": lambda s: s["properties"]["serviceAccountRef"].pop("required"),
        "x-kubernetes-map-type": lambda s: s["properties"]["secretRef"].pop(
            "x-kubernetes-map-type"
        ),
        "type": lambda s: s["properties"]["arn"].update(type="integer"),
        "maxLength": lambda s: s["properties"]["notBeforeOffset"].pop("maxLength"),
    }
    for what, mutate in mutations.items():
        changed = yaml.safe_load(yaml.safe_dump(spec))
        mutate(changed)
        diff = schema_diff(changed, spec, ".spec")
        assert len(diff) == 1, (what, diff)
        assert what in diff[0], (what, diff)
