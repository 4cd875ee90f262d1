"""Static tables on the pages: a query result's columns renamed for people and formatted."""

from __future__ import annotations

import polars as pl
import streamlit as st

PLOTLY_CONFIG = {"displaylogo": False}


def show_table(
    frame: pl.DataFrame,
    labels: dict[str, str],
    formats: dict[str, str] | None = None,
    *,
    na_rep: str = "–",
) -> None:
    """``frame``'s columns named in ``labels`` (column → label, in that order), with per-label
    formats (e.g. ``{"Error ratio": "{:.3%}"}``); a missing value shows as ``na_rep``."""
    table = frame.select(pl.col(column).alias(label) for column, label in labels.items()).to_pandas()
    st.table(table.style.format(formats or {}, na_rep=na_rep), hide_index=True)
