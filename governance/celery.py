"""The one Celery app. Without REDIS_URL, tasks run in-process (see settings)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# What a drift check imports on its first run (scipy.stats alone takes seconds): a worker
# that consumes the checks queue imports it once, before its pool forks, so every pool
# process starts with it and the first check after a boot costs what the others do.
CHECK_MODULES = (
    "scipy.stats",
    "scipy.spatial.distance",
    "pyarrow.compute",
    "pyarrow.ipc",
    "monitoring.checks.runner",
    "monitoring.checks.drift",
)


@worker_init.connect
def _checks_worker_imports(sender=None, **_kwargs) -> None:
    import importlib
    import logging
    import time

    from django.conf import settings

    queues = getattr(getattr(sender.app.amqp, "queues", None), "consume_from", None) or {}
    if settings.CHECKS_QUEUE not in queues:
        return
    import django

    django.setup()
    began = time.perf_counter()
    for name in CHECK_MODULES:
        importlib.import_module(name)
    logging.getLogger(__name__).info(
        "checks worker: imported what checks need in %.1f s", time.perf_counter() - began
    )
