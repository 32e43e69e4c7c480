"""Reading an uploaded table within bounds: a small file must not become a huge frame.

A 0.23 MB Parquet file holding 5e7 copies of one number took a worker from 611 to 1,458 MB
when pandas read it whole (issue #8). So a Parquet file is judged by its footer first (rows,
columns, the size its columns take once decoded) and only then read, batch by batch, counting
again as it goes, in case the footer lied. A CSV's size is its decoded size, but its header
could name a million columns and its rows could outnumber what a drift check needs: it is
read in chunks and given up at the first chunk past a limit. Compressed CSV is refused
rather than inflated. Every refusal is a 400 naming the limit and its setting.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

from governance.errors import InvalidInput

PARQUET_MAGIC = b"PAR1"
# Magic numbers of gzip, zip, bzip2, xz and zstd.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
# Bytes per value once decoded (pandas holds strings as 8-byte references to shared objects).
VALUE_BYTES = {"BOOLEAN": 1, "INT32": 4, "FLOAT": 4, "INT64": 8, "DOUBLE": 8, "INT96": 12}
REFERENCE_BYTES = 8
# A CSV header longer than this is refused before it is split into column names.
HEADER_MAX_BYTES = 1024 * 1024
# Cells per CSV chunk: a chunk stays a few tens of MB whatever the column count.
CHUNK_CELLS = 2_000_000
PARQUET_BATCH_ROWS = 65_536


def invalid_file(message: str) -> InvalidInput:
    return InvalidInput(message, extra={"file": [message]})


@dataclass(frozen=True)
class TableLimits:
    """What an uploaded table may hold (settings REFERENCE_DATA_MAX_*)."""

    max_rows: int
    max_columns: int
    max_bytes: int

    @classmethod
    def from_settings(cls) -> TableLimits:
        return cls(
            max_rows=settings.REFERENCE_DATA_MAX_ROWS,
            max_columns=settings.REFERENCE_DATA_MAX_COLUMNS,
            max_bytes=settings.REFERENCE_DATA_MAX_DECOMPRESSED_BYTES,
        )

    def check(self, *, rows: int, columns: int, size: int, more: bool = False) -> None:
        """InvalidInput naming the first limit passed; `more`: counting is not finished."""
        at_least = "at least " if more else ""
        if columns > self.max_columns:
            raise invalid_file(
                f"The file holds {columns} columns; at most {self.max_columns} are accepted "
                "(REFERENCE_DATA_MAX_COLUMNS)."
            )
        if rows > self.max_rows:
            raise invalid_file(
                f"The file holds {at_least}{rows} rows; at most {self.max_rows} are accepted "
                "(REFERENCE_DATA_MAX_ROWS)."
            )
        if size > self.max_bytes:
            raise invalid_file(
                f"The file decodes to {at_least}{size} bytes; at most {self.max_bytes} are "
                "accepted (REFERENCE_DATA_MAX_DECOMPRESSED_BYTES)."
            )


def is_parquet(handle: IO[bytes], name: str) -> bool:
    handle.seek(0)
    magic = handle.read(4)
    handle.seek(0)
    return name.lower().endswith((".parquet", ".pq")) or magic == PARQUET_MAGIC


def read_parquet(handle: IO[bytes], limits: TableLimits) -> Any:
    """The table as a DataFrame, refused from its footer when it would pass a limit."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(handle)
        meta = parquet.metadata
        limits.check(rows=meta.num_rows, columns=meta.num_columns, size=_decoded_size(meta))
        batches, rows, size = [], 0, 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            rows, size = rows + batch.num_rows, size + batch.nbytes
            limits.check(rows=rows, columns=batch.num_columns, size=size, more=True)
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=parquet.schema_arrow).to_pandas()
    except InvalidInput:
        raise
    except Exception as error:  # pyarrow raises many kinds; all mean "not a readable table"
        raise invalid_file(f"Could not read the file as Parquet: {str(error)[:200]}") from error


def _decoded_size(meta: Any) -> int:
    """What the columns take once decoded: dictionary and run-length encoding shrink the
    footer's own sizes to almost nothing for a repeated value, so count values too."""
    per_row = 0
    for index in range(meta.num_columns):
        column = meta.schema.column(index)
        if column.physical_type == "FIXED_LEN_BYTE_ARRAY":
            per_row += column.length or REFERENCE_BYTES
        else:
            per_row += VALUE_BYTES.get(column.physical_type, REFERENCE_BYTES)
    encoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return max(meta.num_rows * per_row, encoded)


def read_csv(handle: IO[bytes], limits: TableLimits) -> Any:
    """The table as a DataFrame, read in chunks and refused at the first one past a limit."""
    import pandas as pd

    handle.seek(0)
    start = handle.read(8)
    if start.startswith(COMPRESSED_MAGIC):
        raise invalid_file(
            "Compressed files are not accepted: upload plain CSV, or Parquet (whose internal "
            "compression is checked against the limits before it is read)."
        )
    columns = _header_columns(handle)
    limits.check(rows=0, columns=columns, size=0)
    handle.seek(0)
    chunks, rows, size = [], 0, 0
    try:
        reader = pd.read_csv(
            handle,
            compression=None,
            chunksize=max(1, CHUNK_CELLS // max(columns, 1)),
            nrows=limits.max_rows + 1,
        )
        for chunk in reader:
            rows += len(chunk)
            size += int(chunk.memory_usage(deep=True, index=False).sum())
            limits.check(rows=rows, columns=len(chunk.columns), size=size, more=True)
            chunks.append(chunk)
    except InvalidInput:
        raise
    except Exception as error:  # pandas raises many kinds; all mean "not a readable table"
        raise invalid_file(f"Could not read the file as CSV: {str(error)[:200]}") from error
    if not chunks:
        raise invalid_file("The file holds no rows.")
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _header_columns(handle: IO[bytes]) -> int:
    handle.seek(0)
    header = handle.readline(HEADER_MAX_BYTES + 1)
    if len(header) > HEADER_MAX_BYTES:
        raise invalid_file(f"The CSV header is longer than {HEADER_MAX_BYTES} bytes.")
    text = header.decode("utf-8", errors="replace")
    try:  # newline="" as the csv module asks: a lone \r inside the line is the reader's to judge
        return max((len(row) for row in csv.reader(io.StringIO(text, newline=""))), default=0)
    except csv.Error as error:
        raise invalid_file(f"Could not read the CSV header: {error}") from error


def read_table(handle: IO[bytes], name: str) -> tuple[Any, bool]:
    """(DataFrame, is Parquet) of an uploaded or stored table, within TableLimits."""
    limits = TableLimits.from_settings()
    if is_parquet(handle, name):
        return read_parquet(handle, limits), True
    return read_csv(handle, limits), False
