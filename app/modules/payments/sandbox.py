"""The sandbox gateway's local checkout (not in production): a page that pays or fails a
payment by sending the sandbox provider's signed webhook through `handle_webhook`, exactly
as a real gateway's webhook is processed."""

from __future__ import annotations

import html
import uuid

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, PermissionDenied
from app.core.security import tokens_equal
from app.modules.payments.gateways import sandbox as sandbox_gateway
from app.modules.payments.models import Payment, PaymentStatus
from app.modules.payments.services.events import handle_webhook
from app.modules.payments.services.ledger import WebhookOutcome

OUTCOMES = {
    "succeed": "payment.succeeded",
    "fail": "payment.failed",
    "cancel": "payment.cancelled",
}


def _checkout_payment(db: Session, payment_id: uuid.UUID, token: str) -> Payment:
    if get_settings().is_production:
        raise NotFound("The sandbox gateway is not available in production")
    payment = db.get(Payment, payment_id)
    if payment is None or payment.gateway != sandbox_gateway.SandboxGateway.name:
        raise NotFound("Sandbox checkout not found", code="payment_not_found")
    if not tokens_equal(sandbox_gateway.checkout_token(str(payment.id)), token):
        raise PermissionDenied("The checkout token is invalid", code="invalid_checkout_token")
    return payment


def checkout_page(db: Session, *, payment_id: uuid.UUID, token: str) -> str:
    payment = _checkout_payment(db, payment_id, token)
    base = f"{get_settings().API_V1_PREFIX}/payments/sandbox/checkout/{payment.id}"
    buttons = "".join(
        f'<form method="post" action="{base}/{outcome}?token={html.escape(token)}">'
        f'<button type="submit">{outcome.capitalize()}</button></form>'
        for outcome in OUTCOMES
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sandbox checkout</title>"
        "</head><body><h1>Sandbox checkout</h1>"
        f"<p>Payment {payment.id}: {html.escape(str(payment.amount))} "
        f"{html.escape(payment.currency)} ({html.escape(payment.status)})</p>"
        f"{buttons}</body></html>"
    )


def complete_checkout(
    db: Session, *, payment_id: uuid.UUID, token: str, outcome: str
) -> WebhookOutcome:
    payment = _checkout_payment(db, payment_id, token)
    if payment.status != PaymentStatus.PENDING:
        raise Conflict(f"The payment is already {payment.status}", code="payment_not_pending")
    body, headers = sandbox_gateway.build_event(
        event_type=OUTCOMES[outcome],
        payment_id=str(payment.id),
        reference=payment.gateway_reference or "",
        amount=payment.amount,
        currency=payment.currency,
        transaction_id=f"sbx_txn_{uuid.uuid4().hex}",
    )
    return handle_webhook(
        db,
        gateway=sandbox_gateway.SandboxGateway.name,
        body=body,
        headers={name.lower(): value for name, value in headers.items()},
        query={},
    )
