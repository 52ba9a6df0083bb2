"""CertificateRequest reconciler: the thin I/O shell around the plan, and its one writer.

A reconcile reads the request fresh (never trusting the event): the newest
version the watch delivered or our last write returned
(``controllers/held.py``), or with a GET when none is held. It applies the
gates, asks the signer (``issuer.signer.signing``) for an outcome, turns it
into one ``Plan`` (``request_decision.plan_request``) and hands that to
``_apply``, the only place that writes a CertificateRequest.

How ``_apply`` writes, and why:

* the certificate-ARN annotation (with its binding) is written with PUT
  (``update``) of the object just read: the Go issuer's RBAC grants
  ``update`` on certificaterequests but not ``patch``, and the PUT carries
  that object's resourceVersion, so it never overwrites a change we have not
  seen;
* the status is then written with a JSON merge patch of ``/status`` carrying
  the resourceVersion of the *freshest* object (the one the PUT returned, or
  the one read): merge patch needs only ``patch`` on certificaterequests/status
  (granted by the Go chart), the precondition makes a stale write fail with
  409 instead of losing someone's condition, and we compute the whole
  conditions list from that same object. Server-side apply was not chosen:
  applying the annotation would need ``patch`` on the main resource, which
  upstream's RBAC does not grant, and apply has no precondition.

A conflict re-reads the request shortly; a refused write (400/403/413/422)
gets an Event, a Pending condition when the status can still be written, and
a backoff retry. A certificate ARN is kept in memory (keyed by request, UID
and CSR) from IssueCertificate until it is written, so neither a refused write
nor an API outage longer than PCA's idempotency window costs a second
IssueCertificate. A persisted ARN is resumed only when its binding proves it
was issued for this request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from issuer.api.certificaterequest import CertificateRequestView
from issuer.api.names import (
    ARN_BINDING_ANNOTATION,
    CERT_ARN_ANNOTATION,
    CM_API_VERSION,
    CM_CR_KIND,
    RequestKey,
    request_path,
)
from issuer.config import Config
from issuer.controllers.held import HeldObjects
from issuer.controllers.registry import IssuerRegistry, Waiting, issuer_key
from issuer.controllers.request_decision import (
    EVENT_WARNING,
    EventSpec,
    Gate,
    Plan,
    SignResult,
    decide_gates,
    plan_denied,
    plan_request,
    plan_unsupported_kind,
    plan_write_refused,
)
from issuer.errors import IssuerControllerError, IssuerError, Reason
from issuer.kube.client import Conflict, KubeClient, NotFound, Refused
from issuer.kube.events import EventRecorder
from issuer.observability import metrics
from issuer.runtime.controller import DONE, Result
from issuer.signer import signing
from issuer.signer.token import arn_binding, idempotency_token

log = logging.getLogger(__name__)

CONFLICT_RETRY_SECONDS = 0.2


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = (obj.get("metadata") or {}).get("annotations")
    return value if isinstance(value, Mapping) else {}


class RequestReconciler:
    def __init__(
        self,
        config: Config,
        client: KubeClient,
        registry: IssuerRegistry,
        events: EventRecorder,
        held: HeldObjects | None = None,
    ) -> None:
        self.config = config
        self.kube = client
        self.registry = registry
        self.events = events
        # the newest version known of each unfinished request (watch and our writes)
        self.held = held if held is not None else HeldObjects()
        # request key -> (idempotency token, certificate ARN) issued but not yet persisted
        self._unpersisted: dict[str, tuple[str, str]] = {}

    def forget_request(self, key: str) -> None:
        """The request is deleted: drop what we hold for it."""
        self._unpersisted.pop(key, None)
        self.held.forget(key)
        self.registry.forget_request(key)
        metrics.request_gone(key)

    async def reconcile(self, key: str) -> Result:
        rkey = RequestKey.parse(key)
        path = request_path(rkey.namespace, rkey.name)
        obj = self.held.take(key)
        if obj is None:
            try:
                obj = await self.kube.get(path)
            except NotFound:
                self.forget_request(key)
                return DONE
            self.held.read(key, obj)
        cr = CertificateRequestView.from_obj(obj)
        now = datetime.now(UTC)
        gate = decide_gates(cr, approval_check=not self.config.disable_approved_check)
        if gate is Gate.MARK_DENIED:
            plan = plan_denied(cr, now)
        elif gate is Gate.UNSUPPORTED_KIND:
            plan = plan_unsupported_kind(cr, now)
        elif gate is Gate.PROCEED:
            plan = await self._sign(obj, cr, now)
        else:
            metrics.request_gone(key)
            return DONE
        return await self._apply(path, obj, cr, plan, now)

    # -- signing -----------------------------------------------------------------
    def _known_arn(
        self, obj: Mapping[str, Any], cr: CertificateRequestView, token: str
    ) -> tuple[str | None, tuple[EventSpec, ...]]:
        """The ARN this request may resume, and a note when its annotation is ignored.

        Raises PermanentError(InvalidArn) when the annotation is not an ARN at all.
        """
        arn = cr.certificate_arn
        held = self._unpersisted.get(cr.key)
        in_memory = held[1] if held is not None and held[0] == token else None
        if in_memory is not None:
            return in_memory, ()  # issued by us, not persisted yet: it wins
        if arn is None:
            return None, ()
        signing.certificate_authority_of(arn)
        if _annotations(obj).get(ARN_BINDING_ANNOTATION) == arn_binding(token, arn):
            return arn, ()
        note = EventSpec(
            EVENT_WARNING,
            Reason.IGNORED_ARN,
            "ignoring the certificate ARN annotation: it was not issued for this request "
            "(UID and CSR); issuing a certificate for this request",
        )
        return None, (note,)

    async def _sign(
        self, obj: Mapping[str, Any], cr: CertificateRequestView, now: datetime
    ) -> Plan:
        budget = self.config.max_retry_duration_seconds
        ready = self.registry.ready_for(cr.issuer_kind, cr.namespace, cr.issuer_name, cr.key)
        if isinstance(ready, Waiting):
            return plan_request(cr, ready, now, max_retry_seconds=budget)
        token = idempotency_token(cr.uid, cr.csr_pem)
        notes: tuple[EventSpec, ...] = ()

        def remember(arn: str) -> None:
            self._unpersisted[cr.key] = (token, arn)
            metrics.certificate_requested(arn)

        what: SignResult
        try:
            known, notes = self._known_arn(obj, cr, token)
            request = signing.SignRequest(
                uid=cr.uid,
                csr_pem=cr.csr_pem,
                is_ca=cr.is_ca,
                usages=cr.usages,
                duration_seconds=cr.requested_duration(),
                certificate_arn=known,
            )
            what = await signing.sign(request, ready.signing, now=now, on_issued=remember)
        except IssuerControllerError as err:
            what = err
            if isinstance(err, IssuerError):
                # AWS says the issuer's credentials or CA are broken: have the
                # issuer re-checked now rather than at its next periodic check.
                self.registry.recheck_issuer(
                    issuer_key(cr.issuer_kind, cr.namespace, cr.issuer_name)
                )
        if isinstance(what, signing.Issued | signing.Pending) and what.reissued_from:
            notes = (
                *notes,
                EventSpec(
                    EVENT_WARNING,
                    Reason.REISSUED,
                    "the certificate ARN's CA does not know it any more; "
                    "issued again under the issuer's current CA",
                ),
            )
        if isinstance(what, signing.Issued):
            metrics.certificate_available(what.certificate_arn, cr.issuer_kind)
        held = self._unpersisted.get(cr.key)
        arn = what.certificate_arn if isinstance(what, signing.Issued | signing.Pending) else None
        if arn is None and held is not None and held[0] == token:
            arn = held[1]
        annotations: dict[str, str] = {}
        if arn is not None and (
            cr.certificate_arn != arn
            or _annotations(obj).get(ARN_BINDING_ANNOTATION) != arn_binding(token, arn)
        ):
            annotations = {
                CERT_ARN_ANNOTATION: arn,
                ARN_BINDING_ANNOTATION: arn_binding(token, arn),
            }
        return plan_request(
            cr, what, now, max_retry_seconds=budget, annotations=annotations, notes=notes
        )

    # -- the one writer ------------------------------------------------------------
    async def _apply(
        self,
        path: str,
        obj: dict[str, Any],
        cr: CertificateRequestView,
        plan: Plan,
        now: datetime,
    ) -> Result:
        """Write ``plan`` on the freshest object: annotations (PUT), then status (merge patch)."""
        wrote = False
        if plan.annotations:
            md = obj.get("metadata") or {}
            body = {
                **obj,
                "metadata": {**md, "annotations": {**_annotations(obj), **plan.annotations}},
            }
            try:
                obj = await self.kube.update(path, body)
            except (Conflict, NotFound) as err:
                return self._write_lost(cr, err)
            except Refused as err:
                refused = plan_write_refused(cr, "certificate ARN annotation", err.message, now)
                return await self._apply(path, obj, cr, refused, now)
            self._unpersisted.pop(cr.key, None)
            # Held at once: should the status write fail, the next reconcile still
            # reads the ARN this PUT saved, never a version from before it.
            self.held.offer(cr.key, obj)
            wrote = True
        if plan.status is not None:
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            try:
                obj = await self.kube.merge_patch(
                    f"{path}/status", {"metadata": {"resourceVersion": rv}, "status": plan.status}
                )
            except (Conflict, NotFound) as err:
                return self._write_lost(cr, err)
            except Refused as err:
                refused = plan_write_refused(cr, "status", err.message, now)
                self._record(obj, cr, refused)
                return refused.result
            wrote = True
        self._record(obj, cr, plan)
        if wrote:
            if plan.result != DONE:
                self.held.offer(cr.key, obj)  # the next reconcile's read, unless more is watched
            else:
                self.held.forget(cr.key)  # finished: the watch's finished version forgets it too
        return plan.result

    def _write_lost(self, cr: CertificateRequestView, err: Conflict | NotFound) -> Result:
        """A write the object outran: a newer version is retried soon, a deleted one forgotten."""
        if isinstance(err, NotFound):
            self.forget_request(cr.key)
            return DONE
        return Result(requeue_after=CONFLICT_RETRY_SECONDS)

    def _record(self, obj: Mapping[str, Any], cr: CertificateRequestView, plan: Plan) -> None:
        """Events, metrics and the log line of an applied plan."""
        md = obj.get("metadata") or {}
        ref = {
            "apiVersion": CM_API_VERSION,
            "kind": CM_CR_KIND,
            "namespace": md.get("namespace"),
            "name": md.get("name"),
            "uid": md.get("uid"),
            "resourceVersion": md.get("resourceVersion"),
        }
        for event in plan.events:
            self.events.event(ref, event.type, event.reason, event.message)
        if plan.outcome is not None:
            created = cr.creation_timestamp.timestamp()
            metrics.request_outcome(
                cr.key,
                cr.issuer_kind,
                cr.namespace,
                cr.issuer_name,
                plan.outcome,
                created=created if plan.outcome in ("pending", "retry") else None,
            )
            if plan.outcome == "issued":
                metrics.TIME_TO_READY.labels(cr.issuer_kind).observe(
                    max((datetime.now(UTC) - cr.creation_timestamp).total_seconds(), 0.0)
                )
        if plan.log_message:
            ready = (plan.status or {}).get("conditions") or []
            detail = next((c.get("message") for c in ready if c.get("type") == "Ready"), None)
            log.info(plan.log_message, extra={"detail": detail})
