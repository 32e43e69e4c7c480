"""The audit chain's write path: appends/s with concurrent writers, ours against the head lock.

    .venv/bin/python bench/audit.py                   # about a minute
    .venv/bin/python bench/audit.py --writers 1 4 16 --seconds 3 --rounds 2

The baseline is the design this replaced, reproduced here line for line (`head_lock_record`):
every append locks the one chain-head row inside the caller's transaction, so the lock is
held until that transaction commits and concurrent writers queue behind each other's
commits. It is the strongest honest version of "a hash chain in the database" with one
head: each append costs one locked read, one insert and one update, nothing more.

Ours (`governance.audit.chain.audit_record`) inserts the event without a lock and leaves
its place in the chain to the sequencer, which every governance action nudges after its
commit (as in production). Each writer is a process of its own with its own connection, as
web and worker processes are; each transaction appends one event, as a governance action
does. Two workloads:

- governance: one event per transaction, the sequencer nudged after each commit;
- ingest: inference-log batches of `--batch` Prediction rows (COPY) and their event, as the
  group-commit writer of each web process writes them, with one sequencer process running
  every AUDIT_SEQUENCE_SECONDS as beat would (its records/s are the figure against the
  20,000 records/s target).

Per round and writer count it prints appends (or records) committed per second for both
designs and ours/baseline, measured in the same round; then the median ratio. Ours counts
only what is sequenced: the clock stops when the sequencer has chained every append. At the
end it measures the sequencer alone (a backlog of `--backlog` events chained in one go:
its capacity in events/s, and in records/s at `--batch` records per event), and the whole
chain of a last run is verified (it must be intact and contiguous). PostgreSQL only: a
database of its own, created and dropped.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness


def head_lock_record(*, action: str, object_type: str, object_id: Any, data: Any = None) -> None:
    """The replaced design: lock the head row in the caller's transaction, chain, insert."""
    import json

    from django.db import transaction
    from django.utils import timezone

    from governance.audit.hashing import canonical_json, sha256_hex
    from governance.models import AuditChainHead, AuditEvent

    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            sequence=head.last_sequence + 1,
            occurred_at=timezone.now(),
            origin="system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=json.loads(canonical_json(data or {})),
            previous_hash=head.last_hash,
            entry_hash="",
        )
        payload = {"sequence": event.sequence, "action": action, "data": event.data}
        event.hash = sha256_hex(head.last_hash + canonical_json(payload))
        event.save()
        head.last_sequence, head.last_hash = event.sequence, event.hash
        head.save(update_fields=["last_sequence", "last_hash"])


def _rows(count: int, model_id: int, version_id: int) -> list[Any]:
    from django.utils import timezone

    from models_registry.models import Prediction

    features = harness.sample_features()
    return [
        Prediction(
            model_id=model_id,
            version_id=version_id,
            request_id=str(uuid.uuid4()),
            source=Prediction.Source.SERVED,
            slot=Prediction.Slot.PRODUCTION,
            occurred_at=timezone.now(),
            features={**features, "monthly_charges": 20.0 + i % 100},
            prediction=0.25 + (i % 50) / 100,
            latency_ms=4.2,
        )
        for i in range(count)
    ]


def _writer(design: str, workload: str, args: Any, ids: tuple[int, int], start: Any, out: Any):
    """One writer process: append until the time is up; report how many appends committed."""
    from django.db import connection, transaction

    from governance.services import audit_record
    from models_registry.serving import inference_log

    connection.close()  # never share the parent's connection
    if design == "baseline":
        inference_log.audit_record = lambda **kw: head_lock_record(
            **{k: v for k, v in kw.items() if k != "sequence_on_commit"}
        )
    start.wait()
    deadline, count = time.monotonic() + args.seconds, 0
    while time.monotonic() < deadline:
        if workload == "ingest":
            inference_log.inference_log_write(_rows(args.batch, *ids))
        elif design == "baseline":
            head_lock_record(action="bench.append", object_type="thing", object_id=count)
        else:
            with transaction.atomic():
                audit_record(action="bench.append", object_type="thing", object_id=count)
        count += 1
    connection.close()
    out.put(count)


def _sequencer(stop: Any, period: float) -> None:
    """What beat does in production: run the sequencer every AUDIT_SEQUENCE_SECONDS."""
    from django.db import connection

    from governance.audit.chain import audit_sequence

    connection.close()
    while not stop.wait(period):
        audit_sequence()
    connection.close()


