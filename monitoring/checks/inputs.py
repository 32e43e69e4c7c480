"""What a check run compares: the version's reference data and a window of its log.

The window comes column by column from models_registry.inference_columns; ground truth is
joined to it by request_id in one SQL query and aligned to the window's rows here, so a
million-row window costs the database one hash join, not a lookup per row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from django.db import connections

from models_registry.inference_columns import Window, window_read
from models_registry.models import ModelVersion, Prediction, ReferenceDataset
from models_registry.reference_data import reference_frame
from monitoring.models import CheckRun, GroundTruth


def reference_latest(*, version: ModelVersion) -> ReferenceDataset | None:
    """The version's newest reference data set whose file retention has not erased."""
    return version.reference_datasets.filter(erased_at__isnull=True).first()


def reference_columns(*, dataset: ReferenceDataset, columns: list[str]) -> Mapping[str, pd.Series]:
    """Those columns of the stored reference file; a readable error names missing ones."""
    frame = reference_frame(dataset)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"The reference data set has no column(s) {', '.join(missing)}.")
    return {name: frame[name] for name in columns}


def run_window(
    run: CheckRun,
    *,
    features: list[str] | None = None,
    attributes: list[str] | None = None,
    base: bool = True,
    strings: str = "objects",
) -> Window:
    """The run's window (`base`, `strings`: as window_read takes them)."""
    return window_read(
        version=run.version,
        start=run.window_start,
        end=run.window_end,
        features=features,
        attributes=attributes,
        base=base,
        strings=strings,
    )


def window_labels(run: CheckRun, window: Window) -> np.ndarray:
    """The ground truth of each row of the window (float64, NaN where none came yet)."""
    labels = np.full(window.rows, np.nan)
    if window.rows == 0:
        return labels
    rows = Prediction.objects.filter(
        version=run.version,
        occurred_at__gt=run.window_start,
        occurred_at__lte=run.window_end,
        error="",
        prediction__isnull=False,
    ).order_by()
    sql, params = rows.values("model_id", "request_id").query.get_compiler(using=rows.db).as_sql()
    connection = connections[rows.db]
    truth = connection.ops.quote_name(GroundTruth._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.request_id, g.label FROM ({sql}) p JOIN {truth} g "
            "ON g.model_id = p.model_id AND g.request_id = p.request_id",
            params,
        )
        found = cursor.fetchall()
    if not found:
        return labels
    ids, values = zip(*found, strict=True)
    positions = pd.Index(window.request_id).get_indexer(list(ids))
    present = positions >= 0
    labels[positions[present]] = np.asarray(values, dtype=np.float64)[present]
    return labels
