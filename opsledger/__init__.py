"""opsledger: an observability warehouse — Parquet lake, DuckDB warehouse, Dagster, Streamlit."""

__version__ = "0.1.0"
