"""Which informer events deserve a reconcile (pure).

The reconcilers write status and annotations themselves; reacting to those
writes would only burn API calls, so a request is queued when it appears or
when something *another* actor owns changes (approval, denial, issuerRef),
and only while it can still need work. Issuers are queued when their spec
changes (generation), not when their status does.
"""

from __future__ import annotations

from typing import Any

from issuer.api.certificaterequest import CONDITION_READY, CertificateRequestView
from issuer.controllers.request_decision import Gate, decide_gates

JSON = dict[str, Any]

_DONE_GATES = (Gate.NOT_OURS, Gate.TERMINAL, Gate.ALREADY_ISSUED)


def _foreign_state(obj: JSON) -> tuple[Any, ...]:
    conds = (obj.get("status") or {}).get("conditions") or []
    others = sorted(
        (str(c.get("type")), str(c.get("status")))
        for c in conds
        if c.get("type") != CONDITION_READY
    )
    return (repr((obj.get("spec") or {}).get("issuerRef")), tuple(others))


def request_needs_reconcile(old: JSON | None, new: JSON | None, *, approval_check: bool) -> bool:
    if new is None:
        return False
    gate = decide_gates(CertificateRequestView.from_obj(new), approval_check=approval_check)
    if gate in _DONE_GATES:
        return False
    if old is None:
        return True
    changed: bool = _foreign_state(old) != _foreign_state(new)
    return changed


def issuer_needs_reconcile(old: JSON | None, new: JSON | None) -> bool:
    if old is None or new is None:
        return True
    old_gen = old.get("metadata", {}).get("generation")
    new_gen = new.get("metadata", {}).get("generation")
    return bool(old_gen != new_gen)


def issuer_projection(obj: JSON) -> JSON:
    """Issuers are small; drop only managedFields."""
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": md}
