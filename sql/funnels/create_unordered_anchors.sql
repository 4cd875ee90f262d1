-- Unordered: every event of any step starts an attempt; steps are then looked up in its window.
create or replace temp table funnel_chain as
select
    unit,
    pos as attempt,
    t as anchor_t,
    list_position(steps, true) as anchor_step,
    bd as anchor_bd,
    []::struct(t bigint, o integer, bd varchar)[] as found
from funnel_events
where list_contains(steps, true)
