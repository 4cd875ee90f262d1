-- Strict: every step-1 event starts an attempt (re-entry: each is tried, the best one is chosen later).
create or replace temp table funnel_chain as
select unit, pos as attempt, pos as last_pos, t as last_t, [t] as levels, [bd] as bds
from funnel_events
where steps[1]
