"""Prediction ingest through the API into PostgreSQL, against raw psycopg COPY of the same rows.

    .venv/bin/python bench/ingest.py                      # about a minute
    .venv/bin/python bench/ingest.py --batch 5000 --records 100000 --rounds 3

A model with 20 float features (a version whose signature names them) gets batches of
records POSTed to /api/v1/models/{name}/predictions/ by `--clients` threads, each on a
keep-alive connection, to gunicorn (gthread) on 127.0.0.1; bodies are encoded before the
clock starts. The baseline writes exactly the column values the API stores (canonical JSON
features, salt, batch, ...) with psycopg 3 COPY into the same table, one transaction per
batch, from as many connections as there are clients: once with `write_row` and once as
one preformatted text block per batch, and the faster counts. Rounds are interleaved;
prints records/s of each, the ratio API / baseline per round and the median, then checks
that every API record is stored once and its batches verify against the audit chain.
PostgreSQL only: a database of its own (bench_ingest), created and dropped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import secrets
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

FEATURES = [f"f{i:02d}" for i in range(20)]


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait (steal, the 8th, is not ours)
    return (sum(fields[:7]) - idle) / harness.TICKS


def measured(run: Any, *args: Any) -> tuple[float, float]:
    """(wall seconds, machine CPU seconds) of one run."""
    busy = machine_busy_seconds()
    took = run(*args)
    return took, machine_busy_seconds() - busy


def bodies(prefix: str, total: int, batch: int) -> list[bytes]:
    rng = random.Random(prefix)
    out = []
    for start in range(0, total, batch):
        records = [
            {
                "request_id": f"{prefix}-{i}",
                "features": {name: rng.gauss(0, 1) for name in FEATURES},
                "prediction": rng.random(),
                "timestamp": "2026-11-27T10:00:00Z",
            }
            for i in range(start, min(start + batch, total))
        ]
        out.append(json.dumps({"version": 1, "records": records}).encode())
    return out


def run_api(port: int, token: str, work: list[bytes], clients: int) -> float:
    lock, queue, failures = threading.Lock(), list(work), []

    def client() -> None:
        conn = http.client.HTTPConnection(harness.HOST, port, timeout=300)
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            conn.request("POST", f"/api/v1/models/{harness.MODEL_NAME}/predictions/", body, headers)
            response = conn.getresponse()
            answer = response.read()
            if response.status != 202:
                failures.append(answer[:300])
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    if failures:
        raise SystemExit(f"the API refused a batch: {failures[0]!r}")
    return took


def copy_rows(work: list[bytes], model_id: int, version_id: int, actor_id: int) -> list[list]:
    """The column values the API stores for these bodies (logged_records.COLUMNS order)."""
    from models_registry.serving.logged_records import ENCODE

    stamp = datetime(2026, 11, 27, 10, tzinfo=UTC)
    batches = []
    for body in work:
        batch = uuid.uuid4()
        batches.append(
            [
                (
                    model_id,
                    version_id,
                    r["request_id"],
                    "logged",
                    "",
                    actor_id,
                    stamp,
                    ENCODE({k: float(v) for k, v in r["features"].items()}),
                    "{}",
                    float(r["prediction"]),
                    None,
                    None,
                    "",
                    batch,
                    "",
                    secrets.token_hex(16),
                    "",
                    None,
                )
                for r in json.loads(body)["records"]
            ]
        )
    return batches


def text_block(rows: list[tuple]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value).replace("\\", "\\\\")

    return "".join("\t".join(cell(v) for v in row) + "\n" for row in rows)


def run_copy(url: str, batches: list[list], clients: int, mode: str) -> float:
    import psycopg

    from models_registry.serving.logged_records import COLUMNS

    statement = f"COPY models_registry_prediction ({', '.join(COLUMNS)}) FROM STDIN"
    prepared = [text_block(rows) for rows in batches] if mode == "text" else batches
    lock, queue = threading.Lock(), list(prepared)
    connections = [psycopg.connect(url) for _ in range(clients)]

    def client(conn: Any) -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            with conn.transaction(), conn.cursor() as cursor, cursor.copy(statement) as copy:
                if mode == "text":
                    copy.write(item)
                else:
                    for row in item:
                        copy.write_row(row)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    for conn in connections:
        conn.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=60000, help="per run (default 60,000)")
    parser.add_argument("--batch", type=int, default=5000, help="records per request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="concurrent requests/connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()

    with harness.Setup("ingest") as world:
        if not world.database.startswith("PostgreSQL"):
            raise SystemExit("this bench needs PostgreSQL (COPY); see bench/README.md")
        harness.django_setup()
        from django.conf import settings

        from governance.audit.retention_path import retention_path
        from governance.audit_context import Origin, acting_as
        from governance.models import AuditEvent
        from governance.services import user_set_roles, user_token
        from models_registry.models import ModelVersion, Prediction
        from models_registry.services import model_create, version_register
        from models_registry.serving.inference_log_verify import inference_log_verify

        with acting_as(origin=Origin.COMMAND):
            scientist, _ = user_set_roles(username="bench-scientist", roles=["data_scientist"])
            ci, _ = user_set_roles(username="bench-ci", roles=["ci"])
            model = model_create(actor=scientist, name=harness.MODEL_NAME, risk_tier="low")
            baseline_model = model_create(actor=scientist, name="copy-baseline", risk_tier="low")
            versions = [
                version_register(actor=scientist, model=m, metrics={"auc": 0.9})
                for m in (model, baseline_model)
            ]
        signature = {"inputs": [{"name": name, "type": "double"} for name in FEATURES]}
        ModelVersion.objects.filter(pk__in=[v.pk for v in versions]).update(
            run_facts={"logged_model": {"signature": signature}}
        )
        token = user_token(user=ci)
        url = settings.DATABASES["default"]
        dsn = (
            f"host={url['HOST']} port={url['PORT'] or 5432} dbname={url['NAME']} "
            f"user={url['USER']} password={url['PASSWORD']}"
        )
        _, port = world.gunicorn(
            "governance.wsgi:application",
            label="ours",
            workers=args.workers,
            threads=2,
            env=world.server_env(SERVING_WARM_UP="False"),
        )
        run_api(port, token, bodies("warm", args.batch, args.batch), 1)
        print(
            f"\nprediction ingest, 20 float features, batches of {args.batch}, "
            f"{args.records} records per run, {args.clients} concurrent clients; gunicorn "
            f"gthread {args.workers} workers x 2 threads; {world.database}\n"
        )
        print(
            f"  {'round':<7}{'API rec/s':>11}{'COPY write_row':>16}{'COPY text':>11}{'ratio':>8}"
            f"{'CPU us/rec API':>16}{'COPY text':>11}"
        )
        ratios, api_rates, sent = [], [], args.batch
        cpu: dict[str, list[float]] = {"api": [], "text": []}
        for round_no in range(1, args.rounds + 1):
            work = bodies(f"r{round_no}", args.records, args.batch)
            rows = copy_rows(work, baseline_model.pk, versions[1].pk, ci.pk)
            for batch_rows in rows:  # the baseline's own request ids
                batch_rows[:] = [(r[0], r[1], "b" + r[2], *r[3:]) for r in batch_rows]
            rates, used = {}, {}
            order = ["api", "row", "text"] if round_no % 2 else ["text", "row", "api"]
            for what in order:
                if what == "api":
                    took, used[what] = measured(run_api, port, token, work, args.clients)
                    sent += args.records
                else:
                    took, used[what] = measured(run_copy, dsn, rows, args.clients, what)
                    for batch_rows in rows:  # fresh ids for the next variant
                        batch_rows[:] = [(*r[:2], r[2] + what, *r[3:]) for r in batch_rows]
                rates[what] = args.records / took
            for what in cpu:
                cpu[what].append(1e6 * used[what] / args.records)
            baseline = max(rates["row"], rates["text"])
            ratios.append(rates["api"] / baseline)
            api_rates.append(rates["api"])
            print(
                f"  {round_no:<7}{rates['api']:>11.0f}{rates['row']:>16.0f}{rates['text']:>11.0f}"
                f"{ratios[-1]:>8.2f}{cpu['api'][-1]:>16.0f}{cpu['text'][-1]:>11.0f}",
                flush=True,
            )
        print(
            f"\n  median: API {statistics.median(api_rates):.0f} records/s, "
            f"API / best COPY {statistics.median(ratios):.2f}x "
            f"(goals: 20,000 records/s and 0.75x)\n"
            f"  machine CPU per record (both cores, all processes): "
            f"API {statistics.median(cpu['api']):.0f} us, "
            f"COPY text {statistics.median(cpu['text']):.0f} us"
        )
        with retention_path():
            Prediction.objects.filter(model=baseline_model).delete()
        stored = Prediction.objects.filter(model=model).count()
        chained = sum(
            e.data["count"] for e in AuditEvent.objects.filter(action="predictions.recorded")
        )
        check = inference_log_verify()
        ok = stored == chained == sent and check.intact
        print(
            f"  records sent {sent}, stored {stored}, counted by the audit chain {chained}, "
            f"batches verified {check.batches}, not matching {len(check.broken)}  "
            f"{'ok' if ok else 'MISMATCH'}"
        )
        if not ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
