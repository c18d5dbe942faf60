"""Broker settings: on Redis the worker uses the transport that outlives an outage, retries
the connection for ever and stops tasks it can no longer acknowledge; a detached channel
neither crashes on restoring nor acknowledges over a lost connection."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from types import SimpleNamespace

import pytest
import redis

from app.core import broker
from app.core.tasks import _make_celery


def test_a_redis_broker_uses_the_transport_that_outlives_an_outage(
    env: Callable[..., None],
) -> None:
    env(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    conf = _make_celery().conf
    assert conf.broker_transport == broker.TRANSPORT
    assert conf.broker_connection_retry is True
    assert conf.broker_connection_max_retries is None
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    with _make_celery().connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
        assert connection.hostname == "127.0.0.1" and connection.port == 1
        assert not connection.ssl


def test_a_tls_redis_broker_keeps_tls_and_verifies_the_certificate(
    env: Callable[..., None],
) -> None:
    env(CELERY_BROKER_URL="rediss://cache.example.com:6380/0")
    with _make_celery().connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
        assert connection.ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}


def test_the_in_memory_broker_keeps_its_own_transport(env: Callable[..., None]) -> None:
    env(CELERY_BROKER_URL=None, REDIS_URL=None)
    conf = _make_celery().conf
    assert conf.broker_url == "memory://"
    assert conf.broker_transport is None


def test_a_detached_channel_forgets_its_messages_and_refuses_to_acknowledge() -> None:
    # What Celery leaves after collecting a lost connection: the transport has no client.
    channel = SimpleNamespace(connection=SimpleNamespace(client=None), do_restore=True)
    qos = broker.QoS(channel)
    qos._delivered["tag-1"] = SimpleNamespace()  # taken, not yet acknowledged
    qos.restore_unacked_once()  # kombu's own QoS raises AttributeError here
    assert not qos._delivered
    with pytest.raises(redis.ConnectionError):
        qos.ack("tag-1")
    with pytest.raises(redis.ConnectionError):
        qos.reject("tag-1", requeue=True)
