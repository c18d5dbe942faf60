"""The gateway interface and the money helpers gateways share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

# ISO 4217 minor units that differ from 2 (the gateways' "cents" are these minor units).
_ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()  # noqa: SIM905
)
_THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def minor_unit_exponent(currency: str) -> int:
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    return int((amount * (10 ** minor_unit_exponent(currency))).to_integral_value())


def from_minor_units(value: int | str | Decimal, currency: str) -> Decimal:
    return Decimal(str(value)) / (10 ** minor_unit_exponent(currency))


def text(value: Any) -> str:
    """A value as gateways render it into signed strings: null is empty, booleans lower-case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path ("obj.order.id") of a webhook payload; None when absent."""
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class GatewayError(Exception):
    """The gateway's API refused the call or could not be reached."""


class GatewayNotConfigured(GatewayError):
    """Credentials for this gateway are missing from the settings."""


class EventKind(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    # Verified and recorded, but no state change (informational or unhandled event types).
    IGNORED = "ignored"


@dataclass(frozen=True)
class CheckoutRequest:
    payment_id: str
    amount: Decimal
    currency: str
    description: str
    customer_email: str
    customer_name: str
    success_url: str
    cancel_url: str
    notification_url: str


@dataclass(frozen=True)
class Checkout:
    # The gateway's id of the checkout; webhooks refer back to it.
    reference: str
    url: str | None
    client_secret: str | None = None


@dataclass(frozen=True)
class StatusQuery:
    """One of our pending payments, as its gateway is asked about it (`fetch_status`)."""

    gateway: str
    payment_id: str
    # The gateway's id of the checkout (`Checkout.reference`).
    reference: str
    amount: Decimal
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook, or a status the gateway's API reported, normalised."""

    event_id: str
    event_type: str
    kind: EventKind
    payload: dict[str, Any]
    # What names the payment, strongest first (an event is refused when two of them name
    # different payments): our payment id, only where the gateway's signature covers it;
    # the checkout's `Checkout.reference`; the gateway's transaction id.
    reference: str | None = None
    payment_id: str | None = None
    transaction_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    payment_method: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Start a payment at the gateway; the customer pays at `Checkout.url`."""

    @abstractmethod
    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        """Verify the gateway's signature and normalise the event; raises InvalidSignature."""

    @abstractmethod
    def refund(
        self,
        *,
        payment_id: str,
        transaction_id: str | None,
        amount: Decimal,
        currency: str,
    ) -> str:
        """Refund the whole payment at the gateway; returns the gateway's refund id."""

    @abstractmethod
    def fetch_status(self, query: StatusQuery) -> GatewayEvent | None:
        """Ask the gateway's API where the checkout stands: the event its webhook would have
        delivered (completed, failed, cancelled, refunded), or None while nothing is final.
        An event of the same state has the same `event_id` on every call, so asking twice
        records it once. Raises GatewayError when the gateway cannot answer."""
