"""Stripe: Checkout Sessions through the official SDK (API version pinned from the
settings); webhooks verified with `stripe.Webhook.construct_event` (the `Stripe-Signature`
header: `t=...,v1=...`, HMAC-SHA256 of "<t>.<payload>" with the endpoint's whsec secret);
a checkout's status read back with `GET /v1/checkout/sessions/{id}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import stripe

from app.core.config import get_settings
from app.modules.payments.gateways.base import (
    Checkout,
    CheckoutRequest,
    EventKind,
    GatewayError,
    GatewayEvent,
    GatewayNotConfigured,
    PaymentGateway,
    StatusQuery,
    from_minor_units,
    to_minor_units,
)
from app.modules.webhooks.signing import InvalidSignature


def _session_event(obj: dict[str, Any], *, kind: EventKind, **common: Any) -> GatewayEvent:
    """A Checkout Session (from a webhook or read back) as the event `kind` about it."""
    currency = str(obj.get("currency") or "").upper() or None
    amount = obj.get("amount_total")
    return GatewayEvent(
        **common,
        kind=kind,
        reference=obj.get("id"),
        payment_id=obj.get("client_reference_id") or (obj.get("metadata") or {}).get("payment_id"),
        transaction_id=obj.get("payment_intent"),
        amount=from_minor_units(amount, currency) if amount is not None and currency else None,
        currency=currency,
        payment_method=",".join(obj.get("payment_method_types") or []) or None,
    )


class StripeGateway(PaymentGateway):
    name = "stripe"

    def _client(self) -> stripe.StripeClient:
        settings = get_settings()
        if not settings.STRIPE_SECRET_KEY:
            raise GatewayNotConfigured("STRIPE_SECRET_KEY is not set")
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            stripe_version=settings.STRIPE_API_VERSION,
            base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {},
            max_network_retries=2,
        )

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        metadata = {"payment_id": request.payment_id}
        try:
            session = self._client().v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "client_reference_id": request.payment_id,
                    "customer_email": request.customer_email,
                    "success_url": request.success_url,
                    "cancel_url": request.cancel_url,
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": request.currency.lower(),
                                "unit_amount": to_minor_units(request.amount, request.currency),
                                "product_data": {"name": request.description[:250]},
                            },
                        }
                    ],
                },
                # A retried create (double click, network retry) returns the same session.
                options={"idempotency_key": f"checkout-{request.payment_id}"},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the checkout: {exc.user_message or exc}") from exc
        return Checkout(reference=session.id, url=session.url)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        secret = get_settings().STRIPE_WEBHOOK_SECRET
        if not secret:
            raise InvalidSignature("STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = stripe.Webhook.construct_event(body, headers.get("stripe-signature"), secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignature("Stripe signature verification failed") from exc
        raw: dict[str, Any] = event.to_dict()
        obj: dict[str, Any] = raw["data"]["object"]
        event_type = str(raw["type"])
        common: dict[str, Any] = {
            "event_id": str(raw["id"]),
            "event_type": event_type,
            "payload": raw,
        }
        if event_type.startswith("checkout.session."):
            kind = {
                "checkout.session.completed": (
                    EventKind.COMPLETED
                    if obj.get("payment_status") == "paid"
                    else EventKind.IGNORED
                ),
                "checkout.session.async_payment_succeeded": EventKind.COMPLETED,
                "checkout.session.async_payment_failed": EventKind.FAILED,
                "checkout.session.expired": EventKind.CANCELLED,
            }.get(event_type, EventKind.IGNORED)
            return _session_event(obj, kind=kind, **common)
        if event_type == "charge.refunded":
            # Only a full refund ends access; a partial one is recorded and changes nothing.
            return GatewayEvent(
                **common,
                kind=EventKind.REFUNDED if obj.get("refunded") else EventKind.IGNORED,
                transaction_id=obj.get("payment_intent"),
                payment_id=(obj.get("metadata") or {}).get("payment_id"),
            )
        return GatewayEvent(**common, kind=EventKind.IGNORED)

    def refund(
        self, *, payment_id: str, transaction_id: str | None, amount: Decimal, currency: str
    ) -> str:
        if not transaction_id:
            raise GatewayError("The payment has no Stripe payment intent to refund")
        try:
            refund = self._client().v1.refunds.create(
                params={"payment_intent": transaction_id, "metadata": {"payment_id": payment_id}},
                options={"idempotency_key": f"refund-{payment_id}"},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        return str(refund.id)

    def fetch_status(self, query: StatusQuery) -> GatewayEvent | None:
        try:
            session = self._client().v1.checkout.sessions.retrieve(query.reference)
        except stripe.StripeError as exc:
            raise GatewayError(
                f"Stripe could not report the checkout: {exc.user_message or exc}"
            ) from exc
        obj: dict[str, Any] = session.to_dict()
        status = obj.get("status")
        if status == "expired":
            kind = EventKind.CANCELLED
        elif status == "complete" and obj.get("payment_status") == "paid":
            kind = EventKind.COMPLETED
        else:
            # Open, or complete with an asynchronous payment (a bank debit) still processing.
            return None
        return _session_event(
            obj,
            kind=kind,
            event_id=f"{obj['id']}:{kind.value}",
            event_type=f"checkout.session.{status}",
            payload=obj,
        )
