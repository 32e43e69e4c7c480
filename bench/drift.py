"""Drift engine against Evidently 0.7's DataDriftPreset on the same frames in memory.

1,000,000 current rows x 20 mixed columns (12 floats, 4 integers with few values, 4
categorical strings) against a 100,000-row reference, both built in memory from a fixed
seed. Each side runs in a fresh process, so its peak resident memory (ru_maxrss) is its
own; the parent prints both times, the ratio, both peaks and whether the verdicts agree.

    .venv/bin/python bench/drift.py                      # about 3-6 minutes (Evidently)
    .venv/bin/python bench/drift.py --rows 200000 --reference 50000

`engine_seconds()` is the engine's timing alone; a full-path mode (API call -> task -> done)
can wrap the same frames around it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOATS, INTEGERS, STRINGS = 12, 4, 4


def frames(rows: int, reference_rows: int, seed: int = 0) -> tuple[dict, dict]:
    """Reference and current columns as the column store hands them out (numpy arrays)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.array([f"segment-{i}" for i in range(12)], dtype=object)

    def side(n: int, current: bool) -> dict:
        columns = {}
        for i in range(FLOATS):
            shift = 0.15 * (i % 3) if current else 0.0  # a third drift, a third barely
            columns[f"f{i}"] = rng.normal(shift, 1.0, n)
        for i in range(INTEGERS):
            columns[f"i{i}"] = rng.integers(0, 5 + (i if current else 0), n)
        for i in range(STRINGS):
            weights = np.linspace(1.0, 2.0 if current and i % 2 else 1.0, labels.size)
            columns[f"s{i}"] = rng.choice(
                labels[: 6 + i], n, p=weights[: 6 + i] / weights[: 6 + i].sum()
            )
        columns["f0"][::101] = np.nan  # some NaN, as logged inputs have
        return columns

    return side(reference_rows, False), side(rows, True)


def engine_seconds(reference: dict, current: dict) -> tuple[float, dict]:
    """Our drift_compute over the frames: seconds and the results.

    The current strings are handed over as the column store's read gives them to a drift
    check (`window_read(strings="codes")`: dictionary codes and the distinct values).
    """
    sys.path.insert(0, str(ROOT))
    import os

    import django
    import numpy as np
    import pandas as pd

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    django.setup()
    from models_registry.inference_columns import DictionaryColumn
    from monitoring.checks.drift import drift_compute

    current = dict(current)
    for name, values in current.items():
        if values.dtype == object:
            codes, uniques = pd.factorize(values)
            current[name] = DictionaryColumn(codes.astype(np.int32), np.asarray(uniques, object))

    start = time.perf_counter()
    result = drift_compute(reference=reference, current=current, columns=list(current))
    return time.perf_counter() - start, result.as_results()


def evidently_seconds(reference: dict, current: dict) -> tuple[float, dict]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference_frame, current_frame = pd.DataFrame(reference), pd.DataFrame(current)
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=current_frame, reference_data=reference_frame
    )
    seconds = time.perf_counter() - start
    count = next(
        m for m in snapshot.dict()["metrics"] if "DriftedColumnsCount" in m["metric_name"]
    )["value"]
    return seconds, {
        "number_of_drifted_columns": int(count["count"]),
        "drift_share": count["share"],
    }


