"""The admin HTTP API under ``/_emulator/`` (JSON, no SigV4).

GET  health | calls[?operation=Op] | counters | cas
POST reset-calls | config | access-keys | roles | oidc-issuers | bootstrap
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .bootstrap import bootstrap
from .config import FaultConfig, OidcIssuerConfig, RoleConfig
from .errors import ApiError

if TYPE_CHECKING:
    from .app import Emulator

PREFIX = "/_emulator"
#: Short names accepted by POST /_emulator/config.
_ALIASES = {"delay": "issuance_delay", "throttling": "throttling_enabled"}


def _ok(data: Any = None) -> web.Response:
    return web.json_response({"ok": True} if data is None else data)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _config_view(emu: Emulator) -> dict[str, Any]:
    c = emu.config
    return {
        "account_id": c.account_id,
        "issuance_delay": c.issuance_delay,
        "throttling_enabled": c.throttling_enabled,
        "throttle_rates": c.throttle_rates,
        "faults": {op: dataclasses.asdict(f) for op, f in c.faults.items()},
        "credential_lifetime": c.credential_lifetime,
        "verify_signatures": c.verify_signatures,
        "access_keys": sorted(c.access_keys),
        "roles": sorted(emu.creds.roles),
        "oidc_issuers": sorted(emu.oidc.providers),
    }


def apply_config(emu: Emulator, data: dict[str, Any]) -> None:
    """Apply run-time settings (same keys as `EmulatorConfig`, plus clear_faults)."""
    c = emu.config
    data = {_ALIASES.get(k, k): v for k, v in data.items()}
    known = {
        "issuance_delay",
        "throttling_enabled",
        "throttle_rates",
        "faults",
        "clear_faults",
        "credential_lifetime",
        "verify_signatures",
        "reset_throttle",
        "idempotency_window",
    }
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    if "issuance_delay" in data:
        d = data["issuance_delay"]
        c.issuance_delay = (float(d[0]), float(d[1])) if isinstance(d, list | tuple) else float(d)
    if "throttling_enabled" in data:
        c.throttling_enabled = bool(data["throttling_enabled"])
    if "throttle_rates" in data:
        c.throttle_rates.update({k: float(v) for k, v in data["throttle_rates"].items()})
    if data.get("clear_faults"):
        emu.faults.clear()
    for op, f in (data.get("faults") or {}).items():
        if f is None:
            c.faults.pop(op, None)
        else:
            emu.faults.set(op, FaultConfig(**f))
    if "credential_lifetime" in data:
        v = data["credential_lifetime"]
        c.credential_lifetime = None if v is None else float(v)
    if "verify_signatures" in data:
        c.verify_signatures = bool(data["verify_signatures"])
    if "idempotency_window" in data:
        c.idempotency_window = float(data["idempotency_window"])
    if data.get("reset_throttle") or "throttle_rates" in data:
        emu.throttler.reset()


def add_routes(app: web.Application, emu: Emulator) -> None:
    async def health(_: web.Request) -> web.Response:
        return _ok(
            {"status": "ok", "cas": len(emu.store.cas), "certificates": len(emu.store.certs)}
        )

    async def calls(request: web.Request) -> web.Response:
        return web.json_response(emu.calls.calls(request.query.get("operation")))

    async def reset_calls(_: web.Request) -> web.Response:
        emu.calls.reset()
        return _ok()

    async def counters(_: web.Request) -> web.Response:
        return web.json_response(emu.calls.counters())

    async def cas(_: web.Request) -> web.Response:
        return web.json_response(
            [
                {"arn": ca.arn, "type": ca.ca_type, "status": ca.status, "region": ca.region}
                for ca in emu.store.cas.values()
            ]
        )

    async def get_config(_: web.Request) -> web.Response:
        return web.json_response(_config_view(emu))

    async def post_config(request: web.Request) -> web.Response:
        apply_config(emu, await _body(request))
        return web.json_response(_config_view(emu))

    async def access_keys(request: web.Request) -> web.Response:
        data = await _body(request)
        key_id, secret = data["access_key_id"], data["secret_access_key"]
        emu.config.access_keys[key_id] = secret
        emu.creds.add_access_key(key_id, secret, data.get("user_name"))
        return _ok()

    async def roles(request: web.Request) -> web.Response:
        role = RoleConfig(**await _body(request))
        emu.creds.add_role(role)
        return _ok({"arn": role.arn(emu.config.account_id)})

    async def oidc_issuers(request: web.Request) -> web.Response:
        emu.oidc.add(OidcIssuerConfig(**await _body(request)))
        return _ok()

    async def do_bootstrap(request: web.Request) -> web.Response:
        data = await _body(request)
        try:
            return web.json_response(await bootstrap(emu, **data))
        except ApiError as err:
            return _bad(f"{err.code}: {err.message}")

    @web.middleware
    async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(PREFIX + "/"):
            return await handler(request)  # type: ignore[no-any-return]
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(f"{type(exc).__name__}: {exc}")

    app.middlewares.append(errors)
    r = app.router
    r.add_get(f"{PREFIX}/health", health)
    r.add_get(f"{PREFIX}/calls", calls)
    r.add_post(f"{PREFIX}/reset-calls", reset_calls)
    r.add_get(f"{PREFIX}/counters", counters)
    r.add_get(f"{PREFIX}/cas", cas)
    r.add_get(f"{PREFIX}/config", get_config)
    r.add_post(f"{PREFIX}/config", post_config)
    r.add_post(f"{PREFIX}/access-keys", access_keys)
    r.add_post(f"{PREFIX}/roles", roles)
    r.add_post(f"{PREFIX}/oidc-issuers", oidc_issuers)
    r.add_post(f"{PREFIX}/bootstrap", do_bootstrap)
