"""A Parquet bomb against the reference-data reader: peak memory and time, ours vs pandas.

The file is 0.23 MB and holds 5e7 zeros (issue #8, hole 6). Each reader runs in a fresh
process, so its peak resident memory (ru_maxrss) is its own: the baseline is what the upload
did before (`pandas.read_parquet` of the whole file), ours is `read_table`, which refuses it
from the footer. About 15 s, and the baseline briefly takes about 1 GB.

    .venv/bin/python bench/reference_data.py
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = 50_000_000


def bomb() -> bytes:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = io.BytesIO()
    chunk = pa.table({"x": pa.array(np.zeros(1_000_000))})
    with pq.ParquetWriter(handle, chunk.schema, compression="zstd") as writer:
        for _ in range(ROWS // 1_000_000):
            writer.write_table(chunk, row_group_size=1_000_000)
    return handle.getvalue()


def measure(reader: str) -> dict[str, object]:
    """Runs in the child: read the bomb one way, report peak memory before and after."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import pandas as pd

    from governance.errors import InvalidInput
    from models_registry.reference_tables import read_table

    content = bomb()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if reader == "pandas":
        outcome = f"read {len(pd.read_parquet(io.BytesIO(content)))} rows"
    else:
        try:
            read_table(io.BytesIO(content), "bomb.parquet")
            outcome = "read"
        except InvalidInput as refused:
            outcome = f"refused: {refused.detail}"
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "file_mb": len(content) / 1e6,
        "peak_before_mb": before / 1024,
        "peak_after_mb": after / 1024,
        "seconds": seconds,
        "outcome": outcome,
    }


def main() -> None:
    results = {}
    for reader in ("pandas", "ours"):
        child = subprocess.run(
            [sys.executable, __file__, reader], capture_output=True, text=True, check=True
        )
        results[reader] = json.loads(child.stdout.strip().splitlines()[-1])
    for reader, result in results.items():
        print(
            f"{reader:>6}: {result['file_mb']:.2f} MB file, peak RSS "
            f"{result['peak_before_mb']:.0f} -> {result['peak_after_mb']:.0f} MB, "
            f"{result['seconds']:.3f} s, {result['outcome']}"
        )
    growth = {r: v["peak_after_mb"] - v["peak_before_mb"] for r, v in results.items()}
    print(
        f"peak growth ours/pandas: {growth['ours']:.0f}/{growth['pandas']:.0f} MB; "
        f"time ours/pandas: {results['ours']['seconds'] / results['pandas']['seconds']:.4f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
    else:
        main()
