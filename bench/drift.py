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
    """Our drift_compute over the frames: seconds and the results."""
    sys.path.insert(0, str(ROOT))
    from monitoring.checks.drift import drift_compute

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
    if which == "evidently":
        import evidently.presets  # noqa: F401  (import time is not the report's)
    else:
        import scipy.spatial
        import scipy.stats  # noqa: F401
    reference, current = frames(rows, reference_rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, results = (engine_seconds if which == "ours" else evidently_seconds)(
        reference, current
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {key: results[key] for key in ("number_of_drifted_columns", "drift_share")}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of our engine (median)")
    parser.add_argument("--child", choices=["ours", "evidently"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.reference)
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
