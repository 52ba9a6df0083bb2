"""The one exception type the emulator raises for an AWS-style error response.

`ApiError(code, message, status)` carries the AWS error code (``__type`` for
ACM PCA, ``<Code>`` for STS) and the HTTP status; each protocol adapter turns
it into its own wire format.
"""

from __future__ import annotations

SERVER_ERROR_STATUS: dict[str, int] = {
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "InternalFailure": 500,
    "InternalServerError": 500,
    "InternalError": 500,
}


def status_for(code: str) -> int:
    """HTTP status the service uses for an error code (5xx for server faults)."""
    return SERVER_ERROR_STATUS.get(code, 400)


class ApiError(Exception):
    """An error the client should see as ``botocore.exceptions.ClientError``."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else status_for(code)
