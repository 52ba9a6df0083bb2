"""Generate manifests/crds/ (our two CRDs) from one schema, so they cannot drift apart.

Run: ``.venv/bin/python hack/gen_crds.py`` (``--check`` exits 1 when the files differ).
The schema keeps every field of the Go issuer's v1.12.0 v1beta1 CRDs (types,
patterns, defaults, required, map types); fields we add are optional
(sessionTokenSelector). tests/unit/test_crd_parity.py compares the two.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from issuer.api import issuer as issuer_api
from issuer.api import names

GROUP = names.GROUP


def _or_empty(pattern: str) -> str:
    """An anchored ``^...$`` pattern that also accepts the empty string."""
    return f"^({pattern[1:-1]})?$"


# Names that reach an API path must be object names (DNS-1123), as the API
# server itself requires: the controller's own rules (issuer/api), also in the
# schema. Empty stays allowed (Go clients send empty fields).
OBJECT_NAME = {
    "maxLength": names.DNS1123_SUBDOMAIN_MAX,
    "pattern": _or_empty(names.DNS1123_SUBDOMAIN_PATTERN),
}
NAMESPACE_NAME = {
    "maxLength": names.DNS1123_LABEL_MAX,
    "pattern": _or_empty(names.DNS1123_LABEL_PATTERN),
}
SECRET_KEY = {
    "maxLength": issuer_api.DATA_KEY_MAX,
    "pattern": _or_empty(issuer_api.DATA_KEY_PATTERN),
}
OUT = Path(__file__).resolve().parents[1] / "manifests" / "crds"


def _selector(what: str) -> dict[str, Any]:
    """A v1 SecretKeySelector, as upstream embeds it (atomic; only ``key`` is read)."""
    return {
        "description": f"Selects the key of the Secret that holds the {what}.",
        "type": "object",
        "required": ["key"],
        "properties": {
            "key": {"description": "Key in the Secret's data.", "type": "string", **SECRET_KEY},
            "name": {
                "description": "Ignored; kept for compatibility.",
                "type": "string",
                "default": "",
            },
            "optional": {"description": "Ignored; kept for compatibility.", "type": "boolean"},
        },
        "x-kubernetes-map-type": "atomic",
    }


def _spec() -> dict[str, Any]:
    return {
        "description": "Where and how to reach the AWS Private CA.",
        "type": "object",
        "properties": {
            "arn": {"description": "ARN of the AWS Private CA.", "type": "string"},
            "notBeforeOffset": {
                "description": "How far before the issuance time NotBefore of issued "
                "certificates lies (a Go duration, at most 24h). Defaults to 15m.",
                "type": "string",
                "maxLength": 32,
                "pattern": "^([0-9]{1,5}(s|m|h))+$",
            },
            "region": {
                "description": "AWS region; taken from the ARN or AWS_REGION when empty.",
                "type": "string",
            },
            "role": {
                "description": "ARN of an IAM role to assume on top of the base credentials "
                "(required with serviceAccountRef).",
                "type": "string",
            },
            "secretRef": {
                "description": "Static credentials from a Secret (instead of ambient/IRSA). "
                "Only a non-empty name names a Secret.",
                "type": "object",
                "properties": {
                    "name": {
                        "description": "Name of the Secret.",
                        "type": "string",
                        **OBJECT_NAME,
                    },
                    "namespace": {
                        "description": "Namespace of the Secret. A namespaced issuer may only "
                        "name its own namespace.",
                        "type": "string",
                        **NAMESPACE_NAME,
                    },
                    "accessKeyIDSelector": _selector("access key ID (default AWS_ACCESS_KEY_ID)"),
                    "secretAccessKeySelector": _selector(
                        "secret access key (default AWS_SECRET_ACCESS_KEY)"
                    ),
                    "sessionTokenSelector": _selector(
                        "session token (optional; default AWS_SESSION_TOKEN when present)"
                    ),
                },
                "x-kubernetes-map-type": "atomic",
            },
            "serviceAccountRef": {
                "description": "A ServiceAccount whose token (TokenRequest, audience "
                "sts.amazonaws.com) is exchanged for spec.role with "
                "AssumeRoleWithWebIdentity. The controller needs RBAC to create tokens "
                "for it. Cannot be set with secretRef.name.",
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {
                        "description": "Name of the ServiceAccount.",
                        "type": "string",
                        **OBJECT_NAME,
                    },
                    "namespace": {
                        "description": "Namespace of the ServiceAccount. Required for an "
                        "AWSPCAClusterIssuer; an AWSPCAIssuer may only name its own.",
                        "type": "string",
                        **NAMESPACE_NAME,
                    },
                },
            },
            "pcaTemplate": {
                "description": "Template choice.",
                "type": "object",
                "properties": {
                    "defaultTemplateName": {
                        "description": "Template used for every request of this issuer, "
                        "e.g. EndEntityClientAuthCertificate/V1.",
                        "type": "string",
                    }
                },
            },
        },
    }


def _condition() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["lastTransitionTime", "message", "reason", "status", "type"],
        "properties": {
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "message": {"type": "string", "maxLength": 32768},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "reason": {
                "type": "string",
                "maxLength": 1024,
                "minLength": 1,
                "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            },
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "type": {
                "type": "string",
                "maxLength": 316,
                "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            },
        },
    }


def crd(kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": plural[:-1],
                "categories": ["cert-manager"],
            },
            "scope": scope,
            "versions": [
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                        },
                        {
                            "name": "Reason",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "description": f"{kind} signs cert-manager CertificateRequests "
                            "with an AWS Private CA.",
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": _spec(),
                                "status": {
                                    "type": "object",
                                    "properties": {
                                        "conditions": {
                                            "type": "array",
                                            "items": _condition(),
                                            "x-kubernetes-list-type": "map",
                                            "x-kubernetes-list-map-keys": ["type"],
                                        }
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


def render() -> dict[str, str]:
    out = {}
    for kind, plural, scope in (
        ("AWSPCAIssuer", "awspcaissuers", "Namespaced"),
        ("AWSPCAClusterIssuer", "awspcaclusterissuers", "Cluster"),
    ):
        body = yaml.safe_dump(crd(kind, plural, scope), sort_keys=False, width=100)
        out[f"{GROUP}_{plural}.yaml"] = (
            "# Generated by hack/gen_crds.py; do not edit.\n---\n" + body
        )
    return out


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [
            n for n, t in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != t
        ]
        if stale:
            print(f"stale CRDs (run hack/gen_crds.py): {stale}")
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
