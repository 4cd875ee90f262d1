"""numpy views of Arrow buffers, and Arrow arrays over numpy memory, both without a copy.

Not pyarrow's ``to_numpy`` nor ``pa.array``: either imports pandas on first use (0.15–0.3 s of a
one-command CLI call). Fixed-width columns without nulls only.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def numbers(column: pa.ChunkedArray | pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """A null-free fixed-width column as one (writable) numpy array."""
    chunks = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype)[chunk.offset : chunk.offset + len(chunk)]
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)


def as_arrow(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """A numpy array as an Arrow array of ``arrow_type`` (the same width), sharing its memory."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])
