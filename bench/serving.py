"""Our explain endpoint against a minimal Flask baseline, same model, same gunicorn settings.

    .venv/bin/python bench/serving.py                 # PostgreSQL of its own if it answers
    .venv/bin/python bench/serving.py --seconds 5 --rounds 1
    DATABASE_URL=postgres://.../empty_db .venv/bin/python bench/serving.py

Trains the demo churn model once, logs it to a temporary MLflow store, registers and
promotes it, and saves the same fitted pipeline with joblib for bench/baseline_flask.py.
Both apps run under gunicorn (gthread, same workers and threads) on 127.0.0.1 and are driven
by wrk with bench/wrk_post.lua (a new connection per request, so both gunicorn workers get
their share), interleaved, in two load shapes: the same input every time (our explanation
cache answers) and a new input per request (cache hit rate about zero). Prints requests/s
(2xx only), p50, p99 and CPU ms per answer (from /proc) for each, and the ratios
ours/baseline per round and their median, then checks the durable record: every request_id
wrk received in a 2xx answer from us has a committed Prediction row, and the audit chain's
inference-log events count every row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

MODES = {"fixed": "same input", "varied": "new input per request"}


def post(url: str, body: dict[str, Any], token: str = "", timeout: float = 120) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def warm_up(url: str, token: str, workdir: Path, label: str) -> None:
    """Short wrk bursts until throughput settles (every worker has loaded the model)."""
    previous = 0.0
    for attempt in range(8):
        result = harness.wrk(
            url,
            mode="varied",
            token=token,
            seconds=3,
            connections=16,
            threads=1,
            workdir=workdir,
            label=f"warm-{label}-{attempt}",
            salt=1000 + attempt,
        )
        if previous and result.other == 0 and abs(result.rps - previous) <= 0.15 * previous:
            return
        previous = result.rps
    print(f"  ({label} throughput did not settle during warm-up; measuring anyway)")


def settled_count(model_pk: int) -> int:
    """Prediction rows once the server has finished what was in flight when wrk stopped."""
    from models_registry.models import Prediction

    count, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = Prediction.objects.filter(model_id=model_pk).count()
        if now != count:
            count, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since > 1.0:
            break
        time.sleep(0.2)
    return count


def missing_rows(model_pk: int, request_ids: list[str]) -> int:
    from models_registry.models import Prediction

    found = 0
    for start in range(0, len(request_ids), 5000):
        chunk = request_ids[start : start + 5000]
        found += Prediction.objects.filter(model_id=model_pk, request_id__in=chunk).count()
    return len(request_ids) - found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="per wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both apps")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    args = parser.parse_args()
    harness.require_wrk()

    with harness.Setup("serving") as world:
        harness.django_setup()
        import joblib
        from django.conf import settings

        from governance.models import AuditEvent
        from governance.services import audit_chain_verify
        from models_registry.models import Prediction
        from models_registry.serving.inference_log_verify import inference_log_verify

        print("setting up: training, logging to MLflow, registering, promoting ...", flush=True)
        registered = harness.register_churn([100])
        model_path = world.tmp / "model.joblib"
        joblib.dump(registered.fitted[0], model_path)
        model_pk = registered.model.pk

        print("starting both servers (each worker imports shap and loads the model) ...")
        gunicorn = {"workers": args.workers, "threads": args.threads}
        ours_process, ours_port = world.gunicorn(
            "governance.wsgi:application",
            label="ours",
            env=world.server_env(INFERENCE_LOG_GROUP_COMMIT="True"),
            **gunicorn,
        )
        base_process, base_port = world.gunicorn(
            "baseline_flask:app",
            label="baseline",
            env=world.server_env(BENCH_MODEL_PATH=str(model_path)),
            chdir=harness.BENCH,
            **gunicorn,
        )
        urls = {
            "ours": f"http://{harness.HOST}:{ours_port}/api/v1/models/{harness.MODEL_NAME}/explain/",
            "baseline": f"http://{harness.HOST}:{base_port}/explain/",
        }
        token = registered.service_token
        body = {"features": harness.sample_features()}
        ours_answer = post(urls["ours"], body, token)
        base_answer = post(urls["baseline"], body)
        if abs(ours_answer["prediction"] - base_answer["prediction"]) > 1e-9:
            raise SystemExit(f"the two servers disagree: {ours_answer} vs {base_answer}")
        for label, url in urls.items():
            warm_up(url, token, world.tmp, label)

        print(
            f"\nexplain, one churn model (100 trees) served by both; gunicorn gthread "
            f"{args.workers} workers x {args.threads} threads each"
        )
        print(f"  database: {world.database}")
        print(f"  cache:    {world.cache}")
        print(
            f"  ours:     token auth, canary routing (state read every "
            f"{settings.ROUTING_STATE_SECONDS:g} s), a Prediction row committed before each "
            "answer (group commit)"
        )
        print(
            f"  wrk:      {args.wrk_threads} thread(s), {args.connections} connections, "
            f"{args.seconds:g} s per run, {args.rounds} interleaved round(s), 127.0.0.1"
        )
        print()
        print(
            "  CPU ms per answer: the server's own processes (app) and, for ours, its PostgreSQL "
            "backends and Redis (db), read from /proc"
        )
        print()
        print(
            f"  {'round':<6}{'input':<24}{'server':<10}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'app':>7}{'db':>6}"
        )
        groups = {"ours": ours_process.pid, "baseline": base_process.pid}

        def cpu_reading(server: str) -> tuple[dict[int, int], dict[int, int]]:
            app = harness.cpu_ticks(groups={groups[server]})
            if server == "baseline":
                return app, {}
            side = harness.database_backends()
            if world.redis is not None:
                side.add(world.redis.pid)
            return app, harness.cpu_ticks(pids=side)

        results: dict[tuple[str, str], list[harness.WrkResult]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        durability: list[tuple[str, int, int, int]] = []
        salt = 0
        for round_no in range(1, args.rounds + 1):
            order = ["ours", "baseline"] if round_no % 2 else ["baseline", "ours"]
            for mode in MODES:
                for server in order:
                    salt += 1
                    before = settled_count(model_pk) if server == "ours" else 0
                    app_before, db_before = cpu_reading(server)
                    result = harness.wrk(
                        urls[server],
                        mode=mode,
                        token=token,
                        seconds=args.seconds,
                        connections=args.connections,
                        threads=args.wrk_threads,
                        workdir=world.tmp,
                        label=f"{server}-{mode}-{round_no}",
                        salt=salt,
                    )
                    rows = settled_count(model_pk) - before if server == "ours" else 0
                    app_after, db_after = cpu_reading(server)
                    answers = max(result.ok, 1)
                    app_ms = harness.cpu_seconds_between(app_before, app_after) * 1000 / answers
                    db_ms = harness.cpu_seconds_between(db_before, db_after) * 1000 / answers
                    results.setdefault((mode, server), []).append(result)
                    cpu.setdefault((mode, server), []).append(app_ms + db_ms)
                    flag = f"  non-2xx {result.other}" if result.other else ""
                    flag += f"  socket errors {result.errors}" if result.errors else ""
                    print(
                        f"  {round_no:<6}{MODES[mode]:<24}{server:<10}{result.rps:8.1f}"
                        f"{result.p50_ms:8.1f}{result.p99_ms:8.1f}{app_ms:7.1f}"
                        f"{db_ms:6.1f}{flag}",
                        flush=True,
                    )
                    if server == "ours":
                        missing = missing_rows(model_pk, result.request_ids)
                        label = f"{MODES[mode]}, round {round_no}"
                        durability.append((label, result.ok, rows, missing))

        print(
            "\n  ours / baseline, per round (adjacent runs) and their median; throughput: "
            "higher is better, p99: lower is better"
        )
        for mode, label in MODES.items():
            pairs = list(zip(results[(mode, "ours")], results[(mode, "baseline")], strict=True))
            rps = [ours.rps / base.rps for ours, base in pairs]
            p99 = [ours.p99_ms / base.p99_ms for ours, base in pairs]
            rps_mid, p99_mid = statistics.median(rps), statistics.median(p99)
            costs = [
                ours / base
                for ours, base in zip(cpu[(mode, "ours")], cpu[(mode, "baseline")], strict=True)
            ]
            verdict = "goal met" if rps_mid >= 1 and p99_mid <= 1 else "goal NOT met"
            print(
                f"    {label:<24} throughput {rps_mid:5.2f}x ({' '.join(f'{r:.2f}' for r in rps)})"
                f"   p99 {p99_mid:5.2f}x ({' '.join(f'{r:.2f}' for r in p99)})   {verdict}"
            )
            print(
                f"    {'':<24} CPU per answer {statistics.median(costs):5.2f}x "
                f"({' '.join(f'{r:.2f}' for r in costs)})"
            )

        print("\n  durable record of our 2xx answers")
        all_ok = True
        for label, ok, rows, missing in durability:
            extra = rows - (ok - missing)
            state = "ok" if missing == 0 and extra >= 0 else "MISMATCH"
            all_ok &= state == "ok"
            print(
                f"    {label:<34} 2xx {ok:6d}  rows {rows:6d}  2xx without a row {missing}  "
                f"rows of calls wrk stopped waiting for {extra}  {state}"
            )
        rows_total = Prediction.objects.filter(model_id=model_pk).count()
        chained = sum(
            event.data.get("count", 0)
            for event in AuditEvent.objects.filter(action="predictions.recorded").only("data")
        )
        broken = audit_chain_verify()
        batches = inference_log_verify()
        chain_ok = chained == rows_total and not broken and batches.intact
        all_ok &= chain_ok
        print(
            f"    audit chain: {chained} rows chained in predictions.recorded events, "
            f"{rows_total} Prediction rows, broken links {len(broken)}, batches whose rows "
            f"do not match their digest {len(batches.broken)} of {batches.batches}  "
            f"{'ok' if chain_ok else 'MISMATCH'}"
        )
        if not all_ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
