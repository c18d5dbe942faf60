"""MyFatoorah: invoices through the SendPayment REST API (payment link), refunds through
MakeRefund, an invoice's status through GetPaymentStatus, and Webhook V2 events verified with
the `MyFatoorah-Signature` header.

The signature (per MyFatoorah's "Webhook Signature" documentation) is not over the raw
body: take the documented `Data` fields of the event type in their documented order, join
them as `Key=Value` with commas (null values as empty strings), HMAC-SHA256 that UTF-8
string with the webhook secret key, and base64-encode the digest.
"""

from __future__ import annotations

import base64
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
    lookup,
    text,
)
from app.modules.webhooks.signing import InvalidSignature

SIGNATURE_HEADER = "MyFatoorah-Signature"
# Webhook V2: the fields each event type signs, in order (dotted paths into `Data`).
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "PAYMENT_STATUS_CHANGED": (
        "Invoice.Id",
        "Invoice.Status",
        "Transaction.Status",
        "Transaction.PaymentId",
        "Invoice.ExternalIdentifier",
    ),
    "REFUND_STATUS_CHANGED": (
        "Refund.Id",
        "Refund.Status",
        "Amount.ValueInBaseCurrency",
        "ReferencedInvoice.Id",
    ),
}
TIMEOUT_SECONDS = 20.0
# GetPaymentStatus: the invoice is paid once one of its transactions succeeded ("Succss" is
# the documented spelling); it stays "Pending" through failed attempts, since the customer may
# pay it again until it expires.
_PAID_TRANSACTION = frozenset(["SUCCSS", "SUCCESS"])
_CLOSED_INVOICE = frozenset(["CANCELED", "CANCELLED", "EXPIRED"])


def signed_string(event_name: str, data: Mapping[str, Any]) -> str:
    fields = SIGNED_FIELDS[event_name]
    return ",".join(f"{path}={text(lookup(data, path))}" for path in fields)


def signature(secret: str, event_name: str, data: Mapping[str, Any]) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), signed_string(event_name, data).encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


