"""Scheduled payment jobs: expiring lapsed subscriptions (SUBSCRIPTION_EXPIRY_CRON) and
reconciling payments left pending by asking their gateway (PAYMENT_RECONCILIATION_CRON)."""

from __future__ import annotations

import logging
from collections import Counter

from app.core.database import session_scope, utcnow
from app.core.errors import DomainError
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.payments.gateways import StatusQuery
from app.modules.payments.services.reconciliation import claim_payments_to_reconcile, reconcile
from app.modules.payments.services.subscriptions import expire_subscriptions

logger = logging.getLogger("app.jobs")


@celery_app.task(name="payments.expire_subscriptions", **RETRY_POLICY)
def expire_subscriptions_job() -> int:
    with session_scope() as db:
        return expire_subscriptions(db)


def _reconcile(query: StatusQuery) -> str:
    """`reconcile` one payment; whatever goes wrong is logged and left to the next run."""
    try:
        with session_scope() as db:
            return reconcile(db, query).status
    except DomainError as exc:
        # The service logged why (gateway unavailable, amount mismatch).
        logger.info("payment %s not reconciled: %s", query.payment_id, exc)
    except Exception:
        logger.exception("payment %s not reconciled", query.payment_id)
    return "error"


@celery_app.task(name="payments.reconcile_pending", **RETRY_POLICY)
def reconcile_payments_job() -> dict[str, int]:
    with session_scope() as db:
        queries = claim_payments_to_reconcile(db, now=utcnow())
    outcomes = Counter(_reconcile(query) for query in queries)
    logger.info("pending payments reconciled: %s", dict(outcomes))
    return dict(outcomes)


every("expire-subscriptions", expire_subscriptions_job, setting="SUBSCRIPTION_EXPIRY_CRON")
every("reconcile-payments", reconcile_payments_job, setting="PAYMENT_RECONCILIATION_CRON")
