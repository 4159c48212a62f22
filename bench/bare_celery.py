"""The baseline for bench.delivery_bench: a bare Celery task doing one HTTP POST, nothing else.

Same broker, same worker settings (acks late, prefetch 1, JSON) and the same HTTP client with
keep-alive as caseapp's webhook channel; no database, no signing, no claim.
"""

import os

import httpcore
from celery import Celery

bare = Celery("bare", broker=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"))
bare.conf.update(task_serializer="json", accept_content=["json"], task_acks_late=True,
                 task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                 task_ignore_result=True, worker_hijack_root_logger=False)
if bare.conf.broker_url.startswith("filesystem"):
    folder = os.environ["BENCH_BROKER_FOLDER"]
    bare.conf.broker_transport_options = {
        "data_folder_in": folder + "/queue", "data_folder_out": folder + "/queue",
        "control_folder": folder + "/control", "store_processed": False,
        "polling_interval": 0.05}

_pool: httpcore.ConnectionPool | None = None


@bare.task(name="bare.post")
def post(url: str, body: str) -> int:
    global _pool
    if _pool is None:  # one pool per worker process, made after the fork
        _pool = httpcore.ConnectionPool(max_connections=20, retries=0)
    response = _pool.request("POST", url, content=body.encode(),
                             headers=[(b"content-type", b"application/json")],
                             extensions={"timeout": {"connect": 5, "read": 30, "write": 30,
                                                     "pool": 5}})
    return response.status
