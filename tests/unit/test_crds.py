"""Our CRDs: generated from one schema, and compatible with the Go issuer's fields."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "manifests" / "crds"


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((CRDS / f"awspca.cert-manager.io_{name}.yaml").read_text())
    return doc


def test_crd_files_are_what_the_generator_makes() -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "gen_crds.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_both_kinds_share_one_schema_and_differ_in_scope() -> None:
    ns, cl = _load("awspcaissuers"), _load("awspcaclusterissuers")
    assert ns["spec"]["scope"] == "Namespaced"
    assert cl["spec"]["scope"] == "Cluster"
    schema = [c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for c in (ns, cl)]
    assert schema[0]["properties"] == schema[1]["properties"]


def test_the_go_issuers_fields_are_all_there() -> None:
    v = _load("awspcaissuers")["spec"]["versions"][0]
    assert v["name"] == "v1beta1"
    assert v["subresources"] == {"status": {}}
    spec = v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert {"arn", "region", "role", "secretRef", "pcaTemplate"} <= set(spec)
    ref = spec["secretRef"]["properties"]
    assert {"name", "namespace", "accessKeyIDSelector", "secretAccessKeySelector"} <= set(ref)
    assert ref["accessKeyIDSelector"]["properties"]["key"]["type"] == "string"
    assert "defaultTemplateName" in spec["pcaTemplate"]["properties"]
    cols = [c["name"] for c in v["additionalPrinterColumns"]]
    assert cols == ["Ready", "Reason", "Age"]
