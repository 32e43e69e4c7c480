"""The one Celery app. Without REDIS_URL, tasks run in-process (see settings)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _import_check_libraries(**_: object) -> None:
    """A worker imports the check engines' libraries once, before it forks its pool.

    They are imported inside functions elsewhere (manage.py and test collection stay fast);
    here the first check after a worker boots would otherwise spend seconds importing them.
    """
    import pyarrow.compute
    import pyarrow.ipc  # noqa: F401
    import scipy.spatial
    import scipy.stats  # noqa: F401
