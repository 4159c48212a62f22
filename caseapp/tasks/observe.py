"""The worker's side of logging and metrics.

The request id of the API request that enqueued a task travels in the task message's headers,
so the worker's lines for the deliveries a request caused carry the same id. Celery leaves
logging to us (``setup_logging`` has a receiver), so its own lines are JSON too.
"""

from celery import signals

from caseapp.services.ops import logs

HEADER = "caseapp_request_id"
_tokens: dict[str, object] = {}


@signals.before_task_publish.connect
def carry_request_id(headers=None, **_kwargs) -> None:
    current = logs.request_id.get()
    if current and headers is not None:
        headers.setdefault(HEADER, current)


@signals.task_prerun.connect
def adopt_request_id(task_id=None, task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    found = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    # A task enqueued by beat or a sweep has no request behind it: it gets an id of its own.
    _tokens[task_id] = logs.request_id.set(found or logs.new_request_id())


@signals.task_postrun.connect
def drop_request_id(task_id=None, **_kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        logs.request_id.reset(token)


@signals.setup_logging.connect
def json_logging(loglevel=None, **_kwargs) -> None:
    logs.configure(loglevel or "INFO")

