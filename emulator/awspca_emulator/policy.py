"""IAM policy documents: parsing, validation and evaluation (pure, no state).

A document is ``{"Version": ..., "Statement": [...]}``; each statement has an
``Effect`` (Allow/Deny), ``Action`` or ``NotAction`` and ``Resource`` or
``NotResource`` (a string or a list, ``*`` and ``?`` wildcards, actions
case-insensitive) and optionally a ``Condition``. Conditions are understood
for the string operators only (StringEquals, StringLike and their Not forms);
a statement whose condition uses another operator fails closed: an Allow
never applies, a Deny always does.

`evaluate` answers what IAM answers: an explicit Deny wins, then an Allow,
else implicit deny.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import ApiError

MAX_DOCUMENT_LENGTH = 6144


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"  # no statement applies: implicit deny


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[str, ...]
    not_resources: bool
    condition: Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True)
class PolicyDocument:
    statements: tuple[Statement, ...]


def _malformed(message: str) -> ApiError:
    return ApiError("MalformedPolicyDocument", message)


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _malformed(f"{name} must be a string or a non-empty list of strings")


def _one_of(stmt: dict[str, Any], a: str, b: str) -> tuple[tuple[str, ...], bool]:
    if (a in stmt) == (b in stmt):
        raise _malformed(f"a statement needs exactly one of {a} and {b}")
    return (_strings(stmt[a], a), False) if a in stmt else (_strings(stmt[b], b), True)


def _condition(raw: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _malformed("Condition must be an object")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for op, block in raw.items():
        if not isinstance(block, dict):
            raise _malformed("a Condition operator must map keys to values")
        out[str(op)] = {str(k): _strings(v, "Condition value") for k, v in block.items()}
    return out


def parse_document(text: str) -> PolicyDocument:
    """Parse and validate a policy document as CreatePolicy receives it."""
    if len(text) > MAX_DOCUMENT_LENGTH:
        raise ApiError(
            "LimitExceeded",
            f"Cannot exceed quota for PolicySize: {MAX_DOCUMENT_LENGTH}",
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _malformed("Syntax errors in policy.") from exc
    if not isinstance(data, dict) or "Statement" not in data:
        raise _malformed("Policy document must be an object with a Statement")
    raw = data["Statement"]
    raw_list = raw if isinstance(raw, list) else [raw]
    statements = []
    for stmt in raw_list:
        if not isinstance(stmt, dict):
            raise _malformed("Statement entries must be objects")
        effect = stmt.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise _malformed("Effect must be Allow or Deny")
        actions, not_actions = _one_of(stmt, "Action", "NotAction")
        resources, not_resources = _one_of(stmt, "Resource", "NotResource")
        statements.append(
            Statement(
                effect=effect,
                actions=actions,
                not_actions=not_actions,
                resources=resources,
                not_resources=not_resources,
                condition=_condition(stmt.get("Condition")),
            )
        )
    return PolicyDocument(tuple(statements))


def _match(value: str, patterns: tuple[str, ...], *, fold: bool) -> bool:
    v = value.lower() if fold else value
    return any(fnmatch.fnmatchcase(v, p.lower() if fold else p) for p in patterns)


_STRING_OPS = {
    "StringEquals": (False, False),
    "StringLike": (True, False),
    "StringNotEquals": (False, True),
    "StringNotLike": (True, True),
}


def _condition_holds(
    condition: Mapping[str, Mapping[str, tuple[str, ...]]], context: Mapping[str, str]
) -> bool | None:
    """True/False, or None when an operator is not understood."""
    for op, block in condition.items():
        if op not in _STRING_OPS:
            return None
        like, negate = _STRING_OPS[op]
        for key, values in block.items():
            actual = context.get(key)
            if actual is None:
                hit = False
            elif like:
                hit = any(fnmatch.fnmatchcase(actual, v) for v in values)
            else:
                hit = actual in values
            if hit == negate:
                return False
    return True


def _applies(stmt: Statement, action: str, resource: str, context: Mapping[str, str]) -> bool:
    if _match(action, stmt.actions, fold=True) == stmt.not_actions:
        return False
    if _match(resource, stmt.resources, fold=False) == stmt.not_resources:
        return False
    holds = _condition_holds(stmt.condition, context)
    if holds is None:  # fail closed
        return stmt.effect == "Deny"
    return holds


def evaluate(
    documents: list[PolicyDocument],
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> Decision:
    """IAM's answer for one action on one resource over a set of documents."""
    ctx = context or {}
    allowed = False
    for doc in documents:
        for stmt in doc.statements:
            if _applies(stmt, action, resource, ctx):
                if stmt.effect == "Deny":
                    return Decision.DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.NONE
