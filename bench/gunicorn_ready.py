"""gunicorn settings of the benches: each worker says when it has loaded the application.

Loading means importing it: for our app, Django plus the serving warm-up (the live models
from MLflow); for the baseline, the fitted pipeline and its TreeExplainer. The benches wait
for every worker's line before they send load, so no measurement includes a boot.
"""

import sys

READY = "bench: worker ready"


def post_worker_init(worker):
    print(f"{READY} {worker.pid}", file=sys.stderr, flush=True)
