import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

application = get_wsgi_application()


def _warm_up() -> None:
    """Each web process loads what it may serve before it takes its first request."""
    from django.conf import settings

    if settings.SERVING_WARM_UP:
        from django.db import connections

        from models_registry.serving.warm import serving_warm_up

        serving_warm_up()
        connections.close_all()  # requests run in other threads, on connections of their own


_warm_up()
# Everything loaded so far (Django, scikit-learn, SHAP, MLflow, the warm models: about half a
# million objects) lives as long as the process: move it out of the garbage collector's
# sight. A full collection walks every object it sees while holding the GIL: over these,
# 230 ms in which no request of the process moves (measured while a worker boots).
gc.collect()
gc.freeze()
