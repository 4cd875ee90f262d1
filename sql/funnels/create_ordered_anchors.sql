-- Ordered: every step-1 event starts an attempt (re-entry: each is tried, the best one is chosen
-- later). alive: the attempt may still reach its next step; first_t/last_t spare list lookups.
create or replace temp table funnel_chain as
select unit, rowid as attempt, t as first_t, t as last_t, [t] as levels, [bd] as bds, true as alive
from funnel_events
where steps[1]
