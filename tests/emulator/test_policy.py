"""IAM policy evaluation as IAM answers it: explicit Deny wins, then Allow, else
implicit deny; wildcards; Not-forms; conditions it cannot evaluate fail closed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from awspca_emulator.errors import ApiError
from awspca_emulator.policy import Decision, evaluate, parse_document

CA = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/1"


def doc(*statements: dict[str, Any]) -> Any:
    return parse_document(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


@pytest.mark.parametrize(
    ("statements", "action", "expected"),
    [
        (
            [{"Effect": "Allow", "Action": "acm-pca:*", "Resource": "*"}],
            "acm-pca:IssueCertificate",
            Decision.ALLOW,
        ),
        (
            [{"Effect": "Allow", "Action": "ACM-PCA:issuecertificate", "Resource": CA}],
            "acm-pca:IssueCertificate",
            Decision.ALLOW,
        ),
        (
            [{"Effect": "Allow", "Action": "acm-pca:Get*", "Resource": "*"}],
            "acm-pca:IssueCertificate",
            Decision.NONE,
        ),
        (
            [{"Effect": "Allow", "NotAction": "acm-pca:IssueCertificate", "Resource": "*"}],
            "acm-pca:IssueCertificate",
            Decision.NONE,
        ),
        (
            [{"Effect": "Allow", "Action": "*", "NotResource": CA}],
            "acm-pca:IssueCertificate",
            Decision.NONE,
        ),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "acm-pca:IssueCertificate", "Resource": CA},
            ],
            "acm-pca:IssueCertificate",
            Decision.DENY,
        ),
        (  # an operator the emulator does not evaluate: an Allow never applies ...
            [
                {
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ],
            "acm-pca:IssueCertificate",
            Decision.NONE,
        ),
        (  # ... and a Deny always does
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
                },
            ],
            "acm-pca:IssueCertificate",
            Decision.DENY,
        ),
    ],
)
def test_evaluate(statements: list[dict[str, Any]], action: str, expected: Decision) -> None:
    assert evaluate([doc(*statements)], action, CA) is expected


def test_string_conditions() -> None:
    d = doc(
        {
            "Effect": "Allow",
            "Action": "acm-pca:IssueCertificate",
            "Resource": "*",
            "Condition": {"StringLike": {"acm-pca:TemplateArn": "*EndEntity*"}},
        }
    )
    end_entity = {"acm-pca:TemplateArn": "arn:aws:acm-pca:::template/EndEntityCertificate/V1"}
    sub_ca = {
        "acm-pca:TemplateArn": "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1"
    }
    assert evaluate([d], "acm-pca:IssueCertificate", CA, end_entity) is Decision.ALLOW
    assert evaluate([d], "acm-pca:IssueCertificate", CA, sub_ca) is Decision.NONE
    assert evaluate([d], "acm-pca:IssueCertificate", CA, {}) is Decision.NONE


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}),
        json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"}]}
        ),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}),
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_document(text)
    assert exc.value.code == "MalformedPolicyDocument"
