"""Fixtures: a real local SMTP sink, a real local webhook receiver, a warehouse whose alerting tables are emptied
after each test. Helpers are in alerting_support.py."""

from __future__ import annotations

import pytest
from psycopg import sql

from .alerting_support import SmtpSink, Webhook

MY_TABLES = ("alert_notification", "alert_event", "alert", "submission_exception", "submission_verdict")


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def webhook():
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture
def sinks(smtp, webhook):
    smtp.messages.clear()
    webhook.received.clear()
    return smtp, webhook


@pytest.fixture
def alert_db(warehouse, monkeypatch):
    """A migrated warehouse; the alerting tables are emptied afterwards (the ledger by ``warehouse``)."""
    monkeypatch.delenv("SUPERVISION_SMTP_URL", raising=False)
    monkeypatch.delenv("SUPERVISION_ENGINEER_CHANNELS", raising=False)
    yield warehouse
    warehouse.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
        sql.SQL(", ").join(sql.Identifier("ops", t) for t in MY_TABLES)))
