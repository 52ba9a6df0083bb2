"""ACM PCA's input constraints, read from botocore's service model, enforced like the service.

The service checks every input member against its shape before running an
operation: lengths of strings, blobs and lists (``min``/``max``), string
patterns, numeric ranges and enums (a 32,769-byte CSR, a 201-character or
malformed ARN, a 37-character idempotency token are refused). botocore
checks only some of these on the client side, so the emulator applies the
whole model and answers ``ValidationException`` with the service's wording,
naming the member but never echoing its value.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import ApiError

SERVICE = "acm-pca"


@functools.cache
def _model() -> dict[str, Any]:
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(SERVICE, "service-2")
    return model


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.ASCII | re.DOTALL)


def _member_path(parent: str, name: str) -> str:
    name = name[:1].lower() + name[1:]
    return f"{parent}.{name}" if parent else name


def _check(value: Any, shape_name: str, path: str, errors: list[str]) -> None:
    shapes = _model()["shapes"]
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return
        members = shape.get("members", {})
        for name, member in members.items():
            if name in value and value[name] is not None:
                _check(value[name], member["shape"], _member_path(path, name), errors)
        return
    if kind == "list":
        if not isinstance(value, list):
            return
        _length(len(value), shape, path, errors)
        for i, item in enumerate(value):
            _check(item, shape["member"]["shape"], f"{path}.{i + 1}.member", errors)
        return
    if kind == "string" and isinstance(value, str):
        _length(len(value), shape, path, errors)
        if "enum" in shape and value not in shape["enum"]:
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must satisfy enum "
                f"value set: [{', '.join(shape['enum'])}]"
            )
        elif "pattern" in shape and not _pattern(shape["pattern"]).fullmatch(value):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {shape['pattern']}"
            )
    elif kind == "blob" and isinstance(value, bytes | str):
        _length(len(value), shape, path, errors)
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        _bounds(value, shape, path, errors, "value")


def _length(n: int, shape: dict[str, Any], path: str, errors: list[str]) -> None:
    _bounds(n, shape, path, errors, "length")


def _bounds(n: int, shape: dict[str, Any], path: str, errors: list[str], what: str) -> None:
    """The model's min/max on ``n`` (a number's value or a member's length)."""
    if "min" in shape and n < shape["min"]:
        errors.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have {what} "
            f"greater than or equal to {shape['min']}"
        )
    if "max" in shape and n > shape["max"]:
        errors.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have {what} "
            f"less than or equal to {shape['max']}"
        )


def check_input(operation: str, params: dict[str, Any]) -> None:
    """Raise ValidationException if ``params`` break the model's constraints for ``operation``.

    Blob members must already be decoded to bytes (their limits count bytes).
    Unknown operations are left to the caller.
    """
    op = _model()["operations"].get(operation)
    if op is None or "input" not in op:
        return
    errors: list[str] = []
    _check(params, op["input"]["shape"], "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ApiError(
            "ValidationException", f"{count} validation {noun} detected: " + "; ".join(errors)
        )
