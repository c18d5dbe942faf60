"""Payment gateways behind one interface; `get_gateway(name)` builds one from the settings."""

from __future__ import annotations

from app.modules.payments.gateways.base import (
    Checkout,
    CheckoutRequest,
    EventKind,
    GatewayError,
    GatewayEvent,
    PaymentGateway,
    StatusQuery,
)
from app.modules.payments.gateways.myfatoorah import MyFatoorahGateway
from app.modules.payments.gateways.paymob import PaymobGateway
from app.modules.payments.gateways.sandbox import SandboxGateway
from app.modules.payments.gateways.stripe_gateway import StripeGateway

GATEWAYS: dict[str, type[PaymentGateway]] = {
    "sandbox": SandboxGateway,
    "stripe": StripeGateway,
    "myfatoorah": MyFatoorahGateway,
    "paymob": PaymobGateway,
}


def get_gateway(name: str) -> PaymentGateway:
    return GATEWAYS[name]()


__all__ = [
    "GATEWAYS",
    "Checkout",
    "CheckoutRequest",
    "EventKind",
    "GatewayError",
    "GatewayEvent",
    "PaymentGateway",
    "StatusQuery",
    "get_gateway",
]
