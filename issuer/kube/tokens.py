"""ServiceAccount tokens from the TokenRequest API, for AWS web identity (``serviceAccountRef``).

As upstream v1.12: audience ``sts.amazonaws.com``, 600 seconds. The AWS SDK
asks for a token from a worker thread whenever it fetches or refreshes STS
credentials, so ``blocking_token_source`` runs the request on the event loop
and waits for it there. Failures are IssuerErrors (the issuer cannot
authenticate until RBAC or the ServiceAccount is fixed) or RetryableErrors.
The token itself is never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from issuer.api.names import service_account_token_path
from issuer.errors import IssuerError, Reason, RetryableError
from issuer.kube.client import ApiError, KubeClient

STS_AUDIENCE = "sts.amazonaws.com"
TOKEN_EXPIRATION_SECONDS = 600
REQUEST_TIMEOUT_SECONDS = 30.0


async def request_token(
    client: KubeClient,
    namespace: str,
    name: str,
    *,
    audience: str = STS_AUDIENCE,
    expiration_seconds: int = TOKEN_EXPIRATION_SECONDS,
) -> str:
    """A bound token for ServiceAccount ``namespace/name`` (``serviceaccounts/token`` create)."""
    path = service_account_token_path(namespace, name)  # InvalidName before any request
    what = f"failed to request token for ServiceAccount {namespace}/{name}"
    try:
        resp = await client.create(
            path,
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"audiences": [audience], "expirationSeconds": expiration_seconds},
            },
        )
    except ApiError as e:
        if e.status in (401, 403, 404, 422):
            raise IssuerError(f"{what}: {e.message}", reason=Reason.CREDENTIALS) from e
        raise RetryableError(f"{what}: {e.message}", reason=Reason.KUBERNETES_ERROR) from e
    except (TimeoutError, OSError) as e:
        raise RetryableError(f"{what}: {type(e).__name__}", reason=Reason.KUBERNETES_ERROR) from e
    token = (resp.get("status") or {}).get("token")
    if not isinstance(token, str) or not token:
        raise RetryableError(
            f"{what}: the API server returned no token", reason=Reason.KUBERNETES_ERROR
        )
    return token


def blocking_token_source(
    client: KubeClient, namespace: str, name: str, loop: asyncio.AbstractEventLoop
) -> Callable[[], str]:
    """A callable for a worker thread: mints a fresh token on ``loop`` and waits for it."""

    def token() -> str:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("blocking_token_source called on its own event loop")
        future = asyncio.run_coroutine_threadsafe(request_token(client, namespace, name), loop)
        return future.result(timeout=REQUEST_TIMEOUT_SECONDS + 5)

    return token