def child(which: str, rows: int, reference_rows: int) -> None:
    import warnings

    warnings.simplefilter("ignore")
    if which.startswith("evidently"):
        import evidently.presets  # noqa: F401  (import time is not the report's)
    else:
        import scipy.spatial
        import scipy.stats  # noqa: F401
    reference, current = frames(rows, reference_rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    measure = {
        "ours": engine_seconds,
        "evidently": evidently_seconds,
        "evidently-verdicts": evidently_verdicts,
    }[which]
    seconds, results = measure(reference, current)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys = ["number_of_drifted_columns", "drift_share"]
    summary = {key: results[key] for key in keys + (["drifted"] if "drifted" in results else [])}
    print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_mb": peak, **summary}))


def run_side(which: str, rows: int, reference_rows: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            which,
            "--rows",
            str(rows),
            "--reference",
            str(reference_rows),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# The full path: API call -> queued task -> a real Celery worker -> done.

SIGNATURE_TYPES = {"f": "double", "i": "long", "s": "string"}
CHUNK = 100_000


def evidently_verdicts(reference: dict, current: dict) -> tuple[float, dict]:
    """Evidently's report with its tests: seconds, per-column drifted, drifted count/share."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference_frame, current_frame = pd.DataFrame(reference), pd.DataFrame(current)
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        current_data=current_frame, reference_data=reference_frame
    )
    seconds = time.perf_counter() - start
    found = snapshot.dict()
    drifted = {}
    for test in found["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith("ValueDrift"):
            drifted[params["column"]] = str(test["status"]).rsplit(".", 1)[-1] == "FAIL"
    count = next(m for m in found["metrics"] if "DriftedColumnsCount" in m["metric_name"])
    return seconds, {
        "drifted": drifted,
        "number_of_drifted_columns": int(count["value"]["count"]),
        "drift_share": count["value"]["share"],
    }


def _chunk_rows(current: dict, offset: int, count: int, start, span: float) -> dict:
    """Rows offset..offset+count of the current frames as the log's records take them."""
    import math
    import uuid
    from datetime import timedelta

    names = list(current)
    values = []
    for name in names:
        column = current[name][offset : offset + count].tolist()
        if name.startswith("f"):
            column = [None if math.isnan(v) else v for v in column]
        values.append(column)
    features = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    return {
        "request_id": [str(uuid.uuid4()) for _ in range(count)],
        "occurred_at": [start + timedelta(seconds=span * (offset + j) / 1e6) for j in range(count)],
        "prediction": [0.5] * count,
        "features": features,
        "attributes": [{}] * count,
    }


def _pool_child(worker_pid: int) -> int:
    with open(f"/proc/{worker_pid}/task/{worker_pid}/children") as handle:
        children = [int(pid) for pid in handle.read().split()]
    if len(children) != 1:
        raise RuntimeError(f"the worker has {len(children)} pool children, expected 1")
    return children[0]


def _status_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for {pid}")


def _api(method: str, url: str, token: str, body: dict | None = None) -> dict:
    import urllib.request

    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _steps(run_id: int) -> dict[str, float]:
    """The drift run's steps timed one by one on the run the worker did."""
    from monitoring.checks import inputs
    from monitoring.checks.drift import drift_compute
    from monitoring.config import monitoring_settings
    from monitoring.models import CheckRun

    run = CheckRun.objects.select_related("model", "version", "reference").get(pk=run_id)
    settings = monitoring_settings(model=run.model)
    columns = settings.drift_features or list(run.reference.feature_columns)
    took = {}
    began = time.perf_counter()
    reference = inputs.reference_columns(dataset=run.reference, columns=columns)
    took["reference read (Parquet)"] = time.perf_counter() - began
    began = time.perf_counter()
    window = inputs.run_window(run, features=columns, attributes=[], base=False, strings="codes")
    took["window read (segments)"] = time.perf_counter() - began
    began = time.perf_counter()
    result = drift_compute(
        reference=reference,
        current=window.features,
        columns=columns,
        overrides=settings.drift_overrides,
        drift_share=settings.drift_share,
    )
    took["drift_compute"] = time.perf_counter() - began
    began = time.perf_counter()
    from monitoring.services.checks import _json_safe

    json.dumps(_json_safe(result.as_results()))
    took["results as JSON"] = time.perf_counter() - began
    return took


def full(args: argparse.Namespace) -> None:
    """Builds a world, logs the window, times the API call to `done` against Evidently."""
    sys.path.insert(0, str(ROOT / "bench"))
    import harness
    from window_read import store_chunk

    reference, current = frames(args.rows, args.reference)
    print(f"{args.rows:,} current rows x 20 columns, reference {args.reference:,} rows")
    with harness.Setup("drift") as world:
        if not world.database.startswith("PostgreSQL"):
            raise SystemExit("the full path needs PostgreSQL; see bench/README.md")
        if "private" not in world.cache:
            raise SystemExit("the full path needs a private redis-server (a real worker)")
        harness.django_setup()
        import io
        from datetime import timedelta

        import pandas as pd
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.utils import timezone

        from governance.audit_context import Origin, acting_as
        from governance.services import user_set_roles, user_token
        from models_registry.models import ModelVersion
        from models_registry.reference_data import reference_data_upload
        from models_registry.services import model_create, version_register

        print(f"database: {world.database}\ncache: {world.cache}", flush=True)
        with acting_as(origin=Origin.COMMAND):
            scientist, _ = user_set_roles(username="bench-scientist", roles=["data_scientist"])
            token = user_token(user=scientist)
            model = model_create(actor=scientist, name="drift-bench", risk_tier="low")
            version = version_register(actor=scientist, model=model, metrics={"auc": 0.9})
            signature = [{"name": n, "type": SIGNATURE_TYPES[n[0]]} for n in current]
            ModelVersion.objects.filter(pk=version.pk).update(
                run_facts={"logged_model": {"signature": {"inputs": signature}}}
            )
            version.refresh_from_db()
            handle = io.BytesIO()
            pd.DataFrame(reference).to_parquet(handle)
            upload = SimpleUploadedFile("reference.parquet", handle.getvalue())
            reference_data_upload(
                actor=scientist, version=version, upload=upload, feature_columns=list(current)
            )
            start = timezone.now() - timedelta(days=1)
            took = time.perf_counter()
            for offset in range(0, args.rows, CHUNK):
                count = min(CHUNK, args.rows - offset)
                rows = _chunk_rows(current, offset, count, start, 23 * 3600.0)
                store_chunk(rows, model=model, version=version)
            print(f"stored the window in {time.perf_counter() - took:.0f} s", flush=True)
            end = timezone.now()

        log = world.tmp / "worker.log"
        worker = world.start(
            [
                str(harness.BIN / "celery"),
                "-A",
                "governance",
                "worker",
                "-Q",
                "checks",
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "-l",
                "info",
            ],
            log=log,
            port=0,
            wait=False,
        )
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{harness.tail(log)}")
            time.sleep(0.2)
        child_pid = _pool_child(worker.pid)
        _, port = world.gunicorn("governance.wsgi:application", label="web", workers=1, threads=4)
        base = f"http://{harness.HOST}:{port}/api/v1"
        idle_mb = _status_mb(child_pid, "VmHWM")
        body = {
            "version": version.version,
            "window_start": (start - timedelta(seconds=1)).isoformat(),
            "window_end": end.isoformat(),
        }
        timings, worker_seconds = [], []
        for attempt in ("first after the worker booted", "second, warm worker"):
            print(f"POST drift-checks/ ({attempt}), polling until done ...", flush=True)
            began = time.perf_counter()
            run = _api("POST", f"{base}/models/{model.name}/drift-checks/", token, body)
            while run["status"] not in ("done", "failed"):
                time.sleep(0.05)
                run = _api("GET", f"{base}/drift-checks/{run['id']}/", token)
            timings.append(time.perf_counter() - began)
            worker_seconds.append((run.get("duration_ms") or 0) / 1000)
            if run["status"] != "done":
                break
        seconds = timings[-1]
        peak_mb = _status_mb(child_pid, "VmHWM")
        if run["status"] != "done":
            raise SystemExit(f"the check failed: {run.get('error')}")
        results = run  # the detail carries dataset_drift, drift_share, features, untested
        steps = _steps(run["id"])
        print("  where the time goes (the same steps again, in this process):")
        for name, took in steps.items():
            print(f"    {name:<34}{took:7.2f} s")
        print(
            f"  run {run['id']}: {run['current_rows']:,} rows, reference "
            f"{run['reference_rows']:,}; the worker took {run['duration_ms'] / 1000:.2f} s"
        )

    theirs = run_side("evidently-verdicts", args.rows, args.reference)
    ours = {name: feature["drifted"] for name, feature in results["features"].items()}
    print(
        f"full path: {seconds:8.2f} s  (POST -> done, polled every 50 ms, warm worker; "
        f"the first check after boot: {timings[0]:.2f} s, "
        f"{theirs['seconds'] / timings[0]:.1f}x, of which in the worker {worker_seconds[0]:.2f} s)"
    )
    print(f"evidently: {theirs['seconds']:8.2f} s  (Report(DataDriftPreset()) with its tests)")
    print(f"ratio evidently/full path: {theirs['seconds'] / seconds:.1f}x")
    print(f"worker pool child peak RSS (VmHWM): {peak_mb:.0f} MB (idle before: {idle_mb:.0f} MB)")
    differ = sorted(name for name in ours if ours[name] != theirs["drifted"].get(name))
    missing = sorted(set(theirs["drifted"]) ^ set(ours))
    print(
        f"drifted columns: ours {sum(ours.values())} "
        f"(share {results['drift_share']:.3f}), evidently "
        f"{theirs['number_of_drifted_columns']} (share {theirs['drift_share']:.3f}); "
        + (
            "per-feature verdicts agree"
            if not differ and not missing
            else f"DIFFERENT: {differ or missing}"
        )
    )
    if differ or missing:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of our engine (median)")
    parser.add_argument(
        "--engine", action="store_true", help="time drift_compute alone (no API, no worker)"
    )
    parser.add_argument("--child", choices=["ours", "evidently", "evidently-verdicts"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.reference)
        return
    if not args.engine:
        full(args)
        return
    print(f"{args.rows:,} current rows x 20 columns, reference {args.reference:,} rows")
    ours = sorted(
        (run_side("ours", args.rows, args.reference) for _ in range(args.rounds)),
        key=lambda r: r["seconds"],
    )
    median = ours[len(ours) // 2]
    theirs = run_side("evidently", args.rows, args.reference)
    each = ", ".join(f"{r['seconds']:.2f}" for r in ours)
    print(
        f"ours:      {median['seconds']:8.2f} s (median of {len(ours)}: {each})  "
        f"peak RSS {median['peak_mb']:.0f} MB "
        f"(frames alone {median['rss_before_mb']:.0f} MB)"
    )
    print(
        f"evidently: {theirs['seconds']:8.2f} s  peak RSS {theirs['peak_mb']:.0f} MB "
        f"(frames alone {theirs['rss_before_mb']:.0f} MB)"
    )
    print(f"ratio evidently/ours: {theirs['seconds'] / median['seconds']:.1f}x")
    same = (median["number_of_drifted_columns"], median["drift_share"]) == (
        theirs["number_of_drifted_columns"],
        theirs["drift_share"],
    )
    print(
        f"drifted columns: ours {median['number_of_drifted_columns']} "
        f"(share {median['drift_share']:.3f}), "
        f"evidently {theirs['number_of_drifted_columns']} (share {theirs['drift_share']:.3f}): "
        + ("same" if same else "DIFFERENT")
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
