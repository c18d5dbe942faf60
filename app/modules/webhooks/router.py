"""Admin API for outgoing webhooks: `/api/v1/webhooks/...`.

Receivers verify each request with the endpoint's secret: the `X-LMS-Signature` header is
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; refuse it when the HMAC does
not match (constant-time compare) or `t` is more than 5 minutes away from now (replay).
`X-LMS-Event-Id` is stable across retries and redeliveries, so receivers can dedupe.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from app.core.dependencies import DbSession
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.users.dependencies import AdminUser
from app.modules.webhooks import service
from app.modules.webhooks.models import DeliveryStatus
from app.modules.webhooks.schemas import (
    EventTypeList,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("/event-types", response_model=EventTypeList)
def list_event_types(_admin: AdminUser) -> EventTypeList:
    """List the event names endpoints can subscribe to ("*" means all)."""
    return EventTypeList(event_types=list(service.EVENT_TYPES))


@router.post(
    "/endpoints", response_model=WebhookEndpointWithSecret, status_code=status.HTTP_201_CREATED
)
def create_endpoint(
    data: WebhookEndpointCreate, db: DbSession, admin: AdminUser
) -> WebhookEndpointWithSecret:
    """Register a webhook endpoint; the signing secret is shown only in this response."""
    endpoint = service.create_endpoint(db, data=data, admin=admin)
    return WebhookEndpointWithSecret.model_validate(endpoint)


@router.get("/endpoints", response_model=Page[WebhookEndpointRead])
def list_endpoints(
    db: DbSession, _admin: AdminUser, params: Pagination
) -> Page[WebhookEndpointRead]:
    """List webhook endpoints, newest first."""
    items, total = service.list_endpoints(db, params)
    return Page[WebhookEndpointRead].build(
        [WebhookEndpointRead.model_validate(e) for e in items], total, params
    )


@router.get("/endpoints/{endpoint_id}", response_model=WebhookEndpointRead)
def get_endpoint(endpoint_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> WebhookEndpointRead:
    """Show one webhook endpoint (without its secret)."""
    return WebhookEndpointRead.model_validate(service.get_endpoint(db, endpoint_id))


@router.patch("/endpoints/{endpoint_id}", response_model=WebhookEndpointRead)
def update_endpoint(
    endpoint_id: uuid.UUID, data: WebhookEndpointUpdate, db: DbSession, _admin: AdminUser
) -> WebhookEndpointRead:
    """Change an endpoint's URL, events, description or active flag."""
    endpoint = service.update_endpoint(db, endpoint_id=endpoint_id, data=data)
    return WebhookEndpointRead.model_validate(endpoint)


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=WebhookEndpointWithSecret)
def rotate_secret(
    endpoint_id: uuid.UUID, db: DbSession, _admin: AdminUser
) -> WebhookEndpointWithSecret:
    """Replace an endpoint's signing secret and show the new one once."""
    endpoint = service.rotate_secret(db, endpoint_id=endpoint_id)
    return WebhookEndpointWithSecret.model_validate(endpoint)


@router.delete("/endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(endpoint_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> None:
    """Delete an endpoint and its delivery log."""
    service.delete_endpoint(db, endpoint_id=endpoint_id)


@router.get("/endpoints/{endpoint_id}/deliveries", response_model=Page[WebhookDeliveryRead])
def list_deliveries(
    endpoint_id: uuid.UUID,
    db: DbSession,
    _admin: AdminUser,
    params: Pagination,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
) -> Page[WebhookDeliveryRead]:
    """The delivery log of one endpoint, newest first, optionally filtered by status."""
    items, total = service.list_deliveries(
        db,
        endpoint_id=endpoint_id,
        status=delivery_status.value if delivery_status else None,
        params=params,
    )
    return Page[WebhookDeliveryRead].build(
        [WebhookDeliveryRead.model_validate(d) for d in items], total, params
    )


@router.get("/deliveries/{delivery_id}", response_model=WebhookDeliveryDetail)
def get_delivery(delivery_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> WebhookDeliveryDetail:
    """One delivery with its payload and every attempt (status code, error, duration)."""
    delivery, attempts = service.get_delivery(db, delivery_id)
    return WebhookDeliveryDetail.model_validate(
        {
            **WebhookDeliveryRead.model_validate(delivery).model_dump(),
            "payload": delivery.body,
            "attempts": attempts,
        }
    )


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=WebhookDeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
)
def redeliver(delivery_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> WebhookDeliveryRead:
    """Send a past delivery again (same event id and body, new signature)."""
    return WebhookDeliveryRead.model_validate(service.redeliver(db, delivery_id=delivery_id))
