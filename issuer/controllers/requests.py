"""CertificateRequest reconciler: sign requests addressed to our issuers through ACM PCA.

Pure parts: the gates (``decide_gates``) and the outcome of an error
(``decide_after_error``) in request_decision.py; template, validity, token,
CSR checks and chain split in ``issuer.signer``. This shell reads the request
fresh (never trusting the event), applies the gates, checks the CSR before
any AWS call, issues once (idempotency token from UID + CSR; the certificate
ARN is persisted in the annotation before polling, so a restart resumes
polling instead of issuing again), polls GetCertificate, and writes the
chain, conditions and events.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Any

from issuer.api.certificaterequest import (
    CERT_ARN_ANNOTATION,
    CM_CR_KIND,
    CM_CR_PLURAL,
    CM_GROUP,
    CM_VERSION,
    CONDITION_READY,
    REASON_DENIED,
    REASON_ISSUED,
    CertificateRequestView,
)
from issuer.api.conditions import (
    conditions_equal_ignoring_time,
    find_condition,
    format_time,
    set_condition,
)
from issuer.api.issuer import not_before_offset_seconds
from issuer.config import Config
from issuer.controllers.registry import IssuerRegistry, issuer_key
from issuer.controllers.request_decision import Gate, decide_after_error, decide_gates
from issuer.errors import IssuerControllerError, IssuerError, PendingError
from issuer.kube.client import ApiError, KubeClient
from issuer.kube.events import EventRecorder
from issuer.observability import metrics
from issuer.runtime.controller import DONE, Result
from issuer.signer.chain import split_chain
from issuer.signer.csr import check_csr
from issuer.signer.templates import select_template
from issuer.signer.token import idempotency_token
from issuer.signer.validity import not_before_for, validity_for

log = logging.getLogger(__name__)

CONFLICT_RETRY_SECONDS = 0.2


def request_path(namespace: str, name: str) -> str:
    return f"/apis/{CM_GROUP}/{CM_VERSION}/namespaces/{namespace}/{CM_CR_PLURAL}/{name}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class RequestReconciler:
    def __init__(
        self,
        config: Config,
        client: KubeClient,
        registry: IssuerRegistry,
        events: EventRecorder,
    ) -> None:
        self.config = config
        self.kube = client
        self.registry = registry
        self.events = events

    def _ref(self, obj: dict[str, Any]) -> dict[str, Any]:
        md = obj.get("metadata", {})
        return {
            "apiVersion": f"{CM_GROUP}/{CM_VERSION}",
            "kind": CM_CR_KIND,
            "namespace": md.get("namespace"),
            "name": md.get("name"),
            "uid": md.get("uid"),
            "resourceVersion": md.get("resourceVersion"),
        }

    async def reconcile(self, key: str) -> Result:
        namespace, _, name = key.partition("/")
        path = request_path(namespace, name)
        try:
            obj = await self.kube.get(path)
        except ApiError as e:
            if e.not_found:
                self.registry.forget_request(key)
                metrics.request_gone(key)
                return DONE
            raise
        cr = CertificateRequestView.from_obj(obj)
        gate = decide_gates(cr, approval_check=not self.config.disable_approved_check)
        if gate is Gate.MARK_DENIED:
            return await self._mark_denied(path, obj, cr)
        if gate is not Gate.PROCEED:
            metrics.request_gone(key)
            return DONE
        try:
            return await self._sign(path, obj, cr)
        except IssuerControllerError as err:
            return await self._on_error(path, obj, cr, err)

    async def _sign(self, path: str, obj: dict[str, Any], cr: CertificateRequestView) -> Result:
        issuer = self.registry.ready_for(cr.issuer_kind, cr.namespace, cr.issuer_name, cr.key)
        ca_arn = issuer.view.arn
        cert_arn = cr.certificate_arn
        if cert_arn is None:
            check_csr(cr.csr_pem)
            template = select_template(
                default_template_name=issuer.view.default_template_name,
                is_ca=cr.is_ca,
                usages=cr.usages,
                ca_arn=ca_arn,
            )
            now = datetime.now(UTC)
            cert_arn = await issuer.client.issue_certificate(
                ca_arn=ca_arn,
                csr_pem=cr.csr_pem,
                signing_algorithm=issuer.ca.signing_algorithm,
                template_arn=template,
                validity=validity_for(cr.duration_seconds, now=now),
                idempotency_token=idempotency_token(cr.uid, cr.csr_pem),
                validity_not_before=not_before_for(not_before_offset_seconds(issuer.view), now=now),
            )
            metrics.certificate_requested(cert_arn)
            log.info(
                "certificate requested", extra={"certificate_arn": cert_arn, "template": template}
            )
            try:
                obj = await self.kube.merge_patch(
                    path,
                    {
                        "metadata": {
                            "resourceVersion": cr.resource_version,
                            "annotations": {CERT_ARN_ANNOTATION: cert_arn},
                        }
                    },
                )
            except ApiError as e:
                if e.conflict:
                    # Someone else wrote the request; re-read it. Issuing again
                    # with the same token returns the same ARN.
                    return Result(requeue_after=CONFLICT_RETRY_SECONDS)
                if e.not_found:
                    return DONE
                raise
        cert_pem, chain_pem = await issuer.client.get_certificate(
            ca_arn=ca_arn, certificate_arn=cert_arn
        )
        metrics.certificate_available(cert_arn, cr.issuer_kind)
        leaf_and_intermediates, root = split_chain(cert_pem, chain_pem)
        now = datetime.now(UTC)
        conditions = _with_ready(
            obj, "True", REASON_ISSUED, "Certificate issued by AWS Private CA", now
        )
        status = {
            "certificate": _b64(leaf_and_intermediates),
            "ca": _b64(root),
            "conditions": conditions,
        }
        if not await self._patch_status(path, obj, status):
            return Result(requeue_after=CONFLICT_RETRY_SECONDS)
        self.events.event(self._ref(obj), "Normal", "Issued", "Certificate issued")
        _count(cr, "issued")
        metrics.TIME_TO_READY.labels(cr.issuer_kind).observe(
            max((now - cr.creation_timestamp).total_seconds(), 0.0)
        )
        log.info("certificate issued", extra={"certificate_arn": cert_arn})
        return DONE

    async def _on_error(
        self, path: str, obj: dict[str, Any], cr: CertificateRequestView, err: IssuerControllerError
    ) -> Result:
        now = datetime.now(UTC)
        outcome = decide_after_error(
            err,
            created=cr.creation_timestamp,
            now=now,
            max_retry_seconds=self.config.max_retry_duration_seconds,
            issuer_name=cr.issuer_name,
        )
        if isinstance(err, IssuerError) and err.reason != "IssuerNotReady":
            # The AWS side says the issuer's credentials or CA are broken: have the
            # issuer re-checked now rather than at its next periodic check.
            self.registry.recheck_issuer(issuer_key(cr.issuer_kind, cr.namespace, cr.issuer_name))
        conditions = _with_ready(obj, "False", outcome.ready_reason, outcome.ready_message, now)
        status: dict[str, Any] = {"conditions": conditions}
        if outcome.mark_failed:
            status["failureTime"] = format_time(now)
        changed = not conditions_equal_ignoring_time(_conditions(obj), conditions)
        if (changed or outcome.mark_failed) and not await self._patch_status(path, obj, status):
            return Result(requeue_after=CONFLICT_RETRY_SECONDS)
        if changed or not isinstance(err, PendingError):
            self.events.event(
                self._ref(obj), outcome.event_type, outcome.event_reason, outcome.ready_message
            )
        outcome_label = (
            "failed"
            if outcome.mark_failed
            else "pending"
            if isinstance(err, PendingError)
            else "retry"
        )
        _count(cr, outcome_label, created=cr.creation_timestamp.timestamp())
        log.info(
            "request not issued yet" if not outcome.mark_failed else "request failed",
            extra={"error_class": type(err).__name__, "reason": err.reason, "detail": err.message},
        )
        if outcome.mark_failed:
            return DONE
        return Result(requeue_after=outcome.requeue_after, backoff=outcome.backoff)

    async def _mark_denied(
        self, path: str, obj: dict[str, Any], cr: CertificateRequestView
    ) -> Result:
        now = datetime.now(UTC)
        conditions = _with_ready(
            obj,
            "False",
            REASON_DENIED,
            "The CertificateRequest was denied by an approval controller",
            now,
        )
        status = {"conditions": conditions, "failureTime": format_time(now)}
        if not await self._patch_status(path, obj, status):
            return Result(requeue_after=CONFLICT_RETRY_SECONDS)
        denied = find_condition(cr.conditions, "Denied") or {}
        self.events.event(
            self._ref(obj), "Warning", "Denied", str(denied.get("message") or "request denied")
        )
        _count(cr, "denied")
        return DONE

    async def _patch_status(self, path: str, obj: dict[str, Any], status: dict[str, Any]) -> bool:
        """Write ``status`` if nobody changed the request since we read it; False on conflict."""
        rv = obj.get("metadata", {}).get("resourceVersion")
        try:
            await self.kube.merge_patch(
                f"{path}/status", {"metadata": {"resourceVersion": rv}, "status": status}
            )
        except ApiError as e:
            if e.conflict:
                return False
            if e.not_found:
                return True
            raise
        return True


def _conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj.get("status", {}).get("conditions") or [])


def _with_ready(
    obj: dict[str, Any], status: str, reason: str, message: str, now: datetime
) -> list[dict[str, Any]]:
    """The request's conditions with its Ready condition set."""
    return set_condition(
        _conditions(obj),
        type=CONDITION_READY,
        status=status,
        reason=reason,
        message=message,
        now=now,
    )


def _count(cr: CertificateRequestView, outcome: str, *, created: float | None = None) -> None:
    metrics.request_outcome(
        cr.key, cr.issuer_kind, cr.namespace, cr.issuer_name, outcome, created=created
    )
