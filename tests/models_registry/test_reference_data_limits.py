"""Reference data within bounds: a small file decoding to a huge table is a 400, read no further.

Issue #8, hole 6: a 0.23 MB Parquet file of 5e7 rows took a worker from 611 to 1,458 MB.
"""

from __future__ import annotations

import gzip
import io
import resource
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.models import AuditEvent
from models_registry.models import ReferenceDataset
from tests.conftest import assert_json_error

pytestmark = pytest.mark.django_db

UPLOAD = "/api/v1/models/churn-classifier/versions/1/reference-data/"
MB = 1024 * 1024


@pytest.fixture
def version(make_model, make_version, settings, tmp_path) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return make_version(make_model())


def upload(api: Any, content: bytes, name: str) -> Any:
    handle = io.BytesIO(content)
    handle.name = name
    return api("ci").post(UPLOAD, {"file": handle}, format="multipart")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    handle = io.BytesIO()
    frame.to_parquet(handle, index=False)
    return handle.getvalue()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def nothing_stored(tmp_path: Any) -> bool:
    return (
        not ReferenceDataset.objects.exists()
        and not AuditEvent.objects.filter(action="version.reference_data_uploaded").exists()
        and not any(path.is_file() for path in tmp_path.rglob("*"))
    )


def parquet_bomb(rows: int) -> bytes:
    """`rows` zeros in one column: dictionary and run-length encoding make it ~0.2 MB."""
    handle = io.BytesIO()
    chunk = pa.table({"x": pa.array(np.zeros(1_000_000))})
    with pq.ParquetWriter(handle, chunk.schema, compression="zstd") as writer:
        for _ in range(rows // 1_000_000):
            writer.write_table(chunk, row_group_size=1_000_000)
    return handle.getvalue()


def test_a_parquet_bomb_is_refused_from_its_footer_without_decoding_it(api, version, tmp_path):
    bomb = parquet_bomb(50_000_000)
    assert len(bomb) < 0.5 * MB
    pool = pa.default_memory_pool()
    arrow_peak, rss_peak_kb = pool.max_memory(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    response = upload(api, bomb, "bomb.parquet")

    detail = assert_json_error(response, 400)["detail"]
    assert "50000000 rows" in detail and "REFERENCE_DATA_MAX_ROWS" in detail
    # Decoding it would take 400 MB in Arrow and as much again in pandas. Both peaks are
    # process-wide high-water marks: they move only if this upload allocated past them.
    assert pool.max_memory() - arrow_peak < 16 * MB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_peak_kb < 100 * 1024
    assert nothing_stored(tmp_path)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_rows_past_the_limit_are_refused_and_the_limit_itself_is_accepted(
    api, version, settings, tmp_path, kind
):
    settings.REFERENCE_DATA_MAX_ROWS = 100
    encode = parquet_bytes if kind == "parquet" else csv_bytes
    frame = pd.DataFrame({"x": np.arange(101, dtype=float), "label": [0, 1] * 50 + [0]})

    detail = assert_json_error(upload(api, encode(frame), f"data.{kind}"), 400)["detail"]
    assert "101 rows" in detail and "at most 100" in detail
    assert nothing_stored(tmp_path)

    response = upload(api, encode(frame.head(100)), f"data.{kind}")
    assert response.status_code == 201, response.content
    assert response.json()["rows"] == 100


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_columns_past_the_limit_are_refused(api, version, settings, tmp_path, kind):
    settings.REFERENCE_DATA_MAX_COLUMNS = 3
    encode = parquet_bytes if kind == "parquet" else csv_bytes
    frame = pd.DataFrame({name: [1.0, 2.0] for name in "abcd"})
    detail = assert_json_error(upload(api, encode(frame), f"data.{kind}"), 400)["detail"]
    assert "4 columns" in detail and "REFERENCE_DATA_MAX_COLUMNS" in detail
    assert nothing_stored(tmp_path)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_table_decoding_past_the_byte_limit_is_refused(api, version, settings, tmp_path, kind):
    settings.REFERENCE_DATA_MAX_DECOMPRESSED_BYTES = 1000
    encode = parquet_bytes if kind == "parquet" else csv_bytes
    frame = pd.DataFrame({"x": np.zeros(200)})  # 1,600 bytes as float64
    detail = assert_json_error(upload(api, encode(frame), f"data.{kind}"), 400)["detail"]
    assert "REFERENCE_DATA_MAX_DECOMPRESSED_BYTES" in detail
    assert nothing_stored(tmp_path)


def test_a_csv_header_of_a_million_columns_is_refused_before_the_rows(api, version, tmp_path):
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode()
    detail = assert_json_error(upload(api, header + b"\n" + b"1\n" * 10, "wide.csv"), 400)["detail"]
    assert "header" in detail
    assert nothing_stored(tmp_path)


def test_bytes_that_are_no_table_are_a_400_not_a_500(api, version, tmp_path):
    # Found by schemathesis: a lone \r in the header line made the csv module raise.
    assert_json_error(upload(api, b"\xf7w\xa7\ro\xdbyV\xab", "file"), 400)
    assert nothing_stored(tmp_path)


def test_compressed_csv_is_refused_not_inflated(api, version, tmp_path):
    bomb = gzip.compress(b"x\n" + b"0\n" * 5_000_000)
    assert len(bomb) < 0.1 * MB
    detail = assert_json_error(upload(api, bomb, "data.csv"), 400)["detail"]
    assert "Compressed" in detail
    assert nothing_stored(tmp_path)


def test_a_csv_read_in_many_chunks_is_stored_and_read_back_whole(api, version, monkeypatch):
    from models_registry import reference_tables
    from models_registry.reference_data import reference_frame

    monkeypatch.setattr(reference_tables, "CHUNK_CELLS", 10_000)  # 5,000 rows per chunk
    frame = pd.DataFrame({"x": np.arange(50_000, dtype=float), "label": np.arange(50_000) % 2})
    response = upload(api, csv_bytes(frame), "data.csv")
    assert response.status_code == 201, response.content
    stored = reference_frame(ReferenceDataset.objects.get())
    pd.testing.assert_frame_equal(stored, frame)
