"""The Redis broker transport: kombu's, except that a worker survives Redis going away.

When Redis drops while a worker holds unacknowledged messages (a running late-acknowledged
task, or a task waiting for its ETA), Celery first collects the broken connection, which
detaches the kombu transport from it, and then closes it. Closing the channel restores those
messages through a new Redis client built from the detached transport's connection info,
which is gone by then: `AttributeError: 'NoneType' object has no attribute 'hostname'`. That
is not a connection error, so Celery treats it as unrecoverable and the worker exits instead
of reconnecting.

Here the restore is skipped once the transport is detached. Nothing is lost: the messages
are still in the broker's `unacked` set, and a worker's sweep puts them back in their queues
once the visibility timeout has passed (webhook deliveries are re-driven sooner, see
`app.modules.webhooks.service.redrive_overdue`).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

logger = logging.getLogger("app.broker")


class QoS(kombu_redis.QoS):
    def _detached(self) -> bool:
        return self.channel.connection.client is None

    def restore_unacked(self, client: Any = None) -> None:
        delivered = self._delivered
        if client is None and self._detached() and delivered is not None:
            logger.warning(
                "broker connection lost with %d unacknowledged message(s); they are "
                "redelivered after the visibility timeout",
                len(delivered),
            )
            delivered.clear()
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag: str) -> None:
        self._refuse_when_detached()
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        self._refuse_when_detached()
        super().reject(delivery_tag, requeue=requeue)

    def _refuse_when_detached(self) -> None:
        # A message taken over the lost connection cannot be acknowledged any more; a
        # connection error is what Celery expects then (it logs it and carries on).
        if self._detached():
            raise redis.ConnectionError("the broker connection this message came on is closed")


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel


# `broker_transport` value that selects this transport for redis:// and rediss:// URLs.
TRANSPORT = f"{__name__}:Transport"
