-- The docker json-file lines of one block -> whole records (collectors/logs.py), which
-- map_log_records.sql then maps with the block's other lines; run only for blocks with such lines.
-- Input: lines(n, line); $firstline: optional regex opening a multi-line record; $at_eof: nothing
-- follows this block.
--
-- Docker splits lines longer than 16 KiB into fragments without a trailing newline; fluent-bit's
-- Docker_Mode joins them, and with a Docker_Mode_Parser (here $firstline) appends lines that do
-- not match it to the record the last matching line opened.
with docker as (
    select
        n,
        line,
        log_text,
        coalesce(regexp_matches(log_text, $firstline::varchar), false) as is_first
    from (
        select n, line, json_extract_string(line, '$.log') as log_text
        from lines
        where is_docker(line)
    )
),

docker_marked as (
    select
        *,
        lag(log_text) over (order by n) as prev_text,
        coalesce(bool_or(is_first) over (order by n rows between unbounded preceding and 1 preceding), false)
            as match_before
    from docker
),

docker_grouped as (
    select
        *,
        max(case
            when prev_text is null then n
            when not ends_with(prev_text, e'\n') then null
            when $firstline::varchar is null or is_first or not match_before then n
        end) over (order by n rows unbounded preceding) as grp
    from docker_marked
),

grouped as (
    select
        grp as _position,
        count(*) as _records,
        list(n order by n) as _lines,
        string_agg(log_text, '' order by n) as log_text,
        first(line order by n) as first_line,
        first(is_first order by n) as opened_by_match,
        string_agg(line, e'\n' order by n) as raw_text
    from docker_grouped
    group by grp
)

select
    _position,
    _records,
    _lines,
    rtrim(log_text, e'\r\n') as log_message,
    case when _records = 1 then first_line
        else json_merge_patch(first_line, json_object('log', log_text))::varchar end as outer_doc,
    left(ltrim(log_message), 1) = '{' and json_valid(log_message) as log_is_object,
    raw_text,
    -- the last record may continue in the next block: hand it back unless the file ended
    not $at_eof and _position = max(_position) over ()
        and (not ends_with(log_text, e'\n') or ($firstline::varchar is not null and opened_by_match)) as _open
from grouped
