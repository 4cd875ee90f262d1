"""Identity merge: several ``distinct_id``s counted as one person.

PostHog links an anonymous ``distinct_id`` to a known user through ``$identify`` / ``$create_alias``
events and then counts the person. opsledger keeps that step outside the engine: a funnel names a
mapping with columns ``distinct_id, person_id`` — a CSV file, a Parquet file or a warehouse table
or view — and the events are counted under ``person_id`` where one is mapped, under their own
``distinct_id`` otherwise (``sql/funnels/select_funnel_identities.sql``). The mapping is applied
where the funnel selects its events, so counts, breakdowns, drop-off lists and the backend
evidence all see the merged person.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from opsledger import sql
from opsledger.errors import OpsledgerError

# Suffix → reader; anything else names a warehouse table or view. Only these fixed texts are ever
# substituted into SQL; the file or table name itself is the bound parameter $identities.
_READERS = {
    ".csv": "read_csv($identities, all_varchar = true, header = true)",
    ".parquet": "read_parquet($identities)",
}
_TABLE = "query_table($identities)"


def is_file(source: str) -> bool:
    return source.lower().endswith((*_READERS, ".csv.gz"))


def resolve(source: str, base_dir: Path) -> str:
    """A relative file name is taken from ``base_dir`` (the config file's folder); tables stay."""
    if not is_file(source) or Path(source).is_absolute():
        return source
    return str((base_dir / source).resolve())


def mapping_sql(source: str) -> str:
    """The mapping query for ``source`` (bind ``$identities`` = ``source``)."""
    suffix = ".csv" if source.lower().endswith(".csv.gz") else Path(source).suffix.lower()
    reader = _READERS.get(suffix, _TABLE)
    return sql.load("funnels/select_funnel_identities").replace("{source}", reader)


def check_identities(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Read the mapping once and return how many distinct_ids it maps; a missing file or table,
    missing columns or a distinct_id mapped to two persons raise ``OpsledgerError`` naming the
    source (and the id)."""
    if is_file(source) and not Path(source).is_file():
        raise OpsledgerError(f"identities {source}: no such file")
    try:
        # count(person_id), not count(*): the optimizer would otherwise skip the column whose
        # evaluation raises on a distinct_id mapped to two persons.
        text = f"select count(person_id) from ({mapping_sql(source)})"
        rows = con.execute(text, {"identities": source}).fetchall()
    except duckdb.InvalidInputException as exc:
        raise OpsledgerError(str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")) from None
    except duckdb.CatalogException:
        raise OpsledgerError(f"identities {source}: no such file or warehouse table") from None
    except duckdb.BinderException:
        raise OpsledgerError(f"identities {source}: needs the columns distinct_id and person_id") from None
    except duckdb.Error as exc:
        raise OpsledgerError(f"identities {source}: {str(exc).splitlines()[0]}") from None
    return rows[0][0]
