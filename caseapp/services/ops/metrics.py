"""Prometheus metrics: what the processes count, and what the database says at scrape time.

Counters and the latency histogram are kept per process; with ``PROMETHEUS_MULTIPROC_DIR`` set
(``caseapp up`` sets it under ``instance/``; production sets it for gunicorn and the worker on
each host) every process writes them to files there and a scrape adds them up, so gunicorn's
workers and Celery's pool count as one. The figures an alert watches — the oldest undelivered
referral, due deliveries and reminders, referrals by status, queue depth — are read from the
database (and broker) when scraped, so they are right whichever process answers and survive
restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp.config import Config
from caseapp.models import Delivery, Referral, Reminder, StaffAlert

__all__ = ["CONTENT_TYPE_LATEST", "observe_request", "record_delivery", "record_intake",
           "render", "snapshot"]

REQUEST_SECONDS = Histogram(
    "caseapp_http_request_duration_seconds", "API request latency by route pattern",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
INTAKES = Counter("caseapp_intakes", "Consultations recorded through the intake endpoint")
DELIVERIES = Counter("caseapp_delivery_attempts",
                     "Outbox rows handled by the worker, by outcome",
                     ["outcome"])


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


def record_intake() -> None:
    INTAKES.inc()


def record_delivery(outcome: str) -> None:
    DELIVERIES.labels(outcome).inc()


def snapshot(session: Session, now: datetime) -> dict:
    """The database's figures an operator watches (no personal data: counts and ages)."""
    oldest = session.scalar(select(func.min(func.coalesce(Referral.status_at,
                                                           Referral.created_at)))
                            .where(Referral.status == "requested"))
    if oldest is not None and oldest.tzinfo is None:  # SQLite returns the stored UTC, naive
        oldest = oldest.replace(tzinfo=UTC)
    return {
        "oldest_undelivered_age": max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        "referrals": dict(session.execute(select(Referral.status, func.count())
                                          .group_by(Referral.status)).all()),
        "deliveries": dict(session.execute(select(Delivery.state, func.count())
                                           .group_by(Delivery.state)).all()),
        "deliveries_due": session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state == "pending", Delivery.next_attempt_at <= now)),
        "reminders_due": session.scalar(select(func.count()).select_from(Reminder).where(
            Reminder.status == "due", Reminder.due_at <= now)),
        "alerts_unread": session.scalar(select(func.count()).select_from(StaffAlert).where(
            StaffAlert.read_at.is_(None))),
    }


class _Gauges:
    """A collector that yields one scrape's database figures."""

    def __init__(self, figures: dict, queue_length: int | None, broker_up: bool | None):
        self.figures, self.queue_length, self.broker_up = figures, queue_length, broker_up

    def collect(self):
        f = self.figures
        yield GaugeMetricFamily(
            "caseapp_oldest_undelivered_referral_age_seconds",
            "Age of the oldest referral stored to be sent but not yet delivered (0 if none)",
            value=f["oldest_undelivered_age"])
        yield _labelled("caseapp_referrals", "Referrals by status", "status", f["referrals"])
        yield _labelled("caseapp_deliveries", "Outbox rows by state", "state", f["deliveries"])
        yield GaugeMetricFamily("caseapp_deliveries_due",
                                "Outbox rows due now and not yet claimed by a worker",
                                value=f["deliveries_due"])
        yield GaugeMetricFamily("caseapp_reminders_due", "Reminders due and not yet sent",
                                value=f["reminders_due"])
        yield GaugeMetricFamily("caseapp_staff_alerts_unread", "Staff alerts nobody has read",
                                value=f["alerts_unread"])
        if self.queue_length is not None:
            yield GaugeMetricFamily("caseapp_broker_queue_length",
                                    "Task messages waiting in the broker's queue",
                                    value=self.queue_length)
        if self.broker_up is not None:
            yield GaugeMetricFamily("caseapp_broker_up", "1 if the broker answered",
                                    value=1.0 if self.broker_up else 0.0)


def _labelled(name: str, text: str, label: str, values: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=[label])
    for key, count in sorted(values.items()):
        family.add_metric([key], count)
    return family


def render(config: Config, figures: dict, *, queue_length: int | None = None,
           broker_up: bool | None = None) -> bytes:
    if config.metrics_dir is not None and Path(config.metrics_dir).is_dir():
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted, path=str(config.metrics_dir))
    else:
        counted = REGISTRY
    gauges = CollectorRegistry()
    gauges.register(_Gauges(figures, queue_length, broker_up))
    return generate_latest(counted) + generate_latest(gauges)
