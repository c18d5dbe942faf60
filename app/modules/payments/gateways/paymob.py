"""Paymob: the Intention API (Unified Checkout), refunds, the transaction processed
callback verified with its `hmac` query parameter, and the transaction inquiry (an order's
latest transaction; it takes an auth token obtained with the account's API key).

Per Paymob's "HMAC Transaction Callback" documentation: take these fields of the callback's
`obj`, in this (lexicographic) order, concatenate their values with no separator (booleans
as `true`/`false`), HMAC-SHA512 the string with the HMAC secret and hex-encode it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from app.core.config import get_settings
from app.core.security import tokens_equal
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
    lookup,
    text,
    to_minor_units,
)
from app.modules.webhooks.signing import InvalidSignature

HMAC_FIELDS = (
    "amount_cents",
    "created_at",
    "currency",
    "error_occured",
    "has_parent_transaction",
    "id",
    "integration_id",
    "is_3d_secure",
    "is_auth",
    "is_capture",
    "is_refunded",
    "is_standalone_payment",
    "is_voided",
    "order.id",
    "owner",
    "pending",
    "source_data.pan",
    "source_data.sub_type",
    "source_data.type",
    "success",
)
TIMEOUT_SECONDS = 20.0


def hmac_string(obj: Mapping[str, Any]) -> str:
    return "".join(text(lookup(obj, path)) for path in HMAC_FIELDS)


def compute_hmac(secret: str, obj: Mapping[str, Any]) -> str:
    return hmac.new(secret.encode(), hmac_string(obj).encode(), hashlib.sha512).hexdigest()


def _transaction_event(
    obj: Mapping[str, Any], *, payment_id: str | None, **common: Any
) -> GatewayEvent:
    """A transaction object (callback `obj`, or an inquiry's answer) as its event.

    `payment_id` is ours only when it can be trusted: a callback's `order.merchant_order_id`
    is outside the fields its HMAC covers, so a callback is matched on the signed order id
    (the reference) and transaction id alone."""
    if obj.get("is_refunded") or obj.get("is_voided"):
        kind = EventKind.REFUNDED
    elif obj.get("pending"):
        kind = EventKind.IGNORED
    elif obj.get("success"):
        kind = EventKind.COMPLETED
    else:
        kind = EventKind.FAILED
    currency = text(obj.get("currency")).upper() or None
    cents = obj.get("amount_cents")
    order = obj.get("order") or {}
    return GatewayEvent(
        **common,
        # One transaction can be reported again in another state (e.g. refunded later).
        event_id=f"{obj.get('id')}:{kind.value}",
        event_type="TRANSACTION",
        kind=kind,
        reference=text(order.get("id")) or None,
        payment_id=payment_id,
        transaction_id=text(obj.get("id")) or None,
        amount=from_minor_units(cents, currency) if cents is not None and currency else None,
        currency=currency,
        payment_method=text(lookup(obj, "source_data.sub_type")) or None,
    )


class PaymobGateway(PaymentGateway):
    name = "paymob"

    def _send(
        self, path: str, payload: dict[str, Any], authorization: str | None
    ) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            return httpx.post(
                get_settings().PAYMOB_BASE_URL.rstrip("/") + path,
                json=payload,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise GatewayError("Paymob could not be reached") from exc

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise GatewayError(f"Paymob refused the request ({response.status_code})")
        try:
            body = response.json()
        except ValueError as exc:
            raise GatewayError("Paymob answered with no JSON") from exc
        if not isinstance(body, dict):
            raise GatewayError("Paymob answered with an unexpected body")
        return body

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        secret = get_settings().PAYMOB_SECRET_KEY
        if not secret:
            raise GatewayNotConfigured("PAYMOB_SECRET_KEY is not set")
        return self._json(self._send(path, payload, f"Token {secret}"))

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        settings = get_settings()
        if not settings.PAYMOB_INTEGRATION_ID or not settings.PAYMOB_PUBLIC_KEY:
            raise GatewayNotConfigured("PAYMOB_INTEGRATION_ID and PAYMOB_PUBLIC_KEY are required")
        cents = to_minor_units(request.amount, request.currency)
        first, _, last = request.customer_name.partition(" ")
        body = self._post(
            "/v1/intention/",
            {
                "amount": cents,
                "currency": request.currency,
                "payment_methods": [settings.PAYMOB_INTEGRATION_ID],
                "items": [{"name": request.description[:50], "amount": cents, "quantity": 1}],
                "billing_data": {
                    "first_name": first or "Student",
                    "last_name": last or "-",
                    "email": request.customer_email,
                    "phone_number": "NA",
                },
                "special_reference": request.payment_id,
                "notification_url": request.notification_url,
                "redirection_url": request.success_url,
                "extras": {"payment_id": request.payment_id},
            },
        )
        client_secret = str(body["client_secret"])
        url = (
            f"{settings.PAYMOB_BASE_URL.rstrip('/')}/unifiedcheckout/"
            f"?publicKey={settings.PAYMOB_PUBLIC_KEY}&clientSecret={client_secret}"
        )
        # Callbacks name the order, so the order id is the reference webhooks match on.
        return Checkout(
            reference=str(body["intention_order_id"]), url=url, client_secret=client_secret
        )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        secret = get_settings().PAYMOB_HMAC_SECRET
        if not secret:
            raise InvalidSignature("PAYMOB_HMAC_SECRET is not set")
        try:
            event: dict[str, Any] = json.loads(body)
            obj: dict[str, Any] = event["obj"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature("malformed Paymob callback") from exc
        if not isinstance(obj, dict):
            raise InvalidSignature("malformed Paymob callback")
        if not tokens_equal(compute_hmac(secret, obj), query.get("hmac", "")):
            raise InvalidSignature("Paymob HMAC does not match")
        if event.get("type") != "TRANSACTION":
            return GatewayEvent(
                event_id=f"{event.get('type')}:{obj.get('id')}",
                event_type=str(event.get("type")),
                kind=EventKind.IGNORED,
                payload=event,
            )
        return _transaction_event(obj, payment_id=None, payload=event)

    def refund(
        self, *, payment_id: str, transaction_id: str | None, amount: Decimal, currency: str
    ) -> str:
        if not transaction_id:
            raise GatewayError("The payment has no Paymob transaction to refund")
        body = self._post(
            "/api/acceptance/void_refund/refund",
            {
                "transaction_id": transaction_id,
                "amount_cents": to_minor_units(amount, currency),
            },
        )
        return text(body.get("id"))

    def fetch_status(self, query: StatusQuery) -> GatewayEvent | None:
        api_key = get_settings().PAYMOB_API_KEY
        if not api_key:
            raise GatewayNotConfigured("PAYMOB_API_KEY is not set")
        token = self._json(self._send("/api/auth/tokens", {"api_key": api_key}, None)).get("token")
        if not token:
            raise GatewayError("Paymob issued no auth token")
        response = self._send(
            "/api/ecommerce/orders/transaction_inquiry",
            {"order_id": query.reference},
            f"Bearer {token}",
        )
        if response.status_code == 404:
            return None  # no transaction on the order yet: the customer has not paid
        obj = self._json(response)
        if text(lookup(obj, "order.id")) != query.reference:
            raise GatewayError("Paymob answered about another order")
        # The inquiry is our authenticated call about this payment's order (checked above).
        event = _transaction_event(obj, payment_id=query.payment_id, payload=obj)
        # The same transaction and state has the same event id as its callback, so the
        # callback arriving afterwards is a duplicate (and the other way round).
        return None if event.kind is EventKind.IGNORED else event
