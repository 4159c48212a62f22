"""Celery wiring. Tasks take ids and reload rows; the database is the record of truth."""

from datetime import timedelta

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask

from caseapp.config import Config


def celery_settings(config: Config) -> dict:
    settings = {
        "broker_url": config.broker_url,
        "result_backend": config.result_backend,
        "task_ignore_result": config.result_backend is None,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # A task is acknowledged only once done, so a killed worker's task is redelivered;
        # every task is idempotent, which is what makes this safe.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": 120,
        "task_soft_time_limit": 90,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry": False,
        "broker_connection_timeout": 2,
        "timezone": "Asia/Tokyo",
        "enable_utc": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "sweep": {"task": "caseapp.sweep", "schedule": timedelta(seconds=config.sweep_seconds)},
            # Closed months change only by late entries; an hour's delay costs only speed.
            "report_rollup": {"task": "caseapp.report_rollup", "schedule": timedelta(hours=1)},
            # Nightly, Tokyo time; each run does a batch, so a backlog clears over some nights.
            "retention": {"task": "caseapp.retention", "schedule": crontab(hour=3, minute=17)},
        },
    }
    # A delivery task must end before its database lease does, or a second worker could claim
    # the row while the first is still sending: soft limit first (the send is recorded as a
    # failed attempt), hard limit at the lease.
    lease = config.delivery_lease_seconds
    settings["task_annotations"] = {"caseapp.deliver": {"time_limit": lease,
                                                        "soft_time_limit": max(lease - 5, 1)}}
    # Redis redelivers an unacknowledged task after the visibility timeout; it must outlast the
    # longest task, and no task is scheduled further ahead than this (delays live in the DB).
    visibility = max(600, 2 * lease)
    transport = {"visibility_timeout": visibility}
    if config.embedded_broker:
        folder = config.broker_folder()
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        # The same folders and URL, through the transport that writes messages whole.
        settings["broker_url"] = None
        settings["broker_transport"] = "caseapp.tasks.broker:Transport"
        transport = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # kombu's default is ./control, relative to whatever directory the process runs in.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.05,
        }
    elif config.broker_url.startswith("redis"):
        transport["socket_connect_timeout"] = 2
    settings["broker_transport_options"] = transport
    if config.result_backend and config.result_backend.startswith("redis"):
        settings["result_backend_transport_options"] = {"visibility_timeout": visibility}
    return settings


def init_celery(app: Flask) -> Celery:
    config: Config = app.config["CASEAPP"]

    class AppTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=AppTask)
    celery.config_from_object(celery_settings(config))
    celery.set_default()
    app.extensions["celery"] = celery
    # Importing registers the tasks and the logging/metrics signal receivers.
    from caseapp.tasks import delivery, observe, reminders, reports, retention  # noqa: F401

    return celery


def broker_ok() -> bool:
    from flask import current_app

    celery: Celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
        return True
    except Exception:
        return False


def queue_length() -> int | None:
    """Task messages waiting in the default queue, or None when the broker cannot say."""
    from flask import current_app

    celery: Celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_read() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
            queue = celery.conf.task_default_queue
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:
        return None