class MyFatoorahGateway(PaymentGateway):
    name = "myfatoorah"

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        settings = get_settings()
        if not settings.MYFATOORAH_API_KEY:
            raise GatewayNotConfigured("MYFATOORAH_API_KEY is not set")
        url = settings.MYFATOORAH_BASE_URL.rstrip("/") + path
        try:
            response = httpx.post(
                url,
                json=payload,
                headers={"Authorization": f"Bearer {settings.MYFATOORAH_API_KEY}"},
                timeout=TIMEOUT_SECONDS,
            )
            body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GatewayError("MyFatoorah could not be reached") from exc
        if response.status_code >= 400 or not body.get("IsSuccess"):
            raise GatewayError(f"MyFatoorah refused the request: {body.get('Message')}")
        return body

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        body = self._post(
            "/v2/SendPayment",
            {
                "CustomerName": request.customer_name[:100],
                "CustomerEmail": request.customer_email,
                # LNK: return the invoice link instead of emailing or texting it.
                "NotificationOption": "LNK",
                "InvoiceValue": float(request.amount),
                "DisplayCurrencyIso": request.currency,
                "CallBackUrl": request.success_url,
                "ErrorUrl": request.cancel_url,
                "CustomerReference": request.payment_id,
                "UserDefinedField": request.payment_id,
                "Language": "en",
                "InvoiceItems": [
                    {
                        "ItemName": request.description[:100],
                        "Quantity": 1,
                        "UnitPrice": float(request.amount),
                    }
                ],
            },
        )
        data = body.get("Data") or {}
        return Checkout(reference=str(data["InvoiceId"]), url=data.get("InvoiceURL"))

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        secret = get_settings().MYFATOORAH_WEBHOOK_SECRET
        if not secret:
            raise InvalidSignature("MYFATOORAH_WEBHOOK_SECRET is not set")
        try:
            # Decimals keep numbers exactly as sent, which the signed string depends on.
            event: dict[str, Any] = json.loads(body, parse_float=Decimal)
            name = str(event["Event"]["Name"])
            data: dict[str, Any] = event["Data"]
            reference_id = str(event["Event"]["Reference"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature("malformed MyFatoorah event") from exc
        if name not in SIGNED_FIELDS:
            raise InvalidSignature(f"unsupported MyFatoorah event {name}")
        expected = signature(secret, name, data)
        if not tokens_equal(expected, headers.get(SIGNATURE_HEADER.lower(), "")):
            raise InvalidSignature("MyFatoorah signature does not match")
        payload = json.loads(body)
        common: dict[str, Any] = {"event_id": reference_id, "event_type": name, "payload": payload}
        if name == "REFUND_STATUS_CHANGED":
            status = text(lookup(data, "Refund.Status")).upper()
            return GatewayEvent(
                **common,
                kind=EventKind.REFUNDED if status == "REFUNDED" else EventKind.IGNORED,
                reference=text(lookup(data, "ReferencedInvoice.Id")) or None,
            )
        status = text(lookup(data, "Transaction.Status")).upper()
        kind = {
            "SUCCESS": EventKind.COMPLETED,
            "FAILED": EventKind.FAILED,
            "CANCELED": EventKind.FAILED,
        }.get(status, EventKind.IGNORED)
        amount = lookup(data, "Amount.ValueInDisplayCurrency")
        currency = text(lookup(data, "Amount.DisplayCurrency")).upper() or None
        return GatewayEvent(
            **common,
            kind=kind,
            reference=text(lookup(data, "Invoice.Id")) or None,
            transaction_id=text(lookup(data, "Transaction.PaymentId")) or None,
            amount=Decimal(str(amount)) if amount is not None else None,
            currency=currency,
            payment_method=text(lookup(data, "Transaction.PaymentMethod")) or None,
        )

    def refund(
        self, *, payment_id: str, transaction_id: str | None, amount: Decimal, currency: str
    ) -> str:
        if not transaction_id:
            raise GatewayError("The payment has no MyFatoorah payment id to refund")
        body = self._post(
            "/v2/MakeRefund",
            {
                "Key": transaction_id,
                "KeyType": "PaymentId",
                "RefundChargeOnCustomer": False,
                "ServiceChargeOnCustomer": False,
                "Amount": float(amount),
                "Comment": f"Refund of payment {payment_id}",
            },
        )
        return str((body.get("Data") or {}).get("RefundId"))

    def fetch_status(self, query: StatusQuery) -> GatewayEvent | None:
        body = self._post("/v2/GetPaymentStatus", {"Key": query.reference, "KeyType": "InvoiceId"})
        data: dict[str, Any] = body.get("Data") or {}
        if text(data.get("CustomerReference")) != query.payment_id:
            raise GatewayError("MyFatoorah answered about an invoice of another payment")
        status = text(data.get("InvoiceStatus")).upper()
        common: dict[str, Any] = {
            "event_type": f"InvoiceStatus.{text(data.get('InvoiceStatus'))}",
            "payload": body,
            "reference": query.reference,
            "payment_id": query.payment_id,
        }
        if status in _CLOSED_INVOICE:
            return GatewayEvent(
                **common, event_id=f"{query.reference}:cancelled", kind=EventKind.CANCELLED
            )
        if status != "PAID":
            return None
        paid = next(
            (
                transaction
                for transaction in data.get("InvoiceTransactions") or []
                if text(transaction.get("TransactionStatus")).upper() in _PAID_TRANSACTION
            ),
            None,
        )
        if paid is None or not paid.get("PaymentId"):
            raise GatewayError("MyFatoorah reports the invoice paid but no successful transaction")
        # GetPaymentStatus states amounts in the account's base currency with display labels
        # ("12,345.000 KD"), never as an ISO 4217 amount to compare. The invoice is the one
        # SendPayment created for exactly this payment's amount and currency (its reference
        # names the payment, checked above), and an invoice's value cannot change.
        return GatewayEvent(
            **common,
            event_id=f"{query.reference}:completed",
            kind=EventKind.COMPLETED,
            transaction_id=text(paid.get("PaymentId")),
            amount=query.amount,
            currency=query.currency,
            payment_method=text(paid.get("PaymentGateway")) or None,
        )
