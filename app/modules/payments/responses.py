"""The 402 answer to enrolling in a paid course, carrying the checkout to pay at.

Returned as a response rather than raised, so the request's transaction commits and the
pending payment the checkout refers to is kept.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from app.core.errors import problem_response
from app.modules.payments.models import Payment
from app.modules.payments.schemas import CheckoutRead
from app.modules.payments.service import checkout_view


def payment_required_response(request: Request, payment: Payment) -> JSONResponse:
    return problem_response(
        request,
        status=402,
        title="Payment required",
        detail="This course must be paid for before enrolling: pay at checkout.checkout_url",
        code="payment_required",
        extra={
            "course_id": str(payment.course_id),
            "price": str(payment.amount),
            "currency": payment.currency,
            "checkout": jsonable_encoder(CheckoutRead(**checkout_view(payment))),
        },
    )
