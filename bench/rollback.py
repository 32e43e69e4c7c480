"""Time from a rollback call to the first answer by the previous version in every process.

    .venv/bin/python bench/rollback.py                  # PostgreSQL of its own if it answers
    .venv/bin/python bench/rollback.py --processes 4 --repeats 5
    ROUTING_STATE_SECONDS=0.2 .venv/bin/python bench/rollback.py

Registers two versions of the demo churn model (v1, then v2 promoted over it) and serves
them with N web processes. A gunicorn master with N workers shares one port, and an answer
does not say which worker gave it, so the bench runs N gunicorn masters with one worker
each on N ports instead: for this question that is the same thing, since each worker
process keeps its own copy of the routing state and its own loaded models and shares
nothing with the others but the database and Redis.

A probe thread per process calls predict back to back. The bench calls
POST /api/v1/models/{name}/rollback/ as a data scientist on process 1 and notes the time
just before; each probe notes when its process first answers with v1. The bench then
promotes v2 again (deployment_promote, from this process), waits until every process
serves v2, pauses a random fraction of the refresh period, and repeats.

The bound it is measured against is configured, not measured: ROUTING_STATE_SECONDS (each
process re-reads which version is live at most that long after its last read), plus the
rollback call itself (its commit happens inside it) and one probe request. No repetition
waits for MLflow: each process loaded v1, the rollback target, when it started (serving
warm-up), although it had never served it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

PROBE_TIMEOUT = 30.0


@dataclass
class Probe:
    """Calls predict on one process back to back; notes its first answer by `wanted`."""

    port: int
    token: str
    path: str
    wanted: int = 2
    since: float = 0.0
    reached: float | None = None
    latencies: list[float] = field(default_factory=list)
    flips: int = 0  # answers by another version after the first answer by `wanted`
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, version: int, since: float) -> None:
        with self.lock:
            self.wanted, self.since, self.reached = version, since, None

    def run(self) -> None:
        body = json.dumps({"features": harness.sample_features()})
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Token {self.token}",
            "X-Routing-Key": f"probe-{self.port}",
        }
        connection = http.client.HTTPConnection(harness.HOST, self.port, timeout=PROBE_TIMEOUT)
        while not self.stop.is_set():
            sent = time.perf_counter()
            try:
                connection.request("POST", self.path, body, headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.errors.append(repr(error))
                connection.close()
                time.sleep(0.05)
                continue
            received = time.perf_counter()
            if response.status != 200:
                self.errors.append(f"{response.status} {payload[:200]!r}")
                continue
            version = json.loads(payload)["version"]
            with self.lock:
                if sent >= self.since:
                    self.latencies.append(received - sent)
                if self.reached is None:
                    if version == self.wanted and received >= self.since:
                        self.reached = received
                elif version != self.wanted:
                    self.flips += 1
        connection.close()


def wait_all(probes: list[Probe], deadline: float) -> bool:
    while time.perf_counter() < deadline:
        if all(p.reached is not None for p in probes):
            return True
        time.sleep(0.005)
    return False


def rollback_call(port: int, token: str) -> float:
    """POST the rollback; returns how long the call took. Raises unless it answered 200."""
    connection = http.client.HTTPConnection(harness.HOST, port, timeout=60)
    began = time.perf_counter()
    connection.request(
        "POST",
        f"/api/v1/models/{harness.MODEL_NAME}/rollback/",
        json.dumps({"reason": "bench"}),
        {"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    response = connection.getresponse()
    payload = response.read()
    took = time.perf_counter() - began
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"rollback answered {response.status}: {payload[:300]!r}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4, help="web processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per process")
    parser.add_argument("--repeats", type=int, default=5, help="rollbacks (default 5)")
    args = parser.parse_args()

    with harness.Setup("rollback") as world:
        harness.django_setup()
        from django.conf import settings
        from django.db import OperationalError

        from models_registry.services import deployment_promote

        print("setting up: training two versions, logging, registering, promoting ...")
        registered = harness.register_churn([60, 100])
        v2 = registered.versions[1]
        bound = settings.ROUTING_STATE_SECONDS

        print(f"starting {args.processes} web processes ...", flush=True)
        env = world.server_env(INFERENCE_LOG_GROUP_COMMIT="True")
        servers = [
            world.gunicorn(
                "governance.wsgi:application",
                label=f"web-{i}",
                workers=1,
                threads=args.threads,
                env=env,
                wait=False,
            )
            for i in range(1, args.processes + 1)
        ]
        for i, (process, port) in enumerate(servers, start=1):
            harness.wait_port(port, process, world.tmp / f"web-{i}.log", timeout=120)
            harness.wait_workers(1, process, world.tmp / f"web-{i}.log")
        path = f"/api/v1/models/{harness.MODEL_NAME}/predict/"
        token = registered.service_token
        probes = [Probe(port=port, token=token, path=path) for _, port in servers]
        threads = [threading.Thread(target=p.run, daemon=True) for p in probes]
        try:
            for probe in probes:
                probe.expect(2, time.perf_counter())
            for thread in threads:
                thread.start()
            if not wait_all(probes, time.perf_counter() + 120):
                last = [p.errors[-3:] for p in probes]
                raise RuntimeError(f"not every process served v2: {last}")
            time.sleep(2)  # steady state: every process has v2 loaded and probes flowing
            for probe in probes:
                with probe.lock:
                    probe.latencies.clear()
                    probe.since = time.perf_counter()
            time.sleep(2)
            steady = sorted(latency for p in probes for latency in p.latencies)
            probe_p99 = steady[int(0.99 * (len(steady) - 1))]

            print(
                f"\nrollback reach: {args.processes} web processes (gunicorn, 1 gthread worker x "
                f"{args.threads} threads each), each probed back to back with predict"
            )
            print(f"  database: {world.database}")
            print(f"  cache:    {world.cache}")
            print(
                f"  bound:    ROUTING_STATE_SECONDS = {bound * 1000:.0f} ms, plus the rollback "
                f"call and one probe request (probe p99 before the first rollback: "
                f"{probe_p99 * 1000:.1f} ms)"
            )
            print()
            head = "".join(f"{f'proc {i}':>9}" for i in range(1, len(probes) + 1))
            print(f"  {'rep':<5}{'call ms':>9}{head}{'max ms':>9}{'max/bound':>11}  verdict")
            worst: list[float] = []
            failed: list[str] = []
            failed_forward: list[str] = []
            for rep in range(1, args.repeats + 1):
                began = time.perf_counter()
                for probe in probes:
                    probe.expect(1, began)
                try:
                    took = rollback_call(servers[0][1], registered.data_scientist_token)
                except RuntimeError as error:
                    failed.append(str(error))
                    print(f"  {rep:<5}rollback FAILED: {error}", flush=True)
                    time.sleep(random.uniform(0.2, 0.2 + bound))
                    continue
                if not wait_all(probes, began + PROBE_TIMEOUT):
                    raise RuntimeError(f"not every process reached v1 within {PROBE_TIMEOUT} s")
                reach = [(p.reached - began) for p in probes]  # type: ignore[operator]
                top = max(reach)
                allowed = took + bound + probe_p99
                verdict = "within" if top <= allowed else f"OVER ({allowed * 1000:.0f} ms)"
                cells = "".join(f"{r * 1000:9.0f}" for r in reach)
                print(
                    f"  {rep:<5}{took * 1000:9.0f}{cells}{top * 1000:9.0f}{top / bound:11.2f}"
                    f"  {verdict}",
                    flush=True,
                )
                worst.append(top)
                if rep < args.repeats:
                    forward = time.perf_counter()
                    for probe in probes:
                        probe.expect(2, forward)
                    for _ in range(5):  # a deployment change can lose a deadlock; retry it
                        try:
                            deployment_promote(
                                version=v2, actor=registered.data_scientist, reason="bench"
                            )
                            break
                        except OperationalError as error:
                            failed_forward.append(str(error).splitlines()[0])
                    if not wait_all(probes, forward + PROBE_TIMEOUT):
                        raise RuntimeError("not every process went back to v2")
                    time.sleep(random.uniform(0.2, 0.2 + bound))  # random phase of the refresh

            print()
            if not worst:
                raise SystemExit("  every rollback failed")
            print(
                f"  slowest process per rollback: median {statistics.median(worst) * 1000:.0f} ms, "
                f"max {max(worst) * 1000:.0f} ms ({max(worst) / bound:.2f}x "
                f"ROUTING_STATE_SECONDS)"
            )
            flips = sum(p.flips for p in probes)
            errors = [error for p in probes for error in p.errors]
            print(
                f"  answers by the old version after a process had switched: {flips}; "
                f"failed rollbacks: {len(failed)}; failed predict calls: {len(errors)}; "
                f"failed roll-forward attempts (retried): {len(failed_forward)}"
            )
            for error in sorted(set(failed_forward)):
                print(f"    roll forward failed: {error[:160]}")
            for error in sorted(set(errors))[:5]:
                print(f"    predict failed: {error[:160]}")
            if failed or errors or flips or failed_forward:
                raise SystemExit(1)
        finally:
            for probe in probes:
                probe.stop.set()
            for thread in threads:
                thread.join(PROBE_TIMEOUT + 5)


if __name__ == "__main__":
    main()
