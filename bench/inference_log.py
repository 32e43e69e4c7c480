"""The inference log's write path: rows committed per second, by batch size and method.

    .venv/bin/python bench/inference_log.py               # about a minute
    .venv/bin/python bench/inference_log.py --rows 4000 --rounds 3

One writer (what each web process's group-commit thread is) commits Prediction rows
shaped like an explain call's (six features, a SHAP value each), each transaction with its
audit-chain event, exactly as serving does (`inference_log_write`). The baseline is one
transaction per row, which is what the write path costs without group commit; then
batches of 8 (a busy web process), 64 and 500 (the largest group commit, and a bulk log
of predictions made elsewhere), each as one multi-row INSERT and as COPY. Rounds are
interleaved; each prints rows/s and the ratio to the baseline measured in the same round,
then the median ratio. PostgreSQL only (COPY): a database of its own, created and dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

STRATEGIES = [("one row per transaction", 1, False)] + [
    (f"batches of {size}, {'COPY' if copy else 'INSERT'}", size, copy)
    for size in (8, 64, 500)
    for copy in (False, True)
]


def make_rows(count: int, model: Any, version: Any, actor: Any) -> list[Any]:
    from django.utils import timezone

    from models_registry.models import Prediction

    features = harness.sample_features()
    rows = []
    for i in range(count):
        row_features = {**features, "monthly_charges": 20.0 + i % 100}
        rows.append(
            Prediction(
                model=model,
                version=version,
                request_id=str(uuid.uuid4()),
                source=Prediction.Source.SERVED,
                slot=Prediction.Slot.PRODUCTION,
                actor=actor,
                occurred_at=timezone.now(),
                features=row_features,
                prediction=0.25 + (i % 50) / 100,
                explanation={
                    "base_value": -1.55,
                    "shap": {name: 0.01 * (i % 7) for name in row_features},
                },
                latency_ms=4.2,
            )
        )
    return rows


def run(rows: list[Any], size: int, copy: bool) -> float:
    """Seconds to commit `rows` in transactions of `size` rows."""
    from models_registry.serving.inference_log import inference_log_write

    started = time.perf_counter()
    for start in range(0, len(rows), size):
        inference_log_write(rows[start : start + size], use_copy=copy)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000, help="rows per strategy and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with harness.Setup("inference-log") as world:
        if not world.database.startswith("PostgreSQL"):
            raise SystemExit("this bench needs PostgreSQL (COPY); see bench/README.md")
        harness.django_setup()
        from governance.audit_context import Origin, acting_as
        from governance.models import AuditEvent
        from governance.services import audit_chain_verify
        from models_registry.models import Prediction
        from models_registry.serving.inference_log_verify import inference_log_verify

        print("setting up: training, logging to MLflow, registering ...", flush=True)
        registered = harness.register_churn([10])
        model, version = registered.model, registered.versions[0]
        print(f"\ninference log write path, one writer; database: {world.database}")
        print(f"  {args.rows} rows per strategy and round, {args.rounds} interleaved rounds\n")
        print(f"  {'round':<7}{'strategy':<30}{'rows/s':>10}{'x baseline':>12}")
        ratios: dict[str, list[float]] = {name: [] for name, _, _ in STRATEGIES[1:]}
        written = 0
        with acting_as(origin=Origin.TASK):
            for round_no in range(1, args.rounds + 1):
                order = STRATEGIES if round_no % 2 else [STRATEGIES[0], *STRATEGIES[:0:-1]]
                baseline = 0.0
                for name, size, copy in order:
                    rows = make_rows(args.rows, model, version, registered.data_scientist)
                    rate = len(rows) / run(rows, size, copy)
                    written += len(rows)
                    if size == 1:
                        baseline = rate
                        print(f"  {round_no:<7}{name:<30}{rate:>10.0f}{'1.00':>12}", flush=True)
                        continue
                    ratios[name].append(rate / baseline)
                    print(
                        f"  {round_no:<7}{name:<30}{rate:>10.0f}{rate / baseline:>12.2f}",
                        flush=True,
                    )
        print("\n  median ratio to one row per transaction:")
        for name, values in ratios.items():
            print(f"    {name:<30}{statistics.median(values):>8.1f}x")
        stored = Prediction.objects.count()
        chained = sum(
            e.data["count"] for e in AuditEvent.objects.filter(action="predictions.recorded")
        )
        broken = audit_chain_verify()
        started = time.perf_counter()
        batches = inference_log_verify()
        took = time.perf_counter() - started
        intact = written == stored == chained and not broken and batches.intact
        print(
            f"\n  rows written {written}, stored {stored}, counted by the audit chain {chained}, "
            f"broken links {len(broken)}; batches verified {batches.batches}, not matching "
            f"{len(batches.broken)} ({took:.1f} s)  {'ok' if intact else 'MISMATCH'}"
        )
        if not intact:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
