"""File collectors: one module per source format, each a plain generator of Arrow chunks.

``reader_for(kind)`` returns the collector for an ingest kind without importing the others.
"""

from __future__ import annotations

import importlib

from collectors.base import Collector

_MODULES = {
    "metric_samples": "collectors.openmetrics",
    "log_records": "collectors.logs",
    "audit_events": "collectors.audit",
    "directory": "collectors.ldif",
    "test_results": "collectors.test_reports",
    "product_events": "collectors.product_events",
}


def reader_for(kind: str) -> Collector:
    try:
        module = _MODULES[kind]
    except KeyError:
        raise ValueError(f"unknown table {kind!r}; expected one of {', '.join(_MODULES)}") from None
    return importlib.import_module(module).read
