"""Issuer reconciler (both kinds): is this issuer usable right now?

Pure part: ``decide_issuer_health`` (issuer_decision.py). This shell reads the
issuer, validates its spec, loads its credentials (a Secret only from the
namespace it may read), describes the CA through those credentials, writes
the Ready condition (with observedGeneration) when it changed, and publishes
the result to the registry. Ready issuers are checked again every
``issuer_recheck_seconds`` (which also notices a changed Secret), broken ones
with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime
from typing import Any

from issuer.api.certificaterequest import CONDITION_READY
from issuer.api.conditions import conditions_equal_ignoring_time, set_condition
from issuer.api.issuer import (
    IssuerView,
    ambient_refusal,
    effective_region,
    service_account_namespace,
    validate_issuer_spec,
)
from issuer.api.names import API_VERSION, IssuerKey, secret_path
from issuer.config import Config
from issuer.controllers.issuer_decision import (
    AMBIENT_DISALLOWED_MESSAGE,
    REASON_AMBIENT_DISABLED,
    REASON_NOT_CHECKED,
    decide_issuer_health,
    keeps_last_good_state,
)
from issuer.controllers.registry import IssuerRegistry, ReadyIssuer
from issuer.errors import IssuerControllerError, IssuerError, Reason
from issuer.kube.client import ApiError, KubeClient, NotFound
from issuer.kube.events import EventRecorder
from issuer.kube.tokens import blocking_token_source
from issuer.observability import metrics
from issuer.runtime.controller import DONE, Result
from issuer.signer import signing
from issuer.signer.credentials import (
    CredentialSpec,
    StaticKeys,
    WebIdentity,
    static_keys_from_secret,
)
from issuer.signer.pca import CAInfo, PCAClient, PCAClients

log = logging.getLogger(__name__)


class IssuerReconciler:
    def __init__(
        self,
        config: Config,
        client: KubeClient,
        clients: PCAClients,
        registry: IssuerRegistry,
        events: EventRecorder,
    ) -> None:
        self.config = config
        self.kube = client
        self.clients = clients
        self.registry = registry
        self.events = events
        self.default_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        # The last ACTIVE answer per issuer, with the credentials it was got with:
        # what a throttled check falls back on.
        self._last_good: dict[str, tuple[str, CAInfo]] = {}

    def secret_namespace(self, view: IssuerView) -> str:
        """Namespaced issuers read only their own namespace; cluster issuers theirs or the default."""
        assert view.secret_ref is not None
        if view.is_cluster:
            return view.secret_ref.namespace or self.config.cluster_resource_namespace
        return view.namespace

    async def _static_keys(self, view: IssuerView) -> StaticKeys | None:
        ref = view.secret_ref
        if ref is None:
            return None
        ns = self.secret_namespace(view)
        try:
            secret = await self.kube.get(secret_path(ns, ref.name))
        except NotFound as e:
            raise IssuerError(f"Secret {ns}/{ref.name} not found", reason=Reason.CREDENTIALS) from e
        except ApiError as e:
            if e.status == 403:
                raise IssuerError(
                    f"not allowed to read Secret {ns}/{ref.name}", reason=Reason.CREDENTIALS
                ) from e
            raise
        data = secret.get("data")
        return static_keys_from_secret(
            data if isinstance(data, dict) else {},
            access_key_id_key=ref.access_key_id_key,
            secret_access_key_key=ref.secret_access_key_key,
            session_token_key=ref.session_token_key,
            where=f"{ns}/{ref.name}",
        )

    async def _credential_spec(self, view: IssuerView, region: str) -> CredentialSpec:
        """Secret keys, a ServiceAccount's token, or (when this kind may) ambient credentials."""
        sa = view.service_account_ref
        if sa is not None:
            ns = service_account_namespace(view)
            source = blocking_token_source(self.kube, ns, sa.name, asyncio.get_running_loop())
            return CredentialSpec(None, view.role, region, WebIdentity(f"{ns}/{sa.name}", source))
        refusal = ambient_refusal(
            view,
            cluster_issuer_ambient=self.config.cluster_issuer_ambient_credentials,
            issuer_ambient=self.config.issuer_ambient_credentials,
        )
        if refusal is not None:
            # The condition keeps upstream's exact words; the way out goes to the log.
            log.warning(
                "issuer has no credentials and may not use the controller's own",
                extra={
                    "issuer": view.key,
                    "kind": view.kind,
                    "fix": f"set secretRef.name or serviceAccountRef, or run with {refusal}",
                },
            )
            raise IssuerError(AMBIENT_DISALLOWED_MESSAGE, reason=REASON_AMBIENT_DISABLED)
        return CredentialSpec(await self._static_keys(view), view.role or None, region)

    async def reconcile(self, key: str) -> Result:
        ikey = IssuerKey.parse(key)
        kind, namespace, name = ikey.kind, ikey.namespace, ikey.name
        path = ikey.path()
        try:
            obj = await self.kube.get(path)
        except NotFound:
            self.registry.remove(key)
            self._last_good.pop(key, None)
            self.clients.forget(key)
            metrics.forget_issuer(kind, namespace, name)
            return DONE
        view = IssuerView.from_obj(obj, kind)
        self.registry.set_seen(key)
        problems = validate_issuer_spec(view, default_region=self.default_region)
        region = effective_region(view, default_region=self.default_region)
        ca: CAInfo | None = None
        error: IssuerControllerError | None = None
        pca = None
        metrics.issuer_uses_ca(kind, namespace, name, view.arn)
        fingerprint = ""
        if not problems and region:
            try:
                spec = await self._credential_spec(view, region)
                fingerprint = spec.fingerprint()
                pca = await self.clients.for_issuer(key, spec)
                ca = await signing.check(pca, view.arn)
                if ca.not_after is not None:
                    metrics.set_ca_not_after(
                        kind, namespace, name, view.arn, ca.not_after.timestamp()
                    )
            except IssuerControllerError as e:
                error = e
        if keeps_last_good_state(view, error):
            return self._through_throttling(key, view, pca, fingerprint)
        status, reason, message = decide_issuer_health(
            view,
            problems=problems,
            ca_status=ca.status if ca else None,
            error=error,
            secret_namespace=self.secret_namespace(view) if view.secret_ref else None,
        )
        await self._write_ready(path, obj, view, status, reason, message)
        metrics.init_issuer(kind, namespace, name)
        metrics.ISSUER_READY.labels(kind, namespace, name).set(1 if status == "True" else 0)
        if status == "True" and pca is not None and ca is not None:
            self._last_good[key] = (fingerprint, ca)
            self.registry.set_ready(key, ReadyIssuer(view, pca, ca))
            return Result(requeue_after=self.config.issuer_recheck_seconds)
        self._last_good.pop(key, None)
        self.registry.set_not_ready(key, reason, message)
        if error is not None and not isinstance(error, IssuerError):
            self.clients.forget(key)
        if problems or (error is not None and error.reason == REASON_AMBIENT_DISABLED):
            return DONE  # only a spec (or flag) change can fix it; that change re-queues us
        return Result(backoff=True)

    def _through_throttling(
        self, key: str, view: IssuerView, pca: PCAClient | None, fingerprint: str
    ) -> Result:
        """A throttled check of a Ready issuer: keep its condition and, if known, its CA."""
        last = self._last_good.get(key)
        if pca is not None and last is not None and last[0] == fingerprint:
            self.registry.set_ready(key, ReadyIssuer(view, pca, last[1]))
        else:  # e.g. the first check after a restart: wait for a real answer
            self.registry.set_not_ready(
                key, REASON_NOT_CHECKED, "the CA check was throttled by AWS; checking again"
            )
        log.info("CA check throttled; the issuer keeps its last good state")
        return Result(backoff=True)

    async def _write_ready(
        self,
        path: str,
        obj: dict[str, Any],
        view: IssuerView,
        status: str,
        reason: str,
        message: str,
    ) -> None:
        old = list(view.conditions)
        new = set_condition(
            old,
            type=CONDITION_READY,
            status=status,
            reason=reason,
            message=message,
            now=datetime.now(UTC),
            observed_generation=view.generation,
        )
        if conditions_equal_ignoring_time(old, new):
            return
        try:
            await self.kube.merge_patch(f"{path}/status", {"status": {"conditions": new}})
        except NotFound:
            return
        ref = {
            "apiVersion": API_VERSION,
            "kind": view.kind,
            "name": view.name,
            "namespace": view.namespace,
            "uid": obj.get("metadata", {}).get("uid"),
        }
        self.events.event(ref, "Normal" if status == "True" else "Warning", reason, message)
        log.info("issuer condition", extra={"ready": status, "reason": reason, "detail": message})
