"""Where the API server is and how to authenticate to it: kubeconfig or in-cluster.

Read without kubernetes_asyncio's model-heavy import for the common cases
(client certificates, bearer tokens, token files, in-cluster ServiceAccount);
kubeconfigs that need an exec plugin or an auth provider are handed to
kubernetes_asyncio's loader, imported only then.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_REREAD_SECONDS = 60.0


class KubeConfigError(RuntimeError):
    """The kubeconfig or the in-cluster environment cannot be used."""


@dataclass
class ClusterAccess:
    """Server URL, TLS settings and a way to get the current bearer token (if any)."""

    server: str
    ssl_context: ssl.SSLContext
    token_source: Callable[[], Awaitable[str | None]] | None = None
    namespace: str = "default"

    async def token(self) -> str | None:
        if self.token_source is None:
            return None
        return await self.token_source()


def _token_file_source(path: Path) -> Callable[[], Awaitable[str | None]]:
    """Re-read a (rotated) token file at most once a minute."""
    cache: list[Any] = [0.0, None]

    async def source() -> str | None:
        now = time.monotonic()
        if cache[1] is None or now - cache[0] > TOKEN_REREAD_SECONDS:
            cache[1] = path.read_text().strip()
            cache[0] = now
        token: str | None = cache[1]
        return token

    return source


def _static_source(token: str) -> Callable[[], Awaitable[str | None]]:
    async def source() -> str | None:
        return token

    return source


def _ssl_context(
    ca_data: bytes | None,
    ca_file: str | None,
    cert: tuple[bytes | None, str | None],
    key: tuple[bytes | None, str | None],
    insecure: bool,
) -> ssl.SSLContext:
    # As client-go: the cluster's CA when one is given, and then only it; the
    # system's roots otherwise (loading them costs ~17 ms and ~1.3 MiB).
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    if ca_data:
        ctx.load_verify_locations(cadata=ca_data.decode())
    elif ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    else:
        ctx.load_default_certs()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    cert_data, cert_file = cert
    key_data, key_file = key
    if cert_data or cert_file:
        # ssl wants files; write inline data to private temp files and drop them.
        with tempfile.TemporaryDirectory() as d:
            cpath = cert_file or _write_private(Path(d) / "c.pem", cert_data or b"")
            kpath = key_file or _write_private(Path(d) / "k.pem", key_data or b"")
            ctx.load_cert_chain(cpath, kpath)
    return ctx


def _write_private(path: Path, data: bytes) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return str(path)


def in_cluster() -> ClusterAccess:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise KubeConfigError("not in a cluster (KUBERNETES_SERVICE_HOST unset) and no kubeconfig")
    if ":" in host:
        host = f"[{host}]"
    token_file, ca_file, ns_file = (IN_CLUSTER_DIR / n for n in ("token", "ca.crt", "namespace"))
    missing = [p.name for p in (token_file, ca_file) if not p.is_file()]
    if missing:
        what = (
            f"{IN_CLUSTER_DIR} does not exist"
            if not IN_CLUSTER_DIR.is_dir()
            else f"{IN_CLUSTER_DIR} has no {' and no '.join(missing)}"
        )
        raise KubeConfigError(
            f"KUBERNETES_SERVICE_HOST is set but {what}: mount the ServiceAccount token "
            "(automountServiceAccountToken) or pass --kubeconfig"
        )
    try:
        ctx = _ssl_context(None, str(ca_file), (None, None), (None, None), False)
        namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    except (OSError, ssl.SSLError) as e:
        raise KubeConfigError(
            f"cannot read the ServiceAccount files in {IN_CLUSTER_DIR}: {_one_line(e)}"
        ) from e
    return ClusterAccess(
        server=f"https://{host}:{port}",
        ssl_context=ctx,
        token_source=_token_file_source(token_file),
        namespace=namespace,
    )


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def _b64(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value else None


def _rel(base: Path, p: str | None) -> str | None:
    if not p:
        return None
    return str(p if Path(p).is_absolute() else base / p)


async def from_kubeconfig(path: str, context: str | None = None) -> ClusterAccess:
    """Read ``path``; any problem with it is one KubeConfigError naming the file."""
    try:
        return await _from_kubeconfig(path, context)
    except KubeConfigError as e:
        if path in str(e):
            raise
        raise KubeConfigError(f"kubeconfig {path}: {e}") from e
    except FileNotFoundError as e:
        raise KubeConfigError(f"kubeconfig {path}: no such file") from e
    except (OSError, ssl.SSLError, KeyError, TypeError, ValueError) as e:
        detail = f"missing {e}" if isinstance(e, KeyError) else _one_line(e)
        raise KubeConfigError(f"kubeconfig {path} cannot be used: {detail}") from e


async def _from_kubeconfig(path: str, context: str | None) -> ClusterAccess:
    doc = _read_yaml(Path(path))
    if not isinstance(doc, dict):
        raise KubeConfigError(f"kubeconfig {path}: not a kubeconfig")
    base = Path(path).parent
    ctx_name = context or doc.get("current-context")
    ctx = _named(doc, "contexts", ctx_name)["context"]
    cluster = _named(doc, "clusters", ctx["cluster"])["cluster"]
    user = _named(doc, "users", ctx.get("user"))["user"] if ctx.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        return await _via_kubernetes_asyncio(path, ctx_name, ctx.get("namespace", "default"))
    ssl_ctx = _ssl_context(
        _b64(cluster.get("certificate-authority-data")),
        _rel(base, cluster.get("certificate-authority")),
        (_b64(user.get("client-certificate-data")), _rel(base, user.get("client-certificate"))),
        (_b64(user.get("client-key-data")), _rel(base, user.get("client-key"))),
        bool(cluster.get("insecure-skip-tls-verify")),
    )
    source = None
    if user.get("token"):
        source = _static_source(user["token"])
    elif user.get("tokenFile"):
        source = _token_file_source(Path(_rel(base, user["tokenFile"]) or ""))
    return ClusterAccess(
        server=str(cluster["server"]).rstrip("/"),
        ssl_context=ssl_ctx,
        token_source=source,
        namespace=ctx.get("namespace", "default"),
    )


def _read_yaml(path: Path) -> object:
    """The file's YAML document; a malformed one is a ValueError.

    PyYAML (~1 MiB) is imported here, only when a kubeconfig is read: a
    controller running in the cluster never loads it.
    """
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(_one_line(e)) from e


def _named(doc: dict[str, Any], section: str, name: str | None) -> dict[str, Any]:
    for item in doc.get(section) or []:
        if item.get("name") == name:
            found: dict[str, Any] = item
            return found
    raise KubeConfigError(f"kubeconfig has no {section[:-1]} named {name!r}")


async def _via_kubernetes_asyncio(path: str, context: str | None, namespace: str) -> ClusterAccess:
    from kubernetes_asyncio import client, config  # heavy: only for exec/auth-provider

    cfg = client.Configuration()
    await config.load_kube_config(config_file=path, context=context, client_configuration=cfg)
    ssl_ctx = _ssl_context(
        None,
        cfg.ssl_ca_cert,
        (None, cfg.cert_file),
        (None, cfg.key_file),
        not cfg.verify_ssl,
    )

    async def source() -> str | None:
        value = await cfg.get_api_key_with_prefix("BearerToken")
        if not value:
            return None
        token = str(value)
        return token.removeprefix("Bearer ").strip()

    return ClusterAccess(
        server=str(cfg.host).rstrip("/"),
        ssl_context=ssl_ctx,
        token_source=source,
        namespace=namespace,
    )


def default_kubeconfig() -> Path:
    """``~/.kube/config``: controller-runtime's last resort."""
    return Path.home() / ".kube" / "config"


async def load(kubeconfig: str | None) -> ClusterAccess:
    """As controller-runtime: the kubeconfig given (flag or KUBECONFIG), else the in-cluster
    configuration, else ``~/.kube/config``."""
    if kubeconfig:
        if os.pathsep in kubeconfig and not Path(kubeconfig).is_file():
            # KUBECONFIG may list several files: use the first that exists.
            paths = [p for p in kubeconfig.split(os.pathsep) if p and Path(p).is_file()]
            kubeconfig = paths[0] if paths else kubeconfig
        return await from_kubeconfig(kubeconfig)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return in_cluster()
    fallback = default_kubeconfig()
    if fallback.is_file():
        return await from_kubeconfig(str(fallback))
    raise KubeConfigError(
        f"no kubeconfig: not in a cluster (KUBERNETES_SERVICE_HOST unset), no --kubeconfig "
        f"or KUBECONFIG, and no {fallback}"
    )
