"""gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py).

Prometheus multiprocess mode: each worker writes its counters to files under
PROMETHEUS_MULTIPROC_DIR and a scrape of any worker sums them all (monitoring/prometheus.py).
Without the variable, a private directory is made here, before any worker imports
prometheus_client (it reads the variable once, at import). The directory is emptied when
the master starts, so counters begin at zero with the server, as Prometheus expects. A
worker that exits keeps its counts in the sums; `child_exit` drops its live gauges.
"""

import os
import shutil
import tempfile
from pathlib import Path

# A directory made here is removed again when the server stops.
_made_here = ""
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_here = tempfile.mkdtemp(prefix="prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_here


def on_starting(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_here:
        shutil.rmtree(_made_here, ignore_errors=True)