def measure(design: str, workload: str, writers: int, args: Any, ids: tuple[int, int]) -> float:
    """Appends (governance) or records (ingest) per second, sequenced ones only for ours."""
    from django.db import connection

    from governance.audit.chain import audit_sequence

    context = multiprocessing.get_context("fork")
    connection.close()
    start, stop, out = context.Event(), context.Event(), context.Queue()
    procs = [
        context.Process(target=_writer, args=(design, workload, args, ids, start, out))
        for _ in range(writers)
    ]
    if design == "ours" and workload == "ingest":
        procs.append(context.Process(target=_sequencer, args=(stop, args.sequence_seconds)))
    for proc in procs:
        proc.start()
    began = time.monotonic()
    start.set()
    counts = [out.get(timeout=args.seconds + 60) for _ in range(writers)]
    stop.set()
    for proc in procs:
        proc.join(30)
    if design == "ours":
        audit_sequence()  # the clock runs until every append has its place in the chain
    elapsed = time.monotonic() - began
    per_append = args.batch if workload == "ingest" else 1
    return sum(counts) * per_append / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="rows per inference batch")
    parser.add_argument("--sequence-seconds", type=float, default=1.0)
    parser.add_argument("--workloads", nargs="+", default=["governance", "ingest"])
    parser.add_argument("--backlog", type=int, default=20000, help="events for the sequencer")
    args = parser.parse_args()

    with harness.Setup("audit") as world:
        if not world.database.startswith("PostgreSQL"):
            raise SystemExit("this bench needs PostgreSQL; see bench/README.md")
        harness.django_setup()

        from governance.audit.chain import audit_sequence
        from governance.audit.retention_path import retention_path
        from governance.audit.verify import chain_walk
        from governance.audit_context import Origin, acting_as
        from governance.models import AuditChainHead, AuditEvent
        from governance.services import user_set_roles
        from models_registry.services import model_create, version_register

        with acting_as(origin=Origin.COMMAND):
            scientist, _ = user_set_roles(username="bench-scientist", roles=["data_scientist"])
            model = model_create(actor=scientist, name=harness.MODEL_NAME, risk_tier="low")
            version = version_register(actor=scientist, model=model, metrics={"auc": 0.8})
        AuditChainHead.objects.get_or_create(pk=1)
        ids = (model.pk, version.pk)
        print(f"\naudit chain appends, one process per writer; database: {world.database}")
        print(f"  {args.seconds:g} s per measurement, {args.rounds} interleaved rounds\n")
        print(
            f"  {'round':<7}{'workload':<12}{'writers':>8}{'baseline/s':>12}{'ours/s':>10}"
            f"{'ours/baseline':>15}"
        )
        ratios: dict[tuple[str, int], list[float]] = {}
        for round_no in range(1, args.rounds + 1):
            for workload in args.workloads:
                for writers in args.writers:
                    designs = ["baseline", "ours"] if round_no % 2 else ["ours", "baseline"]
                    rates = {d: measure(d, workload, writers, args, ids) for d in designs}
                    ratio = rates["ours"] / rates["baseline"]
                    ratios.setdefault((workload, writers), []).append(ratio)
                    print(
                        f"  {round_no:<7}{workload:<12}{writers:>8}{rates['baseline']:>12.0f}"
                        f"{rates['ours']:>10.0f}{ratio:>15.2f}",
                        flush=True,
                    )
                    # The baseline's events use the old hash format: start each from scratch
                    # (through the retention path: the audit tables' triggers refuse it else).
                    with retention_path():
                        AuditEvent.objects.all().delete()
                        AuditChainHead.objects.filter(pk=1).update(
                            last_sequence=0, last_hash="0" * 64
                        )
        print("\n  median ours/baseline (ingest: records/s, each batch one event):")
        for (workload, writers), values in ratios.items():
            print(f"    {workload:<12}{writers:>3} writer(s){statistics.median(values):>8.2f}x")
        # The sequencer's own capacity: a backlog appended in one go (as audit_record would
        # append each), then chained.
        from django.utils import timezone

        from governance.audit.chain import event_entry_hash

        events = []
        for i in range(args.backlog):
            event = AuditEvent(
                occurred_at=timezone.now(),
                origin="system",
                action="bench.backlog",
                object_type="thing",
                object_id=str(i),
                data={"count": args.batch},
            )
            event.entry_hash = event_entry_hash(event)
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        started = time.perf_counter()
        sequenced = audit_sequence()
        took = time.perf_counter() - started
        print(
            f"\n  sequencer: {sequenced} pending events chained in {took:.2f} s = "
            f"{sequenced / took:.0f} events/s, i.e. {sequenced / took * args.batch:.0f} records/s "
            f"at {args.batch} records per inference batch"
        )
        with retention_path():
            AuditEvent.objects.all().delete()
            AuditChainHead.objects.filter(pk=1).update(last_sequence=0, last_hash="0" * 64)
        # A last run of ours alone, left in place, must verify as one contiguous chain.
        measure("ours", "governance", max(args.writers), args, ids)
        check = chain_walk(full=True)
        count = AuditEvent.objects.count()
        intact = check.ok and check.to_sequence == count
        print(
            f"\n  final chain: {count} events from {max(args.writers)} concurrent writers, "
            f"sequenced 1..{check.to_sequence}, verified: {'intact' if intact else check.problems}"
        )
        if not intact:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
