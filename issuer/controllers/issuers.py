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
import base64
import binascii
import logging
import os
from datetime import UTC, datetime
from typing import Any

from issuer.api.certificaterequest import CONDITION_READY, GROUP, VERSION
from issuer.api.conditions import conditions_equal_ignoring_time, set_condition
from issuer.api.issuer import (
    CLUSTER_ISSUER_KIND,
    IssuerView,
    ambient_refusal,
    effective_region,
    service_account_namespace,
    validate_issuer_spec,
)
from issuer.config import Config
from issuer.controllers.issuer_decision import (
    AMBIENT_DISALLOWED_MESSAGE,
    REASON_AMBIENT_DISABLED,
    decide_issuer_health,
)
from issuer.controllers.registry import IssuerRegistry, ReadyIssuer, split_issuer_key
from issuer.errors import IssuerControllerError, IssuerError, Reason
from issuer.kube.client import ApiError, KubeClient, NotFound
from issuer.kube.events import EventRecorder
from issuer.kube.tokens import blocking_token_source
from issuer.observability import metrics
from issuer.runtime.controller import DONE, Result
from issuer.signer import signing
from issuer.signer.credentials import CredentialSpec, StaticKeys, WebIdentity
from issuer.signer.pca import CAInfo, PCAClients

log = logging.getLogger(__name__)

PLURALS = {"AWSPCAIssuer": "awspcaissuers", CLUSTER_ISSUER_KIND: "awspcaclusterissuers"}


def issuer_path(kind: str, namespace: str, name: str) -> str:
    base = f"/apis/{GROUP}/{VERSION}"
    if kind == CLUSTER_ISSUER_KIND:
        return f"{base}/{PLURALS[kind]}/{name}"
    return f"{base}/namespaces/{namespace}/{PLURALS[kind]}/{name}"


def _b64(data: dict[str, Any], key: str) -> str | None:
    raw = data.get(key)
    if not raw:
        return None
    try:
        return base64.b64decode(raw).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        return None


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
            secret = await self.kube.get(f"/api/v1/namespaces/{ns}/secrets/{ref.name}")
        except NotFound as e:
            raise IssuerError(f"Secret {ns}/{ref.name} not found", reason=Reason.CREDENTIALS) from e
        except ApiError as e:
            if e.status == 403:
                raise IssuerError(
                    f"not allowed to read Secret {ns}/{ref.name}", reason=Reason.CREDENTIALS
                ) from e
            raise
        data = secret.get("data") or {}
        key_id = _b64(data, ref.access_key_id_key)
        secret_key = _b64(data, ref.secret_access_key_key)
        missing = [
            k
            for k, v in ((ref.access_key_id_key, key_id), (ref.secret_access_key_key, secret_key))
            if not v
        ]
        if missing:
            raise IssuerError(
                f"Secret {ns}/{ref.name} has no (valid) key(s) {', '.join(missing)}",
                reason=Reason.CREDENTIALS,
            )
        assert key_id is not None
        assert secret_key is not None
        return StaticKeys(key_id, secret_key, _b64(data, ref.session_token_key))

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
        kind, namespace, name = split_issuer_key(key)
        path = issuer_path(kind, namespace, name)
        try:
            obj = await self.kube.get(path)
        except NotFound:
            self.registry.remove(key)
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
        if not problems and region:
            try:
                spec = await self._credential_spec(view, region)
                pca = await self.clients.for_issuer(key, spec)
                ca = await signing.check(pca, view.arn)
                if ca.not_after is not None:
                    metrics.set_ca_not_after(
                        kind, namespace, name, view.arn, ca.not_after.timestamp()
                    )
            except IssuerControllerError as e:
                error = e
        status, reason, message = decide_issuer_health(
            view, problems=problems, ca_status=ca.status if ca else None, error=error
        )
        await self._write_ready(path, obj, view, status, reason, message)
        metrics.init_issuer(kind, namespace, name)
        metrics.ISSUER_READY.labels(kind, namespace, name).set(1 if status == "True" else 0)
        if status == "True" and pca is not None and ca is not None:
            self.registry.set_ready(key, ReadyIssuer(view, pca, ca))
            return Result(requeue_after=self.config.issuer_recheck_seconds)
        self.registry.set_not_ready(key, reason, message)
        if error is not None and not isinstance(error, IssuerError):
            self.clients.forget(key)
        if problems or (error is not None and error.reason == REASON_AMBIENT_DISABLED):
            return DONE  # only a spec (or flag) change can fix it; that change re-queues us
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
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": view.kind,
            "name": view.name,
            "namespace": view.namespace,
            "uid": obj.get("metadata", {}).get("uid"),
        }
        self.events.event(ref, "Normal" if status == "True" else "Warning", reason, message)
        log.info("issuer condition", extra={"ready": status, "reason": reason, "detail": message})
