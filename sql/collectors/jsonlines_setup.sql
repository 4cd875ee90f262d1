-- Connection setup shared by the JSON-lines mappings (collectors/jsonlines.py runs it once per connection).

-- Naive timestamps in the data are UTC, and timestamptz results come out as UTC.
set TimeZone = 'UTC';

-- A value read with json_extract_string, unless it was an object or an array (their JSON text).
create or replace temp macro not_object(v) as case when not (prefix(v, '{') or prefix(v, '[')) then v end;

-- Text quoted for a reject reason, shortened so one bad line cannot bloat the quarantine reason.
create or replace temp macro quoted(v) as
    '(''' || case when length(v) > 80 then left(v, 77) || '...' else v end || ''')';

-- Any timestamp a log, audit or event source writes, as TIMESTAMPTZ (UTC session), else null:
-- ISO 8601 / RFC 3339 (offsets honoured, naive = UTC, nanoseconds truncated to microseconds),
-- python logging's asctime "2024-01-02 03:04:05,678", epoch numbers (s, ms, us or ns by
-- magnitude) and the common-log "07/Dec/2016:11:05:07 +0100". Words DuckDB would accept
-- ('epoch', 'infinity') are refused: they are never a real event time.
create or replace temp macro parse_ts(v) as coalesce(
    case when left(v, 1) between '0' and '9' then try_cast(v as timestamptz) end,
    case when regexp_full_match(v, '\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d,\d+.*')
        then try_cast(regexp_replace(v, '^(\S+[T ]\d\d:\d\d:\d\d),', '\1.') as timestamptz) end,
    case when regexp_full_match(v, '-?\d+(\.\d+)?') then
        to_timestamp(v::double / case
            when abs(v::double) >= 1e17 then 1e9
            when abs(v::double) >= 1e14 then 1e6
            when abs(v::double) >= 1e11 then 1e3
            else 1 end) end,
    case when regexp_full_match(v, '\d\d/[A-Za-z]{3}/\d{4}:.*') then try_strptime(v, '%d/%b/%Y:%H:%M:%S %z') end
);

-- The path part of a URL or of a request target ("/a/b?q=1" -> "/a/b").
create or replace temp macro url_path_of(u) as
    nullif(regexp_extract(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1), '');
