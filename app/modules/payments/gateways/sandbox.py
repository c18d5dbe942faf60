"""The sandbox gateway (development and tests): a local checkout page stands in for the
provider and completes or fails the payment by sending a signed webhook that goes through
the same verification and processing as a real gateway's.

Webhooks carry `Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` keyed
with SANDBOX_WEBHOOK_SECRET (or a key derived from the installation's signing key).

Its webhooks are delivered in-process, so none is ever lost; asked for a checkout's status, the
sandbox reports what a real provider still would: a checkout nobody acted on expires after
CHECKOUT_LIFETIME (Stripe's default session lifetime).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.config import get_settings
from app.core.database import utcnow
from app.modules.payments.gateways.base import (
    Checkout,
    CheckoutRequest,
    EventKind,
    GatewayEvent,
    PaymentGateway,
    StatusQuery,
)
from app.modules.webhooks import signing
from app.modules.webhooks.signing import InvalidSignature

SIGNATURE_HEADER = "Sandbox-Signature"
EVENT_KINDS = {
    "payment.succeeded": EventKind.COMPLETED,
    "payment.failed": EventKind.FAILED,
    "payment.cancelled": EventKind.CANCELLED,
    "payment.refunded": EventKind.REFUNDED,
}
CHECKOUT_LIFETIME = timedelta(hours=24)


def webhook_secret() -> str:
    settings = get_settings()
    if settings.SANDBOX_WEBHOOK_SECRET:
        return settings.SANDBOX_WEBHOOK_SECRET
    return hmac.new(
        settings.signing_key.encode(), b"sandbox-webhook-secret", hashlib.sha256
    ).hexdigest()


def checkout_token(payment_id: str) -> str:
    """Capability in the checkout URL: only whoever got the URL can act on the checkout."""
    return hmac.new(
        webhook_secret().encode(), f"checkout:{payment_id}".encode(), hashlib.sha256
    ).hexdigest()


def build_event(
    *,
    event_type: str,
    payment_id: str,
    reference: str,
    amount: Decimal,
    currency: str,
    transaction_id: str | None,
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its signed headers, as the sandbox provider sends them."""
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": event_type,
            "data": {
                "payment_id": payment_id,
                "reference": reference,
                "amount": str(amount),
                "currency": currency,
                "transaction_id": transaction_id,
                "payment_method": "sandbox_card",
            },
        },
        separators=(",", ":"),
    ).encode()
    return body, {SIGNATURE_HEADER: signing.sign(webhook_secret(), body)}


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        settings = get_settings()
        token = checkout_token(request.payment_id)
        url = (
            f"{settings.PUBLIC_BASE_URL.rstrip('/')}{settings.API_V1_PREFIX}"
            f"/payments/sandbox/checkout/{request.payment_id}?token={token}"
        )
        return Checkout(reference=f"sbx_{uuid.UUID(request.payment_id).hex}", url=url)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        signing.verify(webhook_secret(), body, headers.get(SIGNATURE_HEADER.lower()))
        try:
            event: dict[str, Any] = json.loads(body)
            data = event["data"]
            amount = Decimal(str(data["amount"]))
            return GatewayEvent(
                event_id=str(event["id"]),
                event_type=str(event["type"]),
                kind=EVENT_KINDS.get(str(event["type"]), EventKind.IGNORED),
                payload=event,
                reference=data.get("reference"),
                payment_id=data.get("payment_id"),
                transaction_id=data.get("transaction_id"),
                amount=amount,
                currency=str(data["currency"]).upper(),
                payment_method=data.get("payment_method"),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise InvalidSignature("malformed sandbox event") from exc

    def refund(
        self, *, payment_id: str, transaction_id: str | None, amount: Decimal, currency: str
    ) -> str:
        return f"sbx_re_{uuid.uuid4().hex}"

    def fetch_status(self, query: StatusQuery) -> GatewayEvent | None:
        if utcnow() - query.created_at < CHECKOUT_LIFETIME:
            return None
        return GatewayEvent(
            event_id=f"{query.reference}:expired",
            event_type="payment.expired",
            kind=EventKind.CANCELLED,
            payload={"reference": query.reference, "status": "expired"},
            reference=query.reference,
            payment_id=query.payment_id,
        )
